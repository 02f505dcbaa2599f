//! `tenant-ready serve`: the configured scan on a schedule, served to Prometheus.
//!
//! Modelled on blackbox_exporter: `/metrics` is the last completed scan (so a scrape is cheap
//! and never waits for the network), `/probe?target=…&module=…` runs checks on demand within the
//! scrape's own timeout, and the engine the customer already runs does storage, alerting and
//! aggregation across sites. One scheduled scan at a time, one probe at a time: a second asks
//! again later (429) rather than doubling the traffic the scanner sends.

pub mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::cli::{ScanArgs, ServeArgs};
use crate::report::{Exit, Report};
use crate::settings::Env;

/// The content type of the OpenMetrics text `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prometheus' own default offset: answer this much before the scrape times out.
const SCRAPE_OFFSET: Duration = Duration::from_millis(500);

/// A probe shorter than this cannot do anything useful.
const MIN_PROBE: Duration = Duration::from_secs(1);

/// What the handlers share.
pub struct Shared {
    /// The scan every run starts from (tenant.toml and the flags).
    args: ScanArgs,
    env: Env,
    site: String,
    /// The configuration's domains (and initial domain): `/probe` scans one alone.
    domains: Vec<String>,
    /// Its endpoint hosts: `/probe` runs the configuration and keeps that host's results.
    hosts: Vec<String>,
    allow_any_target: bool,
    last: RwLock<Option<Arc<Report>>>,
    state: std::sync::Mutex<metrics::ServerState>,
    probing: AtomicBool,
}

impl Shared {
    fn state(&self) -> metrics::ServerState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut metrics::ServerState)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }
}

/// The domains and the endpoint hosts the configuration names (lower case).
fn configured_targets(args: &ScanArgs, env: &Env) -> Result<(Vec<String>, Vec<String>), String> {
    let s = crate::scan::resolve_settings(args, env)?;
    let mut domains: Vec<String> = s.domains.iter().map(|d| d.name.to_string()).collect();
    domains.extend(s.initial_domain.as_ref().map(ToString::to_string));
    let e = &s.endpoints;
    let mut hosts: Vec<String> = e
        .https
        .iter()
        .chain(&e.smtp)
        .chain(e.adfs.iter())
        .map(|x| x.host.to_ascii_lowercase())
        .collect();
    for v in [&mut domains, &mut hosts] {
        v.sort();
        v.dedup();
    }
    Ok((domains, hosts))
}

/// Runs `serve`; returns only on a usage error (exit 2) or when the listener fails.
pub async fn serve(a: ServeArgs, env: Env) -> Exit {
    match run(a, env).await {
        Ok(()) => Exit::Ready,
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal(&e));
            Exit::Usage
        }
    }
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("--interval `{s}`: not a duration ({e})"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("--interval `{s}`: at least 1s"));
    }
    Ok(d.min(crate::settings::MAX_DURATION))
}

async fn run(a: ServeArgs, env: Env) -> Result<(), String> {
    let interval = parse_interval(&a.interval)?;
    let mut args = a.scan;
    // A server has no terminal: no progress bar, no report files of its own.
    args.no_progress = true;
    // Nor a stream on stdout: the results are served.
    args.format = None;
    if !args.report.is_empty() || args.output.is_some() {
        return Err(
            "serve writes no report files: its reports are /report.json and /report.html".into(),
        );
    }
    if a.site.is_empty() || a.site.chars().any(char::is_control) {
        return Err("--site: a short name without control characters".into());
    }
    let (domains, hosts) = configured_targets(&args, &env)?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| format!("--listen {}: {e}", a.listen))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    crate::scan::raise_open_files();
    let shared = Arc::new(Shared {
        args,
        env,
        site: a.site,
        domains,
        hosts,
        allow_any_target: a.allow_any_target,
        last: RwLock::new(None),
        state: std::sync::Mutex::new(metrics::ServerState {
            interval: interval.as_secs_f64(),
            ..metrics::ServerState::default()
        }),
        probing: AtomicBool::new(false),
    });
    eprintln!(
        "serving on http://{local} (/metrics, /probe, /report.json, /report.html, /-/healthy, /-/ready); a scan every {}",
        humantime::format_duration(interval)
    );
    let stop = CancellationToken::new();
    let scheduler = tokio::spawn(schedule(
        Arc::clone(&shared),
        interval,
        a.max_scans,
        stop.clone(),
    ));
    let app = router(shared);
    let shutdown = {
        let stop = stop.clone();
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminated() => {}
                () = stop.cancelled() => {}
            }
        }
    };
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    stop.cancel();
    let _ = scheduler.await;
    served.map_err(|e| format!("serving on {local}: {e}"))
}

/// SIGTERM, as systemd and Kubernetes stop a service: a graceful stop, like Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        s.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}

/// The routes (public for the tests, which serve them on a listener of their own).
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/probe", get(probe))
        .route("/report.json", get(report_json))
        .route("/report.html", get(report_html))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(ready))
        .route("/", get(index))
        .with_state(shared)
}

/// Scans, stores, waits the interval (with up to a tenth of it as jitter, so sites started
/// together do not scan in step), forever or `max_scans` times.
async fn schedule(
    shared: Arc<Shared>,
    interval: Duration,
    max_scans: Option<u64>,
    stop: CancellationToken,
) {
    let mut n = 0u64;
    loop {
        let result = crate::scan::run_scan(&shared.args, &shared.env, stop.child_token()).await;
        match result {
            Ok(scanned) => {
                let now = unix_now();
                *shared.last.write().await = Some(Arc::new(scanned.report));
                shared.update(|s| {
                    s.scans += 1;
                    s.last_success = Some(now);
                });
            }
            Err(e) => {
                eprintln!("scan failed: {e}");
                shared.update(|s| s.scan_failures += 1);
            }
        }
        n += 1;
        if max_scans.is_some_and(|m| n >= m) {
            stop.cancel();
            return;
        }
        let wait = interval + jitter(interval);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Up to a tenth of `interval`, from the clock's nanoseconds (spreading, not security).
fn jitter(interval: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    interval / 10 * (nanos % 1000) / 1000
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    let mut body = text.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    plain(
        StatusCode::OK,
        "tenant-ready: /metrics (last scan), /probe?target=DOMAIN&module=GLOB, /report.json, /report.html, /-/healthy, /-/ready",
    )
}

/// The Prometheus text format's content type, for clients that do not ask for OpenMetrics.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics when the client asks for it (Prometheus does), else the older text format.
fn exposition(headers: &HeaderMap, openmetrics: String) -> Response {
    let wants = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants {
        ([(header::CONTENT_TYPE, OPENMETRICS)], openmetrics).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            metrics::prometheus_text(&openmetrics),
        )
            .into_response()
    }
}

async fn scrape(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let last = s.last.read().await.clone();
    exposition(
        &headers,
        metrics::scrape(last.as_deref(), &s.state(), &s.site),
    )
}

/// Ready once a scan has finished (before that `/metrics` has no results to give).
async fn ready(State(s): State<Arc<Shared>>) -> Response {
    if s.last.read().await.is_some() {
        plain(StatusCode::OK, "Ready")
    } else {
        plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: the first scan is running",
        )
    }
}

async fn rendered(s: &Shared, format: crate::output::Format, content_type: &str) -> Response {
    let Some(report) = s.last.read().await.clone() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "no scan has finished yet");
    };
    let lang = s.env.lang.as_deref().map_or(crate::output::Lang::En, |l| {
        if l.starts_with("ko") {
            crate::output::Lang::Ko
        } else {
            crate::output::Lang::En
        }
    });
    let o = crate::report::human::HumanOptions {
        color: false,
        lang,
        quiet: false,
        checklist: true,
        width: None,
    };
    match crate::report::render_format(&report, format, o) {
        Ok(body) => ([(header::CONTENT_TYPE, content_type.to_owned())], body).into_response(),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("rendering: {e}")),
    }
}

async fn report_json(State(s): State<Arc<Shared>>) -> Response {
    rendered(&s, crate::output::Format::Json, "application/json").await
}

async fn report_html(State(s): State<Arc<Shared>>) -> Response {
    rendered(&s, crate::output::Format::Html, "text/html; charset=utf-8").await
}

/// `/probe`'s query.
#[derive(Debug, serde::Deserialize)]
pub struct ProbeQuery {
    target: Option<String>,
    module: Option<String>,
}

/// Clears the busy flag however the probe ends (the client may go away mid-probe).
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

async fn probe(
    State(s): State<Arc<Shared>>,
    Query(q): Query<ProbeQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(target) = q.target.filter(|t| !t.is_empty()) else {
        return plain(StatusCode::BAD_REQUEST, "target parameter is missing");
    };
    let module = q.module.unwrap_or_else(|| "*".into());
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    if crate::domain::DomainName::parse(&target).is_err() {
        return plain(
            StatusCode::BAD_REQUEST,
            format!(
                "target {}: not a domain or host name",
                crate::escape::terminal(&target)
            ),
        );
    }
    let host_only = !s.domains.contains(&target) && s.hosts.contains(&target);
    if !s.allow_any_target && !s.domains.contains(&target) && !host_only {
        return plain(
            StatusCode::FORBIDDEN,
            format!(
                "target {target} is not in the configuration (its domains and endpoints); start serve with --allow-any-target to probe any"
            ),
        );
    }
    let catalog = match crate::catalog::Catalog::load(&s.args.checks, !s.args.no_builtin_checks) {
        Ok(c) => c,
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if !catalog
        .checks
        .iter()
        .any(|c| crate::pattern::text_matches(&module, &c.id))
    {
        return plain(
            StatusCode::BAD_REQUEST,
            format!(
                "module {}: no check id matches (a check id or a glob: dns.*, tls.certificate)",
                crate::escape::terminal(&module)
            ),
        );
    }
    // blackbox_exporter's rule: answer before Prometheus gives up on the scrape.
    let budget = match headers
        .get("X-Prometheus-Scrape-Timeout-Seconds")
        .map(|v| v.to_str().ok().and_then(|t| t.trim().parse::<f64>().ok()))
    {
        None => None,
        Some(Some(secs)) if secs.is_finite() && secs > 0.0 => {
            Some(Duration::from_secs_f64(secs.min(86_400.0)).saturating_sub(SCRAPE_OFFSET))
        }
        Some(_) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "X-Prometheus-Scrape-Timeout-Seconds: not a positive number of seconds",
            );
        }
    };
    if budget.is_some_and(|b| b < MIN_PROBE) {
        return plain(
            StatusCode::BAD_REQUEST,
            format!(
                "the scrape timeout leaves less than {} s for the probe: raise scrape_timeout",
                MIN_PROBE.as_secs()
            ),
        );
    }
    if s.probing.swap(true, Ordering::AcqRel) {
        return plain(
            StatusCode::TOO_MANY_REQUESTS,
            "a probe is running: one at a time (scrape less often, or run one serve per site)",
        );
    }
    let _busy = Busy(&s.probing);
    let mut args = s.args.clone();
    args.only = vec![module];
    args.skip.clear();
    // A configured domain (or any, with --allow-any-target) is scanned alone; an endpoint host
    // keeps the configuration's domains and the results are cut to that host below.
    if !host_only {
        args.domains = vec![target.clone()];
    }
    if let Some(b) = budget {
        // The run's budget: a check still running when it ends is `error` ("the run's budget
        // ran out"), and the answer goes back before Prometheus gives up on the scrape.
        args.budget = Some(format!("{}ms", b.as_millis()));
    }
    match crate::scan::run_scan(&args, &s.env, CancellationToken::new()).await {
        Ok(mut scanned) => {
            if host_only {
                let host = target.clone();
                scanned
                    .report
                    .results
                    .retain(|r| r.subject.to_ascii_lowercase().starts_with(&host));
            }
            exposition(&headers, metrics::probe(&scanned.report, &s.site))
        }
        Err(e) => plain(StatusCode::BAD_REQUEST, e),
    }
}

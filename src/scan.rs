//! One scan, from its arguments to its report model, writing nothing: the pipeline `scan`
//! (which then writes the reports) and `serve` (which keeps the last one) share: settings,
//! catalogue, plan, Microsoft Graph, runner.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::cli::ScanArgs;
use crate::error::ConfigError;
use crate::outcome::CheckResult;
use crate::plan;
use crate::probe::ProbeCx;
use crate::progress;
use crate::report::{self, Report, RunInfo, Summary, TenantInfo, Tool, Vantage};
use crate::runner::{self, RunOptions};
use crate::settings::{self, Env, Settings};

/// Everything validated before the first packet is sent. The plan itself is built when the scan
/// starts (after `--graph` has filled in the exact records) and taken lazily by the runner.
struct Prepared {
    settings: Settings,
    catalog: Catalog,
}

/// The settings a scan with `args` would run with (nothing planned, nothing created).
pub fn resolve_settings(args: &ScanArgs, env: &Env) -> Result<Settings, String> {
    let file = args
        .config
        .as_deref()
        .map(settings::load_file)
        .transpose()
        .map_err(|e| crate::escape::terminal_lines(&e.to_string()))?;
    Settings::resolve(args, file.as_ref(), env)
        .map_err(|e| crate::escape::terminal_lines(&e.to_string()))
}

fn prepare(args: &ScanArgs, env: &Env) -> Result<Prepared, ConfigError> {
    let config = match &args.config {
        Some(p) => Some(p.clone()),
        None if args.domains.is_empty() && Path::new("tenant.toml").is_file() => {
            Some(PathBuf::from("tenant.toml"))
        }
        None => None,
    };
    let file = config.as_deref().map(settings::load_file).transpose()?;
    let settings = Settings::resolve(args, file.as_ref(), env)?;
    let catalog = Catalog::load(&settings.checks_dirs, settings.builtin_checks)?;
    // Planned once here so a selection or template error is a usage error before any packet;
    // the scan plans again, lazily, with what Graph adds.
    plan::Plan::new(&catalog, &settings)?;
    let outputs = settings
        .output
        .iter()
        .chain(settings.reports.iter().map(|(_, p)| p));
    for p in outputs {
        prepare_output(p)?;
    }
    Ok(Prepared { settings, catalog })
}

// Where Microsoft Entra ID and Graph are for the tenant's cloud is Graph's own question.
pub use crate::graph::graph_hosts;

/// `--graph`: asks Microsoft Graph for the tenant's domains and their records, makes those the
/// exact expectations of the DNS checks (and what `entra.domain` knows).
async fn apply_graph(
    p: &mut Prepared,
    cx: &ProbeCx,
    env: &Env,
) -> Result<crate::graph::Session, String> {
    let creds = crate::graph::Credentials::from_env(|k| env.var(k))?;
    let hosts = graph_hosts(p.settings.cloud)?;
    let names: Vec<String> = p
        .settings
        .domains
        .iter()
        .map(|d| d.name.to_string())
        .collect();
    let graph = crate::graph::Graph::connect(cx, hosts, &creds, p.settings.timeout).await?;
    let view = graph.view(&names).await?;
    for d in &mut p.settings.domains {
        let name = d.name.as_str();
        d.graph = view.domain(name).cloned();
        if let Some(v) = view.verification(name) {
            d.exact.insert(
                "verification",
                settings::Exact {
                    value: v,
                    from: "Microsoft Graph (verificationDnsRecords)".into(),
                },
            );
        }
        if let Some(mx) = view.mx(name) {
            d.exact.insert(
                "mx",
                settings::Exact {
                    value: mx,
                    from: "Microsoft Graph (serviceConfigurationRecords)".into(),
                },
            );
        }
    }
    p.settings.graph_verified = view
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| d.id.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    let session = graph.session();
    // Salted with the tenant as the user named it (an id or a domain): the same hashes from one
    // scan to the next, different ones for another tenant.
    Ok(if p.settings.redact_users {
        session.redacting(&creds.tenant)
    } else {
        session
    })
}

/// Refuses a report path we could not write to, before scanning (and creates its directory).
fn prepare_output(path: &Path) -> Result<(), ConfigError> {
    if path.is_dir() {
        return Err(ConfigError::Usage(format!(
            "report path {} is a directory; give a file name",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ConfigError::Read {
            path: dir.to_owned(),
            source,
        })?;
    }
    Ok(())
}

/// A finished scan: its report, the settings it ran with and the directory read (for the CSV).
pub struct Scanned {
    /// The report model.
    pub report: Report,
    /// What the scan ran with.
    pub settings: Settings,
    /// The directory read, for the directory-csv report.
    pub directory: Option<std::sync::Arc<crate::directory::read::SharedRead>>,
}

/// One scan, from its arguments to its report, writing nothing: what `scan` and `serve` share.
/// `Err` is one line for the user (a usage error: the configuration, or Graph refusing us),
/// already made safe for a terminal.
pub async fn run_scan(
    args: &ScanArgs,
    env: &Env,
    cancel: CancellationToken,
) -> Result<Scanned, String> {
    let mut p = prepare(args, env).map_err(|e| crate::escape::terminal_lines(&e.to_string()))?;
    let mut cx = probe_cx(&p.settings, &p.catalog)
        .map_err(|e| crate::escape::terminal_lines(&e.to_string()))?;
    if p.settings.graph {
        let session = apply_graph(&mut p, &cx, env).await.map_err(|e| {
            // One line, always: the text carries what Graph answered.
            format!("Microsoft Graph: {}", crate::escape::terminal(&e))
        })?;
        cx.graph = Some(std::sync::Arc::new(session));
    }
    let s = &p.settings;
    let resolvers = cx.resolver.describe().to_vec();
    let resolver = cx.resolver.clone();
    let tasks = plan::Plan::new(&p.catalog, s)
        .map_err(|e| crate::escape::terminal_lines(&e.to_string()))?;
    let directory = plan::directory_read(tasks.shared());
    let bar = progress::bar(s.progress, tasks.len());
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut streams = open_streams(s)?;
    if let Some(st) = &mut streams {
        let partial = build_report(
            &p.catalog,
            s,
            Vec::new(),
            started,
            std::time::Duration::ZERO,
            resolvers.clone(),
        );
        st.header(&partial.tool, &partial.run, &partial.tenant);
    }
    // Only streamed outputs: each result is written and forgotten (memory flat in the domains).
    let keep = streams.is_none() || !only_streams(s);
    // A measurement runs for seconds with nothing else finishing: the progress line names it
    // and counts its planned time down (a ticker redraws it), so a waiting bar is not a stuck one.
    let measuring = progress::Measuring::default();
    let ticker = s
        .progress
        .then(|| measuring.tick(bar.clone(), s.lang, std::time::Duration::from_millis(250)));
    let results = runner::run_keeping(
        tasks,
        cx,
        RunOptions {
            concurrency: s.concurrency,
            timeout: s.timeout,
            budget: s.budget,
        },
        cancel,
        keep,
        runner::Hooks {
            on_start: |t: &plan::Task| measuring.start(t),
            on_result: |r: &CheckResult| {
                if let Some(st) = &mut streams {
                    st.result(r);
                }
                measuring.stop();
                bar.inc(1);
                bar.set_message(format!(
                    "{} {}",
                    crate::escape::terminal(&r.check),
                    crate::escape::terminal(&r.subject)
                ));
            },
        },
    )
    .await;
    if let Some(t) = ticker {
        t.abort();
    }
    bar.finish_and_clear();
    if let Some((canary, said)) = resolver.blind() {
        // One line for the cause; the results it turned into errors each say it too.
        eprintln!(
            "warning: the resolver {} says {} is {}: it cannot see the public internet, so every DNS verdict resting on a name not existing is an error (use --nameserver with a resolver that resolves public names)",
            crate::escape::terminal(&resolvers.join(", ")),
            crate::escape::terminal(&canary),
            said.render(s.lang)
        );
    }
    let mut report = build_report(&p.catalog, s, results, started, clock.elapsed(), resolvers);
    if let Some(st) = streams {
        let (summary, rows) = (st.summary(s.fail_on), st.responsibilities(&p.catalog));
        st.finish(&report.run, &summary, &rows)
            .map_err(|(path, e)| {
                crate::escape::terminal(&format!("cannot write {}: {e}", path.display()))
                    .into_owned()
            })?;
        if !keep {
            // The verdict (the exit code) from what was streamed; no other report reads it.
            report.summary = summary;
            report.responsibilities = rows;
        }
    }
    Ok(Scanned {
        report,
        settings: p.settings,
        directory,
    })
}

/// Raises the soft open-files limit to the hard one: network checks open a socket per host:port
/// at once, and the soft limit (often 1,024) would turn that into EMFILE errors.
pub fn raise_open_files() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!("cannot raise the open-files limit: {e}");
    }
}

/// The probes' shared resources for these settings: the scan resolver (cached, per-query timeout
/// capped so one lost packet cannot eat a check, and asking the cloud's SPF include before it
/// believes any "does not exist") and the authoritative-query options.
pub fn probe_cx(s: &Settings, catalog: &Catalog) -> Result<ProbeCx, ConfigError> {
    probe_cx_from(&NetOpts {
        nameservers: s.nameservers.clone(),
        ca_file: s.ca_file.clone(),
        timeout: s.timeout,
        concurrency: s.concurrency.get(),
        authoritative_port: s.authoritative_port,
        canary: catalog.resolver_canary(s.cloud),
    })
}

// How a scan's options become the probes' shared resources is the probes' business (`init
// --from-graph` builds them too): see `probe::context`.
pub use crate::probe::context::{NetOpts, authoritative_timeout, probe_cx_from};

// The step bound is the probes' own (the planner needs it too): see `probe::step_timeout`.
pub use crate::probe::step_timeout;

/// Builds the report model.
pub fn build_report(
    catalog: &Catalog,
    s: &Settings,
    results: Vec<CheckResult>,
    started: SystemTime,
    elapsed: std::time::Duration,
    resolvers: Vec<String>,
) -> Report {
    Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        run: RunInfo {
            started_at: report::rfc3339(started),
            finished_at: report::rfc3339(started + elapsed),
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            vantage: Vantage::local(),
            resolvers,
            shard: s.shard.map(|sh| sh.to_string()),
        },
        tenant: TenantInfo {
            name: s.tenant_name.clone(),
            domains: s.domains.iter().map(|d| d.name.to_string()).collect(),
        },
        summary: Summary::of(&results, s.fail_on),
        responsibilities: report::responsibilities(catalog, &results),
        results,
    }
}

/// The NDJSON outputs the settings ask for (`--format ndjson`, `--report ndjson=FILE`), opened
/// before the scan so each result is written as it finishes.
fn open_streams(s: &Settings) -> Result<Option<report::stream::Streams>, String> {
    use crate::output::Format;
    let mut files: Vec<&Path> = s
        .reports
        .iter()
        .filter(|(f, _)| *f == Format::Ndjson)
        .map(|(_, p)| p.as_path())
        .collect();
    let mut stdout = false;
    if s.format == Format::Ndjson {
        match &s.output {
            Some(p) => files.push(p),
            None => stdout = true,
        }
    }
    report::stream::Streams::open(&files, stdout).map_err(|(path, e)| {
        crate::escape::terminal(&format!("cannot write {}: {e}", path.display())).into_owned()
    })
}

/// Whether every output the settings ask for streams (so no result needs keeping).
fn only_streams(s: &Settings) -> bool {
    use crate::output::Format;
    s.format == Format::Ndjson && s.reports.iter().all(|(f, _)| *f == Format::Ndjson)
}

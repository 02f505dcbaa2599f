//! A report as Prometheus metrics (OpenMetrics text, with the `prometheus-client` crate).
//!
//! Names follow Prometheus' conventions: base units in the name (`_seconds`, `_ratio`,
//! `_bytes_per_second`, `_timestamp_seconds`), one-hot status gauges, counters ending in
//! `_total`. Label values are only what the configuration bounds (check ids, subjects,
//! responsibilities, the five statuses, targets): never a message, never a secret.
//! Pure: the same report gives the same series (their order within a family may differ).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::outcome::{CheckResult, Status};
use crate::report::Report;

type Labels = Vec<(&'static str, String)>;
type F64Gauges = Family<Labels, Gauge<f64, AtomicU64>>;
/// Whole numbers (the one-hot statuses, the verdict, counts) print as `1`, not `1.0`.
type IntGauges = Family<Labels, Gauge>;

/// The statuses a result can have, in the order the one-hot series are written.
pub const STATUSES: [Status; 5] = [
    Status::Pass,
    Status::Warn,
    Status::Fail,
    Status::Error,
    Status::Skip,
];

/// What the server knows beyond the last report.
#[derive(Clone, Debug, Default)]
pub struct ServerState {
    /// Scans finished (with a report).
    pub scans: u64,
    /// Scans that could not run (the configuration, Graph refusing the app).
    pub scan_failures: u64,
    /// When the last scan with a report finished (Unix seconds).
    pub last_success: Option<f64>,
    /// The schedule (seconds between scans): an alert on a stale scan is a multiple of it.
    pub interval: f64,
}

struct Metrics {
    status: IntGauges,
    ready: IntGauges,
    results: IntGauges,
    cert_expiry: F64Gauges,
    cert_warning: F64Gauges,
    rtt: F64Gauges,
    rtt_target: F64Gauges,
    jitter: F64Gauges,
    jitter_target: F64Gauges,
    loss: F64Gauges,
    loss_target: F64Gauges,
    bandwidth: F64Gauges,
    bandwidth_needed: F64Gauges,
    duration: F64Gauges,
    finished: F64Gauges,
}

fn gauges(r: &mut Registry, name: &str, help: &str) -> F64Gauges {
    let f = F64Gauges::default();
    r.register(name, help, f.clone());
    f
}

fn ints(r: &mut Registry, name: &str, help: &str) -> IntGauges {
    let f = IntGauges::default();
    r.register(name, help, f.clone());
    f
}

fn set_int(f: &IntGauges, labels: &Labels, v: i64) {
    f.get_or_create(labels).set(v);
}

fn set(f: &F64Gauges, labels: &Labels, v: f64) {
    if v.is_finite() {
        f.get_or_create(labels).set(v);
    }
}

impl Metrics {
    fn new(r: &mut Registry) -> Self {
        Self {
            status: ints(
                r,
                "check_status",
                "The status of each result of the last scan (one-hot over pass, warn, fail, error, skip)",
            ),
            ready: ints(
                r,
                "ready",
                "1 when the last scan's verdict is READY, 0 when it is not",
            ),
            results: ints(r, "results", "Results of the last scan per status"),
            cert_expiry: gauges(
                r,
                "certificate_expiry_timestamp_seconds",
                "When the certificate an endpoint presented expires (Unix time)",
            ),
            cert_warning: gauges(
                r,
                "certificate_warning_seconds",
                "How long before expiry the check starts warning",
            ),
            rtt: gauges(
                r,
                "rtt_seconds",
                "Round-trip time to the Teams media relay (stat: median, p90, max)",
            ),
            rtt_target: gauges(
                r,
                "rtt_target_seconds",
                "The p90 round-trip time the result is judged by (Microsoft's target)",
            ),
            jitter: gauges(r, "jitter_seconds", "RFC 3550 interarrival jitter"),
            jitter_target: gauges(
                r,
                "jitter_target_seconds",
                "The jitter the result is judged by",
            ),
            loss: gauges(r, "loss_ratio", "Packets lost of those sent (0..1)"),
            loss_target: gauges(r, "loss_target_ratio", "The loss the result is judged by"),
            bandwidth: gauges(
                r,
                "bandwidth_bytes_per_second",
                "Measured throughput per direction",
            ),
            bandwidth_needed: gauges(
                r,
                "bandwidth_needed_bytes_per_second",
                "Throughput the users' Teams traffic needs per direction (level: recommended, minimum)",
            ),
            duration: gauges(r, "scan_duration_seconds", "Wall time of the last scan"),
            finished: gauges(
                r,
                "last_scan_timestamp_seconds",
                "When the last scan finished (Unix time)",
            ),
        }
    }

    fn add(&self, report: &Report) {
        for r in &report.results {
            for st in STATUSES {
                set_int(
                    &self.status,
                    &vec![
                        ("check", r.check.clone()),
                        ("subject", r.subject.clone()),
                        ("responsibility", r.responsibility.clone()),
                        ("status", st.as_str().to_owned()),
                    ],
                    i64::from(r.status == st),
                );
            }
            self.evidence(r);
        }
        set_int(
            &self.ready,
            &vec![],
            i64::from(report.summary.verdict == crate::report::Verdict::Ready),
        );
        for st in STATUSES {
            let n = report.results.iter().filter(|r| r.status == st).count();
            set_int(
                &self.results,
                &vec![("status", st.as_str().to_owned())],
                i64::try_from(n).unwrap_or(i64::MAX),
            );
        }
        set(
            &self.duration,
            &vec![],
            Duration::from_millis(report.run.duration_ms).as_secs_f64(),
        );
        if let Some(t) = unix_seconds(&report.run.finished_at) {
            set(&self.finished, &vec![], t);
        }
    }

    /// The numbers a dashboard draws, from the evidence of the checks that measure them.
    fn evidence(&self, r: &CheckResult) {
        let e = r.evidence.to_value();
        let num = |v: &serde_json::Value| v.as_f64();
        match r.check.as_str() {
            "tls.certificate" | "tls.smtp-starttls" => {
                let leaf = &e["certificates"][0];
                if let Some(t) = leaf["not_after"].as_str().and_then(unix_seconds) {
                    let labels = vec![("check", r.check.clone()), ("host", r.subject.clone())];
                    set(&self.cert_expiry, &labels.clone(), t);
                    if let Some(d) = num(&e["thresholds"]["warn_days"]) {
                        set(&self.cert_warning, &labels, d * 86_400.0);
                    }
                }
            }
            "tls.federation" => {
                let soonest = e["signing_certificates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["not_after"].as_str().and_then(unix_seconds))
                    .reduce(f64::min);
                if let Some(t) = soonest {
                    set(
                        &self.cert_expiry,
                        &vec![("check", r.check.clone()), ("host", r.subject.clone())],
                        t,
                    );
                }
            }
            "quality.latency" => {
                let target = || vec![("target", r.subject.clone())];
                for (stat, key) in [
                    ("median", "rtt_median_ms"),
                    ("p90", "rtt_p90_ms"),
                    ("max", "rtt_max_ms"),
                ] {
                    if let Some(ms) = num(&e[key]) {
                        let mut l = target();
                        l.push(("stat", stat.to_owned()));
                        set(&self.rtt, &l, ms / 1000.0);
                    }
                }
                let pairs = [
                    (&self.jitter, &e["jitter_ms"], 1000.0),
                    (&self.loss, &e["loss_pct"], 100.0),
                    (&self.rtt_target, &e["targets"]["rtt_ms"], 1000.0),
                    (&self.jitter_target, &e["targets"]["jitter_ms"], 1000.0),
                    (&self.loss_target, &e["targets"]["loss_pct"], 100.0),
                ];
                for (family, v, per) in pairs {
                    if let Some(v) = num(v) {
                        set(family, &target(), v / per);
                    }
                }
            }
            "quality.bandwidth" => {
                // Mbit/s (10^6 bits) to bytes per second.
                let bps = |mbps: f64| mbps * 1e6 / 8.0;
                for (dir, key, need, min) in [
                    (
                        "download",
                        "download",
                        "needed_down_mbps",
                        "needed_min_down_mbps",
                    ),
                    ("upload", "upload", "needed_up_mbps", "needed_min_up_mbps"),
                ] {
                    let d = || vec![("direction", dir.to_owned())];
                    if let Some(m) = num(&e[key]["mbps"]) {
                        set(&self.bandwidth, &d(), bps(m));
                    }
                    for (level, k) in [("recommended", need), ("minimum", min)] {
                        if let Some(m) = num(&e[k]) {
                            let mut l = d();
                            l.push(("level", level.to_owned()));
                            set(&self.bandwidth_needed, &l, bps(m));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// RFC 3339 UTC (as the report writes it) to Unix seconds.
fn unix_seconds(s: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339(s).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
}

fn registry(site: &str) -> Registry {
    Registry::with_prefix_and_labels(
        "tenant_ready",
        [(
            std::borrow::Cow::Borrowed("site"),
            std::borrow::Cow::Owned(site.to_owned()),
        )]
        .into_iter(),
    )
}

fn finish(r: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, r);
    out
}

/// `/metrics`: the last completed scan (none yet: only the server's own series).
pub fn scrape(report: Option<&Report>, state: &ServerState, site: &str) -> String {
    let mut r = registry(site);
    let m = Metrics::new(&mut r);
    if let Some(report) = report {
        m.add(report);
    }
    let scans: Counter<u64> = Counter::default();
    scans.inc_by(state.scans);
    r.register("scans", "Scans finished with a report", scans);
    let failures: Counter<u64> = Counter::default();
    failures.inc_by(state.scan_failures);
    r.register(
        "scan_failures",
        "Scans that could not run (configuration, Microsoft Graph refusing the app)",
        failures,
    );
    if let Some(t) = state.last_success {
        let g: Gauge<f64, AtomicU64> = Gauge::default();
        g.set(t);
        r.register(
            "last_success_timestamp_seconds",
            "When the last scan with a report finished (Unix time)",
            g,
        );
    }
    if state.interval > 0.0 {
        let g: Gauge<f64, AtomicU64> = Gauge::default();
        g.set(state.interval);
        r.register(
            "scan_interval_seconds",
            "The time between scheduled scans (--interval, before jitter)",
            g,
        );
    }
    let info: Family<Labels, Gauge<f64, AtomicU64>> = Family::default();
    info.get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_owned())])
        .set(1.0);
    r.register("build_info", "The tenant-ready version serving", info);
    finish(&r)
}

/// `/probe`: one on-demand run, with blackbox_exporter's `probe_success` and
/// `probe_duration_seconds` beside the results.
pub fn probe(report: &Report, site: &str) -> String {
    let mut r = registry(site);
    let m = Metrics::new(&mut r);
    m.add(report);
    let mut plain = Registry::default();
    let ok = report
        .results
        .iter()
        .all(|x| !matches!(x.status, Status::Fail | Status::Error));
    let success: Gauge = Gauge::default();
    success.set(i64::from(ok && !report.results.is_empty()));
    plain.register(
        "probe_success",
        "1 when no result of the probe failed or erred",
        success,
    );
    let duration: Gauge<f64, AtomicU64> = Gauge::default();
    duration.set(Duration::from_millis(report.run.duration_ms).as_secs_f64());
    plain.register(
        "probe_duration_seconds",
        "How long the probe took",
        duration,
    );
    // Both registries in one exposition: the plain one's `# EOF` is the only one kept.
    let mut out = finish(&r);
    if let Some(body) = out.strip_suffix("# EOF\n") {
        out = body.to_owned();
    }
    out.push_str(&finish(&plain));
    out
}

/// The OpenMetrics text as Prometheus' older text format (0.0.4), for a client that does not
/// ask for OpenMetrics (`promtool check metrics`, curl): no `# EOF` or `# UNIT`, and a
/// counter's HELP and TYPE named as its `_total` sample is.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_renamed_for_the_older_text_format() {
        let om = "# HELP x_scans Scans.\n# TYPE x_scans counter\nx_scans_total 3\n# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP x_scans_total Scans.\n# TYPE x_scans_total counter\nx_scans_total 3\n# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n"
        );
    }

    #[test]
    fn before_any_scan_only_the_servers_own_series() {
        let text = scrape(None, &ServerState::default(), "hq");
        assert!(
            text.contains("tenant_ready_scans_total{site=\"hq\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("tenant_ready_build_info{site=\"hq\""),
            "{text}"
        );
        assert!(!text.contains("tenant_ready_check_status{"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}

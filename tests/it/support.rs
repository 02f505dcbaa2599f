//! Shared helpers: zone builders, loopback DNS servers, and a scan through the library pipeline.

use std::net::SocketAddr;
use std::time::Duration;

use tenant_ready::catalog::Catalog;
use tenant_ready::cli::ScanArgs;
use tenant_ready::lab::{Behaviour, DnsServer, Zones};
use tenant_ready::outcome::{CheckResult, Status};
use tenant_ready::probe::ProbeCx;
use tenant_ready::runner::{self, RunOptions};
use tenant_ready::settings::{Env, Settings};
use tokio_util::sync::CancellationToken;

pub(crate) use tenant_ready::lab::{OUTLOOK_ZONE, ready_zone};

/// Zones from (origin, text) pairs, plus the outlook.com stand-in.
pub(crate) fn zones(list: &[(&str, &str)]) -> Zones {
    let mut z = Zones::default();
    for (origin, text) in list {
        z.add_zone(origin, text).unwrap_or_else(|e| panic!("{e}"));
    }
    z.add_zone("outlook.com", OUTLOOK_ZONE).unwrap();
    for (origin, text) in tenant_ready::lab::NATIONAL_SPF_ZONES {
        z.add_zone(origin, text).unwrap();
    }
    z
}

/// A server on 127.0.0.1, free port.
pub(crate) async fn server(zones: Zones, behaviour: Behaviour) -> DnsServer {
    DnsServer::start("127.0.0.1:0".parse().unwrap(), zones, behaviour)
        .await
        .expect("start DNS server")
}

/// A probe context pointing at `addr` for everything, built as a scan builds it
/// (`probe_cx_from`: the timeouts derived from the check timeout, the in-flight limits from the
/// concurrency), so the tests exercise the product's own limits.
pub(crate) fn probe_cx(addr: SocketAddr, check_timeout: Duration, concurrency: usize) -> ProbeCx {
    tenant_ready::app::probe_cx_from(&tenant_ready::app::NetOpts {
        nameservers: vec![addr],
        ca_file: None,
        timeout: check_timeout,
        concurrency,
        authoritative_port: addr.port(),
        canary: None,
    })
    .expect("probe context")
}

/// Options for [`scan`].
pub(crate) struct Scan<'a> {
    pub(crate) domains: &'a [&'a str],
    pub(crate) config: Option<&'a str>,
    pub(crate) only: &'a [&'a str],
    pub(crate) skip: &'a [&'a str],
    pub(crate) timeout: &'a str,
    pub(crate) ca_file: Option<&'a std::path::Path>,
    pub(crate) endpoints: Option<&'a std::path::Path>,
    pub(crate) checks: Option<&'a std::path::Path>,
    /// The port the zones' own name servers are asked on (default: the resolver's).
    pub(crate) authoritative_port: Option<u16>,
    /// `TENANT_READY_LDAP_PASSWORD` (the directory checks' bind password).
    pub(crate) ldap_password: Option<&'a str>,
}

impl Default for Scan<'_> {
    fn default() -> Self {
        Self {
            domains: &[],
            config: None,
            only: &[],
            skip: &[],
            timeout: "2s",
            ca_file: None,
            endpoints: None,
            checks: None,
            authoritative_port: None,
            ldap_password: None,
        }
    }
}

/// Runs the real pipeline (settings → catalogue → plan → runner) against `addr`.
pub(crate) async fn scan(addr: SocketAddr, opts: Scan<'_>) -> Vec<CheckResult> {
    let args = ScanArgs {
        domains: opts.domains.iter().map(|s| (*s).to_owned()).collect(),
        nameserver: vec![addr.to_string()],
        authoritative_port: Some(opts.authoritative_port.unwrap_or(addr.port())),
        only: opts.only.iter().map(|s| (*s).to_owned()).collect(),
        skip: opts.skip.iter().map(|s| (*s).to_owned()).collect(),
        timeout: Some(opts.timeout.to_owned()),
        ca_file: opts.ca_file.map(std::path::Path::to_path_buf),
        endpoints: opts.endpoints.map(std::path::Path::to_path_buf),
        ..ScanArgs::default()
    };
    let file = opts.config.map(|text| tenant_ready::settings::LoadedFile {
        path: "tenant.toml".into(),
        file: toml::from_str(text).expect("test tenant.toml"),
        dkim: None,
    });
    let env = Env {
        ldap_password: opts
            .ldap_password
            .map(|p| tenant_ready::secrets::Secret::new(p.to_owned())),
        ..Env::default()
    };
    let settings = Settings::resolve(&args, file.as_ref(), &env).expect("settings");
    let catalog = match opts.checks {
        Some(dir) => Catalog::from_dir(dir).expect("--checks catalog"),
        None => Catalog::embedded().expect("catalog"),
    };
    let tasks = tenant_ready::plan::plan(&catalog, &settings).expect("plan");
    let timeout = settings.timeout;
    // Exactly as the binary builds it (nameserver, authoritative port, --ca-file, limits).
    let cx = tenant_ready::app::probe_cx(&settings, &catalog).expect("probe context");
    runner::run(
        tasks,
        cx,
        RunOptions {
            concurrency: settings.concurrency,
            timeout,
            budget: None,
        },
        CancellationToken::new(),
        |_| {},
    )
    .await
}

/// Serves one zone from a fresh loopback server and scans it with `config`.
pub(crate) async fn scan_zone(
    origin: &str,
    zone: &str,
    config: &str,
    only: &[&str],
) -> Vec<CheckResult> {
    let srv = server(zones(&[(origin, zone)]), Behaviour::default()).await;
    scan(
        srv.addr(),
        Scan {
            config: Some(config),
            only,
            ..Scan::default()
        },
    )
    .await
}

/// The result of one check.
pub(crate) fn result<'a>(results: &'a [CheckResult], check: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("no result for {check}"))
}

/// Asserts a status, showing the message on failure.
#[track_caller]
pub(crate) fn assert_status(r: &CheckResult, want: Status) {
    assert_eq!(
        r.status, want,
        "{} [{}]: {} — evidence {}",
        r.check, r.subject, r.message, r.evidence
    );
}

/// The `error.kind` of an error result.
pub(crate) fn error_kind(r: &CheckResult) -> &str {
    r.evidence["error"]["kind"].as_str().unwrap_or("")
}

/// The offline demo's JSON report (every kind of check: DNS, Entra ID, TLS, SMTP, network and
/// quality on loopback), scanned once per test process in English and shared by the tests that
/// read it. The quality checks take ~15 s, so one scan serves them all.
pub(crate) fn demo_report() -> &'static std::path::Path {
    static DEMO: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    let (_, path) = DEMO.get_or_init(|| {
        // Its own thread and runtime: the caller may be inside a runtime already.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let demo = tenant_ready::lab::Demo::start(dir.path()).await.unwrap();
                let out = dir.path().join("report.json");
                let mut cmd = demo.scan_command();
                cmd.extend(["--no-progress".into(), "--format".into(), "json".into()]);
                cmd.extend(["--output".into(), out.display().to_string()]);
                let cli = <tenant_ready::cli::Cli as clap::Parser>::parse_from(cmd);
                let tenant_ready::cli::Command::Scan(args) = cli.command else {
                    unreachable!()
                };
                tenant_ready::app::scan(*args, demo.env(Env::default())).await;
                (dir, out)
            })
        })
        .join()
        .unwrap()
    });
    path
}

/// A headless browser, when one is installed (CI installs `chromium`).
pub(crate) fn browser() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok()
        })
}

/// The DOM headless `browser` builds from `page` (a file: nothing else is fetched), with its
/// profile in `profile`.
pub(crate) fn dom(browser: &str, page: &std::path::Path, profile: &std::path::Path) -> String {
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

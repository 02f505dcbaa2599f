//! The commands: wiring settings, catalogue, plan, runner and reports together. `main.rs` calls
//! [`main`]; the lab example and the tests call [`scan`] inside their own runtime.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::cli::{
    CatalogArgs, Cli, Command, EndpointsCommand, Format, ImportCommand, InitArgs, Lang, ListFormat,
    ScanArgs,
};
use crate::error::ConfigError;
use crate::outcome::CheckResult;
use crate::plan;
use crate::probe::ProbeCx;
use crate::report::{self, Exit, Report, RunInfo, Summary, TenantInfo, Tool, Vantage};
use crate::runner::{self, RunOptions};
use crate::settings::{self, Env, Settings};

/// Runs a parsed command line and returns the exit code.
pub fn main(cli: Cli) -> Exit {
    // One crypto provider for the whole process (ring; see Cargo.toml). Installing twice is
    // harmless, hence the ignored result.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = env_from_process();
    match cli.command {
        Command::Scan(args) => {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return Exit::Usage;
                }
            };
            // The scan runs on a worker, not in `block_on`'s thread: every finished check wakes the
            // task awaiting the runner, and from `block_on` that is a futex wake of a third
            // thread per check, with the results built there (bench_dns: ~10 % of a 1,000-domain
            // DNS scan's CPU).
            rt.block_on(async move {
                // A panic stays a panic, as it was before (nothing aborts this task).
                tokio::spawn(scan(*args, env))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            })
        }
        Command::Checks(c) => match c.command {
            Some(crate::cli::ChecksCommand::Export { dir, force }) => {
                report_usage(export_checks(&dir, force))
            }
            None => report_usage(list_checks(&c.args)),
        },
        Command::Responsibilities(a) => report_usage(list_responsibilities(&a, &env)),
        Command::Init(a) if a.from_graph => crate::init_cmd::from_graph(&a),
        Command::Init(a) => report_usage(init(&a)),
        Command::Report(r) => crate::report_cmd::run(r, &env),
        Command::Graph(crate::cli::GraphCommand::Permissions(a)) => {
            report_usage(crate::permissions_cmd::list(&a).and_then(|t| print(&t)))
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tenant-ready", &mut buf);
            report_usage(print(&String::from_utf8_lossy(&buf)))
        }
        Command::Schema => report_usage(print(&report::json_schema())),
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut buf) {
                Ok(()) => report_usage(print(&String::from_utf8_lossy(&buf))),
                Err(e) => {
                    eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
                    Exit::Usage
                }
            }
        }
        Command::Import(ImportCommand::Dkim(a)) => match crate::import_cmd::import_dkim(&a) {
            Ok(summary) => {
                eprint!("{summary}");
                Exit::Ready
            }
            Err(e) => report_usage(Err(e)),
        },
        Command::Endpoints(EndpointsCommand::Show(a)) => match crate::endpoints_cmd::show(&a) {
            Ok(shown) => {
                if !shown.stderr.is_empty() {
                    eprint!("{}", shown.stderr);
                }
                report_usage(print(&shown.stdout))
            }
            Err(e) => report_usage(Err(e)),
        },
        Command::Endpoints(EndpointsCommand::Fetch(a)) => {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return Exit::Usage;
                }
            };
            match rt.block_on(crate::fetch::fetch(&a)) {
                Ok(crate::fetch::Fetched::Written(v, n)) => {
                    eprintln!(
                        "wrote {} ({} endpoint sets, version {v}): use it with `tenant-ready scan --endpoints {}`",
                        a.output.display(),
                        n,
                        a.output.display()
                    );
                    Exit::Ready
                }
                Ok(crate::fetch::Fetched::UpToDate(v)) => {
                    eprintln!(
                        "{} already has the latest version ({v})",
                        a.output.display()
                    );
                    Exit::Ready
                }
                Err(crate::fetch::FetchError::Usage(m)) => {
                    eprintln!("error: {}", crate::escape::terminal_lines(&m));
                    Exit::Usage
                }
                Err(e) => {
                    eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
                    Exit::NotReady
                }
            }
        }
    }
}

fn report_usage(r: Result<(), ConfigError>) -> Exit {
    match r {
        Ok(()) => Exit::Ready,
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
            Exit::Usage
        }
    }
}

/// The environment of this process.
pub fn env_from_process() -> Env {
    Env {
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        lang: std::env::var("LC_ALL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| std::env::var("LANG").ok()),
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
        ldap_password: std::env::var(crate::directory::PASSWORD_VAR)
            .ok()
            .filter(|p| !p.is_empty())
            .map(crate::secrets::Secret::new),
        vars: Vec::new(),
    }
}

fn init_tracing(verbosity: i8) {
    let level = match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("tenant_ready={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Everything validated before the first packet is sent.
struct Prepared {
    settings: Settings,
    catalog: Catalog,
    tasks: Vec<plan::Task>,
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
    let tasks = plan::plan(&catalog, &settings)?;
    let outputs = settings
        .output
        .iter()
        .chain(settings.reports.iter().map(|(_, p)| p));
    for p in outputs {
        prepare_output(p)?;
    }
    Ok(Prepared {
        settings,
        catalog,
        tasks,
    })
}

// Where Microsoft Entra ID and Graph are for the tenant's cloud is Graph's own question.
pub use crate::graph::graph_hosts;

/// `--graph`: asks Microsoft Graph for the tenant's domains and their records, makes those the
/// exact expectations of the DNS checks (and what `entra.domain` knows), and plans again.
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
    p.tasks = plan::plan(&p.catalog, &p.settings).map_err(|e| e.to_string())?;
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

/// Runs a scan and writes its reports; returns the exit code.
pub async fn scan(args: ScanArgs, env: Env) -> Exit {
    let mut p = match prepare(&args, &env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
            return Exit::Usage;
        }
    };
    init_tracing(p.settings.verbosity);
    // Network checks open a socket per host:port at once (1,000 for a full endpoint list); the
    // soft open-files limit (often 1,024) would turn that into EMFILE errors. Raise it to the hard
    // limit, as scanners do; if that fails, the errors name the cause.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!("cannot raise the open-files limit: {e}");
    }
    let mut cx = match probe_cx(&p.settings, &p.catalog) {
        Ok(cx) => cx,
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
            return Exit::Usage;
        }
    };
    if p.settings.graph {
        match apply_graph(&mut p, &cx, &env).await {
            Ok(session) => cx.graph = Some(std::sync::Arc::new(session)),
            Err(e) => {
                eprintln!(
                    "error: Microsoft Graph: {}",
                    // One line, always: the text carries what Graph answered.
                    crate::escape::terminal(&e)
                );
                return Exit::Usage;
            }
        }
    }
    let s = &p.settings;
    let resolvers = cx.resolver.describe().to_vec();
    let resolver = cx.resolver.clone();
    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupted: finishing the report with what has been determined so far"
                );
                cancel.cancel();
            }
        })
    };
    let directory = plan::directory_read(&p.tasks);
    let bar = progress_bar(s.progress, p.tasks.len());
    let started = SystemTime::now();
    let clock = Instant::now();
    let results = runner::run(
        p.tasks,
        cx,
        RunOptions {
            concurrency: s.concurrency,
            timeout: s.timeout,
            budget: s.budget,
        },
        cancel,
        |r: &CheckResult| {
            bar.inc(1);
            bar.set_message(format!(
                "{} {}",
                crate::escape::terminal(&r.check),
                crate::escape::terminal(&r.subject)
            ));
        },
    )
    .await;
    bar.finish_and_clear();
    ctrl_c.abort();
    if let Some((canary, said)) = resolver.blind() {
        // One line for the cause; the results it turned into errors each say it too.
        eprintln!(
            "warning: the resolver {} says {} is {}: it cannot see the public internet, so every DNS verdict resting on a name not existing is an error (use --nameserver with a resolver that resolves public names)",
            crate::escape::terminal(&resolvers.join(", ")),
            crate::escape::terminal(&canary),
            said.render(s.lang)
        );
    }
    let report = build_report(&p.catalog, s, results, started, clock.elapsed(), resolvers);
    if let Some(path) = &s.directory_csv
        && let Err(e) = write_directory_csv(path, directory.as_deref())
    {
        eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
        return Exit::Usage;
    }
    match write_reports(&report, s) {
        Ok(()) => report::exit_code(&report.summary),
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
            Exit::Usage
        }
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

fn progress_bar(enabled: bool, len: usize) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    // The quality measurements run for seconds with no check finishing: the spinner and the
    // elapsed time keep moving, so a waiting bar is not a stuck one.
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn render(report: &Report, format: Format, s: &Settings) -> std::io::Result<Vec<u8>> {
    report::render_format(
        report,
        format,
        report::human::HumanOptions {
            color: s.color && s.output.is_none(),
            lang: s.lang,
            quiet: s.verbosity < 0,
            checklist: s.checklist,
        },
    )
}

/// The directory-csv report: every offending value the directory read found (a header alone,
/// and a warning, when the directory was not read: not configured, skipped, or an error).
fn write_directory_csv(
    path: &Path,
    shared: Option<&crate::directory::read::SharedRead>,
) -> Result<(), ConfigError> {
    let read = shared.and_then(crate::directory::read::SharedRead::done);
    if read.is_none() {
        eprintln!(
            "warning: {}: the directory was not read (see the directory.* results); the file has the header only",
            crate::escape::terminal(&path.display().to_string())
        );
    }
    let checks: Vec<String> = shared
        .map(|s| s.plan.groups.iter().map(|g| g.check.clone()).collect())
        .unwrap_or_default();
    let bytes = report::directory_csv::render(read.as_deref(), &checks);
    report::write_atomic(path, &bytes).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn write_reports(report: &Report, s: &Settings) -> Result<(), ConfigError> {
    let io_err = |path: &Path, source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    for (fmt, path) in &s.reports {
        let bytes = render(report, *fmt, s).map_err(|e| io_err(path, e))?;
        report::write_atomic(path, &bytes).map_err(|e| io_err(path, e))?;
    }
    let bytes = render(report, s.format, s).map_err(|e| io_err(Path::new("-"), e))?;
    match &s.output {
        Some(path) => report::write_atomic(path, &bytes).map_err(|e| io_err(path, e))?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is the reader's choice, not an error.
            if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(io_err(Path::new("stdout"), e));
            }
        }
    }
    Ok(())
}

fn print(text: &str) -> Result<(), ConfigError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(ConfigError::Read {
            path: "stdout".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn list_checks(a: &CatalogArgs) -> Result<(), ConfigError> {
    let c = Catalog::load(&a.checks, !a.no_builtin_checks)?;
    if a.format == ListFormat::Json {
        let rows: Vec<serde_json::Value> = c
            .checks
            .iter()
            .map(|k| {
                serde_json::json!({
                    "id": k.id, "kind": k.probe.kind(), "responsibility": k.responsibility,
                    "severity": k.severity, "levels": k.probe.levels(), "services": k.services,
                    "clouds": k.clouds, "title": k.title, "docs": k.docs, "file": k.file,
                    "builtin": !k.custom, "replaces_builtin": k.replaces_builtin,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows).unwrap_or_default();
        return print(&format!("{text}\n"));
    }
    let w = c.checks.iter().map(|k| k.id.len()).max().unwrap_or(2);
    let kw = c
        .checks
        .iter()
        .map(|k| k.probe.kind().len())
        .max()
        .unwrap_or(4);
    let levels = |k: &crate::catalog::CheckDef| {
        k.probe
            .levels()
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let lw = c.checks.iter().map(|k| levels(k).len()).max().unwrap_or(5);
    let rw = c
        .checks
        .iter()
        .map(|k| k.responsibility.len())
        .max()
        .unwrap_or(14);
    let mut text = format!(
        "{:<w$}  {:<kw$}  {:<8}  {:<lw$}  {:<rw$}  TITLE\n",
        "ID", "KIND", "SEVERITY", "LEVEL", "RESPONSIBILITY"
    );
    for k in &c.checks {
        text.push_str(&format!(
            "{:<w$}  {:<kw$}  {:<8}  {:<lw$}  {:<rw$}  {}{}\n",
            k.id,
            k.probe.kind(),
            k.severity.as_str(),
            levels(k),
            k.responsibility,
            k.title,
            origin(k).map_or_else(String::new, |o| format!("  [{o}]"))
        ));
    }
    text.push_str(&format!("\n{} checks from {}\n", c.checks.len(), c.source));
    // The network checks test what this list says; its age matters (Microsoft updates monthly).
    match crate::endpoint_sets::EndpointList::embedded() {
        Ok(l) => text.push_str(&format!(
            "Microsoft 365 endpoint list: {} (override with --endpoints; refresh with `tenant-ready endpoints fetch`)\n",
            l.describe()
        )),
        Err(e) => text.push_str(&format!("Microsoft 365 endpoint list: unreadable ({e})\n")),
    }
    // `--checks` files are the user's (or someone's) text: shown, never acted on.
    print(&crate::escape::terminal_lines(&text))
}

/// Where a user's check comes from, for the `checks` listing (`None` for built-in ones).
fn origin(k: &crate::catalog::CheckDef) -> Option<String> {
    k.custom.then(|| {
        format!(
            "{}{}",
            k.file,
            if k.replaces_builtin {
                ", replaces the built-in check"
            } else {
                ""
            }
        )
    })
}

/// `tenant-ready checks export DIR`: the embedded definitions, as a starting point for a
/// company's own checks directory.
fn export_checks(dir: &Path, force: bool) -> Result<(), ConfigError> {
    let mut files: Vec<(&str, &str)> = crate::catalog::EMBEDDED_CHECKS.to_vec();
    files.push((
        "responsibilities.toml",
        crate::catalog::EMBEDDED_RESPONSIBILITIES,
    ));
    files.push(("clouds.toml", crate::catalog::EMBEDDED_CLOUDS));
    files.push(("messages.toml", crate::i18n::EMBEDDED_MESSAGES));
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    })?;
    if !force && let Some((name, _)) = files.iter().find(|(n, _)| dir.join(n).exists()) {
        return Err(ConfigError::Usage(format!(
            "{} already exists; use --force to overwrite the exported files",
            dir.join(name).display()
        )));
    }
    for (name, text) in &files {
        let path = dir.join(name);
        report::write_atomic(&path, text.as_bytes())
            .map_err(|source| ConfigError::Read { path, source })?;
    }
    eprintln!(
        "wrote {} files to {}: edit or add check files there, then `tenant-ready scan --checks {}` (they add to the built-in checks; a check with a built-in id replaces it)",
        files.len(),
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn list_responsibilities(a: &CatalogArgs, env: &Env) -> Result<(), ConfigError> {
    let c = Catalog::load(&a.checks, !a.no_builtin_checks)?;
    let lang = a.lang.unwrap_or(match &env.lang {
        Some(l) if l.starts_with("ko") => Lang::Ko,
        _ => Lang::En,
    });
    let coverage = |id: &str| -> Vec<&str> {
        c.checks
            .iter()
            .filter(|k| k.responsibility == id)
            .map(|k| k.id.as_str())
            .collect()
    };
    if a.format == ListFormat::Json {
        let rows: Vec<serde_json::Value> = c
            .responsibilities
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "seed_ref": r.seed_ref, "phase": r.phase, "parent": r.parent,
                    "title": r.title, "title_ko": r.title_ko,
                    "title_ko_corrected": r.title_ko_corrected, "automated": r.automated,
                    "checks": coverage(&r.id),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows).unwrap_or_default();
        return print(&format!("{text}\n"));
    }
    let w = c
        .responsibilities
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(2);
    let mut text = format!(
        "{:<w$}  {:<9}  {:<9}  TITLE / CHECKS\n",
        "ID", "SEED", "COVERAGE"
    );
    for r in &c.responsibilities {
        let checks = coverage(&r.id);
        let cov = if !checks.is_empty() {
            "automated"
        } else if r.automated {
            "planned"
        } else {
            "manual"
        };
        let t = r.title_in(lang);
        text.push_str(&format!(
            "{:<w$}  {:<9}  {:<9}  {t}\n",
            r.id, r.seed_ref, cov
        ));
        if !checks.is_empty() {
            text.push_str(&format!(
                "{:<w$}  {:<9}  {:<9}  checks: {}\n",
                "",
                "",
                "",
                checks.join(", ")
            ));
        }
    }
    let automated = c
        .responsibilities
        .iter()
        .filter(|r| !coverage(&r.id).is_empty())
        .count();
    text.push_str(&format!(
        "\n{} responsibilities; {automated} covered by checks, the rest are on the manual checklist\n",
        c.responsibilities.len()
    ));
    print(&crate::escape::terminal_lines(&text))
}

/// The starter file `tenant-ready init` writes.
pub const STARTER_TOML: &str = include_str!("../examples/tenant.example.toml");

fn init(a: &InitArgs) -> Result<(), ConfigError> {
    if a.output.exists() && !a.force {
        return Err(ConfigError::Usage(format!(
            "{} already exists; use --force to overwrite it",
            a.output.display()
        )));
    }
    report::write_atomic(&a.output, STARTER_TOML.as_bytes()).map_err(|source| {
        ConfigError::Read {
            path: a.output.clone(),
            source,
        }
    })?;
    eprintln!(
        "wrote {}: edit the domains, then run `tenant-ready scan --config {}`",
        a.output.display(),
        a.output.display()
    );
    Ok(())
}

//! The commands: wiring settings, catalogue, plan, runner and reports together. `main.rs` calls
//! [`main`]; the lab example and the tests call [`scan`] inside their own runtime.

use std::io::{IsTerminal, Write};
use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::cli::{
    CatalogArgs, Cli, Command, EndpointsCommand, Format, ImportCommand, InitArgs, Lang, ListFormat,
    ScanArgs,
};
use crate::error::ConfigError;
use crate::report::{self, Exit, Report};
use crate::settings::{Env, Settings};

/// The multi-threaded runtime `scan` and `serve` run on (`None`, said on stderr, if the OS
/// refuses its threads).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn main(cli: Cli) -> Exit {
    // One crypto provider for the whole process (ring; see Cargo.toml). Installing twice is
    // harmless, hence the ignored result.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = env_from_process();
    match cli.command {
        Command::Scan(args) => {
            let Some(rt) = runtime() else {
                return Exit::Usage;
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
        Command::Serve(a) => {
            let Some(rt) = runtime() else {
                return Exit::Usage;
            };
            rt.block_on(crate::serve::serve(*a, env))
        }
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
        columns: columns(),
        ldap_password: std::env::var(crate::directory::PASSWORD_VAR)
            .ok()
            .filter(|p| !p.is_empty())
            .map(crate::secrets::Secret::new),
        vars: Vec::new(),
    }
}

/// The width the human report wraps to ([`Env::columns`]): `COLUMNS` (a shell's, or set for
/// one command), else the terminal's, else 100 on a terminal; nothing for a file or a pipe.
fn columns() -> Option<usize> {
    // Narrower than this, nothing fits beside the indentation: 20 columns at least.
    const NARROWEST: usize = 20;
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return Some(n.max(NARROWEST));
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let cols = console::Term::stdout()
        .size_checked()
        .map_or(100, |(_, cols)| usize::from(cols));
    Some(cols.max(NARROWEST))
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

pub use crate::scan::{
    NetOpts, Scanned, authoritative_timeout, build_report, graph_hosts, probe_cx, probe_cx_from,
    raise_open_files, resolve_settings, run_scan, step_timeout,
};

/// Runs a scan and writes its reports; returns the exit code.
pub async fn scan(args: ScanArgs, env: Env) -> Exit {
    if args.domains.is_empty()
        && args.config.is_none()
        && !args.graph
        && !Path::new("tenant.toml").is_file()
    {
        // A first run: what to do, not just what is missing.
        eprintln!(
            "nothing to scan yet: no domain on the command line and no tenant.toml here.\n  tenant-ready scan contoso.com     scan one domain now\n  tenant-ready init                 write a commented tenant.toml, edit its domains, then: tenant-ready scan"
        );
        return Exit::Usage;
    }
    init_tracing(
        i8::try_from(args.verbose)
            .unwrap_or(i8::MAX)
            .saturating_sub(i8::try_from(args.quiet).unwrap_or(i8::MAX)),
    );
    // Network checks open a socket per host:port at once (1,000 for a full endpoint list); the
    // soft open-files limit (often 1,024) would turn that into EMFILE errors. Raise it to the hard
    // limit, as scanners do; if that fails, the errors name the cause.
    raise_open_files();
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
    let scanned = run_scan(&args, &env, cancel).await;
    ctrl_c.abort();
    let Scanned {
        report,
        settings: s,
        directory,
    } = match scanned {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    if let Some(path) = &s.directory_csv
        && let Err(e) = write_directory_csv(path, directory.as_deref())
    {
        eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
        return Exit::Usage;
    }
    match write_reports(&report, &s) {
        Ok(()) => report::exit_code(&report.summary),
        Err(e) => {
            eprintln!("error: {}", crate::escape::terminal_lines(&e.to_string()));
            Exit::Usage
        }
    }
}

fn render(report: &Report, format: Format, s: &Settings) -> std::io::Result<Vec<u8>> {
    report::render_format(report, format, human_options(s, false))
}

/// How the human report looks: coloured only on stdout when colour is on (a file never gets
/// escape sequences).
fn human_options(s: &Settings, to_file: bool) -> report::human::HumanOptions {
    report::human::HumanOptions {
        color: s.color && s.output.is_none() && !to_file,
        width: if s.output.is_none() && !to_file {
            s.width
        } else {
            None
        },
        lang: s.lang,
        quiet: s.verbosity < 0,
        checklist: s.checklist,
    }
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
    // Files stream from the serialiser to disk (a 100,000-domain JSON report is never one
    // string in memory), through a temporary file and a rename.
    let to_file = |fmt: Format, path: &Path| {
        report::write_atomic_with(path, |w| {
            report::render_format_to(report, fmt, human_options(s, true), w)
        })
        .map_err(|e| io_err(path, e))
    };
    // NDJSON outputs were written as the scan went (crate::report::stream).
    for (fmt, path) in s.reports.iter().filter(|(f, _)| *f != Format::Ndjson) {
        to_file(*fmt, path)?;
    }
    if s.format == Format::Ndjson {
        return Ok(());
    }
    if let Some(path) = &s.output {
        return to_file(s.format, path);
    }
    let bytes = render(report, s.format, s).map_err(|e| io_err(Path::new("-"), e))?;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is the reader's choice, not an error.
    if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(io_err(Path::new("stdout"), e));
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

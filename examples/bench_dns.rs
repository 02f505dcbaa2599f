//! Benchmark: scan N generated domains against the loopback DNS server with a fixed per-query
//! delay, and compare the wall time with the critical-path bound (the longest chain of dependent
//! queries × the delay). The DNS server runs in this (driver) process and each scan in a child
//! process, so the peak RSS reported is the scanner's alone, per N.
//!
//! ```text
//! cargo run --release --example bench_dns                          # N = 10, 100, 1000; 20 ms; concurrency 256 (the default)
//! cargo run --release --example bench_dns -- --n 1000 --delay-ms 20 --concurrency 256
//! cargo run --release --example bench_dns -- --n 1000 --massif /tmp/massif.out   # heap profile of the scan
//! ```
//!
//! Besides the peak RSS it reports the RSS once the plan is built (`plan_rss`), so the memory of
//! the tasks and of the run can be told apart. With `--massif FILE` the scan runs under
//! `valgrind --tool=massif` (single-threaded and ~8× slower: read its heap, not its wall time).
//!
//! The longest dependency chain in the DNS checks is the NS-consistency probe: NS of the zone →
//! A of each name server → the questions asked of each server directly (3 round trips). SPF is
//! 2 (apex TXT → include), everything else 1. So the bound is 3 × delay.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tenant_ready::app;
use tenant_ready::catalog::Catalog;
use tenant_ready::cli::ScanArgs;
use tenant_ready::lab::{Behaviour, DnsServer, OUTLOOK_ZONE, Zones, ready_zone};
use tenant_ready::outcome::Status;
use tenant_ready::runner::{self, RunOptions};
use tenant_ready::settings::{Env, Settings};
use tokio_util::sync::CancellationToken;

const CHAIN: u32 = 3;

/// A memory figure of this process from /proc/self/status (`VmHWM:` peak, `VmRSS:` now), MB.
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn domains(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("d{i}.bench.test")).collect()
}

async fn serve(n: usize, delay: Duration) -> Result<DnsServer, String> {
    let mut zones = Zones::default();
    for d in &domains(n) {
        zones
            .add_zone(d, &ready_zone(d))
            .map_err(|e| e.to_string())?;
    }
    zones
        .add_zone("outlook.com", OUTLOOK_ZONE)
        .map_err(|e| e.to_string())?;
    let behaviour = Behaviour {
        delay,
        ..Behaviour::default()
    };
    DnsServer::start("127.0.0.1:0".parse().map_err(|_| "addr")?, zones, behaviour)
        .await
        .map_err(|e| e.to_string())
}

/// The child: scan N domains at `server`, print one line.
async fn scan(n: usize, server: &str, delay: Duration, concurrency: usize) -> Result<(), String> {
    let port = server
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or("server port")?;
    let args = ScanArgs {
        domains: domains(n),
        nameserver: vec![server.to_owned()],
        authoritative_port: Some(port),
        concurrency: Some(concurrency),
        timeout: Some("10s".into()),
        // The DNS checks only: the network checks would ask the lab for Microsoft's names.
        only: vec!["dns.*".into()],
        ..ScanArgs::default()
    };
    let settings = Settings::resolve(&args, None, &Env::default()).map_err(|e| e.to_string())?;
    let catalog = Catalog::embedded().map_err(|e| e.to_string())?;
    let tasks = tenant_ready::plan::plan(&catalog, &settings).map_err(|e| e.to_string())?;
    let cx = app::probe_cx(&settings).map_err(|e| e.to_string())?;
    let checks = tasks.len();
    let plan_rss = status_mb("VmRSS:");
    let start = Instant::now();
    let results = runner::run(
        tasks,
        cx,
        RunOptions {
            concurrency: NonZeroUsize::new(concurrency).ok_or("concurrency")?,
            timeout: settings.timeout,
            budget: None,
        },
        CancellationToken::new(),
        |_| {},
    )
    .await;
    let wall = start.elapsed();
    let bound = delay * CHAIN;
    let not_pass = results.iter().filter(|r| r.status != Status::Pass).count();
    println!(
        "N={n:<5} checks={checks:<6} wall={:>8.1} ms  bound={:>5.0} ms  ratio={:>6.2}  plan_rss={plan_rss:.1} MB  peak_rss={:.1} MB  not_pass={not_pass}",
        wall.as_secs_f64() * 1000.0,
        bound.as_secs_f64() * 1000.0,
        wall.as_secs_f64() / bound.as_secs_f64(),
        status_mb("VmHWM:"),
    );
    if let Some(r) = results.iter().find(|r| r.status != Status::Pass) {
        println!("  first problem: {} {}: {}", r.check, r.subject, r.message);
    }
    Ok(())
}

fn main() -> ExitCode {
    let delay = Duration::from_millis(arg("--delay-ms", 20));
    let concurrency = usize::try_from(arg("--concurrency", 256)).unwrap_or(256);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--server") {
        let n = usize::try_from(arg("--n", 10)).unwrap_or(10);
        let server = args.get(i + 1).cloned().unwrap_or_default();
        return match rt.block_on(scan(n, &server, delay, concurrency)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Ok(exe) = std::env::current_exe() else {
        return ExitCode::FAILURE;
    };
    println!(
        "DNS scan benchmark: {} ms per query at the server, concurrency {concurrency}, bound = {CHAIN} × delay",
        delay.as_millis()
    );
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--n") {
        Some(_) => vec![usize::try_from(arg("--n", 10)).unwrap_or(10)],
        None => vec![10, 100, 1000],
    };
    for n in sizes {
        let srv = match rt.block_on(serve(n, delay)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot start the server: {e}");
                return ExitCode::FAILURE;
            }
        };
        let _guard = rt.enter();
        let mut cmd = match args.iter().position(|a| a == "--massif") {
            Some(i) => {
                let mut c = std::process::Command::new("valgrind");
                c.arg("--tool=massif")
                    .arg(format!(
                        "--massif-out-file={}",
                        args.get(i + 1).map_or("massif.out", String::as_str)
                    ))
                    .arg(&exe);
                c
            }
            None => std::process::Command::new(&exe),
        };
        let status = cmd
            .args([
                "--n",
                &n.to_string(),
                "--delay-ms",
                &delay.as_millis().to_string(),
            ])
            .args(["--concurrency", &concurrency.to_string()])
            .args(["--server", &srv.addr().to_string()])
            .status();
        println!("  queries served: {}", srv.queries());
        if !status.is_ok_and(|s| s.success()) {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

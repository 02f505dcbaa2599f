//! Benchmark: `tls.certificate` over N loopback HTTPS endpoints (default 200) at a given
//! concurrency (default 64), each server waiting `--delay-ms` before the handshake (a stand-in
//! for network latency; `tc netem` is not available here).
//!
//! ```text
//! cargo run --release --example bench_tls
//! cargo run --release --example bench_tls -- --n 200 --concurrency 64 --delay-ms 50
//! cargo run --release --example bench_tls -- --sslyze /path/to/venv-sslyze/bin/sslyze
//! ```
//!
//! The driver runs the DNS server and the TLS servers; the scan runs in a child process so the
//! peak RSS is the scanner's. The child first checks every endpoint alone, one after the other,
//! to find the slowest single check; then all of them through the runner. The scheduling bound
//! is ceil(N / concurrency) × the slowest single check; the target is a wall time within 2× of
//! it. With `--sslyze`, `sslyze --certinfo` runs over the same endpoints (timed with
//! `/usr/bin/time -v` for its peak RSS).

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
use tenant_ready::lab::pki::{LeafSpec, Pki};
use tenant_ready::lab::tls_server::{LabServer, Mode, server_config};
use tenant_ready::lab::{Behaviour, DnsServer, Zones};
use tenant_ready::outcome::Status;
use tenant_ready::plan::Work;
use tenant_ready::runner::{self, RunOptions};
use tenant_ready::settings::{Env, Settings, load_file};
use tokio_util::sync::CancellationToken;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The child: scan, print one line.
async fn child(dir: &std::path::Path, dns: &str, concurrency: usize) -> Result<(), String> {
    let config = dir.join("tenant.toml");
    let args = ScanArgs {
        config: Some(config.clone()),
        nameserver: vec![dns.to_owned()],
        ca_file: Some(dir.join("ca.pem")),
        only: vec!["tls.certificate".into()],
        concurrency: Some(concurrency),
        timeout: Some("10s".into()),
        ..ScanArgs::default()
    };
    let file = load_file(&config).map_err(|e| e.to_string())?;
    let settings =
        Settings::resolve(&args, Some(&file), &Env::default()).map_err(|e| e.to_string())?;
    let catalog = Catalog::embedded().map_err(|e| e.to_string())?;
    let tasks = tenant_ready::plan::plan(&catalog, &settings).map_err(|e| e.to_string())?;
    let cx = app::probe_cx(&settings, &catalog).map_err(|e| e.to_string())?;
    // Each endpoint alone, one after the other.
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    for t in &tasks {
        if let Work::Run(p) = &t.work {
            let start = Instant::now();
            tenant_ready::probe::run(p, &cx)
                .await
                .map_err(|e| format!("{}: {e}", t.subject))?;
            let d = start.elapsed();
            slowest = slowest.max(d);
            total += d;
        }
    }
    let n = tasks.len();
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
    let waves = n.div_ceil(concurrency);
    let bound = slowest * u32::try_from(waves).unwrap_or(u32::MAX);
    let not_pass = results.iter().filter(|r| r.status != Status::Pass).count();
    println!(
        "tenant-ready: N={n} concurrency={concurrency}  alone: mean {:.1} ms, slowest {:.1} ms (sum {:.0} ms)",
        total.as_secs_f64() * 1000.0 / n as f64,
        slowest.as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0
    );
    println!(
        "tenant-ready: concurrent wall {:.1} ms = {:.2}x the slowest single check; bound {waves} waves x slowest = {:.1} ms, ratio {:.2}; peak RSS {:.1} MB; not pass: {not_pass}",
        wall.as_secs_f64() * 1000.0,
        wall.as_secs_f64() / slowest.as_secs_f64(),
        bound.as_secs_f64() * 1000.0,
        wall.as_secs_f64() / bound.as_secs_f64(),
        peak_rss_mb()
    );
    if let Some(r) = results.iter().find(|r| r.status != Status::Pass) {
        println!("  first problem: {} {}: {}", r.check, r.subject, r.message);
    }
    Ok(())
}

struct Servers {
    _dns: DnsServer,
    _tls: Vec<LabServer>,
    dns_addr: String,
    endpoints: Vec<String>,
}

async fn start(dir: &std::path::Path, n: usize, delay: Duration) -> Result<Servers, String> {
    let pki = Pki::new().map_err(|e| e.to_string())?;
    std::fs::write(dir.join("ca.pem"), pki.root_pem()).map_err(|e| e.to_string())?;
    let mut zone = String::from(
        "$TTL 60\n@ IN SOA ns1.bench.test. h.bench.test. 1 3600 600 86400 60\n@ IN NS ns1.bench.test.\nns1 IN A 127.0.0.1\n",
    );
    let mut tls = Vec::new();
    let mut endpoints = Vec::new();
    for i in 0..n {
        let name = format!("e{i}.bench.test");
        let leaf = pki
            .leaf(&LeafSpec::good(&name))
            .map_err(|e| e.to_string())?;
        let cfg = server_config(&leaf).map_err(|e| e.to_string())?;
        let mode = Mode::Https(cfg, Vec::new().into());
        let mode = if delay.is_zero() {
            mode
        } else {
            Mode::Delayed(delay, Box::new(mode))
        };
        let s = LabServer::start("127.0.0.1:0".parse().map_err(|_| "addr")?, mode)
            .await
            .map_err(|e| e.to_string())?;
        zone.push_str(&format!("e{i} IN A 127.0.0.1\n"));
        endpoints.push(format!("{name}:{}", s.addr().port()));
        tls.push(s);
    }
    let list: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
    std::fs::write(
        dir.join("tenant.toml"),
        format!(
            "[[domain]]\nname = \"bench.test\"\n[endpoints]\nhttps = [{}]\n",
            list.join(", ")
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut zones = Zones::default();
    zones
        .add_zone("bench.test", &zone)
        .map_err(|e| e.to_string())?;
    let dns = DnsServer::start(
        "127.0.0.1:0".parse().map_err(|_| "addr")?,
        zones,
        Behaviour::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(Servers {
        dns_addr: dns.addr().to_string(),
        _dns: dns,
        _tls: tls,
        endpoints,
    })
}

/// Runs sslyze over the same endpoints; prints wall time and its peak RSS.
fn sslyze(bin: &str, dir: &std::path::Path, endpoints: &[String]) {
    // sslyze resolves names itself; `host:port{ip}` pins the address and keeps the SNI.
    let targets: Vec<String> = endpoints
        .iter()
        .map(|e| format!("{e}{{127.0.0.1}}"))
        .collect();
    let start = Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(["--certinfo", "--certinfo_ca_file"])
        .arg(dir.join("ca.pem"))
        .arg("--json_out")
        .arg(dir.join("sslyze.json"))
        .args(&targets)
        .output();
    let wall = start.elapsed();
    match out {
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let rss_kb: f64 = err
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("Maximum resident set size (kbytes): ")
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0);
            let ok = std::fs::read_to_string(dir.join("sslyze.json"))
                .map_or(0, |j| j.matches("\"scan_status\": \"COMPLETED\"").count());
            println!(
                "sslyze --certinfo: wall {:.1} ms, peak RSS {:.1} MB, exit {}, completed scans {ok}",
                wall.as_secs_f64() * 1000.0,
                rss_kb / 1024.0,
                o.status
            );
        }
        Err(e) => println!("sslyze: cannot run {bin}: {e}"),
    }
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let concurrency = usize::try_from(num("--concurrency", 64)).unwrap_or(64);
    if let (Some(dir), Some(dns)) = (arg("--child-dir"), arg("--dns")) {
        return match rt.block_on(child(std::path::Path::new(&dir), &dns, concurrency)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let n = usize::try_from(num("--n", 200)).unwrap_or(200);
    let delay = Duration::from_millis(num("--delay-ms", 0));
    let Ok(dir) = tempfile::tempdir() else {
        return ExitCode::FAILURE;
    };
    let servers = match rt.block_on(start(dir.path(), n, delay)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start the servers: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "TLS certificate benchmark: {n} HTTPS endpoints on loopback, {} ms server delay, concurrency {concurrency}",
        delay.as_millis()
    );
    let Ok(exe) = std::env::current_exe() else {
        return ExitCode::FAILURE;
    };
    let _guard = rt.enter();
    let status = std::process::Command::new(&exe)
        .args(["--child-dir", &dir.path().display().to_string()])
        .args(["--dns", &servers.dns_addr])
        .args(["--concurrency", &concurrency.to_string()])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return ExitCode::FAILURE;
    }
    if let Some(bin) = arg("--sslyze") {
        sslyze(&bin, dir.path(), &servers.endpoints);
    }
    ExitCode::SUCCESS
}

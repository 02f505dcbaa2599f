//! Benchmark: `tenant-ready serve` at rest and under a fast schedule. The release binary serves
//! the lab's two domains (the DNS pack) with `--interval 1s` for N scans (default 1,000) while
//! this program scrapes `/metrics` every second as Prometheus would, and records the server's
//! resident memory (VmRSS) and CPU time from /proc as the scans go by. Flat memory over the
//! scans is the goal: a server that runs for months must not grow with every run.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_serve            # 1,000 scans (~18 min)
//! cargo run --release --example bench_serve -- --scans 100
//! ```

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use tenant_ready::lab::{Behaviour, DnsServer, Zones, ready_zone};

fn proc_field(pid: u32, field: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of the process, in seconds.
fn cpu(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(") ")?.1;
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut t = String::new();
    s.read_to_string(&mut t).ok()?;
    Some(t)
}

fn scans(metrics: &str) -> Option<u64> {
    let line = metrics
        .lines()
        .find(|l| l.starts_with("tenant_ready_scans_total"))?;
    line.rsplit(' ').next()?.trim().parse().ok()
}

async fn run(n: u64, bin: &std::path::Path) -> Result<(), String> {
    let mut z = Zones::default();
    for d in ["contoso.test", "fabrikam.test"] {
        z.add_zone(d, &ready_zone(d)).map_err(|e| e.to_string())?;
    }
    let dns = DnsServer::start(
        "127.0.0.1:0".parse().map_err(|_| "addr")?,
        z,
        Behaviour::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = tmp.path().join("tenant.toml");
    std::fs::write(
        &cfg,
        "[[domain]]\nname = \"contoso.test\"\nservices = [\"exchange\", \"teams\", \"intune\"]\n[[domain]]\nname = \"fabrikam.test\"\nservices = [\"exchange\"]\n",
    )
    .map_err(|e| e.to_string())?;
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "1s",
            "--only",
            "dns.*",
        ])
        .args(["--max-scans", &n.to_string()])
        .arg("--config")
        .arg(&cfg)
        .args(["--nameserver", &dns.addr().to_string()])
        .args(["--authoritative-port", &dns.addr().port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let stderr = child.stderr.take().ok_or("stderr")?;
    let addr: SocketAddr = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let line = lines.find_map(|l| l.ok().filter(|l| l.starts_with("serving on http://")));
        std::thread::spawn(move || for _ in lines {});
        line.and_then(|l| {
            l["serving on http://".len()..]
                .split(' ')
                .next()
                .and_then(|a| a.parse().ok())
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .ok_or("serve did not say where it listens")?;
    let rest = proc_field(pid, "VmRSS:").unwrap_or(0.0) / 1024.0;
    println!("at rest, before the first scan: {rest:.1} MB");
    println!(
        "{:>6}  {:>9}  {:>9}  {:>8}",
        "scans", "RSS MB", "peak MB", "CPU s"
    );
    let start = Instant::now();
    let mut next_report = 1u64;
    let mut last = 0u64;
    let mut rss_at: Vec<(u64, f64)> = Vec::new();
    let mut cpu_s = 0.0;
    while let Some(text) = scrape(addr) {
        let done = scans(&text).unwrap_or(0);
        let rss = proc_field(pid, "VmRSS:").unwrap_or(0.0) / 1024.0;
        let hwm = proc_field(pid, "VmHWM:").unwrap_or(0.0) / 1024.0;
        cpu_s = cpu(pid).unwrap_or(cpu_s);
        if done >= next_report {
            println!("{done:>6}  {rss:>9.1}  {hwm:>9.1}  {cpu_s:>8.2}");
            next_report = (next_report * 10).min(n).max(next_report + 1);
            if done >= 100 {
                next_report = done - done % 100 + 100;
            }
        }
        rss_at.push((done, rss));
        last = done;
        if done >= n {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = child.wait();
    let secs = start.elapsed().as_secs_f64();
    if let (Some(first), Some(end)) = (rss_at.iter().find(|(s, _)| *s >= 10), rss_at.last()) {
        println!(
            "{last} scans in {secs:.0} s; CPU {cpu_s:.2} s ({:.1} ms a scan); RSS after {} scans {:.1} MB, after {} {:.1} MB",
            cpu_s * 1000.0 / last.max(1) as f64,
            first.0,
            first.1,
            end.0,
            end.1
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let n = args
        .iter()
        .position(|a| a == "--scans")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000u64);
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/tenant-ready");
    if !bin.exists() {
        eprintln!("error: build the release binary first: cargo build --release");
        return ExitCode::from(2);
    }
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        return ExitCode::from(2);
    };
    match rt.block_on(run(n, &bin)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

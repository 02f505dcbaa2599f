//! Benchmark (issue 29): what a user runs at 1,000, 10,000 and 100,000 domains. The release
//! binary scans N generated ready domains (DNS pack, from a tenant.toml) against knotd serving
//! one zone per domain on loopback, end to end with the report written: the JSON report (up to
//! 10,000 domains: it keeps every result until the end, by design) and the NDJSON stream; then
//! `report render` turns the NDJSON into HTML. Beside the scans, dnsperf sends the queries the
//! scan sends (captured by `bench_dns --log`, the same probes in-process) to the same server.
//! Each row: wall time, CPU (user + system), peak RSS (GNU time's), and queries per second.
//!
//! ```text
//! apt-get install -y knot dnsperf time
//! cargo build --release --bin tenant-ready --example bench_dns
//! cargo run --release --example bench_scale                       # 1k, 10k, 100k
//! cargo run --release --example bench_scale -- --sizes 1000,20000
//! ```
//!
//! knotd is `bench_dns --hold` (its zones, its readiness wait); it is started once per size, so
//! every scan of that size meets the same warm server (the query capture runs first and warms
//! it).

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::io::{BufRead as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};

#[path = "support/dnsperf.rs"]
mod dnsperf;

/// What GNU time reports of one child: wall seconds, CPU seconds, peak RSS in MB.
struct Measured {
    wall: f64,
    cpu: f64,
    rss_mb: f64,
}

fn release(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/release")
        .join(name)
}

/// Runs `cmd` under `/usr/bin/time`, its output to /dev/null; an error if it fails.
fn timed(program: &Path, args: &[String], what: &str) -> Result<Measured, String> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "TIME %e %U %S %M"])
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{what}: /usr/bin/time: {e} (apt-get install time)"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("TIME "))
        .ok_or_else(|| format!("{what}: no timing:\n{err}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // The scan exits 0 (ready); anything else means the scan did not do what is measured.
    if !out.status.success() {
        return Err(format!("{what} failed ({}):\n{err}", out.status));
    }
    Ok(Measured {
        wall: f[0],
        cpu: f[1] + f[2],
        rss_mb: f[3] / 1024.0,
    })
}

/// `bench_dns --hold`: knotd with the N zones, until dropped.
struct Knot {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
}

impl Knot {
    fn start(n: usize) -> Result<Self, String> {
        let mut child = Command::new(release("examples/bench_dns"))
            .args(["--n", &n.to_string(), "--hold"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("bench_dns: {e} (cargo build --release --example bench_dns)"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("bench_dns: no stdout")?;
        let mut addr = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(rest) = line.strip_prefix("serving on ") {
                addr = rest.split(';').next().and_then(|a| a.parse().ok());
                break;
            }
        }
        let addr = addr.ok_or("bench_dns --hold did not start knotd")?;
        Ok(Self { child, stdin, addr })
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"\n");
        }
        let _ = self.child.wait();
    }
}

fn sizes() -> Vec<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || vec![1_000, 10_000, 100_000],
            |v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_scale: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let bin = release("tenant-ready");
    if !bin.is_file() || !release("examples/bench_dns").is_file() {
        return Err(
            "build first: cargo build --release --bin tenant-ready --example bench_dns".into(),
        );
    }
    println!(
        "| domains | run | wall | CPU | peak RSS | queries | queries/s | ÷ dnsperf | wall per 1,000 domains |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes() {
        let knot = Knot::start(n)?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let config = dir.path().join("tenant.toml");
        let mut toml = String::with_capacity(n * 40);
        for i in 0..n {
            toml.push_str(&format!("[[domain]]\nname = \"d{i}.bench.test\"\n"));
        }
        std::fs::write(&config, toml).map_err(|e| e.to_string())?;
        // The queries the scan sends, as a dnsperf input (and a warm server).
        let log = dir.path().join("queries.txt");
        let out = Command::new(release("examples/bench_dns"))
            .args(["--n", &n.to_string(), "--server", &knot.addr.to_string()])
            .arg("--log")
            .arg(&log)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "query capture failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let queries = std::fs::read_to_string(&log)
            .map_err(|e| e.to_string())?
            .lines()
            .count();
        let (completed, secs) = dnsperf::dnsperf(knot.addr, &log)?;
        let peer = |m: &Measured| m.wall / secs;
        let row = |what: &str, m: &Measured, ratio: Option<f64>| {
            println!(
                "| {n} | {what} | {:.2} s | {:.2} s | {:.0} MB | {queries} | {:.0} | {} | {:.2} s |",
                m.wall,
                m.cpu,
                m.rss_mb,
                queries as f64 / m.wall,
                ratio.map_or(String::new(), |r| format!("{r:.2}")),
                m.wall * 1000.0 / n as f64
            );
        };
        println!(
            "| {n} | dnsperf (-n 1 {}) | {secs:.2} s | | | {completed} | {:.0} | 1.00 | |",
            dnsperf::DNSPERF_FLAGS.join(" "),
            completed as f64 / secs
        );
        let scan = |format: &str, out: &Path| -> Vec<String> {
            let mut a: Vec<String> = [
                "scan",
                "--no-progress",
                "--only",
                "dns.*",
                "--config",
                &config.display().to_string(),
                "--nameserver",
                &knot.addr.to_string(),
                "--authoritative-port",
                &knot.addr.port().to_string(),
                "--format",
                format,
                "--output",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            a.push(out.display().to_string());
            a
        };
        if n <= 10_000 {
            let json = dir.path().join("report.json");
            let m = timed(&bin, &scan("json", &json), "the JSON scan")?;
            row("scan, JSON report", &m, Some(peer(&m)));
        }
        let nd = dir.path().join("report.ndjson");
        let m = timed(&bin, &scan("ndjson", &nd), "the NDJSON scan")?;
        row("scan, NDJSON", &m, Some(peer(&m)));
        let html = dir.path().join("report.html");
        let render: Vec<String> = vec![
            "report".into(),
            "render".into(),
            "--format".into(),
            "html".into(),
            "--output".into(),
            html.display().to_string(),
            nd.display().to_string(),
        ];
        let m = timed(&bin, &render, "report render")?;
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len()) / 1_000_000;
        println!(
            "| {n} | render NDJSON ({} MB) → HTML ({} MB) | {:.2} s | {:.2} s | {:.0} MB | | | | |",
            size(&nd),
            size(&html),
            m.wall,
            m.cpu,
            m.rss_mb
        );
        drop(knot);
    }
    Ok(())
}

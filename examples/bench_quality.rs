//! Benchmark: `quality.bandwidth` accuracy on a real shaped link, against iperf3 on the same link,
//! and its ceiling on loopback.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_quality    # as root; ip, tc, nft; iperf3 optional
//! ```
//!
//! 1. A namespace and veth (the lab's `Netns`), HTB at 20 and then 100 Mbit/s in both directions,
//!    an unpaced throughput server on the host end, the scanner inside the namespace; then
//!    `iperf3 -c` (upload) and `iperf3 -c -R` (download) over the same link.
//! 2. Loopback, no shaping: how fast the estimator can count (is the scanner's CPU the limit?).
//!    Wall and CPU time of the scanner from `/usr/bin/time -v`.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use tenant_ready::lab::netns::{self, Netns};
use tenant_ready::lab::tls_server::{LabServer, Mode};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_quality: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Measured {
    down: f64,
    up: f64,
    wall_s: f64,
    cpu_s: f64,
    rss_mb: f64,
}

/// Runs `scanner scan --only quality.bandwidth` (optionally inside `ns`) against `url`.
fn scan(scanner: &Path, ns: Option<&Netns>, url: &str, dir: &Path) -> Result<Measured, String> {
    let cfg = dir.join("bw.toml");
    std::fs::write(
        &cfg,
        format!("[tenant]\nusers = 10\n[[domain]]\nname = \"bw.test\"\n[network]\nbandwidth_url = \"{url}\"\n"),
    )
    .map_err(|e| e.to_string())?;
    let report = dir.join("bw.json");
    let mut cmd = match ns {
        Some(ns) => ns.command("/usr/bin/time"),
        None => Command::new("/usr/bin/time"),
    };
    let started = Instant::now();
    let out = cmd
        .arg("-v")
        .arg(scanner)
        .args([
            "scan",
            "--only",
            "quality.bandwidth",
            "--no-progress",
            "--nameserver",
            "127.0.0.1:9",
            "--config",
        ])
        .arg(&cfg)
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .output()
        .map_err(|e| e.to_string())?;
    let wall_s = started.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| -> f64 {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&report).map_err(|e| format!("no report ({e}): {err}"))?,
    )
    .map_err(|e| e.to_string())?;
    let r = &json["results"][0]["evidence"];
    Ok(Measured {
        down: r["download"]["mbps"].as_f64().unwrap_or(0.0),
        up: r["upload"]["mbps"].as_f64().unwrap_or(0.0),
        wall_s,
        cpu_s: field("User time (seconds):") + field("System time (seconds):"),
        rss_mb: field("Maximum resident set size (kbytes):") / 1024.0,
    })
}

/// iperf3 client (inside `ns`) against a one-shot server on `host`; Mbit/s received.
fn iperf3(ns: &Netns, host: &str, reverse: bool) -> Result<f64, String> {
    let port = "5299";
    let mut server = Command::new("iperf3")
        .args(["-s", "-1", "-B", host, "-p", port])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("iperf3 -s: {e}"))?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut c = ns.command("iperf3");
    c.args(["-c", host, "-p", port, "-t", "5", "-J"]);
    if reverse {
        c.arg("-R");
    }
    let out = c.output().map_err(|e| e.to_string());
    let _ = server.kill();
    let _ = server.wait();
    let out = out?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("iperf3 JSON: {e}"))?;
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .map(|b| b / 1e6)
        .ok_or_else(|| format!("iperf3: {}", String::from_utf8_lossy(&out.stdout)))
}

fn run() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let scanner = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("tenant-ready"))
        .filter(|p| p.exists())
        .ok_or("build the scanner first: cargo build --release")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let unpaced = || Mode::Throughput {
        rate_bps: 0,
        pacer: std::sync::Arc::new(std::sync::Mutex::new(tokio::time::Instant::now())),
    };
    if netns::available() {
        let ns = Netns::create("qb", 249)?;
        let host = ns.host_ip.clone();
        let server = rt
            .block_on(LabServer::start(
                format!("{host}:0").parse().map_err(|_| "addr")?,
                unpaced(),
            ))
            .map_err(|e| e.to_string())?;
        let url = format!("http://{host}:{}/blob", server.addr().port());
        let have_iperf = Command::new("iperf3").arg("--version").output().is_ok();
        for mbit in [20_u32, 100] {
            ns.shape(mbit)?;
            let m = scan(&scanner, Some(&ns), &url, dir.path())?;
            let rate = f64::from(mbit);
            println!(
                "HTB {mbit:>3} Mbit/s  tenant-ready: down {:.2} ({:.1} % of rate), up {:.2} ({:.1} %), {:.1} s wall, {:.2} s CPU, {:.1} MB",
                m.down,
                m.down * 100.0 / rate,
                m.up,
                m.up * 100.0 / rate,
                m.wall_s,
                m.cpu_s,
                m.rss_mb
            );
            if have_iperf {
                let (id, iu) = (iperf3(&ns, &host, true)?, iperf3(&ns, &host, false)?);
                println!(
                    "HTB {mbit:>3} Mbit/s  iperf3:       down {id:.2}, up {iu:.2}  → tenant-ready / iperf3: down {:.3}, up {:.3}",
                    m.down / id,
                    m.up / iu
                );
            }
        }
        drop(server);
    } else {
        println!("not root or no ip/tc/nft: the shaped-link part is skipped");
    }
    let server = rt
        .block_on(LabServer::start(
            "127.0.0.1:0".parse().map_err(|_| "addr")?,
            unpaced(),
        ))
        .map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{}/blob", server.addr().port());
    let m = scan(&scanner, None, &url, dir.path())?;
    println!(
        "loopback, unshaped  tenant-ready: down {:.0} Mbit/s, up {:.0} Mbit/s, {:.1} s wall, {:.2} s CPU ({:.0} % of one core), {:.1} MB",
        m.down,
        m.up,
        m.wall_s,
        m.cpu_s,
        m.cpu_s * 100.0 / m.wall_s,
        m.rss_mb
    );
    Ok(())
}

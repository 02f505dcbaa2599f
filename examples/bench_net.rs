//! Benchmark: 1,000 TCP probes (`net.endpoints`) where half the ports are filtered, with the
//! check's 2 s probe timeout, from inside a network namespace behind a real nftables firewall —
//! then `nmap -sT` on the same ports from the same namespace, state by state.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_net      # as root; needs ip, nft, nmap
//! ```
//!
//! Layout: the scanner runs in namespace `trbench<pid>`; the targets are on the host end of the
//! veth (10.213.250.1): 250 listening ports (open), 250 released ports (closed: RST), and ports
//! 20000-20499 whose answers the namespace's input chain drops (filtered: silence). 63 endpoint
//! sets of up to 16 ports each. Wall time and peak RSS of the scanner come from `/usr/bin/time -v`.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use tenant_ready::lab::netns::{self, Netns};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_net: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    if !netns::available() {
        return Err("needs root, iproute2 and nftables".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/release/examples/bench_net → target/release/tenant-ready
    let scanner = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("tenant-ready"))
        .filter(|p| p.exists())
        .ok_or("build the scanner first: cargo build --release")?;
    let ns = Netns::create("bench", 250)?;
    let host = ns.host_ip.clone();
    let mut listeners = Vec::new();
    let mut open = Vec::new();
    for _ in 0..250 {
        let l = std::net::TcpListener::bind((host.as_str(), 0)).map_err(|e| e.to_string())?;
        open.push(l.local_addr().map_err(|e| e.to_string())?.port());
        listeners.push(l);
    }
    // Held until all 250 are chosen, so the kernel cannot hand out the same port twice.
    let mut closed = Vec::new();
    let mut held = Vec::new();
    for _ in 0..250 {
        let l = std::net::TcpListener::bind((host.as_str(), 0)).map_err(|e| e.to_string())?;
        closed.push(l.local_addr().map_err(|e| e.to_string())?.port());
        held.push(l);
    }
    drop(held);
    let filtered: Vec<u16> = (20000..20500).collect();
    ns.nft("add table inet trbench")?;
    ns.nft("add chain inet trbench in { type filter hook input priority 0; policy accept; }")?;
    ns.nft(&format!(
        "add rule inet trbench in ip saddr {host} tcp sport 20000-20499 drop"
    ))?;
    let mut want: BTreeMap<u16, &str> = BTreeMap::new();
    for p in &open {
        want.insert(*p, "open");
    }
    for p in &closed {
        want.insert(*p, "closed");
    }
    for p in &filtered {
        want.insert(*p, "filtered");
    }
    // 63 sets of up to 16 ports (the check tests at most 16 per set), in port order: the first
    // sets are all filtered ports, the rest open and closed ones. A set that only meets silence
    // learns the host's round trip from the others' replies (learnt per address, scan-wide).
    let ports: Vec<u16> = want.keys().copied().collect();
    let sets: Vec<String> = ports
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let list: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            format!(
                r#"{{"id":{},"serviceArea":"Common","urls":["{host}"],"tcpPorts":"{}","category":"Optimize","required":true}}"#,
                i + 1,
                list.join(",")
            )
        })
        .collect();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let endpoints = dir.path().join("endpoints.json");
    std::fs::write(&endpoints, format!("[{}]", sets.join(",\n"))).map_err(|e| e.to_string())?;
    let report = dir.path().join("report.json");
    let started = Instant::now();
    let out = ns
        .command("/usr/bin/time")
        .arg("-v")
        .arg(&scanner)
        .args([
            "scan",
            "bench.test",
            "--only",
            "net.endpoints",
            "--no-progress",
            "--timeout",
            "5s",
        ])
        .args(["--nameserver", &format!("{host}:53")])
        .arg("--endpoints")
        .arg(&endpoints)
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .output()
        .map_err(|e| e.to_string())?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss_mb = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&report).map_err(|e| format!("no report: {e}; {stderr}"))?,
    )
    .map_err(|e| e.to_string())?;
    let mut ours: BTreeMap<u16, String> = BTreeMap::new();
    for r in json["results"].as_array().ok_or("no results")? {
        for p in r["evidence"]["probes"].as_array().into_iter().flatten() {
            let port = p["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or("port")?;
            ours.insert(port, p["state"].as_str().unwrap_or("?").to_owned());
        }
    }
    let count = |m: &BTreeMap<u16, String>, s: &str| m.values().filter(|v| *v == s).count();
    println!(
        "tenant-ready: {} probes in {:.0} ms wall (probe timeout 2000 ms), peak RSS {rss_mb:.1} MB: {} open, {} closed, {} filtered",
        ours.len(),
        wall.as_secs_f64() * 1000.0,
        count(&ours, "open"),
        count(&ours, "closed"),
        count(&ours, "filtered")
    );
    let expected_ok = want
        .iter()
        .filter(|(p, s)| ours.get(p).map(String::as_str) == Some(**s))
        .count();
    println!(
        "tenant-ready vs the firewall's truth: {expected_ok}/{} ports agree",
        want.len()
    );
    if Command::new("nmap").arg("--version").output().is_ok() {
        let started = Instant::now();
        let nmap = ns.nmap_tcp(&host, &ports)?;
        let nwall = started.elapsed();
        let agree = ports.iter().filter(|p| nmap.get(p) == ours.get(p)).count();
        println!(
            "nmap -sT: {:.0} ms wall: {} open, {} closed, {} filtered; agrees with tenant-ready on {agree}/{} ports",
            nwall.as_secs_f64() * 1000.0,
            count(&nmap, "open"),
            count(&nmap, "closed"),
            count(&nmap, "filtered"),
            ports.len()
        );
    } else {
        println!("nmap not installed: no comparison");
    }
    drop(listeners);
    Ok(())
}

use std::process::Command;

//! Benchmark: the tenant checks that page through the users (`entra.licences`,
//! `entra.directory-sync`) end to end on the release binary, against the Entra ID stand-in
//! serving N generated users (999 a page, as Graph's `$top` allows), with the JSON report
//! written, beside `curl` fetching the same pages over one connection (the transport's floor).
//!
//! ```text
//! cargo build --release && cargo run --release --example bench_graph               # 1k, 10k, 100k
//! cargo run --release --example bench_graph -- --sizes 1000,50000
//! ```
//!
//! Printed per size: the scan's wall time, CPU (user + system) and peak RSS (GNU time), users per
//! second, pages asked for; curl's wall time for the same pages and the ratio. Needs GNU time
//! (`/usr/bin/time`) and curl.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::process::{Command, ExitCode};
use std::time::Instant;

use tenant_ready::lab::entra::{
    Directory, EntraStandIn, LAB_CLIENT_ID, LAB_CLIENT_SECRET, LAB_TENANT_ID, LabUsers,
    TenantFacts, healthy_skus, lab_directory,
};
use tenant_ready::lab::{Behaviour, DnsServer, Zones};

struct Figures {
    wall: f64,
    cpu: f64,
    rss_mb: f64,
}

/// `/usr/bin/time -f "%e %U %S %M"`'s last line.
fn figures(stderr: &str) -> Option<Figures> {
    let line = stderr.lines().rev().find(|l| l.split(' ').count() == 4)?;
    let v: Vec<f64> = line.split(' ').filter_map(|x| x.parse().ok()).collect();
    (v.len() == 4).then(|| Figures {
        wall: v[0],
        cpu: v[1] + v[2],
        rss_mb: v[3] / 1024.0,
    })
}

async fn one(n: usize, bin: &std::path::Path) -> Result<(), String> {
    let dir = Directory {
        facts: TenantFacts {
            skus: healthy_skus(n as u64, n as u64),
            users: LabUsers {
                without_location: 1,
                with_errors: vec![n - 1],
                ..LabUsers::clean(n)
            },
            ..TenantFacts::default()
        },
        ..lab_directory()
    };
    let log = dir.log.clone();
    let hosts = [dir.login_host.clone(), dir.graph_host.clone()];
    let standin = EntraStandIn::start(dir).await.map_err(|e| e.to_string())?;
    let mut zones = Zones::default();
    for h in &hosts {
        let (origin, zone) = standin.zone(h);
        zones.add_zone(&origin, &zone).map_err(|e| e.to_string())?;
    }
    let dns = DnsServer::start(
        "127.0.0.1:0".parse().map_err(|_| "addr")?,
        zones,
        Behaviour::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ca = tmp.path().join("ca.pem");
    let cfg = tmp.path().join("tenant.toml");
    let report = tmp.path().join("report.json");
    std::fs::write(&ca, &standin.ca_pem).map_err(|e| e.to_string())?;
    std::fs::write(
        &cfg,
        format!("[tenant]\ninitial_domain = \"contoso.onmicrosoft.com\"\nusers = {n}\n[[domain]]\nname = \"contoso.test\"\nservices = [\"exchange\"]\n"),
    )
    .map_err(|e| e.to_string())?;
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%e %U %S %M"])
        .arg(bin)
        .args(["scan", "--graph", "--no-progress", "--format", "json"])
        .args(["--only", "entra.licences", "--only", "entra.directory-sync"])
        .arg("--config")
        .arg(&cfg)
        .arg("--ca-file")
        .arg(&ca)
        .args(["--nameserver", &dns.addr().to_string()])
        .args(["--timeout", "120s"])
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .env("AZURE_TENANT_ID", LAB_TENANT_ID)
        .env("AZURE_CLIENT_ID", LAB_CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", LAB_CLIENT_SECRET)
        .stdout(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("/usr/bin/time: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let f = figures(&stderr).ok_or_else(|| format!("no figures from GNU time: {stderr}"))?;
    let text = std::fs::read_to_string(&report).map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let licensed = json["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["check"] == "entra.licences"))
        .map(|r| r["evidence"]["licensed"].clone());
    if licensed != Some(serde_json::json!(n)) {
        return Err(format!("{n} users: the report counted {licensed:?}"));
    }
    let pages: Vec<String> = log
        .lock()
        .map_err(|_| "log")?
        .iter()
        .filter(|l| l.contains("/v1.0/users"))
        .map(|l| l.trim_start_matches("GET ").to_owned())
        .collect();
    // The peer: curl asking for the same pages, one connection, bodies discarded.
    let mut curl = Command::new("curl");
    curl.args(["-s", "--cacert"]).arg(&ca).args([
        "--resolve",
        &format!("graph.microsoft.com:443:{}", standin.ip()),
    ]);
    for p in &pages {
        curl.args(["-o", "/dev/null"])
            .arg(format!("https://graph.microsoft.com{p}"));
    }
    let t = Instant::now();
    let status = tokio::task::spawn_blocking(move || curl.status())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("curl: {e}"))?;
    let curl_s = t.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("curl failed: {status}"));
    }
    println!(
        "{n:>7} users  {:>3} pages  scan {:>6.2} s wall {:>6.2} s CPU {:>6.1} MB peak RSS {:>9.0} users/s  |  curl {:>6.2} s  ratio {:>5.2}",
        pages.len(),
        f.wall,
        f.cpu,
        f.rss_mb,
        n as f64 / f.wall,
        curl_s,
        f.wall / curl_s
    );
    Ok(())
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || vec![1_000, 10_000, 100_000],
            |s| s.split(',').filter_map(|x| x.parse().ok()).collect(),
        );
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/tenant-ready");
    if !bin.exists() {
        eprintln!("error: build the release binary first: cargo build --release");
        return ExitCode::from(2);
    }
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        return ExitCode::from(2);
    };
    for n in sizes.into_iter().filter(|&n| n > 0) {
        if let Err(e) = rt.block_on(one(n, &bin)) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

//! Benchmark: the directory checks end to end against a real Active Directory (the lab's Samba
//! DC), at several directory sizes, beside `ldapsearch` reading the same objects with the same
//! paged search. Each size gets its own OU of N users seeded with a known number of each defect
//! (asserted against the report), then the release binary scans it with the JSON report and the
//! directory CSV written, as a user runs it.
//!
//! ```text
//! cargo run --release --example bench_directory                     # N = 2,000 and 20,000
//! cargo run --release --example bench_directory -- --sizes 1000,5000
//! ```
//!
//! Printed per size: seeding time (LDAP adds, not part of the figure), the scan's wall time, CPU
//! (user + system), peak RSS and objects per second; the DC's CPU during the scan; `ldapsearch`'s
//! wall time for the same search and the ratio. Root only (the DC runs in its own namespace);
//! needs Samba and ldap-utils (`ldapsearch`) and GNU time (`/usr/bin/time`).

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark reports its figures on stdout"
)]

use std::collections::HashSet;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use futures::StreamExt as _;
use tenant_ready::lab::samba::{ADMIN, ADMIN_PASSWORD, SambaDc};

/// Defects seeded per N users: every 100th a `.local` UPN, every 50th pair one proxy address,
/// every 200th a space in its alias.
fn expected(n: usize) -> (u64, u64, u64) {
    let n = n as u64;
    (n / 100, (n / 50) * 2, n / 200)
}

async fn seed(dc: &SambaDc, n: usize) -> Result<String, String> {
    let mut ldap = dc.admin().await?;
    let ou = dc.add_ou(&mut ldap, &format!("bench{n}")).await?;
    let adds = futures::stream::iter(0..n)
        .map(|i| {
            let mut l = ldap.clone();
            let ou = ou.clone();
            async move {
                let name = format!("b{n}u{i}");
                let suffix = if i % 100 == 0 {
                    "contoso.local"
                } else {
                    "contoso.test"
                };
                // Users 50k and 50k+1 share an address.
                let pair = (i % 50 == 0 && i + 1 < n) || i % 50 == 1;
                let proxy = if pair {
                    format!("smtp:shared{n}-{}@contoso.test", i / 50)
                } else {
                    format!("smtp:{name}.alias@contoso.test")
                };
                let nick = if i % 200 == 3 {
                    format!("{name} x")
                } else {
                    name.clone()
                };
                let upn = format!("{name}@{suffix}");
                let primary = format!("SMTP:{name}@contoso.test");
                let attrs: Vec<(&str, HashSet<&str>)> = vec![
                    (
                        "objectClass",
                        HashSet::from(["top", "person", "organizationalPerson", "user"]),
                    ),
                    ("sAMAccountName", HashSet::from([name.as_str()])),
                    ("userPrincipalName", HashSet::from([upn.as_str()])),
                    ("mailNickname", HashSet::from([nick.as_str()])),
                    (
                        "proxyAddresses",
                        HashSet::from([primary.as_str(), proxy.as_str()]),
                    ),
                ];
                l.add(&format!("CN={name},{ou}"), attrs)
                    .await
                    .and_then(ldap3::LdapResult::success)
                    .map(|_| ())
                    .map_err(|e| format!("add {name}: {e}"))
            }
        })
        .buffer_unordered(16);
    let results: Vec<Result<(), String>> = adds.collect().await;
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    let _ = ldap.unbind().await;
    Ok(ou)
}

/// Runs `cmd` under GNU time: (wall s, user+sys s, peak RSS MB).
fn timed(cmd: &mut Command) -> Result<(f64, f64, f64), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with("TIME "))
        .ok_or_else(|| format!("no timing from {cmd:?}: {err}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    match f.as_slice() {
        [wall, user, sys, kb] => Ok((*wall, user + sys, kb / 1024.0)),
        _ => Err(format!("bad timing line: {line}")),
    }
}

fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    (fields.get(10).unwrap_or(&0.0) + fields.get(11).unwrap_or(&0.0)) / 100.0
}

fn count(report: &serde_json::Value, check: &str, rule: &str) -> u64 {
    report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["check"] == check)
        .and_then(|r| r["evidence"]["rules"].as_array())
        .into_iter()
        .flatten()
        .find(|x| x["id"] == rule)
        .and_then(|x| x["count"].as_u64())
        .unwrap_or(u64::MAX)
}

async fn run() -> Result<(), String> {
    let sizes: Vec<usize> = std::env::args()
        .skip_while(|a| a != "--sizes")
        .nth(1)
        .unwrap_or_else(|| "2000,20000".into())
        .split(',')
        .map(|s| s.parse().map_err(|_| format!("--sizes: `{s}`")))
        .collect::<Result<_, _>>()?;
    let bin = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("tenant-ready"))
        .ok_or("no target directory")?;
    if !bin.exists() {
        return Err(format!(
            "{} is missing: cargo build --release first",
            bin.display()
        ));
    }
    let dc = SambaDc::start().await?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!(
        "directory checks, release binary end to end (JSON report and directory CSV written), Samba DC at {}",
        dc.ldaps_url
    );
    println!(
        "| users | seed | scan wall | scan CPU | peak RSS | objects/s | DC CPU | ldapsearch wall | scan ÷ ldapsearch |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let t = Instant::now();
        let ou = seed(&dc, n).await?;
        let seeding = t.elapsed().as_secs_f64();
        let config = dir.path().join(format!("tenant{n}.toml"));
        std::fs::write(
            &config,
            format!("[[domain]]\nname = \"contoso.test\"\n\n[directory]\nurl = \"{}\"\nbase_dn = \"{ou}\"\nuser = \"{ADMIN}\"\n", dc.ldaps_url),
        )
        .map_err(|e| e.to_string())?;
        let json = dir.path().join(format!("r{n}.json"));
        let csv = dir.path().join(format!("d{n}.csv"));
        let dc_cpu = cpu_s(dc.pid());
        let (wall, cpu, rss) = timed(
            Command::new("/usr/bin/time")
                .args(["-f", "TIME %e %U %S %M"])
                .arg(&bin)
                .args(["scan", "--config"])
                .arg(&config)
                .args([
                    "--only",
                    "directory.*",
                    "--nameserver",
                    "127.0.0.1:9",
                    "--timeout",
                    "15m",
                    "--no-progress",
                    "--format",
                    "json",
                    "--output",
                ])
                .arg(&json)
                .arg("--report")
                .arg(format!("directory-csv={}", csv.display()))
                .arg("--ca-file")
                .arg(&dc.ca_file)
                .env("TENANT_READY_LDAP_PASSWORD", ADMIN_PASSWORD)
                .stdout(Stdio::null()),
        )?;
        let dc_cpu = cpu_s(dc.pid()) - dc_cpu;
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        let (local, shared, spaces) = expected(n);
        let got = (
            count(&report, "directory.upn", "upn-non-routable"),
            count(&report, "directory.proxy-addresses", "proxy-duplicate"),
            count(&report, "directory.mail", "mailnickname-characters"),
        );
        if got != (local, shared, spaces) {
            return Err(format!(
                "{n} users: counts {got:?}, seeded {:?}",
                (local, shared, spaces)
            ));
        }
        let (peer, _, _) = timed(
            Command::new("/usr/bin/time")
                .args(["-f", "TIME %e %U %S %M", "ldapsearch", "-LLL", "-x", "-H", &dc.ldaps_url, "-D", ADMIN, "-w", ADMIN_PASSWORD, "-b", &ou, "-E", "pr=500/noprompt"])
                .arg("(|(&(objectClass=user)(!(objectClass=computer)))(objectClass=contact)(objectClass=group))")
                .args(["objectClass", "cn", "sAMAccountName", "userPrincipalName", "isCriticalSystemObject", "proxyAddresses", "mail", "mailNickname", "targetAddress"])
                .env("LDAPTLS_CACERT", &dc.ca_file)
                .stdout(Stdio::null()),
        )?;
        println!(
            "| {n} | {seeding:.1} s | {wall:.2} s | {cpu:.2} s | {rss:.0} MB | {:.0} | {dc_cpu:.2} s | {peer:.2} s | {:.2} |",
            n as f64 / wall.max(0.001),
            wall / peer.max(0.001)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

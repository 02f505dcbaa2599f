//! `--shard K/N` and `report merge` of shards: the shards' union is the whole scan (same
//! results, same verdict), a domain's shard follows from its name alone, and bad specs or an
//! incomplete set of shards are refused in one line.

use std::path::Path;

use assert_cmd::Command;
use tenant_ready::lab::Behaviour;

use crate::support::{ready_zone, server, zones};

const DOMAINS: usize = 9;

fn name(i: usize) -> String {
    format!("d{i}.test")
}

/// Every third domain's MX points elsewhere: some shards fail, some pass.
fn zone(i: usize) -> String {
    let d = name(i);
    let z = ready_zone(&d);
    if i.is_multiple_of(3) {
        let dashed = d.replace('.', "-");
        z.replace(
            &format!("@ IN MX 0 {dashed}.mail.protection.outlook.com."),
            &format!("@ IN MX 10 mail.{d}.\nmail IN A 127.0.0.1"),
        )
    } else {
        z
    }
}

fn config(dir: &Path, order: impl Iterator<Item = usize>) -> std::path::PathBuf {
    let entries: String = order
        .map(|i| {
            format!(
                "[[domain]]\nname = \"{}\"\nservices = [\"exchange\"]\n",
                name(i)
            )
        })
        .collect();
    let p = dir.join(format!("tenant-{}.toml", rand_suffix()));
    std::fs::write(
        &p,
        format!("[tenant]\ninitial_domain = \"contoso.onmicrosoft.com\"\n{entries}"),
    )
    .unwrap();
    p
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn scan(dns: std::net::SocketAddr, cfg: &Path, out: &Path, extra: &[&str]) -> i32 {
    let o = Command::cargo_bin("tenant-ready")
        .unwrap()
        .args(["scan", "--no-progress", "--format", "json"])
        .arg("--config")
        .arg(cfg)
        .args(["--nameserver", &dns.to_string()])
        .args(["--authoritative-port", &dns.port().to_string()])
        // Two DNS checks per domain and one check of the tenant (skipped without --graph):
        // the shared one must come from shard 1 alone.
        .args([
            "--only",
            "dns.mx",
            "--only",
            "dns.spf",
            "--only",
            "entra.admins",
        ])
        .arg("--output")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.status.code().unwrap_or(-1)
}

fn load(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// (check, subject, status, message), sorted: what "the same results" means.
fn rows(r: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let s = |k: &str| x[k].as_str().unwrap_or_default().to_owned();
            (s("check"), s("subject"), s("status"), s("message"))
        })
        .collect();
    v.sort();
    v
}

fn roll_up(r: &serde_json::Value) -> Vec<(String, String)> {
    r["responsibilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap_or_default().to_owned(),
                x["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_merge_into_the_report_one_machine_writes() {
    let texts: Vec<(String, String)> = (0..DOMAINS).map(|i| (name(i), zone(i))).collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let srv = server(zones(&refs), Behaviour::default()).await;
    let dns = srv.addr();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let cfg = config(&dir, 0..DOMAINS);
        let whole = dir.join("whole.json");
        let code = scan(dns, &cfg, &whole, &[]);
        let mut parts = Vec::new();
        let mut seen = Vec::new();
        for k in 1..=3 {
            let p = dir.join(format!("shard{k}.json"));
            let c = scan(dns, &cfg, &p, &["--shard", &format!("{k}/3")]);
            let r = load(&p);
            assert_eq!(r["run"]["shard"], format!("{k}/3"));
            let domains: Vec<String> = r["tenant"]["domains"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_owned())
                .collect();
            // The tenant's check only in shard 1.
            let tenant_rows = r["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["check"] == "entra.admins")
                .count();
            assert_eq!(tenant_rows, usize::from(k == 1), "shard {k}");
            // A shard's exit code follows its own results.
            let fails = r["summary"]["fail"].as_u64().unwrap();
            let errors = r["summary"]["error"].as_u64().unwrap();
            let want = if fails > 0 {
                1
            } else if errors > 0 {
                3
            } else {
                0
            };
            assert_eq!(c, want, "shard {k}: {}", r["summary"]);
            seen.extend(domains);
            parts.push(p);
        }
        seen.sort();
        let mut all: Vec<String> = (0..DOMAINS).map(name).collect();
        all.sort();
        assert_eq!(seen, all, "every domain in exactly one shard");

        // A domain's shard follows from its name: the list reversed gives the same shard 2.
        let reversed = config(&dir, (0..DOMAINS).rev());
        let again = dir.join("shard2-reversed.json");
        scan(dns, &reversed, &again, &["--shard", "2/3"]);
        let mut a = load(&again)["tenant"]["domains"].clone();
        let mut b = load(&parts[1])["tenant"]["domains"].clone();
        for v in [&mut a, &mut b] {
            v.as_array_mut()
                .unwrap()
                .sort_by_key(|x| x.as_str().unwrap().to_owned());
        }
        assert_eq!(a, b);

        // Merged (in any order of files), the shards are the whole scan.
        let merged = dir.join("merged.json");
        let o = Command::cargo_bin("tenant-ready")
            .unwrap()
            .args(["report", "merge"])
            .arg(&parts[2])
            .arg(&parts[0])
            .arg(&parts[1])
            .arg("-o")
            .arg(&merged)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (one, joined) = (load(&whole), load(&merged));
        assert_eq!(rows(&one), rows(&joined));
        assert_eq!(one["summary"], joined["summary"]);
        assert_eq!(roll_up(&one), roll_up(&joined));
        assert!(joined["run"].get("shard").is_none());
        assert_eq!(
            code, 1,
            "the broken domains fail the whole scan: {}",
            one["summary"]
        );
        // Any later command reads the merged report as a whole scan.
        let o = Command::cargo_bin("tenant-ready")
            .unwrap()
            .args(["report", "render"])
            .arg(&merged)
            .args(["--format", "markdown"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

        // A missing shard, a shard twice, a shard beside a whole scan: one line, exit 2.
        for (files, want) in [
            (vec![&parts[0], &parts[1]], "shard 3/3 missing"),
            (
                vec![&parts[0], &parts[0], &parts[1], &parts[2]],
                "given twice",
            ),
            (vec![&parts[0], &whole], "is a whole scan, not a shard"),
        ] {
            let o = Command::cargo_bin("tenant-ready")
                .unwrap()
                .args(["report", "merge"])
                .args(files)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{err}");
            assert!(err.contains(want), "{want}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    })
    .await
    .unwrap();
    drop(srv);
}

#[test]
fn bad_shard_specs_are_one_line_and_exit_2() {
    for (spec, want) in [
        ("0/0", "N is 0"),
        ("5/4", "K is not between 1 and N"),
        ("a/b", "K is not a whole number"),
    ] {
        let o = Command::cargo_bin("tenant-ready")
            .unwrap()
            .args(["scan", "contoso.test", "--no-progress", "--shard", spec])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains(want), "{spec}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(o.stdout.is_empty());
    }
}

//! NDJSON output: each result a line as it finishes, a header and a summary line; every `report`
//! command reads it, a file cut short by a killed scan renders what it holds and says so, and a
//! line that is not a result is refused with its number.

use std::path::Path;

use assert_cmd::Command;
use tenant_ready::lab::Behaviour;

use crate::support::{ready_zone, server, zones};

fn bin() -> Command {
    Command::cargo_bin("tenant-ready").unwrap()
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_streams_results_and_every_report_command_reads_it() {
    let names: Vec<String> = (0..5).map(|i| format!("n{i}.test")).collect();
    let texts: Vec<(String, String)> = names
        .iter()
        .map(|d| {
            let z = ready_zone(d);
            // One domain's mail goes elsewhere: a failing line among passing ones.
            let z = if d == "n2.test" {
                z.replace(
                    "@ IN MX 0 n2-test.mail.protection.outlook.com.",
                    "@ IN MX 10 mail.n2.test.\nmail IN A 127.0.0.1",
                )
            } else {
                z
            };
            (d.clone(), z)
        })
        .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let srv = server(zones(&refs), Behaviour::default()).await;
    let dns = srv.addr();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let (nd, js) = (dir.join("r.ndjson"), dir.join("r.json"));
        let mut args: Vec<String> = vec!["scan".into(), "--no-progress".into()];
        args.extend(names.iter().cloned());
        args.extend(
            [
                "--nameserver",
                &dns.to_string(),
                "--authoritative-port",
                &dns.port().to_string(),
                "--only",
                "dns.mx",
                "--only",
                "dns.dmarc",
            ]
            .map(String::from),
        );
        let mut with_files = args.clone();
        with_files.extend([
            "--report".into(),
            format!("ndjson={}", nd.display()),
            "--report".into(),
            format!("json={}", js.display()),
        ]);
        let o = bin().args(&with_files).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let all = lines(&nd);
        assert_eq!(all[0]["type"], "header");
        assert_eq!(all[0]["schema_version"], 1);
        let last = all.last().unwrap();
        assert_eq!(last["type"], "summary");
        assert_eq!(last["summary"]["verdict"], "not-ready");
        let results: Vec<&serde_json::Value> =
            all.iter().filter(|l| l["type"] == "result").collect();
        assert_eq!(results.len(), 10);
        // The summary's indices point at the result lines (in the order they were written).
        for row in last["responsibilities"].as_array().unwrap() {
            for i in row["results"].as_array().unwrap() {
                let r = results[usize::try_from(i.as_u64().unwrap()).unwrap()];
                assert_eq!(r["responsibility"], row["id"], "{row}");
            }
        }
        // The same results as the JSON report, and `report render` turns one into the other.
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
        let key = |v: &serde_json::Value| {
            (
                v["check"].as_str().unwrap().to_owned(),
                v["subject"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
                v["message"].as_str().unwrap().to_owned(),
            )
        };
        let mut a: Vec<_> = results.iter().map(|r| key(r)).collect();
        let mut b: Vec<_> = json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(last["summary"], json["summary"]);
        let o = bin()
            .args(["report", "render"])
            .arg(&nd)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let back: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(back["summary"], json["summary"]);
        // diff reads both kinds: the same run, nothing changed.
        let o = bin()
            .args(["report", "diff"])
            .arg(&js)
            .arg(&nd)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );

        // To stdout: one line per result, then the summary.
        let mut to_stdout = args.clone();
        to_stdout.extend(["--format".into(), "ndjson".into()]);
        let o = bin().args(&to_stdout).output().unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        assert_eq!(text.lines().count(), 12, "{text}");
        assert!(
            text.lines()
                .last()
                .unwrap()
                .starts_with("{\"type\":\"summary\"")
        );
        // Streamed only (no result kept in memory): the same summary and roll-up.
        let streamed: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(streamed["summary"], json["summary"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "the exit code follows the verdict"
        );
        let rows = |v: &serde_json::Value| -> Vec<(String, String, usize)> {
            v["responsibilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap().to_owned(),
                        r["status"].as_str().unwrap().to_owned(),
                        r["results"].as_array().unwrap().len(),
                    )
                })
                .collect()
        };
        assert_eq!(rows(&streamed), rows(&json));

        // Cut mid-line with no summary (a killed scan): rendered, said to be incomplete.
        let full = std::fs::read_to_string(&nd).unwrap();
        let cut_at = full.find("{\"type\":\"result\"").unwrap()
            + full[full.find("{\"type\":\"result\"").unwrap()..]
                .find('\n')
                .unwrap()
            + 30;
        let cut = dir.join("cut.ndjson");
        std::fs::write(&cut, &full[..cut_at]).unwrap();
        let o = bin()
            .args(["report", "render"])
            .arg(&cut)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(err.contains("incomplete"), "{err}");
        let held: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(held["results"].as_array().unwrap().len(), 1);

        // A line that is not a result: refused, naming the line.
        for (bad, want) in [
            (
                full.replacen(
                    "\n{\"type\":\"result\"",
                    "\nnot json\n{\"type\":\"result\"",
                    1,
                ),
                "line 2: not JSON",
            ),
            (
                full.replacen(
                    "\n{\"type\":\"result\"",
                    "\n{\"type\":\"other\"}\n{\"type\":\"result\"",
                    1,
                ),
                "line 2: not a result",
            ),
            (
                full.replacen("{\"type\":\"header\"", "{\"type\":\"result\"", 1),
                "line 1: not a tenant-ready NDJSON report",
            ),
        ] {
            let p = dir.join("bad.ndjson");
            std::fs::write(&p, bad).unwrap();
            let o = bin().args(["report", "render"]).arg(&p).output().unwrap();
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

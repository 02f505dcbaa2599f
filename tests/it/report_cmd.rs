//! `tenant-ready report render | merge | diff` on JSON written by real scans, and the HTML page
//! in a real browser (headless Chromium) where one is installed.

use std::path::Path;
use std::process::Command;

use tenant_ready::lab::Behaviour;

use crate::support::{ready_zone, server, zones};

const D: &str = "contoso.test";

fn bin() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
}

/// Scans `zone` (served on loopback) and writes the JSON report to `out`.
fn scan_to(rt: &tokio::runtime::Runtime, zone: &str, out: &Path) {
    let srv = rt.block_on(server(zones(&[(D, zone)]), Behaviour::default()));
    let status = bin()
        .args([
            "scan",
            D,
            "--only",
            "dns.*",
            "--no-progress",
            "--format",
            "json",
        ])
        .args(["--nameserver", &srv.addr().to_string()])
        .args(["--authoritative-port", &srv.addr().port().to_string()])
        .arg("--output")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.code().is_some());
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = bin().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn render_merge_and_diff_saved_reports() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good.json"), dir.path().join("bad.json"));
    scan_to(&rt, &ready_zone(D), &good);
    let broken = ready_zone(D).replace(
        "MX 0 contoso-test.mail.protection.outlook.com.",
        "MX 10 mail.elsewhere.example.",
    );
    scan_to(&rt, &broken, &bad);

    // A regression fails the gate; a fix passes it.
    let (code, out, _) = run(&["report", "diff", s(&good), s(&bad)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("REGRESSED (1)") && out.contains("dns.mx"),
        "{out}"
    );
    let (code, out, _) = run(&["report", "diff", s(&bad), s(&good), "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["fixed"][0]["check"], "dns.mx");
    assert_eq!(d["fixed"][0]["before"], "fail");

    // Render in every format.
    for (format, marker) in [
        ("human", "Verdict: NOT READY"),
        ("markdown", "# Microsoft 365 onboarding readiness"),
        ("junit", "<testsuites"),
        ("html", "id=\"verdict\""),
        ("json", "\"schema_version\": 1"),
    ] {
        let (code, out, err) = run(&[
            "report",
            "render",
            s(&bad),
            "--format",
            format,
            "--color",
            "never",
        ]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(out.contains(marker), "{format}: {out}");
    }
    let (_, human_ko, _) = run(&[
        "report",
        "render",
        s(&bad),
        "--lang",
        "ko",
        "--color",
        "never",
    ]);
    assert!(human_ko.contains("판정: 준비 안 됨"), "{human_ko}");
    assert!(
        human_ko.contains("조치: 영역 최상위에"),
        "Korean remediation: {human_ko}"
    );
    assert!(human_ko.contains("✘ 실패"), "{human_ko}");
    let (_, ko, _) = run(&[
        "report",
        "render",
        s(&bad),
        "--format",
        "html",
        "--lang",
        "ko",
    ]);
    assert!(ko.contains("준비 안 됨") && ko.contains("lang=\"ko\""));

    // Merge: every result tagged with its site, counts recomputed.
    let merged = dir.path().join("merged.json");
    let (code, _, err) = run(&["report", "merge", s(&good), s(&bad), "-o", s(&merged)]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    let results = m["results"].as_array().unwrap();
    assert_eq!(results.len(), 22);
    assert!(results.iter().all(|r| r["site"].is_string()), "{m}");
    assert_eq!(m["summary"]["total"], 22);
    // A merged report renders and diffs like any other.
    let (code, _, _) = run(&["report", "render", s(&merged), "--format", "markdown"]);
    assert_eq!(code, 0);

    // Bad input: one line, exit 2.
    let future = dir.path().join("future.json");
    std::fs::write(&future, r#"{"schema_version": 7, "results": []}"#).unwrap();
    let (code, _, err) = run(&["report", "render", s(&future)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("schema_version 7") && err.contains("upgrade tenant-ready"),
        "{err}"
    );
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"a\": 1}").unwrap();
    let (code, _, err) = run(&["report", "diff", s(&junk), s(&good)]);
    assert_eq!(code, 2);
    assert!(err.contains("not a tenant-ready report"), "{err}");
}

#[test]
fn completions_and_man_page() {
    let (code, out, _) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("tenant-ready") && out.contains("scan"));
    let (code, out, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH tenant-ready 1"));
}

/// The HTML page in a real browser: headless Chromium loads the file (no network: everything is
/// inline), runs its script, and the DOM it dumps has the verdict and the problem rows.
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(browser) = crate::support::browser() else {
        eprintln!("SKIPPED: no chromium installed (apt-get install chromium)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let broken = ready_zone(D).replace(
        "MX 0 contoso-test.mail.protection.outlook.com.",
        "MX 10 mail.elsewhere.example.",
    );
    scan_to(&rt, &broken, &json);
    let html = dir.path().join("r.html");
    let (code, _, err) = run(&[
        "report",
        "render",
        s(&json),
        "--format",
        "html",
        "-o",
        s(&html),
    ]);
    assert_eq!(code, 0, "{err}");
    let dom = crate::support::dom(browser, &html, &dir.path().join("profile"));
    assert!(dom.contains("id=\"verdict\""), "{dom}");
    assert!(dom.contains("NOT READY"));
    assert!(
        dom.contains("data-status=\"fail\"") && dom.contains("dns.mx"),
        "problem rows"
    );
}

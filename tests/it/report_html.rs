//! The meeting-room pictures, read back from a real browser: the HTML of the offline demo (DNS,
//! Entra ID, TLS, network and quality results) loaded in headless Chromium, its DOM dumped and
//! checked against the JSON it was rendered from.

use std::path::Path;
use std::process::Command;

use crate::support::{browser, dom};

use tenant_ready::outcome::CheckResult;

fn bin() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("tenant-ready"))
}

/// The value of `name="…"` in one tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next()
}

/// Every opening tag that carries `marker` (e.g. `class="cell`).
fn tags<'a>(html: &'a str, marker: &str) -> Vec<&'a str> {
    html.match_indices(marker)
        .filter_map(|(at, _)| {
            let open = html[..at].rfind('<')?;
            let close = at + html[at..].find('>')?;
            Some(&html[open..=close])
        })
        .collect()
}

fn render(json: &Path, out: &Path, extra: &[&str]) {
    let o = bin()
        .args(["report", "render"])
        .arg(json)
        .args(["--format", "html", "-o"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_pictures_show_every_result_in_a_browser() {
    let json = crate::support::demo_report();
    let results: Vec<CheckResult> = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(json).unwrap()).unwrap()
            ["results"]
            .clone(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    render(json, &page, &[]);
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to load, no script needed to see the pictures.
    for external in ["src=", "<link", "@import", "url(", "<iframe", "<img"] {
        assert!(
            !html.contains(external),
            "the page loads something: {external}"
        );
    }
    let Some(browser) = browser() else {
        eprintln!("SKIPPED the browser half: no chromium installed (apt-get install chromium)");
        return;
    };
    let dom = dom(browser, &page, &dir.path().join("profile"));
    assert!(dom.contains("id=\"matrix\""), "no matrix in the DOM");

    // The matrix: exactly one cell per result, with the result's status, linking to its row.
    let cells = tags(&dom, "class=\"cell ");
    assert_eq!(cells.len(), results.len(), "one cell per result");
    let mut seen = vec![false; results.len()];
    for c in &cells {
        let i: usize = attr(c, "href")
            .unwrap()
            .trim_start_matches("#r")
            .parse()
            .unwrap();
        let r = &results[i];
        assert!(!seen[i], "result {i} has two cells");
        seen[i] = true;
        assert_eq!(attr(c, "data-status"), Some(r.status.as_str()), "{c}");
        assert_eq!(attr(c, "data-check"), Some(r.check.as_str()), "{c}");
        assert!(
            dom.contains(&format!("id=\"r{i}\"")),
            "cell {i} links nowhere"
        );
    }
    // The responsibilities by phase: every one of the seed's lines is a tile.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let rows = report["responsibilities"].as_array().unwrap();
    assert_eq!(tags(&dom, "class=\"tile ").len(), rows.len());
    let manual = rows.iter().filter(|r| r["status"] == "manual").count();
    assert!(manual > 40, "{manual}");
    assert_eq!(
        tags(&dom, "class=\"tile t-manual").len(),
        manual,
        "manual: open boxes"
    );

    // Certificates: one bar per endpoint that showed a certificate, with its days.
    let with_days: Vec<(&str, i64)> = results
        .iter()
        .filter(|r| matches!(r.check.as_str(), "tls.certificate" | "tls.smtp-starttls"))
        .filter_map(|r| {
            Some((
                r.subject.as_str(),
                r.evidence["certificates"][0]["days_remaining"].as_i64()?,
            ))
        })
        .collect();
    assert!(with_days.len() >= 4, "{with_days:?}");
    let bars = tags(&dom, "class=\"bar ");
    assert_eq!(bars.len(), with_days.len());
    for (subject, days) in with_days {
        assert!(
            bars.iter().any(|b| attr(b, "data-subject") == Some(subject)
                && attr(b, "data-days") == Some(days.to_string().as_str())),
            "no bar for {subject} at {days} days"
        );
    }
    assert!(dom.contains("class=\"limit fail\"") && dom.contains("class=\"limit warn\""));

    // Latency: one mark per sample (a lost one too), and the median, p90 and target lines.
    let samples: usize = results
        .iter()
        .filter(|r| r.check == "quality.latency")
        .map(|r| r.evidence["samples_ms"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(samples >= 20, "{samples}");
    assert_eq!(tags(&dom, "class=\"sample").len(), samples);
    for line in ["ref median", "ref p90", "ref target"] {
        assert!(dom.contains(&format!("class=\"{line}\"")), "{line}");
    }
    // Bandwidth: measured and needed, per direction.
    let bw = results
        .iter()
        .find(|r| r.check == "quality.bandwidth")
        .unwrap();
    let rects = tags(&dom, "class=\"bw ");
    assert_eq!(rects.len(), 4, "{rects:?}");
    let measured = format!("{:.1}", bw.evidence["download"]["mbps"].as_f64().unwrap());
    assert!(
        rects
            .iter()
            .any(|r| attr(r, "data-direction") == Some("download")
                && attr(r, "class").is_some_and(|c| c.contains("measured"))
                && attr(r, "data-mbps") == Some(measured.as_str()))
    );

    // In Korean.
    let ko = dir.path().join("ko.html");
    render(json, &ko, &["--lang", "ko"]);
    let ko = std::fs::read_to_string(&ko).unwrap();
    for words in [
        "테넌트 현황",
        "단계별 고객 책임 사항",
        "인증서: 남은 일수",
        "샘플별 왕복 시간",
        "✔</span> 통과",
    ] {
        assert!(ko.contains(words), "{words}");
    }
}

#[test]
fn report_diff_marks_regressed_and_fixed_cells() {
    let json = crate::support::demo_report();
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let results = old["results"].as_array_mut().unwrap();
    // In the earlier run, a check that fails now passed (a regression), and one that passes now
    // failed (fixed).
    let failing = results.iter().position(|r| r["status"] == "fail").unwrap();
    let passing = results.iter().position(|r| r["status"] == "pass").unwrap();
    results[failing]["status"] = "pass".into();
    results[passing]["status"] = "fail".into();
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.json");
    std::fs::write(&before, serde_json::to_vec(&old).unwrap()).unwrap();
    let page = dir.path().join("diff.html");
    let o = bin()
        .args(["report", "diff"])
        .arg(&before)
        .arg(json)
        .args(["--format", "html", "--lang", "ko", "-o"])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "a regression fails the gate");
    let html = std::fs::read_to_string(&page).unwrap();
    let cells = tags(&html, "class=\"cell ");
    let marked = |change: &str| -> Vec<usize> {
        cells
            .iter()
            .filter(|c| attr(c, "data-change") == Some(change))
            .map(|c| attr(c, "href").unwrap()[2..].parse().unwrap())
            .collect()
    };
    assert_eq!(marked("regressed"), [failing]);
    assert_eq!(marked("fixed"), [passing]);
    assert!(
        html.contains("이전 실행보다 나빠짐 (1)"),
        "the lists, in Korean"
    );
}

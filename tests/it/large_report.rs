//! Large reports (issue 29): past `digest::LARGE` results the HTML and Markdown lead with the
//! summary, the subjects with problems and the first findings, and fold the matrix into pages;
//! `report render` reads a large NDJSON file line by line into that digest. The page drawn from
//! the NDJSON stream is the page drawn from the same report in memory (JSON), byte for byte.

use std::path::Path;

use assert_cmd::Command;
use tenant_ready::catalog::Catalog;
use tenant_ready::outcome::{CheckResult, Evidence, Severity, Status};
use tenant_ready::output::FailOn;
use tenant_ready::report::digest::{LARGE, MAX_PROBLEMS, PAGE};
use tenant_ready::report::{
    self, Report, RunInfo, SCHEMA_VERSION, Summary, TenantInfo, Tool, Vantage,
};

const CHECKS: [(&str, &str); 4] = [
    ("dns.mx", "enable.dns-records"),
    ("dns.spf", "enable.dns-records"),
    ("dns.dmarc", "enable.dns-records"),
    ("dns.autodiscover", "enable.dns-records"),
];

fn bin() -> Command {
    Command::cargo_bin("tenant-ready").unwrap()
}

fn result(check: &str, resp: &str, subject: &str, status: Status) -> CheckResult {
    CheckResult {
        check: check.into(),
        subject: subject.into(),
        status,
        severity: Severity::Major,
        message: format!("{check} is {}", status.as_str()),
        expected: None,
        message_text: vec![],
        expected_text: vec![],
        evidence: Evidence::from(serde_json::json!({"records": vec!["x"; 8]})),
        remediation: (status != Status::Pass).then(|| "fix it".into()),
        remediation_ko: None,
        responsibility: resp.into(),
        docs: None,
        duration_ms: 1,
        site: None,
    }
}

/// `subjects` domains × 4 checks; every 97th domain fails `dns.mx`, every 13th warns on
/// `dns.dmarc`; one subject is hostile markup.
fn report(subjects: usize) -> Report {
    let catalog = Catalog::embedded().unwrap();
    let mut results = Vec::new();
    let mut domains = Vec::new();
    for i in 0..subjects {
        let d = if i == 5 {
            "<script>alert(1)</script>|x".to_owned()
        } else {
            format!("d{i}.large.test")
        };
        for (check, resp) in CHECKS {
            let status = match check {
                "dns.mx" if i % 97 == 0 => Status::Fail,
                "dns.dmarc" if i % 13 == 0 => Status::Warn,
                _ => Status::Pass,
            };
            results.push(result(check, resp, &d, status));
        }
        domains.push(d);
    }
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "tenant-ready".into(),
            version: "0.1.0".into(),
        },
        run: RunInfo {
            started_at: "2026-12-06T00:00:00Z".into(),
            finished_at: "2026-12-06T00:01:00Z".into(),
            duration_ms: 60_000,
            vantage: Vantage {
                host: Some("ci".into()),
                os: "linux".into(),
                arch: "x86_64".into(),
            },
            resolvers: vec![],
            shard: None,
        },
        tenant: TenantInfo {
            name: None,
            domains,
        },
        summary: Summary::of(&results, FailOn::Fail),
        responsibilities: report::responsibilities(&catalog, &results),
        results,
    }
}

fn render(file: &Path, format: &str) -> (String, String) {
    let out = bin()
        .args(["report", "render", "--format", format, "--lang", "en"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_large_report_leads_with_its_problems_and_folds_the_matrix() {
    let subjects = LARGE / CHECKS.len() + 500;
    let rep = report(subjects);
    assert!(rep.results.len() > LARGE);
    let failing = (0..subjects).filter(|i| i % 97 == 0 || i % 13 == 0).count();
    let findings = rep
        .results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .count();
    let tmp = tempfile::tempdir().unwrap();
    let (nd, js) = (tmp.path().join("r.ndjson"), tmp.path().join("r.json"));
    let mut bytes = Vec::new();
    report::ndjson::render(&rep, &mut bytes).unwrap();
    std::fs::write(&nd, &bytes).unwrap();
    let mut bytes = Vec::new();
    report::json::render(&rep, &mut bytes).unwrap();
    std::fs::write(&js, &bytes).unwrap();

    let (html, _) = render(&nd, "html");
    // Streamed from NDJSON or drawn from the report in memory: the same page.
    assert_eq!(html, render(&js, "html").0);
    assert!(
        html.contains("id=\"large\""),
        "the page says it is a digest"
    );
    assert!(html.contains(&format!(
        "<h2 id=\"problem-subjects\">Subjects with problems ({failing})</h2>"
    )));
    assert!(html.contains(&format!(
        "<h2 id=\"problems\">Problems ({} / {findings})</h2>",
        findings.min(MAX_PROBLEMS)
    )));
    // Fails before warns in the findings.
    let problems =
        &html[html.find("id=\"problems\"").unwrap()..html.find("id=\"responsibilities\"").unwrap()];
    let first_warn = problems.find("data-status=\"warn\"").unwrap();
    let last_fail = problems.rfind("data-status=\"fail\"").unwrap();
    assert!(last_fail < first_warn);
    // Every subject once in the matrix, in pages of PAGE.
    assert_eq!(html.matches("<th scope=\"row\">").count(), subjects);
    assert_eq!(
        html.matches("<details data-page=").count(),
        subjects.div_ceil(PAGE)
    );
    assert_eq!(
        html.matches("<span class=\"s s-fail\" title=\"fail\">")
            .count(),
        (0..subjects).filter(|i| i % 97 == 0).count()
    );
    // No evidence on the page, and the hostile subject stays text.
    assert!(!html.contains("<pre>"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;|x"));
    // The title names a few domains, not all of them.
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(title.contains("more"), "{title}");
    assert!(title.len() < 200, "{title}");

    let (md, _) = render(&nd, "markdown");
    assert_eq!(md, render(&js, "markdown").0);
    assert!(md.contains(&format!("## Subjects with problems ({failing})")));
    assert_eq!(
        md.matches("<details><summary>").count(),
        subjects.div_ceil(PAGE)
    );
    // Markdown cells cannot open a tag or split a table.
    assert!(!md.contains("<script>"));
    assert!(!md.contains("</script>|x"));
}

#[test]
fn a_large_ndjson_cut_short_renders_what_it_holds() {
    let rep = report(LARGE / CHECKS.len() + 200);
    let mut bytes = Vec::new();
    report::ndjson::render(&rep, &mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    // Drop the summary line and cut the last result line in half.
    let body = text.trim_end().rsplit_once('\n').unwrap().0;
    let cut = &body[..body.len() - 40];
    let tmp = tempfile::tempdir().unwrap();
    let nd = tmp.path().join("cut.ndjson");
    std::fs::write(&nd, cut).unwrap();
    let (html, err) = render(&nd, "html");
    let held = rep.results.len() - 1;
    assert!(
        err.contains(&format!(
            "incomplete: the scan stopped after {held} results and a cut line"
        )),
        "{err}"
    );
    // The summary is recomputed from what the file holds.
    assert!(
        html.contains(&format!("Summary: {held} results")),
        "{}",
        &html[..2000]
    );
}

#[test]
fn a_bad_line_in_a_large_ndjson_is_refused_with_its_number() {
    let rep = report(LARGE / CHECKS.len() + 10);
    let mut bytes = Vec::new();
    report::ndjson::render(&rep, &mut bytes).unwrap();
    let mut lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines[7] = r#"{"type":"result","check":"dns.mx"}"#.into();
    let tmp = tempfile::tempdir().unwrap();
    let nd = tmp.path().join("bad.ndjson");
    std::fs::write(&nd, lines.join("\n") + "\n").unwrap();
    let out = bin()
        .args(["report", "render", "--format", "html"])
        .arg(&nd)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("line 8: not a result"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

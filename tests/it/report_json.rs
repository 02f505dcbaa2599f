//! The JSON contract (DESIGN.md §6): the export of a real scan parses into mirror types defined
//! here with `deny_unknown_fields`, so any added, renamed or retyped field fails this test and
//! has to be a deliberate, documented change.

#![allow(dead_code, reason = "mirror types exist to be parsed, not read")]

use serde::Deserialize;
use tenant_ready::lab::Lab;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema_version: u32,
    tool: Tool,
    run: Run,
    tenant: Tenant,
    summary: Summary,
    results: Vec<ResultRow>,
    responsibilities: Vec<Responsibility>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    started_at: String,
    finished_at: String,
    duration_ms: u64,
    vantage: Vantage,
    resolvers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vantage {
    host: Option<String>,
    os: String,
    arch: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tenant {
    name: Option<String>,
    domains: Vec<String>,
}

#[derive(Deserialize, PartialEq, Eq, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Warn,
    Fail,
    Error,
    Skip,
}

#[derive(Deserialize, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
enum Verdict {
    Ready,
    NotReady,
    Inconclusive,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    total: usize,
    pass: usize,
    warn: usize,
    fail: usize,
    error: usize,
    skip: usize,
    verdict: Verdict,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Critical,
    Major,
    Minor,
    Info,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultRow {
    check: String,
    subject: String,
    status: Status,
    severity: Severity,
    message: String,
    expected: Option<String>,
    evidence: serde_json::Value,
    remediation: Option<String>,
    responsibility: String,
    docs: Option<String>,
    duration_ms: u64,
    /// Only when the check has a Korean remediation and the result is not a pass.
    #[serde(default)]
    remediation_ko: Option<String>,
    /// Only in merged reports.
    #[serde(default)]
    site: Option<String>,
    /// `message` as keys and arguments (every result written since issue 13 has it).
    #[serde(default)]
    message_text: Vec<TextRow>,
    /// `expected` the same way, when there is an expectation.
    #[serde(default)]
    expected_text: Vec<TextRow>,
}

/// A sentence as data: `key` in `checks/messages.toml`, `args` by placeholder: a string, a
/// nested sentence, a list of sentences, or `{en, ko}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextRow {
    key: String,
    #[serde(default)]
    args: std::collections::BTreeMap<String, ArgRow>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ArgRow {
    Value(String),
    List(Vec<TextRow>),
    Text(Box<TextRow>),
    Local { en: String, ko: String },
}

impl TextRow {
    fn keys(&self) -> usize {
        1 + self
            .args
            .values()
            .map(|a| match a {
                ArgRow::Text(t) => t.keys(),
                ArgRow::List(l) => l.iter().map(TextRow::keys).sum(),
                ArgRow::Value(_) | ArgRow::Local { .. } => 0,
            })
            .sum::<usize>()
    }
}

#[derive(Deserialize, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum RStatus {
    Pass,
    Warn,
    Fail,
    Error,
    Skip,
    Manual,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Responsibility {
    id: String,
    seed_ref: String,
    phase: String,
    title: String,
    title_ko: String,
    /// Only where the seed's Korean misleads.
    #[serde(default)]
    title_ko_corrected: Option<String>,
    automated: bool,
    status: RStatus,
    results: Vec<usize>,
}

fn rfc3339_utc(s: &str) -> bool {
    humantime::parse_rfc3339(s).is_ok() && s.ends_with('Z')
}

#[tokio::test]
async fn the_export_matches_the_contract() {
    let lab = Lab::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tenant.toml");
    std::fs::write(&cfg, tenant_ready::lab::TENANT_TOML).unwrap();
    let out = dir.path().join("report.json");
    let mut cmdline = vec![
        "tenant-ready".to_owned(),
        "scan".into(),
        "--config".into(),
        cfg.display().to_string(),
    ];
    cmdline.extend(lab.scan_args());
    cmdline.extend([
        "--format".into(),
        "json".into(),
        "--output".into(),
        out.display().to_string(),
    ]);
    let cli = <tenant_ready::cli::Cli as clap::Parser>::parse_from(cmdline);
    let tenant_ready::cli::Command::Scan(args) = cli.command else {
        unreachable!()
    };
    let code = tenant_ready::app::scan(*args, tenant_ready::settings::Env::default()).await;
    assert_eq!(code as u8, 1);

    let text = std::fs::read_to_string(&out).unwrap();
    let r: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.tool.name, "tenant-ready");
    assert!(rfc3339_utc(&r.run.started_at) && rfc3339_utc(&r.run.finished_at));
    assert_eq!(r.run.resolvers, [lab.primary.addr().to_string()]);
    assert_eq!(
        r.tenant.domains,
        [
            "contoso.test",
            "fabrikam.test",
            "northwind.test",
            "tailspin.test"
        ]
    );
    let count = |s: Status| r.results.iter().filter(|x| x.status == s).count();
    assert_eq!(r.summary.total, r.results.len());
    assert_eq!(
        (
            r.summary.pass,
            r.summary.warn,
            r.summary.fail,
            r.summary.error,
            r.summary.skip
        ),
        (
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail),
            count(Status::Error),
            count(Status::Skip)
        )
    );
    assert_eq!(r.summary.verdict, Verdict::NotReady);
    // Every sentence travels as data beside its English rendering, with an expectation's too.
    for x in &r.results {
        assert!(
            !x.message_text.is_empty() && x.message_text.iter().all(|t| t.keys() >= 1),
            "{} {}: no message_text",
            x.check,
            x.subject
        );
        assert_eq!(
            x.expected.is_some(),
            !x.expected_text.is_empty(),
            "{}",
            x.check
        );
        assert!(x.message_text.iter().all(|t| !t.key.is_empty()));
    }
    // Every result belongs to exactly one responsibility row, by index.
    let mut seen = vec![0; r.results.len()];
    for row in &r.responsibilities {
        for &i in &row.results {
            seen[i] += 1;
            assert_eq!(r.results[i].responsibility, row.id);
        }
        if !row.automated && row.results.is_empty() {
            assert_eq!(row.status, RStatus::Manual);
        }
    }
    assert!(seen.iter().all(|&n| n == 1));
    let dns = r
        .responsibilities
        .iter()
        .find(|x| x.id == "enable.dns-records")
        .unwrap();
    assert_eq!(dns.status, RStatus::Fail);
    // Deterministic order: domain, then catalogue order.
    let order: Vec<(&str, &str)> = r
        .results
        .iter()
        .map(|x| (x.subject.as_str(), x.check.as_str()))
        .collect();
    assert_eq!(order[0], ("contoso.test", "dns.verification"));
    assert_eq!(order[10], ("contoso.test", "dns.ns-consistency"));
    assert_eq!(order[11], ("contoso.test", "entra.domain"));
    assert_eq!(order[12], ("fabrikam.test", "dns.verification"));
}

/// The committed schema is the one the code produces (`tenant-ready schema`).
#[test]
fn the_committed_json_schema_matches_the_code() {
    let committed = include_str!("../../schema/report.schema.json");
    assert!(
        committed == tenant_ready::report::json_schema(),
        "schema/report.schema.json is stale: run `cargo run -- schema > schema/report.schema.json`"
    );
    let v: serde_json::Value = serde_json::from_str(committed).unwrap();
    for key in [
        "schema_version",
        "tool",
        "run",
        "tenant",
        "summary",
        "results",
        "responsibilities",
    ] {
        assert!(v["properties"][key].is_object(), "{key}");
    }
}

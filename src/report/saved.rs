//! Work on saved JSON reports (`tenant-ready report render | merge | diff`): load with a schema
//! version check, merge runs from several sites, and diff two runs for CI gates. Pure except
//! [`load`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Report, RunInfo, SCHEMA_VERSION, Summary, TenantInfo, Vantage, responsibilities};
use crate::catalog::Catalog;
use crate::error::ConfigError;
use crate::outcome::{CheckResult, Status};
use crate::output::FailOn;

/// Reads a report written by `scan --report json=…` (or `report merge`).
pub fn load(path: &Path) -> Result<Report, ConfigError> {
    load_noting(path).map(|(r, _)| r)
}

/// [`load`] of a JSON or an NDJSON report, with `Some(why)` when an NDJSON one is incomplete
/// (a scan stopped before its summary line): it holds what the scan found until then.
pub fn load_noting(path: &Path) -> Result<(Report, Option<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    if super::ndjson::looks_like(&text) {
        let catalog = Catalog::embedded()?;
        return super::ndjson::parse(&text, path, &catalog);
    }
    Ok((parse(&text, path)?, None))
}

/// Parses and validates a saved report's text (`path` names it in errors). A saved report is
/// outside input: besides its schema version, every index it carries (a responsibility's
/// `results`) must point at a result, so renderers can trust it.
pub fn parse(text: &str, path: &Path) -> Result<Report, ConfigError> {
    let bad = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not JSON (line {}, column {}: {e})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(version) = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    else {
        return Err(bad(
            "not a tenant-ready report (no schema_version; write one with `scan --report json=PATH`)"
                .into(),
        ));
    };
    if version > u64::from(SCHEMA_VERSION) {
        return Err(bad(format!(
            "written by a newer tenant-ready (schema_version {version}); this version reads schema_version {SCHEMA_VERSION}: upgrade tenant-ready"
        )));
    }
    if version < 1 {
        return Err(bad(format!("schema_version {version} was never released")));
    }
    let report: Report = serde_json::from_value(value)
        .map_err(|e| bad(format!("not a valid tenant-ready report: {e}")))?;
    validated(report, path)
}

/// Checks what renderers trust: every index a responsibility row carries points at a result.
pub(crate) fn validated(report: Report, path: &Path) -> Result<Report, ConfigError> {
    check_indices(&report.responsibilities, report.results.len(), path)?;
    Ok(report)
}

/// Every index the rows carry names one of `n` results, and each result belongs to one row,
/// once: a row naming one result 200,000 times (783 KB of JSON) made the HTML renderer
/// allocate 7 GB.
pub(crate) fn check_indices(
    rows: &[super::ResponsibilityRow],
    n: usize,
    path: &Path,
) -> Result<(), ConfigError> {
    let bad = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    let mut seen = vec![false; n];
    for (i, row) in rows.iter().enumerate() {
        for &r in &row.results {
            let Some(slot) = seen.get_mut(r) else {
                return Err(bad(format!(
                    "not a valid tenant-ready report: responsibilities[{i}].results names result {r}, but the report has {n} results"
                )));
            };
            if std::mem::replace(slot, true) {
                return Err(bad(format!(
                    "not a valid tenant-ready report: responsibilities[{i}].results names result {r} again (a result belongs to one row, once)"
                )));
            }
        }
    }
    Ok(())
}

/// A site's name for merged reports: the vantage host, else the file name.
pub fn site_name(report: &Report, path: &Path) -> String {
    report.run.vantage.host.clone().unwrap_or_else(|| {
        path.file_stem()
            .map_or_else(|| "site".into(), |s| s.to_string_lossy().into_owned())
    })
}

/// The time several runs span: the earliest start, the latest finish (RFC 3339 UTC strings
/// order as times).
#[derive(Default)]
struct Span {
    started: Option<String>,
    finished: Option<String>,
}

impl Span {
    fn add(&mut self, run: &RunInfo) {
        if self.started.as_ref().is_none_or(|s| *s > run.started_at) {
            self.started = Some(run.started_at.clone());
        }
        if self.finished.as_ref().is_none_or(|f| *f < run.finished_at) {
            self.finished = Some(run.finished_at.clone());
        }
    }
}

/// A report joined from several runs (sites or shards), summary and roll-up recomputed.
fn joined(
    catalog: &Catalog,
    fail_on: FailOn,
    results: Vec<CheckResult>,
    tenant: TenantInfo,
    (span, duration_ms): (Span, u64),
    host: String,
    resolvers: Vec<String>,
) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        tool: super::Tool {
            name: "tenant-ready".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        run: RunInfo {
            started_at: span.started.unwrap_or_default(),
            finished_at: span.finished.unwrap_or_default(),
            duration_ms,
            vantage: Vantage {
                host: Some(host),
                os: std::env::consts::OS.into(),
                arch: std::env::consts::ARCH.into(),
            },
            resolvers,
            shard: None,
        },
        tenant,
        responsibilities: responsibilities(catalog, &results),
        summary: Summary::of(&results, fail_on),
        results,
    }
}

/// Merges runs from several sites into one report: every result tagged with its site, the
/// summary and responsibilities recomputed over all of them.
pub fn merge(reports: Vec<(String, Report)>, catalog: &Catalog, fail_on: FailOn) -> Report {
    let mut results: Vec<CheckResult> = Vec::new();
    let mut domains: Vec<String> = Vec::new();
    let mut sites = Vec::new();
    let mut name = None;
    let mut span = Span::default();
    let mut resolvers = Vec::new();
    for (site, r) in reports {
        for mut x in r.results {
            x.site = Some(x.site.unwrap_or_else(|| site.clone()));
            results.push(x);
        }
        for d in r.tenant.domains {
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        name = name.or(r.tenant.name);
        span.add(&r.run);
        resolvers.extend(r.run.resolvers.into_iter().map(|x| format!("{site}: {x}")));
        sites.push(site);
    }
    // Network results of the same check side by side, site after site.
    results.sort_by_key(|r| r.check.starts_with("dns.") || r.check.starts_with("tls."));
    joined(
        catalog,
        fail_on,
        results,
        TenantInfo { name, domains },
        (span, 0),
        format!("merged: {}", sites.join(", ")),
        resolvers,
    )
}

/// Joins the shards of one scan (`scan --shard K/N`) into the report one machine would have
/// written: the same results (the domains' from every shard, the shared checks' from shard 1)
/// and the same verdict. Every shard of N must be there once, and nothing else.
pub fn merge_shards(
    reports: Vec<(String, Report)>,
    catalog: &Catalog,
    fail_on: FailOn,
) -> Result<Report, String> {
    let mut shards: Vec<(crate::shard::Shard, String, Report)> = Vec::new();
    for (name, r) in reports {
        let Some(spec) = r.run.shard.as_deref() else {
            return Err(format!(
                "{name} is a whole scan, not a shard: merge shards with shards (or whole scans from several sites with each other)"
            ));
        };
        let shard = crate::shard::Shard::parse(spec)
            .map_err(|e| format!("{name}: run.shard: {}", e.trim_start_matches("--shard ")))?;
        shards.push((shard, name, r));
    }
    let n = shards.first().map_or(0, |(s, _, _)| s.count);
    if let Some((s, name, _)) = shards.iter().find(|(s, _, _)| s.count != n) {
        return Err(format!("{name} is shard {s}, the others are of {n}"));
    }
    shards.sort_by_key(|(s, _, _)| s.index);
    for w in shards.windows(2) {
        if w[0].0.index == w[1].0.index {
            return Err(format!(
                "shard {} is given twice ({} and {})",
                w[0].0, w[0].1, w[1].1
            ));
        }
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !shards.iter().any(|(s, _, _)| s.index == *k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard {} missing: the merged report would leave its domains out",
            missing.join(", ")
        ));
    }
    let mut domain_results = Vec::new();
    let mut shared = Vec::new();
    let mut domains: Vec<String> = Vec::new();
    let mut hosts = Vec::new();
    let mut resolvers = Vec::new();
    let mut name = None;
    let (mut span, mut longest) = (Span::default(), 0u64);
    for (shard, _, r) in shards {
        for x in r.results {
            if r.tenant.domains.contains(&x.subject) {
                domain_results.push(x);
            } else {
                shared.push(x);
            }
        }
        domains.extend(r.tenant.domains);
        name = name.or(r.tenant.name);
        hosts.push(format!(
            "{} ({shard})",
            r.run.vantage.host.as_deref().unwrap_or("?")
        ));
        span.add(&r.run);
        // Shards run side by side: the scan took as long as the slowest.
        longest = longest.max(r.run.duration_ms);
        for x in r.run.resolvers {
            if !resolvers.contains(&x) {
                resolvers.push(x);
            }
        }
    }
    domain_results.extend(shared);
    Ok(joined(
        catalog,
        fail_on,
        domain_results,
        TenantInfo { name, domains },
        (span, longest),
        format!("shards: {}", hosts.join(", ")),
        resolvers,
    ))
}

/// One change between two runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Check id.
    pub check: String,
    /// Subject (with the site, in merged reports).
    pub subject: String,
    /// Status before (`None`: new).
    pub before: Option<Status>,
    /// Status after (`None`: gone).
    pub after: Option<Status>,
    /// The message after (or before, when gone).
    pub message: String,
}

/// What changed between two runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Worse than before (pass → warn/fail/error, warn → fail…): a CI gate blocks on these.
    pub regressed: Vec<Change>,
    /// Better than before.
    pub fixed: Vec<Change>,
    /// Only in the new run.
    pub new: Vec<Change>,
    /// Only in the old run.
    pub gone: Vec<Change>,
    /// Same status.
    pub unchanged: usize,
}

/// How `diff` matches results across runs: check, and subject with the site in a merged report.
pub fn key(r: &CheckResult) -> (String, String) {
    let subject = match &r.site {
        Some(site) => format!("{} @ {site}", r.subject),
        None => r.subject.clone(),
    };
    (r.check.clone(), subject)
}

/// Compares two runs result by result, keyed by (check, subject, site). A new result that is not
/// `pass`/`skip` counts as a regression too: a CI gate should not wave through a new failure.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let before: BTreeMap<_, &CheckResult> = old.results.iter().map(|r| (key(r), r)).collect();
    let after: BTreeMap<_, &CheckResult> = new.results.iter().map(|r| (key(r), r)).collect();
    let mut d = Diff::default();
    for (k, a) in &after {
        let change = |b: Option<Status>| Change {
            check: k.0.clone(),
            subject: k.1.clone(),
            before: b,
            after: Some(a.status),
            message: a.message.clone(),
        };
        match before.get(k) {
            None if a.status.weight() > Status::Pass.weight() => {
                d.regressed.push(change(None));
            }
            None => d.new.push(change(None)),
            Some(b) if a.status.weight() > b.status.weight() => {
                d.regressed.push(change(Some(b.status)));
            }
            Some(b) if a.status.weight() < b.status.weight() => {
                d.fixed.push(change(Some(b.status)));
            }
            Some(_) => d.unchanged += 1,
        }
    }
    for (k, b) in &before {
        if !after.contains_key(k) {
            d.gone.push(Change {
                check: k.0.clone(),
                subject: k.1.clone(),
                before: Some(b.status),
                after: None,
                message: b.message.clone(),
            });
        }
    }
    d
}

/// The diff for people.
pub fn render_diff(d: &Diff) -> String {
    let st = |s: Option<Status>| s.map_or("-", Status::as_str);
    let mut out = String::new();
    for (title, list) in [
        ("REGRESSED", &d.regressed),
        ("FIXED", &d.fixed),
        ("NEW", &d.new),
        ("GONE", &d.gone),
    ] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("{title} ({})\n", list.len()));
        for c in list {
            out.push_str(&format!(
                "  {:<5} → {:<5}  {:<20} {}  {}\n",
                st(c.before),
                st(c.after),
                // Saved reports are outside input: their text never reaches a terminal raw.
                crate::escape::terminal(&c.check),
                crate::escape::terminal(&c.subject),
                crate::escape::terminal(&c.message)
            ));
        }
    }
    out.push_str(&format!(
        "{} regressed, {} fixed, {} new, {} gone, {} unchanged\n",
        d.regressed.len(),
        d.fixed.len(),
        d.new.len(),
        d.gone.len(),
        d.unchanged
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: &[(&str, &str, Status)]) -> Report {
        let results: Vec<CheckResult> = rows
            .iter()
            .map(|(c, s, st)| CheckResult {
                check: (*c).into(),
                subject: (*s).into(),
                status: *st,
                severity: crate::outcome::Severity::Major,
                message: format!("{c} {st}"),
                expected: None,
                message_text: vec![],
                expected_text: vec![],
                evidence: crate::outcome::Evidence::null(),
                remediation: None,
                responsibility: "enable.dns-records".into(),
                docs: None,
                duration_ms: 0,
                remediation_ko: None,
                site: None,
            })
            .collect();
        Report {
            schema_version: SCHEMA_VERSION,
            tool: super::super::Tool {
                name: "tenant-ready".into(),
                version: "0".into(),
            },
            run: RunInfo {
                started_at: "2026-11-24T00:00:00Z".into(),
                finished_at: "2026-11-24T00:00:01Z".into(),
                duration_ms: 1,
                vantage: Vantage {
                    host: None,
                    os: "linux".into(),
                    arch: "x86_64".into(),
                },
                resolvers: vec![],
                shard: None,
            },
            tenant: TenantInfo {
                name: None,
                domains: vec![],
            },
            summary: Summary::of(&results, FailOn::Fail),
            results,
            responsibilities: vec![],
        }
    }

    #[test]
    fn diff_classifies() {
        let old = report(&[
            ("dns.mx", "a.com", Status::Fail),
            ("dns.spf", "a.com", Status::Pass),
            ("dns.dkim", "a.com", Status::Warn),
            ("dns.msoid", "a.com", Status::Pass),
        ]);
        let new = report(&[
            ("dns.mx", "a.com", Status::Pass),
            ("dns.spf", "a.com", Status::Fail),
            ("dns.dkim", "a.com", Status::Warn),
            ("tls.protocol", "x:443", Status::Pass),
            ("tls.certificate", "x:443", Status::Error),
        ]);
        let d = diff(&old, &new);
        let ids = |v: &[Change]| v.iter().map(|c| c.check.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.fixed), ["dns.mx"]);
        assert_eq!(ids(&d.regressed), ["dns.spf", "tls.certificate"]);
        assert_eq!(ids(&d.new), ["tls.protocol"]);
        assert_eq!(ids(&d.gone), ["dns.msoid"]);
        assert_eq!(d.unchanged, 1);
        assert!(render_diff(&d).contains("2 regressed, 1 fixed, 1 new, 1 gone, 1 unchanged"));
    }

    #[test]
    fn merge_tags_sites_and_recounts() {
        let a = report(&[("net.endpoints", "set 1", Status::Pass)]);
        let b = report(&[("net.endpoints", "set 1", Status::Fail)]);
        let m = merge(
            vec![("seoul".into(), a), ("busan".into(), b)],
            &Catalog::embedded().unwrap(),
            FailOn::Fail,
        );
        assert_eq!(m.results.len(), 2);
        assert_eq!(m.results[1].site.as_deref(), Some("busan"));
        assert_eq!((m.summary.pass, m.summary.fail), (1, 1));
        assert_eq!(m.run.vantage.host.as_deref(), Some("merged: seoul, busan"));
        // Both sites' rows are distinct keys for diff.
        assert_eq!(diff(&m, &m).unchanged, 2);
    }
}

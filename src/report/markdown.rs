//! Markdown for wiki pages, pull requests and CI job summaries: the verdict, a per-responsibility
//! summary table, then the problems with their remediation.

use std::io::Write;

use super::{Report, ResponsibilityStatus};
use crate::outcome::Status;

/// Escapes text for a table cell (pipes, newlines).
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Renders the report as Markdown.
pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "# Microsoft 365 readiness: {}",
        s.verdict.as_str().to_uppercase()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{} checks: {} pass, {} warn, {} fail, {} error, {} skip — domains: {}",
        s.total,
        s.pass,
        s.warn,
        s.fail,
        s.error,
        s.skip,
        report.tenant.domains.join(", ")
    )?;
    writeln!(out)?;
    writeln!(out, "| Responsibility | Status | Results |")?;
    writeln!(out, "|---|---|---|")?;
    for r in report
        .responsibilities
        .iter()
        .filter(|r| !r.results.is_empty())
    {
        writeln!(
            out,
            "| {} ({}) | {} | {} |",
            cell(&r.title),
            r.seed_ref,
            format!("{:?}", r.status).to_lowercase(),
            r.results.len()
        )?;
    }
    let problems: Vec<_> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    if !problems.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Problems")?;
        writeln!(out)?;
        writeln!(out, "| Status | Check | Subject | Problem | Remediation |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for r in problems {
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                r.status,
                r.check,
                cell(&r.subject),
                cell(&r.message),
                cell(r.remediation.as_deref().unwrap_or(""))
            )?;
        }
    }
    let manual: Vec<_> = report
        .responsibilities
        .iter()
        .filter(|r| r.status == ResponsibilityStatus::Manual)
        .collect();
    writeln!(out)?;
    writeln!(out, "## Manual checklist")?;
    writeln!(out)?;
    for r in manual {
        writeln!(out, "- [ ] {} ({})", r.title, r.seed_ref)?;
    }
    Ok(())
}

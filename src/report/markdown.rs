//! Markdown for wiki pages, pull requests and CI job summaries: the verdict, a per-responsibility
//! summary table, then the problems with their remediation (evidence folded in `<details>`), then
//! the manual checklist. Every value from the report is escaped ([`cell`]) so GitHub, Azure DevOps
//! and Teams wikis render it as text in its cell, never as a link, an image or HTML.

use std::io::Write;

use super::{Report, ResponsibilityStatus};
use crate::i18n::{t, tf};
use crate::outcome::Status;
use crate::output::Lang;

/// Text from the report (a hostile server's, or a hand-made saved report's) for a table cell or a
/// line: controls shown, links/images/HTML/pipes neutralised ([`crate::escape::markdown`]).
fn cell(s: &str) -> String {
    crate::escape::markdown(s)
}

/// A check id as code (`dns.mx`) when it is one; anything else (a hand-made saved report) is
/// shown escaped: a code span cannot escape a backtick inside it.
pub(super) fn check_id(id: &str) -> String {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        format!("`{id}`")
    } else {
        cell(id)
    }
}

fn rstatus(s: ResponsibilityStatus, lang: Lang) -> &'static str {
    t(&format!("status.{}", s.as_str()), lang)
}

/// The problems table's header and rule (this report's and a large report's).
pub(super) fn problems_head(lang: Lang) -> String {
    format!(
        "| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
        t("column.status", lang),
        t("column.check", lang),
        t("column.subject", lang),
        t("column.finding", lang),
        t("column.remediation", lang)
    )
}

/// The domain × check matrix as tables of glyphs (GitHub and Azure DevOps render them), one per
/// section, before the details.
fn matrix(report: &Report, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    use super::charts::{glyph, grids, left_out_note, short_check};
    let grids = grids(report);
    if grids.is_empty() {
        return Ok(());
    }
    writeln!(out, "## {}", t("chart.matrix", lang))?;
    writeln!(out)?;
    for g in grids {
        writeln!(out, "**{}**", t(&format!("section.{}", g.section), lang))?;
        writeln!(out)?;
        if let Some(note) = left_out_note(&g, lang) {
            writeln!(out, "{}", cell(&note))?;
            writeln!(out)?;
        }
        let head: Vec<String> = g.checks.iter().map(|c| check_id(short_check(c))).collect();
        writeln!(out, "| | {} |", head.join(" | "))?;
        writeln!(out, "|---|{}", "---|".repeat(g.checks.len()))?;
        for (s, subject) in g.subjects.iter().enumerate() {
            let cells: Vec<String> = (0..g.checks.len())
                .map(|c| {
                    g.cells
                        .get(&(s, c))
                        .map(|ix| {
                            ix.iter()
                                .map(|&i| glyph(report.results[i].status.as_str()))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default()
                })
                .collect();
            writeln!(out, "| {} | {} |", cell(subject), cells.join(" | "))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", t("markdown.matrix-legend", lang))?;
    writeln!(out)?;
    Ok(())
}

/// Renders the report as Markdown.
pub fn render(report: &Report, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.summary;
    let verdict = t(&format!("verdict.{}", s.verdict.as_str()), lang);
    writeln!(out, "# {}: {verdict}", t("heading.title", lang))?;
    writeln!(out)?;
    let mut args = super::human::summary_args(s);
    args.push((
        "domains",
        cell(&super::html::some_names(&report.tenant.domains, lang)),
    ));
    writeln!(out, "{}", tf("markdown.counts", lang, &args))?;
    writeln!(out)?;
    matrix(report, lang, out)?;
    // Per phase, then per responsibility (the seed's order).
    for phase in crate::catalog::PHASES {
        let rows: Vec<_> = report
            .responsibilities
            .iter()
            .filter(|r| r.phase == phase && !r.results.is_empty())
            .collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "### {}", t(&format!("phase.{phase}"), lang))?;
        writeln!(out)?;
        writeln!(
            out,
            "| {} | {} | {} |",
            t("column.responsibility", lang),
            t("column.status", lang),
            t("column.results", lang)
        )?;
        writeln!(out, "|---|---|---|")?;
        for r in rows {
            let title = r.title_in(lang);
            writeln!(
                out,
                "| {} ({}) | {} | {} |",
                cell(&title),
                cell(&r.seed_ref),
                rstatus(r.status, lang),
                r.results.len()
            )?;
        }
        writeln!(out)?;
    }
    let problems: Vec<_> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    if !problems.is_empty() {
        writeln!(out)?;
        writeln!(out, "## {}", t("heading.problems", lang))?;
        writeln!(out)?;
        writeln!(out, "{}", problems_head(lang))?;
        for r in &problems {
            let fix = r.remediation_in(lang);
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                t(&format!("status.{}", r.status.as_str()), lang),
                check_id(&r.check),
                cell(&r.subject),
                cell(&r.message_in(lang)),
                cell(fix.unwrap_or(""))
            )?;
        }
        writeln!(out)?;
        for r in &problems {
            let evidence = r.evidence.pretty();
            writeln!(
                out,
                "<details><summary>{}: <code>{}</code> {}</summary>\n\n```json\n{}\n```\n\n</details>",
                t("label.evidence", lang),
                super::html::esc(&crate::escape::terminal(&r.check)),
                super::html::esc(&crate::escape::terminal(&r.subject)),
                evidence.replace("```", "` ` `")
            )?;
        }
    }
    let manual: Vec<_> = report
        .responsibilities
        .iter()
        .filter(|r| r.status == ResponsibilityStatus::Manual)
        .collect();
    writeln!(out)?;
    writeln!(out, "## {}", t("heading.manual", lang))?;
    writeln!(out)?;
    for r in manual {
        let title = r.title_in(lang);
        writeln!(out, "- [ ] {} ({})", cell(&title), cell(&r.seed_ref))?;
    }
    Ok(())
}

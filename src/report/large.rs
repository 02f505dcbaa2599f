//! The HTML and Markdown of a large report, drawn from its [`Digest`]: the verdict and counts,
//! the subjects with problems, the first findings (fail, error, warn) with their remediation,
//! the responsibilities with their counts, then the full matrix folded into pages of
//! [`PAGE`] subjects (`<details>`: a browser lays out a page only when it is opened, and GitHub
//! renders the same element in Markdown). Every part is written as it is produced and is linear
//! in the results; the evidence is in the JSON or NDJSON report, which the page says.

use std::io::Write;

use super::ResponsibilityStatus;
use super::charts::{MAX_COLUMNS, glyph, short_check};
use super::digest::{Digest, MAX_SUBJECTS, PAGE};
use super::html::esc;
use crate::i18n::{t, tf};
use crate::outcome::Status;
use crate::output::Lang;

fn status_word(s: Status, lang: Lang) -> &'static str {
    t(&format!("status.{}", s.as_str()), lang)
}

/// The subjects with a warn, fail or error, in order, with their cells.
fn problem_subjects<'a>(d: &Digest, rows: &'a [Vec<u32>]) -> Vec<(usize, &'a [u32])> {
    rows.iter()
        .enumerate()
        .filter(|(_, cells)| d.problem_cells(cells).next().is_some())
        .map(|(s, cells)| (s, cells.as_slice()))
        .collect()
}

/// The sentence under the verdict saying what the page leaves out.
fn note(d: &Digest, lang: Lang) -> String {
    tf(
        "large.note",
        lang,
        &[
            ("results", d.results().to_string()),
            ("subjects", d.subjects.len().to_string()),
            ("shown", d.problems.len().to_string()),
            ("page", PAGE.to_string()),
        ],
    )
}

/// Per responsibility, its results' counts by status (`3 ✘ · 997 ✔`), worst first.
fn counts(d: &Digest, indices: &[usize]) -> String {
    let mut n = [0usize; 5];
    for &i in indices {
        if let Some(c) = d.cells.get(i) {
            n[usize::from(4 - c.status.weight())] += 1;
        }
    }
    [
        Status::Fail,
        Status::Error,
        Status::Warn,
        Status::Pass,
        Status::Skip,
    ]
    .iter()
    .zip(n)
    .filter(|(_, k)| *k > 0)
    .map(|(s, k)| format!("{k} {}", glyph(s.as_str())))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// The matrix's columns: the checks (the first [`MAX_COLUMNS`]), and each check's column.
fn columns(d: &Digest) -> (Vec<usize>, Vec<Option<usize>>) {
    let shown: Vec<usize> = (0..d.checks.len().min(MAX_COLUMNS)).collect();
    let col = (0..d.checks.len())
        .map(|c| (c < MAX_COLUMNS).then_some(c))
        .collect();
    (shown, col)
}

/// A subject's statuses by column.
fn row_cells(d: &Digest, cells: &[u32], col: &[Option<usize>], width: usize) -> Vec<Vec<Status>> {
    let mut row = vec![Vec::new(); width];
    for &i in cells {
        let c = d.cells[i as usize];
        if let Some(Some(k)) = col.get(usize::from(c.check)) {
            row[*k].push(c.status);
        }
    }
    row
}

/// The page's summary line for subjects `first..=last` of a page.
fn page_label(d: &Digest, rows: &[Vec<u32>], range: std::ops::Range<usize>, lang: Lang) -> String {
    let problems = rows[range.clone()]
        .iter()
        .filter(|cells| d.problem_cells(cells).next().is_some())
        .count();
    tf(
        "large.page",
        lang,
        &[
            ("first", d.subjects[range.start].clone()),
            ("last", d.subjects[range.end - 1].clone()),
            ("count", range.len().to_string()),
            ("problems", problems.to_string()),
        ],
    )
}

/// The HTML page.
pub fn html(d: &Digest, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    let report = &d.report;
    out.write_all(super::html::head(report, lang, t("heading.title", lang)).as_bytes())?;
    writeln!(
        out,
        "<p class=\"meta\" id=\"large\">{}</p>",
        esc(&note(d, lang))
    )?;
    let rows = d.by_subject();
    let subjects = problem_subjects(d, &rows);
    writeln!(
        out,
        "<h2 id=\"problem-subjects\">{} ({})</h2>",
        t("large.subjects", lang),
        subjects.len()
    )?;
    writeln!(
        out,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t("column.subject", lang),
        t("column.status", lang),
        t("column.check", lang)
    )?;
    for &(s, cells) in subjects.iter().take(MAX_SUBJECTS) {
        let worst = d.worst(cells);
        let checks: Vec<String> = d
            .problem_cells(cells)
            .map(|c| {
                format!(
                    "<code>{}</code> <span class=\"s s-{st}\">{}</span>",
                    esc(&d.checks[usize::from(c.check)]),
                    glyph(c.status.as_str()),
                    st = c.status.as_str()
                )
            })
            .collect();
        writeln!(
            out,
            "<tr data-status=\"{st}\"><td>{}</td><td class=\"s s-{st}\">{} {}</td><td>{}</td></tr>",
            esc(&d.subjects[s]),
            glyph(worst.as_str()),
            status_word(worst, lang),
            checks.join(" · "),
            st = worst.as_str()
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if subjects.len() > MAX_SUBJECTS {
        writeln!(
            out,
            "<p class=\"meta\">{}</p>",
            esc(&tf(
                "large.subjects-left-out",
                lang,
                &[("count", (subjects.len() - MAX_SUBJECTS).to_string())]
            ))
        )?;
    }
    writeln!(
        out,
        "<h2 id=\"problems\">{} ({} / {})</h2>",
        t("heading.problems", lang),
        d.problems.len(),
        d.problems_total
    )?;
    writeln!(
        out,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t("column.status", lang),
        t("column.check", lang),
        t("column.subject", lang),
        t("column.finding", lang)
    )?;
    for r in &d.problems {
        let st = r.status.as_str();
        let fix = r
            .remediation_in(lang)
            .map(|f| {
                format!(
                    "<div class=\"fix\">{} {}</div>",
                    t("label.fix", lang),
                    esc(f)
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "<tr data-status=\"{st}\"><td class=\"s s-{st}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}{fix}</td></tr>",
            status_word(r.status, lang),
            esc(&r.check),
            esc(&super::charts::row_name(r)),
            esc(&r.message_in(lang))
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(
        out,
        "<h2 id=\"responsibilities\">{}</h2>\n<table><tbody>",
        t("heading.responsibilities", lang)
    )?;
    for resp in report
        .responsibilities
        .iter()
        .filter(|r| r.automated || !r.results.is_empty())
    {
        let st = resp.status.as_str();
        writeln!(
            out,
            "<tr data-status=\"{st}\"><td class=\"s s-{st}\">{}</td><td><strong>{}</strong> <span class=\"meta\">{} · {}</span></td><td>{}</td></tr>",
            t(&format!("status.{st}"), lang),
            esc(&resp.title_in(lang)),
            esc(&resp.id),
            esc(&resp.seed_ref),
            counts(d, &resp.results)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    let (shown, col) = columns(d);
    writeln!(
        out,
        "<section id=\"matrix\"><h2>{}</h2>",
        t("chart.matrix", lang)
    )?;
    let mut head = String::from("<table class=\"matrix\"><thead><tr><th></th>");
    for &c in &shown {
        head.push_str(&format!(
            "<th title=\"{}\"><code>{}</code></th>",
            esc(&d.checks[c]),
            esc(short_check(&d.checks[c]))
        ));
    }
    head.push_str("</tr></thead><tbody>\n");
    for (page, start) in (0..d.subjects.len()).step_by(PAGE).enumerate() {
        let range = start..(start + PAGE).min(d.subjects.len());
        writeln!(
            out,
            "<details data-page=\"{}\"><summary>{}</summary>",
            page + 1,
            esc(&page_label(d, &rows, range.clone(), lang))
        )?;
        out.write_all(head.as_bytes())?;
        for s in range {
            let mut line = format!("<tr><th scope=\"row\">{}</th>", esc(&d.subjects[s]));
            for statuses in row_cells(d, &rows[s], &col, shown.len()) {
                line.push_str("<td>");
                for st in statuses {
                    line.push_str(&format!(
                        "<span class=\"s s-{0}\" title=\"{0}\">{1}</span>",
                        st.as_str(),
                        glyph(st.as_str())
                    ));
                }
                line.push_str("</td>");
            }
            line.push_str("</tr>\n");
            out.write_all(line.as_bytes())?;
        }
        writeln!(out, "</tbody></table></details>")?;
    }
    writeln!(out, "</section>")?;
    let manual: Vec<_> = report
        .responsibilities
        .iter()
        .filter(|r| r.status == ResponsibilityStatus::Manual)
        .collect();
    writeln!(
        out,
        "<h2>{} ({})</h2>\n<ul>",
        t("heading.manual", lang),
        manual.len()
    )?;
    for m in manual {
        writeln!(
            out,
            "<li><label><input type=\"checkbox\"> {} <span class=\"meta\">({})</span></label></li>",
            esc(&m.title_in(lang)),
            esc(&m.seed_ref)
        )?;
    }
    writeln!(out, "</ul>\n</body></html>")
}

/// The Markdown.
pub fn markdown(d: &Digest, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    let cell = |s: &str| crate::escape::markdown(s);
    let code = |s: &str| super::markdown::check_id(s);
    let report = &d.report;
    let s = &report.summary;
    writeln!(
        out,
        "# {}: {}\n",
        t("heading.title", lang),
        t(&format!("verdict.{}", s.verdict.as_str()), lang)
    )?;
    let mut args = super::human::summary_args(s);
    args.push((
        "domains",
        cell(&super::html::some_names(&report.tenant.domains, lang)),
    ));
    writeln!(out, "{}\n", tf("markdown.counts", lang, &args))?;
    writeln!(out, "> {}\n", cell(&note(d, lang)))?;
    let rows = d.by_subject();
    let subjects = problem_subjects(d, &rows);
    writeln!(
        out,
        "## {} ({})\n",
        t("large.subjects", lang),
        subjects.len()
    )?;
    if !subjects.is_empty() {
        writeln!(
            out,
            "| {} | {} | {} |\n|---|---|---|",
            t("column.subject", lang),
            t("column.status", lang),
            t("column.check", lang)
        )?;
        for &(sub, cells) in subjects.iter().take(MAX_SUBJECTS) {
            let worst = d.worst(cells);
            let checks: Vec<String> = d
                .problem_cells(cells)
                .map(|c| {
                    format!(
                        "{} {}",
                        code(&d.checks[usize::from(c.check)]),
                        glyph(c.status.as_str())
                    )
                })
                .collect();
            writeln!(
                out,
                "| {} | {} {} | {} |",
                cell(&d.subjects[sub]),
                glyph(worst.as_str()),
                status_word(worst, lang),
                checks.join(" · ")
            )?;
        }
        writeln!(out)?;
    }
    if subjects.len() > MAX_SUBJECTS {
        writeln!(
            out,
            "{}\n",
            cell(&tf(
                "large.subjects-left-out",
                lang,
                &[("count", (subjects.len() - MAX_SUBJECTS).to_string())]
            ))
        )?;
    }
    if !d.problems.is_empty() {
        writeln!(
            out,
            "## {} ({} / {})\n",
            t("heading.problems", lang),
            d.problems.len(),
            d.problems_total
        )?;
        writeln!(out, "{}", super::markdown::problems_head(lang))?;
        for r in &d.problems {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                status_word(r.status, lang),
                code(&r.check),
                cell(&super::charts::row_name(r)),
                cell(&r.message_in(lang)),
                cell(r.remediation_in(lang).unwrap_or(""))
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "## {}\n\n| {} | {} | {} |\n|---|---|---|",
        t("heading.responsibilities", lang),
        t("column.responsibility", lang),
        t("column.status", lang),
        t("column.results", lang)
    )?;
    for r in report
        .responsibilities
        .iter()
        .filter(|r| !r.results.is_empty())
    {
        writeln!(
            out,
            "| {} ({}) | {} | {} |",
            cell(&r.title_in(lang)),
            cell(&r.seed_ref),
            t(&format!("status.{}", r.status.as_str()), lang),
            counts(d, &r.results)
        )?;
    }
    writeln!(out)?;
    let (shown, col) = columns(d);
    writeln!(out, "## {}\n", t("chart.matrix", lang))?;
    let head: Vec<String> = shown
        .iter()
        .map(|&c| code(short_check(&d.checks[c])))
        .collect();
    for start in (0..d.subjects.len()).step_by(PAGE) {
        let range = start..(start + PAGE).min(d.subjects.len());
        // A blank line after <summary>: GitHub renders the Markdown table inside only then.
        writeln!(
            out,
            "<details><summary>{}</summary>\n\n| | {} |\n|---|{}",
            esc(&crate::escape::terminal(&page_label(
                d,
                &rows,
                range.clone(),
                lang
            ))),
            head.join(" | "),
            "---|".repeat(shown.len())
        )?;
        for sub in range {
            let cells: Vec<String> = row_cells(d, &rows[sub], &col, shown.len())
                .into_iter()
                .map(|sts| {
                    sts.iter()
                        .map(|st| glyph(st.as_str()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            writeln!(
                out,
                "| {} | {} |",
                cell(&d.subjects[sub]),
                cells.join(" | ")
            )?;
        }
        writeln!(out, "\n</details>\n")?;
    }
    writeln!(out, "{}\n", t("markdown.matrix-legend", lang))?;
    writeln!(out, "## {}\n", t("heading.manual", lang))?;
    for r in report
        .responsibilities
        .iter()
        .filter(|r| r.status == ResponsibilityStatus::Manual)
    {
        writeln!(
            out,
            "- [ ] {} ({})",
            cell(&r.title_in(lang)),
            cell(&r.seed_ref)
        )?;
    }
    Ok(())
}

//! One self-contained HTML file for the kickoff meeting: verdict, problems first, every
//! responsibility with its status, evidence on demand (`<details>`), the manual checklist, status
//! filters. No external assets and nothing fetched: inline CSS, a few lines of inline script for
//! the filters (the page is complete without it), and a print stylesheet.

use std::io::Write;

use super::Report;
use crate::i18n::{t, tf};
use crate::outcome::{CheckResult, Status};
use crate::output::Lang;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r"
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.verdict{display:inline-block;padding:.35rem .8rem;border-radius:.4rem;font-weight:700;color:#fff}
.v-ready{background:#1a7f37}.v-not-ready{background:#cf222e}.v-inconclusive{background:#8250df}
.meta{color:#57606a;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #eaeef2}
th{background:#f6f8fa;font-weight:600}
.s{font-weight:700;white-space:nowrap}.s-pass{color:#1a7f37}.s-warn{color:#9a6700}.s-fail{color:#cf222e}.s-error{color:#8250df}.s-skip,.s-manual{color:#57606a}
details{margin:.2rem 0}summary{cursor:pointer;color:#0969da}pre{background:#f6f8fa;padding:.5rem;overflow:auto;font-size:.8rem;max-height:24rem}
.filters label{margin-right:1rem}.fix{color:#57606a;font-size:.9rem}
@media print{.filters{display:none}details{display:block}details>*{display:block}a{color:inherit}body{margin:0;max-width:none}}
";

const SCRIPT: &str = r"
document.querySelectorAll('.filters input').forEach(function(b){b.addEventListener('change',function(){
var on={};document.querySelectorAll('.filters input').forEach(function(x){on[x.value]=x.checked;});
document.querySelectorAll('tr[data-status]').forEach(function(r){r.style.display=on[r.dataset.status]?'':'none';});});});
";

fn status_cell(s: &str, lang: Lang) -> String {
    format!(
        "<td class=\"s s-{s}\">{}</td>",
        t(&format!("status.{s}"), lang)
    )
}

fn row(r: &CheckResult, index: Option<usize>, lang: Lang) -> String {
    let status = r.status.as_str();
    let mut evidence = r.evidence.pretty();
    if evidence.len() > 20_000 {
        let mut cut = 20_000;
        while !evidence.is_char_boundary(cut) {
            cut -= 1;
        }
        evidence.truncate(cut);
        evidence.push_str("\n…");
    }
    let remediation = r.remediation_in(lang);
    let fix = match (remediation, r.status) {
        (Some(fix), Status::Warn | Status::Fail | Status::Error) => format!(
            "<div class=\"fix\">{} {}</div>",
            t("label.fix", lang),
            esc(fix)
        ),
        _ => String::new(),
    };
    let site = r
        .site
        .as_ref()
        .map(|s| format!(" <span class=\"meta\">@ {}</span>", esc(s)))
        .unwrap_or_default();
    // The matrix links to each result's row in the responsibilities (its one place there).
    let id = index.map(|i| format!(" id=\"r{i}\"")).unwrap_or_default();
    format!(
        "<tr{id} data-status=\"{status}\">{}<td><code>{}</code></td><td>{}{site}</td><td>{}{fix}<details><summary>{}</summary><pre>{}</pre></details></td></tr>\n",
        status_cell(status, lang),
        esc(&r.check),
        esc(&r.subject),
        esc(&r.message_in(lang)),
        t("label.evidence", lang),
        esc(&evidence)
    )
}

/// A list of names for a title or a line: all of them when few, else the first three and how
/// many more (a 100,000-domain scan's title was every domain, 1.7 MB).
pub(super) fn some_names(names: &[String], lang: Lang) -> String {
    const SHOWN: usize = 3;
    if names.len() <= SHOWN + 1 {
        return names.join(", ");
    }
    tf(
        "list.more",
        lang,
        &[
            ("names", names[..SHOWN].join(", ")),
            ("count", (names.len() - SHOWN).to_string()),
        ],
    )
}

/// The page up to the summary line: the document head (inline styles only), the title, the
/// verdict and the run.
pub(super) fn head(report: &Report, lang: Lang, heading: &str) -> String {
    let s = &report.summary;
    let verdict = t(&format!("verdict.{}", s.verdict.as_str()), lang);
    let title = report
        .tenant
        .name
        .clone()
        .unwrap_or_else(|| some_names(&report.tenant.domains, lang));
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>tenant-ready: {}</title><style>{STYLE}{}</style></head><body>\n",
        if lang == Lang::Ko { "ko" } else { "en" },
        esc(&title),
        super::charts::STYLE
    );
    h.push_str(&format!(
        "<h1>{heading} — {}</h1>\n<p><span id=\"verdict\" class=\"verdict v-{}\">{verdict}</span></p>\n",
        esc(&title),
        s.verdict.as_str()
    ));
    h.push_str(&format!(
        "<p class=\"meta\">{} · {} · tenant-ready {} · {}</p>\n",
        esc(&tf("summary", lang, &super::human::summary_args(s))),
        esc(&report.run.finished_at),
        esc(&report.tool.version),
        esc(report.run.vantage.host.as_deref().unwrap_or(""))
    ));
    h
}

/// `report diff --format html`: the later run's matrix with its regressed, fixed and new cells
/// marked, then the changes as lists (a result only in the earlier run has no cell: it is listed).
pub fn render_diff(
    new: &Report,
    d: &super::saved::Diff,
    lang: Lang,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use super::charts::Change as C;
    let keyed = |list: &[super::saved::Change]| -> std::collections::BTreeSet<(String, String)> {
        list.iter()
            .map(|c| (c.check.clone(), c.subject.clone()))
            .collect()
    };
    let (regressed, fixed, added) = (keyed(&d.regressed), keyed(&d.fixed), keyed(&d.new));
    let change = |_: usize, r: &CheckResult| {
        let k = super::saved::key(r);
        if regressed.contains(&k) {
            Some(C::Regressed)
        } else if fixed.contains(&k) {
            Some(C::Fixed)
        } else if added.contains(&k) {
            Some(C::New)
        } else {
            None
        }
    };
    let mut h = head(new, lang, t("heading.diff", lang));
    h.push_str(&format!(
        "<p id=\"changes\">{}</p>\n",
        esc(&tf(
            "diff.counts",
            lang,
            &[
                ("regressed", d.regressed.len().to_string()),
                ("fixed", d.fixed.len().to_string()),
                ("new", d.new.len().to_string()),
                ("gone", d.gone.len().to_string()),
                ("unchanged", d.unchanged.to_string()),
            ]
        ))
    ));
    h.push_str(&super::charts::matrix(new, lang, &change));
    for (key, list) in [
        ("change.regressed", &d.regressed),
        ("change.fixed", &d.fixed),
        ("change.new", &d.new),
        ("change.gone", &d.gone),
    ] {
        if list.is_empty() {
            continue;
        }
        h.push_str(&format!(
            "<h2>{} ({})</h2>\n<table><tbody>\n",
            t(key, lang),
            list.len()
        ));
        for c in list {
            let st = |s: Option<Status>| {
                s.map_or("–".to_owned(), |s| {
                    format!(
                        "{} {}",
                        super::charts::glyph(s.as_str()),
                        t(&format!("status.{}", s.as_str()), lang)
                    )
                })
            };
            h.push_str(&format!(
                "<tr data-change=\"{}\"><td class=\"s\">{} → {}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                &key["change.".len()..],
                st(c.before),
                st(c.after),
                esc(&c.check),
                esc(&c.subject),
                esc(&c.message)
            ));
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</body></html>\n");
    out.write_all(h.as_bytes())
}

/// Renders the report.
pub fn render(report: &Report, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    let mut h = head(report, lang, t("heading.title", lang));
    // The pictures first: where the tenant stands at a glance, then the numbers behind it.
    h.push_str(&super::charts::matrix(report, lang, &|_, _| None));
    h.push_str(&super::charts::phases(report, lang));
    h.push_str(&super::charts::certificates(report, lang));
    h.push_str(&super::charts::quality(report, lang));
    // Problems first, worst first.
    let mut problems: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    problems.sort_by_key(|r| std::cmp::Reverse(r.status.weight()));
    h.push_str(&format!(
        "<h2>{} ({})</h2>\n<div class=\"filters\">",
        t("heading.problems", lang),
        problems.len()
    ));
    for st in ["fail", "error", "warn", "pass", "skip", "manual"] {
        h.push_str(&format!(
            "<label><input type=\"checkbox\" value=\"{st}\" checked> {}</label>",
            t(&format!("status.{st}"), lang)
        ));
    }
    h.push_str("</div>\n");
    let head = format!(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
        t("column.status", lang),
        t("column.check", lang),
        t("column.subject", lang),
        t("column.finding", lang)
    );
    h.push_str(&head);
    for r in problems {
        h.push_str(&row(r, None, lang));
    }
    h.push_str("</tbody></table>\n");
    h.push_str(&format!(
        "<h2>{}</h2>\n",
        t("heading.responsibilities", lang)
    ));
    let mut phase = String::new();
    // Every responsibility with results (a user's check may serve a manual one), so every result
    // has its row for the matrix to link to.
    for resp in report
        .responsibilities
        .iter()
        .filter(|r| r.automated || !r.results.is_empty())
    {
        if resp.phase != phase {
            if !phase.is_empty() {
                h.push_str("</tbody></table>\n");
            }
            phase.clone_from(&resp.phase);
            h.push_str(&format!(
                "<h3>{}</h3>\n{head}",
                esc(t(&format!("phase.{phase}"), lang))
            ));
        }
        let status = resp.status.as_str();
        h.push_str(&format!(
            "<tr data-status=\"{status}\">{}<td colspan=\"3\"><strong>{}</strong> <span class=\"meta\">{} · {}</span></td></tr>\n",
            status_cell(status, lang),
            esc(&resp.title_in(lang)),
            esc(&resp.id),
            esc(&resp.seed_ref)
        ));
        for &i in &resp.results {
            if let Some(r) = report.results.get(i) {
                h.push_str(&row(r, Some(i), lang));
            }
        }
    }
    if !phase.is_empty() {
        h.push_str("</tbody></table>\n");
    }
    let manual: Vec<_> = report
        .responsibilities
        .iter()
        .filter(|r| !r.automated)
        .collect();
    h.push_str(&format!(
        "<h2>{} ({})</h2>\n<ul>\n",
        t("heading.manual", lang),
        manual.len()
    ));
    for m in manual {
        h.push_str(&format!(
            "<li><label><input type=\"checkbox\"> {} <span class=\"meta\">({})</span></label></li>\n",
            esc(&m.title_in(lang)),
            esc(&m.seed_ref)
        ));
    }
    h.push_str(&format!(
        "</ul>\n<script>{SCRIPT}</script>\n</body></html>\n"
    ));
    out.write_all(h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

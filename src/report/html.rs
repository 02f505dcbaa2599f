//! One self-contained HTML file for the kickoff meeting: verdict, problems first, every
//! responsibility with its status, evidence on demand (`<details>`), the manual checklist, status
//! filters. No external assets and nothing fetched: inline CSS, a few lines of inline script for
//! the filters (the page is complete without it), and a print stylesheet.

use std::io::Write;

use super::{Report, ResponsibilityStatus, Verdict};
use crate::cli::Lang;
use crate::outcome::{CheckResult, Status};

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

fn status_cell(s: &str) -> String {
    format!("<td class=\"s s-{s}\">{s}</td>")
}

fn row(r: &CheckResult, lang: Lang) -> String {
    let status = r.status.as_str();
    let mut evidence = serde_json::to_string_pretty(&r.evidence).unwrap_or_default();
    if evidence.len() > 20_000 {
        evidence.truncate(20_000);
        evidence.push_str("\n…");
    }
    let fix = match (&r.remediation, r.status) {
        (Some(fix), Status::Warn | Status::Fail | Status::Error) => format!(
            "<div class=\"fix\">{}: {}</div>",
            if lang == Lang::Ko { "조치" } else { "Fix" },
            esc(fix)
        ),
        _ => String::new(),
    };
    let site = r
        .site
        .as_ref()
        .map(|s| format!(" <span class=\"meta\">@ {}</span>", esc(s)))
        .unwrap_or_default();
    format!(
        "<tr data-status=\"{status}\">{}<td><code>{}</code></td><td>{}{site}</td><td>{}{fix}<details><summary>{}</summary><pre>{}</pre></details></td></tr>\n",
        status_cell(status),
        esc(&r.check),
        esc(&r.subject),
        esc(&r.message),
        if lang == Lang::Ko {
            "증거"
        } else {
            "Evidence"
        },
        esc(&evidence)
    )
}

/// Renders the report.
pub fn render(report: &Report, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    let ko = lang == Lang::Ko;
    let t = |en: &'static str, k: &'static str| if ko { k } else { en };
    let s = &report.summary;
    let verdict = match s.verdict {
        Verdict::Ready => t("READY", "준비됨"),
        Verdict::NotReady => t("NOT READY", "준비 안 됨"),
        Verdict::Inconclusive => t("INCONCLUSIVE", "판단 불가"),
    };
    let title = report
        .tenant
        .name
        .clone()
        .unwrap_or_else(|| report.tenant.domains.join(", "));
    let mut h = String::new();
    h.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>tenant-ready: {}</title><style>{STYLE}</style></head><body>\n",
        if ko { "ko" } else { "en" },
        esc(&title)
    ));
    h.push_str(&format!(
        "<h1>{} — {}</h1>\n<p><span id=\"verdict\" class=\"verdict v-{}\">{verdict}</span></p>\n",
        t(
            "Microsoft 365 onboarding readiness",
            "Microsoft 365 온보딩 준비 상태"
        ),
        esc(&title),
        s.verdict.as_str()
    ));
    h.push_str(&format!(
        "<p class=\"meta\">{} {} · {} pass · {} warn · {} fail · {} error · {} skip · {} · tenant-ready {} · {}</p>\n",
        s.total,
        t("results", "개 결과"),
        s.pass,
        s.warn,
        s.fail,
        s.error,
        s.skip,
        esc(&report.run.finished_at),
        esc(&report.tool.version),
        esc(report.run.vantage.host.as_deref().unwrap_or(""))
    ));
    // Problems first.
    let problems: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    h.push_str(&format!(
        "<h2>{} ({})</h2>\n",
        t("Problems", "문제"),
        problems.len()
    ));
    h.push_str("<div class=\"filters\">");
    for st in ["fail", "error", "warn", "pass", "skip"] {
        h.push_str(&format!(
            "<label><input type=\"checkbox\" value=\"{st}\" checked> {st}</label>"
        ));
    }
    h.push_str("</div>\n");
    let head = format!(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
        t("Status", "상태"),
        t("Check", "점검"),
        t("Subject", "대상"),
        t("Finding", "결과")
    );
    h.push_str(&head);
    let mut sorted = problems.clone();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.status.weight()));
    for r in sorted {
        h.push_str(&row(r, lang));
    }
    h.push_str("</tbody></table>\n");
    // Responsibilities, by phase.
    h.push_str(&format!(
        "<h2>{}</h2>\n",
        t("Responsibilities", "고객 책임 사항")
    ));
    let mut phase = String::new();
    for resp in report.responsibilities.iter().filter(|r| r.automated) {
        if resp.phase != phase {
            if !phase.is_empty() {
                h.push_str("</tbody></table>\n");
            }
            phase.clone_from(&resp.phase);
            h.push_str(&format!("<h3>{}</h3>\n{head}", esc(&phase)));
        }
        let status = match resp.status {
            ResponsibilityStatus::Pass => "pass",
            ResponsibilityStatus::Warn => "warn",
            ResponsibilityStatus::Fail => "fail",
            ResponsibilityStatus::Error => "error",
            ResponsibilityStatus::Skip => "skip",
            ResponsibilityStatus::Manual => "manual",
        };
        h.push_str(&format!(
            "<tr data-status=\"{status}\">{}<td colspan=\"3\"><strong>{}</strong> <span class=\"meta\">{} · {}</span></td></tr>\n",
            status_cell(status),
            esc(if ko { &resp.title_ko } else { &resp.title }),
            esc(&resp.id),
            esc(&resp.seed_ref)
        ));
        for &i in &resp.results {
            if let Some(r) = report.results.get(i) {
                h.push_str(&row(r, lang));
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
        t("Manual checklist", "수동 확인 목록"),
        manual.len()
    ));
    for m in manual {
        h.push_str(&format!(
            "<li><label><input type=\"checkbox\"> {} <span class=\"meta\">({})</span></label></li>\n",
            esc(if ko { &m.title_ko } else { &m.title }),
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

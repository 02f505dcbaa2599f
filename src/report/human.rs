//! The terminal report: results grouped by onboarding phase and responsibility, problems with
//! what was expected and how to fix it, the manual checklist, a summary line and the verdict.
//! Colour is decided by the caller (`--color`, `NO_COLOR`, TTY); this module only obeys it.
//! Every string taken from the report (which may come from a hostile server or a hand-made saved
//! report) goes through [`esc`]: only this module's own colour codes reach the terminal.

use std::io::Write;

use super::{Report, ResponsibilityRow, ResponsibilityStatus, Verdict};
use crate::catalog::PHASES;
use crate::escape::terminal as esc;
use crate::i18n::{t, tf};
use crate::outcome::{CheckResult, Status};
use crate::output::Lang;

/// How to render.
#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    /// ANSI colour.
    pub color: bool,
    /// Language of responsibility titles.
    pub lang: Lang,
    /// Only problems; no manual checklist.
    pub quiet: bool,
    /// List the manual checklist (else one line says how many items it has).
    pub checklist: bool,
}

struct Paint(bool, Lang);

impl Paint {
    fn code(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn status(&self, s: Status) -> String {
        let (icon, code) = match s {
            Status::Pass => ("✔", "32"),
            Status::Warn => ("▲", "33"),
            Status::Fail => ("✘", "1;31"),
            Status::Error => ("?", "35"),
            Status::Skip => ("-", "2"),
        };
        let word = t(&format!("status.{}", s.as_str()), self.1);
        // Pad by characters, not bytes: Korean words are wider in bytes.
        let pad = 5usize.saturating_sub(word.chars().count());
        self.code(code, &format!("{icon} {word}{}", " ".repeat(pad)))
    }
    fn rstatus(&self, s: ResponsibilityStatus) -> String {
        let (key, code) = match s {
            ResponsibilityStatus::Pass => ("status.pass", "32"),
            ResponsibilityStatus::Warn => ("status.warn", "33"),
            ResponsibilityStatus::Fail => ("status.fail", "1;31"),
            ResponsibilityStatus::Error => ("status.error", "35"),
            ResponsibilityStatus::Skip => ("status.skip", "2"),
            ResponsibilityStatus::Manual => ("status.manual", "2"),
        };
        let word = t(key, self.1);
        let word = if self.1 == Lang::En {
            word.to_uppercase()
        } else {
            word.to_owned()
        };
        let pad = 6usize.saturating_sub(word.chars().count());
        self.code(code, &format!("{word}{}", " ".repeat(pad)))
    }
    fn dim(&self, t: &str) -> String {
        self.code("2", t)
    }
    fn bold(&self, t: &str) -> String {
        self.code("1", t)
    }
}

fn title(r: &ResponsibilityRow, lang: Lang) -> String {
    esc(&r.title_in(lang)).into_owned()
}

fn phase_name(phase: &str, lang: Lang) -> String {
    let name = t(&format!("phase.{phase}"), lang);
    match lang {
        Lang::En => name.to_uppercase(),
        Lang::Ko => name.to_owned(),
    }
}

fn result_lines(
    p: &Paint,
    r: &CheckResult,
    width: (usize, usize),
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "    {}  {:<w0$}  {:<w1$}  {}",
        p.status(r.status),
        esc(&r.check),
        esc(&r.subject),
        esc(&r.message_in(p.1)),
        w0 = width.0,
        w1 = width.1
    )?;
    if matches!(r.status, Status::Fail | Status::Warn | Status::Error) {
        let indent = " ".repeat(13);
        if let Some(e) = r.expected_in(p.1) {
            writeln!(
                out,
                "{indent}{} {}",
                p.dim(t("label.expected", p.1)),
                esc(&e)
            )?;
        }
        let fix = r.remediation_in(p.1);
        if let Some(m) = fix {
            writeln!(out, "{indent}{} {}", p.dim(t("label.fix", p.1)), esc(m))?;
        }
        if let Some(d) = &r.docs {
            writeln!(out, "{indent}{} {}", p.dim(t("label.docs", p.1)), esc(d))?;
        }
    }
    Ok(())
}

/// `{total}`, `{pass}`… for the summary messages.
pub fn summary_args(s: &super::Summary) -> Vec<(&'static str, String)> {
    vec![
        ("total", s.total.to_string()),
        ("pass", s.pass.to_string()),
        ("warn", s.warn.to_string()),
        ("fail", s.fail.to_string()),
        ("error", s.error.to_string()),
        ("skip", s.skip.to_string()),
    ]
}

/// Renders the terminal report.
pub fn render(report: &Report, o: HumanOptions, out: &mut dyn Write) -> std::io::Result<()> {
    let p = Paint(o.color, o.lang);
    writeln!(
        out,
        "{} {} · {}{} · {}: {}",
        p.bold("tenant-ready"),
        esc(&report.tool.version),
        report
            .tenant
            .name
            .as_ref()
            .map_or(String::new(), |n| format!("{} · ", esc(n))),
        esc(&report.tenant.domains.join(", ")),
        t("label.resolvers", o.lang),
        esc(&report.run.resolvers.join(", "))
    )?;
    let width = (
        report
            .results
            .iter()
            .map(|r| esc(&r.check).chars().count())
            .max()
            .unwrap_or(0),
        report
            .results
            .iter()
            .map(|r| esc(&r.subject).chars().count())
            .max()
            .unwrap_or(0),
    );
    for phase in PHASES {
        let rows: Vec<&ResponsibilityRow> = report
            .responsibilities
            .iter()
            .filter(|r| r.phase == phase && !r.results.is_empty())
            .collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", p.bold(&phase_name(phase, o.lang)))?;
        for r in rows {
            let shown: Vec<&CheckResult> = r
                .results
                .iter()
                .map(|&i| &report.results[i])
                .filter(|x| {
                    !o.quiet || matches!(x.status, Status::Fail | Status::Warn | Status::Error)
                })
                .collect();
            if o.quiet && shown.is_empty() {
                continue;
            }
            writeln!(
                out,
                "  {} {} {}",
                p.rstatus(r.status),
                title(r, o.lang),
                p.dim(&format!("[{} · {}]", esc(&r.id), esc(&r.seed_ref)))
            )?;
            for x in shown {
                result_lines(&p, x, width, out)?;
            }
        }
    }
    if !o.quiet {
        let manual: Vec<&ResponsibilityRow> = report
            .responsibilities
            .iter()
            .filter(|r| r.status == ResponsibilityStatus::Manual)
            .collect();
        if !manual.is_empty() && !o.checklist {
            writeln!(out)?;
            writeln!(
                out,
                "{}",
                p.dim(&tf(
                    "heading.manual-hidden",
                    o.lang,
                    &[("n", manual.len().to_string())]
                ))
            )?;
        } else if !manual.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "{} {}",
                p.bold(&match o.lang {
                    Lang::En => t("heading.manual", o.lang).to_uppercase(),
                    Lang::Ko => t("heading.manual", o.lang).to_owned(),
                }),
                p.dim(&tf(
                    "heading.manual-count",
                    o.lang,
                    &[("n", manual.len().to_string())]
                ))
            )?;
            for r in manual {
                let indent = if r.id.matches('.').count() > 1 {
                    "    "
                } else {
                    "  "
                };
                writeln!(
                    out,
                    "{indent}[ ] {} {}",
                    title(r, o.lang),
                    p.dim(&format!("({})", esc(&r.seed_ref)))
                )?;
            }
        }
    }
    let s = &report.summary;
    writeln!(out)?;
    let lang = o.lang;
    writeln!(
        out,
        "{} · {:.1}s",
        tf("summary", lang, &summary_args(s)),
        // Display only; precision loss is irrelevant at these magnitudes.
        f64::from(u32::try_from(report.run.duration_ms).unwrap_or(u32::MAX)) / 1000.0
    )?;
    let verdict = match s.verdict {
        Verdict::Ready => p.code("1;32", t("verdict.ready", lang)),
        Verdict::NotReady => p.code("1;31", t("verdict.not-ready", lang)),
        Verdict::Inconclusive => p.code("1;35", t("verdict.inconclusive", lang)),
    };
    let args = summary_args(s);
    let why = match s.verdict {
        Verdict::Ready if s.pass + s.warn == 0 => t("why.nothing-ran", lang).to_owned(),
        Verdict::Ready if s.warn > 0 => tf("why.warnings", lang, &args),
        Verdict::Ready => t("why.all-passed", lang).to_owned(),
        Verdict::NotReady => tf("why.failing", lang, &args),
        Verdict::Inconclusive => tf("why.undetermined", lang, &args),
    };
    writeln!(out, "{}: {verdict} — {why}", t("verdict.label", lang))?;
    Ok(())
}

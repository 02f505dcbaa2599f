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

use super::wrap::{cols, hanging};

/// Where the finding, expected, fix and docs lines start under a result.
const DETAIL: usize = 13;

/// The subject column at most this share of the line (a long host name moves to a line of its
/// own rather than pushing every message right).
const SUBJECT_SHARE: usize = 4;

/// Room the message needs beside the subject; with less, it goes under it.
const MESSAGE_ROOM: usize = 40;
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
    /// Wrap to this many columns (a terminal); `None`: each result on one line (a file, a pipe).
    pub width: Option<usize>,
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
        // Pad by display columns, not bytes or characters: a Hangul syllable takes two.
        let pad = self.status_cols().saturating_sub(2 + cols(word));
        self.code(code, &format!("{icon} {word}{}", " ".repeat(pad)))
    }
    /// The status column's width: the icon, a space and the widest status word (at least 5).
    fn status_cols(&self) -> usize {
        2 + ["pass", "warn", "fail", "error", "skip"]
            .iter()
            .map(|s| cols(t(&format!("status.{s}"), self.1)))
            .max()
            .unwrap_or(5)
            .max(5)
    }
    /// The visible width of [`Self::rstatus`].
    fn rstatus_cols(&self, s: ResponsibilityStatus) -> usize {
        let key = format!("status.{}", s.as_str());
        let word = t(&key, self.1);
        6.max(if self.1 == Lang::En {
            cols(&word.to_uppercase())
        } else {
            cols(word)
        })
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
        let pad = 6usize.saturating_sub(cols(&word));
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
    wrap: Option<usize>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let finding = r.message_in(p.1);
    let (check, subject, message) = (esc(&r.check), esc(&r.subject), esc(&finding));
    match wrap {
        None => writeln!(
            out,
            "    {}  {:<w0$}  {:<w1$}  {}",
            p.status(r.status),
            check,
            subject,
            message,
            w0 = width.0,
            w1 = width.1
        )?,
        Some(w) => {
            // The check column is padded by display columns; the subject sits beside it when
            // it fits its column, and the message beside that when it has room.
            let head = format!("    {}  {check}", p.status(r.status));
            let used = 4 + p.status_cols() + 2 + cols(&check);
            let lead = used + width.0.saturating_sub(cols(&check)) + 2;
            let msg_col = lead + width.1 + 2;
            let pad = |n: usize| " ".repeat(n);
            if cols(&subject) <= width.1 && w.saturating_sub(msg_col) >= MESSAGE_ROOM {
                let lines = hanging(&message, msg_col, msg_col, w);
                writeln!(
                    out,
                    "{head}{}{subject}{}{}",
                    pad(lead - used),
                    pad(width.1 - cols(&subject) + 2),
                    lines.join("\n")
                )?;
            } else {
                let lines = hanging(&subject, lead, lead, w);
                writeln!(out, "{head}{}{}", pad(lead - used), lines.join("\n"))?;
                let lines = hanging(&message, DETAIL, DETAIL, w);
                writeln!(out, "{}{}", pad(DETAIL), lines.join("\n"))?;
            }
        }
    }
    if matches!(r.status, Status::Fail | Status::Warn | Status::Error) {
        let indent = " ".repeat(DETAIL);
        let detail = |label: &str, text: &str| -> String {
            let at = DETAIL + cols(label) + 1;
            let text = match wrap {
                Some(w) => hanging(text, at, at, w).join("\n"),
                None => text.to_owned(),
            };
            format!("{indent}{} {text}", p.dim(label))
        };
        if let Some(e) = r.expected_in(p.1) {
            writeln!(out, "{}", detail(t("label.expected", p.1), &esc(&e)))?;
        }
        if let Some(m) = r.remediation_in(p.1) {
            writeln!(out, "{}", detail(t("label.fix", p.1), &esc(m)))?;
        }
        if let Some(d) = &r.docs {
            writeln!(out, "{}", detail(t("label.docs", p.1), &esc(d)))?;
        }
    }
    Ok(())
}

/// `text` (already escaped) as one line, or wrapped to `width` with continuations indented by
/// `indent`; `lead` columns are already on the line.
fn line(text: &str, lead: usize, indent: usize, width: Option<usize>) -> String {
    match width {
        Some(w) => hanging(text, lead, indent, w).join("\n"),
        None => text.to_owned(),
    }
}

/// `plain` wrapped, then its trailing `[…]` or `(…)` (from `open`) dimmed when it sits whole on
/// the last line (colour codes never enter the wrapping, which counts visible columns).
fn with_dim_tail(p: &Paint, wrapped: &str, open: char) -> String {
    if !p.0 {
        return wrapped.to_owned();
    }
    let last = wrapped.rfind('\n').map_or(0, |i| i + 1);
    match wrapped[last..].rfind(open) {
        Some(i) => {
            let at = last + i;
            format!("{}{}", &wrapped[..at], p.dim(&wrapped[at..]))
        }
        None => wrapped.to_owned(),
    }
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
    let header = format!(
        "{} · {}{} · {}: {}",
        esc(&report.tool.version),
        report
            .tenant
            .name
            .as_ref()
            .map_or(String::new(), |n| format!("{} · ", esc(n))),
        esc(&report.tenant.domains.join(", ")),
        t("label.resolvers", o.lang),
        esc(&report.run.resolvers.join(", "))
    );
    writeln!(
        out,
        "{} {}",
        p.bold("tenant-ready"),
        line(&header, cols("tenant-ready "), 2, o.width)
    )?;
    let longest = |f: fn(&CheckResult) -> &str| {
        report
            .results
            .iter()
            .map(|r| cols(&esc(f(r))))
            .max()
            .unwrap_or(0)
    };
    let mut width = (longest(|r| &r.check), longest(|r| &r.subject));
    if let Some(w) = o.width {
        // On a terminal the subject column is sized to its content within a share of the line.
        width.1 = width.1.min(w / SUBJECT_SHARE);
    }
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
            let text = format!(
                "{} [{} · {}]",
                title(r, o.lang),
                esc(&r.id),
                esc(&r.seed_ref)
            );
            let at = 2 + p.rstatus_cols(r.status) + 1;
            writeln!(
                out,
                "  {} {}",
                p.rstatus(r.status),
                with_dim_tail(&p, &line(&text, at, 9, o.width), '[')
            )?;
            for x in shown {
                result_lines(&p, x, width, o.width, out)?;
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
                p.dim(&line(
                    &tf(
                        "heading.manual-hidden",
                        o.lang,
                        &[("n", manual.len().to_string())]
                    ),
                    0,
                    2,
                    o.width
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
                let text = format!("{} ({})", title(r, o.lang), esc(&r.seed_ref));
                let at = indent.len() + 4;
                writeln!(
                    out,
                    "{indent}[ ] {}",
                    with_dim_tail(&p, &line(&text, at, at, o.width), '(')
                )?;
            }
        }
    }
    let s = &report.summary;
    writeln!(out)?;
    let lang = o.lang;
    let summary = format!(
        "{} · {:.1}s",
        tf("summary", lang, &summary_args(s)),
        // Display only; precision loss is irrelevant at these magnitudes.
        f64::from(u32::try_from(report.run.duration_ms).unwrap_or(u32::MAX)) / 1000.0
    );
    writeln!(out, "{}", line(&summary, 0, 2, o.width))?;
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
    let label = t("verdict.label", lang);
    let word = match s.verdict {
        Verdict::Ready => t("verdict.ready", lang),
        Verdict::NotReady => t("verdict.not-ready", lang),
        Verdict::Inconclusive => t("verdict.inconclusive", lang),
    };
    let lead = cols(label) + 2 + cols(word) + 3;
    writeln!(out, "{label}: {verdict} — {}", line(&why, lead, 2, o.width))?;
    Ok(())
}

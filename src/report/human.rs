//! The terminal report: results grouped by onboarding phase and responsibility, problems with
//! what was expected and how to fix it, the manual checklist, a summary line and the verdict.
//! Colour is decided by the caller (`--color`, `NO_COLOR`, TTY); this module only obeys it.

use std::io::Write;

use super::{Report, ResponsibilityRow, ResponsibilityStatus, Verdict};
use crate::catalog::PHASES;
use crate::cli::Lang;
use crate::outcome::{CheckResult, Status};

/// How to render.
#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    /// ANSI colour.
    pub color: bool,
    /// Language of responsibility titles.
    pub lang: Lang,
    /// Only problems; no manual checklist.
    pub quiet: bool,
}

struct Paint(bool);

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
            Status::Pass => ("✔ pass ", "32"),
            Status::Warn => ("▲ warn ", "33"),
            Status::Fail => ("✘ fail ", "1;31"),
            Status::Error => ("? error", "35"),
            Status::Skip => ("- skip ", "2"),
        };
        self.code(code, icon)
    }
    fn rstatus(&self, s: ResponsibilityStatus) -> String {
        match s {
            ResponsibilityStatus::Pass => self.code("32", "PASS"),
            ResponsibilityStatus::Warn => self.code("33", "WARN"),
            ResponsibilityStatus::Fail => self.code("1;31", "FAIL"),
            ResponsibilityStatus::Error => self.code("35", "ERROR"),
            ResponsibilityStatus::Skip => self.code("2", "SKIP"),
            ResponsibilityStatus::Manual => self.code("2", "MANUAL"),
        }
    }
    fn dim(&self, t: &str) -> String {
        self.code("2", t)
    }
    fn bold(&self, t: &str) -> String {
        self.code("1", t)
    }
}

fn title(r: &ResponsibilityRow, lang: Lang) -> &str {
    match lang {
        Lang::En => &r.title,
        Lang::Ko => &r.title_ko,
    }
}

fn phase_name(phase: &str, lang: Lang) -> &'static str {
    match (phase, lang) {
        ("general", Lang::En) => "GENERAL",
        ("initiate", Lang::En) => "INITIATE PHASE",
        ("assess", Lang::En) => "ASSESS PHASE",
        ("remediate", Lang::En) => "REMEDIATE PHASE",
        ("enable", Lang::En) => "ENABLE PHASE",
        ("general", Lang::Ko) => "일반",
        ("initiate", Lang::Ko) => "시작 단계",
        ("assess", Lang::Ko) => "평가 단계",
        ("remediate", Lang::Ko) => "재구성 단계",
        ("enable", Lang::Ko) => "사용 단계",
        _ => "OTHER",
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
        r.check,
        r.subject,
        r.message,
        w0 = width.0,
        w1 = width.1
    )?;
    if matches!(r.status, Status::Fail | Status::Warn | Status::Error) {
        let indent = " ".repeat(13);
        if let Some(e) = &r.expected {
            writeln!(out, "{indent}{} {e}", p.dim("expected:"))?;
        }
        if let Some(m) = &r.remediation {
            writeln!(out, "{indent}{} {m}", p.dim("fix:"))?;
        }
        if let Some(d) = &r.docs {
            writeln!(out, "{indent}{} {d}", p.dim("docs:"))?;
        }
    }
    Ok(())
}

/// Renders the terminal report.
pub fn render(report: &Report, o: HumanOptions, out: &mut dyn Write) -> std::io::Result<()> {
    let p = Paint(o.color);
    writeln!(
        out,
        "{} {} · {}{} · resolvers: {}",
        p.bold("tenant-ready"),
        report.tool.version,
        report
            .tenant
            .name
            .as_ref()
            .map_or(String::new(), |n| format!("{n} · ")),
        report.tenant.domains.join(", "),
        report.run.resolvers.join(", ")
    )?;
    let width = (
        report
            .results
            .iter()
            .map(|r| r.check.len())
            .max()
            .unwrap_or(0),
        report
            .results
            .iter()
            .map(|r| r.subject.len())
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
        writeln!(out, "{}", p.bold(phase_name(phase, o.lang)))?;
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
                "  {:<6} {} {}",
                p.rstatus(r.status),
                title(r, o.lang),
                p.dim(&format!("[{} · {}]", r.id, r.seed_ref))
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
        if !manual.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "{} {}",
                p.bold(match o.lang {
                    Lang::En => "MANUAL CHECKLIST",
                    Lang::Ko => "수동 점검 목록",
                }),
                p.dim(&format!(
                    "({} organisational responsibilities this tool cannot verify)",
                    manual.len()
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
                    p.dim(&format!("({})", r.seed_ref))
                )?;
            }
        }
    }
    let s = &report.summary;
    writeln!(out)?;
    writeln!(
        out,
        "Summary: {} results · {} pass · {} warn · {} fail · {} error · {} skip · {:.1}s",
        s.total,
        s.pass,
        s.warn,
        s.fail,
        s.error,
        s.skip,
        // Display only; precision loss is irrelevant at these magnitudes.
        f64::from(u32::try_from(report.run.duration_ms).unwrap_or(u32::MAX)) / 1000.0
    )?;
    let verdict = match s.verdict {
        Verdict::Ready => p.code("1;32", "READY"),
        Verdict::NotReady => p.code("1;31", "NOT READY"),
        Verdict::Inconclusive => p.code("1;35", "INCONCLUSIVE"),
    };
    let why = match s.verdict {
        Verdict::Ready if s.pass + s.warn == 0 => {
            "nothing failed, but no check ran (every one was skipped: see why above)".to_owned()
        }
        Verdict::Ready if s.warn > 0 => format!("no failure, {} warning", s.warn),
        Verdict::Ready => "every automated check passed".to_owned(),
        Verdict::NotReady => format!("{} failing, {} warning", s.fail, s.warn),
        Verdict::Inconclusive => format!("{} checks could not be determined", s.error),
    };
    writeln!(out, "Verdict: {verdict} — {why}")?;
    Ok(())
}

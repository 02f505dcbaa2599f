//! JUnit XML for CI test tabs: one test suite per check, one test case per subject.
//! `fail` → `<failure>`, `error` → `<error>` (the scanner could not tell: a different thing from a
//! failure), `skip` → `<skipped>`, `warn` → a passing case with the warning in `<system-out>`.
//! Every value from the report goes through [`crate::escape::terminal`] first: XML cannot carry
//! most C0 controls or U+FFFE/U+FFFF, and CI servers show these texts on a terminal-like page.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use crate::escape::terminal as esc;
use crate::outcome::Status;

/// Renders the report as JUnit XML.
pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut j = JReport::new("tenant-ready");
    let mut suites: Vec<TestSuite> = Vec::new();
    for r in &report.results {
        let check = esc(&r.check).into_owned();
        let message = esc(&r.message).into_owned();
        let idx = match suites.iter().position(|s| s.name.as_str() == check) {
            Some(i) => i,
            None => {
                suites.push(TestSuite::new(check.clone()));
                suites.len() - 1
            }
        };
        let details = format!(
            "{message}{}{}",
            r.expected
                .as_ref()
                .map_or(String::new(), |e| format!("\nexpected: {}", esc(e))),
            r.remediation
                .as_ref()
                .map_or(String::new(), |m| format!("\nremediation: {}", esc(m))),
        );
        let status = match r.status {
            Status::Pass | Status::Warn => TestCaseStatus::success(),
            Status::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(message.clone());
                s
            }
            Status::Fail | Status::Error => {
                let kind = if r.status == Status::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(message.clone());
                s.set_type(r.status.as_str());
                s.set_description(details.clone());
                s
            }
        };
        let mut case = TestCase::new(format!("{check} [{}]", esc(&r.subject)), status);
        case.set_classname(check.clone());
        case.set_time(std::time::Duration::from_millis(r.duration_ms));
        if r.status == Status::Warn {
            case.set_system_out(format!("warning: {details}"));
        }
        suites[idx].add_test_case(case);
    }
    j.add_test_suites(suites);
    let xml = j
        .to_string()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    out.write_all(xml.as_bytes())
}

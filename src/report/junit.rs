//! JUnit XML for CI test tabs: one test suite per check, one test case per subject.
//! `fail` → `<failure>`, `error` → `<error>` (the scanner could not tell: a different thing from a
//! failure), `skip` → `<skipped>`, `warn` → a passing case with the warning in `<system-out>`.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use crate::outcome::Status;

/// Renders the report as JUnit XML.
pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut j = JReport::new("tenant-ready");
    let mut suites: Vec<TestSuite> = Vec::new();
    for r in &report.results {
        let idx = match suites.iter().position(|s| s.name.as_str() == r.check) {
            Some(i) => i,
            None => {
                suites.push(TestSuite::new(r.check.clone()));
                suites.len() - 1
            }
        };
        let details = format!(
            "{}{}{}",
            r.message,
            r.expected
                .as_ref()
                .map_or(String::new(), |e| format!("\nexpected: {e}")),
            r.remediation
                .as_ref()
                .map_or(String::new(), |m| format!("\nremediation: {m}")),
        );
        let status = match r.status {
            Status::Pass | Status::Warn => TestCaseStatus::success(),
            Status::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(r.message.clone());
                s
            }
            Status::Fail | Status::Error => {
                let kind = if r.status == Status::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(r.message.clone());
                s.set_type(r.status.as_str());
                s.set_description(details.clone());
                s
            }
        };
        let mut case = TestCase::new(format!("{} [{}]", r.check, r.subject), status);
        case.set_classname(r.check.clone());
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

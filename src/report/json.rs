//! The JSON export (DESIGN.md §6): one pretty document.
//!
//! ```text
//! { "schema_version": 1,
//!   "tool": {"name": "tenant-ready", "version": "0.1.0"},
//!   "run": {"started_at": RFC3339, "finished_at": RFC3339, "duration_ms": N,
//!           "vantage": {"host": "...", "os": "linux", "arch": "x86_64"}, "resolvers": ["..."]},
//!   "tenant": {"name": "Contoso" | null, "domains": ["contoso.com"]},
//!   "summary": {"total", "pass", "warn", "fail", "error", "skip", "verdict": "ready|not-ready|inconclusive"},
//!   "results": [{"check", "subject", "status", "severity", "message", "expected", "evidence",
//!                "remediation", "responsibility", "docs", "duration_ms"}],
//!   "responsibilities": [{"id", "seed_ref", "phase", "title", "title_ko", "automated",
//!                         "status": "pass|warn|fail|error|skip|manual", "results": [indices]}] }
//! ```
//!
//! Durations are integer `_ms`, timestamps RFC 3339 UTC, enums lower-case strings. `evidence` is
//! per probe kind (raw observed values); on `error` it is `{"error": {"kind", "message"}}`.
//! `schema_version` goes up on any breaking change.

use std::io::Write;

use super::Report;

/// Renders the report as pretty JSON with a trailing newline.
pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

//! NDJSON: the report as one JSON object per line, written as the scan goes.
//!
//! ```text
//! {"type":"header","schema_version":1,"tool":{…},"run":{…started…},"tenant":{…}}
//! {"type":"result","check":"dns.mx","subject":"contoso.com","status":"pass",…}   one per result,
//! …                                                                               as it finishes
//! {"type":"summary","run":{…finished…},"summary":{…},"responsibilities":[…]}
//! ```
//!
//! A result line holds exactly what an element of the JSON report's `results` holds; the
//! summary line's `responsibilities[].results` index the result lines in order (the first
//! result line is 0). A scan killed mid-run leaves a file without its summary line (and maybe a
//! cut last line): it still reads, saying it is incomplete, with the summary recomputed from the
//! results it holds.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ResponsibilityRow, RunInfo, SCHEMA_VERSION, Summary, TenantInfo, Tool};
use crate::error::ConfigError;
use crate::outcome::CheckResult;

/// The first line.
#[derive(Serialize, Deserialize)]
struct Header {
    schema_version: u32,
    tool: Tool,
    run: RunInfo,
    tenant: TenantInfo,
}

/// The last line.
#[derive(Serialize, Deserialize)]
struct Footer {
    run: RunInfo,
    summary: Summary,
    responsibilities: Vec<ResponsibilityRow>,
}

/// `{"type":"KIND",` + the object's own fields.
fn tagged(kind: &str, object: &impl Serialize) -> String {
    let body = serde_json::to_string(object).unwrap_or_else(|_| "{}".into());
    let rest = body.strip_prefix('{').unwrap_or("}");
    if rest == "}" {
        format!("{{\"type\":\"{kind}\"}}\n")
    } else {
        format!("{{\"type\":\"{kind}\",{rest}\n")
    }
}

/// The header line of a run that is starting.
pub fn header_line(tool: &Tool, run: &RunInfo, tenant: &TenantInfo) -> String {
    tagged(
        "header",
        &Header {
            schema_version: SCHEMA_VERSION,
            tool: tool.clone(),
            run: run.clone(),
            tenant: tenant.clone(),
        },
    )
}

/// One result's line.
pub fn result_line(r: &CheckResult) -> String {
    tagged("result", r)
}

/// The summary line of a finished run (`responsibilities` indexing the result lines).
pub fn summary_line(
    run: &RunInfo,
    summary: &Summary,
    responsibilities: &[ResponsibilityRow],
) -> String {
    tagged(
        "summary",
        &Footer {
            run: run.clone(),
            summary: summary.clone(),
            responsibilities: responsibilities.to_vec(),
        },
    )
}

/// The whole report as NDJSON (`report render --format ndjson`, or a scan writing it at the
/// end).
pub fn render(report: &super::Report, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(header_line(&report.tool, &report.run, &report.tenant).as_bytes())?;
    for r in &report.results {
        out.write_all(result_line(r).as_bytes())?;
    }
    out.write_all(summary_line(&report.run, &report.summary, &report.responsibilities).as_bytes())
}

/// Whether `text` is NDJSON: its first line one object with a `"type"` (a JSON report is one
/// pretty document whose first line is `{`). The parser then says what is wrong with it.
pub fn looks_like(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    serde_json::from_str::<serde_json::Value>(first)
        .is_ok_and(|v| v.get("type").and_then(serde_json::Value::as_str).is_some())
}

/// Reads an NDJSON report: the report, and `Some(why)` when it is incomplete (no summary line:
/// the scan was stopped), its summary then recomputed from the results it holds.
pub fn parse(
    text: &str,
    path: &Path,
    catalog: &crate::catalog::Catalog,
) -> Result<(super::Report, Option<String>), ConfigError> {
    let bad = |line: usize, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message: format!("line {line}: {message}"),
    };
    let mut header: Option<Header> = None;
    let mut results = Vec::new();
    let mut footer: Option<Footer> = None;
    let mut cut = false;
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if footer.is_some() {
            return Err(bad(n, "a line after the summary line".into()));
        }
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // The last line of a file without its final newline: a write cut short.
            Err(_) if n == last && !text.ends_with('\n') => {
                cut = true;
                break;
            }
            Err(e) => return Err(bad(n, format!("not JSON ({e})"))),
        };
        let kind = value.get("type").and_then(serde_json::Value::as_str);
        match (kind, &header) {
            (Some("header"), None) => {
                let version = value
                    .get("schema_version")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0);
                if version > u64::from(SCHEMA_VERSION) || version < 1 {
                    return Err(bad(
                        n,
                        format!(
                            "schema_version {version}: this version reads schema_version {SCHEMA_VERSION}"
                        ),
                    ));
                }
                header = Some(
                    serde_json::from_value(value)
                        .map_err(|e| bad(n, format!("not a valid header line: {e}")))?,
                );
            }
            (_, None) => {
                return Err(bad(
                    n,
                    "not a tenant-ready NDJSON report (the first line is not its header)".into(),
                ));
            }
            (Some("result"), Some(_)) => results.push(
                serde_json::from_value::<CheckResult>(value)
                    .map_err(|e| bad(n, format!("not a result: {e}")))?,
            ),
            (Some("summary"), Some(_)) => {
                footer = Some(
                    serde_json::from_value(value)
                        .map_err(|e| bad(n, format!("not a valid summary line: {e}")))?,
                );
            }
            (_, Some(_)) => {
                return Err(bad(
                    n,
                    "not a result (a line's \"type\" is header, result or summary)".into(),
                ));
            }
        }
    }
    let Some(header) = header else {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            message: "empty: not a tenant-ready NDJSON report".into(),
        });
    };
    let (run, summary, responsibilities, incomplete) = match footer {
        Some(f) => (f.run, f.summary, f.responsibilities, None),
        None => (
            header.run,
            Summary::of(&results, crate::output::FailOn::Fail),
            super::responsibilities(catalog, &results),
            Some(format!(
                "incomplete: the scan stopped after {} results{} (no summary line); this is what it holds",
                results.len(),
                if cut { " and a cut line" } else { "" }
            )),
        ),
    };
    let report = super::Report {
        schema_version: SCHEMA_VERSION,
        tool: header.tool,
        run,
        tenant: header.tenant,
        summary,
        results,
        responsibilities,
    };
    // A summary line is outside input too: its indices must point at result lines (found by
    // the `saved_report` fuzz target: an index past the results crashed the human renderer).
    Ok((super::saved::validated(report, path)?, incomplete))
}

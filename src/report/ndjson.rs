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
    let mut results = Vec::new();
    let read = read(text.as_bytes(), path, |line| {
        results.push(serde_json::from_str::<CheckResult>(line).map_err(|e| e.to_string())?);
        Ok(())
    })?;
    let note = read.incomplete_note(results.len());
    let (run, summary, responsibilities, incomplete) = match read.footer {
        Some(f) => (f.run, f.summary, f.responsibilities, None),
        None => (
            read.header.run,
            Summary::of(&results, crate::output::FailOn::Fail),
            super::responsibilities(catalog, &results),
            Some(note),
        ),
    };
    let report = super::Report {
        schema_version: SCHEMA_VERSION,
        tool: read.header.tool,
        run,
        tenant: read.header.tenant,
        summary,
        results,
        responsibilities,
    };
    // A summary line is outside input too: its indices must point at result lines (found by
    // the `saved_report` fuzz target: an index past the results crashed the human renderer).
    Ok((super::saved::validated(report, path)?, incomplete))
}

/// What [`read`] found besides the results.
pub struct Read {
    /// The header line's tool, run (as it started) and tenant.
    pub header: HeaderParts,
    /// The summary line, when the scan finished.
    pub footer: Option<FooterParts>,
    /// Whether the last line was cut short (a scan killed mid-write).
    pub cut: bool,
}

/// The header line's fields.
pub struct HeaderParts {
    /// Who wrote it.
    pub tool: Tool,
    /// The run as it started.
    pub run: RunInfo,
    /// The tenant.
    pub tenant: TenantInfo,
}

/// The summary line's fields.
pub struct FooterParts {
    /// The run as it finished.
    pub run: RunInfo,
    /// The counts and the verdict.
    pub summary: Summary,
    /// The roll-up, indexing the result lines.
    pub responsibilities: Vec<ResponsibilityRow>,
}

impl Read {
    /// The warning for a file without its summary line that held `results` results.
    pub fn incomplete_note(&self, results: usize) -> String {
        format!(
            "incomplete: the scan stopped after {results} results{} (no summary line); this is what it holds",
            if self.cut { " and a cut line" } else { "" }
        )
    }
}

/// A line's `"type"`, read without building the line's value (the other fields are skipped).
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

/// Reads an NDJSON report line by line, handing each result line's text to `on_result` as it is
/// read, to deserialise as much of it as it needs (so a 1.7 GB file of 1.1 million results is
/// never in memory at once, and a reader needing five fields does not build the evidence); its
/// error becomes `line N: not a result: …`. The summary line's indices are not checked here
/// ([`parse`] and the large-report digest check them against the results they kept).
pub fn read(
    mut input: impl std::io::BufRead,
    path: &Path,
    mut on_result: impl FnMut(&str) -> Result<(), String>,
) -> Result<Read, ConfigError> {
    let bad = |line: usize, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message: format!("line {line}: {message}"),
    };
    let mut header: Option<Header> = None;
    let mut footer: Option<Footer> = None;
    let mut cut = false;
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let got = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        if got == 0 {
            break;
        }
        n += 1;
        let complete = buf.last() == Some(&b'\n');
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        if footer.is_some() {
            return Err(bad(n, "a line after the summary line".into()));
        }
        // Lines this tool writes start with their type: a result line is not scanned twice.
        let kind = if line.starts_with(r#"{"type":"result","#) {
            Some(std::borrow::Cow::Borrowed("result"))
        } else {
            match serde_json::from_str::<Kind<'_>>(&line) {
                Ok(k) => k.kind,
                // The last line of a file without its final newline: a write cut short.
                Err(_) if !complete => {
                    cut = true;
                    break;
                }
                Err(e) => {
                    return Err(
                        if serde_json::from_str::<serde::de::IgnoredAny>(&line).is_ok() {
                            bad(n, format!("not a result ({e})"))
                        } else {
                            bad(n, format!("not JSON ({e})"))
                        },
                    );
                }
            }
        };
        match (kind.as_deref(), &header) {
            (Some("header"), None) => {
                let value: serde_json::Value =
                    serde_json::from_str(&line).map_err(|e| bad(n, format!("not JSON ({e})")))?;
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
            (Some("result"), Some(_)) => match on_result(&line) {
                Ok(()) => {}
                // A result line cut short (the last, without its newline).
                Err(_) if !complete => {
                    cut = true;
                    break;
                }
                Err(e) => return Err(bad(n, format!("not a result: {e}"))),
            },
            (Some("summary"), Some(_)) => {
                footer = Some(
                    serde_json::from_str(&line)
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
    Ok(Read {
        header: HeaderParts {
            tool: header.tool,
            run: header.run,
            tenant: header.tenant,
        },
        footer: footer.map(|f| FooterParts {
            run: f.run,
            summary: f.summary,
            responsibilities: f.responsibilities,
        }),
        cut,
    })
}

//! The NDJSON outputs of a running scan: the header when it starts, each result as it
//! finishes, the summary when it ends (see [`super::ndjson`]). Files are written in place, not
//! atomically: a scan killed mid-run leaves what it found, which `report render` reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ResponsibilityRow, RunInfo, Summary, TenantInfo, Tool, ndjson};
use crate::outcome::{CheckResult, Status};

enum Sink {
    File(PathBuf, std::io::BufWriter<std::fs::File>),
    Stdout,
}

/// The open NDJSON outputs.
pub struct Streams {
    sinks: Vec<Sink>,
    /// Each result's responsibility (interned) and status, in the order written: all the
    /// summary line needs, a few bytes a result however large the result was.
    tally: Vec<(u32, Status)>,
    names: Vec<String>,
    /// The first write error (the scan goes on; the error is reported at the end).
    failed: Option<(PathBuf, std::io::Error)>,
}

impl Streams {
    /// Opens `files` (and stdout when `stdout`), before the scan: a path that cannot be written
    /// stops the scan before it starts.
    pub fn open(files: &[&Path], stdout: bool) -> Result<Option<Self>, (PathBuf, std::io::Error)> {
        let mut sinks = Vec::new();
        for p in files {
            let f = std::fs::File::create(p).map_err(|e| (p.to_path_buf(), e))?;
            sinks.push(Sink::File(p.to_path_buf(), std::io::BufWriter::new(f)));
        }
        if stdout {
            sinks.push(Sink::Stdout);
        }
        Ok((!sinks.is_empty()).then_some(Self {
            sinks,
            tally: Vec::new(),
            names: Vec::new(),
            failed: None,
        }))
    }

    fn write(&mut self, line: &str) {
        for sink in &mut self.sinks {
            let (path, r) = match sink {
                Sink::File(p, w) => (p.as_path(), w.write_all(line.as_bytes())),
                // Line by line: a CI log shows each result as it comes.
                Sink::Stdout => {
                    let mut out = std::io::stdout().lock();
                    let r = out.write_all(line.as_bytes()).and_then(|()| out.flush());
                    // A closed pipe (`| head`) is the reader's choice.
                    let r = match r {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                        other => other,
                    };
                    (Path::new("stdout"), r)
                }
            };
            if let Err(e) = r
                && self.failed.is_none()
            {
                self.failed = Some((path.to_owned(), e));
            }
        }
    }

    /// The first line.
    pub fn header(&mut self, tool: &Tool, run: &RunInfo, tenant: &TenantInfo) {
        self.write(&ndjson::header_line(tool, run, tenant));
    }

    /// One finished result.
    pub fn result(&mut self, r: &CheckResult) {
        // A scan has a few dozen responsibilities: a linear search beats hashing here.
        let id = match self.names.iter().position(|n| *n == r.responsibility) {
            Some(i) => i,
            None => {
                self.names.push(r.responsibility.clone());
                self.names.len() - 1
            }
        };
        self.tally
            .push((u32::try_from(id).unwrap_or(u32::MAX), r.status));
        self.write(&ndjson::result_line(r));
    }

    /// The counts and verdict of what was written.
    pub fn summary(&self, fail_on: crate::output::FailOn) -> Summary {
        Summary::of_statuses(self.tally.iter().map(|(_, s)| *s), fail_on)
    }

    /// The roll-up of what was written, indexing the result lines.
    pub fn responsibilities(&self, catalog: &crate::catalog::Catalog) -> Vec<ResponsibilityRow> {
        let none = String::new();
        super::responsibilities_of(
            catalog,
            self.tally.iter().map(|(id, s)| {
                let name = usize::try_from(*id)
                    .ok()
                    .and_then(|i| self.names.get(i))
                    .unwrap_or(&none);
                (name.as_str(), *s)
            }),
        )
    }

    /// The summary line (`run` finished, `summary` and `rows` from [`Streams::summary`] and
    /// [`Streams::responsibilities`]); then flushes and closes.
    pub fn finish(
        mut self,
        run: &RunInfo,
        summary: &Summary,
        rows: &[ResponsibilityRow],
    ) -> Result<(), (PathBuf, std::io::Error)> {
        let line = ndjson::summary_line(run, summary, rows);
        self.write(&line);
        for sink in &mut self.sinks {
            if let Sink::File(p, w) = sink
                && let Err(e) = w.flush()
                && self.failed.is_none()
            {
                self.failed = Some((p.clone(), e));
            }
        }
        match self.failed {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}

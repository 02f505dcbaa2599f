//! The NDJSON outputs of a running scan: the header when it starts, each result as it
//! finishes, the summary when it ends (see [`super::ndjson`]). Files are written in place, not
//! atomically: a scan killed mid-run leaves what it found, which `report render` reads.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Report, RunInfo, TenantInfo, Tool, ndjson};
use crate::outcome::CheckResult;

enum Sink {
    File(PathBuf, std::io::BufWriter<std::fs::File>),
    Stdout,
}

/// The open NDJSON outputs.
pub struct Streams {
    sinks: Vec<Sink>,
    /// (check, subject) of each result in the order written: the summary line's indices.
    order: Vec<(String, String)>,
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
            order: Vec::new(),
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
        self.order.push((r.check.clone(), r.subject.clone()));
        self.write(&ndjson::result_line(r));
    }

    /// The summary line, its indices those of the lines as written; then flushes and closes.
    pub fn finish(mut self, report: &Report) -> Result<(), (PathBuf, std::io::Error)> {
        let at: HashMap<(&str, &str), usize> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, (c, s))| ((c.as_str(), s.as_str()), i))
            .collect();
        let mut rows = report.responsibilities.clone();
        for row in &mut rows {
            let mut idx: Vec<usize> = row
                .results
                .iter()
                .filter_map(|&i| report.results.get(i))
                .filter_map(|r| at.get(&(r.check.as_str(), r.subject.as_str())).copied())
                .collect();
            idx.sort_unstable();
            row.results = idx;
        }
        let line = ndjson::summary_line(&report.run, &report.summary, &rows);
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

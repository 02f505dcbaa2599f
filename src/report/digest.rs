//! A large report's digest: what its HTML and Markdown show, a few bytes per result.
//!
//! A 100,000-domain scan has 1.1 million results. Rendered like a small one (every result a row
//! with its evidence), its HTML was 1.6 GB and took 49 s and 6.3 GB of memory to write from its
//! NDJSON (issue 29). Past [`LARGE`] results the HTML and Markdown lead with the summary, the
//! subjects that have problems and the first [`MAX_PROBLEMS`] findings, then fold the full matrix
//! into pages of [`PAGE`] subjects; the evidence stays in the JSON or NDJSON report. The digest
//! holds one [`Cell`] per result (subject, check, responsibility, status: 12 bytes) and the shown
//! findings whole, so it is built in one pass over a report in memory or read line by line from
//! an NDJSON file, and the renderers ([`super::large`]) are linear in the results.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::{Report, responsibilities_of, saved};
use crate::catalog::Catalog;
use crate::error::ConfigError;
use crate::outcome::{CheckResult, Evidence, Status};
use crate::output::FailOn;

/// Results above which the HTML and Markdown reports render the digest (about 1,800 domains
/// with every check): below it a page with every result and its evidence stays readable.
pub const LARGE: usize = 20_000;

/// Findings (fail, then error, then warn) shown whole.
pub const MAX_PROBLEMS: usize = 1_000;

/// Subjects with problems listed before the matrix.
pub const MAX_SUBJECTS: usize = 1_000;

/// Subjects per folded page of the matrix.
pub const PAGE: usize = 1_000;

/// One result, as the matrix and the roll-up need it.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    /// Index into [`Digest::subjects`].
    pub subject: u32,
    /// Index into [`Digest::checks`].
    pub check: u16,
    /// Index into the responsibilities seen (for a recomputed roll-up).
    resp: u16,
    /// The verdict.
    pub status: Status,
}

/// What a large report's HTML and Markdown are drawn from.
pub struct Digest {
    /// The report's header, summary and responsibilities (whose indices are result numbers, so
    /// [`Self::cells`] indexes them); its `results` are empty.
    pub report: Report,
    /// Subjects (with the site, in a merged report), in the order of the results.
    pub subjects: Vec<String>,
    /// Check ids, in the order of the results.
    pub checks: Vec<String>,
    /// One per result, in the report's order.
    pub cells: Vec<Cell>,
    /// The findings shown: at most [`MAX_PROBLEMS`], fail first, then error, then warn, each in
    /// the report's order, without their evidence.
    pub problems: Vec<CheckResult>,
    /// Every finding (warn, fail, error), shown or not.
    pub problems_total: usize,
}

/// Builds a digest one result at a time.
#[derive(Default)]
struct Builder {
    subjects: Vec<String>,
    subject_ix: HashMap<String, u32>,
    checks: Vec<String>,
    check_ix: HashMap<String, u16>,
    resps: Vec<String>,
    resp_ix: HashMap<String, u16>,
    cells: Vec<Cell>,
    /// Kept findings by status: fail, error, warn.
    kept: [Vec<CheckResult>; 3],
    problems_total: usize,
}

/// The index of `key` in `list`, adding it; `None` past `max` distinct keys (a hand-made
/// report with more subjects or checks than an index holds).
fn intern<T: TryFrom<usize> + Copy>(
    list: &mut Vec<String>,
    ix: &mut HashMap<String, T>,
    key: &str,
) -> Option<T> {
    if let Some(&i) = ix.get(key) {
        return Some(i);
    }
    let i = T::try_from(list.len()).ok()?;
    list.push(key.to_owned());
    ix.insert(key.to_owned(), i);
    Some(i)
}

/// The fields of a result line the matrix needs, read without the rest (the evidence and the
/// texts are most of a line): 1.1 million lines read in a fraction of the time a whole result
/// takes. A finding that is kept is read again whole.
#[derive(Deserialize)]
struct Lean<'a> {
    #[serde(borrow)]
    check: Cow<'a, str>,
    #[serde(borrow)]
    subject: Cow<'a, str>,
    status: Status,
    #[serde(borrow)]
    responsibility: Cow<'a, str>,
    #[serde(default, borrow)]
    site: Option<Cow<'a, str>>,
}

impl Builder {
    fn add(&mut self, r: &CheckResult) -> Result<(), String> {
        let lean = Lean {
            check: Cow::Borrowed(&r.check),
            subject: Cow::Borrowed(&r.subject),
            status: r.status,
            responsibility: Cow::Borrowed(&r.responsibility),
            site: r.site.as_deref().map(Cow::Borrowed),
        };
        self.add_lean(&lean, || Ok(r.clone()))
    }

    /// Adds a result from its [`Lean`] fields; `whole` gives the result when it is kept.
    fn add_lean(
        &mut self,
        r: &Lean<'_>,
        whole: impl FnOnce() -> Result<CheckResult, String>,
    ) -> Result<(), String> {
        let too_many = |what: &str| format!("more distinct {what} than a report can hold");
        let subject = match &r.site {
            Some(site) => intern(
                &mut self.subjects,
                &mut self.subject_ix,
                &format!("{} @ {site}", r.subject),
            ),
            None => intern(&mut self.subjects, &mut self.subject_ix, &r.subject),
        }
        .ok_or_else(|| too_many("subjects"))?;
        let check = intern(&mut self.checks, &mut self.check_ix, &r.check)
            .ok_or_else(|| too_many("checks"))?;
        let resp = intern(&mut self.resps, &mut self.resp_ix, &r.responsibility)
            .ok_or_else(|| too_many("responsibilities"))?;
        self.cells.push(Cell {
            subject,
            check,
            resp,
            status: r.status,
        });
        let slot = match r.status {
            Status::Fail => 0,
            Status::Error => 1,
            Status::Warn => 2,
            Status::Pass | Status::Skip => return Ok(()),
        };
        self.problems_total += 1;
        // Each status keeps up to the whole quota: fails first, whatever order they came in.
        if self.kept[slot].len() < MAX_PROBLEMS {
            let mut kept = whole()?;
            kept.evidence = Evidence::null();
            self.kept[slot].push(kept);
        }
        Ok(())
    }

    /// The recomputed summary and roll-up (an NDJSON file cut before its summary line).
    fn totals(&self, catalog: &Catalog) -> (super::Summary, Vec<super::ResponsibilityRow>) {
        (
            super::Summary::of_statuses(self.cells.iter().map(|c| c.status), FailOn::Fail),
            responsibilities_of(
                catalog,
                self.cells
                    .iter()
                    .map(|c| (self.resps[usize::from(c.resp)].as_str(), c.status)),
            ),
        )
    }

    /// The digest, with the report's header, summary and roll-up.
    fn finish(
        self,
        mut report: Report,
        (summary, responsibilities): (super::Summary, Vec<super::ResponsibilityRow>),
    ) -> Digest {
        report.summary = summary;
        report.responsibilities = responsibilities;
        report.results = Vec::new();
        let mut problems: Vec<CheckResult> = self.kept.into_iter().flatten().collect();
        problems.truncate(MAX_PROBLEMS);
        Digest {
            report,
            subjects: self.subjects,
            checks: self.checks,
            cells: self.cells,
            problems,
            problems_total: self.problems_total,
        }
    }
}

impl Digest {
    /// The digest of a report in memory (a scan's, or a saved JSON report's).
    pub fn of(report: &Report) -> Result<Self, String> {
        let mut b = Builder::default();
        for r in &report.results {
            b.add(r)?;
        }
        let header = Report {
            schema_version: report.schema_version,
            tool: report.tool.clone(),
            run: report.run.clone(),
            tenant: report.tenant.clone(),
            summary: report.summary.clone(),
            responsibilities: Vec::new(),
            results: Vec::new(),
        };
        let totals = (report.summary.clone(), report.responsibilities.clone());
        Ok(b.finish(header, totals))
    }

    /// Reads an NDJSON report into a digest line by line (never the whole file in memory):
    /// the digest and, for a file without its summary line, the warning saying so.
    pub fn read_ndjson(
        input: impl std::io::BufRead,
        path: &Path,
        catalog: &Catalog,
    ) -> Result<(Self, Option<String>), ConfigError> {
        let mut b = Builder::default();
        let read = super::ndjson::read(input, path, |line| {
            let lean: Lean<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
            b.add_lean(&lean, || {
                serde_json::from_str::<CheckResult>(line).map_err(|e| e.to_string())
            })
        })?;
        let n = b.cells.len();
        let note = read.footer.is_none().then(|| read.incomplete_note(n));
        let (run, totals) = match read.footer {
            Some(f) => {
                // Outside input: the roll-up's indices must name result lines, once each.
                saved::check_indices(&f.responsibilities, n, path)?;
                (f.run, (f.summary, f.responsibilities))
            }
            None => (read.header.run, b.totals(catalog)),
        };
        let header = Report {
            schema_version: super::SCHEMA_VERSION,
            tool: read.header.tool,
            run,
            tenant: read.header.tenant,
            summary: totals.0.clone(),
            responsibilities: Vec::new(),
            results: Vec::new(),
        };
        Ok((b.finish(header, totals), note))
    }

    /// The number of results.
    pub fn results(&self) -> usize {
        self.cells.len()
    }

    /// Each subject's cells (indices into [`Self::cells`]), subjects in order: one counting
    /// sort, linear in the results.
    pub fn by_subject(&self) -> Vec<Vec<u32>> {
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); self.subjects.len()];
        for (i, c) in self.cells.iter().enumerate() {
            if let (Some(row), Ok(i)) = (rows.get_mut(c.subject as usize), u32::try_from(i)) {
                row.push(i);
            }
        }
        rows
    }

    /// Those of `cells` that are findings (warn, fail or error).
    pub fn problem_cells<'a>(&'a self, cells: &'a [u32]) -> impl Iterator<Item = Cell> + 'a {
        cells
            .iter()
            .filter_map(|&i| self.cells.get(i as usize).copied())
            .filter(|c| matches!(c.status, Status::Warn | Status::Fail | Status::Error))
    }

    /// The worst status among `cells`.
    pub fn worst(&self, cells: &[u32]) -> Status {
        cells
            .iter()
            .filter_map(|&i| self.cells.get(i as usize))
            .map(|c| c.status)
            .max_by_key(|s| s.weight())
            .unwrap_or(Status::Skip)
    }
}

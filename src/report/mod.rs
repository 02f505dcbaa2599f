//! The report model (a DTO separate from the probes' types) and its renderers, one file per
//! format. Renderers write to any `io::Write` and never do network I/O; [`write_atomic`] puts a
//! rendered report in place so a reader never sees half a file.

pub mod charts;
pub mod digest;
pub mod directory_csv;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod large;
pub mod markdown;
pub mod ndjson;
pub mod saved;
pub mod stream;
pub mod wrap;

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::outcome::{CheckResult, Status};
use crate::output::{FailOn, Lang};

/// Bumped on any breaking change of the JSON shape (DESIGN.md §6).
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report (DESIGN.md §6).
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// JSON schema version.
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// Run metadata.
    pub run: RunInfo,
    /// What was scanned.
    pub tenant: TenantInfo,
    /// Counts and verdict.
    pub summary: Summary,
    /// One row per check and subject, in plan order.
    pub results: Vec<CheckResult>,
    /// Every responsibility with its roll-up status and result indices.
    pub responsibilities: Vec<ResponsibilityRow>,
}

/// Tool name and version.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    /// `tenant-ready`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// Run metadata.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunInfo {
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub finished_at: String,
    /// Wall time.
    pub duration_ms: u64,
    /// Where the scan ran from.
    pub vantage: Vantage,
    /// The DNS resolvers used.
    pub resolvers: Vec<String>,
    /// `K/N` when the run scanned one shard (`--shard`); absent for a whole scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// Where the scan ran from (network checks differ per site).
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Vantage {
    /// Host name, when known.
    pub host: Option<String>,
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
}

impl Vantage {
    /// This machine.
    pub fn local() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty());
        Self {
            host,
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
        }
    }
}

/// What was scanned.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TenantInfo {
    /// Display name.
    pub name: Option<String>,
    /// Domains, normalised.
    pub domains: Vec<String>,
}

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing failed (and nothing warned with `--fail-on warn`), everything determined.
    Ready,
    /// Something failed.
    NotReady,
    /// Nothing failed, but something could not be determined.
    Inconclusive,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::NotReady => "not-ready",
            Self::Inconclusive => "inconclusive",
        }
    }
}

/// Counts and verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// Results.
    pub total: usize,
    /// Passed.
    pub pass: usize,
    /// Warned.
    pub warn: usize,
    /// Failed.
    pub fail: usize,
    /// Could not be determined.
    pub error: usize,
    /// Not applicable.
    pub skip: usize,
    /// The verdict.
    pub verdict: Verdict,
}

impl Summary {
    /// Counts the results and decides the verdict.
    pub fn of(results: &[CheckResult], fail_on: FailOn) -> Self {
        Self::of_statuses(results.iter().map(|r| r.status), fail_on)
    }

    /// [`Summary::of`] from the statuses alone (a streamed scan keeps no results).
    pub fn of_statuses(statuses: impl Iterator<Item = Status>, fail_on: FailOn) -> Self {
        let (mut pass, mut warn, mut fail, mut error, mut skip) = (0, 0, 0, 0, 0);
        for st in statuses {
            *match st {
                Status::Pass => &mut pass,
                Status::Warn => &mut warn,
                Status::Fail => &mut fail,
                Status::Error => &mut error,
                Status::Skip => &mut skip,
            } += 1;
        }
        let verdict = if fail > 0 || (fail_on == FailOn::Warn && warn > 0) {
            Verdict::NotReady
        } else if error > 0 {
            Verdict::Inconclusive
        } else {
            Verdict::Ready
        };
        Self {
            total: pass + warn + fail + error + skip,
            pass,
            warn,
            fail,
            error,
            skip,
            verdict,
        }
    }
}

/// The JSON Schema of the export (`tenant-ready schema`; committed as `schema/report.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Renders `report` in `format` (human options apply to the human format; HTML and Markdown
/// follow its language).
pub fn render_format(
    report: &Report,
    format: crate::output::Format,
    o: human::HumanOptions,
) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    render_format_to(report, format, o, &mut buf)?;
    Ok(buf)
}

/// [`render_format`] into a writer (a report file streams there as it is serialised).
pub fn render_format_to(
    report: &Report,
    format: crate::output::Format,
    o: human::HumanOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::output::Format;
    match format {
        Format::Human => human::render(report, o, out),
        Format::Json => json::render(report, out),
        Format::Markdown | Format::Html if report.results.len() > digest::LARGE => {
            let d = digest::Digest::of(report).map_err(std::io::Error::other)?;
            if format == Format::Html {
                large::html(&d, o.lang, out)
            } else {
                large::markdown(&d, o.lang, out)
            }
        }
        Format::Markdown => markdown::render(report, o.lang, out),
        Format::Junit => junit::render(report, out),
        Format::Html => html::render(report, o.lang, out),
        Format::Ndjson => ndjson::render(report, out),
    }
}

/// Exit codes (DESIGN.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: ready.
    Ready = 0,
    /// 1: not ready.
    NotReady = 1,
    /// 2: usage or configuration error (nothing ran).
    Usage = 2,
    /// 3: inconclusive.
    Inconclusive = 3,
}

/// The exit code of a finished scan: a pure function of the verdict.
pub fn exit_code(summary: &Summary) -> Exit {
    match summary.verdict {
        Verdict::Ready => Exit::Ready,
        Verdict::NotReady => Exit::NotReady,
        Verdict::Inconclusive => Exit::Inconclusive,
    }
}

/// Roll-up status of a responsibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResponsibilityStatus {
    /// All its results passed.
    Pass,
    /// Worst result warned.
    Warn,
    /// A result failed.
    Fail,
    /// A result could not be determined (and none failed).
    Error,
    /// Automated, but no check of it ran in this scan.
    Skip,
    /// Organisational: on the manual checklist.
    Manual,
}

impl ResponsibilityStatus {
    /// The lower-case name (JSON, `data-status`, and the `status.*` words of the reports).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Error => "error",
            Self::Skip => "skip",
            Self::Manual => "manual",
        }
    }
}

impl From<Status> for ResponsibilityStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Pass => Self::Pass,
            Status::Warn => Self::Warn,
            Status::Fail => Self::Fail,
            Status::Error => Self::Error,
            Status::Skip => Self::Skip,
        }
    }
}

/// A responsibility in the report.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponsibilityRow {
    /// Id.
    pub id: String,
    /// Seed line.
    pub seed_ref: String,
    /// Phase.
    pub phase: String,
    /// English text.
    pub title: String,
    /// Korean text (the seed's line).
    pub title_ko: String,
    /// A corrected Korean translation, where the seed's misleads (shown beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_ko_corrected: Option<String>,
    /// Verified by tenant-ready.
    pub automated: bool,
    /// Roll-up.
    pub status: ResponsibilityStatus,
    /// Indices into `results`.
    pub results: Vec<usize>,
}

impl ResponsibilityRow {
    /// The title in `lang` (Korean: the seed's line, with the corrected one beside it).
    pub fn title_in(&self, lang: Lang) -> std::borrow::Cow<'_, str> {
        crate::i18n::title(
            &self.title,
            &self.title_ko,
            self.title_ko_corrected.as_deref(),
            lang,
        )
    }
}

/// Builds the responsibility roll-up.
pub fn responsibilities(catalog: &Catalog, results: &[CheckResult]) -> Vec<ResponsibilityRow> {
    responsibilities_of(
        catalog,
        results
            .iter()
            .map(|r| (r.responsibility.as_str(), r.status)),
    )
}

/// [`responsibilities`] from each result's responsibility and status, in result order (a
/// streamed scan keeps only these). One pass, whatever the number of results.
pub fn responsibilities_of<'a>(
    catalog: &Catalog,
    results: impl Iterator<Item = (&'a str, Status)>,
) -> Vec<ResponsibilityRow> {
    let row_of: std::collections::HashMap<&str, usize> = catalog
        .responsibilities
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut idx: Vec<Vec<usize>> = vec![Vec::new(); catalog.responsibilities.len()];
    let mut worst: Vec<Status> = vec![Status::Skip; catalog.responsibilities.len()];
    for (i, (resp, status)) in results.enumerate() {
        if let Some(&row) = row_of.get(resp) {
            idx[row].push(i);
            worst[row] = worst[row].worst(status);
        }
    }
    catalog
        .responsibilities
        .iter()
        .zip(idx.into_iter().zip(worst))
        .map(|(r, (idx, worst))| {
            let status = if !r.automated && idx.is_empty() {
                ResponsibilityStatus::Manual
            } else {
                worst.into()
            };
            ResponsibilityRow {
                id: r.id.clone(),
                seed_ref: r.seed_ref.clone(),
                phase: r.phase.clone(),
                title: r.title.clone(),
                title_ko: r.title_ko.clone(),
                title_ko_corrected: r.title_ko_corrected.clone(),
                automated: r.automated,
                status,
                results: idx,
            }
        })
        .collect()
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers see the old file or the new one, never a half-written one.
///
/// The temporary file has a random name and is created exclusively (`O_EXCL`), so a symlink
/// planted at a guessable name cannot redirect the write; it gets the old file's permissions (a
/// tenant.toml kept at 0600 stays 0600), or the usual ones for a new file; and the directory is
/// synced after the rename, so the new name survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] of what `fill` writes (through a buffer), so a large report streams to disk
/// instead of being built in memory first.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        // A new file: 0666 less the umask, as `File::create` would give it.
        std::fs::Permissions::from_mode(
            std::fs::metadata(path).map_or(0o666, |m| m.permissions().mode() & 0o7777),
        )
    };
    #[cfg(unix)]
    builder.permissions(mode.clone());
    let mut tmp = builder.tempfile_in(dir)?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    // The umask applied at creation; an existing file's exact mode is restored.
    #[cfg(unix)]
    if path.exists() {
        tmp.as_file().set_permissions(mode)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn atomic_writes_keep_the_mode_and_never_follow_a_planted_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenant.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        // The name the old code used for its temporary file, pointing at a file it must not touch.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        let planted = dir
            .path()
            .join(format!(".tenant.toml.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A new file gets ordinary permissions, not the temporary file's 0600.
        let fresh = dir.path().join("report.json");
        write_atomic(&fresh, b"{}").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode & 0o044, 0, "{mode:o}");
        // Nothing is left behind but the planted link.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                Path::new(n)
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("tmp"))
            })
            .collect();
        assert_eq!(left, [planted.file_name().unwrap().to_string_lossy()]);
    }

    fn result(status: Status) -> CheckResult {
        CheckResult {
            check: "dns.mx".into(),
            subject: "a.com".into(),
            status,
            severity: crate::outcome::Severity::Major,
            message: String::new(),
            expected: None,
            message_text: vec![],
            expected_text: vec![],
            evidence: crate::outcome::Evidence::null(),
            remediation: None,
            responsibility: "enable.dns-records".into(),
            docs: None,
            duration_ms: 0,
            remediation_ko: None,
            site: None,
        }
    }

    fn exit_for(counts: [usize; 5], fail_on: FailOn) -> Exit {
        let statuses = [
            Status::Pass,
            Status::Warn,
            Status::Fail,
            Status::Error,
            Status::Skip,
        ];
        let results: Vec<CheckResult> = statuses
            .iter()
            .zip(counts)
            .flat_map(|(s, n)| std::iter::repeat_n(result(*s), n))
            .collect();
        let s = Summary::of(&results, fail_on);
        assert_eq!(s.total, counts.iter().sum::<usize>());
        exit_code(&s)
    }

    #[test]
    fn exit_code_table() {
        // [pass, warn, fail, error, skip]
        let cases = [
            ([3, 0, 0, 0, 0], FailOn::Fail, Exit::Ready),
            ([3, 1, 0, 0, 0], FailOn::Fail, Exit::Ready),
            ([3, 1, 0, 0, 0], FailOn::Warn, Exit::NotReady),
            ([3, 0, 1, 0, 0], FailOn::Fail, Exit::NotReady),
            ([3, 0, 1, 1, 0], FailOn::Fail, Exit::NotReady),
            ([3, 0, 0, 1, 0], FailOn::Fail, Exit::Inconclusive),
            ([3, 1, 0, 1, 0], FailOn::Warn, Exit::NotReady),
            ([0, 0, 0, 0, 2], FailOn::Fail, Exit::Ready),
            ([0, 0, 0, 0, 0], FailOn::Fail, Exit::Ready),
        ];
        for (counts, on, want) in cases {
            assert_eq!(exit_for(counts, on), want, "{counts:?} {on:?}");
        }
    }
}

//! What the user asked the output to be: the report format, its language, and what makes a run
//! not ready. The report layer and the vocabulary use these; the command line (`cli`) only maps
//! flags onto them (they derive clap's `ValueEnum` for that), so renderers never depend on `cli`.

use clap::ValueEnum;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terminal report grouped by responsibility.
    Human,
    /// The JSON export (DESIGN.md §6).
    Json,
    /// Markdown for wiki pages and pull requests.
    Markdown,
    /// JUnit XML for CI test tabs.
    Junit,
    /// One self-contained HTML page for meetings (no external assets).
    Html,
    /// One JSON object per line, each result as it finishes, then a summary line (streams).
    Ndjson,
}

impl Format {
    /// Parses `json`, `junit`… (for `--report FORMAT=PATH`).
    pub fn parse(s: &str) -> Option<Self> {
        <Self as ValueEnum>::from_str(s, true).ok()
    }
}

/// `--fail-on`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only failures make the run not ready.
    #[default]
    Fail,
    /// Warnings too.
    Warn,
}

/// `--lang`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Korean (responsibility titles from the seed's ko-KR text).
    Ko,
}

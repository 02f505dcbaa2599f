//! Errors in what the user gave us (flags, tenant.toml, check files): each prints as one line that
//! names the place (file:line:column, or the field) and maps to exit code 2, before anything runs.

use std::path::{Path, PathBuf};

/// A usage or configuration error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Malformed TOML or a wrong key/type, with its position.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A well-formed file with an invalid value.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A bad flag or argument.
    #[error("{0}")]
    Usage(String),
    /// A file that cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    /// Stable label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "syntax",
            Self::Invalid { .. } => "invalid",
            Self::Usage(_) => "usage",
            Self::Read { .. } => "read",
        }
    }

    /// A TOML parse error located in `source` (read from `path`), on one line.
    pub fn from_toml(path: &Path, source: &str, err: &toml::de::Error) -> Self {
        let (line, column) = err
            .span()
            .map_or((1, 1), |span| line_col(source, span.start));
        // toml's message can span lines (it quotes the input); keep the first line only.
        let message = err
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .trim()
            .to_owned();
        Self::Syntax {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_offsets() {
        assert_eq!(line_col("abc\ndef", 0), (1, 1));
        assert_eq!(line_col("abc\ndef", 5), (2, 2));
        assert_eq!(line_col("가나\nx", 7), (2, 1));
    }
}

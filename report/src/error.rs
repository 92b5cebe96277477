//! Errors of the report reader; each names the file and, where there is one, the line.
use std::path::PathBuf;

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The report file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is empty: not even a header row.
    #[error("{}: empty report (no header row)", path.display())]
    Empty {
        /// The report file.
        path: PathBuf,
    },
    /// The file holds NUL bytes or is UTF-16: not a CSV text export.
    #[error("{}:{line}: not a CSV text file ({what})", path.display())]
    NotText {
        /// The report file.
        path: PathBuf,
        /// Line where it was noticed.
        line: u64,
        /// What gave it away.
        what: &'static str,
    },
    /// No e-mail column: lists the columns that were found.
    #[error("{}: no e-mail column{}; columns found: {}", path.display(),
        configured.as_ref().map(|c| format!(" (looked for {c:?})")).unwrap_or_default(),
        found.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "))]
    NoEmailColumn {
        /// The report file.
        path: PathBuf,
        /// The configured column name, when one was configured.
        configured: Option<String>,
        /// The header texts of the columns found.
        found: Vec<String>,
    },
    /// A column named in the mailing's `[columns]` overrides is not in the report.
    #[error("{}: column {name:?} (configured for {role}) not found; columns found: {}", path.display(),
        found.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "))]
    MissingColumn {
        /// The report file.
        path: PathBuf,
        /// Which well-known column (`customer_id`, ...).
        role: &'static str,
        /// The configured name.
        name: String,
        /// The header texts of the columns found.
        found: Vec<String>,
    },
    /// A row has fewer fields than the header (a truncated or broken export).
    #[error("{}:{line}: row has {found} fields, the header has {expected} (truncated or broken export?)", path.display())]
    FieldCount {
        /// The report file.
        path: PathBuf,
        /// Line where the record starts.
        line: u64,
        /// Number of header columns.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },
    /// A quoted field is still open at the end of the file (a truncated export).
    #[error("{}:{line}: quoted field not closed before the end of the file (truncated export?)", path.display())]
    UnclosedQuote {
        /// The report file.
        path: PathBuf,
        /// Line where the record starts.
        line: u64,
    },
    /// The CSV parser failed.
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        /// The report file.
        path: PathBuf,
        /// Line where it happened (0 when unknown).
        line: u64,
        /// The parser's message.
        message: String,
    },
}

impl ReportError {
    /// The report file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ReportError::Io { path, .. }
            | ReportError::Empty { path }
            | ReportError::NotText { path, .. }
            | ReportError::NoEmailColumn { path, .. }
            | ReportError::MissingColumn { path, .. }
            | ReportError::FieldCount { path, .. }
            | ReportError::UnclosedQuote { path, .. }
            | ReportError::Csv { path, .. } => path,
        }
    }
}

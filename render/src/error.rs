//! Errors of preparing and rendering.
use mm_mailing::Place;

/// Why a mailing cannot be prepared or a message not rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A merge field matches no column (run `check`: it lists them all).
    #[error("unknown merge field [{field}] in {place}")]
    UnknownField {
        /// The field name.
        field: String,
        /// Where it is used.
        place: Place,
    },
    /// `from` is not a valid address.
    #[error("the sender (from = {0:?}) is not a valid address")]
    BadSender(String),
    /// The report's columns do not fit the mailing (no e-mail column, missing override).
    #[error("{0}")]
    Report(String),
    /// The row does not have one value per column.
    #[error("row has {found} values, the report has {expected} columns")]
    RowWidth {
        /// Columns.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// The HTML could not be converted to text.
    #[error("deriving the text alternative failed: {0}")]
    Text(String),
}

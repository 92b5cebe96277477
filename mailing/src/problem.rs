//! Validation problems of a mailing: typed, serialisable, readable.
use serde::Serialize;
use std::fmt;

/// Where in the mailing a merge field was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The subject.
    Subject,
    /// The HTML body.
    Html,
    /// The plain-text body.
    Text,
    /// A per-mailing header (its name).
    Header(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Subject => f.write_str("subject"),
            Place::Html => f.write_str("HTML body"),
            Place::Text => f.write_str("text body"),
            Place::Header(h) => write!(f, "header {h}"),
        }
    }
}

/// What a file of the mailing is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// The HTML body (`html`).
    Html,
    /// The text body (`text`).
    Text,
    /// An attachment (`attachments`).
    Attachment,
    /// An image referenced by the HTML.
    Image,
    /// The report (`report`, in DATA/reports).
    Report,
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Html => "HTML body",
            FileRole::Text => "text body",
            FileRole::Attachment => "attachment",
            FileRole::Image => "image",
            FileRole::Report => "report",
        })
    }
}

/// One reason why a mailing cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// A `[Field]` that matches no column of the report.
    UnknownField {
        /// The name between the brackets.
        field: String,
        /// Where it is used.
        place: Place,
        /// The closest column, when one is close.
        suggestion: Option<String>,
    },
    /// A file named by the mailing does not exist.
    MissingFile {
        /// What the file is for.
        role: FileRole,
        /// The name as written.
        path: String,
    },
    /// A file name leads out of the mailing folder (`../`, absolute, symlink).
    OutsideFolder {
        /// What the file is for.
        role: FileRole,
        /// The name as written.
        path: String,
    },
    /// A file exists but cannot be read.
    Unreadable {
        /// What the file is for.
        role: FileRole,
        /// The name as written.
        path: String,
        /// Why.
        message: String,
    },
    /// `from` or `reply_to` is not an address.
    BadAddress {
        /// The key (`from`, `reply_to`).
        key: String,
        /// The value.
        value: String,
    },
    /// A per-mailing header that cannot be used.
    BadHeader {
        /// The header name.
        name: String,
        /// Why.
        message: String,
    },
    /// The subject is empty.
    EmptySubject,
    /// The report cannot be read (the reader's message, with file and line).
    Report {
        /// The message.
        message: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownField {
                field,
                place,
                suggestion,
            } => {
                write!(f, "unknown merge field [{field}] in {place}")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean [{s}]?)")?;
                }
                Ok(())
            }
            Problem::MissingFile { role, path } => write!(f, "{role} {path:?}: file not found"),
            Problem::OutsideFolder { role, path } => {
                write!(f, "{role} {path:?}: path leaves the mailing folder")
            }
            Problem::Unreadable {
                role,
                path,
                message,
            } => write!(f, "{role} {path:?}: {message}"),
            Problem::BadAddress { key, value } => {
                write!(f, "{key} = {value:?} is not an e-mail address")
            }
            Problem::BadHeader { name, message } => write!(f, "header {name:?}: {message}"),
            Problem::EmptySubject => f.write_str("the subject is empty"),
            Problem::Report { message } => write!(f, "report: {message}"),
        }
    }
}

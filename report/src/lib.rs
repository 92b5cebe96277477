//! Streaming import of CRM "General Report" CSV exports (SPEC §4).
//!
//! A report is read one record at a time and is never held in memory, so a million-row export
//! costs the same memory as a ten-row one.
//!
//! # Layout
//! - [`sniff`]: what kind of file this is — delimiter (`,` `;` TAB), UTF-8 (with or without
//!   BOM) or Windows-1252, binary garbage — decided from the first 64 KiB.
//! - [`columns`]: the e-mail column and the optional well-known columns (customer id and name,
//!   contact id, the two mailing-block flags), found by configured name or by usual headers.
//! - [`reader`]: [`Report`], the streaming reader yielding [`Row`]s.
//! - [`error`]: [`ReportError`], every failure with file and line.
//!
//! # Public API
//! ```no_run
//! use mm_report::{ColumnNames, Report};
//! # fn main() -> Result<(), mm_report::ReportError> {
//! let mut report = Report::open("kunden.csv".as_ref(), &ColumnNames::default())?;
//! let email = report.well_known().email;            // index of the e-mail column
//! println!("columns: {:?}", report.columns());      // header texts = merge-field names
//! for row in &mut report {
//!     let row = row?;                               // errors carry file and line
//!     println!("line {}: {}", row.line, row.values[email]);
//! }
//! # Ok(()) }
//! ```
//!
//! Decoding is decided per file: when the first 64 KiB are not UTF-8 the whole file is read as
//! Windows-1252. A file that looked like UTF-8 but has a field later on that is not valid
//! UTF-8 gets that field decoded as Windows-1252 (a CRM that mixes encodings loses nothing).
#![deny(missing_docs)]

pub mod columns;
pub mod error;
pub mod reader;
pub mod sniff;

pub use columns::{is_truthy, ColumnNames, WellKnown};
pub use error::ReportError;
pub use reader::{Report, Row};
pub use sniff::TextEncoding;

//! A mailing (SPEC §5): its `mailing.toml`, its content files, merge fields, and the recipient
//! list built from its report.
//!
//! # Layout
//! - [`spec`]: [`MailingSpec`], the parsed `mailing.toml`, and [`Mailbox`] (`Name <addr>`).
//! - [`mailing`]: [`Mailing::load`] — reads the folder (HTML, text, images, attachments),
//!   keeps every path inside it, computes the content hash, collects [`Problem`]s.
//! - [`merge`]: the `[Column]` merge-field parser and the lookup of fields in the report's
//!   columns (with "did you mean" suggestions).
//! - [`images`]: finding `<img src="logo.png">` references to local files in the HTML.
//! - [`paths`]: resolving a file name inside the mailing folder, refusing `../`, absolute
//!   paths and symlinks that lead out.
//! - [`problem`]: [`Problem`], a typed validation problem with a readable `Display`.
//! - [`recipients`]: [`RecipientList`], the streaming recipient list with `send` and the
//!   [`SkipReason`](mm_domain::SkipReason), and its [`Counts`].
//! - [`address`]: the syntax check for e-mail addresses.
//!
//! # Public API in short
//! ```no_run
//! use mm_mailing::{Mailing, RecipientList};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mailing = Mailing::load("data/mailings/fruehjahr".as_ref())?;
//! let mut list = RecipientList::for_mailing(&mailing, "data/reports".as_ref())?
//!     .with_suppression(|addr| addr.ends_with("@blocked.example"));
//! let problems = mailing.validate(list.columns());   // empty = ready to send
//! for r in &mut list {
//!     let r = r?;                                   // Recipient { index, email, send, skip, values, .. }
//! }
//! println!("{}", list.counts());                    // total, to send, blocked, invalid, ...
//! # let _ = problems; Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod address;
pub mod images;
pub mod mailing;
pub mod merge;
pub mod paths;
pub mod problem;
pub mod recipients;
mod repeats;
mod seen;
pub mod spec;

pub use mailing::{FileContent, Mailing, MailingError};
pub use mm_domain::SkipReason;
pub use mm_report::{ColumnNames, Report, ReportError, Row, WellKnown};
pub use problem::{FileRole, Place, Problem};
pub use recipients::{Counts, Recipient, RecipientList};
pub use spec::{Mailbox, MailingSpec};

//! Bounce-report classification (SPEC §8): raw message bytes → what kind of report it is, and
//! per recipient the status code, reply code, reason (Sisimai's vocabulary) and hard/soft.
//!
//! No I/O, never panics: [`classify`] is fed whatever arrives at the bounce address.
#![deny(missing_docs)]

mod report;

pub use report::{BounceReport, RecipientResult};

/// Classifies one raw message (LF or CRLF line ends). Never panics, does no I/O.
pub fn classify(raw: &[u8]) -> BounceReport {
    let _ = raw;
    BounceReport::not_a_report()
}

//! The shared vocabulary of Mailing Manager: recipient and mailing states, why a recipient is
//! not sent to, the bounce-reason vocabulary (SPEC §8) and the signed VERP token (SPEC §7).
//!
//! # Layout
//! - [`status`]: `RecipientStatus`, `SkipReason`, `MailingState`.
//! - [`reason`]: `BounceReason` (Sisimai's vocabulary in snake_case) and `ReportKind`.
//! - [`verp`]: `VerpKey` and `VerpToken` — who a bounce belongs to, signed with HMAC-SHA256.
//!
//! This crate is a leaf: it does no I/O except creating/reading the VERP key file.
#![deny(missing_docs)]

pub mod reason;
pub mod status;
pub mod verp;

pub use reason::{BounceReason, ReportKind};
pub use status::{MailingState, RecipientStatus, SkipReason};
pub use verp::{VerpError, VerpKey, VerpToken};

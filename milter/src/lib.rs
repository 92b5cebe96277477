//! The bounce milter (SPEC §8, §10): it sits in Postfix's pipeline (`smtpd_milters` and
//! `non_smtpd_milters`), lets ordinary mail pass at the earliest stage, and reads the messages
//! addressed to the VERP bounce domain: classifies them with [`mm_bounce::classify`], finds and
//! verifies the signed VERP token, and hands the result to a [`ReportSink`] (the daemon's store).
//!
//! # Layout
//! - [`config`]: [`MilterConfig`] — bounce domain, key, size limit, what to do after recording.
//! - [`sink`]: the [`ReportSink`] trait and the [`ReportEvent`] it receives.
//! - [`listener`]: [`Listener`] (TCP or Unix, bound by the caller) and the accept loop wrapper
//!   that sets `TCP_NODELAY` and stops accepting on shutdown.
//! - `transaction`: one message's envelope and buffered content.
//! - `verdict`: the end-of-message decision (classify → token → sink → milter reply).
//! - `callbacks`: the indymilter callbacks for every stage.
//! - `server`: [`run`] — the milter until shutdown, with a grace period for in-flight reports.
//! - [`metrics`]: the metric names this crate emits.
//!
//! # Decisions
//! - **Only what is recorded is discarded.** A recognised report the sink stored is discarded
//!   (or accepted, per [`OnReport`]); everything else — ordinary mail, a human reply to the
//!   bounce address, a report with a forged token, an oversized message, an internal error —
//!   is accepted, so mail never disappears because of the milter.
//! - **A store failure is a tempfail**: the MTA keeps the report and retries later.
//! - **Forged tokens** never reach [`ReportSink::record`]: the milter counts them
//!   (`mm_milter_forged_total`), logs them, calls [`ReportSink::forged`] (default: nothing)
//!   and lets the message through.
//!
//! # Postfix
//! ```text
//! smtpd_milters = inet:127.0.0.1:8891          # reports arriving by SMTP
//! non_smtpd_milters = inet:127.0.0.1:8891      # Postfix's own reports (bounce(8) → cleanup)
//! internal_mail_filter_classes = bounce        # without it Postfix's reports skip milters
//! milter_default_action = accept               # milter down or timed out: mail flows on
//! milter_protocol = 6
//! ```
//! The bounce domain must be routed somewhere that accepts mail (a mailbox, or `discard:`)
//! for what the milter lets through. Many MTA hosts may point at one milter (it speaks TCP).
//!
//! # Logging policy
//! Like indymilter: per-message details at `debug`, a recorded report at `info`, forged tokens
//! and oversized reports at `warn`, and `error` only when the milter cannot serve (the listener
//! fails) or the sink/classifier misbehaves.
#![deny(missing_docs)]

mod callbacks;
pub mod config;
mod error;
pub mod listener;
pub mod metrics;
mod server;
pub mod sink;
mod transaction;
mod verdict;

pub use config::{MilterConfig, OnReport};
pub use error::MilterError;
pub use listener::Listener;
pub use server::run;
pub use sink::{ReportEvent, ReportSink, SinkError, SinkOutcome, TokenSource};

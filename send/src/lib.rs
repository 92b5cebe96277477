//! The sender (SPEC §7): a pool of SMTP connections to the relay, and the dispatch of a
//! mailing through it with crash-safe bookkeeping in the store.
//!
//! # Layout
//! - [`config`]: `SenderConfig` — relays, concurrency, rates, retries, timeouts.
//! - [`envelope`]: `Envelope` — explicit sender/recipient and the DSN parameters.
//! - [`outcome`]: `Outcome` — accepted (with queue id), rejected (5xx), deferred, unreachable.
//! - [`pool`]: `SmtpPool` — tasks each owning one SMTP connection; `send(envelope, bytes)`.
//! - `commit`: group commit — one store flush at a time, serving all writes before it.
//! - `connection`: one SMTP session on mail-send's `SmtpClient` (TCP_NODELAY, EHLO, RSET).
//! - `relays`: spreading over relays and skipping a relay that is down.
//! - `rate`: global and per-domain message rates.
//! - [`xtext`]: RFC 3461 xtext for `ORCPT` / `ENVID`.
//! - [`verp`]: `Verp` — the signed bounce address, ENVID and Message-ID of each message.
//! - [`dispatch`]: `run` — sending a mailing from the store with crash-safe bookkeeping;
//!   `finish` — moving a settled mailing to `sent`.
//! - [`progress`]: `Progress` — counters the CLI and the API read while a dispatch runs.
//! - [`test_mail`]: `send_test` — one rendered row to any address, no state touched.
//!
//! # Logging
//! The library logs at `debug`/`trace` per message and connection, and at `warn` when a relay
//! cannot be reached.
#![deny(missing_docs)]

mod commit;
pub mod config;
mod connection;
pub mod dispatch;
pub mod envelope;
pub mod outcome;
pub mod pool;
pub mod progress;
mod rate;
mod relays;
pub mod test_mail;
pub mod verp;
pub mod xtext;

pub use config::SenderConfig;
pub use dispatch::{finish, run, DispatchError, Finished, Render};
pub use envelope::Envelope;
pub use outcome::Outcome;
pub use pool::SmtpPool;
pub use progress::{Progress, ProgressSnapshot};
pub use test_mail::send_test;
pub use verp::Verp;

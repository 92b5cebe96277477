//! The sender (SPEC §7): a pool of SMTP connections to the relay, and the dispatch of a
//! mailing through it with crash-safe bookkeeping in the store.
//!
//! # Layout
//! - [`config`]: `SenderConfig` — relays, concurrency, rates, retries, timeouts.
//! - [`envelope`]: `Envelope` — explicit sender/recipient and the DSN parameters.
//! - [`outcome`]: `Outcome` — accepted (with queue id), rejected (5xx), deferred, unreachable.
//! - [`pool`]: `SmtpPool` — tasks each owning one SMTP connection; `send(envelope, bytes)`.
//! - `connection`: one SMTP session on mail-send's `SmtpClient` (TCP_NODELAY, EHLO, RSET).
//! - `relays`: spreading over relays and skipping a relay that is down.
//! - `rate`: global and per-domain message rates.
//! - [`xtext`]: RFC 3461 xtext for `ORCPT` / `ENVID`.
//!
//! # Logging
//! The library logs at `debug`/`trace` per message and connection, and at `warn` when a relay
//! cannot be reached.
#![deny(missing_docs)]

pub mod config;
mod connection;
pub mod envelope;
pub mod outcome;
pub mod pool;
mod rate;
mod relays;
pub mod xtext;

pub use config::SenderConfig;
pub use envelope::Envelope;
pub use outcome::Outcome;
pub use pool::SmtpPool;

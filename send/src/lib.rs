//! The sender (SPEC §7): a pool of SMTP connections to the relay, and the dispatch of a
//! mailing through it with crash-safe bookkeeping in the store.
//!
//! # Layout
//! - [`config`]: `SenderConfig` — relays, concurrency, rates, retries, timeouts.
//! - [`envelope`]: `Envelope` — explicit sender/recipient and the DSN parameters.
//! - [`outcome`]: `Outcome` — accepted (with queue id), rejected (5xx), deferred, unreachable.
//! - [`pool`]: `SmtpPool` — tasks each owning one SMTP connection; `send(envelope, bytes)`.
//! - [`gate`]: `Gate` — what a message's final dot waits for (the previous outcome's flush).
//! - `commit`: group commit — a committer thread writes the workers' outcomes and flushes
//!   once for all of them, when a final dot needs it.
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
//! # Using it
//! ```no_run
//! # async fn f(store: mm_store::Store, prepared: mm_render::PreparedMailing,
//! #            key: mm_domain::VerpKey) -> Result<(), mm_send::DispatchError> {
//! use std::sync::Arc;
//! use mm_send::{dispatch, Progress, SenderConfig, SmtpPool, Verp};
//! use tokio_util::sync::CancellationToken;
//! let shutdown = CancellationToken::new();
//! let pool = SmtpPool::start(SenderConfig::default(), shutdown.clone()); // once per process
//! let verp = Verp { key, local_part: "bounce".into(), domain: "bounces.example".into() };
//! let progress = Progress::new();               // clone it; read .snapshot() for a progress bar
//! // The caller has moved the mailing to `sending` (and imported its recipients) first.
//! match dispatch::run(&store, "2026-spring", Arc::new(prepared), &verp, &pool, &progress,
//!                     &shutdown).await? {
//!     mm_send::Finished::Complete => { dispatch::finish(&store, "2026-spring").await?; }
//!     mm_send::Finished::Stopped => {}          // shutdown; a later run resumes
//! }
//! # Ok(()) }
//! ```
//! Test mail: [`send_test`]`(&pool, &prepared, &row_values, "editor@example.com", &verp)`.
//!
//! # Logging
//! The library logs at `debug`/`trace` per message and connection, at `info` when a dispatch
//! starts and ends, at `warn` when a relay cannot be reached or a message cannot be rendered,
//! and at `error` when a dispatch stops on a store error.
#![deny(missing_docs)]

mod commit;
pub mod config;
mod connection;
pub mod dispatch;
pub mod envelope;
pub mod gate;
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
pub use gate::{Gate, GateOpener};
pub use outcome::Outcome;
pub use pool::SmtpPool;
pub use progress::{Progress, ProgressSnapshot};
pub use test_mail::send_test;
pub use verp::Verp;

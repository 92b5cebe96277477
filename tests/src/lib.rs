//! Real-Postfix test harness for Mailing Manager.
//!
//! Tests of every part run against the real mail system on loopback, never a mock MTA:
//! private Postfix instances (Debian's package, each with its own config, queue, data and log
//! under a per-test directory, started with `postfix -c DIR start` and stopped with
//! `postfix -c DIR stop`) and Postfix's `smtp-sink` capturing what arrives.
//!
//! # Layout
//! - [`free_port`], [`TestDir`]: loopback ports and per-test state directories
//!   (`MM_KEEP_TEST_DIRS=1` keeps those of failing tests, `=always` keeps all).
//! - [`SmtpSink`] → [`CapturedMessage`]: a receiver and what it captured, envelope included
//!   (MAIL/RCPT parameters: `RET`, `ENVID`, `NOTIFY`, `ORCPT`).
//! - [`PostfixBuilder`] → [`Postfix`]: one private instance; maillog, queue, deliveries.
//! - [`Topology`]: outbound (milter here) → remote (rejects some recipients) → sinks, plus
//!   `nxdomain.test`, a local domain without users and the bounce domain.
//! - [`Submission`]: hands a message with an exact envelope to a server under test.
//!
//! Every wait has a timeout and a `_async` twin that sleeps with tokio, so a milter or daemon
//! served by the test's own runtime keeps running while the test waits. Everything started is
//! stopped in `Drop`, also when the test panics; a record under `$TMPDIR/mm-tests-running/`
//! lets `.ci/run` stop leftovers of a killed test binary.
//!
//! Environment: `MM_KEEP_TEST_DIRS` (`1`: keep the state directories of failing tests,
//! `always`: keep all; paths are printed), `MM_TEST_TMPDIR` (where they are created; must be
//! traversable by the `postfix` user), `MM_TEST_REGISTRY` (where running instances are
//! recorded for `scripts/stop-test-leftovers.sh`).
//!
//! Requirements: root (Postfix's master must start as root) and the packages installed by
//! `scripts/install-deps.sh`; otherwise the starters return a clear
//! [`HarnessError::NotRoot`] / [`HarnessError::NotInstalled`].
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//! use mm_tests::{topology, Submission, Topology};
//!
//! # fn main() -> mm_tests::Result<()> {
//! // Start your milter first, then: Topology::builder("t").milter("inet:127.0.0.1:PORT")
//! let topo = Topology::start("example")?;
//! let sender = format!("bounce+token@{}", topology::BOUNCE_DOMAIN);
//! Submission::new(&sender)
//!     .mail_param("RET=HDRS")
//!     .mail_param("ENVID=m1")
//!     .rcpt_with(topology::REMOTE_OK, &["NOTIFY=FAILURE,DELAY"])
//!     .rcpt(topology::REMOTE_UNKNOWN)
//!     .data(mm_tests::simple_message(&sender, topology::REMOTE_OK, "hi", "body"))
//!     .send(topo.outbound.smtpd_addr())?;
//! // Delivered: visible at the remote's sink with the envelope Postfix relayed.
//! let got = topo.remote_sink.wait_for_recipient(topology::REMOTE_OK, Duration::from_secs(30))?;
//! assert_eq!(got.mail_param("ENVID"), Some("m1"));
//! // Refused by the remote: Postfix's report comes back to the bounce domain.
//! let report = topo.bounce_sink.wait_for_recipient(&sender, Duration::from_secs(30))?;
//! assert!(report.text().contains("Status: 5.1.1"));
//! # Ok(()) }
//! ```
//! The daemon under test relays to `topo.outbound.smtpd_addr()` (`host:port`); a milter
//! under test is attached with `Topology::builder(name).milter("inet:127.0.0.1:PORT")`.
//! Reports Postfix generates for the sender `…@bounces.test` pass that milter (as
//! `non_smtpd_milters` traffic) and, unless it discards them, land in `topo.bounce_sink`.
//!
//! Building your own instance: declare the [`TestDir`] *before* the instances so it is
//! dropped (removed) after they are stopped:
//! ```no_run
//! # fn main() -> mm_tests::Result<()> {
//! let dir = mm_tests::TestDir::new("mine")?;
//! let sink = mm_tests::SmtpSink::start(&dir.subdir("sink")?)?;
//! let relay = mm_tests::PostfixBuilder::new("relay", &dir.subdir("relay")?)
//!     .route_smtp("dest.test", &sink.next_hop())
//!     .set("maximal_queue_lifetime", "30s")
//!     .start()?;
//! # let _ = relay; Ok(()) }
//! ```
//!
//! Timing here: a topology starts in about 4–6 s; a remote rejection comes back as a report
//! within a second; a delay warning after about 21 s; an expired message after about 66 s.
//! `mm-topology` (a binary of this crate) runs the same topology until SIGTERM, for demos.

#![deny(missing_docs)]

mod capture;
mod error;
mod port;
pub mod postfix;
pub mod registry;
mod sink;
mod submit;
pub mod system;
mod test_dir;
pub mod topology;
pub mod wait;

pub use capture::{CapturedMessage, CapturedRecipient};
pub use error::{HarnessError, Result};
pub use port::free_port;
pub use postfix::{LogDelivery, Postfix, PostfixBuilder};
pub use sink::{SmtpSink, SmtpSinkBuilder};
pub use submit::{simple_message, Outcome, Reply, Submission};
pub use test_dir::{TestDir, KEEP_ENV};
pub use topology::{Topology, TopologyBuilder};

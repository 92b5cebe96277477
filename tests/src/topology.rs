//! [`Topology`]: the ready-made mail system the daemon, milter and end-to-end tests run in.
//!
//! ```text
//!  daemon / test ──SMTP──▶ outbound Postfix ──▶ remote Postfix (remote.test) ──▶ remote_sink
//!                          (milter attached)      rejects unknown@/full@/blocked@/later@
//!                            │  nxdomain.test → 5.4.4 "Host or domain name not found"
//!                            │  local.test    → local(8), no users → 5.1.1 "unknown user"
//!                            └─ bounces.test  → bounce_sink (after the milter has seen it)
//!  remote: gone@remote.test is accepted, then bounced by the remote itself; its report comes
//!  back by SMTP to outbound (bounces.test) and passes the milter as smtpd traffic
//!  direct_sink: a plain smtp-sink for direct sends
//! ```
//!
//! The outbound instance bounces and warns fast: `delay_warning_time = 20s`,
//! `maximal_queue_lifetime = bounce_queue_lifetime = 60s`, retries every 5–10 s.

use std::time::Duration;

use crate::error::Result;
use crate::port::free_port;
use crate::postfix::{Postfix, PostfixBuilder};
use crate::sink::SmtpSink;
use crate::test_dir::TestDir;

/// The domain relayed to the remote instance.
pub const REMOTE_DOMAIN: &str = "remote.test";
/// A remote address that is accepted and delivered to [`Topology::remote_sink`].
pub const REMOTE_OK: &str = "someone@remote.test";
/// Rejected by the remote at RCPT: `550 5.1.1 User unknown`.
pub const REMOTE_UNKNOWN: &str = "unknown@remote.test";
/// Rejected by the remote at RCPT: `552 5.2.2 Mailbox full`.
pub const REMOTE_FULL: &str = "full@remote.test";
/// Rejected by the remote at RCPT: `554 5.7.1 Rejected as spam`.
pub const REMOTE_BLOCKED: &str = "blocked@remote.test";
/// Deferred by the remote at RCPT: `450 4.2.0 Try again later` (delay warning after 20 s,
/// expiry after 60 s).
pub const REMOTE_LATER: &str = "later@remote.test";
/// Accepted by the remote at RCPT, then undeliverable there: the remote MTA sends its own
/// report (5.1.1) by SMTP back to the sender's domain through outbound's smtpd — the path
/// on which the milter sees `MAIL FROM:<>` and `ORCPT` parameters.
pub const REMOTE_LATE_BOUNCE: &str = "gone@remote.test";
/// A domain that "does not exist": outbound bounces it with 5.4.4.
pub const NXDOMAIN: &str = "nxdomain.test";
/// A domain delivered locally by outbound, with no users.
pub const LOCAL_DOMAIN: &str = "local.test";
/// A user of [`LOCAL_DOMAIN`] that does not exist: bounced with 5.1.1 `unknown user`.
pub const LOCAL_UNKNOWN: &str = "unknown-user@local.test";
/// The bounce domain: reports to it pass the milter, then reach [`Topology::bounce_sink`].
pub const BOUNCE_DOMAIN: &str = "bounces.test";

/// The `check_recipient_access` table of the remote instance.
pub const REMOTE_ACCESS: [&str; 4] = [
    "unknown@remote.test 550 5.1.1 User unknown",
    "full@remote.test 552 5.2.2 Mailbox full",
    "blocked@remote.test 554 5.7.1 Rejected as spam",
    "later@remote.test 450 4.2.0 Try again later",
];

/// Options for a [`Topology`].
#[derive(Debug, Clone, Default)]
pub struct TopologyBuilder {
    name: String,
    milter: Option<String>,
    state_dir: Option<std::path::PathBuf>,
    outbound_settings: Vec<(String, String)>,
    remote_settings: Vec<(String, String)>,
}

impl TopologyBuilder {
    /// Attaches a milter to outbound (`inet:127.0.0.1:PORT` or `unix:/path`), wired as
    /// SPEC §10 says (see [`PostfixBuilder::milter`]). Start the milter listener first.
    pub fn milter(mut self, spec: &str) -> Self {
        self.milter = Some(spec.to_string());
        self
    }

    /// Keeps all files under `dir` (created if missing, never removed) instead of a fresh
    /// temporary [`TestDir`].
    pub fn state_dir(mut self, dir: &std::path::Path) -> Self {
        self.state_dir = Some(dir.to_path_buf());
        self
    }

    /// A `main.cf` setting for the outbound instance (wins over the defaults).
    pub fn outbound_set(mut self, key: &str, value: &str) -> Self {
        self.outbound_settings.push((key.into(), value.into()));
        self
    }

    /// A `main.cf` setting for the remote instance.
    pub fn remote_set(mut self, key: &str, value: &str) -> Self {
        self.remote_settings.push((key.into(), value.into()));
        self
    }

    /// Starts sinks and both Postfix instances (about 4–6 s on this kind of machine).
    pub fn start(self) -> Result<Topology> {
        let dir = match &self.state_dir {
            Some(path) => TestDir::at(path)?,
            None => TestDir::new(&self.name)?,
        };
        let remote_sink = SmtpSink::builder(&dir.subdir("remote-sink")?)
            .hostname("mailbox.remote.test")
            .start()?;
        let bounce_sink = SmtpSink::builder(&dir.subdir("bounce-sink")?)
            .hostname("mailbox.bounces.test")
            .start()?;
        let direct_sink = SmtpSink::builder(&dir.subdir("direct-sink")?)
            .hostname("direct.sink.test")
            .start()?;

        // Each instance routes to the other, so outbound's port is chosen up front.
        let outbound_port = free_port()?;
        let outbound_hop = format!("[127.0.0.1]:{outbound_port}");
        let mut remote = PostfixBuilder::new("remote", &dir.subdir("remote")?)
            .myhostname("mx.remote.test")
            .relay_domain(REMOTE_DOMAIN)
            .route_smtp(REMOTE_DOMAIN, &remote_sink.next_hop())
            .route(
                REMOTE_LATE_BOUNCE,
                "error:5.1.1 <gone@remote.test>: mailbox unavailable",
            )
            // The remote's own reports go back to the sender's domain via outbound.
            .route_smtp(BOUNCE_DOMAIN, &outbound_hop)
            .recipient_access(REMOTE_ACCESS);
        for (k, v) in &self.remote_settings {
            remote = remote.set(k, v);
        }
        let remote = remote.prepare()?;

        let mut outbound = PostfixBuilder::new("outbound", &dir.subdir("outbound")?)
            .smtpd_port(outbound_port)
            .myhostname("outbound.test")
            .local_domain(LOCAL_DOMAIN)
            .route_smtp(REMOTE_DOMAIN, &remote.next_hop())
            .nxdomain(NXDOMAIN)
            .route_smtp(BOUNCE_DOMAIN, &bounce_sink.next_hop())
            .set("delay_warning_time", "20s");
        if let Some(spec) = &self.milter {
            outbound = outbound.milter(spec);
        }
        for (k, v) in &self.outbound_settings {
            outbound = outbound.set(k, v);
        }
        let outbound = outbound.prepare()?;

        // Both were just written: start them side by side so their waits overlap.
        let (remote, outbound) = std::thread::scope(|s| {
            let r = s.spawn(move || {
                let mut remote = remote;
                remote.start().map(|()| remote)
            });
            let o = s.spawn(move || {
                let mut outbound = outbound;
                outbound.start().map(|()| outbound)
            });
            (join(r), join(o))
        });
        Ok(Topology {
            outbound: outbound?,
            remote: remote?,
            remote_sink,
            bounce_sink,
            direct_sink,
            dir,
        })
    }
}

impl TopologyBuilder {
    /// [`start`](Self::start) on tokio's blocking pool, for async tests.
    pub async fn start_async(self) -> Result<Topology> {
        tokio::task::spawn_blocking(move || self.start())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The running mail system (see the module docs). Fields drop in order: Postfix instances
/// are stopped first, then the sinks, then the state directory is removed (or kept, see
/// [`TestDir`]).
#[derive(Debug)]
pub struct Topology {
    /// Where the daemon relays to; the milter is attached here.
    pub outbound: Postfix,
    /// The MTA of `remote.test`.
    pub remote: Postfix,
    /// What the remote delivered.
    pub remote_sink: SmtpSink,
    /// What reached the bounce domain after the milter (the milter may discard).
    pub bounce_sink: SmtpSink,
    /// A plain receiver for direct sends.
    pub direct_sink: SmtpSink,
    dir: TestDir,
}

impl Topology {
    /// Starts the topology without a milter; `name` labels the state directory.
    pub fn start(name: &str) -> Result<Topology> {
        Self::builder(name).start()
    }

    /// Options (milter, extra settings).
    pub fn builder(name: &str) -> TopologyBuilder {
        TopologyBuilder {
            name: name.to_string(),
            ..TopologyBuilder::default()
        }
    }

    /// The state directory holding every instance's files.
    pub fn dir(&self) -> &TestDir {
        &self.dir
    }

    /// Waits until both Postfix queues are empty.
    pub fn wait_idle(&self, timeout: Duration) -> Result<()> {
        self.outbound.wait_queue_empty(timeout)?;
        self.remote.wait_queue_empty(timeout)
    }
}

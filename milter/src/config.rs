//! What the milter needs to know: which mail is for it, how to verify tokens, how much to read,
//! and what to do with a report once it is recorded.
use mm_domain::VerpKey;
use std::time::Duration;

/// What happens to a recognised report after the sink recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnReport {
    /// Drop the message (default): reports stay out of human mailboxes.
    #[default]
    Discard,
    /// Let it through to wherever the bounce domain is routed.
    Accept,
}

/// The milter's settings. Build with [`MilterConfig::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct MilterConfig {
    /// The VERP bounce domain (`bounce+TOKEN@<bounce_domain>`), compared case-insensitively.
    /// Mail with no envelope recipient in this domain is accepted without being read.
    pub bounce_domain: String,
    /// The VERP local part before `+` (default `bounce`).
    pub local_part: String,
    /// The HMAC key tokens are verified with.
    pub key: VerpKey,
    /// Largest message (headers + body, bytes) buffered for classification. A larger message
    /// is accepted unread and counted (`mm_milter_oversized_total`). Default 4 MiB.
    pub max_report_size: usize,
    /// What to do with a recorded report. Default [`OnReport::Discard`].
    pub on_report: OnReport,
    /// Most MTA connections served at once (indymilter's limit). Default 100.
    pub max_connections: usize,
    /// How long a silent MTA connection is kept open. Default 7210 s, as libmilter (Postfix
    /// keeps one milter connection per SMTP session and may idle between messages).
    pub connection_timeout: Duration,
    /// On shutdown: how long to wait for messages in the middle of a transaction before the
    /// remaining connections are closed (Postfix then applies `milter_default_action`).
    /// Default 10 s.
    pub shutdown_grace: Duration,
}

impl MilterConfig {
    /// Settings with the documented defaults for everything but domain and key.
    pub fn new(bounce_domain: impl Into<String>, key: VerpKey) -> Self {
        MilterConfig {
            bounce_domain: bounce_domain.into(),
            local_part: "bounce".into(),
            key,
            max_report_size: 4 << 20,
            on_report: OnReport::Discard,
            max_connections: 100,
            connection_timeout: Duration::from_secs(7210),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

//! Where classified reports go: the [`ReportSink`] trait the daemon implements over its store,
//! and the [`ReportEvent`] it is handed.
use mm_bounce::BounceReport;
use mm_domain::VerpToken;

/// Where the token of a report was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The envelope recipient `bounce+TOKEN@bounce-domain` (the VERP address itself).
    Envelope,
    /// The report's content: `Original-Envelope-Id`, the returned Message-ID or headers.
    Content,
}

/// One report that arrived at the bounce domain, classified.
#[derive(Debug, Clone)]
pub struct ReportEvent {
    /// The envelope sender as the MTA gave it, without angle brackets (`""` for a DSN).
    pub envelope_sender: String,
    /// The envelope recipients in the bounce domain, without angle brackets.
    pub envelope_recipients: Vec<String>,
    /// The MTA's queue id (macro `i`), for logs.
    pub queue_id: Option<String>,
    /// The message as the milter saw it: headers (CRLF) and body. Keep it for the
    /// administrator (SPEC §8: the raw report is retrievable per recipient).
    pub raw: Vec<u8>,
    /// What the classifier made of it. Never [`mm_domain::ReportKind::NotAReport`] here.
    pub report: BounceReport,
    /// The token the report belongs to. In [`ReportSink::record`] it is either verified
    /// (`token_valid == true`) or `None` (no token anywhere: the sink may still try to match
    /// the report's recipient addresses, or keep it unmatched). In [`ReportSink::forged`] it is
    /// the first token found, whose signature failed.
    pub token: Option<VerpToken>,
    /// Where `token` was found.
    pub token_source: Option<TokenSource>,
    /// `true` when `token` is `Some` and its signature verified with the configured key.
    pub token_valid: bool,
}

/// What the sink did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkOutcome {
    /// The report was stored durably. The milter then applies [`crate::OnReport`].
    Recorded,
    /// The sink kept nothing (e.g. no recipient matched). The milter lets the message through,
    /// so that nothing it did not record disappears.
    Ignored,
}

/// Why a sink could not record a report.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The store failed (disk, database). The milter answers tempfail: the MTA keeps the
    /// report and offers it again later.
    #[error("store error: {0}")]
    Store(String),
}

/// Receives classified reports. Implemented by the daemon over its store; tests use a
/// recording fake.
///
/// Methods are called on a blocking thread (`tokio::task::spawn_blocking`), so they may block
/// on disk I/O (e.g. a sled flush, which `record` must do before returning `Recorded`: the
/// milter discards the message right after). A panic in a method is caught and treated as an
/// internal error: the message is accepted.
pub trait ReportSink: Send + Sync + 'static {
    /// Records a recognised report whose token verified, or that carried no token at all.
    fn record(&self, event: ReportEvent) -> Result<SinkOutcome, SinkError>;

    /// Told about a report whose token failed verification. Must change no recipient's state
    /// (SPEC §8); the default does nothing. The milter has already counted and logged it.
    fn forged(&self, event: &ReportEvent) {
        let _ = event;
    }
}

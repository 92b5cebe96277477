//! The result of classifying one message: its kind, the per-recipient outcomes and the VERP
//! tokens found in it. Plain data, serialisable for `dsn parse` and the milter.
use mm_domain::{BounceReason, ReportKind, VerpToken};
use serde::Serialize;

/// What one message at the bounce address says.
#[derive(Debug, Clone, Serialize)]
pub struct BounceReport {
    /// Bounce, delay, delivery, feedback, auto-reply or not a report.
    pub kind: ReportKind,
    /// One entry per recipient the report is about (empty for `not_a_report`).
    pub recipients: Vec<RecipientResult>,
    /// VERP tokens found in the report content, best first: Original-Envelope-Id, the returned
    /// message's Message-ID, `+token@` addresses in the returned headers. Not verified here.
    #[serde(skip)]
    pub tokens: Vec<VerpToken>,
    /// `Original-Envelope-Id` of the delivery-status part, if any.
    pub original_envelope_id: Option<String>,
    /// The returned (original) message's Message-ID, if found.
    pub original_message_id: Option<String>,
    /// ARF `Feedback-Type` (`abuse`, `fraud`, ...) for feedback reports.
    pub feedback_type: Option<String>,
}

/// The outcome for one recipient.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientResult {
    /// The final (or original) recipient address, without `rfc822;` and angle brackets.
    pub address: String,
    /// DSN action: `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: Option<String>,
    /// Enhanced status code (`5.1.1`); never one of Sisimai's invented `X.0.9NN`.
    pub status: Option<String>,
    /// SMTP reply code (`550`) when the remote answer is known.
    pub reply_code: Option<u16>,
    /// Why it failed, in SPEC §8's vocabulary.
    pub reason: BounceReason,
    /// A hard bounce per SPEC §8.
    pub hard: bool,
    /// The remote server's answer or the MTA's explanation.
    pub diagnostic: Option<String>,
    /// The remote MTA that answered, when known.
    pub remote_mta: Option<String>,
}

impl BounceReport {
    /// A message that is not a report at all.
    pub fn not_a_report() -> Self {
        BounceReport {
            kind: ReportKind::NotAReport,
            recipients: Vec::new(),
            tokens: Vec::new(),
            original_envelope_id: None,
            original_message_id: None,
            feedback_type: None,
        }
    }
}

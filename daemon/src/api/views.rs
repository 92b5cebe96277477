//! The JSON shapes the API returns (and the CLI reads back): a mailing with its counts and
//! problems, a recipient row.
use mm_domain::{BounceReason, MailingState, RecipientStatus, SkipReason};
use mm_store::{Recipient, StatusCounts};
use serde::{Deserialize, Serialize};

/// A mailing in lists and in detail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailingView {
    /// The folder name.
    pub id: String,
    /// The store's number (in VERP tokens).
    pub number: u32,
    /// Title from `mailing.toml`.
    pub title: String,
    /// Life cycle state.
    pub state: MailingState,
    /// The report file name.
    pub report: String,
    /// Recipients by status.
    pub counts: StatusCounts,
    /// All recipient rows.
    pub total: u64,
    /// Why the mailing cannot be sent as it is (empty = valid).
    pub problems: Vec<String>,
    /// A file that does not load now (the last good version stays in use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Files of a closed mailing changed: reported, not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_edit: Option<String>,
    /// When a send was requested (ms since the epoch).
    pub send_requested: Option<u64>,
    /// When sending started.
    pub send_started: Option<u64>,
    /// When the mailing was closed.
    pub finished: Option<u64>,
    /// While sending (in this daemon run): the dispatch's live counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<serde_json::Value>,
    /// Detail only: the merge fields the report offers (its columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_fields: Option<Vec<String>>,
    /// Detail only: the subject template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Detail only: the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Detail only: whether customer documents are written after the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<bool>,
}

/// One recipient row (SPEC §5).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecipientView {
    /// Row index in the report.
    pub row: u32,
    /// Customer id.
    pub customer_id: Option<String>,
    /// Customer name.
    pub customer_name: Option<String>,
    /// Contact id.
    pub contact_id: Option<String>,
    /// The address.
    pub email: String,
    /// Ticked for sending.
    pub send: bool,
    /// Why not, when `send` is false.
    pub skip_reason: Option<SkipReason>,
    /// Delivery status.
    pub status: RecipientStatus,
    /// Enhanced status code from the relay or a report.
    pub status_code: Option<String>,
    /// Bounce reason.
    pub reason: Option<BounceReason>,
    /// Hard bounce.
    pub hard: bool,
    /// Diagnostic text of a report.
    pub diagnostic: Option<String>,
    /// Remote MTA of a report.
    pub remote_mta: Option<String>,
    /// The relay's queue id.
    pub queue_id: Option<String>,
    /// The relay's last reply.
    pub smtp_reply: Option<String>,
    /// Send attempts.
    pub attempts: u32,
    /// Last change (ms since the epoch).
    pub updated: u64,
}

impl From<Recipient> for RecipientView {
    fn from(r: Recipient) -> Self {
        RecipientView {
            row: r.row,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            contact_id: r.contact_id,
            email: r.email,
            send: r.send,
            skip_reason: r.skip_reason,
            status: r.status,
            status_code: r.status_code,
            reason: r.reason,
            hard: r.hard,
            diagnostic: r.diagnostic,
            remote_mta: r.remote_mta,
            queue_id: r.queue_id,
            smtp_reply: r.smtp_reply,
            attempts: r.attempts,
            updated: r.updated,
        }
    }
}

/// A page of recipients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecipientPage {
    /// The mailing id.
    pub mailing: String,
    /// All rows of the mailing.
    pub total: u64,
    /// The rows on this page.
    pub recipients: Vec<RecipientView>,
    /// Pass as `?after=` for the next page; `null` at the end.
    pub next_after: Option<u32>,
}

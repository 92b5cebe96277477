//! Status changes of recipients (sender outcomes, reports, ticking) and the queue of pending
//! recipients that are due.
//!
//! Every change rewrites the recipient's record (one plain insert of its block, under the
//! block's lock) and, for `bounced`, the bounce log entry just before it; the status counts
//! and the due queue follow from the records (`tally`), so they cannot drift from them.
//! Durability is the caller's step: see "Durability protocol" in the crate docs.
use crate::block::{block_key, Block};
use crate::codec::encode_recipient;
use crate::error::{Result, StoreError};
use crate::keys::{encode, now_ms, pair_key, Millis};
use crate::recipient::Recipient;
use crate::report::BounceEntry;
use crate::store::Store;
use crate::transition::transition_allowed;
use mm_domain::{BounceReason, RecipientStatus, SkipReason};

/// A change to one recipient: the new status and the details that come with it. Fields left
/// `None` keep their stored value. Build it with the constructors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientUpdate {
    /// The new status (must pass [`transition_allowed`]; `excluded` is set by
    /// [`Store::set_send`] only).
    pub status: RecipientStatus,
    /// Count one more send attempt.
    pub count_attempt: bool,
    /// When still `pending`: not before this time.
    pub next_attempt: Option<Millis>,
    /// Queue id from the relay's 250.
    pub queue_id: Option<String>,
    /// The relay's reply text.
    pub smtp_reply: Option<String>,
    /// Enhanced status code.
    pub status_code: Option<String>,
    /// Bounce reason.
    pub reason: Option<BounceReason>,
    /// Hard bounce.
    pub hard: Option<bool>,
    /// Diagnostic text.
    pub diagnostic: Option<String>,
    /// Remote MTA.
    pub remote_mta: Option<String>,
}

/// Details a report (DSN, ARF) gives about one recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportDetails {
    /// Enhanced status code, e.g. `5.1.1`.
    pub status_code: Option<String>,
    /// Bounce reason.
    pub reason: Option<BounceReason>,
    /// Hard bounce.
    pub hard: bool,
    /// Diagnostic text.
    pub diagnostic: Option<String>,
    /// Remote MTA.
    pub remote_mta: Option<String>,
}

impl RecipientUpdate {
    fn new(status: RecipientStatus) -> Self {
        RecipientUpdate {
            status,
            count_attempt: false,
            next_attempt: None,
            queue_id: None,
            smtp_reply: None,
            status_code: None,
            reason: None,
            hard: None,
            diagnostic: None,
            remote_mta: None,
        }
    }

    /// The relay accepted the message (250): `sent`, with its queue id and reply.
    pub fn sent(queue_id: Option<String>, reply: impl Into<String>) -> Self {
        RecipientUpdate {
            count_attempt: true,
            queue_id,
            smtp_reply: Some(reply.into()),
            ..Self::new(RecipientStatus::Sent)
        }
    }

    /// A 4xx or connection error: stays `pending`, retried not before `next_attempt`.
    pub fn retry(next_attempt: Millis, reply: impl Into<String>) -> Self {
        RecipientUpdate {
            count_attempt: true,
            next_attempt: Some(next_attempt),
            smtp_reply: Some(reply.into()),
            ..Self::new(RecipientStatus::Pending)
        }
    }

    /// 5xx at RCPT/DATA: `rejected`, with the reply text and its enhanced status code.
    pub fn rejected(reply: impl Into<String>, status_code: Option<String>) -> Self {
        RecipientUpdate {
            count_attempt: true,
            smtp_reply: Some(reply.into()),
            status_code,
            ..Self::new(RecipientStatus::Rejected)
        }
    }

    /// Gave up after retries: `failed`, with the last reply or error.
    pub fn failed(reply: impl Into<String>) -> Self {
        RecipientUpdate {
            count_attempt: true,
            smtp_reply: Some(reply.into()),
            ..Self::new(RecipientStatus::Failed)
        }
    }

    /// A report came back: `status` is `delivered`, `delayed`, `bounced` or `complained`.
    pub fn report(status: RecipientStatus, d: ReportDetails) -> Self {
        RecipientUpdate {
            status_code: d.status_code,
            reason: d.reason,
            hard: Some(d.hard),
            diagnostic: d.diagnostic,
            remote_mta: d.remote_mta,
            ..Self::new(status)
        }
    }

    fn apply(&self, r: &mut Recipient, now: Millis) {
        r.status = self.status;
        if self.count_attempt {
            r.attempts = r.attempts.saturating_add(1);
        }
        if let Some(t) = self.next_attempt {
            r.next_attempt = t;
        }
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        set(&mut r.queue_id, &self.queue_id);
        set(&mut r.smtp_reply, &self.smtp_reply);
        set(&mut r.status_code, &self.status_code);
        set(&mut r.diagnostic, &self.diagnostic);
        set(&mut r.remote_mta, &self.remote_mta);
        if self.reason.is_some() {
            r.reason = self.reason;
        }
        if let Some(h) = self.hard {
            r.hard = h;
        }
        r.updated = now;
    }
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The change was written; `previous` is the status before.
    Applied {
        /// Status before the update.
        previous: RecipientStatus,
        /// The recipient after the update.
        recipient: Box<Recipient>,
    },
    /// The transition is not allowed (e.g. a late `delivered` after `bounced`); nothing changed.
    Refused {
        /// The recipient's status, unchanged.
        current: RecipientStatus,
    },
}

/// Recipient `row` of `mailing`, the block value it was read from and its key. Call with the
/// block's lock held.
fn read_for_update(store: &Store, mailing: u32, row: u32) -> Result<(Recipient, sled::IVec)> {
    let unknown = || StoreError::UnknownRecipient { mailing, row };
    let k = block_key(mailing, row);
    let v = store.inner.recipients.get(k)?.ok_or_else(unknown)?;
    let r = Block::parse(&k, &v)?
        .recipient(mailing, row)?
        .ok_or_else(unknown)?;
    Ok((r, v))
}

/// Writes `new` back into `block` (as read by [`read_for_update`] under the same lock), the
/// neighbours' bytes copied unchanged, and moves it in the tally.
fn write_back(store: &Store, block: &[u8], old: &Recipient, new: &Recipient) -> Result<()> {
    let k = block_key(new.mailing, new.row);
    let value = Block::parse(&k, block)?.with_record(new.row, &encode_recipient(new));
    store.inner.recipients.insert(k, value)?;
    store.inner.tally.changed(old, new);
    Ok(())
}

impl Store {
    /// Applies `update` to recipient `row` of mailing `mailing` if [`transition_allowed`] from
    /// its current status; otherwise returns [`UpdateOutcome::Refused`] and changes nothing.
    /// The record (and for `bounced` the bounce log) is written; counts and due queue follow.
    /// NOT flushed: call [`Store::flush`] / [`Store::flush_async`] before acting on it.
    pub fn update_recipient(
        &self,
        mailing: u32,
        row: u32,
        update: &RecipientUpdate,
    ) -> Result<UpdateOutcome> {
        if update.status == RecipientStatus::Excluded {
            return Err(StoreError::NotAnUpdateStatus(update.status));
        }
        let now = now_ms();
        let _block = self.inner.block_lock(mailing, row);
        let (old, block) = read_for_update(self, mailing, row)?;
        if !transition_allowed(old.status, update.status) {
            return Ok(UpdateOutcome::Refused {
                current: old.status,
            });
        }
        let mut new = old.clone();
        update.apply(&mut new, now);
        if new.status == RecipientStatus::Bounced {
            // Before the record: sled recovers a prefix of its log, so a recipient that is
            // `bounced` after a crash has its log entry.
            let entry = BounceEntry::of(&new);
            self.inner
                .bounces
                .insert(pair_key(mailing, row), encode(&entry))?;
        }
        write_back(self, &block, &old, &new)?;
        Ok(UpdateOutcome::Applied {
            previous: old.status,
            recipient: Box::new(new),
        })
    }

    /// Ticks (`send = true` → `pending`, due at once) or unticks (`send = false` → `excluded`
    /// with `reason`, e.g. `unticked` from the API or `suppressed` from the sender) one
    /// recipient. Only while it is `pending` or `excluded`; otherwise
    /// [`StoreError::NotTickable`]. NOT flushed.
    pub fn set_send(
        &self,
        mailing: u32,
        row: u32,
        send: bool,
        reason: Option<SkipReason>,
    ) -> Result<Recipient> {
        let now = now_ms();
        let _block = self.inner.block_lock(mailing, row);
        let (old, block) = read_for_update(self, mailing, row)?;
        if !matches!(
            old.status,
            RecipientStatus::Pending | RecipientStatus::Excluded
        ) {
            return Err(StoreError::NotTickable {
                mailing,
                row,
                status: old.status,
            });
        }
        let mut new = old.clone();
        new.send = send;
        if send {
            new.status = RecipientStatus::Pending;
            new.skip_reason = None;
            if old.status != RecipientStatus::Pending {
                new.next_attempt = 0;
            }
        } else {
            new.status = RecipientStatus::Excluded;
            new.skip_reason = reason;
        }
        new.updated = now;
        write_back(self, &block, &old, &new)?;
        Ok(new)
    }

    /// Streams the row indexes of the `pending` recipients of `mailing` that are due at `now`
    /// (`next_attempt <= now`), earliest first and in row order among equals. This is the
    /// sender's queue: after a crash it simply starts again from here. Rows that a retry
    /// pushes past `now` while iterating do not come back in the same pass.
    pub fn due_rows(
        &self,
        mailing: u32,
        now: Millis,
    ) -> impl Iterator<Item = Result<u32>> + Send + 'static {
        // One queue entry (up to 256 rows) at a time, from where the last one ended: rows
        // ticked into an earlier entry meanwhile wait for the next pass.
        let store = self.clone();
        let mut from = Some((0, 0));
        let mut rows = std::collections::VecDeque::new();
        std::iter::from_fn(move || loop {
            if let Some(row) = rows.pop_front() {
                return Some(Ok(row));
            }
            let (next_rows, next) = store.inner.tally.due_from(mailing, from?, now)?;
            rows.extend(next_rows);
            from = next;
        })
    }

    /// When the next `pending` recipient of `mailing` is due (None: nothing pending). A value
    /// `<= now` means work is waiting.
    pub fn next_due(&self, mailing: u32) -> Result<Option<Millis>> {
        Ok(self.inner.tally.next_due(mailing))
    }
}

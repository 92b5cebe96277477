//! Status changes of recipients (sender outcomes, reports, ticking) and the queue of pending
//! recipients that are due.
//!
//! Every change rewrites the recipient, its status counter, its entry in the due index and (for
//! `bounced`) the bounce log in ONE sled transaction, so counts and queue never drift from the
//! records. Durability is the caller's step: see "Durability protocol" in the crate docs.
use crate::block::{block_key, Block};
use crate::codec::encode_recipient;
use crate::error::{Result, StoreError};
use crate::keys::{
    due_bitmap_rows, due_bitmap_set, due_key, encode, now_ms, pair_key, read_u32, read_u64, Millis,
};
use crate::mailing::tx_result;
use crate::recipient::{count_key, Recipient};
use crate::report::BounceEntry;
use crate::store::Store;
use crate::transition::transition_allowed;
use mm_domain::{BounceReason, RecipientStatus, SkipReason};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

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

type TxError = ConflictableTransactionError<StoreError>;

/// Recipient `row` and the block value it was read from (for [`tx_put_recipient`]).
fn tx_get_recipient(
    t: &TransactionalTree,
    mailing: u32,
    row: u32,
) -> Result<(sled::IVec, Recipient), TxError> {
    let unknown = || TxError::Abort(StoreError::UnknownRecipient { mailing, row });
    let k = block_key(mailing, row);
    let v = t.get(k)?.ok_or_else(unknown)?;
    let r = Block::parse(&k, &v)
        .and_then(|b| b.recipient(mailing, row))
        .map_err(TxError::Abort)?
        .ok_or_else(unknown)?;
    Ok((v, r))
}

/// Writes `new` back into `block` (as read by [`tx_get_recipient`] in this transaction), the
/// neighbours' bytes copied unchanged. sled serialises transactions, so concurrent updates of
/// rows that share a block do not lose each other's writes.
fn tx_put_recipient(t: &TransactionalTree, block: &[u8], new: &Recipient) -> Result<(), TxError> {
    let k = block_key(new.mailing, new.row);
    let value = Block::parse(&k, block)
        .map_err(TxError::Abort)?
        .with_record(new.row, &encode_recipient(new));
    t.insert(&k, value)?;
    Ok(())
}

fn tx_add_count(
    t: &TransactionalTree,
    mailing: u32,
    s: RecipientStatus,
    delta: i64,
) -> Result<(), TxError> {
    let k = count_key(mailing, s);
    let old = t.get(&k)?.and_then(|v| read_u64(&v, 0)).unwrap_or(0);
    let new = old.saturating_add_signed(delta);
    t.insert(k, &new.to_be_bytes())?;
    Ok(())
}

/// Moves the recipient between statuses in the counters and the due index.
fn tx_move(
    counts: &TransactionalTree,
    due: &TransactionalTree,
    old: &Recipient,
    new: &Recipient,
) -> Result<(), TxError> {
    if old.status != new.status {
        tx_add_count(counts, old.mailing, old.status, -1)?;
        tx_add_count(counts, new.mailing, new.status, 1)?;
    }
    if old.status == RecipientStatus::Pending {
        tx_set_due(due, old.mailing, old.next_attempt, old.row, false)?;
    }
    if new.status == RecipientStatus::Pending {
        tx_set_due(due, new.mailing, new.next_attempt, new.row, true)?;
    }
    Ok(())
}

/// Sets or clears `row`'s bit in its due-index bitmap, removing the entry once it is empty.
/// (Transactions are serialised by sled, so concurrent updates of neighbouring rows that share
/// one entry do not lose bits.)
fn tx_set_due(
    due: &TransactionalTree,
    mailing: u32,
    at: Millis,
    row: u32,
    on: bool,
) -> Result<(), TxError> {
    let k = due_key(mailing, at, row);
    let old = due.get(k)?;
    match due_bitmap_set(old.as_deref(), row, on) {
        Some(bits) => {
            due.insert(&k, bits)?;
        }
        None => {
            due.remove(&k)?;
        }
    }
    Ok(())
}

impl Store {
    /// Applies `update` to recipient `row` of mailing `mailing` if [`transition_allowed`] from
    /// its current status; otherwise returns [`UpdateOutcome::Refused`] and changes nothing.
    /// Recipient, status counts, due index and bounce log change in one transaction.
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
        let i = &self.inner;
        let now = now_ms();
        let res = (&i.recipients, &i.counts, &i.due, &i.bounces).transaction(
            |(recs, counts, due, bounces)| {
                let (block, old) = tx_get_recipient(recs, mailing, row)?;
                if !transition_allowed(old.status, update.status) {
                    return Ok(UpdateOutcome::Refused {
                        current: old.status,
                    });
                }
                let mut new = old.clone();
                update.apply(&mut new, now);
                tx_move(counts, due, &old, &new)?;
                tx_put_recipient(recs, &block, &new)?;
                if new.status == RecipientStatus::Bounced {
                    let entry = BounceEntry::of(&new);
                    bounces.insert(&pair_key(mailing, row), encode(&entry))?;
                }
                Ok(UpdateOutcome::Applied {
                    previous: old.status,
                    recipient: Box::new(new),
                })
            },
        );
        tx_result(res)
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
        let i = &self.inner;
        let now = now_ms();
        let res = (&i.recipients, &i.counts, &i.due).transaction(|(recs, counts, due)| {
            let (block, old) = tx_get_recipient(recs, mailing, row)?;
            if !matches!(
                old.status,
                RecipientStatus::Pending | RecipientStatus::Excluded
            ) {
                return Err(TxError::Abort(StoreError::NotTickable {
                    mailing,
                    row,
                    status: old.status,
                }));
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
            tx_move(counts, due, &old, &new)?;
            tx_put_recipient(recs, &block, &new)?;
            Ok(new)
        });
        tx_result(res)
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
        let start = due_key(mailing, 0, 0);
        let end = due_key(mailing, now, u32::MAX);
        // Each entry is read once and its rows handed out in order; the caller re-reads each
        // recipient anyway (its status may have changed since), as with one key per row.
        self.inner.due.range(start..=end).flat_map(
            |kv| -> Box<dyn Iterator<Item = Result<u32>> + Send> {
                let (k, bits) = match kv {
                    Ok(kv) => kv,
                    Err(e) => return Box::new(std::iter::once(Err(e.into()))),
                };
                match read_u32(&k, 12) {
                    Some(block) => Box::new(
                        due_bitmap_rows(block, &bits)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .map(Ok),
                    ),
                    None => Box::new(std::iter::once(Err(crate::keys::corrupt(
                        "due index",
                        &k,
                        "short key",
                    )))),
                }
            },
        )
    }

    /// When the next `pending` recipient of `mailing` is due (None: nothing pending). A value
    /// `<= now` means work is waiting.
    pub fn next_due(&self, mailing: u32) -> Result<Option<Millis>> {
        match self
            .inner
            .due
            .scan_prefix(crate::keys::u32_key(mailing))
            .next()
        {
            Some(kv) => {
                let (k, _) = kv?;
                Ok(read_u64(&k, 4))
            }
            None => Ok(None),
        }
    }
}

//! Recipients of a mailing: the record, reading one, streaming and paging the list, lookup by
//! address, and the counts by status.
use crate::address_index::{lookup_prefix, rows_in_run};
use crate::block::{block_key, Block};
use crate::error::{Result, StoreError};
use crate::keys::{normalize_address, Millis};
use crate::store::Store;
use mm_domain::{BounceReason, RecipientStatus, SkipReason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One row of a mailing's recipient list (SPEC §5) with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The mailing number.
    pub mailing: u32,
    /// Row index in the report (0-based); the VERP token carries it.
    pub row: u32,
    /// Customer id, when the report has that column.
    pub customer_id: Option<String>,
    /// Customer name, when the report has that column.
    pub customer_name: Option<String>,
    /// Contact id, when the report has that column.
    pub contact_id: Option<String>,
    /// The address as written in the report.
    pub email: String,
    /// Whether the recipient is to be sent to ("Versenden").
    pub send: bool,
    /// Why not, when `send` is false.
    pub skip_reason: Option<SkipReason>,
    /// The report row's values in `Mailing::columns` order: the snapshot the message is
    /// rendered from, so a sent mailing stays reproducible when the CSV changes.
    pub fields: Vec<String>,
    /// Delivery status.
    pub status: RecipientStatus,
    /// Send attempts made so far.
    pub attempts: u32,
    /// While `pending`: not before this time (0 = at once).
    pub next_attempt: Millis,
    /// The relay's queue id from its 250 reply.
    pub queue_id: Option<String>,
    /// The last SMTP reply text from the relay.
    pub smtp_reply: Option<String>,
    /// Enhanced status code (e.g. `5.2.2`), from the relay or a report.
    pub status_code: Option<String>,
    /// Bounce reason from a report.
    pub reason: Option<BounceReason>,
    /// Hard bounce (SPEC §8).
    pub hard: bool,
    /// Diagnostic text from a report.
    pub diagnostic: Option<String>,
    /// Remote MTA named in a report.
    pub remote_mta: Option<String>,
    /// Last change.
    pub updated: Millis,
}

#[cfg(test)]
impl Recipient {
    /// A freshly imported, ticked row (`pending`, due at once) for unit tests.
    pub(crate) fn pending_for_test(mailing: u32, row: u32) -> Recipient {
        Recipient {
            mailing,
            row,
            customer_id: None,
            customer_name: None,
            contact_id: None,
            email: format!("r{row}@example.org"),
            send: true,
            skip_reason: None,
            fields: vec![],
            status: RecipientStatus::Pending,
            attempts: 0,
            next_attempt: 0,
            queue_id: None,
            smtp_reply: None,
            status_code: None,
            reason: None,
            hard: false,
            diagnostic: None,
            remote_mta: None,
            updated: 0,
        }
    }
}

/// A row to import: what the report says about a recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRecipient {
    /// Customer id column.
    pub customer_id: Option<String>,
    /// Customer name column.
    pub customer_name: Option<String>,
    /// Contact id column.
    pub contact_id: Option<String>,
    /// The address as written.
    pub email: String,
    /// Ticked for sending.
    pub send: bool,
    /// Why not, when `send` is false.
    pub skip_reason: Option<SkipReason>,
    /// The row's values in column order.
    pub fields: Vec<String>,
}

/// Number of recipients per status of one mailing. Serialises as `{"pending": 3, ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusCounts(pub BTreeMap<RecipientStatus, u64>);

impl StatusCounts {
    /// Recipients with `status`.
    pub fn get(&self, status: RecipientStatus) -> u64 {
        self.0.get(&status).copied().unwrap_or(0)
    }

    /// All recipients.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

impl Store {
    /// Recipient `row` of mailing `mailing`.
    pub fn recipient(&self, mailing: u32, row: u32) -> Result<Option<Recipient>> {
        let k = block_key(mailing, row);
        match self.inner.recipients.get(k)? {
            Some(v) => Block::parse(&k, &v)?.recipient(mailing, row),
            None => Ok(None),
        }
    }

    /// Streams the recipient list of `mailing` in row order, straight from the tree (nothing is
    /// loaded up front; memory stays flat in the list's length).
    pub fn recipients(
        &self,
        mailing: u32,
    ) -> impl Iterator<Item = Result<Recipient>> + Send + 'static {
        self.recipients_from(mailing, 0)
    }

    /// Streams the recipients of `mailing` from row `first` on, in row order.
    pub fn recipients_from(
        &self,
        mailing: u32,
        first: u32,
    ) -> impl Iterator<Item = Result<Recipient>> + Send + 'static {
        // One read per row, not one range scan over the blocks: sled (0.34) registers cache
        // accesses in per-shard queues of 64 and evicts only when a queue is full, so a scan
        // that touches each page once held up to 64 × N_SHARDS pages beyond the cache — with
        // upstream's 256 shards the whole tree of 1,000,000 rows (heap +200 MB, `bulk_1m`).
        // Our sled has 16 shards (vendor/sled/PATCHES.md), and a read per row still touches
        // each page 16 × as often, so eviction keeps up. Rows are numbered densely from 0, so
        // the first missing row ends the list.
        let store = self.clone();
        let mut next = Some(first);
        std::iter::from_fn(move || {
            let row = next?;
            next = row.checked_add(1);
            match store.recipient(mailing, row) {
                Ok(Some(r)) => Some(Ok(r)),
                Ok(None) => {
                    next = None;
                    None
                }
                Err(e) => Some(Err(e)),
            }
        })
    }

    /// One page of the list: up to `limit` recipients from row `offset` on. Rows are numbered
    /// densely from 0, so this costs O(limit), not O(offset); the next page starts at
    /// `last.row + 1`.
    pub fn recipients_page(
        &self,
        mailing: u32,
        offset: u32,
        limit: usize,
    ) -> Result<Vec<Recipient>> {
        self.recipients_from(mailing, offset).take(limit).collect()
    }

    /// Row indexes of the rows of `mailing` whose address equals `address` (case-insensitive,
    /// trimmed), in row order. More than one when the report lists the address twice.
    pub fn rows_by_email(&self, mailing: u32, address: &str) -> Result<Vec<u32>> {
        let norm = normalize_address(address);
        let mut rows = Vec::new();
        // One value per run of rows, runs in row order: the rows come out in row order.
        for kv in self
            .inner
            .emails
            .scan_prefix(lookup_prefix(mailing, address))
        {
            let (k, v) = kv?;
            rows_in_run(&k, &v, &norm, &mut rows)?;
        }
        Ok(rows)
    }

    /// The recipient of `mailing` with `address`: the first row with that address that is
    /// ticked for sending, else the first row with it.
    pub fn recipient_by_email(&self, mailing: u32, address: &str) -> Result<Option<Recipient>> {
        let mut first = None;
        for row in self.rows_by_email(mailing, address)? {
            if let Some(r) = self.recipient(mailing, row)? {
                if r.send {
                    return Ok(Some(r));
                }
                first.get_or_insert(r);
            }
        }
        Ok(first)
    }

    /// Counts by status, kept in step with every record written (`tally`), so this costs
    /// the same whatever the list's length.
    pub fn counts(&self, mailing: u32) -> Result<StatusCounts> {
        Ok(self.inner.tally.counts(mailing))
    }

    /// Counts by status computed by scanning the whole list (a check on [`Store::counts`]).
    pub fn count_by_scan(&self, mailing: u32) -> Result<StatusCounts> {
        let mut counts = BTreeMap::new();
        for r in self.recipients(mailing) {
            *counts.entry(r?.status).or_insert(0) += 1;
        }
        Ok(StatusCounts(counts))
    }

    pub(crate) fn recipient_exists(&self, mailing: u32, row: u32) -> Result<()> {
        let k = block_key(mailing, row);
        match self.inner.recipients.get(k)? {
            Some(v) if Block::parse(&k, &v)?.has(row) => Ok(()),
            _ => Err(StoreError::UnknownRecipient { mailing, row }),
        }
    }
}

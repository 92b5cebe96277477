//! Bulk import of a draft's recipient list, streamed from an iterator in batches.
use crate::address_index::{AddressRun, RUN_ROWS};
use crate::block::{block_key, BlockWriter, BLOCK_ROWS};
use crate::codec::encode_recipient;
use crate::error::{Result, StoreError};
use crate::keys::{now_ms, u32_key};
use crate::recipient::{NewRecipient, Recipient};
use crate::store::Store;
use mm_domain::{MailingState, RecipientStatus};
use std::convert::Infallible;

/// Rows written per sled batch. Measured with 300,000 rows and a 64 MiB cache (peak RSS):
/// 100 → 116 MB, 500 → 134 MB, 1,000 → 172 MB, 5,000 → 795 MB — sled keeps big batches'
/// nodes resident far beyond its cache size, so batches stay small. A multiple of the
/// recipient block size, so that no block spans two batches.
const BATCH_ROWS: usize = 512;

/// Rows imported between flushes (a multiple of `BATCH_ROWS`). Without them sled buffers the
/// whole import's log writes and node versions until the final flush, and the heap they leave
/// behind stays resident: 1,000,000 rows with a 16 MiB cache peaked at 140–237 MB (varying from
/// run to run) with one flush at the end, 94 MB flushing every 20,000 rows (`bulk_1m`). A flush
/// per 10,240 rows costs ~100 fsyncs per million rows. The address index's runs end here too.
const FLUSH_ROWS: u32 = RUN_ROWS;

const _: () = assert!(
    (BATCH_ROWS as u32).is_multiple_of(BLOCK_ROWS) && FLUSH_ROWS.is_multiple_of(BATCH_ROWS as u32)
);

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows imported.
    pub total: u32,
    /// Rows ticked for sending (status `pending`).
    pub to_send: u32,
}

impl Store {
    /// Replaces the recipient list of draft mailing `id` with `rows` (row indexes 0, 1, ...
    /// in iteration order). See [`Store::try_import_recipients`].
    pub fn import_recipients(
        &self,
        id: &str,
        rows: impl IntoIterator<Item = NewRecipient>,
    ) -> Result<ImportSummary> {
        self.try_import_recipients(id, rows.into_iter().map(Ok::<_, Infallible>))
    }

    /// Replaces the recipient list of draft mailing `id` with `rows`, streaming: rows are
    /// written in batches, so memory stays flat for a million rows. Ticked rows start
    /// `pending` (due at once), the others `excluded`.
    ///
    /// The mailing's `recipients_complete` is false while the import runs and becomes true
    /// (with `recipient_total`) only at its end, after a flush; an import that fails part-way
    /// ([`StoreError::Source`] when `rows` yields an error) leaves it false, and the next
    /// import replaces the partial list. Do not run two imports of one mailing at once.
    pub fn try_import_recipients<E>(
        &self,
        id: &str,
        rows: impl IntoIterator<Item = std::result::Result<NewRecipient, E>>,
    ) -> Result<ImportSummary>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let mailing = self
            .mailing(id)?
            .ok_or_else(|| StoreError::UnknownMailing(id.to_string()))?;
        if mailing.state != MailingState::Draft {
            return Err(StoreError::NotDraft {
                id: id.to_string(),
                state: mailing.state,
                what: "replacing the recipient list",
            });
        }
        self.update_mailing(id, |m| {
            m.recipients_complete = false;
            m.recipient_total = 0;
        })?;
        let m = mailing.number;
        self.clear_recipients(m)?;

        let i = &self.inner;
        let now = now_ms();
        let (mut recs, mut emails) = (sled::Batch::default(), sled::Batch::default());
        // The rows of the batch being filled, added to the tally once the batch is written.
        let mut written = Vec::with_capacity(BATCH_ROWS);
        // Addresses unticked by hand through the API survive a re-import of the list.
        let check_unticked = self.has_unticked(m)?;
        // The recipient block and the address run being filled: rows arrive in order.
        let mut block = BlockWriter::default();
        let mut addresses = AddressRun::new(m);
        let mut in_batch = 0usize;
        let mut row: u32 = 0;
        let mut to_send: u32 = 0;
        for item in rows {
            let mut new = item.map_err(|e| StoreError::Source {
                id: id.to_string(),
                row,
                source: Box::new(e),
            })?;
            if new.send && check_unticked && self.is_unticked(m, &new.email)? {
                new.send = false;
                new.skip_reason = Some(mm_domain::SkipReason::Unticked);
            }
            let status = if new.send {
                RecipientStatus::Pending
            } else {
                RecipientStatus::Excluded
            };
            let r = Recipient {
                mailing: m,
                row,
                customer_id: new.customer_id,
                customer_name: new.customer_name,
                contact_id: new.contact_id,
                email: new.email,
                send: new.send,
                skip_reason: if new.send { None } else { new.skip_reason },
                fields: new.fields,
                status,
                attempts: 0,
                next_attempt: 0,
                queue_id: None,
                smtp_reply: None,
                status_code: None,
                reason: None,
                hard: false,
                diagnostic: None,
                remote_mta: None,
                updated: now,
            };
            if new.send {
                to_send += 1;
            }
            addresses.add(row, &r.email);
            block.push(&encode_recipient(&r));
            if block.len() == BLOCK_ROWS as usize {
                recs.insert(&block_key(m, row), block.take().expect("a full block"));
            }
            written.push(r);
            in_batch += 1;
            if in_batch == BATCH_ROWS {
                i.recipients.apply_batch(std::mem::take(&mut recs))?;
                i.tally.add_all(m, &written);
                written.clear();
                in_batch = 0;
                if row % FLUSH_ROWS == FLUSH_ROWS - 1 {
                    addresses.write(&mut emails, row + 1);
                    i.emails.apply_batch(std::mem::take(&mut emails))?;
                    self.flush()?;
                }
            }
            row = row
                .checked_add(1)
                .ok_or(StoreError::Exhausted("recipient rows"))?;
        }
        if let Some(last) = block.take() {
            recs.insert(&block_key(m, row - 1), last);
        }
        addresses.write(&mut emails, row);
        i.recipients.apply_batch(recs)?;
        i.tally.add_all(m, &written);
        i.emails.apply_batch(emails)?;
        // The list must be on disk before it is declared complete.
        self.flush()?;
        self.update_mailing(id, |mm| {
            mm.recipients_complete = true;
            mm.recipient_total = row;
        })?;
        self.flush()?;
        tracing::debug!(
            mailing = id,
            total = row,
            to_send,
            "recipient list imported"
        );
        Ok(ImportSummary {
            total: row,
            to_send,
        })
    }

    /// Removes every recipient row of mailing `m` and its indexes, in batches.
    fn clear_recipients(&self, m: u32) -> Result<()> {
        let i = &self.inner;
        i.tally.clear(m);
        for tree in [&i.recipients, &i.emails] {
            loop {
                let mut batch = sled::Batch::default();
                let mut n = 0;
                for kv in tree.scan_prefix(u32_key(m)).keys().take(BATCH_ROWS) {
                    batch.remove(kv?);
                    n += 1;
                }
                if n == 0 {
                    break;
                }
                tree.apply_batch(batch)?;
            }
        }
        Ok(())
    }
}

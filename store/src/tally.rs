//! The status counts and the due queue of every mailing, kept in memory and derived from the
//! recipient records: built when the store opens, changed with every recipient write.
//!
//! Why not in sled (layout 2 kept both as trees, changed in one transaction with the record):
//! a sled 0.34 transaction pins the log, which rolls the log buffer before and after it, so
//! every status change cost two buffer writes, each with its own `pwrite` +
//! `sync_file_range` — at one connection the sender's final dot waited for both (measured
//! with `strace -c`, 2,000 messages: 4,086 syncs with the transaction, 2,072 with one plain
//! insert per change). With the record as the only thing written, a change is one plain
//! insert, a flush is one sync, and nothing derived can drift from the records: after a crash
//! the store recovers a prefix of its log and the tally is rebuilt from what is there.
//!
//! Memory: the counts are a handful of numbers a mailing; the due queue keeps one 256-row
//! bitmap per (due time, block of 256 rows) holding a pending row, as the `due` tree did:
//! ~4,000 entries (~250 KB) for a fresh list of 1,000,000.
use crate::keys::Millis;
use crate::recipient::{Recipient, StatusCounts};
use mm_domain::RecipientStatus;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

/// Rows per due-queue entry.
const DUE_BLOCK_ROWS: u32 = 256;

/// A 256-row bitmap: bit `row % 256` is bit `(row % 256) % 64` of word `(row % 256) / 64`.
type Bits = [u64; 4];

/// The key of a due-queue entry: due time, then block of 256 rows, so that iterating in key
/// order yields the earliest due first and rows in order among equals.
type DueKey = (Millis, u32);

#[derive(Debug, Default)]
struct MailingTally {
    counts: BTreeMap<RecipientStatus, u64>,
    due: BTreeMap<DueKey, Bits>,
}

impl MailingTally {
    fn count(&mut self, status: RecipientStatus, up: bool) {
        let n = self.counts.entry(status).or_insert(0);
        *n = if up {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        if *n == 0 {
            self.counts.remove(&status);
        }
    }

    fn set_due(&mut self, at: Millis, row: u32, on: bool) {
        let key = (at, row / DUE_BLOCK_ROWS);
        let bit = row % DUE_BLOCK_ROWS;
        let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
        if on {
            self.due.entry(key).or_default()[word] |= mask;
        } else if let Some(bits) = self.due.get_mut(&key) {
            bits[word] &= !mask;
            if bits.iter().all(|w| *w == 0) {
                self.due.remove(&key);
            }
        }
    }

    fn add(&mut self, r: &Recipient) {
        self.count(r.status, true);
        if r.status == RecipientStatus::Pending {
            self.set_due(r.next_attempt, r.row, true);
        }
    }

    fn remove(&mut self, r: &Recipient) {
        self.count(r.status, false);
        if r.status == RecipientStatus::Pending {
            self.set_due(r.next_attempt, r.row, false);
        }
    }
}

/// The counts and due queues of all mailings. Callers change it while they hold the lock of
/// the recipient's block (`Store::block_lock`), right after writing the record, so that the
/// changes of one row are applied in the order they were written.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    mailings: Mutex<HashMap<u32, MailingTally>>,
}

impl Tally {
    fn lock(&self) -> MutexGuard<'_, HashMap<u32, MailingTally>> {
        // A panic while holding this lock cannot leave a half-made change (each method
        // changes plain numbers); the data stays usable.
        self.mailings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Recipient records written for the first time (import, rebuild at open).
    pub(crate) fn add_all<'a>(&self, mailing: u32, rs: impl IntoIterator<Item = &'a Recipient>) {
        let mut all = self.lock();
        let t = all.entry(mailing).or_default();
        for r in rs {
            t.add(r);
        }
    }

    /// A recipient record was rewritten from `old` to `new`.
    pub(crate) fn changed(&self, old: &Recipient, new: &Recipient) {
        if old.status == new.status
            && (old.status != RecipientStatus::Pending || old.next_attempt == new.next_attempt)
        {
            return;
        }
        let mut all = self.lock();
        let t = all.entry(new.mailing).or_default();
        t.remove(old);
        t.add(new);
    }

    /// Every row of `mailing` was removed.
    pub(crate) fn clear(&self, mailing: u32) {
        self.lock().remove(&mailing);
    }

    /// Counts by status of `mailing`.
    pub(crate) fn counts(&self, mailing: u32) -> StatusCounts {
        StatusCounts(
            self.lock()
                .get(&mailing)
                .map(|t| t.counts.clone())
                .unwrap_or_default(),
        )
    }

    /// When the earliest pending row of `mailing` is due.
    pub(crate) fn next_due(&self, mailing: u32) -> Option<Millis> {
        let all = self.lock();
        all.get(&mailing)?.due.keys().next().map(|(at, _)| *at)
    }

    /// The rows of the first due-queue entry of `mailing` at or after `from` that is due at
    /// `now` or earlier, in row order, and the key to continue from.
    pub(crate) fn due_from(
        &self,
        mailing: u32,
        from: DueKey,
        now: Millis,
    ) -> Option<(Vec<u32>, Option<DueKey>)> {
        let all = self.lock();
        let (&(at, block), bits) = all.get(&mailing)?.due.range(from..).next()?;
        if at > now {
            return None;
        }
        let base = block.saturating_mul(DUE_BLOCK_ROWS);
        let mut rows = Vec::new();
        for (i, &w) in bits.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let bit = w.trailing_zeros();
                rows.push(base + i as u32 * 64 + bit);
                w &= w - 1;
            }
        }
        let next = match block.checked_add(1) {
            Some(b) => Some((at, b)),
            None => at.checked_add(1).map(|a| (a, 0)),
        };
        Some((rows, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(row: u32, status: RecipientStatus, next_attempt: Millis) -> Recipient {
        Recipient {
            status,
            next_attempt,
            ..Recipient::pending_for_test(1, row)
        }
    }

    /// All rows due at `now`, as `Store::due_rows` walks them.
    fn due(t: &Tally, now: Millis) -> Vec<u32> {
        let mut out = Vec::new();
        let mut from = Some((0, 0));
        while let Some((rows, next)) = from.and_then(|f| t.due_from(1, f, now)) {
            out.extend(rows);
            from = next;
        }
        out
    }

    #[test]
    fn due_rows_come_earliest_first_and_in_row_order_among_equals() {
        let t = Tally::default();
        for row in [700, 3, 255, 256, 0] {
            t.add_all(1, [&rec(row, RecipientStatus::Pending, 0)]);
        }
        t.add_all(1, [&rec(5, RecipientStatus::Pending, 50)]);
        t.add_all(1, [&rec(1, RecipientStatus::Pending, 90)]);
        t.add_all(1, [&rec(9, RecipientStatus::Excluded, 0)]);
        assert_eq!(due(&t, 10), vec![0, 3, 255, 256, 700]);
        assert_eq!(due(&t, 60), vec![0, 3, 255, 256, 700, 5]);
        assert_eq!(due(&t, 100), vec![0, 3, 255, 256, 700, 5, 1]);
        assert_eq!(t.next_due(1), Some(0));
        assert_eq!(t.next_due(2), None);
    }

    #[test]
    fn changes_move_counts_and_queue_entries_and_empty_entries_go() {
        let t = Tally::default();
        let a = rec(7, RecipientStatus::Pending, 0);
        t.add_all(1, [&a]);
        let retry = rec(7, RecipientStatus::Pending, 500);
        t.changed(&a, &retry);
        assert_eq!(due(&t, 100), Vec::<u32>::new());
        assert_eq!(t.next_due(1), Some(500));
        let sent = rec(7, RecipientStatus::Sent, 500);
        t.changed(&retry, &sent);
        assert_eq!(t.next_due(1), None);
        let c = t.counts(1);
        assert_eq!(c.get(RecipientStatus::Sent), 1);
        assert_eq!(c.get(RecipientStatus::Pending), 0);
        assert!(
            !c.0.contains_key(&RecipientStatus::Pending),
            "zero counts are dropped"
        );
        t.clear(1);
        assert_eq!(t.counts(1).total(), 0);
    }
}

//! Recipient records packed [`BLOCK_ROWS`] rows per sled key.
//!
//! Why: sled 0.34 splits a leaf once it holds more than 16 entries and keeps per-page state
//! resident for every page it knows, cached or not. One key per row made the recipient tree
//! ~60,000–110,000 pages at 1,000,000 rows, and that state alone grew the live heap by tens of
//! MB between 100,000 and 1,000,000 rows. Blocks divide the page count by `BLOCK_ROWS`.
//!
//! Value layout: `02` (block version), slot count u8, then per slot (row `block * BLOCK_ROWS +
//! slot`, slots dense from 0) the record's length u32 big-endian and the record in the form of
//! `codec`. An update re-encodes only its own record and copies its neighbours' bytes as they
//! are. Rows are numbered densely by the import, so only a list's last block is short.
//! Decoding never panics: a malformed block, or a record that names another row, is
//! [`StoreError::Corrupt`] with the block's key.
use crate::codec::decode_recipient;
use crate::error::{Result, StoreError};
use crate::keys::{hex, pair_key};
use crate::recipient::Recipient;

/// Rows per key of the `recipients` tree. Each update rewrites the whole block (~16 × 200
/// bytes for a list with 8 merge fields), so blocks stay small: 16 rows already make the tree
/// ~16 × fewer pages, beyond which the per-page state is no longer what grows with a list.
pub(crate) const BLOCK_ROWS: u32 = 16;

const BLOCK_VERSION: u8 = 2;
const HEADER: usize = 2;

/// `[mailing u32][row / BLOCK_ROWS u32]`: the key of the block holding `row`.
pub(crate) fn block_key(mailing: u32, row: u32) -> [u8; 8] {
    pair_key(mailing, row / BLOCK_ROWS)
}

fn corrupt(key: &[u8], detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: "recipient block",
        key: hex(key),
        detail: detail.into(),
    }
}

/// A parsed block value: where each slot's record lies.
pub(crate) struct Block<'a> {
    key: &'a [u8],
    bytes: &'a [u8],
    slots: [(usize, usize); BLOCK_ROWS as usize],
    len: usize,
}

impl<'a> Block<'a> {
    /// Parses the block stored under `key` (checks the framing, not the records).
    pub(crate) fn parse(key: &'a [u8], bytes: &'a [u8]) -> Result<Block<'a>> {
        let (&version, rest) = bytes
            .split_first()
            .ok_or_else(|| corrupt(key, "empty block"))?;
        if version != BLOCK_VERSION {
            return Err(corrupt(key, format!("unknown block version {version}")));
        }
        let len = *rest.first().ok_or_else(|| corrupt(key, "no slot count"))? as usize;
        if len == 0 || len > BLOCK_ROWS as usize {
            return Err(corrupt(key, format!("slot count {len}")));
        }
        let mut slots = [(0, 0); BLOCK_ROWS as usize];
        let mut at = HEADER;
        for slot in slots.iter_mut().take(len) {
            let n = bytes
                .get(at..at + 4)
                .ok_or_else(|| corrupt(key, "block too short"))?;
            let n = u32::from_be_bytes(n.try_into().expect("4 bytes")) as usize;
            let start = at + 4;
            let end = start
                .checked_add(n)
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| corrupt(key, "record runs past the block"))?;
            *slot = (start, end);
            at = end;
        }
        if at != bytes.len() {
            return Err(corrupt(key, "trailing bytes"));
        }
        Ok(Block {
            key,
            bytes,
            slots,
            len,
        })
    }

    /// Whether `row` (which must belong to this block) is present.
    pub(crate) fn has(&self, row: u32) -> bool {
        ((row % BLOCK_ROWS) as usize) < self.len
    }

    /// The record of `row`, None when the block is shorter. Checks that the record is the
    /// row's: a record under the wrong slot would otherwise be updated as someone else.
    pub(crate) fn recipient(&self, mailing: u32, row: u32) -> Result<Option<Recipient>> {
        let slot = (row % BLOCK_ROWS) as usize;
        if slot >= self.len {
            return Ok(None);
        }
        let (s, e) = self.slots[slot];
        let r = decode_recipient(self.key, &self.bytes[s..e])?;
        if r.mailing != mailing || r.row != row {
            return Err(corrupt(
                self.key,
                format!(
                    "slot {slot} holds mailing {} row {}, expected mailing {mailing} row {row}",
                    r.mailing, r.row
                ),
            ));
        }
        Ok(Some(r))
    }

    /// The block with `row`'s record replaced by `record` (already encoded); the other slots'
    /// bytes are copied unchanged. `row` must be present.
    pub(crate) fn with_record(&self, row: u32, record: &[u8]) -> Vec<u8> {
        let slot = (row % BLOCK_ROWS) as usize;
        debug_assert!(slot < self.len, "replacing a missing slot");
        let (s, e) = self.slots[slot];
        let mut out = Vec::with_capacity(self.bytes.len() - (e - s) + record.len());
        out.extend_from_slice(&self.bytes[..s - 4]);
        out.extend_from_slice(&record_len(record).to_be_bytes());
        out.extend_from_slice(record);
        out.extend_from_slice(&self.bytes[e..]);
        out
    }
}

fn record_len(record: &[u8]) -> u32 {
    // A record is a few KB at most (merge fields of one CSV row); sled could not hold 4 GiB.
    u32::try_from(record.len()).expect("recipient record under 4 GiB")
}

/// Builds a block from encoded records of consecutive rows, starting at the block's slot 0.
#[derive(Default)]
pub(crate) struct BlockWriter {
    bytes: Vec<u8>,
}

impl BlockWriter {
    /// Rows added so far.
    pub(crate) fn len(&self) -> usize {
        self.bytes.get(1).map_or(0, |&n| n as usize)
    }

    /// Appends the next row's record. At most [`BLOCK_ROWS`] per block.
    pub(crate) fn push(&mut self, record: &[u8]) {
        if self.bytes.is_empty() {
            self.bytes.extend_from_slice(&[BLOCK_VERSION, 0]);
        }
        assert!(self.len() < BLOCK_ROWS as usize, "block is full");
        self.bytes[1] += 1;
        self.bytes
            .extend_from_slice(&record_len(record).to_be_bytes());
        self.bytes.extend_from_slice(record);
    }

    /// The block value, None when no row was added; the writer is empty again.
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        (!self.bytes.is_empty()).then(|| std::mem::take(&mut self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_recipient;
    use mm_domain::RecipientStatus;

    fn rec(row: u32) -> Recipient {
        Recipient {
            customer_id: Some(format!("K{row}")),
            fields: vec!["x".repeat(row as usize % 7)],
            updated: 1,
            ..Recipient::pending_for_test(3, row)
        }
    }

    fn block(first: u32, n: u32) -> Vec<u8> {
        let mut w = BlockWriter::default();
        for row in first..first + n {
            w.push(&encode_recipient(&rec(row)));
        }
        w.take().unwrap()
    }

    #[test]
    fn round_trips_full_and_short_blocks() {
        for n in [1, 5, BLOCK_ROWS] {
            let first = 2 * BLOCK_ROWS;
            let bytes = block(first, n);
            let key = block_key(3, first);
            let b = Block::parse(&key, &bytes).unwrap();
            assert!(b.has(first + n - 1));
            for row in first..first + n {
                assert_eq!(b.recipient(3, row).unwrap(), Some(rec(row)));
            }
            if n < BLOCK_ROWS {
                assert!(!b.has(first + n));
                assert_eq!(b.recipient(3, first + n).unwrap(), None);
            }
        }
        assert_eq!(BlockWriter::default().take(), None);
    }

    #[test]
    fn replacing_a_record_leaves_its_neighbours_byte_for_byte() {
        let bytes = block(0, BLOCK_ROWS);
        let key = block_key(3, 0);
        let b = Block::parse(&key, &bytes).unwrap();
        let mut changed = rec(7);
        changed.status = RecipientStatus::Sent;
        changed.smtp_reply = Some("250 2.0.0 Ok: queued as 4Xyz, a longer reply".into());
        let new = b.with_record(7, &encode_recipient(&changed));
        let nb = Block::parse(&key, &new).unwrap();
        for row in 0..BLOCK_ROWS {
            let want = if row == 7 { changed.clone() } else { rec(row) };
            assert_eq!(nb.recipient(3, row).unwrap(), Some(want), "row {row}");
        }
        // Shorter again: the block shrinks back to the original bytes.
        assert_eq!(nb.with_record(7, &encode_recipient(&rec(7))), bytes);
    }

    #[test]
    fn truncated_or_damaged_blocks_are_corrupt_errors_naming_the_key() {
        let bytes = block(0, 4);
        let key = block_key(3, 0);
        for cut in 0..bytes.len() {
            let err = Block::parse(&key, &bytes[..cut])
                .and_then(|b| b.recipient(3, 3).map(|_| ()))
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::Corrupt { key: k, .. } if *k == hex(&key)),
                "cut at {cut}: {err}"
            );
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xA5;
            // May still parse (a flipped byte inside a string); must never panic.
            if let Ok(block) = Block::parse(&key, &b) {
                for row in 0..BLOCK_ROWS {
                    let _ = block.recipient(3, row);
                }
            }
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(Block::parse(&key, &extra).is_err());
        // An old-layout value (a bare version-1 record) is not a block.
        let old = encode_recipient(&rec(0));
        let err = Block::parse(&key, &old).err().unwrap();
        assert!(err.to_string().contains("block version 1"), "{err}");
    }

    #[test]
    fn a_record_under_the_wrong_slot_is_corrupt() {
        let mut w = BlockWriter::default();
        w.push(&encode_recipient(&rec(0)));
        w.push(&encode_recipient(&rec(5))); // slot 1 must hold row 1
        let bytes = w.take().unwrap();
        let key = block_key(3, 0);
        let b = Block::parse(&key, &bytes).unwrap();
        assert!(b.recipient(3, 0).is_ok());
        let err = b.recipient(3, 1).unwrap_err();
        assert!(
            err.to_string().contains("expected mailing 3 row 1"),
            "{err}"
        );
        assert!(b.recipient(4, 0).is_err(), "another mailing's record");
    }
}

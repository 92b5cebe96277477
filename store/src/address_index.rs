//! The address index of a mailing's recipients (`recipient_emails`): which rows have an
//! address, stored as hash buckets written in runs, not as one key per row.
//!
//! Why: one key per row cost sled a page per ~10 rows, with per-page state resident for every
//! page (see `block`). Here the import collects the addresses of [`RUN_ROWS`] consecutive rows
//! in memory, grouped by a hash of the address into [`BUCKETS`] buckets, and writes one key per
//! non-empty bucket: `[mailing u32][bucket u16][first row of the run u32]`. 1,000,000 rows
//! become ~25,000 keys (of ~40 entries each) instead of 1,000,000; a lookup reads the keys of
//! one bucket (one per run) and compares ~4,000 addresses. The index is written by the import
//! only (addresses never change afterwards) and cleared with the list.
//!
//! Value: entries of row u32 big-endian, address length u32 big-endian, normalised address
//! (UTF-8), in row order. The hash is FNV-1a (32 bit) of the normalised address: stored data
//! depends on it, so it must never change (std's hasher may change between Rust releases).
use crate::error::{Result, StoreError};
use crate::keys::{hex, normalize_address, read_u32};

/// Buckets per mailing.
pub(crate) const BUCKETS: u16 = 256;

/// Rows per run: what the import holds in memory before writing the run's buckets (~40 bytes
/// a row). A multiple of the import's batch size, so runs end where batches do.
pub(crate) const RUN_ROWS: u32 = 10_240;

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn bucket(normalized: &str) -> u16 {
    (fnv1a(normalized.as_bytes()) % u32::from(BUCKETS)) as u16
}

fn bucket_prefix(mailing: u32, bucket: u16) -> [u8; 6] {
    let mut k = [0u8; 6];
    k[..4].copy_from_slice(&mailing.to_be_bytes());
    k[4..].copy_from_slice(&bucket.to_be_bytes());
    k
}

fn run_key(mailing: u32, bucket: u16, first_row: u32) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[..6].copy_from_slice(&bucket_prefix(mailing, bucket));
    k[6..].copy_from_slice(&first_row.to_be_bytes());
    k
}

/// The addresses of one run of rows, collected during an import.
pub(crate) struct AddressRun {
    mailing: u32,
    first_row: u32,
    buckets: Vec<Vec<u8>>,
}

impl AddressRun {
    /// An empty run of `mailing` starting at row 0.
    pub(crate) fn new(mailing: u32) -> Self {
        AddressRun {
            mailing,
            first_row: 0,
            buckets: vec![Vec::new(); BUCKETS as usize],
        }
    }

    /// Adds `row` with `address` (rows in increasing order).
    pub(crate) fn add(&mut self, row: u32, address: &str) {
        let norm = normalize_address(address);
        let b = &mut self.buckets[bucket(&norm) as usize];
        b.extend_from_slice(&row.to_be_bytes());
        // An address longer than 4 GiB cannot come out of a CSV row that sled could store.
        let len = u32::try_from(norm.len()).expect("address under 4 GiB");
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(norm.as_bytes());
    }

    /// Writes the run's non-empty buckets into `batch` and starts the next run at `next_row`.
    pub(crate) fn write(&mut self, batch: &mut sled::Batch, next_row: u32) {
        for (i, b) in self.buckets.iter_mut().enumerate() {
            if !b.is_empty() {
                batch.insert(
                    &run_key(self.mailing, i as u16, self.first_row),
                    b.as_slice(),
                );
                b.clear();
            }
        }
        self.first_row = next_row;
    }
}

/// The key prefix under which the rows with `address` are found.
pub(crate) fn lookup_prefix(mailing: u32, address: &str) -> [u8; 6] {
    bucket_prefix(mailing, bucket(&normalize_address(address)))
}

/// Appends to `rows` the rows of one run value (stored under `key`) whose normalised address
/// is `normalized`.
pub(crate) fn rows_in_run(
    key: &[u8],
    value: &[u8],
    normalized: &str,
    rows: &mut Vec<u32>,
) -> Result<()> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        what: "address index",
        key: hex(key),
        detail: detail.to_string(),
    };
    let mut at = 0;
    while at < value.len() {
        let row = read_u32(value, at).ok_or_else(|| corrupt("entry too short"))?;
        let len = read_u32(value, at + 4).ok_or_else(|| corrupt("entry too short"))? as usize;
        let start = at + 8;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= value.len())
            .ok_or_else(|| corrupt("address runs past the value"))?;
        if &value[start..end] == normalized.as_bytes() {
            rows.push(row);
        }
        at = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fixed_because_stored_data_depends_on_it() {
        // Published FNV-1a test vectors.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn finds_every_row_of_an_address_and_no_other() {
        let mut run = AddressRun::new(9);
        for row in 0..2_000u32 {
            run.add(row, &format!("User{}@Example.org", row % 700));
        }
        let mut batch = sled::Batch::default();
        run.write(&mut batch, 2_000);
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.apply_batch(batch).unwrap();
        let mut rows = Vec::new();
        let want = "user7@example.org";
        for kv in db.scan_prefix(lookup_prefix(9, " USER7@example.org ")) {
            let (k, v) = kv.unwrap();
            rows_in_run(&k, &v, want, &mut rows).unwrap();
        }
        assert_eq!(rows, vec![7, 707, 1407]);
    }

    #[test]
    fn damaged_values_are_corrupt_errors_not_panics() {
        let mut run = AddressRun::new(1);
        run.add(0, "a@b.c");
        run.add(1, "d@e.f");
        let value: Vec<u8> = run.buckets.iter().flatten().copied().collect();
        for cut in 1..value.len() {
            let mut rows = Vec::new();
            let r = rows_in_run(b"\x01", &value[..cut], "a@b.c", &mut rows);
            if cut % 13 != 0 {
                // Cuts inside an entry (each entry is 8 + 5 bytes).
                let err = r.unwrap_err();
                assert!(err.to_string().contains("address index"), "{err}");
                assert!(err.to_string().contains("01"), "{err}");
            }
        }
        let mut big = value.clone();
        big[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(rows_in_run(b"k", &big, "a@b.c", &mut Vec::new()).is_err());
    }
}

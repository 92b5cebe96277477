//! Key encoding and value codecs shared by the store's modules (see the layout in `lib.rs`).
use crate::error::{Result, StoreError};
use serde::{de::DeserializeOwned, Serialize};

/// Byte that ends an address inside a composite key; never occurs in UTF-8.
pub(crate) const ADDR_END: u8 = 0xFF;

pub(crate) fn u32_key(n: u32) -> [u8; 4] {
    n.to_be_bytes()
}

pub(crate) fn pair_key(a: u32, b: u32) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&a.to_be_bytes());
    k[4..].copy_from_slice(&b.to_be_bytes());
    k
}

pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

pub(crate) fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Rows per entry of the due index. One key per pending row cost sled a page per ~10 rows
/// (leaves split at 16 items), and sled keeps per-page state resident for every page, cached
/// or not: with 1,000,000 rows that index alone was ~110,000 pages and ~17 MB of peak RSS.
/// A 256-row bitmap per key makes it ~4,000 keys for a fresh list.
pub(crate) const DUE_BLOCK_ROWS: u32 = 256;

/// Bytes of a due-index bitmap (one bit per row of the block, row `r` at bit `r % 256`).
pub(crate) const DUE_BITMAP_BYTES: usize = (DUE_BLOCK_ROWS / 8) as usize;

/// `[mailing u32][due u64][row / 256 as u32]`: the key of the due-index entry holding `row`.
pub(crate) fn due_key(mailing: u32, due: u64, row: u32) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&mailing.to_be_bytes());
    k[4..12].copy_from_slice(&due.to_be_bytes());
    k[12..].copy_from_slice(&(row / DUE_BLOCK_ROWS).to_be_bytes());
    k
}

/// Sets (`on`) or clears the bit of `row` in a due bitmap; a missing or short value counts as
/// all zeros. Returns the new bitmap, or None when no bit is left (the key is then removed).
pub(crate) fn due_bitmap_set(old: Option<&[u8]>, row: u32, on: bool) -> Option<Vec<u8>> {
    let mut bits = vec![0u8; DUE_BITMAP_BYTES];
    if let Some(old) = old {
        let n = old.len().min(DUE_BITMAP_BYTES);
        bits[..n].copy_from_slice(&old[..n]);
    }
    let bit = (row % DUE_BLOCK_ROWS) as usize;
    if on {
        bits[bit / 8] |= 1 << (bit % 8);
    } else {
        bits[bit / 8] &= !(1 << (bit % 8));
    }
    bits.iter().any(|&b| b != 0).then_some(bits)
}

/// The rows whose bits are set in the due bitmap of block `block`, in row order.
pub(crate) fn due_bitmap_rows(block: u32, bits: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let base = block.saturating_mul(DUE_BLOCK_ROWS);
    bits.iter()
        .take(DUE_BITMAP_BYTES)
        .enumerate()
        .flat_map(move |(i, &b)| {
            (0..8u32)
                .filter(move |bit| b & (1 << bit) != 0)
                .map(move |bit| base + i as u32 * 8 + bit)
        })
}

/// `[mailing u32][lowercased address][0xFF]`: prefix of the address index.
pub(crate) fn email_prefix(mailing: u32, address: &str) -> Vec<u8> {
    let norm = normalize_address(address);
    let mut k = Vec::with_capacity(4 + norm.len() + 5);
    k.extend_from_slice(&mailing.to_be_bytes());
    k.extend_from_slice(norm.as_bytes());
    k.push(ADDR_END);
    k
}

/// The one place where addresses are made comparable: surrounding space trimmed, lowercased
/// (Unicode-aware, so `ÄRGER@x.de` and `ärger@x.de` match).
pub fn normalize_address(address: &str) -> String {
    address.trim().to_lowercase()
}

/// `[len u16][bytes]`, so that a prefix scan on one component never matches a longer one.
pub(crate) fn push_str(k: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(&s.as_bytes()[..len as usize]);
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain structs to JSON cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).expect("store records serialise to JSON")
}

pub(crate) fn decode<T: DeserializeOwned>(
    what: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what,
        key: hex(key),
        detail: e.to_string(),
    })
}

pub(crate) fn corrupt(what: &'static str, key: &[u8], detail: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        key: hex(key),
        detail: detail.to_string(),
    }
}

/// Milliseconds since the Unix epoch: the store's one time unit.
pub type Millis = u64;

/// The current time in [`Millis`].
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

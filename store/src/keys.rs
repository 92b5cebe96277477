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

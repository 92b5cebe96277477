//! The on-disk layout version (`meta` key `layout_version`), checked when the store opens, so
//! that a store written by a build with another key layout is refused with a clear error
//! instead of being read as garbage. Pre-release: there is no migration.
use crate::error::{Result, StoreError};
use crate::keys::read_u32;
use std::path::Path;

/// The layout this build reads and writes. 1: one `recipients` key per row and one address
/// index key per row (no `layout_version` key). 2: recipient blocks (`block`) and the address
/// index as hash-bucket runs (`address_index`).
pub const LAYOUT_VERSION: u32 = 2;

const KEY: &[u8] = b"layout_version";

/// Stamps a fresh store with [`LAYOUT_VERSION`]; refuses one of another version with
/// [`StoreError::Layout`]. A store with data but no stamp is version 1.
pub(crate) fn check(path: &Path, meta: &sled::Tree, mailings: &sled::Tree) -> Result<()> {
    let found = match meta.get(KEY)? {
        Some(v) => read_u32(&v, 0).ok_or_else(|| crate::keys::corrupt("meta", KEY, "short"))?,
        None if meta.is_empty() && mailings.is_empty() => {
            meta.insert(KEY, &LAYOUT_VERSION.to_be_bytes())?;
            meta.flush()?;
            LAYOUT_VERSION
        }
        None => 1,
    };
    if found != LAYOUT_VERSION {
        return Err(StoreError::Layout {
            path: path.to_path_buf(),
            found,
            supported: LAYOUT_VERSION,
        });
    }
    Ok(())
}

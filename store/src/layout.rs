//! The on-disk layout version (`meta` key `layout_version`), checked when the store opens, so
//! that a store written by a build with another key layout is refused with a clear error
//! instead of being read as garbage. Layout 2 is brought to 3 by dropping its two derived
//! trees; older layouts have no migration (pre-release).
use crate::error::{Result, StoreError};
use crate::keys::read_u32;
use std::path::Path;

/// The layout this build reads and writes. 1: one `recipients` key per row and one address
/// index key per row (no `layout_version` key). 2: recipient blocks (`block`) and the address
/// index as hash-bucket runs (`address_index`). 3: no `status_counts` and `due` trees (the
/// counts and the due queue are derived from the records when the store opens, `tally`).
pub const LAYOUT_VERSION: u32 = 3;

/// Trees of layout 2 that layout 3 derives in memory instead.
const DERIVED_IN_2: &[&str] = &["status_counts", "due"];

const KEY: &[u8] = b"layout_version";

/// Stamps a fresh store with [`LAYOUT_VERSION`]; refuses one of another version with
/// [`StoreError::Layout`]. A store with data but no stamp is version 1.
pub(crate) fn check(
    path: &Path,
    db: &sled::Db,
    meta: &sled::Tree,
    mailings: &sled::Tree,
) -> Result<()> {
    let mut found = match meta.get(KEY)? {
        Some(v) => read_u32(&v, 0).ok_or_else(|| crate::keys::corrupt("meta", KEY, "short"))?,
        None if meta.is_empty() && mailings.is_empty() => {
            meta.insert(KEY, &LAYOUT_VERSION.to_be_bytes())?;
            meta.flush()?;
            LAYOUT_VERSION
        }
        None => 1,
    };
    if found == 2 {
        // Everything else is unchanged; the dropped trees are rebuilt in memory on open.
        for tree in DERIVED_IN_2 {
            db.drop_tree(tree)?;
        }
        meta.insert(KEY, &LAYOUT_VERSION.to_be_bytes())?;
        meta.flush()?;
        tracing::info!(path = %path.display(), "store layout 2 brought to 3");
        found = LAYOUT_VERSION;
    }
    if found != LAYOUT_VERSION {
        return Err(StoreError::Layout {
            path: path.to_path_buf(),
            found,
            supported: LAYOUT_VERSION,
        });
    }
    Ok(())
}

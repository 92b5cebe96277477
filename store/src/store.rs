//! The store handle: opening sled with a bounded cache, the trees, flushing, named counters.
use crate::error::{open_error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the counter of reports whose VERP signature did not verify.
pub const FORGED_REPORTS: &str = "forged_reports";

/// The part of `cache_bytes` given to sled as its `cache_capacity` (1 / this). sled counts a
/// cached page by its size on disk, but holds it decoded (every key and value its own
/// allocation), plus per-page state for every page it knows, cached or not: measured with
/// `bulk_1m` (1,000,000 recipients), a `cache_capacity` of 64 MiB meant ~130 MB of live heap
/// and 16 MiB ~60 MB. So the caller's figure is treated as a memory budget and sled gets a
/// quarter of it; the working set of a send (the due queue's head and the rows in flight) is
/// small, and reads that miss the cache cost a pread from the OS page cache.
pub const SLED_CACHE_SHARE: u64 = 4;

fn sled_cache_capacity(cache_bytes: u64) -> u64 {
    // sled splits its cache over 256 shards and asserts each gets at least one byte.
    (cache_bytes / SLED_CACHE_SHARE).max(1 << 20)
}

/// A cheap-to-clone handle on the store. All methods are synchronous and short; call them from
/// `tokio::task::spawn_blocking` (or `block_in_place`) in async code, except
/// [`Store::flush_async`].
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) path: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) meta: sled::Tree,
    pub(crate) mailings: sled::Tree,
    pub(crate) mailing_ids: sled::Tree,
    pub(crate) recipients: sled::Tree,
    pub(crate) emails: sled::Tree,
    pub(crate) counts: sled::Tree,
    pub(crate) due: sled::Tree,
    pub(crate) suppressed: sled::Tree,
    pub(crate) documents: sled::Tree,
    pub(crate) reports: sled::Tree,
    pub(crate) bounces: sled::Tree,
    pub(crate) counters: sled::Tree,
    pub(crate) unticked: sled::Tree,
    pub(crate) heap: crate::heap::HeapTrimmer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the store in directory `path`, with `cache_bytes` as the resident
    /// memory to spend on sled's page cache (sled's own default is 1 GiB, so always pass the
    /// configured size). See [`SLED_CACHE_SHARE`] for how that becomes sled's setting.
    ///
    /// Fails with [`crate::StoreError::Locked`] when another process — or another open handle
    /// in this process — holds the store.
    pub fn open(path: impl AsRef<Path>, cache_bytes: u64) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        crate::heap::fix_mmap_threshold();
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(sled_cache_capacity(cache_bytes))
            .open()
            .map_err(|e| open_error(path.clone(), e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(path.clone(), e));
        let inner = Inner {
            meta: tree("meta")?,
            mailings: tree("mailings")?,
            mailing_ids: tree("mailing_ids")?,
            recipients: tree("recipients")?,
            emails: tree("recipient_emails")?,
            counts: tree("status_counts")?,
            due: tree("due")?,
            suppressed: tree("suppressed")?,
            documents: tree("documents")?,
            reports: tree("reports")?,
            bounces: tree("bounces")?,
            counters: tree("counters")?,
            unticked: tree("unticked")?,
            path: path.clone(),
            db,
            heap: Default::default(),
        };
        crate::layout::check(&path, &inner.meta, &inner.mailings)?;
        tracing::debug!(path = %path.display(), cache_bytes, "store opened");
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Makes every write so far durable (fsync). Returns when it is on disk. Concurrent callers
    /// share the work: a flush writes whatever is buffered, so a caller that arrives while
    /// another flush runs pays little.
    pub fn flush(&self) -> Result<()> {
        self.inner.db.flush()?;
        self.inner.heap.after_flush();
        Ok(())
    }

    /// [`Store::flush`] without blocking the async runtime.
    pub async fn flush_async(&self) -> Result<()> {
        self.inner.db.flush_async().await?;
        self.inner.heap.after_flush();
        Ok(())
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// Adds `by` to the named counter and returns the new value.
    pub fn incr_counter(&self, name: &str, by: u64) -> Result<u64> {
        let new = self
            .inner
            .counters
            .update_and_fetch(name.as_bytes(), |old| {
                let n = old
                    .and_then(|o| crate::keys::read_u64(o, 0))
                    .unwrap_or(0)
                    .saturating_add(by);
                Some(n.to_be_bytes().to_vec())
            })?;
        Ok(new.and_then(|v| crate::keys::read_u64(&v, 0)).unwrap_or(0))
    }

    /// The named counter's value (0 when never counted).
    pub fn counter(&self, name: &str) -> Result<u64> {
        Ok(self
            .inner
            .counters
            .get(name.as_bytes())?
            .and_then(|v| crate::keys::read_u64(&v, 0))
            .unwrap_or(0))
    }

    /// Every named counter, sorted by name.
    pub fn counters(&self) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for kv in self.inner.counters.iter() {
            let (k, v) = kv?;
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                crate::keys::read_u64(&v, 0).unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// Counts one report whose VERP signature did not verify (SPEC §8).
    pub fn count_forged_report(&self) -> Result<u64> {
        self.incr_counter(FORGED_REPORTS, 1)
    }
}

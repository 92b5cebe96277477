//! The store handle: opening sled with a bounded cache, the trees, flushing, named counters.
use crate::error::{open_error, Result};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

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
    // sled splits its cache over its LRU's shards (16 in our patched copy, 256 upstream) and
    // asserts each gets at least one byte; 1 MiB keeps every shard a few pages.
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
    pub(crate) suppressed: sled::Tree,
    pub(crate) documents: sled::Tree,
    pub(crate) reports: sled::Tree,
    pub(crate) bounces: sled::Tree,
    pub(crate) counters: sled::Tree,
    pub(crate) unticked: sled::Tree,
    pub(crate) heap: crate::heap::HeapTrimmer,
    /// Status counts and due queues, derived from the records (`tally`).
    pub(crate) tally: crate::tally::Tally,
    /// One lock per stripe of recipient blocks: a record is read, changed and written back
    /// (with its neighbours in the block) under its block's lock.
    block_locks: Vec<Mutex<()>>,
}

/// Stripes of [`Inner::block_locks`]: enough that the sender's workers (rows next to each
/// other, so mostly in one block or two) seldom wait for an unrelated block.
const BLOCK_LOCK_STRIPES: usize = 64;

impl Inner {
    /// The lock of the block holding `row` of `mailing`; hold it from reading the record to
    /// changing the tally.
    pub(crate) fn block_lock(&self, mailing: u32, row: u32) -> MutexGuard<'_, ()> {
        let block = row / crate::block::BLOCK_ROWS;
        let stripe = (mailing.wrapping_mul(0x9E37_79B9) ^ block) as usize % BLOCK_LOCK_STRIPES;
        // The lock guards no data of its own: a panic while it was held leaves nothing torn.
        self.block_locks[stripe]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
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
        crate::heap::tune_allocator();
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
            suppressed: tree("suppressed")?,
            documents: tree("documents")?,
            reports: tree("reports")?,
            bounces: tree("bounces")?,
            counters: tree("counters")?,
            unticked: tree("unticked")?,
            path: path.clone(),
            db,
            heap: Default::default(),
            tally: Default::default(),
            block_locks: (0..BLOCK_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        };
        crate::layout::check(&path, &inner.db, &inner.meta, &inner.mailings)?;
        let store = Store {
            inner: Arc::new(inner),
        };
        let started = std::time::Instant::now();
        let rows = store.rebuild_tally()?;
        tracing::debug!(
            path = %path.display(),
            cache_bytes,
            rows,
            tally_ms = started.elapsed().as_millis() as u64,
            "store opened"
        );
        Ok(store)
    }

    /// Reads every recipient record once to build the counts and due queues; returns the
    /// number of rows read. Row by row (see `recipients_from`), so memory stays flat.
    fn rebuild_tally(&self) -> Result<u64> {
        let mut rows = 0u64;
        for m in self.mailings()? {
            let mut batch = Vec::with_capacity(1024);
            for r in self.recipients(m.number) {
                match r {
                    Ok(r) => batch.push(r),
                    // A damaged record is reported where it is read; the rest of the list
                    // still opens (it is neither counted nor due).
                    Err(e) => {
                        tracing::warn!(mailing = %m.id, error = %e, "recipient not readable; left out of the counts and the queue");
                        continue;
                    }
                }
                if batch.len() == batch.capacity() {
                    self.inner.tally.add_all(m.number, &batch);
                    rows += batch.len() as u64;
                    batch.clear();
                }
            }
            self.inner.tally.add_all(m.number, &batch);
            rows += batch.len() as u64;
        }
        Ok(rows)
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

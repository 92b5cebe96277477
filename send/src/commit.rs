//! Group commit: many workers each need "my write is durable" before they go on; one store
//! flush at a time serves all writes made before it started.
//!
//! Why not every worker calling `Store::flush_async`: sled 0.34 runs each `flush_async` on its
//! small internal thread pool, and with a few of them waiting at once (plus a transaction
//! waiting for its write lock) the pool has no thread left for the log write the flushes wait
//! for — a deadlock seen here at concurrency 8. One synchronous flush at a time, on tokio's
//! blocking pool, avoids it and costs nothing: a flush covers every write before it anyway.
use crate::dispatch::DispatchError;
use mm_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;

/// Serialises flushes and lets each caller skip the flush when one that started after its
/// write has already finished.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    store: Store,
    /// Writes announced so far (each caller's number is taken after its write returned).
    written: AtomicU64,
    /// Every write numbered up to this is durable. Guarded by the mutex for updates.
    flushed: Mutex<u64>,
}

impl GroupCommit {
    pub(crate) fn new(store: Store) -> Self {
        GroupCommit {
            store,
            written: AtomicU64::new(0),
            flushed: Mutex::new(0),
        }
    }

    /// Returns once every store write this task made before calling is durable.
    pub(crate) async fn durable(&self) -> Result<(), DispatchError> {
        let mine = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        // Held across the flush on purpose: one flush at a time.
        let mut flushed = self.flushed.lock().await;
        if *flushed >= mine {
            return Ok(());
        }
        // Every write numbered up to `target` returned before its number was taken, so this
        // flush, starting now, covers them all.
        let target = self.written.load(Ordering::SeqCst);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| DispatchError::Task(e.to_string()))??;
        *flushed = target;
        Ok(())
    }
}

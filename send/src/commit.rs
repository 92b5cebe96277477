//! Group commit: many workers each need "my write is durable" before they go on; one store
//! flush at a time serves all writes made before it started.
//!
//! Why not every worker calling `Store::flush_async`: sled 0.34 runs each `flush_async` on its
//! small internal thread pool, and with a few of them waiting at once (plus a transaction
//! waiting for its write lock) the pool has no thread left for the log write the flushes wait
//! for — a deadlock seen here at concurrency 8. One synchronous flush at a time avoids it and
//! costs nothing: a flush covers every write before it anyway.
//!
//! The caller runs it on a blocking thread right after its write ([`GroupCommit::durable`]),
//! so that a write and its flush cost one hop to the blocking pool, not two — at one
//! connection those hops are on the critical path of every message.
use crate::dispatch::DispatchError;
use mm_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Serialises flushes and lets each caller skip the flush when one that started after its
/// write has already finished.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    store: Store,
    /// Writes announced so far (each caller's number is taken after its write returned).
    written: AtomicU64,
    /// Every write numbered up to this is durable. The lock is held across the flush on
    /// purpose: one flush at a time.
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

    /// Returns once every store write this thread made before calling is durable. Blocks:
    /// call it on a blocking thread.
    pub(crate) fn durable(&self) -> Result<(), DispatchError> {
        let mine = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        // A poisoned lock only means another flush panicked; the counter is still right.
        let mut flushed = self.flushed.lock().unwrap_or_else(|p| p.into_inner());
        if *flushed >= mine {
            return Ok(());
        }
        // Every write numbered up to `target` returned before its number was taken, so this
        // flush, starting now, covers them all.
        let target = self.written.load(Ordering::SeqCst);
        self.store.flush()?;
        *flushed = target;
        Ok(())
    }
}

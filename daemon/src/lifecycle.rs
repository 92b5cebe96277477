//! The daemon's life cycle: one cancellation token that every server part watches, one task
//! tracker that shutdown waits on, and labelled guards for long work so that a shutdown that
//! runs out of time can say what was still pending.
//!
//! Shutdown order (see `cmd::run`): cancel → the listeners stop accepting → in-flight SMTP
//! transactions and milter sessions finish within the deadline → the store is flushed and
//! closed last.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Cheap-clone handle: shutdown signal, task tracker and the registry of pending work.
#[derive(Clone, Default)]
pub struct Lifecycle {
    shutdown: CancellationToken,
    tracker: TaskTracker,
    pending: Arc<Pending>,
}

#[derive(Default)]
struct Pending {
    next: AtomicU64,
    work: Mutex<BTreeMap<u64, String>>,
}

/// Held while a piece of long work runs; dropping it removes its label.
pub struct WorkGuard {
    id: u64,
    pending: Arc<Pending>,
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if let Ok(mut work) = self.pending.work.lock() {
            work.remove(&self.id);
        }
    }
}

impl Lifecycle {
    /// A new life cycle, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token every part watches; cancelled when shutdown starts.
    pub fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Starts the shutdown.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// True once shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Spawns a tracked task.
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(fut)
    }

    /// Registers a piece of long work under a label (`sending mailing spring-2026`).
    pub fn work(&self, label: impl Into<String>) -> WorkGuard {
        let id = self.pending.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut work) = self.pending.work.lock() {
            work.insert(id, label.into());
        }
        WorkGuard {
            id,
            pending: self.pending.clone(),
        }
    }

    /// Labels of the work still registered.
    pub fn pending(&self) -> Vec<String> {
        self.pending
            .work
            .lock()
            .map(|w| w.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Closes the tracker and waits for every tracked task, at most `deadline`.
    /// Returns the labels of the work still pending when the deadline passed (empty when all
    /// finished in time).
    pub async fn drain(&self, deadline: Duration) -> Vec<String> {
        self.tracker.close();
        match tokio::time::timeout(deadline, self.tracker.wait()).await {
            Ok(()) => Vec::new(),
            Err(_) => {
                let mut left = self.pending();
                if left.is_empty() {
                    left.push(format!("{} task(s)", self.tracker.len()));
                }
                left
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_reports_work_that_outlives_the_deadline() {
        let life = Lifecycle::new();
        let token = life.token();
        let l2 = life.clone();
        life.spawn(async move {
            let _g = l2.work("sending mailing slow");
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let l3 = life.clone();
        life.spawn(async move {
            let _g = l3.work("milter session");
            token.cancelled().await;
        });
        tokio::task::yield_now().await;
        life.shutdown();
        let left = life.drain(Duration::from_millis(200)).await;
        assert_eq!(left, vec!["sending mailing slow".to_string()]);
    }

    #[tokio::test]
    async fn drain_is_empty_when_everything_finishes() {
        let life = Lifecycle::new();
        let token = life.token();
        life.spawn(async move { token.cancelled().await });
        life.shutdown();
        assert!(life.drain(Duration::from_secs(5)).await.is_empty());
    }
}

//! Progress of a dispatch, readable while it runs (CLI progress bar, API): counters in
//! atomics behind a cheap-clone handle.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Shared progress counters of one dispatch. Clone it, give one clone to
/// [`crate::dispatch::run`], read [`Progress::snapshot`] from the other.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    total: AtomicU64,
    settled: AtomicU64,
    sent: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    suppressed: AtomicU64,
    retries: AtomicU64,
    in_flight: AtomicU64,
    waiting_for_relay: AtomicBool,
    finished: AtomicBool,
    last_problem: Mutex<Option<String>>,
}

/// A consistent-enough copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProgressSnapshot {
    /// Recipients the mailing goes to (not excluded), including those settled before this run.
    pub total: u64,
    /// Of those, no longer pending (sent, rejected, failed, or changed by a report).
    pub settled: u64,
    /// Accepted by the relay in this run.
    pub sent: u64,
    /// Refused with 5xx in this run.
    pub rejected: u64,
    /// Given up after retries in this run.
    pub failed: u64,
    /// Skipped in this run because the address is suppressed.
    pub suppressed: u64,
    /// 4xx / connection errors that left a recipient pending for a retry, in this run.
    pub retries: u64,
    /// Messages handed to the relay and not yet recorded.
    pub in_flight: u64,
    /// No relay can be reached; the dispatch waits for it.
    pub waiting_for_relay: bool,
    /// The dispatch has returned.
    pub finished: bool,
    /// The last relay problem seen (4xx text, unreachable relay), for display.
    pub last_problem: Option<String>,
}

impl Progress {
    /// New, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let i = &self.inner;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProgressSnapshot {
            total: l(&i.total),
            settled: l(&i.settled),
            sent: l(&i.sent),
            rejected: l(&i.rejected),
            failed: l(&i.failed),
            suppressed: l(&i.suppressed),
            retries: l(&i.retries),
            in_flight: l(&i.in_flight),
            waiting_for_relay: i.waiting_for_relay.load(Ordering::Relaxed),
            finished: i.finished.load(Ordering::Relaxed),
            last_problem: i
                .last_problem
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    pub(crate) fn start(&self, total: u64, settled: u64) {
        self.inner.total.store(total, Ordering::Relaxed);
        self.inner.settled.store(settled, Ordering::Relaxed);
        self.inner.finished.store(false, Ordering::Relaxed);
    }

    pub(crate) fn add(&self, what: Counter) {
        let i = &self.inner;
        let c = match what {
            Counter::Sent => &i.sent,
            Counter::Rejected => &i.rejected,
            Counter::Failed => &i.failed,
            Counter::Suppressed => &i.suppressed,
            Counter::Retry => &i.retries,
        };
        c.fetch_add(1, Ordering::Relaxed);
        match what {
            Counter::Sent | Counter::Rejected | Counter::Failed => {
                i.settled.fetch_add(1, Ordering::Relaxed);
            }
            // A suppressed recipient leaves the set the mailing goes to.
            Counter::Suppressed => {
                let _ = i
                    .total
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                        Some(t.saturating_sub(1))
                    });
            }
            Counter::Retry => {}
        }
    }

    pub(crate) fn in_flight(&self, delta: i64) {
        if delta >= 0 {
            self.inner
                .in_flight
                .fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.inner
                .in_flight
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    pub(crate) fn waiting_for_relay(&self, waiting: bool) {
        self.inner
            .waiting_for_relay
            .store(waiting, Ordering::Relaxed);
    }

    pub(crate) fn problem(&self, text: &str) {
        *self
            .inner
            .last_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(text.to_string());
    }

    pub(crate) fn finish(&self) {
        self.inner.in_flight.store(0, Ordering::Relaxed);
        self.inner.finished.store(true, Ordering::Relaxed);
    }
}

/// What to count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Sent,
    Rejected,
    Failed,
    Suppressed,
    Retry,
}

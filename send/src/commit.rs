//! Group commit on a thread of its own: the workers hand their outcomes to one committer
//! thread, which writes a batch of them and makes it durable with one store flush.
//!
//! Why flush on demand: an outcome needs to be durable only before the same worker's next
//! final dot (see `Gate`), which comes a whole envelope and body later. So the committer
//! does not flush as soon as an outcome arrives, but when every worker has one waiting (at
//! one connection: at once, so the flush still overlaps the next message's envelope), or when
//! a worker needs its outcome durable now: its next message's dot waits at the gate (the
//! gate's hook, [`Pending::demand`]) or it has no next message to relay. Meanwhile the other
//! workers' outcomes join the batch, and one `pwrite` + `sync_file_range` serves them all.
//! The promise of the dispatch is unchanged: no final dot goes out before the previous
//! outcome of its worker is flushed. And no outcome waits longer than a second for its
//! flush, so statuses do not lag behind while workers wait out a relay outage.
//!
//! Measured (`fig2_sink`, 4 connections, `perf stat` over 3 s of the send): the flush per
//! outcome as soon as it was written (one flush at a time on the blocking pool) came to
//! 1.0 flush per message — flushes never overlapped, so the group commit never grouped;
//! on demand it is 0.3, and the sender's CPU per message fell ~30 % (437 → 304 µs, 5
//! alternating rounds; `bench/PROFILES.md`, 2026-12-07 night). The price is latency: the
//! dot now waits for a flush that starts when it asks (the `durable` stage, ~60–100 →
//! ~400–500 µs at 4 connections), which the other connections' work covers.
//!
//! Why a thread of its own rather than `spawn_blocking` per outcome: the batch has to be
//! gathered somewhere, and one long-lived thread on one condition variable is woken once per
//! batch; at one connection (a batch per message) it costs what the blocking pool's hop did.
use crate::dispatch::DispatchError;
use crate::gate::GateOpener;
use mm_store::{RecipientUpdate, Store, UpdateOutcome};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// The handle the workers share. Dropping it lets the thread finish what is queued, and
/// waits for it to end (so no store handle outlives the dispatch).
#[derive(Debug)]
pub(crate) struct Committer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// An outcome handed to the committer: wait for it with [`Pending::durable`].
#[derive(Debug)]
pub(crate) struct Pending {
    shared: Arc<Shared>,
    seq: u64,
    done: oneshot::Receiver<Result<UpdateOutcome, DispatchError>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    work: Condvar,
    /// A batch starts when this many outcomes wait (every worker has one).
    workers: usize,
}

#[derive(Debug, Default)]
struct State {
    queue: Vec<Entry>,
    /// Outcomes handed over so far; the last one's number (they count from 1).
    submitted: u64,
    /// Every outcome numbered up to this is in a batch already.
    taken: u64,
    /// Some worker needs every outcome up to this one durable now.
    wanted: u64,
    /// The handle is gone: finish the queue and end.
    closed: bool,
    /// The thread panicked: outcomes handed over now are dropped at once, which fails their
    /// gates and answers (instead of leaving their workers waiting).
    dead: bool,
}

#[derive(Debug)]
struct Entry {
    mailing: u32,
    row: u32,
    update: RecipientUpdate,
    gate: GateOpener,
    done: oneshot::Sender<Result<UpdateOutcome, DispatchError>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the queue itself is still whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn demand(&self, seq: u64) {
        let mut state = self.lock();
        if state.taken < seq && state.wanted < seq {
            state.wanted = seq;
            drop(state);
            self.work.notify_one();
        }
    }
}

impl Committer {
    /// Starts the committer thread for `workers` workers writing to `store`.
    pub(crate) fn start(store: Store, workers: usize) -> Result<Committer, DispatchError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            workers: workers.max(1),
        });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("mm-commit".into())
            .spawn(move || run(&theirs, &store))
            .map_err(|e| DispatchError::Task(format!("cannot start the committer: {e}")))?;
        Ok(Committer {
            shared,
            thread: Some(thread),
        })
    }

    /// Hands over `update` of recipient `row` of `mailing`; `gate` is opened once it is
    /// durable (failed when the write or the flush failed).
    pub(crate) fn submit(
        &self,
        mailing: u32,
        row: u32,
        update: RecipientUpdate,
        gate: GateOpener,
    ) -> Pending {
        let (tx, done) = oneshot::channel();
        let mut state = self.shared.lock();
        state.submitted += 1;
        let seq = state.submitted;
        if !state.dead {
            state.queue.push(Entry {
                mailing,
                row,
                update,
                gate,
                done: tx,
            });
        }
        let start = state.queue.len() >= self.shared.workers || state.wanted > state.taken;
        drop(state);
        if start {
            self.shared.work.notify_one();
        }
        Pending {
            shared: self.shared.clone(),
            seq,
            done,
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic there has already failed its batch's gates and answers.
            let _ = thread.join();
        }
    }
}

impl Pending {
    /// A closure asking for this outcome to be made durable now (a gate's hook).
    pub(crate) fn demand(&self) -> impl Fn() + Send + Sync + 'static {
        let (shared, seq) = (self.shared.clone(), self.seq);
        move || shared.demand(seq)
    }

    /// Waits until this outcome is durable. Does not ask for it: see [`Pending::demand`].
    pub(crate) async fn durable(self) -> Result<UpdateOutcome, DispatchError> {
        match self.done.await {
            Ok(written) => written,
            Err(_) => Err(DispatchError::Task("the committer thread ended".into())),
        }
    }
}

/// The longest an outcome waits in the queue before it is written and flushed anyway.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The committer thread: waits for a batch to be due, writes it, flushes once, then opens
/// the batch's gates and answers its workers.
fn run(shared: &Shared, store: &Store) {
    let _dead = Dead(shared);
    loop {
        let batch = {
            let mut state = shared.lock();
            let mut waited_long = false;
            loop {
                let due = state.queue.len() >= shared.workers
                    || state.wanted > state.taken
                    || waited_long;
                if !state.queue.is_empty() && (due || state.closed) {
                    break;
                }
                if state.closed {
                    return;
                }
                // An outcome waits at most `MAX_WAIT` for its flush even when no dot asks for
                // it (a worker waiting out a relay outage, say), so the recipients' statuses
                // never lag far behind what the relays took.
                let (next, timeout) = shared
                    .work
                    .wait_timeout(state, MAX_WAIT)
                    .unwrap_or_else(|p| p.into_inner());
                state = next;
                waited_long = timeout.timed_out();
            }
            state.taken = state.submitted;
            std::mem::take(&mut state.queue)
        };
        commit(store, batch);
    }
}

/// Marks the committer dead when its thread unwinds from a panic.
struct Dead<'a>(&'a Shared);

impl Drop for Dead<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.dead = true;
            state.queue.clear();
        }
    }
}

fn commit(store: &Store, batch: Vec<Entry>) {
    let written: Vec<_> = batch
        .iter()
        .map(|e| store.update_recipient(e.mailing, e.row, &e.update))
        .collect();
    let flushed = if written.iter().any(Result::is_ok) {
        store.flush().map_err(|e| e.to_string())
    } else {
        Ok(())
    };
    for (entry, written) in batch.into_iter().zip(written) {
        let written = match (&flushed, written) {
            (_, Err(e)) => Err(DispatchError::Store(e)),
            (Ok(()), Ok(w)) => Ok(w),
            (Err(e), Ok(_)) => Err(DispatchError::Flush(e.clone())),
        };
        entry.gate.decide(written.is_ok());
        // The worker may be gone (its dispatch failed elsewhere): nothing to answer.
        let _ = entry.done.send(written);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::Gate;
    use futures::FutureExt;
    use mm_domain::RecipientStatus;
    use mm_store::NewRecipient;

    /// A store in `dir` with mailing `m` of `rows` ticked recipients; returns its number.
    fn store(dir: &std::path::Path, rows: u32) -> (Store, u32) {
        let store = Store::open(dir.join("store"), 8 << 20).unwrap();
        let number = store.create_mailing("m").unwrap().number;
        let rows = (0..rows).map(|i| NewRecipient {
            customer_id: None,
            customer_name: None,
            contact_id: None,
            email: format!("r{i}@example.test"),
            send: true,
            skip_reason: None,
            fields: vec![format!("r{i}@example.test")],
        });
        store.import_recipients("m", rows).unwrap();
        (store, number)
    }

    fn sent() -> RecipientUpdate {
        RecipientUpdate::sent(Some("Q1".into()), "250 2.0.0 Ok: queued as Q1")
    }

    #[tokio::test]
    async fn a_batch_starts_when_every_worker_has_an_outcome_and_is_durable_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = store(dir.path(), 2);
        let committer = Committer::start(store.clone(), 2).unwrap();
        let (a_open, mut a_gate) = Gate::pair();
        let a = committer.submit(m, 0, sent(), a_open);
        // One of two workers has an outcome and nobody needs it yet: no batch can start.
        assert_eq!(a_gate.clone().wait().now_or_never(), None);
        let (b_open, mut b_gate) = Gate::pair();
        let b = committer.submit(m, 1, sent(), b_open);
        assert!(a_gate.wait().await && b_gate.wait().await);
        assert!(matches!(
            a.durable().await,
            Ok(UpdateOutcome::Applied { .. })
        ));
        assert!(matches!(
            b.durable().await,
            Ok(UpdateOutcome::Applied { .. })
        ));
        drop(committer);
        drop(store);
        let reopened = Store::open(dir.path().join("store"), 8 << 20).unwrap();
        for row in 0..2 {
            let r = reopened.recipient(m, row).unwrap().unwrap();
            assert_eq!(r.status, RecipientStatus::Sent);
        }
    }

    #[tokio::test]
    async fn an_outcome_nobody_asks_for_is_flushed_after_a_while() {
        // As while the other workers wait out a relay outage: one outcome of four, no dot
        // waiting for it. Its status must not lag behind for as long as the outage lasts.
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = store(dir.path(), 1);
        let committer = Committer::start(store.clone(), 4).unwrap();
        let (open, mut gate) = Gate::pair();
        let pending = committer.submit(m, 0, sent(), open);
        let waited = tokio::time::timeout(std::time::Duration::from_secs(20), gate.wait()).await;
        assert_eq!(waited, Ok(true), "the outcome was never flushed");
        assert!(pending.durable().await.is_ok());
        let r = store.recipient(m, 0).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Sent);
    }

    #[tokio::test]
    async fn a_waiting_gate_asks_for_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = store(dir.path(), 1);
        let committer = Committer::start(store.clone(), 4).unwrap();
        let (open, gate) = Gate::pair();
        let pending = committer.submit(m, 0, sent(), open);
        // As the worker does: the next message's dot waits at this gate.
        let mut gate = gate.on_wait(pending.demand());
        assert!(gate.wait().await);
        assert!(pending.durable().await.is_ok());
        let r = store.recipient(m, 0).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Sent);
    }

    #[tokio::test]
    async fn a_failed_write_fails_its_gate_and_not_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let (store, m) = store(dir.path(), 1);
        let committer = Committer::start(store.clone(), 2).unwrap();
        let (bad_open, mut bad_gate) = Gate::pair();
        let bad = committer.submit(m, 7, sent(), bad_open);
        let (good_open, mut good_gate) = Gate::pair();
        let good = committer.submit(m, 0, sent(), good_open);
        assert!(!bad_gate.wait().await, "the gate of a failed write opened");
        assert!(good_gate.wait().await);
        assert!(matches!(
            bad.durable().await,
            Err(DispatchError::Store(
                mm_store::StoreError::UnknownRecipient { row: 7, .. }
            ))
        ));
        assert!(good.durable().await.is_ok());
    }
}

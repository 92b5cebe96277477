//! Sending a mailing (SPEC §7): stream the due, pending recipients from the store, render and
//! address each, relay it through the pool, and record the outcome durably.
//!
//! # Crash safety
//! A *pass* reads the store's due queue lazily (memory stays flat in the list length) on a
//! blocking thread that renders ahead by at most `concurrency` messages; `concurrency` workers
//! take messages from it. A worker relays its message, then hands the outcome to the
//! committer thread, which writes it and flushes the store (group commit: one flush serves
//! every outcome written before it, see `commit`). Meanwhile the worker relays its next
//! message, but that message's final dot — the moment the relay takes it — waits for the
//! flush (`Gate`). So at any moment at most `concurrency` messages have been accepted by the
//! relay without being durably `sent`: a crash re-sends at most that many.
//! A restart simply runs again: everything still `pending` is due.
//!
//! # Outcomes
//! - 250 → `sent` with the queue id and reply.
//! - 5xx → `rejected` with the reply line and enhanced code.
//! - 4xx or a connection that broke mid-transaction → stays `pending`, attempts + 1, due again
//!   after `retry_delay · 2^(attempts-1)`; `failed` once `max_attempts` is reached.
//! - No relay reachable → nothing is recorded (the message is not at fault): the worker waits
//!   and tries the same message again, so a relay outage loses nothing and burns no attempts.
//! - Suppressed address (checked just before rendering) → `excluded`, reason `suppressed`.
//!
//! Passes repeat until nothing is pending; between passes the loop sleeps until the next
//! retry is due (at most a second, so rows ticked meanwhile are picked up).
use crate::commit::{Committer, Pending};
use crate::gate::{Gate, GateOpener};
use crate::outcome::Outcome;
use crate::pool::SmtpPool;
use crate::progress::{Counter, Progress};
use crate::verp::Verp;
use mm_domain::{MailingState, RecipientStatus, SkipReason};
use mm_render::{MessageIds, PreparedMailing, RenderError};
use mm_store::{now_ms, RecipientUpdate, Store, StoreError, UpdateOutcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Turns a recipient's row values into the message bytes. Implemented by
/// [`PreparedMailing`]; a trait so that the dispatch does not care how the mailing was
/// prepared.
pub trait Render: Send + Sync {
    /// The RFC 5322 message for one row (values in column order) with these ids.
    fn render(&self, values: &[String], ids: &MessageIds) -> Result<Vec<u8>, RenderError>;
}

impl Render for PreparedMailing {
    fn render(&self, values: &[String], ids: &MessageIds) -> Result<Vec<u8>, RenderError> {
        PreparedMailing::render(self, values, ids)
    }
}

/// Why a dispatch stopped with an error. The store is then in a consistent state; running
/// the dispatch again resumes.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// Reading or writing the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The store flush that was to make an outcome durable failed (sled's message; the
    /// outcome is written but may be lost in a crash, and its worker's next message was not
    /// sent).
    #[error("store flush: {0}")]
    Flush(String),
    /// The store has no such mailing.
    #[error("mailing {0:?} is not in the store")]
    UnknownMailing(String),
    /// The mailing is not in state `sending` (the caller moves it there first).
    #[error("mailing {id:?} is {state}, not sending")]
    NotSending {
        /// The mailing id.
        id: String,
        /// Its state.
        state: MailingState,
    },
    /// `finish` was called while recipients are still pending.
    #[error("mailing {id:?} still has {pending} pending recipients")]
    StillPending {
        /// The mailing id.
        id: String,
        /// Pending recipients.
        pending: u64,
    },
    /// A blocking task panicked or was cancelled (a bug).
    #[error("internal task failed: {0}")]
    Task(String),
}

/// How a dispatch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Nothing is pending any more: every recipient is sent, rejected, failed or excluded.
    /// The caller may now move the mailing to `sent` ([`finish`]).
    Complete,
    /// Shutdown was requested; pending recipients stay pending for the next run.
    Stopped,
}

/// A rendered message for one recipient, on its way from the feeder to a worker.
struct Job {
    row: u32,
    attempts: u32,
    envelope: crate::Envelope,
    message: Arc<Vec<u8>>,
}

/// What every worker needs.
struct Ctx {
    store: Store,
    commit: Committer,
    number: u32,
    render: Arc<dyn Render>,
    verp: Verp,
    pool: SmtpPool,
    progress: Progress,
    shutdown: CancellationToken,
}

/// Sends mailing `mailing` (its id; it must be in state `sending`) until nothing is pending
/// or `shutdown` is cancelled. Progress is published in `progress` as it goes.
pub async fn run(
    store: &Store,
    mailing: &str,
    render: Arc<dyn Render>,
    verp: &Verp,
    pool: &SmtpPool,
    progress: &Progress,
    shutdown: &CancellationToken,
) -> Result<Finished, DispatchError> {
    let id = mailing.to_string();
    let m = blocking(store, move |s| s.mailing(&id))
        .await??
        .ok_or_else(|| DispatchError::UnknownMailing(mailing.to_string()))?;
    if m.state != MailingState::Sending {
        return Err(DispatchError::NotSending {
            id: m.id,
            state: m.state,
        });
    }
    let number = m.number;
    let counts = blocking(store, move |s| s.counts(number)).await??;
    let total = counts.total() - counts.get(RecipientStatus::Excluded);
    progress.start(total, total - counts.get(RecipientStatus::Pending));
    tracing::info!(
        mailing = %m.id,
        number,
        total,
        pending = counts.get(RecipientStatus::Pending),
        "dispatch starting"
    );

    let ctx = Arc::new(Ctx {
        store: store.clone(),
        commit: Committer::start(store.clone(), pool.config().concurrency)?,
        number,
        render,
        verp: verp.clone(),
        pool: pool.clone(),
        progress: progress.clone(),
        shutdown: shutdown.clone(),
    });
    let result = run_passes(&ctx).await;
    progress.finish();
    match &result {
        Ok(f) => {
            tracing::info!(mailing = %m.id, finished = ?f, progress = ?progress.snapshot(), "dispatch ended")
        }
        Err(e) => tracing::error!(mailing = %m.id, error = %e, "dispatch failed"),
    }
    result
}

async fn run_passes(ctx: &Arc<Ctx>) -> Result<Finished, DispatchError> {
    loop {
        if ctx.shutdown.is_cancelled() {
            return Ok(Finished::Stopped);
        }
        pass(ctx, now_ms()).await?;
        if ctx.shutdown.is_cancelled() {
            return Ok(Finished::Stopped);
        }
        let number = ctx.number;
        let Some(due) = blocking(&ctx.store, move |s| s.next_due(number)).await?? else {
            return Ok(Finished::Complete);
        };
        let wait = Duration::from_millis(due.saturating_sub(now_ms())).min(Duration::from_secs(1));
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = ctx.shutdown.cancelled() => return Ok(Finished::Stopped),
            }
        }
    }
}

/// Sends every row that is due at `now`, then flushes.
async fn pass(ctx: &Arc<Ctx>, now: u64) -> Result<(), DispatchError> {
    let concurrency = ctx.pool.config().concurrency.max(1);
    let (tx, rx) = mpsc::channel::<Job>(concurrency);
    let feeder = {
        let ctx = ctx.clone();
        tokio::task::spawn_blocking(move || feed(&ctx, now, tx))
    };
    let jobs = tokio::sync::Mutex::new(rx);
    // When a worker fails, this returns and the receiver is dropped, which stops the feeder.
    let worked = futures::future::try_join_all((0..concurrency).map(|_| worker(ctx, &jobs))).await;
    drop(jobs);
    let fed = feeder
        .await
        .map_err(|e| DispatchError::Task(e.to_string()))?;
    worked?;
    fed?;
    // The feeder's own writes (suppressed, unrenderable) are flushed here.
    blocking(&ctx.store, |s| s.flush()).await??;
    Ok(())
}

/// The feeder (a blocking thread): due rows → checks → rendered jobs.
fn feed(ctx: &Ctx, now: u64, tx: mpsc::Sender<Job>) -> Result<(), DispatchError> {
    let store = &ctx.store;
    for row in store.due_rows(ctx.number, now) {
        if ctx.shutdown.is_cancelled() {
            break;
        }
        let row = row?;
        let Some(r) = store.recipient(ctx.number, row)? else {
            continue;
        };
        if r.status != RecipientStatus::Pending || !r.send {
            continue;
        }
        if store.is_suppressed(&r.email)? {
            store.set_send(ctx.number, row, false, Some(SkipReason::Suppressed))?;
            ctx.progress.add(Counter::Suppressed);
            tracing::debug!(row, recipient = %r.email, "suppressed; skipped");
            continue;
        }
        let a = ctx.verp.address(ctx.number, row, &r.email);
        let ids = MessageIds::new(a.message_id, a.token.to_string());
        let message = match ctx.render.render(&r.fields, &ids) {
            Ok(m) => m,
            Err(e) => {
                // Not the relay's fault and not going to change by retrying.
                let text = format!("cannot render the message: {e}");
                tracing::warn!(row, recipient = %r.email, error = %e, "render failed");
                if let UpdateOutcome::Applied { .. } =
                    store.update_recipient(ctx.number, row, &RecipientUpdate::failed(text))?
                {
                    ctx.progress.add(Counter::Failed);
                }
                continue;
            }
        };
        let job = Job {
            row,
            attempts: r.attempts,
            envelope: a.envelope,
            message: Arc::new(message),
        };
        if tx.blocking_send(job).is_err() {
            break;
        }
    }
    Ok(())
}

/// One worker: takes a message, relays it, and records the outcome — while that outcome is
/// being written and flushed, it already relays its next message, whose final dot waits for
/// the flush (see [`Gate`]). So the flush is off the connection's critical path, and still
/// at most one message per worker has been accepted without being durably recorded.
async fn worker(
    ctx: &Arc<Ctx>,
    jobs: &tokio::sync::Mutex<mpsc::Receiver<Job>>,
) -> Result<(), DispatchError> {
    // The receiver is shared: the worker holding the lock waits for the feeder's next job.
    let next = || async { jobs.lock().await.recv().await };
    let Some(mut job) = next().await else {
        return Ok(());
    };
    let Some(mut outcome) = relay(ctx, &job, Gate::open()).await else {
        return Ok(());
    };
    loop {
        let (opener, gate) = Gate::pair();
        let submitted = submit(ctx, &job, &outcome, opener);
        // The committer flushes this outcome when the next message's dot waits for it, or
        // when there is no next message to wait for (see `commit`).
        let gate = gate.on_wait(submitted.0.demand());
        let demand = submitted.0.demand();
        let recorded = settle(ctx, &job, outcome, submitted);
        let following = async {
            let followed = async {
                let job = next().await?;
                let outcome = relay(ctx, &job, gate).await?;
                Some((job, outcome))
            }
            .await;
            demand();
            followed
        };
        let (recorded, following) = tokio::join!(recorded, following);
        recorded?;
        match following {
            Some((j, o)) => (job, outcome) = (j, o),
            // No more jobs, or shutdown (the message in hand stays pending).
            None => return Ok(()),
        }
    }
}

/// Relays one message, waiting out relay outages; `None` on shutdown.
async fn relay(ctx: &Ctx, job: &Job, gate: Gate) -> Option<Outcome> {
    let config = ctx.pool.config();
    loop {
        if ctx.shutdown.is_cancelled() {
            return None;
        }
        ctx.progress.in_flight(1);
        let outcome = ctx
            .pool
            .send_gated(job.envelope.clone(), job.message.clone(), gate.clone())
            .await;
        ctx.progress.in_flight(-1);
        if let Outcome::Unreachable { text } = &outcome {
            if ctx.shutdown.is_cancelled() {
                return None;
            }
            ctx.progress.waiting_for_relay(true);
            ctx.progress.problem(text);
            tracing::debug!(row = job.row, problem = %text, "no relay reachable; waiting");
            let wait = config
                .relay_down_for
                .clamp(Duration::from_millis(100), Duration::from_secs(30));
            tokio::select! {
                _ = tokio::time::sleep(wait) => continue,
                _ = ctx.shutdown.cancelled() => return None,
            }
        }
        ctx.progress.waiting_for_relay(false);
        return Some(outcome);
    }
}

/// Hands the outcome to the committer, which writes it and opens `durable` once it is
/// flushed (fails it when the write or the flush failed). Returns what to count once it is.
fn submit(ctx: &Ctx, job: &Job, outcome: &Outcome, durable: GateOpener) -> (Pending, Counter) {
    let config = ctx.pool.config();
    let (update, counter) = match outcome {
        Outcome::Accepted { queue_id, reply } => (
            RecipientUpdate::sent(queue_id.clone(), reply.clone()),
            Counter::Sent,
        ),
        Outcome::Rejected { enhanced, .. } => (
            RecipientUpdate::rejected(outcome.reply_line(), enhanced.clone()),
            Counter::Rejected,
        ),
        Outcome::Deferred { text } | Outcome::Unreachable { text } => {
            ctx.progress.problem(text);
            let attempts = job.attempts.saturating_add(1);
            if attempts >= config.max_attempts {
                (RecipientUpdate::failed(text.clone()), Counter::Failed)
            } else {
                let delay = config.backoff(attempts).as_millis() as u64;
                (
                    RecipientUpdate::retry(now_ms() + delay, text.clone()),
                    Counter::Retry,
                )
            }
        }
    };
    let pending = ctx.commit.submit(ctx.number, job.row, update, durable);
    (pending, counter)
}

/// Waits until the outcome handed over by [`submit`] is durable, and counts it.
async fn settle(
    ctx: &Ctx,
    job: &Job,
    outcome: Outcome,
    (pending, counter): (Pending, Counter),
) -> Result<(), DispatchError> {
    let row = job.row;
    match pending.durable().await? {
        UpdateOutcome::Applied { .. } => ctx.progress.add(counter),
        UpdateOutcome::Refused { current } => {
            // A report got there first (e.g. a DSN for a message sent before a crash).
            tracing::debug!(row, %current, %outcome, "outcome not recorded: recipient moved on");
        }
    }
    tracing::debug!(row, recipient = %job.envelope.recipient, %outcome, "recorded");
    Ok(())
}

/// Moves a mailing whose recipients are all settled to `sent` (frozen) and flushes.
pub async fn finish(store: &Store, mailing: &str) -> Result<mm_store::Mailing, DispatchError> {
    let id = mailing.to_string();
    blocking(store, move |s| {
        let m = s
            .mailing(&id)?
            .ok_or_else(|| DispatchError::UnknownMailing(id.clone()))?;
        let pending = s.counts(m.number)?.get(RecipientStatus::Pending);
        if pending > 0 {
            return Err(DispatchError::StillPending { id, pending });
        }
        let m = s.set_mailing_state(&id, MailingState::Sent)?;
        s.flush()?;
        Ok(m)
    })
    .await?
}

/// Runs a short synchronous store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&Store) -> T + Send + 'static,
) -> Result<T, DispatchError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| DispatchError::Task(e.to_string()))
}

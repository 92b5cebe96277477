//! The SMTP pool: `concurrency` tokio tasks, each owning at most one SMTP connection to a
//! relay, taking messages from a shared queue.
//!
//! A task keeps its connection across messages, resets it after a refused command, drops it
//! after an I/O error and connects again (to the next relay in turn) for the next message. An
//! idle connection is closed after `idle_timeout`. Rates are applied before a message is
//! queued, in the caller's task, so a slow domain holds up only its own callers.
use crate::config::SenderConfig;
use crate::connection::{After, Connection};
use crate::envelope::Envelope;
use crate::gate::Gate;
use crate::outcome::Outcome;
use crate::rate::RateLimiter;
use crate::relays::Relays;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One message for a pool task.
struct Job {
    envelope: Envelope,
    message: Arc<Vec<u8>>,
    gate: Gate,
    reply: oneshot::Sender<Outcome>,
}

/// Handle to the pool; cheap to clone. The tasks stop when the shutdown token is cancelled
/// (after finishing the message in hand) or when every handle is dropped.
#[derive(Clone)]
pub struct SmtpPool {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    config: SenderConfig,
    rate: RateLimiter,
    /// The pool's tasks, so that an owner can wait for them to close their connections.
    tasks: TaskTracker,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("relays", &self.inner.config.relays)
            .field("concurrency", &self.inner.config.concurrency)
            .finish()
    }
}

impl SmtpPool {
    /// Starts `config.concurrency` tasks on the current tokio runtime. Connections are opened
    /// lazily, on the first message.
    pub fn start(config: SenderConfig, shutdown: CancellationToken) -> SmtpPool {
        let concurrency = config.concurrency.max(1);
        let (tx, rx) = mpsc::channel::<Job>(concurrency);
        let rx = Arc::new(Mutex::new(rx));
        let relays = Arc::new(Relays::new(config.relays.clone(), config.relay_down_for));
        let tasks = TaskTracker::new();
        for n in 0..concurrency {
            let task = Task {
                n,
                jobs: rx.clone(),
                relays: relays.clone(),
                config: config.clone(),
                shutdown: shutdown.clone(),
                conn: None,
            };
            tasks.spawn(task.run());
        }
        tasks.close();
        SmtpPool {
            inner: Arc::new(Inner {
                jobs: tx,
                rate: RateLimiter::new(config.rate, config.rate_per_domain),
                config,
                tasks,
            }),
        }
    }

    /// Resolves once every pool task has ended — after the shutdown token was cancelled, each
    /// finishes the message in hand and says QUIT. For an owner whose runtime would otherwise
    /// drop the tasks mid-goodbye.
    pub async fn stopped(&self) {
        self.inner.tasks.wait().await;
    }

    /// The settings the pool was started with.
    pub fn config(&self) -> &SenderConfig {
        &self.inner.config
    }

    /// Sends `message` (raw RFC 5322 bytes with CRLF line ends) with the explicit `envelope`,
    /// waiting for the rate limits and a free connection. Never fails: problems are outcomes.
    pub async fn send(&self, envelope: Envelope, message: impl Into<Arc<Vec<u8>>>) -> Outcome {
        self.send_gated(envelope, message, Gate::open()).await
    }

    /// Like [`send`](Self::send), but the final dot of the message — the moment the relay
    /// takes it — waits for `gate`; a failed gate aborts the message (the connection is
    /// dropped, the relay discards it) with a `Deferred` outcome. See [`Gate`].
    pub async fn send_gated(
        &self,
        envelope: Envelope,
        message: impl Into<Arc<Vec<u8>>>,
        gate: Gate,
    ) -> Outcome {
        let message = message.into();
        self.inner.rate.acquire(&envelope.recipient_domain()).await;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            envelope,
            message,
            gate,
            reply,
        };
        // Latency as the caller sees it: waiting for a free connection plus the transaction.
        let started = std::time::Instant::now();
        if self.inner.jobs.send(job).await.is_err() {
            return shut_down();
        }
        let outcome = answer.await.unwrap_or_else(|_| shut_down());
        metrics::histogram!("mm_send_latency_seconds").record(started.elapsed().as_secs_f64());
        outcome
    }
}

fn shut_down() -> Outcome {
    Outcome::Unreachable {
        text: "the SMTP pool is shutting down".into(),
    }
}

/// One pool task and the connection it owns.
struct Task {
    n: usize,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    relays: Arc<Relays>,
    config: SenderConfig,
    shutdown: CancellationToken,
    conn: Option<Connection>,
}

enum Next {
    Job(Job),
    Idle,
    Stop,
}

impl Task {
    async fn run(mut self) {
        loop {
            match self.next().await {
                Next::Job(mut job) => {
                    let outcome = self
                        .deliver(&job.envelope, &job.message, &mut job.gate)
                        .await;
                    tracing::debug!(
                        task = self.n,
                        recipient = %job.envelope.recipient,
                        %outcome,
                        "message done"
                    );
                    // The caller may have gone away (shutdown); nothing to do then.
                    let _ = job.reply.send(outcome);
                }
                Next::Idle => {
                    if let Some(c) = self.conn.take() {
                        tracing::debug!(
                            task = self.n,
                            relay = c.relay(),
                            "closing idle connection"
                        );
                        c.close().await;
                    }
                }
                Next::Stop => break,
            }
        }
        if let Some(c) = self.conn.take() {
            c.close().await;
        }
    }

    /// The next job, or `Idle` after `idle_timeout` without one.
    async fn next(&self) -> Next {
        // The receiver is shared through an async mutex: the task holding it waits for the
        // next job while the others wait for the mutex — a work queue, with no lock held
        // while a message is being sent.
        let wait = async {
            let mut rx = self.jobs.lock().await;
            rx.recv().await
        };
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Next::Stop,
            r = tokio::time::timeout(self.config.idle_timeout, wait) => match r {
                Ok(Some(job)) => Next::Job(job),
                Ok(None) => Next::Stop,
                Err(_) => Next::Idle,
            },
        }
    }

    async fn deliver(&mut self, envelope: &Envelope, message: &[u8], gate: &mut Gate) -> Outcome {
        // At most one retry: a reused connection that turns out to be dead at MAIL FROM.
        for _ in 0..2 {
            let mut conn = match self.conn.take() {
                Some(c) => c,
                None => match self.connect().await {
                    Ok(c) => c,
                    Err(text) => return Outcome::Unreachable { text },
                },
            };
            let reused = conn.used > 0;
            let (outcome, after) = conn.transact(envelope, message, gate).await;
            match after {
                After::Keep => self.conn = Some(conn),
                After::Drop => {}
                After::Stale if reused => {
                    tracing::debug!(task = self.n, relay = conn.relay(), %outcome, "reused connection was dead; reconnecting");
                    continue;
                }
                After::Stale => {}
            }
            return outcome;
        }
        Outcome::Deferred {
            text: "connection broke twice at MAIL FROM".into(),
        }
    }

    /// Opens a connection to the first reachable relay, marking the others down.
    async fn connect(&self) -> Result<Connection, String> {
        let candidates = self.relays.candidates();
        if candidates.is_empty() {
            return Err("every relay is marked down; waiting before trying again".into());
        }
        let mut errors = Vec::new();
        for (i, relay) in candidates {
            match Connection::open(relay, &self.config.helo, self.config.timeout).await {
                Ok(c) => {
                    self.relays.mark_up(i);
                    return Ok(c);
                }
                Err(e) => {
                    tracing::warn!(task = self.n, relay, error = %e, "relay unreachable; skipping it for a while");
                    self.relays.mark_down(i);
                    errors.push(e);
                }
            }
        }
        Err(errors.join("; "))
    }
}

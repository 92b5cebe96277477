//! One dispatch of a mailing through `mm-send` — the daemon's sending path: the store's due
//! queue, rendering per recipient, the SMTP pool, the durable outcome per message — timed
//! from the first due row to the last recorded outcome.
use anyhow::{bail, Result};
use mm_render::PreparedMailing;
use mm_send::{dispatch, Finished, Progress, ProgressSnapshot, SenderConfig, SmtpPool};
use mm_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What a dispatch did and how long it took.
#[derive(Debug, Clone)]
pub struct SendRun {
    /// Wall-clock seconds of the dispatch.
    pub secs: f64,
    /// The final counters.
    pub progress: ProgressSnapshot,
}

/// Sends mailing `id` (in state `sending` in `store`) to `relay` over `concurrency`
/// connections. Fails unless every recipient ends up `sent`.
pub async fn send_mailing(
    store: &Store,
    id: &str,
    prepared: Arc<PreparedMailing>,
    relay: &str,
    concurrency: usize,
) -> Result<SendRun> {
    let config = SenderConfig {
        relays: vec![relay.to_string()],
        helo: "bench.test".into(),
        concurrency,
        retry_delay: Duration::from_millis(500),
        relay_down_for: Duration::from_millis(500),
        timeout: Duration::from_secs(60),
        ..SenderConfig::default()
    };
    let shutdown = CancellationToken::new();
    let pool = SmtpPool::start(config, shutdown.clone());
    let progress = Progress::new();
    let started = Instant::now();
    let finished = dispatch::run(
        store,
        id,
        prepared,
        &super::fixture::verp(),
        &pool,
        &progress,
        &shutdown,
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    shutdown.cancel();
    let p = progress.snapshot();
    if finished != Finished::Complete || p.sent != p.total {
        bail!("dispatch of {id} to {relay} ended {finished:?} with {p:?}");
    }
    Ok(SendRun { secs, progress: p })
}

/// The SMTP pool alone, for the breakdown of figure 2: `count` copies of one pre-rendered
/// message sent to `relay` with `concurrency` messages in flight — no store, no rendering, no
/// durable outcome. Returns the wall-clock seconds.
pub async fn pool_only(
    relay: &str,
    concurrency: usize,
    count: u64,
    message: Vec<u8>,
) -> Result<f64> {
    use futures::StreamExt;
    let config = SenderConfig {
        relays: vec![relay.to_string()],
        helo: "bench.test".into(),
        concurrency,
        ..SenderConfig::default()
    };
    let shutdown = CancellationToken::new();
    let pool = SmtpPool::start(config, shutdown.clone());
    let message = Arc::new(message);
    let verp = super::fixture::verp();
    let started = Instant::now();
    let accepted = futures::stream::iter(0..count)
        .map(|i| {
            let a = verp.address(1, i as u32, &super::fixture::address(i));
            let pool = &pool;
            let message = message.clone();
            async move { pool.send(a.envelope, message).await }
        })
        .buffer_unordered(concurrency)
        .filter(|o| std::future::ready(matches!(o, mm_send::Outcome::Accepted { .. })))
        .count()
        .await;
    let secs = started.elapsed().as_secs_f64();
    shutdown.cancel();
    if accepted as u64 != count {
        bail!("pool: only {accepted} of {count} accepted by {relay}");
    }
    Ok(secs)
}

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

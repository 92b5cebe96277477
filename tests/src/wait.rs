//! Bounded polling: every wait in the harness has a deadline and reports what it saw.
//!
//! Each wait comes in a blocking form (for plain `#[test]`s and `spawn_blocking`) and an async
//! form that sleeps with tokio, so a milter or daemon running on the test's own runtime keeps
//! being served while the test waits.

use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};

/// How often polls look again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Calls `probe` until it yields `Some`, an error, or `timeout` passes. On timeout, `seen`
/// describes the last observation for the error message.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
    seen: impl FnOnce() -> String,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if start.elapsed() >= timeout {
            return Err(HarnessError::Timeout {
                what: what.to_string(),
                waited: timeout,
                seen: seen(),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Async twin of [`poll_until`]: the probe is cheap and synchronous, the sleep is tokio's.
pub async fn poll_until_async<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
    seen: impl FnOnce() -> String,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if start.elapsed() >= timeout {
            return Err(HarnessError::Timeout {
                what: what.to_string(),
                waited: timeout,
                seen: seen(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

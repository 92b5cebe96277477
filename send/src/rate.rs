//! Message rates: a global limit and one per destination domain, as evenly spaced slots
//! (no bursts). A caller reserves the next free slot and sleeps until it.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Per-domain entries kept before stale ones are pruned.
const PRUNE_AT: usize = 10_000;

/// Spaces out message starts. Shared by all callers of the pool.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    global: Option<(Duration, Mutex<Instant>)>,
    per_domain: Option<(Duration, Mutex<HashMap<String, Instant>>)>,
}

fn interval(rate: f64) -> Option<Duration> {
    (rate > 0.0 && rate.is_finite()).then(|| Duration::from_secs_f64(1.0 / rate))
}

impl RateLimiter {
    /// `rate` and `per_domain` in messages per second; 0 means unlimited.
    pub(crate) fn new(rate: f64, per_domain: f64) -> Self {
        RateLimiter {
            global: interval(rate).map(|i| (i, Mutex::new(Instant::now()))),
            per_domain: interval(per_domain).map(|i| (i, Mutex::new(HashMap::new()))),
        }
    }

    /// Waits until a message to `domain` may start.
    pub(crate) async fn acquire(&self, domain: &str) {
        if let Some((every, slots)) = &self.per_domain {
            let slot = {
                let mut map = slots.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if map.len() >= PRUNE_AT {
                    map.retain(|_, next| *next > now);
                }
                let next = map.entry(domain.to_string()).or_insert(now);
                let slot = (*next).max(now);
                *next = slot + *every;
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
        // The global slot is taken only once the domain allows the message, so that a slow
        // domain does not burn slots other domains could use.
        if let Some((every, next)) = &self.global {
            let slot = {
                let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                let slot = (*next).max(Instant::now());
                *next = slot + *every;
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn global_rate_spaces_messages() {
        let r = RateLimiter::new(10.0, 0.0);
        let t0 = Instant::now();
        for _ in 0..5 {
            r.acquire("x.org").await;
        }
        // Slots at 0, 100, 200, 300, 400 ms (virtual time).
        assert_eq!(t0.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn per_domain_rate_leaves_other_domains_alone() {
        let r = RateLimiter::new(0.0, 2.0);
        let t0 = Instant::now();
        r.acquire("a.org").await;
        r.acquire("b.org").await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
        r.acquire("a.org").await;
        assert_eq!(t0.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_does_not_wait() {
        let r = RateLimiter::new(0.0, 0.0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            r.acquire("a.org").await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}

//! The sender's settings: the `[smtp]` table of the daemon config, restated here so that this
//! crate does not depend on the daemon (the daemon maps its `SmtpConfig` onto this).
use std::time::Duration;

/// How the pool talks to the relays and how fast it may go.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Relays as `host:port`; connections are spread over them and a relay that is down is
    /// skipped for [`relay_down_for`](Self::relay_down_for). Default `["127.0.0.1:25"]`.
    pub relays: Vec<String>,
    /// EHLO name. Default `localhost`.
    pub helo: String,
    /// Number of SMTP connections (pool tasks), i.e. messages in flight. Default 4.
    pub concurrency: usize,
    /// Messages per second over all connections; 0 = unlimited (default).
    pub rate: f64,
    /// Messages per second per destination domain; 0 = unlimited (default).
    pub rate_per_domain: f64,
    /// Attempts on 4xx / connection errors before a recipient is `failed`. Default 5.
    pub max_attempts: u32,
    /// First retry delay; it doubles with each further attempt. Default 30 s.
    pub retry_delay: Duration,
    /// Timeout of one SMTP command (and of connecting). Default 60 s.
    pub timeout: Duration,
    /// How long a relay that could not be reached is skipped; also how long the dispatch waits
    /// before trying again when no relay is reachable. Default 30 s (a daemon may use its
    /// retry delay here).
    pub relay_down_for: Duration,
    /// An idle connection is closed (QUIT) after this long without a message, so that the
    /// relay's own idle timeout never hits a connection we are about to use. Default 30 s.
    pub idle_timeout: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            relays: vec!["127.0.0.1:25".into()],
            helo: "localhost".into(),
            concurrency: 4,
            rate: 0.0,
            rate_per_domain: 0.0,
            max_attempts: 5,
            retry_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            relay_down_for: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

impl SenderConfig {
    /// The delay before attempt number `attempts + 1`, given `attempts` failed attempts so
    /// far: `retry_delay · 2^(attempts-1)`, capped at one day.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.retry_delay
            .saturating_mul(1u32 << doublings)
            .min(Duration::from_secs(86_400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = SenderConfig {
            retry_delay: Duration::from_secs(30),
            ..SenderConfig::default()
        };
        assert_eq!(c.backoff(1), Duration::from_secs(30));
        assert_eq!(c.backoff(2), Duration::from_secs(60));
        assert_eq!(c.backoff(3), Duration::from_secs(120));
        assert_eq!(c.backoff(40), Duration::from_secs(86_400));
    }
}

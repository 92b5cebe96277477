//! The daemon's shared state: one cheap-clone handle (`App`) around an `Arc`, given to every
//! server part — the API handlers, the watcher, the sender, the milter's sink.
use crate::config::Config;
use crate::health::Health;
use crate::lifecycle::Lifecycle;
use crate::token::AdminToken;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::{Arc, RwLock};

/// The shared handle.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    config: RwLock<Arc<Config>>,
    lifecycle: Lifecycle,
    health: Health,
    metrics: PrometheusHandle,
    token: AdminToken,
}

impl App {
    /// Assembles the handle.
    pub fn new(
        config: Config,
        lifecycle: Lifecycle,
        metrics: PrometheusHandle,
        token: AdminToken,
    ) -> Self {
        App {
            inner: Arc::new(Inner {
                config: RwLock::new(Arc::new(config)),
                lifecycle,
                health: Health::default(),
                metrics,
                token,
            }),
        }
    }

    /// The current config (SIGHUP may replace it; hold the `Arc`, not a lock).
    pub fn config(&self) -> Arc<Config> {
        match self.inner.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the config (SIGHUP).
    pub fn set_config(&self, config: Config) {
        let mut guard = match self.inner.config.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(config);
    }

    /// Shutdown token, task tracker, pending work.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.inner.lifecycle
    }

    /// Up/down flags.
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Renders the metrics.
    pub fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }

    /// The admin token.
    pub fn token(&self) -> &AdminToken {
        &self.inner.token
    }
}

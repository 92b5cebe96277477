//! The daemon's shared state: one cheap-clone handle (`App`) around an `Arc`, given to every
//! server part — the API handlers, the watcher, the sender, the milter's sink.
use crate::config::Config;
use crate::health::Health;
use crate::lifecycle::Lifecycle;
use crate::mailings::Catalog;
use crate::token::AdminToken;
use metrics_exporter_prometheus::PrometheusHandle;
use mm_domain::VerpKey;
use mm_send::{Progress, SmtpPool};
use mm_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;

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
    store: Store,
    verp: VerpKey,
    catalog: Catalog,
    send_wakeup: Notify,
    pool: Option<SmtpPool>,
    progress: Mutex<HashMap<String, Progress>>,
}

/// What [`App::new`] needs.
pub struct Parts {
    /// The validated config.
    pub config: Config,
    /// Shutdown token and task tracker.
    pub lifecycle: Lifecycle,
    /// The metrics renderer.
    pub metrics: PrometheusHandle,
    /// The admin token.
    pub token: AdminToken,
    /// The open store.
    pub store: Store,
    /// The VERP key.
    pub verp: VerpKey,
    /// The SMTP pool (None in the CLI's in-process mode).
    pub pool: Option<SmtpPool>,
}

impl App {
    /// Assembles the handle.
    pub fn new(p: Parts) -> Self {
        App {
            inner: Arc::new(Inner {
                config: RwLock::new(Arc::new(p.config)),
                lifecycle: p.lifecycle,
                health: Health::default(),
                metrics: p.metrics,
                token: p.token,
                store: p.store,
                verp: p.verp,
                catalog: Catalog::default(),
                send_wakeup: Notify::new(),
                pool: p.pool,
                progress: Mutex::new(HashMap::new()),
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

    /// The store (synchronous calls: use `spawn_blocking` from async code).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The VERP key.
    pub fn verp(&self) -> &VerpKey {
        &self.inner.verp
    }

    /// The loaded mailings and reports.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The SMTP pool, when the sender runs.
    pub fn pool(&self) -> Option<&SmtpPool> {
        self.inner.pool.as_ref()
    }

    /// Publishes the progress of a running dispatch.
    pub fn set_progress(&self, id: &str, p: Progress) {
        if let Ok(mut m) = self.inner.progress.lock() {
            m.insert(id.to_string(), p);
        }
    }

    /// The progress of mailing `id`'s latest dispatch in this process.
    pub fn progress(&self, id: &str) -> Option<Progress> {
        self.inner.progress.lock().ok()?.get(id).cloned()
    }

    /// Wakes the sender (a send was requested).
    pub fn wake_sender(&self) {
        self.inner.send_wakeup.notify_one();
    }

    /// Waits until [`App::wake_sender`] is called.
    pub async fn send_requested(&self) {
        self.inner.send_wakeup.notified().await
    }

    /// Runs blocking work (store calls, file reads) off the reactor.
    pub async fn blocking<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&App) -> T + Send + 'static,
        T: Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .map_err(|e| anyhow::anyhow!("blocking task failed: {e}"))
    }
}

//! `mailing-manager run`: the daemon. One process, one store, four parts — the admin API, the
//! milter, the watcher and the sender — and one shutdown path.
//!
//! Start-up order: config (exit 78) → sockets bound by hand (exit 69) → directories, VERP key,
//! admin token → the store (exit 69 when another process holds it) → the parts.
//! Shutdown (SIGTERM/SIGINT): cancel → listeners stop accepting → in-flight SMTP transactions
//! and milter sessions finish within [`SHUTDOWN_DEADLINE`] → what is still pending is logged →
//! the store is flushed and closed last. A second signal during the drain exits at once (the
//! store's crash safety covers it). SIGHUP reloads the config (see `reload`).
use crate::app::{App, Parts};
use crate::config::Config;
use crate::exit::{Exit, UNAVAILABLE};
use crate::health::Component;
use crate::lifecycle::Lifecycle;
use crate::listeners::{self, Bound, MilterSocket};
use crate::token::AdminToken;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// How long in-flight work may take after a shutdown signal.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

/// Runs the daemon until a shutdown signal.
pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let bound = listeners::bind(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mm-worker")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(daemon(config, bound))?;
    // Tasks that ignored cancellation (blocking store calls) get a moment, then are dropped.
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(ExitCode::SUCCESS)
}

/// What a part on a thread of its own ends with.
type Done = tokio::sync::oneshot::Receiver<anyhow::Result<()>>;

/// Runs one part of the daemon on a thread of its own with a single-threaded runtime, and
/// returns what `setup` hands back to the daemon and what the part ends with.
///
/// `setup` runs on that thread inside the new runtime's context: sockets registered and tasks
/// spawned there are served by that runtime. Its error is a start-up error, as for the other
/// parts. `part` is then driven to its end; blocking work it starts (store calls) goes to the
/// runtime's own blocking pool, so a slow disk does not hold up its sockets.
///
/// Why a thread per busy part: on the daemon's shared multi-threaded runtime, each message
/// moved between worker threads (a wake-up is a futex call, an eventfd write and a context
/// switch on both sides), CPU that Postfix is short of when both share a small machine.
async fn on_own_thread<H, T, F>(
    name: &str,
    setup: impl FnOnce() -> anyhow::Result<(H, T)> + Send + 'static,
    part: impl FnOnce(T) -> F + Send + 'static,
) -> anyhow::Result<(H, Done)>
where
    H: Send + 'static,
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<H>>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread_name = name.to_string();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            // Built here: a runtime must not be dropped inside the daemon's async context.
            let started = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name(thread_name.clone())
                .build()
                .with_context(|| format!("starting the runtime of {thread_name}"))
                .and_then(|runtime| {
                    let entered = runtime.enter();
                    let parts = setup();
                    drop(entered);
                    Ok((runtime, parts?))
                });
            let (runtime, state) = match started {
                Ok((runtime, (handle, state))) => {
                    let _ = ready_tx.send(Ok(handle));
                    (runtime, state)
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let result = runtime.block_on(part(state));
            // Blocking tasks that ignored the shutdown (a store call) get a moment.
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            let _ = done_tx.send(result);
        })
        .with_context(|| format!("starting the thread {name}"))?;
    let handle = ready_rx
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the thread {name} ended while starting")))?;
    Ok((handle, done_rx))
}

/// Starts the milter on a thread of its own (see [`on_own_thread`]): every ordinary message
/// Postfix accepts costs one milter round trip, and on its own thread the milter used about
/// half the CPU per ordinary message (`fig6_milter`: ~60 µs against 83–118 µs). Reports are
/// classified and recorded on that runtime's blocking pool.
async fn spawn_milter(
    socket: MilterSocket,
    config: mm_milter::MilterConfig,
    sink: std::sync::Arc<dyn mm_milter::ReportSink>,
    token: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Done> {
    let setup = move || -> anyhow::Result<((), mm_milter::Listener)> {
        let listener: mm_milter::Listener = match socket {
            MilterSocket::Tcp(l) => tokio::net::TcpListener::from_std(l)
                .context("registering the milter socket")?
                .into(),
            MilterSocket::Unix(l, _) => tokio::net::UnixListener::from_std(l)
                .context("registering the milter socket")?
                .into(),
        };
        Ok(((), listener))
    };
    let part = move |listener| async move {
        mm_milter::run(listener, config, sink, token.cancelled_owned())
            .await
            .map_err(anyhow::Error::from)
    };
    let ((), done) = on_own_thread("mm-milter", setup, part).await?;
    Ok(done)
}

/// Starts the sender — the SMTP pool's connections and the dispatch loop — on a thread of its
/// own (see [`on_own_thread`]) and returns the pool (the API sends test messages through it
/// from the daemon's runtime) and a sender for the [`App`] the loop needs, which is built
/// after the pool.
///
/// Measured (`fig2_sink`, the same code on one thread against the multi-threaded runtime,
/// 6,000 messages): 8.8 against 13.9 context switches per message at one connection, 8.2
/// against 11.9 at four. One thread carries the pool's sockets, ~120 µs of CPU per ~100 KB
/// message (most of it the kernel's loopback delivery), so several thousand messages a
/// second — more than one relay takes; rendering runs on the blocking pool,
/// the outcomes' writes and flushes on the dispatch's committer thread (`mm_send`'s `commit`).
async fn spawn_sender(
    config: mm_send::SenderConfig,
    token: tokio_util::sync::CancellationToken,
) -> anyhow::Result<(mm_send::SmtpPool, tokio::sync::oneshot::Sender<App>, Done)> {
    let (app_tx, app_rx) = tokio::sync::oneshot::channel::<App>();
    let setup = move || {
        let pool = mm_send::SmtpPool::start(config, token);
        Ok((pool.clone(), pool))
    };
    let part = move |pool: mm_send::SmtpPool| async move {
        // No app: the daemon failed to start after the sender's thread did; nothing to send.
        if let Ok(app) = app_rx.await {
            crate::sender::run(app, pool.clone()).await;
        }
        // The loop ends at shutdown; the pool's connections say QUIT before the runtime goes.
        pool.stopped().await;
        Ok(())
    };
    let (pool, done) = on_own_thread("mm-sender", setup, part).await?;
    Ok((pool, app_tx, done))
}

async fn daemon(config: Config, bound: Bound) -> anyhow::Result<()> {
    for dir in [
        config.reports_dir(),
        config.mailings_dir(),
        config.documents_dir(),
        config.state_dir.clone(),
    ] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let verp = mm_domain::VerpKey::load_or_create(&config.bounce.key_file)
        .context("loading the VERP key")?;
    let token = AdminToken::load_or_create(&config.api.token_file)?;
    let metrics = crate::metrics::install();
    let store = open_store(&config)?;

    let lifecycle = Lifecycle::new();
    let api_listener =
        tokio::net::TcpListener::from_std(bound.api).context("registering the API socket")?;
    let api_addr = api_listener.local_addr().ok();
    let milter_desc = bound.milter.describe();
    let unix_path = match &bound.milter {
        MilterSocket::Unix(_, p) => Some(p.clone()),
        MilterSocket::Tcp(_) => None,
    };
    let (pool, sender_app, sender_done) =
        spawn_sender(crate::sender::sender_config(&config), lifecycle.token()).await?;
    let milter_config = milter_config(&config, &verp);

    let app = App::new(Parts {
        config,
        lifecycle: lifecycle.clone(),
        metrics,
        token,
        store,
        verp,
        pool: Some(pool.clone()),
    });
    app.health().set(Component::Store, true);
    for c in [Component::Watcher, Component::Milter, Component::Sender] {
        app.health().set(c, false);
    }

    // The parts. Each watches the shutdown token and is tracked, so the drain waits for it.
    lifecycle.spawn(crate::api::run(
        api_listener,
        app.clone(),
        lifecycle.token(),
    ));
    {
        let app2 = app.clone();
        let sink = std::sync::Arc::new(crate::sink::StoreSink::new(app.clone()));
        let done = spawn_milter(bound.milter, milter_config, sink, lifecycle.token()).await?;
        // Tracked like the other parts, so the drain waits for the milter's sessions.
        lifecycle.spawn(async move {
            app2.health().set(Component::Milter, true);
            let result = done.await.unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "the milter's thread ended without a result"
                ))
            });
            app2.health().set(Component::Milter, false);
            if let Err(e) = result {
                tracing::error!(error = %format!("{e:#}"), "the milter stopped");
            }
        });
    }
    lifecycle.spawn(crate::watch::run(app.clone()));
    // The sender's loop runs on its own thread; tracked here, so the drain waits for its
    // in-flight transactions.
    if sender_app.send(app.clone()).is_err() {
        anyhow::bail!("the sender's thread ended while starting");
    }
    lifecycle.spawn(async move {
        if let Ok(Err(e)) = sender_done.await {
            tracing::error!(error = %format!("{e:#}"), "the sender stopped");
        }
    });
    tracing::info!(
        api = ?api_addr,
        milter = %milter_desc,
        data_dir = %app.config().data_dir.display(),
        "mailing-manager running"
    );

    wait_for_shutdown(&app).await?;

    tracing::info!("shutting down: no new connections, finishing in-flight work");
    let drain = lifecycle.drain(SHUTDOWN_DEADLINE);
    let left = tokio::select! {
        left = drain => left,
        _ = second_signal() => {
            tracing::warn!(pending = ?lifecycle.pending(), "second signal: exiting without waiting");
            lifecycle.pending()
        }
    };
    if !left.is_empty() {
        tracing::warn!(pending = ?left, "shutdown deadline passed with work still pending; it resumes on restart");
    }
    // The store last: everything that wrote to it has stopped or been given up on.
    match app.store().flush_async().await {
        Ok(()) => tracing::info!("store flushed"),
        Err(e) => tracing::error!(error = %e, "store flush failed at shutdown"),
    }
    app.health().set(Component::Store, false);
    if let Some(path) = unix_path {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("stopped");
    Ok(())
}

/// Opens the store with the configured cache; another process holding it is exit 69.
fn open_store(config: &Config) -> anyhow::Result<mm_store::Store> {
    let path = config.store_dir();
    match mm_store::Store::open(&path, config.store.cache_mb << 20) {
        Ok(s) => Ok(s),
        Err(e) if e.is_locked() => Err(anyhow::Error::new(Exit(
            UNAVAILABLE,
            format!(
                "the store {} is held by another process (is a mailing-manager daemon already running on it?)",
                path.display()
            ),
        ))),
        Err(e) => Err(anyhow::Error::new(e).context("opening the store")),
    }
}

/// The milter's settings from the daemon config.
fn milter_config(c: &Config, key: &mm_domain::VerpKey) -> mm_milter::MilterConfig {
    let mut m = mm_milter::MilterConfig::new(c.bounce.domain.clone(), key.clone());
    m.local_part = c.bounce.local_part.clone();
    m.max_report_size = c.milter.max_report_size;
    m.on_report = match c.milter.on_report {
        crate::config::ReportAction::Discard => mm_milter::OnReport::Discard,
        crate::config::ReportAction::Accept => mm_milter::OnReport::Accept,
    };
    m
}

/// Waits for SIGTERM or SIGINT, reloading on SIGHUP meanwhile, then starts the shutdown.
async fn wait_for_shutdown(app: &App) -> anyhow::Result<()> {
    let sig = |kind: SignalKind| {
        signal(kind).map_err(|e| {
            anyhow::Error::new(Exit(
                UNAVAILABLE,
                format!("cannot install signal handler: {e}"),
            ))
        })
    };
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut hup = sig(SignalKind::hangup())?;
    let token = app.lifecycle().token();
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM received"); break; }
            _ = int.recv() => { tracing::info!("SIGINT received"); break; }
            _ = hup.recv() => {
                let app = app.clone();
                // Reading the config file is blocking I/O.
                let _ = tokio::task::spawn_blocking(move || crate::reload::reload(&app)).await;
            }
            _ = token.cancelled() => break,
        }
    }
    app.lifecycle().shutdown();
    Ok(())
}

async fn second_signal() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

//! `mailing-manager run`: the daemon. One process, one store, four parts — the admin API, the
//! milter, the watcher and the sender — and one shutdown path.
//!
//! Start-up order: config (exit 78) → sockets bound by hand (exit 69) → directories, VERP key,
//! admin token → the store (exit 69 when another process holds it) → the parts.
//! Shutdown (SIGTERM/SIGINT): cancel → listeners stop accepting → in-flight SMTP transactions
//! and milter sessions finish within [`SHUTDOWN_DEADLINE`] → what is still pending is logged →
//! the store is flushed and closed last. A second signal during the drain exits at once (the
//! store's crash safety covers it). SIGHUP reloads the config (see `reload`).
use crate::app::App;
use crate::config::Config;
use crate::exit::{Exit, UNAVAILABLE};
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

async fn daemon(config: Config, bound: Bound) -> anyhow::Result<()> {
    for dir in [
        config.reports_dir(),
        config.mailings_dir(),
        config.documents_dir(),
        config.state_dir.clone(),
    ] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let _verp = mm_domain::VerpKey::load_or_create(&config.bounce.key_file)
        .context("loading the VERP key")?;
    let token = AdminToken::load_or_create(&config.api.token_file)?;
    let metrics = crate::metrics::install();

    let lifecycle = Lifecycle::new();
    let api_listener =
        tokio::net::TcpListener::from_std(bound.api).context("registering the API socket")?;
    let api_addr = api_listener.local_addr().ok();
    let milter_desc = bound.milter.describe();
    let unix_path = match &bound.milter {
        MilterSocket::Unix(_, p) => Some(p.clone()),
        MilterSocket::Tcp(_) => None,
    };
    // TODO(milter): hand to mm_milter::run once the crate lands.
    let _milter_listener = bound.milter;

    let app = App::new(config, lifecycle.clone(), metrics, token);

    lifecycle.spawn(crate::api::run(
        api_listener,
        app.clone(),
        lifecycle.token(),
    ));
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
    if let Some(path) = unix_path {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("stopped");
    Ok(())
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

//! [`run`]: serves MTA connections until shutdown. Shutdown stops accepting at once, gives the
//! messages in the middle of a transaction `shutdown_grace` to finish (so a report being
//! recorded is not cut off), then closes the remaining, idle connections.
use crate::callbacks::{self, Shared};
use crate::config::MilterConfig;
use crate::error::MilterError;
use crate::listener::{Accepting, Listener};
use crate::sink::ReportSink;
use crate::transaction::InFlight;
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs the milter on `listener` until `shutdown` completes, handing reports to `sink`.
///
/// `listener` is bound by the caller ([`Listener::bind_tcp`], [`Listener::bind_unix`], or a
/// tokio `TcpListener`/`UnixListener`), so that a busy address is an error at start-up.
/// `shutdown` is any future, e.g. `token.cancelled()` of a `CancellationToken`.
///
/// Returns `Ok(())` after a graceful shutdown, or [`MilterError::Accept`] when the listener
/// keeps failing to accept connections.
pub async fn run(
    listener: impl Into<Listener>,
    config: MilterConfig,
    sink: Arc<dyn ReportSink>,
    shutdown: impl Future,
) -> Result<(), MilterError> {
    let listener = listener.into();
    let addr = listener.describe();
    let grace = config.shutdown_grace;
    let in_flight = InFlight::default();
    let milter_config = indymilter::Config {
        max_connections: config.max_connections,
        connection_timeout: config.connection_timeout,
        ..Default::default()
    };
    tracing::info!(
        listen = %addr,
        bounce_domain = %config.bounce_domain,
        on_report = ?config.on_report,
        max_report_size = config.max_report_size,
        "milter listening"
    );
    let shared = Arc::new(Shared {
        cfg: config,
        sink,
        in_flight: in_flight.clone(),
    });

    let stop_accepting = CancellationToken::new();
    let close_sessions = CancellationToken::new();
    let milter = indymilter::run(
        Accepting::new(listener, stop_accepting.clone(), close_sessions.clone()),
        callbacks::build(shared),
        milter_config,
        close_sessions.clone().cancelled_owned(),
    );
    tokio::pin!(milter);

    tokio::select! {
        res = &mut milter => return res.map_err(MilterError::Accept),
        _ = shutdown => {}
    }

    stop_accepting.cancel();
    let pending = in_flight.count();
    tracing::info!(listen = %addr, in_flight = pending, "milter shutting down");
    if pending > 0 {
        // Keep driving the milter (it must go on serving those sessions) while waiting.
        let drained = tokio::time::timeout(grace, async {
            tokio::select! {
                _ = in_flight.idle() => Ok(()),
                res = &mut milter => Err(res),
            }
        })
        .await;
        match drained {
            Ok(Ok(())) => {}
            Ok(Err(res)) => return res.map_err(MilterError::Accept),
            Err(_) => tracing::warn!(
                in_flight = in_flight.count(),
                "milter shutdown grace period over; closing sessions with messages in flight"
            ),
        }
    }
    close_sessions.cancel();
    milter.await.map_err(MilterError::Accept)?;
    tracing::info!(listen = %addr, "milter stopped");
    Ok(())
}

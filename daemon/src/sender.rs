//! The daemon's sender loop: every mailing in state `sending` is dispatched through the SMTP
//! pool (`mm_send::run`, crash-safe: a restart resumes from the store's due queue), then closed
//! (`sent`) and its customer documents written. Woken when a send starts; otherwise it looks
//! again every few seconds (retries that came due, mailings left `sending` by a crash).
use crate::app::App;
use crate::health::Component;
use mm_domain::MailingState;
use mm_render::PreparedMailing;
use mm_send::{Finished, Progress, ProgressSnapshot, SmtpPool, Verp};
use std::sync::Arc;
use std::time::Duration;

/// How often the loop looks for work without being woken.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// The sender settings from the daemon config.
pub fn sender_config(c: &crate::config::Config) -> mm_send::SenderConfig {
    let retry = Duration::from_secs(c.smtp.retry_delay_secs);
    mm_send::SenderConfig {
        relays: c.smtp.relays.clone(),
        helo: c.smtp.helo.clone(),
        concurrency: c.smtp.concurrency,
        rate: c.smtp.rate,
        rate_per_domain: c.smtp.rate_per_domain,
        max_attempts: c.smtp.max_attempts,
        retry_delay: retry,
        timeout: Duration::from_secs(c.smtp.timeout_secs),
        relay_down_for: retry.clamp(Duration::from_secs(1), Duration::from_secs(60)),
        ..mm_send::SenderConfig::default()
    }
}

/// The VERP identity from the daemon config.
pub fn verp(app: &App) -> Verp {
    let c = app.config();
    Verp {
        key: app.verp().clone(),
        local_part: c.bounce.local_part.clone(),
        domain: c.bounce.domain.clone(),
    }
}

/// Runs until shutdown.
pub async fn run(app: App, pool: SmtpPool) {
    let shutdown = app.lifecycle().token();
    app.health().set(Component::Sender, true);
    // The first look waits for the watcher's start-up scan (it wakes us), so that mailings
    // left `sending` by a previous run have their folders loaded.
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = app.send_requested() => {}
    }
    loop {
        let sending = app
            .blocking(|app| {
                app.store().mailings().map(|ms| {
                    ms.into_iter()
                        .filter(|m| m.state == MailingState::Sending)
                        .map(|m| m.id)
                        .collect::<Vec<_>>()
                })
            })
            .await;
        match sending {
            Ok(Ok(ids)) => {
                for id in ids {
                    if shutdown.is_cancelled() {
                        break;
                    }
                    send_one(&app, &pool, &id).await;
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "sender: cannot list mailings"),
            Err(e) => tracing::error!(error = %e, "sender: task failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = app.send_requested() => {}
            _ = tokio::time::sleep(IDLE_CHECK) => {}
        }
    }
    app.health().set(Component::Sender, false);
}

/// Dispatches one mailing until it is complete (then closes it) or shutdown.
pub async fn send_one(app: &App, pool: &SmtpPool, id: &str) {
    let _work = app.lifecycle().work(format!("sending mailing {id}"));
    let id_owned = id.to_string();
    let prepared = app
        .blocking(move |app| -> Result<PreparedMailing, String> {
            let record = app
                .store()
                .mailing(&id_owned)
                .map_err(|e| e.to_string())?
                .ok_or("not in the store")?;
            let mailing = app
                .catalog()
                .entry(&id_owned)
                .and_then(|e| e.mailing)
                .ok_or("its folder is not loaded")?;
            PreparedMailing::new(&mailing, &record.columns, &crate::preview::options(app))
                .map_err(|e| e.to_string())
        })
        .await;
    let prepared = match prepared {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            tracing::error!(mailing = id, error = %e, "cannot send: the mailing cannot be rendered; retrying later");
            return;
        }
        Err(e) => {
            tracing::error!(mailing = id, error = %e, "sender task failed");
            return;
        }
    };
    let progress = Progress::new();
    app.set_progress(id, progress.clone());
    let shutdown = app.lifecycle().token();
    let started = std::time::Instant::now();
    let verp = verp(app);
    let dispatch = mm_send::run(
        app.store(),
        id,
        Arc::new(prepared),
        &verp,
        pool,
        &progress,
        &shutdown,
    );
    tokio::pin!(dispatch);
    // Counters follow the dispatch's progress while it runs.
    let mut last = ProgressSnapshot::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let result = loop {
        tokio::select! {
            r = &mut dispatch => break r,
            _ = tick.tick() => publish(&mut last, progress.snapshot()),
        }
    };
    let snap = progress.snapshot();
    publish(&mut last, snap.clone());
    match result {
        Ok(Finished::Complete) => match mm_send::finish(app.store(), id).await {
            Ok(_) => {
                tracing::info!(
                    mailing = id,
                    sent = snap.sent,
                    rejected = snap.rejected,
                    failed = snap.failed,
                    secs = started.elapsed().as_secs_f64(),
                    "mailing sent and closed"
                );
                let id2 = id.to_string();
                match app
                    .blocking(move |app| crate::documents::write_for_mailing(app, &id2))
                    .await
                {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(mailing = id, error = %e, "customer documents not written")
                    }
                    Err(e) => tracing::error!(mailing = id, error = %e, "documents task failed"),
                }
            }
            Err(e) => tracing::error!(mailing = id, error = %e, "cannot close the mailing"),
        },
        Ok(Finished::Stopped) => {
            tracing::info!(
                mailing = id,
                sent = snap.sent,
                "sending paused for shutdown; it resumes on restart"
            )
        }
        Err(e) => {
            tracing::error!(mailing = id, error = %e, "sending stopped with an error; retrying later")
        }
    }
}

/// Adds what happened since `last` to the message counters.
fn publish(last: &mut ProgressSnapshot, now: ProgressSnapshot) {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    metrics::counter!("mm_messages_total", "result" => "sent").increment(d(now.sent, last.sent));
    metrics::counter!("mm_messages_total", "result" => "rejected")
        .increment(d(now.rejected, last.rejected));
    metrics::counter!("mm_messages_total", "result" => "failed")
        .increment(d(now.failed, last.failed));
    metrics::counter!("mm_messages_total", "result" => "retried")
        .increment(d(now.retries, last.retries));
    metrics::counter!("mm_messages_total", "result" => "suppressed")
        .increment(d(now.suppressed, last.suppressed));
    *last = now;
}

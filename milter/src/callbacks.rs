//! The indymilter callbacks. Every stage has one — Postfix sends macros for every stage it
//! knows, and a stage negotiated away while its macros still arrive makes Postfix wait ~40 ms
//! per message — and each answers at once unless the message is for the bounce domain.
//!
//! Mail with no recipient in the bounce domain is accepted at DATA (the first point where all
//! recipients are known); Postfix's `non_smtpd_milters` path may not send DATA, so the first
//! header or EOH does the same. Nothing of such a message is buffered.
//!
//! The envelope stages before DATA (connect, HELO, MAIL, RCPT, unknown commands) always go
//! on, so where the MTA offers it (Postfix does, `SMFIP_NR_*`) their replies are negotiated
//! away: Postfix then sends each and moves on without waiting, which saves two round trips
//! per message and two per session on every ordinary mail. Their macros still come, and the
//! stages are still called; only the answer is `Noreply`.
use crate::config::MilterConfig;
use crate::metrics as m;
use crate::sink::ReportSink;
use crate::transaction::{Content, InFlight, Transaction};
use crate::verdict::{self, Envelope, Verdict};
use indymilter::{CallbackFuture, Callbacks, Context, ProtoOpts, Status};
use std::future::ready;
use std::sync::Arc;
use std::time::Instant;

/// What every session shares.
pub(crate) struct Shared {
    pub(crate) cfg: MilterConfig,
    pub(crate) sink: Arc<dyn ReportSink>,
    pub(crate) in_flight: InFlight,
}

fn now(status: Status) -> CallbackFuture<'static> {
    Box::pin(ready(status))
}

/// The stages that never answer anything but "continue", and so need no reply at all.
const QUIET: ProtoOpts = ProtoOpts::NOREPLY_CONNECT
    .union(ProtoOpts::NOREPLY_HELO)
    .union(ProtoOpts::NOREPLY_MAIL)
    .union(ProtoOpts::NOREPLY_RCPT)
    .union(ProtoOpts::NOREPLY_UNKNOWN);

/// One MTA connection: the replies negotiated away, and the message in progress.
#[derive(Default)]
pub(crate) struct Session {
    /// The stages of [`QUIET`] the MTA agreed to send without waiting for a reply.
    quiet: ProtoOpts,
    tx: Option<Transaction>,
}

/// "Go on" at an envelope stage: no reply where the MTA agreed to none, else "continue".
fn go_on(cx: &Context<Session>, stage: ProtoOpts) -> CallbackFuture<'static> {
    let quiet = cx.data.as_ref().is_some_and(|s| s.quiet.contains(stage));
    now(if quiet {
        Status::Noreply
    } else {
        Status::Continue
    })
}

/// The message in progress, if MAIL was seen.
fn tx(cx: &mut Context<Session>) -> &mut Option<Transaction> {
    &mut cx.data.get_or_insert_with(Session::default).tx
}

/// Lets a message without bounce-domain recipients go (and forgets it); else reads on.
fn pass_unless_for_us(cx: &mut Context<Session>) -> Status {
    match tx(cx) {
        Some(tx) if tx.is_for_bounce_domain() => Status::Continue,
        t @ Some(_) => {
            *t = None;
            metrics::counter!(m::MESSAGES_TOTAL, "path" => "passed").increment(1);
            Status::Accept
        }
        // No MAIL seen (a confused peer): nothing to do for us.
        None => Status::Accept,
    }
}

/// Appends to the buffer with `push`; when the message outgrows `limit` it goes through unread.
fn read_on(
    cx: &mut Context<Session>,
    limit: usize,
    push: impl FnOnce(&mut Transaction) -> bool,
) -> Status {
    match tx(cx).as_mut().map(push) {
        Some(true) => Status::Continue,
        Some(false) => oversized(cx, limit),
        None => Status::Accept,
    }
}

/// Called when the buffer outgrew the limit: the message goes through unread.
fn oversized(cx: &mut Context<Session>, limit: usize) -> Status {
    metrics::counter!(m::OVERSIZED_TOTAL).increment(1);
    let queue_id = cx
        .macros
        .get(c"i")
        .map(|v| v.to_string_lossy().into_owned());
    tracing::warn!(
        queue_id = queue_id.as_deref().unwrap_or("-"),
        limit,
        "message to the bounce domain exceeds max_report_size; let through unread"
    );
    *tx(cx) = None;
    Status::Accept
}

pub(crate) fn build(shared: Arc<Shared>) -> Callbacks<Session> {
    let s_mail = shared.clone();
    let s_rcpt = shared.clone();
    let s_header = shared.clone();
    let s_eoh = shared.clone();
    let s_body = shared.clone();
    let s_eom = shared;

    Callbacks::new()
        .on_negotiate(|cx, _actions, mta_opts| {
            // Only what the MTA offers: asking for more would end the session.
            let quiet = QUIET & mta_opts;
            cx.requested_opts |= quiet;
            cx.data = Some(Session { quiet, tx: None });
            now(Status::Continue)
        })
        .on_connect(|cx, _host, _socket| {
            metrics::counter!(m::SESSIONS_TOTAL).increment(1);
            *tx(cx) = None;
            go_on(cx, ProtoOpts::NOREPLY_CONNECT)
        })
        .on_helo(|cx, _| go_on(cx, ProtoOpts::NOREPLY_HELO))
        .on_mail(move |cx, args| {
            // An empty argument list cannot come from a real MTA; treat it as the null sender.
            let sender = args.first().cloned().unwrap_or_default();
            *tx(cx) = Some(Transaction::new(&sender, &s_mail.in_flight));
            go_on(cx, ProtoOpts::NOREPLY_MAIL)
        })
        .on_rcpt(move |cx, args| {
            if let (Some(tx), Some(rcpt)) = (tx(cx).as_mut(), args.first()) {
                tx.add_recipient(rcpt, &s_rcpt.cfg.bounce_domain);
            }
            go_on(cx, ProtoOpts::NOREPLY_RCPT)
        })
        .on_data(|cx| now(pass_unless_for_us(cx)))
        .on_header(move |cx, name, value| {
            let status = match pass_unless_for_us(cx) {
                Status::Continue => {
                    let limit = s_header.cfg.max_report_size;
                    read_on(cx, limit, |tx| tx.push_header(&name, &value, limit))
                }
                other => other,
            };
            now(status)
        })
        .on_eoh(move |cx| {
            let status = match pass_unless_for_us(cx) {
                Status::Continue => {
                    let limit = s_eoh.cfg.max_report_size;
                    read_on(cx, limit, |tx| tx.end_headers(limit))
                }
                other => other,
            };
            now(status)
        })
        .on_body(move |cx, chunk| {
            let limit = s_body.cfg.max_report_size;
            now(read_on(cx, limit, |tx| tx.push_body(&chunk, limit)))
        })
        .on_eom(move |cx| {
            let shared = s_eom.clone();
            let tx = cx.data.as_mut().and_then(|s| s.tx.take());
            let queue_id = cx
                .macros
                .get(c"i")
                .map(|v| v.to_string_lossy().into_owned());
            Box::pin(async move {
                let Some(tx) = tx else {
                    return Status::Accept;
                };
                if !tx.is_for_bounce_domain() {
                    metrics::counter!(m::MESSAGES_TOTAL, "path" => "passed").increment(1);
                    return Status::Accept;
                }
                metrics::counter!(m::MESSAGES_TOTAL, "path" => "report").increment(1);
                eom(shared, tx, queue_id).await
            })
        })
        .on_abort(|cx| {
            *tx(cx) = None;
            now(Status::Continue)
        })
        .on_close(|cx| {
            *tx(cx) = None;
            now(Status::Continue)
        })
        .on_unknown(|cx, _| go_on(cx, ProtoOpts::NOREPLY_UNKNOWN))
}

/// Classifies and records on a blocking thread (the sink may wait for the disk), then answers.
async fn eom(shared: Arc<Shared>, mut tx: Transaction, queue_id: Option<String>) -> Status {
    let raw = match std::mem::replace(&mut tx.content, Content::Oversized) {
        Content::Reading(buf) => buf,
        // Unreachable in practice: an oversized message was accepted when it outgrew the limit.
        Content::Oversized => return Status::Accept,
    };
    let started = Instant::now();
    let envelope = Envelope {
        sender: std::mem::take(&mut tx.sender),
        recipients: std::mem::take(&mut tx.bounce_rcpts),
        queue_id,
    };
    let task = tokio::task::spawn_blocking(move || {
        let verdict = verdict::decide(&shared.cfg, shared.sink.as_ref(), envelope, raw);
        // The message stays "in flight" for graceful shutdown until its verdict exists.
        drop(tx);
        verdict
    });
    let verdict = match task.await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "report handling task failed; message let through");
            metrics::counter!(m::ERRORS_TOTAL, "what" => "task").increment(1);
            Verdict::Accept
        }
    };
    metrics::histogram!(m::REPORT_SECONDS).record(started.elapsed().as_secs_f64());
    match verdict {
        Verdict::Accept => Status::Accept,
        Verdict::Discard => Status::Discard,
        Verdict::Tempfail => Status::Tempfail,
    }
}

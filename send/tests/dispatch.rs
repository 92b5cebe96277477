//! Dispatching a mailing with the real store (sled in a temp dir), the real renderer (a small
//! mailing folder) and a real smtp-sink: every recipient once, verifiable VERP envelope, DSN
//! parameters, personalised content, statuses in the store, suppression, 5xx/4xx handling,
//! shutdown and resume, a relay outage, and test mail.

mod support;

use mail_parser::MimeHeaders;
use mm_domain::{MailingState, RecipientStatus, SkipReason, VerpToken};
use mm_send::{dispatch, send_test, Finished, Outcome, Progress, SenderConfig, SmtpPool};
use mm_store::Store;
use mm_tests::{CapturedMessage, SmtpSink, TestDir};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use support::fixture::{self, address, ID};
use tokio_util::sync::CancellationToken;

struct World {
    dir: TestDir,
    store: Store,
    number: u32,
    render: Arc<mm_render::PreparedMailing>,
}

fn world(name: &str, addresses: impl IntoIterator<Item = String>) -> World {
    let dir = TestDir::new(name).expect("test dir");
    let folder = fixture::write_mailing(dir.path());
    let store = Store::open(dir.path().join("store"), fixture::CACHE).expect("store");
    let number = fixture::setup_store(&store, addresses);
    World {
        render: Arc::new(fixture::prepare(&folder)),
        dir,
        store,
        number,
    }
}

fn config(relay: String, concurrency: usize) -> SenderConfig {
    SenderConfig {
        relays: vec![relay],
        helo: "sender.test".into(),
        concurrency,
        max_attempts: 3,
        retry_delay: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        relay_down_for: Duration::from_millis(300),
        ..SenderConfig::default()
    }
}

async fn dispatch_all(w: &World, pool: &SmtpPool, progress: &Progress) -> Finished {
    tokio::time::timeout(
        Duration::from_secs(120),
        dispatch::run(
            &w.store,
            ID,
            w.render.clone(),
            &fixture::verp(),
            pool,
            progress,
            &CancellationToken::new(),
        ),
    )
    .await
    .expect("dispatch did not finish in 2 minutes")
    .expect("dispatch failed")
}

/// Row index of each captured message, by its recipient address.
fn by_recipient(messages: &[CapturedMessage]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for msg in messages {
        for r in msg.recipient_addresses() {
            *m.entry(r.to_string()).or_insert(0) += 1;
        }
    }
    m
}

#[tokio::test]
async fn every_recipient_gets_one_personalised_message_with_a_verifiable_envelope() {
    let n = 40u32;
    let w = world("dispatch-all", (0..n).map(address));
    let sink = SmtpSink::start(&w.dir.subdir("sink").unwrap()).expect("sink");
    let pool = SmtpPool::start(config(sink.addr().to_string(), 4), CancellationToken::new());
    let progress = Progress::new();

    assert_eq!(dispatch_all(&w, &pool, &progress).await, Finished::Complete);

    let messages = sink
        .wait_for_messages_async(n as usize, Duration::from_secs(10))
        .await
        .expect("messages at the sink");
    assert_eq!(messages.len(), n as usize, "exactly one message each");
    let counts = by_recipient(&messages);
    for i in 0..n {
        assert_eq!(counts.get(&address(i)), Some(&1), "recipient {i}");
    }
    let key = fixture::verp().key;
    for msg in &messages {
        let rcpt = &msg.recipients[0];
        let row: u32 = rcpt.address["user".len()..rcpt.address.find('@').unwrap()]
            .parse()
            .unwrap();
        // The envelope sender is bounce+TOKEN@bounces.test, and the token is genuine and
        // names this mailing and this recipient's row.
        let token = VerpToken::from_address(&msg.mail_from, "bounce").expect("VERP sender");
        assert!(
            msg.mail_from.ends_with("@bounces.test"),
            "{}",
            msg.mail_from
        );
        assert!(key.verify(&token), "token of {} verifies", msg.mail_from);
        assert_eq!((token.mailing, token.recipient), (w.number, row));
        // DSN parameters.
        assert_eq!(msg.mail_param("RET"), Some("HDRS"));
        assert_eq!(msg.mail_param("ENVID"), Some(token.to_string().as_str()));
        assert_eq!(rcpt.param("NOTIFY"), Some("FAILURE,DELAY"));
        assert_eq!(
            rcpt.param("ORCPT"),
            Some(format!("rfc822;{}", rcpt.address).as_str())
        );
        // Headers and the personalised body.
        let parsed = msg.parsed().expect("parse message");
        assert_eq!(parsed.subject(), Some(format!("Hello Name {row}").as_str()));
        assert_eq!(
            parsed.message_id(),
            Some(format!("{token}@bounces.test").as_str())
        );
        let to = parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address());
        assert_eq!(to, Some(rcpt.address.as_str()));
        let html = parsed.body_html(0).expect("html part");
        assert!(html.contains(&format!("your code is C{row:05}.")), "{html}");
        let text = parsed.body_text(0).expect("text part");
        assert!(text.contains(&format!("C{row:05}")), "{text}");
        assert!(parsed.html_part(0).unwrap().content_type().is_some());
    }

    // The store: everyone sent, the relay's reply kept, nothing pending.
    for i in 0..n {
        let r = w.store.recipient(w.number, i).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Sent, "row {i}");
        assert_eq!(r.attempts, 1);
        assert!(
            r.smtp_reply
                .as_deref()
                .is_some_and(|s| s.starts_with("250")),
            "{:?}",
            r.smtp_reply
        );
    }
    let counts = w.store.counts(w.number).unwrap();
    assert_eq!(counts.get(RecipientStatus::Sent), n as u64);
    assert_eq!(counts.get(RecipientStatus::Pending), 0);
    let p = progress.snapshot();
    assert_eq!((p.total, p.settled, p.sent), (n as u64, n as u64, n as u64));
    assert!(p.finished);

    let m = dispatch::finish(&w.store, ID).await.expect("finish");
    assert_eq!(m.state, MailingState::Sent);
}

#[tokio::test]
async fn suppressed_addresses_are_skipped_at_send_time() {
    let w = world("dispatch-suppressed", (0..6).map(address));
    // Suppressed after the list was imported: only the check at send time can catch it.
    w.store
        .suppress(&mm_store::Suppression {
            address: address(2).to_uppercase(),
            reason: mm_domain::BounceReason::UserUnknown,
            mailing: None,
            when: mm_store::now_ms(),
        })
        .unwrap();
    let sink = SmtpSink::start(&w.dir.subdir("sink").unwrap()).expect("sink");
    let pool = SmtpPool::start(config(sink.addr().to_string(), 2), CancellationToken::new());
    let progress = Progress::new();
    assert_eq!(dispatch_all(&w, &pool, &progress).await, Finished::Complete);

    let messages = sink
        .wait_for_messages_async(5, Duration::from_secs(10))
        .await
        .unwrap();
    let counts = by_recipient(&messages);
    assert_eq!(messages.len(), 5);
    assert!(!counts.contains_key(&address(2)));
    let r = w.store.recipient(w.number, 2).unwrap().unwrap();
    assert_eq!(r.status, RecipientStatus::Excluded);
    assert_eq!(r.skip_reason, Some(SkipReason::Suppressed));
    assert_eq!(progress.snapshot().suppressed, 1);
    assert_eq!(progress.snapshot().total, 5);
}

#[tokio::test]
async fn five_hundreds_are_rejected_with_the_reply_text() {
    let w = world("dispatch-5xx", (0..5).map(address));
    let sink = SmtpSink::builder(&w.dir.subdir("sink").unwrap())
        .args(["-f", "RCPT", "-B", "550 5.1.1 User unknown"])
        .start()
        .expect("sink");
    let pool = SmtpPool::start(config(sink.addr().to_string(), 2), CancellationToken::new());
    let progress = Progress::new();
    assert_eq!(dispatch_all(&w, &pool, &progress).await, Finished::Complete);
    for i in 0..5 {
        let r = w.store.recipient(w.number, i).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Rejected);
        assert_eq!(r.smtp_reply.as_deref(), Some("550 5.1.1 User unknown"));
        assert_eq!(r.status_code.as_deref(), Some("5.1.1"));
        assert_eq!(r.attempts, 1, "a 5xx is not retried");
    }
    assert_eq!(progress.snapshot().rejected, 5);
    assert_eq!(sink.count().unwrap(), 0);
}

#[tokio::test]
async fn four_hundreds_are_retried_with_backoff_then_failed() {
    let w = world("dispatch-4xx", (0..3).map(address));
    let sink = SmtpSink::builder(&w.dir.subdir("sink").unwrap())
        .args(["-r", "RCPT", "-b", "450 4.2.0 Try again later"])
        .start()
        .expect("sink");
    let pool = SmtpPool::start(config(sink.addr().to_string(), 2), CancellationToken::new());
    let progress = Progress::new();
    let started = std::time::Instant::now();
    assert_eq!(dispatch_all(&w, &pool, &progress).await, Finished::Complete);
    // Three attempts with 50 ms, then 100 ms between them.
    assert!(started.elapsed() >= Duration::from_millis(150));
    for i in 0..3 {
        let r = w.store.recipient(w.number, i).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Failed);
        assert_eq!(r.attempts, 3);
        assert_eq!(
            r.smtp_reply.as_deref(),
            Some("RCPT: 450 4.2.0 Try again later")
        );
    }
    let p = progress.snapshot();
    assert_eq!((p.failed, p.retries), (3, 6));
}

#[tokio::test]
async fn a_stopped_dispatch_resumes_where_it_stopped() {
    let n = 200u32;
    let w = world("dispatch-resume", (0..n).map(address));
    let sink = SmtpSink::start(&w.dir.subdir("sink").unwrap()).expect("sink");
    let pool = SmtpPool::start(config(sink.addr().to_string(), 4), CancellationToken::new());
    let stop = CancellationToken::new();
    let progress = Progress::new();
    let run = {
        let (store, render, pool, progress, stop) = (
            w.store.clone(),
            w.render.clone(),
            pool.clone(),
            progress.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            dispatch::run(
                &store,
                ID,
                render,
                &fixture::verp(),
                &pool,
                &progress,
                &stop,
            )
            .await
        })
    };
    while progress.snapshot().sent < 30 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    let first = run.await.unwrap().expect("first run");
    assert_eq!(first, Finished::Stopped);
    let after_stop = w.store.counts(w.number).unwrap();
    assert!(
        after_stop.get(RecipientStatus::Pending) > 0,
        "stopped early"
    );

    let progress = Progress::new();
    assert_eq!(dispatch_all(&w, &pool, &progress).await, Finished::Complete);
    let messages = sink
        .wait_for_messages_async(n as usize, Duration::from_secs(10))
        .await
        .unwrap();
    let counts = by_recipient(&messages);
    for i in 0..n {
        assert_eq!(
            counts.get(&address(i)),
            Some(&1),
            "recipient {i} exactly once"
        );
    }
    assert_eq!(
        w.store.counts(w.number).unwrap().get(RecipientStatus::Sent),
        n as u64
    );
}

#[tokio::test]
async fn a_relay_outage_loses_nothing_and_the_mailing_finishes_when_it_returns() {
    let n = 300u32;
    let w = world("dispatch-outage", (0..n).map(address));
    let mut sink = SmtpSink::start(&w.dir.subdir("sink").unwrap()).expect("sink");
    let concurrency = 4;
    let pool = SmtpPool::start(
        config(sink.addr().to_string(), concurrency),
        CancellationToken::new(),
    );
    let progress = Progress::new();
    let run = {
        let (store, render, pool, progress) = (
            w.store.clone(),
            w.render.clone(),
            pool.clone(),
            progress.clone(),
        );
        tokio::spawn(async move {
            dispatch::run(
                &store,
                ID,
                render,
                &fixture::verp(),
                &pool,
                &progress,
                &CancellationToken::new(),
            )
            .await
        })
    };
    while progress.snapshot().sent < 50 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sink.stop();
    // The relay is gone for three seconds: the dispatch waits, it does not give up.
    let mut saw_waiting = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        saw_waiting |= progress.snapshot().waiting_for_relay;
    }
    assert!(saw_waiting, "progress shows the wait for the relay");
    assert!(!run.is_finished());
    let during = w.store.counts(w.number).unwrap();
    assert_eq!(during.get(RecipientStatus::Failed), 0);
    sink.restart().expect("restart sink");

    let finished = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("finishes after the relay returns")
        .unwrap()
        .expect("dispatch");
    assert_eq!(finished, Finished::Complete);
    let counts = w.store.counts(w.number).unwrap();
    assert_eq!(counts.get(RecipientStatus::Sent), n as u64, "{counts:?}");

    let complete = complete_messages(&sink);
    let got = by_recipient(&complete);
    for i in 0..n {
        assert!(got.contains_key(&address(i)), "recipient {i} arrived");
    }
    let duplicates = complete.len() - n as usize;
    assert!(
        duplicates <= concurrency,
        "{duplicates} duplicates > concurrency {concurrency}"
    );
}

/// The messages at the sink that reached their end. A transaction cut off by the outage
/// leaves a partial dump (sometimes without smtp-sink's own headers), which is skipped.
/// Read once nothing is in flight.
fn complete_messages(sink: &SmtpSink) -> Vec<CapturedMessage> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sink.dump_dir()).expect("dump dir") {
        let path = entry.expect("entry").path();
        if let Ok(m) = CapturedMessage::from_file(&path) {
            let text = String::from_utf8_lossy(&m.data);
            if text.contains("end of message</p></body></html>") && text.trim_end().ends_with("--")
            {
                out.push(m);
            }
        }
    }
    out
}

#[tokio::test]
async fn test_mail_goes_to_the_given_address_and_changes_no_recipient() {
    let w = world("dispatch-test-mail", (0..3).map(address));
    let sink = SmtpSink::start(&w.dir.subdir("sink").unwrap()).expect("sink");
    let pool = SmtpPool::start(config(sink.addr().to_string(), 1), CancellationToken::new());
    let row = w.store.recipient(w.number, 1).unwrap().unwrap();
    let outcome = send_test(
        &pool,
        w.render.as_ref(),
        &row.fields,
        "editor@sender.test",
        &fixture::verp(),
    )
    .await
    .expect("render");
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");

    let msg = sink
        .wait_for_recipient_async("editor@sender.test", Duration::from_secs(10))
        .await
        .expect("test mail arrived");
    assert_eq!(msg.mail_from, "bounce@bounces.test");
    let parsed = msg.parsed().unwrap();
    assert_eq!(parsed.subject(), Some("Hello Name 1"));
    assert!(parsed.body_html(0).unwrap().contains("C00001"));
    let counts = w.store.counts(w.number).unwrap();
    assert_eq!(counts.get(RecipientStatus::Pending), 3, "no state changed");
}

//! The SMTP pool against a real smtp-sink: explicit VERP envelope, DSN parameters, the
//! message bytes as sent, 5xx/4xx handling, RSET and connection reuse, reconnects and the
//! relay list.
mod support;

use mm_send::{Envelope, Gate, Outcome, SenderConfig, SmtpPool};
use std::time::Duration;
use support::{free_port, have_sink, Sink};
use tokio_util::sync::CancellationToken;

fn config(relays: Vec<String>, concurrency: usize) -> SenderConfig {
    SenderConfig {
        relays,
        helo: "sender.test".into(),
        concurrency,
        timeout: Duration::from_secs(10),
        relay_down_for: Duration::from_secs(60),
        ..SenderConfig::default()
    }
}

fn envelope(n: usize) -> Envelope {
    Envelope {
        sender: format!("bounce+tok{n}@bounces.test"),
        recipient: format!("user+{n}@dest.test"),
        envid: Some(format!("tok{n}")),
    }
}

fn message(n: usize) -> Vec<u8> {
    // The line starting with a dot checks dot-stuffing; the relay must get it back unchanged.
    format!(
        "From: News <news@sender.test>\r\nTo: user+{n}@dest.test\r\nSubject: n{n}\r\n\r\nHello {n}\r\n.leading dot\r\n.\r\nend\r\n"
    )
    .into_bytes()
}

fn lf(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .into_bytes()
}

#[tokio::test]
async fn messages_arrive_with_the_explicit_envelope_and_dsn_parameters() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(Some(dir.path()), &["-v"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 3), CancellationToken::new());

    let mut tasks = Vec::new();
    for n in 0..12 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            pool.send(envelope(n), message(n)).await
        }));
    }
    for t in tasks {
        let outcome = t.await.unwrap();
        assert!(
            matches!(&outcome, Outcome::Accepted { reply, .. } if reply.starts_with("250")),
            "{outcome:?}"
        );
    }

    let mut dumps = sink.dumps();
    assert_eq!(dumps.len(), 12);
    dumps.sort_by_key(|d| d.recipient().to_string());
    for d in &dumps {
        let n: usize = d.recipient()["user+".len()..d.recipient().find('@').unwrap()]
            .parse()
            .unwrap();
        assert_eq!(
            d.mail_args,
            format!("<bounce+tok{n}@bounces.test> RET=HDRS ENVID=tok{n}")
        );
        assert_eq!(
            d.rcpt_args,
            vec![format!(
                "<user+{n}@dest.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;user+2B{n}@dest.test"
            )]
        );
        assert_eq!(
            String::from_utf8_lossy(&d.message),
            String::from_utf8_lossy(&lf(&message(n)))
        );
    }
    // Connections are reused: at most one per pool task.
    assert!(sink.sessions() <= 3, "{:#?}", sink.log());
}

#[tokio::test]
async fn no_dsn_parameters_when_the_relay_does_not_offer_dsn() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(Some(dir.path()), &["-N"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    let outcome = pool.send(envelope(1), message(1)).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), 1);
    assert_eq!(dumps[0].mail_args, "<bounce+tok1@bounces.test>");
    assert_eq!(dumps[0].rcpt_args, vec!["<user+1@dest.test>".to_string()]);
}

#[tokio::test]
async fn rcpt_5xx_is_rejected_and_the_connection_carries_on_after_rset() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        Some(dir.path()),
        &["-v", "-f", "RCPT", "-B", "550 5.1.1 User unknown"],
    );
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..5 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert_eq!(
            outcome,
            Outcome::Rejected {
                code: 550,
                enhanced: Some("5.1.1".into()),
                text: "User unknown".into()
            }
        );
        assert_eq!(outcome.reply_line(), "550 5.1.1 User unknown");
    }
    // All five went over one session, each refused transaction reset with RSET.
    assert_eq!(sink.sessions(), 1, "{:#?}", sink.log());
    let rsets = sink
        .log()
        .iter()
        .filter(|l| l.ends_with("smtp-sink: RSET"))
        .count();
    assert_eq!(rsets, 5, "{:#?}", sink.log());
}

#[tokio::test]
async fn rejection_after_the_data_is_rejected() {
    if !have_sink() {
        return;
    }
    let sink = Sink::start(None, &["-f", ".", "-B", "554 5.7.1 Rejected as spam"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..2 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert_eq!(outcome.reply_line(), "554 5.7.1 Rejected as spam");
        assert!(matches!(outcome, Outcome::Rejected { code: 554, .. }));
    }
}

#[tokio::test]
async fn four_hundreds_are_deferred() {
    if !have_sink() {
        return;
    }
    let sink = Sink::start(None, &["-r", "MAIL", "-b", "451 4.3.0 Try later"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..3 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert_eq!(
            outcome,
            Outcome::Deferred {
                text: "MAIL: 451 4.3.0 Try later".into()
            }
        );
    }
}

#[tokio::test]
async fn a_dropped_connection_is_deferred_and_the_next_message_reconnects() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The sink hangs up without a reply when it sees DATA.
    let sink = Sink::start(Some(dir.path()), &["-v", "-q", "DATA"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..3 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert!(
            matches!(&outcome, Outcome::Deferred { text } if text.starts_with("DATA:")),
            "{outcome:?}"
        );
    }
    assert_eq!(sink.sessions(), 3, "{:#?}", sink.log());
}

#[tokio::test]
async fn a_relay_restart_between_messages_is_survived_by_reconnecting() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sink = Sink::start(Some(dir.path()), &[]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    let outcome = pool.send(envelope(1), message(1)).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    // The pooled connection dies with the old process; the next message finds it dead at
    // MAIL FROM and goes over a fresh connection, without being counted as a failure.
    sink.stop();
    sink.restart();
    let outcome = pool.send(envelope(2), message(2)).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    assert_eq!(sink.dumps().len(), 2);
}

#[tokio::test]
async fn a_dead_relay_in_the_list_is_skipped() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(Some(dir.path()), &[]);
    let dead = format!("127.0.0.1:{}", free_port());
    let pool = SmtpPool::start(config(vec![dead, sink.addr()], 2), CancellationToken::new());
    for n in 0..6 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    }
    assert_eq!(sink.dumps().len(), 6);
}

#[tokio::test]
async fn no_reachable_relay_is_unreachable_not_a_failure() {
    let dead = format!("127.0.0.1:{}", free_port());
    let pool = SmtpPool::start(config(vec![dead.clone()], 1), CancellationToken::new());
    let outcome = pool.send(envelope(1), message(1)).await;
    assert!(
        matches!(&outcome, Outcome::Unreachable { text } if text.contains(&dead)),
        "{outcome:?}"
    );
    // Marked down: the next message does not even try.
    let outcome = pool.send(envelope(2), message(2)).await;
    assert!(
        matches!(&outcome, Outcome::Unreachable { text } if text.contains("marked down")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn shutdown_stops_the_pool() {
    let token = CancellationToken::new();
    let pool = SmtpPool::start(config(vec!["127.0.0.1:1".into()], 2), token.clone());
    token.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let outcome = pool.send(envelope(1), message(1)).await;
    assert!(
        matches!(outcome, Outcome::Unreachable { .. }),
        "{outcome:?}"
    );
}

/// The dialogue without PIPELINING (smtp-sink `-p` does not offer it): one command at a
/// time, the same outcomes, refusals reset on the same session.
#[tokio::test]
async fn without_pipelining_commands_go_one_by_one_with_the_same_outcomes() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(Some(dir.path()), &["-v", "-p"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..3 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    }
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), 3);
    for d in &dumps {
        let n: usize = d.recipient()["user+".len()..d.recipient().find('@').unwrap()]
            .parse()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&d.message),
            String::from_utf8_lossy(&lf(&message(n)))
        );
    }
    assert_eq!(sink.sessions(), 1, "{:#?}", sink.log());

    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        Some(dir.path()),
        &["-v", "-p", "-f", "RCPT", "-B", "550 5.1.1 User unknown"],
    );
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..2 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert_eq!(outcome.reply_line(), "550 5.1.1 User unknown");
    }
    assert_eq!(sink.sessions(), 1, "{:#?}", sink.log());
}

/// A refusal at MAIL with PIPELINING: RCPT and DATA were already sent, their replies are
/// read and the session stays usable.
#[tokio::test]
async fn a_pipelined_refusal_at_mail_keeps_the_session_in_step() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        Some(dir.path()),
        &["-v", "-f", "MAIL", "-B", "553 5.1.8 Sender refused"],
    );
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());
    for n in 0..3 {
        let outcome = pool.send(envelope(n), message(n)).await;
        assert_eq!(outcome.reply_line(), "553 5.1.8 Sender refused");
    }
    assert_eq!(sink.sessions(), 1, "{:#?}", sink.log());
    assert!(sink.dumps().is_empty());
}

/// The final dot waits for the gate: nothing is delivered before it opens, and a failed
/// gate drops the connection before the dot, so the relay discards the message.
#[tokio::test]
async fn the_final_dot_waits_for_the_gate_and_a_failed_gate_discards_the_message() {
    if !have_sink() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(Some(dir.path()), &["-v"]);
    let pool = SmtpPool::start(config(vec![sink.addr()], 1), CancellationToken::new());

    let (opener, gate) = Gate::pair();
    let sending = tokio::spawn({
        let pool = pool.clone();
        async move { pool.send_gated(envelope(1), message(1), gate).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sending.is_finished(), "accepted before the gate opened");
    assert!(sink.dumps().is_empty(), "delivered before the gate opened");
    opener.open();
    let outcome = sending.await.unwrap();
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    assert_eq!(sink.dumps().len(), 1);

    let (opener, gate) = Gate::pair();
    let sending = tokio::spawn({
        let pool = pool.clone();
        async move { pool.send_gated(envelope(2), message(2), gate).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    opener.fail();
    let outcome = sending.await.unwrap();
    assert!(matches!(outcome, Outcome::Deferred { .. }), "{outcome:?}");
    // The next message goes out on a fresh connection; the aborted one never arrives.
    let outcome = pool.send(envelope(3), message(3)).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let mut got: Vec<String> = sink
        .dumps()
        .iter()
        .map(|d| d.recipient().to_string())
        .collect();
    got.sort();
    assert_eq!(got, vec!["user+1@dest.test", "user+3@dest.test"]);
}

//! The milter driven by a real milter client, `miltertest` (the scripts are in
//! `tests/miltertest/`), with a recording sink. Skipped with a message when miltertest is not
//! installed.
mod common;

use common::*;
use mm_domain::{BounceReason, ReportKind};
use mm_milter::{OnReport, TokenSource};
use std::sync::atomic::Ordering;

/// Runs `report.lua` with `eml` for an envelope recipient built from `token_str`.
async fn play_report(
    m: &TestMilter,
    eml: &str,
    token_str: &str,
    rcpt: &str,
    expect: &str,
    expect_stage: &str,
) {
    let out = miltertest(
        "report.lua",
        &[
            ("sock", m.sock.clone()),
            ("eml", script(eml).display().to_string()),
            ("token", token_str.to_string()),
            ("domain", DOMAIN.to_string()),
            ("sender", "<>".to_string()),
            ("rcpt", rcpt.to_string()),
            ("expect", expect.to_string()),
            ("expect_stage", expect_stage.to_string()),
        ],
    )
    .await;
    assert_passed(&out, eml);
}

#[tokio::test]
async fn ordinary_mail_is_accepted_at_data_and_nothing_is_recorded() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start(TestMilter::config()).await;
    let out = miltertest(
        "ordinary.lua",
        &[("sock", m.sock.clone()), ("domain", DOMAIN.to_string())],
    )
    .await;
    assert_passed(&out, "ordinary.lua");
    assert!(m.sink.recorded().is_empty());
    assert!(m.sink.forged().is_empty());
    m.stop().await.unwrap();
}

#[tokio::test]
async fn rfc3464_report_to_the_verp_address_is_recorded_and_discarded() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start(TestMilter::config()).await;
    let token = key().sign(7, 12345);
    let rcpt = format!("<{}>", verp(&token));
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &rcpt,
        "discard",
        "eom",
    )
    .await;

    let recorded = m.sink.recorded();
    assert_eq!(recorded.len(), 1, "one report recorded");
    let ev = &recorded[0];
    assert_eq!(ev.token, Some(token));
    assert!(ev.token_valid);
    assert_eq!(ev.token_source, Some(TokenSource::Envelope));
    assert_eq!(ev.envelope_sender, "");
    assert_eq!(ev.envelope_recipients, vec![verp(&token)]);
    assert_eq!(ev.queue_id.as_deref(), Some("4C2A51E0F3"));
    assert_eq!(ev.report.kind, ReportKind::Bounce);
    assert_eq!(ev.report.recipients.len(), 1);
    let r = &ev.report.recipients[0];
    assert_eq!(r.address, "nobody@example.net");
    assert_eq!(r.status.as_deref(), Some("5.1.1"));
    assert_eq!(r.reason, BounceReason::UserUnknown);
    assert!(r.hard);
    // The raw report is what the MTA handed over: headers and the whole body.
    let raw = String::from_utf8_lossy(&ev.raw);
    assert!(raw.starts_with("Return-Path: <>\r\n"), "{raw:.200}");
    assert!(raw.contains("\r\nStatus: 5.1.1\r\n"));
    assert!(raw.contains("boundary=\"4C2A51E0F3.1764278043/mx.example.net\""));
    assert!(raw
        .trim_end()
        .ends_with("--4C2A51E0F3.1764278043/mx.example.net--"));
    assert!(m.sink.forged().is_empty());
    m.stop().await.unwrap();
}

#[tokio::test]
async fn report_without_envelope_token_is_matched_by_its_content() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start(TestMilter::config()).await;
    let token = key().sign(3, 4);
    // Some MTAs send reports to a plain address; the token is still in the returned headers.
    let rcpt = format!("<bounce@{DOMAIN}>");
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &rcpt,
        "discard",
        "eom",
    )
    .await;
    let recorded = m.sink.recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].token, Some(token));
    assert_eq!(recorded[0].token_source, Some(TokenSource::Content));
    m.stop().await.unwrap();
}

#[tokio::test]
async fn forged_token_changes_nothing_and_the_report_is_let_through() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start(TestMilter::config()).await;
    let forged = foreign_key().sign(7, 12345);
    let rcpt = format!("<{}>", verp(&forged));
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &forged.to_string(),
        &rcpt,
        "accept",
        "eom",
    )
    .await;
    assert!(
        m.sink.recorded().is_empty(),
        "a forged report is never recorded"
    );
    let forged_events = m.sink.forged();
    assert_eq!(forged_events.len(), 1, "the sink is told about the forgery");
    assert_eq!(forged_events[0].token, Some(forged));
    assert!(!forged_events[0].token_valid);
    m.stop().await.unwrap();
}

#[tokio::test]
async fn store_failure_answers_tempfail_so_the_mta_retries() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start(TestMilter::config()).await;
    m.sink.fail.store(true, Ordering::SeqCst);
    let token = key().sign(1, 1);
    let rcpt = format!("<{}>", verp(&token));
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &rcpt,
        "tempfail",
        "eom",
    )
    .await;
    // The store recovers; the MTA offers the report again and it is recorded.
    m.sink.fail.store(false, Ordering::SeqCst);
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &rcpt,
        "discard",
        "eom",
    )
    .await;
    assert_eq!(m.sink.recorded().len(), 1);
    m.stop().await.unwrap();
}

#[tokio::test]
async fn human_reply_to_the_bounce_address_is_let_through_unrecorded() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start(TestMilter::config()).await;
    let token = key().sign(7, 1);
    let rcpt = format!("<{}>", verp(&token));
    let out = miltertest(
        "report.lua",
        &[
            ("sock", m.sock.clone()),
            ("eml", script("human-reply.eml").display().to_string()),
            ("token", token.to_string()),
            ("domain", DOMAIN.to_string()),
            ("sender", "<nobody@example.net>".to_string()),
            ("rcpt", rcpt),
            ("expect", "accept".to_string()),
            ("expect_stage", "eom".to_string()),
        ],
    )
    .await;
    assert_passed(&out, "human-reply.eml");
    assert!(m.sink.recorded().is_empty());
    assert!(m.sink.forged().is_empty());
    m.stop().await.unwrap();
}

#[tokio::test]
async fn report_over_the_size_limit_is_let_through_unread() {
    if !have_miltertest() {
        return;
    }
    let mut cfg = TestMilter::config();
    cfg.max_report_size = 1500; // the headers fit, the body does not
    let m = TestMilter::start(cfg).await;
    let token = key().sign(7, 2);
    let rcpt = format!("<{}>", verp(&token));
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &rcpt,
        "accept",
        "body",
    )
    .await;
    assert!(m.sink.recorded().is_empty());
    m.stop().await.unwrap();
}

#[tokio::test]
async fn on_report_accept_records_and_lets_the_report_through() {
    if !have_miltertest() {
        return;
    }
    let mut cfg = TestMilter::config();
    cfg.on_report = OnReport::Accept;
    let m = TestMilter::start(cfg).await;
    let token = key().sign(9, 9);
    let rcpt = format!("<{}>", verp(&token));
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &rcpt,
        "accept",
        "eom",
    )
    .await;
    assert_eq!(m.sink.recorded().len(), 1);
    m.stop().await.unwrap();
}

#[tokio::test]
async fn unix_socket_serves_the_same() {
    if !have_miltertest() {
        return;
    }
    let m = TestMilter::start_unix(TestMilter::config()).await;
    let out = miltertest(
        "ordinary.lua",
        &[("sock", m.sock.clone()), ("domain", DOMAIN.to_string())],
    )
    .await;
    assert_passed(&out, "ordinary.lua over unix");
    // Postfix's own reports come via non_smtpd_milters with bare addresses.
    let token = key().sign(5, 6);
    play_report(
        &m,
        "dsn-user-unknown.eml",
        &token.to_string(),
        &verp(&token),
        "discard",
        "eom",
    )
    .await;
    assert_eq!(m.sink.recorded().len(), 1);
    m.stop().await.unwrap();
}

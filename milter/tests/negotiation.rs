//! Option negotiation: the envelope stages (connect, HELO, MAIL, RCPT, unknown) only ever go
//! on, so the milter asks the MTA not to wait for their replies (`SMFIP_NR_*`) — but only
//! where the MTA offers it, and never for the stages that can end a message (DATA, headers,
//! EOH, body). Both ways, ordinary mail is accepted at DATA and a report is read and decided.
mod common;

use common::raw::*;
use common::*;

/// An ordinary message, then a report to the bounce domain, on one session.
async fn ordinary_then_report(c: &mut RawClient, m: &TestMilter, mailing: u32) {
    assert_eq!(
        c.envelope("<news@example.org>", "<alice@example.test>")
            .await
            .unwrap(),
        b'a',
        "ordinary mail is accepted at DATA"
    );
    let token = key().sign(mailing, 7);
    assert_eq!(
        c.envelope("<>", &format!("<{}>", verp(&token)))
            .await
            .unwrap(),
        b'c',
        "a report is read on"
    );
    let body = c
        .headers(&fixture("dsn-user-unknown.eml", &token.to_string()))
        .await
        .unwrap();
    assert_eq!(c.body_and_eom(&body).await.unwrap(), b'd');
    assert!(
        m.sink.recorded().iter().any(|e| e.token == Some(token)),
        "the report was recorded"
    );
}

#[tokio::test]
async fn envelope_replies_are_negotiated_away_where_the_mta_offers_it() {
    let m = TestMilter::start(TestMilter::config()).await;
    let mut c = RawClient::connect(m.addr.unwrap()).await.unwrap();
    c.open_offering(ALL_STEPS).await.unwrap();
    for (flag, stage) in [
        (NR_CONN, "connect"),
        (NR_HELO, "helo"),
        (NR_MAIL, "mail"),
        (NR_RCPT, "rcpt"),
        (NR_UNKN, "unknown"),
    ] {
        assert_ne!(c.protocol & flag, 0, "no reply asked for at {stage}");
    }
    for (flag, stage) in [
        (NR_DATA, "data"),
        (NR_HDR, "header"),
        (NR_EOH, "eoh"),
        (NR_BODY, "body"),
    ] {
        assert_eq!(c.protocol & flag, 0, "{stage} must still be answered");
    }
    ordinary_then_report(&mut c, &m, 1).await;
    drop(c);
    m.stop().await.unwrap();
}

#[tokio::test]
async fn every_stage_is_answered_when_the_mta_offers_no_reply_skipping() {
    let m = TestMilter::start(TestMilter::config()).await;
    let all_nr = NR_CONN | NR_HELO | NR_MAIL | NR_RCPT | NR_DATA | NR_UNKN | NR_HDR;
    let offered = ALL_STEPS & !(all_nr | NR_EOH | NR_BODY);
    let mut c = RawClient::connect(m.addr.unwrap()).await.unwrap();
    // `open_offering` reads a reply to connect and HELO; `envelope` to MAIL and RCPT.
    c.open_offering(offered).await.unwrap();
    assert_eq!(c.protocol & all_nr, 0);
    ordinary_then_report(&mut c, &m, 2).await;
    drop(c);
    m.stop().await.unwrap();
}

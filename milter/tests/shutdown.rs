//! Graceful shutdown: the listener closes at once, a report in the middle of its transaction
//! is still read, recorded and answered, and `run` then returns. A peer that never finishes
//! its message is cut off after the grace period.
mod common;

use common::raw::RawClient;
use common::*;
use std::time::Duration;

#[tokio::test]
async fn report_in_flight_finishes_after_shutdown_begins() {
    let m = TestMilter::start(TestMilter::config()).await;
    let addr = m.addr.unwrap();
    let token = key().sign(11, 22);

    let mut c = RawClient::connect(addr).await.unwrap();
    c.open().await.unwrap();
    assert_eq!(
        c.envelope("<>", &format!("<{}>", verp(&token)))
            .await
            .unwrap(),
        b'c'
    );
    let body = c
        .headers(&fixture("dsn-user-unknown.eml", &token.to_string()))
        .await
        .unwrap();

    m.begin_shutdown();
    // New connections are refused once the listener is closed.
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        refused.is_ok(),
        "the milter must stop accepting on shutdown"
    );
    assert!(
        !m.is_finished(),
        "a message is in flight: run must wait for it"
    );

    assert_eq!(c.body_and_eom(&body).await.unwrap(), b'd');
    assert_eq!(m.sink.recorded().len(), 1);

    tokio::time::timeout(Duration::from_secs(5), m.stop())
        .await
        .expect("run returns once the in-flight message is done")
        .unwrap();
}

#[tokio::test]
async fn a_peer_that_never_finishes_is_cut_off_after_the_grace_period() {
    let mut cfg = TestMilter::config();
    cfg.shutdown_grace = Duration::from_millis(300);
    let m = TestMilter::start(cfg).await;
    let mut c = RawClient::connect(m.addr.unwrap()).await.unwrap();
    c.open().await.unwrap();
    let rcpt = format!("<{}>", verp(&key().sign(1, 2)));
    assert_eq!(c.envelope("<>", &rcpt).await.unwrap(), b'c');

    tokio::time::timeout(Duration::from_secs(10), m.stop())
        .await
        .expect("run returns after the grace period")
        .unwrap();
    // The session was closed: the peer reads end-of-stream.
    assert!(c.reply().await.is_err());
}

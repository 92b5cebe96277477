//! Hostile and broken peers: garbage bytes, a huge frame length, unknown commands, frames cut
//! off, abrupt disconnects in the middle of a message. None may take the milter down or leave
//! it unable to serve the next, normal session.
mod common;

use common::raw::RawClient;
use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deterministic junk (xorshift), so a failure can be replayed.
fn junk(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Writes `bytes` and half-closes (a short frame would otherwise wait for the rest until the
/// connection timeout), then waits (bounded) for the milter to close the connection.
async fn throw(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the milter should drop a peer that sends {} junk bytes",
        bytes.len()
    );
}

#[tokio::test]
async fn garbage_and_abrupt_peers_do_not_stop_the_milter() {
    let m = TestMilter::start(TestMilter::config()).await;
    let addr = m.addr.unwrap();

    // Random bytes, several seeds and lengths.
    for (i, len) in [1usize, 5, 100, 4096, 70_000].into_iter().enumerate() {
        throw(addr, &junk(len, 0x9e37_79b9_7f4a_7c15 + i as u64)).await;
    }
    // A frame announcing 4 GiB.
    throw(addr, &[0xff, 0xff, 0xff, 0xf0, b'O', 1, 2, 3]).await;
    // A zero-length frame and an unknown command.
    throw(addr, &[0, 0, 0, 0]).await;
    throw(addr, &[0, 0, 0, 1, b'z']).await;
    // Negotiation with an impossible protocol version.
    throw(
        addr,
        &[0, 0, 0, 13, b'O', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    )
    .await;

    // A frame cut off in the middle, then the peer vanishes.
    {
        let mut c = RawClient::connect(addr).await.unwrap();
        c.open().await.unwrap();
        c.stream
            .write_all(&[0, 0, 0, 50, b'M', b'<'])
            .await
            .unwrap();
    }
    // A report cut off between headers and body.
    {
        let token = key().sign(1, 1);
        let mut c = RawClient::connect(addr).await.unwrap();
        c.open().await.unwrap();
        assert_eq!(
            c.envelope("<>", &format!("<{}>", verp(&token)))
                .await
                .unwrap(),
            b'c'
        );
        c.headers(&fixture("dsn-user-unknown.eml", &token.to_string()))
            .await
            .unwrap();
    }
    // Many connections opened and dropped at once.
    let mut conns = Vec::new();
    for _ in 0..50 {
        conns.push(TcpStream::connect(addr).await.unwrap());
    }
    drop(conns);

    assert!(!m.is_finished(), "the milter must still be running");

    // A normal session still works: an ordinary message and a report.
    let token = key().sign(2, 3);
    let mut c = RawClient::connect(addr).await.unwrap();
    c.open().await.unwrap();
    assert_eq!(
        c.envelope("<a@example.org>", "<b@example.test>")
            .await
            .unwrap(),
        b'a'
    );
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
    assert_eq!(c.body_and_eom(&body).await.unwrap(), b'd');
    let recorded = m.sink.recorded();
    assert_eq!(recorded.len(), 1, "only the complete report is recorded");
    assert_eq!(recorded[0].token, Some(token));

    if have_miltertest() {
        let out = miltertest(
            "ordinary.lua",
            &[("sock", m.sock.clone()), ("domain", DOMAIN.to_string())],
        )
        .await;
        assert_passed(&out, "ordinary.lua after the junk");
    }
    drop(c);
    // The cut-off messages released their in-flight slots: shutdown does not wait for them.
    tokio::time::timeout(Duration::from_secs(5), m.stop())
        .await
        .expect("shutdown must not wait for vanished peers")
        .unwrap();
}

/// Well-framed nonsense: valid lengths, milter command bytes (and others) in random order with
/// random payloads, so the stages are reached with arguments no MTA would send — including
/// recipients in the bounce domain and bodies that reach the classifier.
#[tokio::test]
async fn random_well_framed_sessions_do_not_stop_the_milter() {
    const COMMANDS: &[u8] = b"OCHMRTLNBEADQKUz\x00\xff";
    let m = TestMilter::start(TestMilter::config()).await;
    let addr = m.addr.unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..300 {
        let mut c = common::raw::RawClient::connect(addr).await.unwrap();
        // Half the sessions negotiate properly first, so the later stages are reachable.
        if next() % 2 == 0 {
            c.open().await.unwrap();
        }
        for _ in 0..(next() % 20) {
            let cmd = COMMANDS[(next() % COMMANDS.len() as u64) as usize];
            let mut payload: Vec<u8> = junk((next() % 200) as usize, next());
            if next() % 3 == 0 {
                // A NUL-terminated address in the bounce domain, as MAIL/RCPT carry it.
                payload = format!("<bounce+x@{DOMAIN}>\0").into_bytes();
            }
            if c.send(cmd, &payload).await.is_err() {
                break;
            }
            // Read a reply if one comes quickly; many commands get none.
            let _ = tokio::time::timeout(Duration::from_millis(2), c.reply()).await;
        }
    }
    assert!(!m.is_finished(), "the milter must still be running");

    let mut c = common::raw::RawClient::connect(addr).await.unwrap();
    c.open().await.unwrap();
    assert_eq!(
        c.envelope("<a@example.org>", "<b@example.test>")
            .await
            .unwrap(),
        b'a'
    );
    drop(c);
    tokio::time::timeout(Duration::from_secs(15), m.stop())
        .await
        .expect("shutdown within the grace period")
        .unwrap();
}

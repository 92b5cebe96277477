//! The milter's own cost per ordinary message, without Postfix's noise: a client plays
//! Postfix's smtpd for one SMTP session per message — TCP connect, option negotiation,
//! connect, HELO, MAIL, RCPT, DATA (→ accept), QUIT — and prints the median and 90th
//! percentile time per message, for the milter on the multi-thread runtime and on a
//! current-thread runtime of its own, and for a baseline: a bare loop answering the same
//! frames on the same socket type (what loopback round trips cost without any milter logic).
//!
//! ```text
//! cargo run --release -p mm-milter --example latency -- [MESSAGES]
//! ```
#[path = "../tests/common/raw.rs"]
#[allow(dead_code)]
mod raw;

use mm_domain::VerpKey;
use mm_milter::{Listener, MilterConfig, ReportEvent, ReportSink, SinkError, SinkOutcome};
use raw::RawClient;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct NoSink;

impl ReportSink for NoSink {
    fn record(&self, _event: ReportEvent) -> Result<SinkOutcome, SinkError> {
        Ok(SinkOutcome::Ignored)
    }
}

fn config() -> MilterConfig {
    MilterConfig::new("bounces.test", VerpKey::from_bytes(&[7; 32]))
}

async fn measure(addr: std::net::SocketAddr, messages: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(messages);
    for _ in 0..messages {
        let started = Instant::now();
        let mut c = RawClient::connect(addr).await.expect("connect");
        c.open().await.expect("negotiate");
        let reply = c
            .envelope("<news@example.org>", "<someone@example.test>")
            .await
            .expect("envelope");
        assert_eq!(reply, b'a', "ordinary mail is accepted at DATA");
        c.send(b'Q', b"").await.expect("quit");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn report(what: &str, times: &[Duration]) {
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: median {:?}, p90 {:?} per message ({} messages)",
        p(0.5),
        p(0.9),
        times.len()
    );
}

/// The baseline: answers each frame at once (negotiation echoed, DATA accepted, the rest
/// continued), one task per connection, no parsing beyond the command byte.
async fn bare_responder(l: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let Ok(len) = s.read_u32().await else { return };
                let len = len as usize;
                if len == 0 || len > buf.len() || s.read_exact(&mut buf[..len]).await.is_err() {
                    return;
                }
                let reply: &[u8] = match buf[0] {
                    b'O' => &[0, 0, 0, 13, b'O', 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0],
                    b'T' => &[0, 0, 0, 1, b'a'],
                    b'Q' => return,
                    b'D' => continue,
                    _ => &[0, 0, 0, 1, b'c'],
                };
                if s.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn main() {
    let messages: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);

    // The milter on the caller's multi-thread runtime (as in the daemon).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let times = rt.block_on(async {
        let l = Listener::bind_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .expect("bind");
        let addr = l.local_addr().expect("tcp");
        tokio::spawn(mm_milter::run(
            l,
            config(),
            Arc::new(NoSink),
            std::future::pending::<()>(),
        ));
        measure(addr, messages).await
    });
    report("multi-thread runtime (2 workers)", &times);
    drop(rt);

    // The milter alone on a current-thread runtime in its own thread.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            let _ =
                mm_milter::run(l, config(), Arc::new(NoSink), std::future::pending::<()>()).await;
        });
    });
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let times = client.block_on(measure(addr, messages));
    report("current-thread runtime of its own", &times);

    // Also in a thread of its own, so that it pays the same thread hand-offs.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            bare_responder(l).await
        });
    });
    let baseline = client.block_on(measure(addr, messages));
    report("baseline: bare frame responder", &baseline);
}

//! Measures recipients per second: the whole dispatch (store stream → render → VERP →
//! SMTP → durable outcome) and the SMTP pool alone, at concurrency 1 and 8, through
//! smtp-sink (no dumping) and — when running as root with Postfix installed — through a
//! private Postfix that relays to smtp-sink.
//!
//! ```text
//! cargo run --release -p mm-send --example send_throughput -- [RECIPIENTS] [--repeat N] [--no-postfix]
//! ```
//! Prints the median (and min/max) of N runs (default 3) per measurement. "dispatch" is what
//! a user gets: every outcome is durable (store flush) before the worker takes the next
//! recipient, so at concurrency 1 it includes one flush per message. Loopback only; every
//! process started is stopped.
#[path = "../tests/support/mod.rs"]
mod support;

use mm_mailing::Mailing;
use mm_render::MessageIds;
use mm_send::{dispatch, Envelope, Finished, Outcome, Progress, Render, SenderConfig, SmtpPool};
use mm_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fixture;
use support::Sink;
use tokio_util::sync::CancellationToken;

fn config(relay: &str, concurrency: usize) -> SenderConfig {
    SenderConfig {
        relays: vec![relay.to_string()],
        helo: "throughput.test".into(),
        concurrency,
        timeout: Duration::from_secs(30),
        ..SenderConfig::default()
    }
}

/// The test mailing with about 20 KB of HTML, a typical newsletter size.
fn write_mailing(root: &std::path::Path) -> std::path::PathBuf {
    let folder = fixture::write_mailing(root);
    let filler = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>\n".repeat(160);
    let body = std::fs::read_to_string(folder.join("body.html")).expect("body");
    std::fs::write(
        folder.join("body.html"),
        body.replace(
            "<p>end of message</p>",
            &format!("{filler}<p>end of message</p>"),
        ),
    )
    .expect("body");
    folder
}

/// The whole dispatch of `n` recipients at `domain`: recipients per second.
async fn dispatch_rate(relay: &str, concurrency: usize, n: u32, domain: &str) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = write_mailing(dir.path());
    let store = Store::open(dir.path().join("store"), 64 << 20).expect("store");
    fixture::setup_store(&store, (0..n).map(|i| format!("user{i}@{domain}")));
    let render = Arc::new(fixture::prepare(&folder));
    let pool = SmtpPool::start(config(relay, concurrency), CancellationToken::new());
    let progress = Progress::new();
    let t = Instant::now();
    let finished = dispatch::run(
        &store,
        fixture::ID,
        render,
        &fixture::verp(),
        &pool,
        &progress,
        &CancellationToken::new(),
    )
    .await
    .expect("dispatch");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(finished, Finished::Complete);
    let p = progress.snapshot();
    assert_eq!(p.sent, n as u64, "{p:?}");
    n as f64 / secs
}

/// The pool alone: one pre-rendered message sent `n` times, `concurrency` callers.
async fn pool_rate(relay: &str, concurrency: usize, n: u32, domain: &str) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = write_mailing(dir.path());
    let prepared = fixture::prepare(&folder);
    let message = Arc::new(
        Render::render(
            &prepared,
            &fixture::values(0, &format!("user0@{domain}")),
            &MessageIds::new("x@bounces.test", "x"),
        )
        .expect("render"),
    );
    let pool = SmtpPool::start(config(relay, concurrency), CancellationToken::new());
    let t = Instant::now();
    let per = n / concurrency as u32;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (pool, message, domain) = (pool.clone(), message.clone(), domain.to_string());
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                let env = Envelope {
                    sender: "bounce+x@bounces.test".into(),
                    recipient: format!("user{c}x{i}@{domain}"),
                    envid: Some("x".into()),
                };
                let outcome = pool.send(env, message.clone()).await;
                assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender task");
    }
    (per * concurrency as u32) as f64 / t.elapsed().as_secs_f64()
}

/// Median, min and max of `runs`.
fn spread(mut runs: Vec<f64>) -> String {
    runs.sort_by(f64::total_cmp);
    format!(
        "{:>6.0} (min {:.0}, max {:.0})",
        runs[runs.len() / 2],
        runs[0],
        runs[runs.len() - 1]
    )
}

async fn measure(label: &str, relay: &str, n: u32, domain: &str, repeat: usize) {
    for concurrency in [1, 8] {
        let (mut d, mut p) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            d.push(dispatch_rate(relay, concurrency, n, domain).await);
            p.push(pool_rate(relay, concurrency, n, domain).await);
        }
        println!(
            "{label:<20} concurrency {concurrency}: dispatch {} recipients/s | pool only {} messages/s",
            spread(d),
            spread(p)
        );
    }
}

#[tokio::main]
async fn main() {
    let mut n = 2_000u32;
    let mut postfix = true;
    let mut repeat = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-postfix" => postfix = false,
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&r| r > 0)
                    .expect("--repeat N (N ≥ 1)")
            }
            v => n = v.parse().expect("RECIPIENTS is a number"),
        }
    }
    let size = {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = Mailing::load(&write_mailing(dir.path())).expect("mailing");
        let p = mm_render::PreparedMailing::new(&m, &fixture::columns(), &Default::default())
            .expect("prepare");
        p.render(
            &fixture::values(0, "user0@x.test"),
            &MessageIds::new("x@b", "x"),
        )
        .expect("render")
        .len()
    };
    println!(
        "{n} recipients per run, median of {repeat} runs; message size {size} bytes; {} cores",
        num_cpus()
    );

    let sink = Sink::start(None, &[]);
    measure("smtp-sink", &sink.addr(), n, "dest.test", repeat).await;

    if postfix {
        let dir = mm_tests::TestDir::new("send-throughput").expect("test dir");
        match mm_tests::PostfixBuilder::new("relay", &dir.subdir("relay").unwrap())
            .myhostname("mx.remote.test")
            .relay_domain("remote.test")
            .route_smtp("remote.test", &format!("[127.0.0.1]:{}", sink.port))
            .start()
        {
            Ok(relay) => {
                measure(
                    "Postfix → smtp-sink",
                    &relay.smtpd_addr().to_string(),
                    n,
                    "remote.test",
                    repeat,
                )
                .await;
            }
            Err(e) => println!("Postfix: skipped ({e})"),
        }
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

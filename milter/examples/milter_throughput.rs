//! Measures what the milter costs ordinary mail: `smtp-source` into a private Postfix that
//! relays to `smtp-sink`, once with the milter in `smtpd_milters`/`non_smtpd_milters` and once
//! without, in alternating rounds; prints messages/second (accepted by Postfix, i.e. until
//! smtp-source is done) for both and their ratio (target ≥ 0.95).
//!
//! ```text
//! cargo run --release -p mm-milter --example milter_throughput -- [MESSAGES] [SESSIONS] [SIZE] [ROUNDS]
//! ```
//! Defaults: 500 messages, 5 parallel sessions, 5000-byte messages, 9 rounds. On a shared
//! machine single runs vary by ±50 %: rounds alternate the order, and the median of the
//! per-round ratios is the figure to read. Needs root and
//! Postfix (the `mm-tests` harness). Each message is its own SMTP session (smtp-source's
//! default), so every message also costs the milter a connection and option negotiation:
//! the worst case for the milter.
use mm_domain::VerpKey;
use mm_milter::{Listener, MilterConfig, ReportEvent, ReportSink, SinkError, SinkOutcome};
use mm_tests::{Postfix, PostfixBuilder, SmtpSink, TestDir};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts reports; ordinary mail must never reach it.
#[derive(Default)]
struct CountingSink(AtomicUsize);

impl ReportSink for CountingSink {
    fn record(&self, _event: ReportEvent) -> Result<SinkOutcome, SinkError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(SinkOutcome::Recorded)
    }
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn instance(dir: &TestDir, name: &str, sink: &SmtpSink, milter: Option<&str>) -> Postfix {
    let mut b = PostfixBuilder::new(name, &dir.subdir(name).expect("dir"))
        .myhostname(&format!("{name}.test"))
        .relay_domain("sink.test")
        .route_smtp("sink.test", &sink.next_hop());
    if let Some(spec) = milter {
        b = b.milter(spec);
    }
    b.start().unwrap_or_else(|e| panic!("start {name}: {e}"))
}

/// One smtp-source run; returns accepted messages per second.
fn run(postfix: &Postfix, sink: &SmtpSink, messages: usize, sessions: usize, size: usize) -> f64 {
    let before = sink.count().unwrap_or(0);
    let started = Instant::now();
    let out = Command::new("/usr/sbin/smtp-source")
        .args(["-s", &sessions.to_string()])
        .args(["-m", &messages.to_string()])
        .args(["-l", &size.to_string()])
        .args(["-M", "client.example.org"])
        .args(["-f", "news@example.org"])
        .args(["-t", "someone@sink.test"])
        .arg(postfix.smtpd_addr().to_string())
        .output()
        .expect("run smtp-source");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "smtp-source: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Let the queue drain so the next run does not compete with these deliveries.
    postfix
        .wait_queue_empty(Duration::from_secs(300))
        .expect("queue drains");
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.count().unwrap_or(0) < before + messages && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    messages as f64 / elapsed.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let messages = arg(1, 500);
    let sessions = arg(2, 5);
    let size = arg(3, 5000);
    let rounds = arg(4, 9);

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("metrics recorder");
    let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    let spec = format!("inet:{}", listener.local_addr().expect("tcp"));
    let sink = Arc::new(CountingSink::default());
    let config = MilterConfig::new("bounces.test", VerpKey::from_bytes(&[7; 32]));
    if std::env::var("MILTER_RT").as_deref() == Ok("current") {
        // The milter on a runtime of its own thread: no task hops between worker threads.
        let std_listener = match listener {
            Listener::Tcp(l) => l.into_std().expect("std listener"),
            Listener::Unix(_) => unreachable!(),
        };
        let sink = sink.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let _ = mm_milter::run(l, config, sink, std::future::pending::<()>()).await;
            });
        });
    } else {
        tokio::spawn(mm_milter::run(
            listener,
            config,
            sink.clone(),
            std::future::pending::<()>(),
        ));
    }

    let (plain_rates, milter_rates) = tokio::task::spawn_blocking(move || {
        let dir = TestDir::new("milter-throughput").expect("test dir");
        let plain_sink = SmtpSink::start(&dir.subdir("plain-sink").unwrap()).expect("sink");
        let milter_sink = SmtpSink::start(&dir.subdir("milter-sink").unwrap()).expect("sink");
        let plain = instance(&dir, "plain", &plain_sink, None);
        let with = instance(&dir, "milter", &milter_sink, Some(&spec));
        // Warm-up: first connections, process start-up of Postfix's daemons.
        run(&plain, &plain_sink, 50, sessions, size);
        run(&with, &milter_sink, 50, sessions, size);
        let (mut p, mut m) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate the order so a drift in machine load hits both alike.
            if round % 2 == 0 {
                p.push(run(&plain, &plain_sink, messages, sessions, size));
                m.push(run(&with, &milter_sink, messages, sessions, size));
            } else {
                m.push(run(&with, &milter_sink, messages, sessions, size));
                p.push(run(&plain, &plain_sink, messages, sessions, size));
            }
            eprintln!(
                "round {}: without {:.0}/s, with milter {:.0}/s",
                round + 1,
                p[round],
                m[round]
            );
        }
        drop((plain, with));
        (p, m)
    })
    .await
    .expect("measurement");

    let ratios: Vec<f64> = plain_rates
        .iter()
        .zip(&milter_rates)
        .map(|(p, m)| m / p)
        .collect();
    let (p, m) = (median(plain_rates), median(milter_rates));
    println!(
        "{messages} messages × {rounds} rounds, {sessions} sessions, {size} bytes, new SMTP session per message"
    );
    println!("without milter: {p:.0} msg/s (median)");
    println!("with milter:    {m:.0} msg/s (median)");
    println!("ratio of medians:          {:.2}", m / p);
    println!("median of per-round ratios: {:.2}", median(ratios));
    println!(
        "reports recorded (must be 0): {}",
        sink.0.load(Ordering::Relaxed)
    );
    // Proof that the milter was consulted for every message of the "with" runs.
    for line in metrics.render().lines() {
        if line.starts_with("mm_milter_") {
            println!("{line}");
        }
    }
}

//! Figure 6: throughput of a private Postfix for ordinary (non-bounce) mail with our milter
//! attached (`smtpd_milters` and `non_smtpd_milters`, as SPEC §10 says), against the same
//! Postfix without the milter, in the same run. Two instances, identical but for the milter,
//! both relaying to one `smtp-sink`; `smtp-source` submits the newsletter's bytes over reused
//! sessions; the time runs until the queue is empty again. Runs alternate A B B A … so that
//! a change of load on the shared machine hits both; the figure is total messages over total
//! time of each, and every round's ratio is printed to show the noise (two plain rounds of one
//! run have differed by 16 % here, so the default is four rounds each, not two).
//!
//! ```text
//! BENCH_MILTER_COUNT=5000 BENCH_MILTER_SESSIONS=4 BENCH_MILTER_ROUNDS=4 \
//!   cargo run --release -p mm-bench --example fig6_milter
//! ```
use anyhow::Result;
use mm_bench::{fixture, knob, measure, rate, sink::Sink, source, Figure};
use mm_milter::{MilterConfig, ReportEvent, ReportSink, SinkError, SinkOutcome};
use mm_render::MessageIds;
use mm_tests::{Postfix, PostfixBuilder, TestDir};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Ordinary mail never reaches a sink; a report would be ignored (and so accepted).
struct NoStore;

impl ReportSink for NoStore {
    fn record(&self, _event: ReportEvent) -> Result<SinkOutcome, SinkError> {
        Ok(SinkOutcome::Ignored)
    }
}

/// A short run that is not measured.
fn warm_up(pf: &Postfix, message_file: &std::path::Path) -> Result<()> {
    let addr = pf.smtpd_addr().to_string();
    source::Source {
        server: &addr,
        sessions: 4,
        count: 100,
        message_file,
        from: "newsletter@muster-handel.test",
        to: &fixture::address(0),
        distinct_recipients: false,
    }
    .run()?;
    pf.wait_queue_empty(Duration::from_secs(600))?;
    Ok(())
}

fn main() -> Result<()> {
    // As the daemon's `main` does, before any thread of ours allocates.
    mm_store::tune_allocator();
    let count = knob("BENCH_MILTER_COUNT", 5_000);
    let sessions = knob("BENCH_MILTER_SESSIONS", 4);
    let rounds = knob("BENCH_MILTER_ROUNDS", 4).max(1);
    let dir = TestDir::new("bench-milter")?;
    let folder = fixture::write_mailing(dir.path(), 20)?;
    let mailing = fixture::load(&folder)?;
    let prepared = fixture::prepare(&mailing, &fixture::columns())?;
    let sample = prepared.render(
        &fixture::row(0),
        &MessageIds::new("ordinary.1@muster-handel.test", "ordinary"),
    )?;
    let message_file = dir.path().join("message.eml");
    source::write_message_file(&message_file, &sample)?;

    // The milter on a thread of its own with a single-threaded runtime, as in the daemon
    // (`daemon/src/cmd/run.rs`, `spawn_milter`).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let milter_addr = listener.local_addr()?;
    let config = MilterConfig::new(fixture::BOUNCE_DOMAIN, fixture::verp().key);
    let fut = mm_milter::run(
        listener,
        config,
        Arc::new(NoStore),
        shutdown.clone().cancelled_owned(),
    );
    let milter = std::thread::spawn(move || rt.block_on(fut));

    let sink = Sink::start()?;
    let build = |name: &str| -> Result<PostfixBuilder> {
        Ok(PostfixBuilder::new(name, &dir.subdir(name)?)
            .route_smtp(fixture::DEST_DOMAIN, &sink.next_hop()))
    };
    let plain = build("plain")?.start()?;
    let milterd = build("milterd")?
        .milter(&format!("inet:{milter_addr}"))
        .start()?;
    eprintln!(
        "{count} messages per run, {sessions} session(s), {rounds} round(s) each, message {} KB, milter at {milter_addr}",
        sample.len() / 1024
    );

    // One round: its seconds, the CPU seconds of the instance's process tree, and those of
    // this process (the milter's runtime; the bench itself only waits).
    let run = |pf: &Postfix| -> Result<(f64, f64, f64)> {
        let addr = pf.smtpd_addr().to_string();
        let master = pf
            .master_pid()
            .ok_or_else(|| anyhow::anyhow!("{} has no master process", pf.name()))?;
        let (postfix_cpu, own_cpu) = (measure::tree_cpu_secs(master), measure::process_cpu_secs());
        let started = Instant::now();
        source::Source {
            server: &addr,
            sessions,
            count,
            message_file: &message_file,
            from: "newsletter@muster-handel.test",
            to: &fixture::address(0),
            distinct_recipients: false,
        }
        .run()?;
        pf.wait_queue_empty(Duration::from_secs(3600))?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "  {}: {count} in {secs:.2} s = {:.0}/s",
            pf.name(),
            rate(count, secs)
        );
        Ok((
            secs,
            measure::tree_cpu_secs(master) - postfix_cpu,
            measure::process_cpu_secs() - own_cpu,
        ))
    };
    // Warm-up: first sessions start the smtpd/cleanup/smtp processes of each instance.
    for pf in [&plain, &milterd] {
        warm_up(pf, &message_file)?;
    }
    // Sums over the rounds of (seconds, Postfix CPU, this process's CPU).
    let add = |a: &mut (f64, f64, f64), b: (f64, f64, f64)| {
        a.0 += b.0;
        a.1 += b.1;
        a.2 += b.2;
    };
    let (mut with, mut without) = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0));
    for round in 0..rounds {
        let (w, wo) = if round % 2 == 0 {
            let wo = run(&plain)?;
            (run(&milterd)?, wo)
        } else {
            let w = run(&milterd)?;
            (w, run(&plain)?)
        };
        eprintln!("  round {}: with/without = {:.3}", round + 1, wo.0 / w.0);
        add(&mut with, w);
        add(&mut without, wo);
    }
    // Seconds follow the load of a shared machine; CPU per message much less so. What the
    // milter costs is Postfix's extra CPU with it attached plus the milter's own.
    let n = (count * rounds) as f64;
    let us = |secs: f64| secs / n * 1e6;
    eprintln!(
        "  CPU per message: Postfix {:.0} µs without the milter, {:.0} µs with it; the milter \
         {:.0} µs (this process, minus its {:.0} µs in the rounds without)",
        us(without.1),
        us(with.1),
        us(with.2 - without.2),
        us(without.2)
    );
    let (with, without) = (with.0, without.0);
    // An unreachable milter would be skipped (milter_default_action = accept) and the figure
    // would measure nothing: make sure Postfix talked to it.
    let log = milterd.maillog();
    // Only the text after "warning:" counts: the instance's own name contains "milter".
    let about_milter = |l: &&str| {
        l.split_once("warning:")
            .is_some_and(|(_, w)| w.to_ascii_lowercase().contains("milter"))
    };
    if let Some(line) = log.lines().find(about_milter) {
        anyhow::bail!("Postfix could not use the milter: {line}");
    }
    // Every message must have been relayed to the sink (nothing discarded, bounced or held).
    let expected = 100 + count * rounds;
    for pf in [&plain, &milterd] {
        let sent = pf
            .deliveries()
            .iter()
            .filter(|d| d.status == "sent")
            .count() as u64;
        eprintln!("  {}: {sent} messages relayed to the sink", pf.name());
        if sent != expected {
            anyhow::bail!("{} relayed {sent} messages, not {expected}", pf.name());
        }
    }
    let n = count * rounds;
    Figure::rate_vs(
        "6",
        &format!(
            "Postfix throughput, ordinary mail, with the milter ({n} msgs, {sessions} sessions; ref: same Postfix without milter)"
        ),
        rate(n, with),
        rate(n, without),
        "msg/s",
        0.0,
        0.95,
    )
    .print();
    drop(milterd);
    drop(plain);
    shutdown.cancel();
    let _ = milter.join();
    drop(sink);
    Ok(())
}

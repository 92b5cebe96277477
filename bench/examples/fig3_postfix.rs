//! Figure 3: recipients/s through a real private Postfix relaying to `smtp-sink`: our sender
//! submits the mailing to Postfix, Postfix relays it to the sink; the time runs until the last
//! recipient is accepted *and* Postfix's queue is empty again. The reference, in the same
//! run: `smtp-source` submitting as many messages of the same bytes over as many reused
//! sessions into the same Postfix, timed the same way, each to a distinct recipient (`-N`) as
//! a mailing's are. (Without `-N` every message goes to one address and Postfix's resolve and
//! rewrite caches hit every time — "artificial", its man page says; measured here 2026-12-02
//! on the quiet machine: 452/s without, 436/s with.) Rounds alternate which of the two goes
//! first; the figure is the ratio of the summed times over all rounds.
//!
//! ```text
//! BENCH_POSTFIX_COUNT=5000 BENCH_POSTFIX_CONNECTIONS=4 BENCH_POSTFIX_ROUNDS=4 \
//!   cargo run --release -p mm-bench --example fig3_postfix
//! ```
use anyhow::Result;
use mm_bench::{fixture, knob, measure, rate, sender, sink::Sink, source, stages, Figure};
use mm_render::MessageIds;
use mm_tests::{PostfixBuilder, TestDir};
use std::sync::Arc;
use std::time::{Duration, Instant};

// One thread, as the daemon runs its sender (`daemon/src/cmd/run.rs`, `spawn_sender`): the
// pool's connections and the dispatch on a single-threaded runtime, rendering on its
// blocking pool, the outcomes' writes and flushes on the dispatch's committer thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // As the daemon's `main` does, before any thread of ours allocates.
    mm_store::tune_allocator();
    let count = knob("BENCH_POSTFIX_COUNT", 5_000);
    let conns = knob("BENCH_POSTFIX_CONNECTIONS", 4);
    let rounds = knob("BENCH_POSTFIX_ROUNDS", 4).max(1);
    // Declared first: removed after the instances are stopped.
    let dir = TestDir::new("bench-postfix")?;
    let folder = fixture::write_mailing(dir.path(), 20)?;
    let mailing = fixture::load(&folder)?;
    let prepared = Arc::new(fixture::prepare(&mailing, &fixture::columns())?);
    let store = mm_store::Store::open(dir.path().join("store"), fixture::CACHE_MB << 20)?;
    let a = fixture::verp().address(1, 0, &fixture::address(0));
    let sample = prepared.render(
        &fixture::row(0),
        &MessageIds::new(a.message_id, a.token.to_string()),
    )?;
    let message_file = dir.path().join("message.eml");
    source::write_message_file(&message_file, &sample)?;

    let sink = Sink::start()?;
    let relay = PostfixBuilder::new("relay", &dir.subdir("relay")?)
        .route_smtp(fixture::DEST_DOMAIN, &sink.next_hop())
        .start()?;
    let relay_addr = relay.smtpd_addr().to_string();
    eprintln!(
        "{count} recipients per run, {conns} connection(s), {rounds} round(s), message {} KB, Postfix at {relay_addr}",
        sample.len() / 1024
    );
    let drain = |what: &str, started: Instant| -> Result<f64> {
        relay.wait_queue_empty(Duration::from_secs(3600))?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!("  {what}: queue empty after {secs:.2} s");
        Ok(secs)
    };

    // Warm-up, not measured: the first sessions start Postfix's smtpd/cleanup/smtp processes.
    source::Source {
        server: &relay_addr,
        sessions: conns,
        count: 100,
        message_file: &message_file,
        from: &a.envelope.sender,
        to: &fixture::address(0),
        distinct_recipients: true,
    }
    .run()?;
    relay.wait_queue_empty(Duration::from_secs(600))?;
    let (mut ours_secs, mut ref_secs) = (0.0, 0.0);
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let id = format!("relay-{round}");
        fixture::store_with_recipients(&store, &id, count)?;
        // The two take turns going first (reference first in even rounds), so that neither
        // always meets the state the other left in Postfix (its processes, caches, queue
        // files, the sink's backlog).
        let reference = async || -> Result<f64> {
            let children_cpu = measure::children_cpu_secs();
            let started = Instant::now();
            source::Source {
                server: &relay_addr,
                sessions: conns,
                count,
                message_file: &message_file,
                from: &a.envelope.sender,
                to: &fixture::address(0),
                distinct_recipients: true,
            }
            .run()?;
            eprintln!(
                "[{round}] smtp-source accepted after {:.2} s, its CPU {:.0} µs per message",
                started.elapsed().as_secs_f64(),
                (measure::children_cpu_secs() - children_cpu) * 1e6 / count as f64
            );
            drain("smtp-source", started)
        };
        let ours = async || -> Result<f64> {
            let before = stages::snapshot();
            let cpu = measure::process_cpu_secs();
            let started = Instant::now();
            let run =
                sender::send_mailing(&store, &id, prepared.clone(), &relay_addr, conns as usize)
                    .await?;
            eprintln!(
                "[{round}] mm-send accepted {} after {:.2} s, its CPU (this process) {:.0} µs per message",
                run.progress.sent,
                run.secs,
                (measure::process_cpu_secs() - cpu) * 1e6 / run.progress.sent.max(1) as f64
            );
            eprintln!(
                "[{round}] mm-send SMTP stages: {}",
                stages::snapshot().means_since(&before)
            );
            drain("mm-send", started)
        };
        let (o, r) = if round % 2 == 0 {
            let r = reference().await?;
            (ours().await?, r)
        } else {
            let o = ours().await?;
            (o, reference().await?)
        };
        eprintln!("[{round}] ratio {:.2}×", r / o);
        ratios.push(format!("{:.2}", r / o));
        ours_secs += o;
        ref_secs += r;
    }
    eprintln!("per-round ratios: {}", ratios.join(" "));
    // Every message must have been relayed to the sink.
    let expected = 100 + 2 * count * rounds;
    let sent = relay
        .deliveries()
        .iter()
        .filter(|d| d.status == "sent")
        .count() as u64;
    eprintln!("Postfix relayed {sent} messages to the sink");
    if sent != expected {
        anyhow::bail!("Postfix relayed {sent} messages, not {expected}");
    }
    let n = count * rounds;
    Figure::rate_vs(
        "3",
        &format!(
            "recipients/s through a private Postfix to smtp-sink, {conns} connection(s), {n} recipients (ref: smtp-source -d -N -s {conns} into the same Postfix)"
        ),
        rate(n, ours_secs),
        rate(n, ref_secs),
        "rcpt/s",
        0.0,
        0.9,
    )
    .print();
    drop(relay);
    drop(sink);
    Ok(())
}

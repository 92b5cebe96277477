//! Figure 2: recipients/s sending a mailing to Postfix's `smtp-sink` on loopback at 1, 4 and
//! 16 connections — the whole sending path (store queue, render, VERP, SMTP pool, durable
//! outcome per message) — against `smtp-source` sending as many messages of the same bytes
//! over as many reused sessions (`-d`) to the same sink, in the same run.
//!
//! ```text
//! BENCH_SEND_COUNT=100000 BENCH_CONNECTIONS=1,4,16 \
//!   cargo run --release -p mm-bench --example fig2_sink
//! ```
use anyhow::Result;
use mm_bench::{fixture, knob, measure, rate, sender, sink::Sink, source, stages, Figure};
use mm_render::MessageIds;
use std::sync::Arc;

// One thread, as the daemon runs its sender (`daemon/src/cmd/run.rs`, `spawn_sender`): the
// pool's connections and the dispatch on a single-threaded runtime, rendering on its
// blocking pool, the outcomes' writes and flushes on the dispatch's committer thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // As the daemon's `main` does, before any thread of ours allocates.
    mm_store::tune_allocator();
    let count = knob("BENCH_SEND_COUNT", 100_000);
    let conns: Vec<u64> = std::env::var("BENCH_CONNECTIONS")
        .unwrap_or_else(|_| "1,4,16".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir()?;
    let folder = fixture::write_mailing(dir.path(), 20)?;
    let mailing = fixture::load(&folder)?;
    let prepared = Arc::new(fixture::prepare(&mailing, &fixture::columns())?);
    let store = mm_store::Store::open(dir.path().join("store"), fixture::CACHE_MB << 20)?;

    // The reference sends the bytes of one of our messages.
    let a = fixture::verp().address(1, 0, &fixture::address(0));
    let sample = prepared.render(
        &fixture::row(0),
        &MessageIds::new(a.message_id, a.token.to_string()),
    )?;
    let message_file = dir.path().join("message.eml");
    source::write_message_file(&message_file, &sample)?;
    eprintln!(
        "{count} recipients per run, message {} KB, connections {conns:?}",
        sample.len() / 1024
    );

    let sink = Sink::start()?;
    let sink_addr = sink.addr();
    for &c in &conns {
        let id = format!("send-{c}");
        let t = std::time::Instant::now();
        fixture::store_with_recipients(&store, &id, count)?;
        eprintln!("[{c}] imported {count} recipients in {:.1?}", t.elapsed());

        let children_cpu = measure::children_cpu_secs();
        let secs = source::Source {
            server: &sink_addr,
            sessions: c,
            count,
            message_file: &message_file,
            from: &a.envelope.sender,
            to: &fixture::address(0),
            distinct_recipients: false,
        }
        .run()?;
        let reference = rate(count, secs);
        let ref_cpu_us = (measure::children_cpu_secs() - children_cpu) * 1e6 / count as f64;
        eprintln!(
            "[{c}] smtp-source: {count} in {secs:.2} s = {reference:.0}/s, its CPU {ref_cpu_us:.0} µs per message"
        );

        let before = stages::snapshot();
        let cpu = measure::process_cpu_secs();
        let run =
            sender::send_mailing(&store, &id, prepared.clone(), &sink_addr, c as usize).await?;
        let ours = rate(run.progress.sent, run.secs);
        eprintln!(
            "[{c}] mm-send: {} in {:.2} s = {ours:.0}/s ({:?})",
            run.progress.sent, run.secs, run.progress
        );
        let cpu_us = (measure::process_cpu_secs() - cpu) * 1e6 / run.progress.sent.max(1) as f64;
        eprintln!("[{c}] mm-send CPU (this process, all threads): {cpu_us:.0} µs per message");
        eprintln!(
            "[{c}] mm-send SMTP stages: {}",
            stages::snapshot().means_since(&before)
        );
        // Where the time goes: the SMTP pool alone with the same bytes (no store, no render).
        let pool_count = count.min(20_000);
        let cpu = measure::process_cpu_secs();
        let secs = sender::pool_only(&sink_addr, c as usize, pool_count, sample.clone()).await?;
        eprintln!(
            "[{c}] breakdown: SmtpPool alone (no store, no render), {pool_count} messages: {:.0}/s, CPU {:.0} µs per message",
            rate(pool_count, secs),
            (measure::process_cpu_secs() - cpu) * 1e6 / pool_count as f64
        );
        Figure::rate_vs(
            &format!("2-{c}"),
            &format!("recipients/s to smtp-sink, {c} connection(s), {count} recipients (ref: smtp-source -d -s {c})"),
            ours,
            reference,
            "rcpt/s",
            0.0,
            0.8,
        )
        .print();
    }
    drop(sink);
    Ok(())
}

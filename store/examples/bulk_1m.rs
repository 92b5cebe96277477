//! Imports 1,000,000 recipients into a fresh store (64 MiB cache), streams them, counts them,
//! records an outcome for every one, and prints elapsed times, disk size and peak RSS.
//!
//! `cargo run --release -p mm-store --example bulk_1m [ROWS] [FLUSH_EVERY] [DIR]`
//! (FLUSH_EVERY: outcomes per flush in the update phase, default 64; 0 = one flush at the end)
use mm_store::{NewRecipient, RecipientUpdate, Store};
use std::time::Instant;

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

/// CPU seconds (user + system, all threads) used by this process so far: on a shared, busy
/// machine wall-clock time says more about the neighbours than about the store.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

fn report(phase: &str, start: (Instant, f64), rows: u64) {
    let secs = start.0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - start.1;
    println!(
        "{phase:<30} wall {secs:>7.2} s  cpu {cpu:>7.2} s  {:>8.0} rows/cpu-s  peak RSS {}",
        rows as f64 / cpu.max(0.01),
        peak_rss()
    );
}

fn start() -> (Instant, f64) {
    (Instant::now(), cpu_secs())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u32 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let flush_every: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let tmp;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let store = Store::open(dir.join("store"), 64 << 20)?;
    let m = store.create_mailing("bulk")?.number;
    println!(
        "{rows} recipients, cache 64 MiB, store in {}",
        dir.display()
    );

    let t = start();
    let gen = (0..rows).map(|i| NewRecipient {
        customer_id: Some(format!("{}", 100_000 + i / 3)),
        customer_name: Some(format!("Musterfirma {} GmbH", i / 3)),
        contact_id: Some(format!("{}", 500_000 + i)),
        email: format!("vorname.nachname{i}@beispiel-{}.de", i % 1000),
        send: i % 20 != 0,
        skip_reason: (i % 20 == 0).then_some(mm_domain::SkipReason::ContactBlock),
        fields: vec![
            "Herr".into(),
            "Max".into(),
            format!("Mustermann{i}"),
            format!("Musterfirma {} GmbH", i / 3),
            "Musterstraße 1".into(),
            "12345".into(),
            "Musterstadt".into(),
            format!("vorname.nachname{i}@beispiel-{}.de", i % 1000),
        ],
    });
    let sum = store.import_recipients("bulk", gen)?;
    report("import (incl. final flush)", t, rows as u64);

    let t = start();
    let mut n = 0u64;
    let mut bytes = 0usize;
    for r in store.recipients(m) {
        let r = r?;
        n += 1;
        bytes += r.email.len();
    }
    assert_eq!(n, rows as u64);
    report("stream all recipients", t, n);
    std::hint::black_box(bytes);

    let t = Instant::now();
    let counts = store.counts(m)?;
    println!(
        "{:<34} {:>8.3} ms  {:?}",
        "counts (counters)",
        t.elapsed().as_secs_f64() * 1e3,
        counts.0
    );
    let t = start();
    let scanned = store.count_by_scan(m)?;
    report("counts by full scan", t, rows as u64);
    assert_eq!(counts, scanned);

    let t = Instant::now();
    let page = store.recipients_page(m, rows / 2, 100)?;
    println!(
        "{:<34} {:>8.3} ms  ({} rows)",
        "page of 100 at the middle",
        t.elapsed().as_secs_f64() * 1e3,
        page.len()
    );
    let t = Instant::now();
    let hit = store.recipient_by_email(m, "VORNAME.NACHNAME777777@beispiel-777.de")?;
    println!(
        "{:<34} {:>8.3} ms  (found: {})",
        "lookup by address",
        t.elapsed().as_secs_f64() * 1e3,
        hit.is_some()
    );

    // The sender's loop: take due rows, record an outcome, flush every `flush_every` outcomes
    // (group commit of a pool of senders).
    let t = start();
    let mut updated = 0u64;
    for row in store.due_rows(m, mm_store::now_ms()) {
        let row = row?;
        store.update_recipient(
            m,
            row,
            &RecipientUpdate::sent(Some(format!("Q{row:X}")), "250 2.0.0 Ok"),
        )?;
        updated += 1;
        if flush_every > 0 && updated.is_multiple_of(flush_every) {
            store.flush()?;
        }
    }
    store.flush()?;
    report(&format!("update all (flush per {flush_every})"), t, updated);
    assert_eq!(updated, sum.to_send as u64);
    let counts = store.counts(m)?;
    println!("counts after: {:?}", counts.0);

    println!("size on disk: {} MiB", store.size_on_disk()? >> 20);
    println!("final peak RSS (VmHWM): {}", peak_rss());
    Ok(())
}

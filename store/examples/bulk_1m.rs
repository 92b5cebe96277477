//! Imports 1,000,000 recipients into a fresh store (64 MiB cache budget), records an outcome
//! for every one, streams and counts them, and prints elapsed times, disk size, peak RSS and
//! how much of the heap is live (`BULK_SAMPLE_MS=N` also samples it every N ms).
//!
//! `cargo run --release -p mm-store --example bulk_1m [ROWS] [FLUSH_EVERY] [DIR]`
//! (FLUSH_EVERY: outcomes per flush in the update phase, default 64; 0 = one flush at the end).
//! Environment: `BULK_CACHE_MB` (default 64); `BULK_WORKERS=N` runs the update phase like the
//! sender does (a feeder thread and N workers with group commit) instead of one loop;
//! `BULK_IMPORT_ONLY=1` stops after the import; `BULK_TRIM_MS=N` calls glibc's `malloc_trim`
//! every N ms (diagnostic: how much of the peak is freed heap glibc keeps).
use mm_store::{NewRecipient, RecipientUpdate, Store};
use std::time::Instant;

/// One field of /proc/self/status, e.g. `VmHWM` (peak RSS) or `RssAnon` (heap part of it).
fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)?
                    .strip_prefix(':')
                    .map(|v| v.trim().to_string())
            })
        })
        .unwrap_or_else(|| "n/a".into())
}

/// glibc's `struct mallinfo2`: tells live heap (`uordblks`) from freed-but-kept (`fordblks`)
/// memory, i.e. what the store holds from what malloc fragmentation keeps resident.
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
    fn malloc_trim(pad: usize) -> i32;
}

fn heap() -> String {
    // SAFETY: mallinfo2 (glibc ≥ 2.33) only reads malloc's own statistics.
    let m = unsafe { mallinfo2() };
    format!(
        "heap in use {} MB, free in heap {} MB, mmapped {} MB",
        m.uordblks >> 20,
        m.fordblks >> 20,
        m.hblkhd >> 20
    )
}

fn peak_rss() -> String {
    status("VmHWM")
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
        "{phase:<30} wall {secs:>7.2} s  cpu {cpu:>7.2} s  {:>8.0} rows/cpu-s  peak RSS {}  (now RSS {}, anon {}; {})",
        rows as f64 / cpu.max(0.01),
        peak_rss(),
        status("VmRSS"),
        status("RssAnon"),
        heap(),
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
    let cache_mb: u64 = std::env::var("BULK_CACHE_MB")
        .ok()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(64);
    let store = Store::open(dir.join("store"), cache_mb << 20)?;
    let m = store.create_mailing("bulk")?.number;
    println!(
        "{rows} recipients, cache budget {cache_mb} MiB (Store::open), store in {}",
        dir.display()
    );

    if let Some(ms) = std::env::var("BULK_SAMPLE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // Diagnostic: RSS and malloc's live/free heap over time, to tell a transient peak of
        // live memory from fragmentation.
        let t0 = Instant::now();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            eprintln!(
                "sample {:>7.1} s  RSS {}  {}",
                t0.elapsed().as_secs_f64(),
                status("VmRSS"),
                heap()
            );
        });
    }
    if let Some(ms) = std::env::var("BULK_TRIM_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // Diagnostic: would returning freed heap to the OS (a process-wide choice, not the
        // store's) flatten the peak?
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            // SAFETY: malloc_trim only releases free memory of malloc's own heaps.
            unsafe { malloc_trim(0) };
        });
    }
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
    if std::env::var_os("BULK_IMPORT_ONLY").is_some() {
        return Ok(());
    }

    // Right after the import, as in a send (the full scans below page the whole list through
    // the cache, and the heap they churn would be counted against the updates). The sender's loop: take due rows, record an outcome, flush every `flush_every` outcomes
    // (group commit of a pool of senders).
    let t = start();
    let workers: usize = std::env::var("BULK_WORKERS")
        .ok()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(0);
    let (updated, phase) = if workers == 0 {
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
        (updated, format!("update all (flush per {flush_every})"))
    } else {
        (
            dispatch_like(&store, m, workers)?,
            format!("update all ({workers} workers)"),
        )
    };
    report(&phase, t, updated);
    assert_eq!(updated, sum.to_send as u64);
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

    let counts = store.counts(m)?;
    println!("counts after: {:?}", counts.0);

    println!("size on disk: {} MiB", store.size_on_disk()? >> 20);

    // Opening again rebuilds the counts and the due queue from the records (`tally`): what
    // a daemon restart costs with a list this long.
    let path = store.path().to_path_buf();
    drop(store);
    let t = start();
    let store = loop {
        match Store::open(&path, cache_mb << 20) {
            // sled releases its lock file shortly after the last handle is dropped.
            Err(e) if e.is_locked() => std::thread::sleep(std::time::Duration::from_millis(20)),
            r => break r?,
        }
    };
    report("reopen (counts and queue rebuilt)", t, rows as u64);
    assert_eq!(store.counts(m)?, counts);
    println!("final peak RSS (VmHWM): {}", peak_rss());
    Ok(())
}

/// The sender's dispatch (mm-send) without the network: one feeder thread walks the due queue
/// (`due_rows`, `recipient`, `is_suppressed`) and hands rows to `workers` threads, each of which
/// records an outcome and then waits for a flush that started after its write (group commit,
/// one flush at a time) — the store traffic, and the thread count, of a real send.
fn dispatch_like(store: &Store, m: u32, workers: usize) -> Result<u64, mm_store::StoreError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{mpsc, Arc, Mutex};
    let (tx, rx) = mpsc::sync_channel::<u32>(workers);
    let rx = Arc::new(Mutex::new(rx));
    let written = Arc::new(AtomicU64::new(0));
    let flushed = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (store, rx, written, flushed) =
                (store.clone(), rx.clone(), written.clone(), flushed.clone());
            std::thread::spawn(move || -> Result<u64, mm_store::StoreError> {
                let mut n = 0;
                loop {
                    let Ok(row) = rx.lock().expect("rx").recv() else {
                        return Ok(n);
                    };
                    store.update_recipient(
                        m,
                        row,
                        &RecipientUpdate::sent(Some(format!("Q{row:X}")), "250 2.0.0 Ok"),
                    )?;
                    n += 1;
                    let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut done = flushed.lock().expect("flushed");
                    if *done < mine {
                        let target = written.load(Ordering::SeqCst);
                        store.flush()?;
                        *done = target;
                    }
                }
            })
        })
        .collect();
    for row in store.due_rows(m, mm_store::now_ms()) {
        let row = row?;
        let Some(r) = store.recipient(m, row)? else {
            continue;
        };
        if store.is_suppressed(&r.email)? {
            continue;
        }
        if tx.send(row).is_err() {
            break;
        }
    }
    drop(tx);
    let mut total = 0;
    for h in handles {
        total += h.join().expect("worker panicked")?;
    }
    store.flush()?;
    Ok(total)
}

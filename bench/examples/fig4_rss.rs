//! Figure 4: peak resident memory (VmHWM) of the whole job for 100,000 and for 1,000,000
//! recipients: the report CSV streamed through the recipient list into the store (as the
//! daemon imports it), then sent through `mm-send` to `smtp-sink`. Target: ≤ 200 MB, and flat
//! — the 1,000,000 peak within 1.25 × the 100,000 peak.
//!
//! Each size runs in a child process of its own (this program with `--child`), so each peak
//! is that size's alone; the report files are written by the parent.
//!
//! ```text
//! BENCH_RSS_COUNTS=100000,1000000 BENCH_RSS_CONNECTIONS=16 \
//!   cargo run --release -p mm-bench --example fig4_rss
//! ```
//!
//! `BENCH_RSS_WRAP="heaptrack -o /tmp/ht"` runs each child under that command (a heap profile);
//! `BENCH_RSS_CACHE_MB` sets the store's memory budget (default: the daemon's, 64);
//! `BENCH_RSS_TRACE=SECS` prints the resident set and glibc's heap figures every SECS seconds,
//! and whenever the peak rises by 256 kB (sampled every 100 ms).
use anyhow::{bail, Context, Result};
use mm_bench::measure::{heap_bytes, vm_hwm_kb, vm_rss_kb};
use mm_bench::{fixture, knob, rate, sender, sink::Sink, Figure};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const LIMIT_MB: f64 = 200.0;
const FLAT: f64 = 1.25;

fn main() -> Result<()> {
    // As the daemon's `main` does, before any thread of ours allocates.
    mm_store::tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let folder = PathBuf::from(args.get(1).context("--child FOLDER REPORT STORE")?);
        let report = PathBuf::from(args.get(2).context("--child FOLDER REPORT STORE")?);
        let store = PathBuf::from(args.get(3).context("--child FOLDER REPORT STORE")?);
        // Single-threaded, as the daemon runs its sender (`spawn_sender`).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return rt.block_on(child(&folder, &report, &store));
    }
    let counts: Vec<u64> = std::env::var("BENCH_RSS_COUNTS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|c| c.trim().replace('_', "").parse().ok())
        .collect();
    let dir = tempfile::tempdir()?;
    let folder = fixture::write_mailing(dir.path(), 20)?;
    let exe = std::env::current_exe()?;
    let mut peaks = Vec::new();
    for &n in &counts {
        let report = dir.path().join(format!("report-{n}.csv"));
        let t = Instant::now();
        fixture::write_report(&report, n)?;
        eprintln!(
            "[{n}] report written: {:.1} MB in {:.1?}",
            std::fs::metadata(&report)?.len() as f64 / 1e6,
            t.elapsed()
        );
        let store = dir.path().join(format!("store-{n}"));
        // BENCH_RSS_WRAP runs the child under a profiler, e.g. "heaptrack -o /tmp/ht".
        let wrap: Vec<String> = std::env::var("BENCH_RSS_WRAP")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        let mut cmd = match wrap.split_first() {
            Some((tool, args)) => {
                let mut c = std::process::Command::new(tool);
                c.args(args).arg(&exe);
                c
            }
            None => std::process::Command::new(&exe),
        };
        let out = cmd
            .arg("--child")
            .arg(&folder)
            .arg(&report)
            .arg(&store)
            .stderr(std::process::Stdio::inherit())
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("child for {n} recipients failed ({}): {stdout}", out.status);
        }
        let kb: u64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("VMHWM_KB "))
            .and_then(|v| v.trim().parse().ok())
            .context("the child printed no VMHWM_KB line")?;
        peaks.push((n, kb as f64 / 1024.0));
        std::fs::remove_file(&report)?;
        let _ = std::fs::remove_dir_all(&store);
    }
    let Some(&(n0, base)) = peaks.first() else {
        bail!("no sizes given in BENCH_RSS_COUNTS");
    };
    for &(n, mb) in &peaks {
        let ratio = mb / base;
        let flat = n == n0 || ratio <= FLAT;
        Figure {
            id: format!("4-{n}"),
            what: format!(
                "peak RSS, import → send to smtp-sink, {n} recipients (ref: the {n0} peak)"
            ),
            value: format!("{mb:.1} MB"),
            reference: if n == n0 {
                "—".into()
            } else {
                format!("{base:.1} MB")
            },
            ratio: if n == n0 {
                "—".into()
            } else {
                format!("{ratio:.2}×")
            },
            target: format!("≤ {LIMIT_MB:.0} MB and ≤ {FLAT}× the {n0} peak"),
            met: mb <= LIMIT_MB && flat,
        }
        .print();
    }
    Ok(())
}

/// One size: import the report into a fresh store, send it all, print the peak.
async fn child(folder: &Path, report: &Path, store_dir: &Path) -> Result<()> {
    let mailing = fixture::load(folder)?;
    // BENCH_RSS_CACHE_MB: the store's memory budget (`[store] cache_mb`), the daemon's
    // default unless set — for seeing how much of the growth is the cache filling up.
    let cache_mb = knob("BENCH_RSS_CACHE_MB", fixture::CACHE_MB);
    let store = mm_store::Store::open(store_dir, cache_mb << 20)?;
    // BENCH_RSS_TRACE=SECS: every SECS seconds, the resident set beside glibc's heap (in use,
    // free but kept, mapped apart) — whether what grows is live data or kept free memory.
    let trace = knob("BENCH_RSS_TRACE", 0);
    if trace > 0 {
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut last_line = Instant::now();
            let mut hwm = 0;
            let mb = |b: u64| b as f64 / 1048576.0;
            loop {
                // Sampled every 100 ms so that a short rise of the peak is seen with the heap
                // figures of its moment (a "peak" line), besides one line every SECS seconds.
                std::thread::sleep(std::time::Duration::from_millis(100));
                let now_hwm = vm_hwm_kb().unwrap_or(0);
                let rose = now_hwm >= hwm + 256;
                if !rose && last_line.elapsed().as_secs() < trace {
                    continue;
                }
                if rose {
                    hwm = now_hwm;
                } else {
                    last_line = Instant::now();
                }
                let (used, free, mapped) = heap_bytes().unwrap_or_default();
                eprintln!(
                    "  {} {:>6.1} s: rss {:.1} MB (hwm {:.1}), heap in use {:.1} MB, free kept {:.1} MB, mapped {:.1} MB",
                    if rose { "peak " } else { "trace" },
                    t0.elapsed().as_secs_f64(),
                    vm_rss_kb().unwrap_or(0) as f64 / 1024.0,
                    now_hwm as f64 / 1024.0,
                    mb(used),
                    mb(free),
                    mb(mapped)
                );
            }
        });
    }
    let t = Instant::now();
    let (columns, to_send) = fixture::import_report(&store, &mailing, report)?;
    eprintln!(
        "  imported {to_send} recipients in {:.1?}, peak so far {:.1} MB",
        t.elapsed(),
        vm_hwm_kb().unwrap_or(0) as f64 / 1024.0
    );
    let prepared = Arc::new(fixture::prepare(&mailing, &columns)?);
    let sink = Sink::start()?;
    let conns = knob("BENCH_RSS_CONNECTIONS", 16) as usize;
    let run = sender::send_mailing(&store, &mailing.id, prepared, &sink.addr(), conns).await?;
    eprintln!(
        "  sent {} in {:.1} s ({:.0}/s over {conns} connections), peak {:.1} MB",
        run.progress.sent,
        run.secs,
        rate(run.progress.sent, run.secs),
        vm_hwm_kb().unwrap_or(0) as f64 / 1024.0
    );
    drop(sink);
    println!("VMHWM_KB {}", vm_hwm_kb().unwrap_or(0));
    Ok(())
}

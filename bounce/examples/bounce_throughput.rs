//! Classification throughput: loads every file of the bounce corpus (default
//! `../shared/dsn-corpus/maildir`, or the directory given as the first argument) into memory,
//! classifies them all N times (second argument, default 20) on one thread, and prints
//! reports/s. Run with `cargo run --release -p mm-bounce --example bounce_throughput`.
use std::path::{Path, PathBuf};
use std::time::Instant;

fn collect(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if let Ok(raw) = std::fs::read(&p) {
            out.push(raw);
        }
    }
}

/// Time this thread has run on a CPU, in ns (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/dsn-corpus/maildir")
    });
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let mut files = Vec::new();
    collect(&dir, &mut files);
    if files.is_empty() {
        println!("no report files under {}", dir.display());
        return;
    }
    let bytes: usize = files.iter().map(Vec::len).sum();
    // Warm-up (builds the phrase automaton once).
    let mut recipients = 0usize;
    for f in &files {
        recipients += mm_bounce::classify(f).recipients.len();
    }
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..rounds {
        for f in &files {
            recipients += std::hint::black_box(mm_bounce::classify(f))
                .recipients
                .len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = files.len() * rounds;
    // On a shared machine wall time includes waiting for a core; the thread's own CPU time
    // (Linux /proc) is the one-core figure.
    if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
        let cpu = (b - a) as f64 / 1e9;
        println!(
            "CPU time {cpu:.3} s: {:.0} reports/s on one core",
            n as f64 / cpu
        );
    }
    println!(
        "{} files ({:.1} MB), {rounds} rounds: {n} reports in {secs:.3} s = {:.0} reports/s ({:.1} MB/s), {recipients} recipients",
        files.len(),
        bytes as f64 / 1e6,
        n as f64 / secs,
        (bytes * rounds) as f64 / 1e6 / secs
    );
}

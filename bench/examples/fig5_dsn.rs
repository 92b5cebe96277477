//! Figure 5: bounce reports classified per second on one core over the real corpus
//! (`../shared/dsn-corpus`, read, never copied), against flufl.bounce's `scan_message` over
//! the same files, in the same run. `bench/run.sh` runs this under `taskset -c 0`, so the
//! children (the CLI, Python) share that one core; every rate is per CPU second.
//!
//! - `5`: `mailing-manager dsn parse FILE...` — the administrator's command, JSON out
//!   (to /dev/null), files read from disk; CPU time of the child processes. Needs the binary
//!   (`BENCH_MM_BIN`, built by run.sh); without it only `5-lib` is printed.
//! - `5-lib`: `mm_bounce::classify` in this process over the files held in memory.
//! - reference: `python bench/flufl_scan.py` (a venv with flufl.bounce, made by run.sh): each
//!   file read, parsed with `email`, and scanned.
//!
//! The reference and the command run `BENCH_DSN_REPEAT` times (default 5) in alternation;
//! each side's rate is the median of its samples, and each round's ratio is printed.
//!
//! ```text
//! BENCH_DSN_CORPUS=../shared/dsn-corpus BENCH_DSN_ROUNDS=20 BENCH_PYTHON=bench/.venv/bin/python \
//!   BENCH_MM_BIN=target/release/mailing-manager \
//!   taskset -c 0 cargo run --release -p mm-bench --example fig5_dsn
//! ```
use anyhow::{bail, Context, Result};
use mm_bench::measure::{children_cpu_secs, thread_cpu_secs};
use mm_bench::{knob, rate, Figure};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Bytes of file arguments per `dsn parse` invocation, pointers included. Linux's limit for
/// arguments and environment together is a quarter of the stack limit (`getconf ARG_MAX`:
/// 2 MiB with the usual 8 MiB stack); half of that leaves room for the environment. The 20
/// rounds of the corpus (8,320 paths of ~45 bytes, ~460 kB) then fit in one invocation, so
/// the process start-up (~10 ms of CPU, mostly automata built on first use) is paid once,
/// as the text below says, not once per 8,000 files.
const ARG_BYTES_PER_RUN: usize = 1 << 20;

/// `all` cut into runs of at most [`ARG_BYTES_PER_RUN`] argument bytes (each argument costs
/// its bytes, its NUL and its pointer in `argv`).
fn runs<'a>(all: &[&'a PathBuf]) -> Vec<Vec<&'a PathBuf>> {
    let mut runs: Vec<Vec<&PathBuf>> = vec![Vec::new()];
    let mut bytes = 0;
    for f in all {
        let n = f.as_os_str().len() + 1 + std::mem::size_of::<usize>();
        if bytes + n > ARG_BYTES_PER_RUN && runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
            bytes = 0;
        }
        bytes += n;
        if let Some(r) = runs.last_mut() {
            r.push(f);
        }
    }
    runs
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let corpus = PathBuf::from(
        std::env::var("BENCH_DSN_CORPUS").unwrap_or_else(|_| "../shared/dsn-corpus".into()),
    );
    let rounds = knob("BENCH_DSN_ROUNDS", 20).max(1);
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "bench/.venv/bin/python".into());
    let script =
        std::env::var("BENCH_FLUFL_SCRIPT").unwrap_or_else(|_| "bench/flufl_scan.py".into());
    // The reports are under maildir/; the corpus root also holds its LICENSE and truth table.
    let root = if corpus.join("maildir").is_dir() {
        corpus.join("maildir")
    } else {
        corpus.clone()
    };
    if !root.is_dir() {
        println!(
            "SKIPPED: no bounce corpus at {} (set BENCH_DSN_CORPUS)",
            corpus.display()
        );
        return Ok(());
    }
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    files.sort();
    let files: Vec<PathBuf> = files
        .into_iter()
        .map(|f| std::fs::canonicalize(&f).unwrap_or(f))
        .collect();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    eprintln!(
        "{} report files ({:.1} MB) under {}, {rounds} rounds",
        files.len(),
        bytes as f64 / 1e6,
        root.display()
    );

    // The reference and the command, measured BENCH_DSN_REPEAT times in alternation
    // (flufl, ours, flufl, ours, ...); each side's figure is the median of its samples. One
    // invocation of ours is ~0.3 CPU s for 8,320 reports, and single samples of it moved by
    // ±15 % between runs of one binary on this shared host (bench/PROFILES.md, figure 5).
    let repeat = knob("BENCH_DSN_REPEAT", 5).max(1);
    let list = tempfile::NamedTempFile::new()?;
    std::fs::write(
        list.path(),
        files
            .iter()
            .map(|f| format!("{}\n", f.display()))
            .collect::<String>(),
    )?;
    let bin = std::env::var("BENCH_MM_BIN").ok();
    // All rounds' files in as few invocations as the argument list allows, so that the
    // process start-up is paid about once, as flufl's interpreter start-up is not counted.
    let all: Vec<&PathBuf> = (0..rounds).flat_map(|_| files.iter()).collect();
    let runs = runs(&all);
    let n = files.len() as u64 * rounds;
    let (mut flufl_rates, mut our_rates) = (Vec::new(), Vec::new());
    for i in 1..=repeat {
        let flufl = flufl_rate(&python, &script, rounds, list.path())?;
        eprintln!("[{i}/{repeat}] flufl.bounce: {flufl:.0} reports/CPU s");
        flufl_rates.push(flufl);
        if let Some(bin) = &bin {
            let cpu = our_cpu_secs(bin, &runs)?;
            let ours = rate(n, cpu);
            eprintln!(
                "[{i}/{repeat}] mailing-manager dsn parse: {n} reports in {cpu:.3} CPU s = {ours:.0}/s ({} runs), {:.2}× this round",
                runs.len(),
                ours / flufl
            );
            our_rates.push(ours);
        }
    }
    let flufl = median(&mut flufl_rates);
    if bin.is_some() {
        let ours = median(&mut our_rates);
        Figure::rate_vs(
            "5",
            &format!(
                "`mailing-manager dsn parse` reports/s, one core, {} corpus files × {rounds}, median of {repeat} alternating runs (ref: flufl.bounce scan_message)",
                files.len()
            ),
            ours,
            flufl,
            "reports/s",
            20_000.0,
            20.0,
        )
        .print();
    } else {
        eprintln!("BENCH_MM_BIN not set: the dsn parse command is not measured");
    }

    // Ours, the library in this process.
    let raws: Vec<Vec<u8>> = files
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<_>>()?;
    let mut recipients = 0usize;
    for r in &raws {
        recipients += mm_bounce::classify(r).recipients.len();
    }
    let cpu0 = thread_cpu_secs();
    for _ in 0..rounds {
        for r in &raws {
            recipients += std::hint::black_box(mm_bounce::classify(r))
                .recipients
                .len();
        }
    }
    let cpu = thread_cpu_secs() - cpu0;
    let n = raws.len() as u64 * rounds;
    eprintln!("mm_bounce::classify: {n} reports in {cpu:.3} CPU s ({recipients} recipients)");
    Figure::rate_vs(
        "5-lib",
        &format!(
            "mm_bounce::classify reports/s in process, one core, files in memory, {} × {rounds} (ref: flufl.bounce, median)",
            raws.len()
        ),
        rate(n, cpu),
        flufl,
        "reports/s",
        20_000.0,
        20.0,
    )
    .print();
    Ok(())
}

/// The median of `v` (the mean of the middle two for an even count); 0 when empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// flufl.bounce's reports per CPU second over `rounds` passes of the files in `list`.
fn flufl_rate(python: &str, script: &str, rounds: u64, list: &Path) -> Result<f64> {
    let out = Command::new(python)
        .arg(script)
        .arg(rounds.to_string())
        .arg(list)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("run {python} {script} (run.sh makes the venv)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{python} {script} failed ({}): {text}", out.status);
    }
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("reports_per_cpu_s="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no reports_per_cpu_s in {text:?}"))
}

/// CPU seconds (user + system) of `dsn parse` over `runs`, one invocation per run.
fn our_cpu_secs(bin: &str, runs: &[Vec<&PathBuf>]) -> Result<f64> {
    let cpu0 = children_cpu_secs();
    for chunk in runs {
        let status = Command::new(bin)
            .args([
                "--config",
                "/nonexistent/mailing-manager.toml",
                "dsn",
                "parse",
            ])
            .args(chunk)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| format!("run {bin}"))?;
        if !status.success() {
            bail!("{bin} dsn parse failed: {status}");
        }
    }
    Ok(children_cpu_secs() - cpu0)
}

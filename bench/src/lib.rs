//! Benchmarks of Mailing Manager (issue 7): every figure is measured beside its reference in
//! the same run, and judged by the ratio — the machines are shared and noisy, so absolute
//! times mean little.
//!
//! `bench/run.sh` (run as root from the repository root) builds the figure programs in
//! `bench/examples/` in release mode, runs them, and writes `bench/RESULTS.md`. Each program
//! prints its working on stderr/stdout and one [`Figure`] line per figure (`FIGURE\t...`)
//! that the script turns into the table.
//!
//! # Layout
//! - [`measure`]: CPU time of this thread/process/children, peak RSS (`VmHWM`).
//! - [`fixture`]: the benchmark mailing (~30 KB HTML, 10 merge fields, a logo, a PDF), its
//!   rows, a report CSV, and a store with the mailing ready to send.
//! - [`sink`]: Postfix's `smtp-sink` as a plain fast receiver (no dumps), started and stopped
//!   by pid.
//! - [`source`]: Postfix's `smtp-source`, the reference client.
//! - [`sender`]: one dispatch of a mailing through `mm-send` to a relay, timed.
//! - [`stages`]: the mean time of each SMTP stage of our sender (`mm_smtp_stage_seconds`).
//! - [`fig_render`]: figure 1 (render + build vs mail-builder), shared by the example and the
//!   `cargo bench` target.
//! - [`figure`]: the result line and the verdict against the target.

pub mod fig_render;
pub mod figure;
pub mod fixture;
pub mod measure;
pub mod sender;
pub mod sink;
pub mod source;
pub mod stages;

pub use figure::Figure;

/// An environment knob: `name` parsed as a number, or `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Messages per second, with a zero-time guard.
pub fn rate(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

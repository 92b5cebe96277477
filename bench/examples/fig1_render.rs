//! Figure 1: personalised messages rendered+built per second on one core vs mail-builder
//! building one fixed message (see `mm_bench::fig_render`).
//!
//! ```text
//! cargo run --release -p mm-bench --example fig1_render [N] [ROUNDS]
//! ```
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let rounds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let f = mm_bench::fig_render::measure(n, rounds)?;
    eprintln!(
        "rendered {n} personalised messages ({} bytes avg) at {:.0}/CPU s; fixed mail-builder build ({} bytes) at {:.0}/CPU s",
        f.ours_bytes, f.ours, f.fixed_bytes, f.fixed
    );
    mm_bench::fig_render::figure(&f, n).print();
    Ok(())
}

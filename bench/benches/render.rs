//! `cargo bench -p mm-bench`: figure 1 (render + build per CPU second vs mail-builder building
//! one fixed message), a shorter run than `bench/run.sh`'s. No harness: it prints the figure.
fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; a number argument sets the count.
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let f = mm_bench::fig_render::measure(n, 5)?;
    mm_bench::fig_render::figure(&f, n).print();
    Ok(())
}

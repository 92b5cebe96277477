//! `mailing-manager preview` (placeholder until rendering lands).
use crate::cli::PreviewArgs;
use std::path::Path;
use std::process::ExitCode;

pub fn run(_config: &Path, _args: PreviewArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("preview: not implemented yet")
}

//! `mailing-manager check` (placeholder until the foundation lands).
use crate::cli::CheckArgs;
use std::path::Path;
use std::process::ExitCode;

pub fn run(config: &Path, _args: CheckArgs) -> anyhow::Result<ExitCode> {
    let _config = crate::config::Config::load(config)?;
    anyhow::bail!("check: not implemented yet")
}

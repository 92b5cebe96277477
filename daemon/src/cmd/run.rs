//! `mailing-manager run` (placeholder until the daemon lands).
use std::path::Path;
use std::process::ExitCode;

pub fn run(_config: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("run: not implemented yet")
}

//! `mailing-manager dsn parse` (placeholder until the classifier lands).
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn parse(_config: &Path, _files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    anyhow::bail!("dsn parse: not implemented yet")
}

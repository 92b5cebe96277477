//! State commands that talk to the daemon's API (placeholders until the daemon lands).
use crate::cli::{CopyArgs, OutputArgs, RecipientsArgs, SendArgs, StatusArgs, TestArgs};
use std::path::Path;
use std::process::ExitCode;

pub fn list(_c: &Path, _a: OutputArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("list: not implemented yet")
}
pub fn recipients(_c: &Path, _a: RecipientsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("recipients: not implemented yet")
}
pub fn status(_c: &Path, _a: StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("status: not implemented yet")
}
pub fn test(_c: &Path, _a: TestArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("test: not implemented yet")
}
pub fn send(_c: &Path, _a: SendArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("send: not implemented yet")
}
pub fn copy(_c: &Path, _a: CopyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("copy: not implemented yet")
}

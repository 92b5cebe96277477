//! Postfix's `smtp-source`, the reference client: `count` messages over `sessions` parallel
//! SMTP sessions, connections reused (`-d`, as our pool reuses them), sending a given
//! message file (`-F`), so the reference moves the very bytes our sender moves.
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Where Debian installs it.
pub const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";

/// Writes `message` (CRLF lines) as an `smtp-source -F` file (LF lines: smtp-source adds the
/// CRLF itself and dot-stuffs).
pub fn write_message_file(path: &Path, message: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(message).replace("\r\n", "\n");
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

/// One smtp-source run.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// `host:port` of the server.
    pub server: &'a str,
    /// Parallel sessions (`-s`).
    pub sessions: u64,
    /// Messages in total (`-m`).
    pub count: u64,
    /// The message file (`-F`).
    pub message_file: &'a Path,
    /// Envelope sender (`-f`).
    pub from: &'a str,
    /// Envelope recipient (`-t`).
    pub to: &'a str,
    /// A distinct recipient per message (`-N`: a sequence number prepended to `to`). Its man
    /// page: without it the relay's resolve and rewrite caches hit 100 %, "artificial";
    /// a mailing never sends twice to one address.
    pub distinct_recipients: bool,
}

impl Source<'_> {
    /// Runs it to the end; returns the wall-clock seconds.
    pub fn run(&self) -> Result<f64> {
        let started = Instant::now();
        let out = Command::new(SMTP_SOURCE)
            .arg("-d")
            .args(["-s", &self.sessions.to_string()])
            .args(["-m", &self.count.to_string()])
            .arg("-F")
            .arg(self.message_file)
            .args(["-M", "source.test", "-f", self.from, "-t", self.to])
            .args(self.distinct_recipients.then_some("-N"))
            .arg(self.server)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run {SMTP_SOURCE} (Debian package postfix)"))?;
        let secs = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "smtp-source failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(secs)
    }
}

//! `mailing-manager dsn parse FILE...` (SPEC §8): classifies each report file and prints one
//! JSON object per line and file — the administrator's "why did this bounce?" tool and the way
//! the classifier is measured against real corpora.
//!
//! The VERP key is read (never created) from the config's `bounce.key_file` when the config
//! loads and the key exists; without it a token's `valid` is `null`.
use crate::config::Config;
use crate::exit;
use mm_bounce::BounceReport;
use mm_domain::VerpKey;
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The key, if the config loads and the key file exists and is long enough. Never creates it.
fn load_key(config: &Path) -> Option<VerpKey> {
    let cfg = Config::load(config).ok()?;
    let bytes = std::fs::read(&cfg.bounce.key_file).ok()?;
    (bytes.len() >= 32).then(|| VerpKey::from_bytes(&bytes))
}

/// One recipient of the SPEC §8 line (fields in the SPEC's order).
#[derive(Serialize)]
struct Recipient<'a> {
    address: &'a str,
    action: Option<&'a str>,
    status: Option<&'a str>,
    reply_code: Option<u16>,
    reason: &'static str,
    hard: bool,
    diagnostic: Option<&'a str>,
    remote_mta: Option<&'a str>,
}

/// The token of the SPEC §8 line; `valid` is `null` without the key.
#[derive(Serialize)]
struct Token {
    mailing: u32,
    recipient: u32,
    valid: Option<bool>,
}

/// The SPEC §8 line for one report file.
#[derive(Serialize)]
pub struct Line<'a> {
    file: &'a str,
    kind: &'static str,
    recipients: Vec<Recipient<'a>>,
    token: Option<Token>,
}

/// Builds the SPEC §8 line for one report.
pub fn line<'a>(file: &'a str, rep: &'a BounceReport, key: Option<&VerpKey>) -> Line<'a> {
    Line {
        file,
        kind: rep.kind.as_str(),
        recipients: rep
            .recipients
            .iter()
            .map(|r| Recipient {
                address: &r.address,
                action: r.action.as_deref(),
                status: r.status.as_deref(),
                reply_code: r.reply_code,
                reason: r.reason.as_str(),
                hard: r.hard,
                diagnostic: r.diagnostic.as_deref(),
                remote_mta: r.remote_mta.as_deref(),
            })
            .collect(),
        token: rep.tokens.first().map(|t| Token {
            mailing: t.mailing,
            recipient: t.recipient,
            valid: key.map(|k| k.verify(t)),
        }),
    }
}

/// A file's bytes, read into one buffer kept for all files of a run.
struct FileBuf {
    /// Zero-filled up to its length, so that reads go into it without `unsafe`; it only
    /// grows (by doubling), so the zeroing is paid once per size reached, not per file.
    buf: Vec<u8>,
    /// Bytes of the last file read.
    len: usize,
}

impl FileBuf {
    /// Large enough for nearly every report at once (the corpus's mean is ~4.4 kB, 31 of its
    /// 416 files are over 8 kB).
    const START: usize = 64 * 1024;

    fn new() -> Self {
        FileBuf {
            buf: vec![0; Self::START],
            len: 0,
        }
    }

    /// Reads `file` whole. A read asks for the whole free space of the buffer: `read_to_end`
    /// caps its reads at 8 kB (growing only after a full one), which cost longer reports an
    /// extra system call or two each. The end of file is still the read that returns 0: a
    /// short read is not proof of it for every kind of file (pipes, `/dev/stdin`).
    fn read(&mut self, file: &Path) -> std::io::Result<&[u8]> {
        let mut f = std::fs::File::open(file)?;
        self.len = 0;
        loop {
            if self.len == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let free = self.buf.get_mut(self.len..).unwrap_or_default();
            match f.read(free) {
                Ok(0) => break,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.buf.get(..self.len).unwrap_or_default())
    }
}

pub fn parse(config: &Path, files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let key = load_key(config);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    // One buffer for all files: a fresh one per report (and `fs::read`'s size query: two more
    // system calls per file) was a measurable part of the cost of short reports.
    let mut raw = FileBuf::new();
    for file in &files {
        // `display` of a UTF-8 path is the path itself; only other paths need a lossy copy.
        let lossy;
        let name = match file.to_str() {
            Some(n) => n,
            None => {
                lossy = file.display().to_string();
                &lossy
            }
        };
        match raw.read(file) {
            Ok(bytes) => {
                let rep = mm_bounce::classify(bytes);
                serde_json::to_writer(&mut out, &line(name, &rep, key.as_ref()))?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                failed += 1;
                out.flush()?;
                eprintln!("mailing-manager: dsn parse: {name}: {e}");
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        return Ok(ExitCode::from(exit::DATAERR));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_token(token: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mx.test\nTo: bounce+{token}@bounces.test\nSubject: Undelivered Mail Returned to Sender\n\
MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\n\n\
--X\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.test\n\n\
Final-Recipient: rfc822; z@r.test\nAction: failed\nStatus: 5.1.1\n\n--X--\n"
        )
        .into_bytes()
    }

    #[test]
    fn file_buf_reads_whole_files_of_any_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = FileBuf::new();
        // Empty, short, exactly the buffer, and more than twice the buffer (it grows).
        for len in [0, 5, FileBuf::START, 2 * FileBuf::START + 3, 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("r{len}.eml"));
            std::fs::write(&path, &data).unwrap();
            assert_eq!(buf.read(&path).unwrap(), data.as_slice(), "{len}");
        }
        assert!(buf.read(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn spec_line_with_and_without_key() {
        let key = VerpKey::from_bytes(&[3u8; 32]);
        let t = key.sign(5, 9);
        let rep = mm_bounce::classify(&report_with_token(&t.to_string()));
        let v: serde_json::Value = serde_json::to_value(line("r.eml", &rep, Some(&key))).unwrap();
        assert_eq!(v["file"], "r.eml");
        assert_eq!(v["kind"], "bounce");
        assert_eq!(v["recipients"][0]["address"], "z@r.test");
        assert_eq!(v["recipients"][0]["status"], "5.1.1");
        assert_eq!(v["recipients"][0]["reason"], "user_unknown");
        assert_eq!(v["recipients"][0]["hard"], true);
        assert_eq!(v["token"]["mailing"], 5);
        assert_eq!(v["token"]["recipient"], 9);
        assert_eq!(v["token"]["valid"], true);
        // Another key: the signature does not verify.
        let other = VerpKey::from_bytes(&[4u8; 32]);
        let v = serde_json::to_value(line("r.eml", &rep, Some(&other))).unwrap();
        assert_eq!(v["token"]["valid"], false);
        // No key: unknown.
        let v = serde_json::to_value(line("r.eml", &rep, None)).unwrap();
        assert!(v["token"]["valid"].is_null());
        // SPEC order of the keys.
        let text = serde_json::to_string(&line("r.eml", &rep, None)).unwrap();
        let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
        assert!(pos("file") < pos("kind") && pos("kind") < pos("recipients"));
        assert!(pos("recipients") < pos("token"));
    }
}

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

/// Reads `file` whole into `buf` (cleared first), keeping its allocation.
fn read_into(file: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    // Through `Take`, which reads into the spare capacity until end of file: `File`'s own
    // `read_to_end` first asks the kernel for the size and position (two more system calls
    // per report), which a buffer kept from the last file does not need.
    std::fs::File::open(file)?
        .take(u64::MAX)
        .read_to_end(buf)
        .map(drop)
}

pub fn parse(config: &Path, files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let key = load_key(config);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    // One buffer for all files: a fresh one per report (and `fs::read`'s size query) was a
    // measurable part of the cost of short reports.
    let mut raw = Vec::new();
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
        match read_into(file, &mut raw) {
            Ok(()) => {
                let rep = mm_bounce::classify(&raw);
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

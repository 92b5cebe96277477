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
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The key, if the config loads and the key file exists and is long enough. Never creates it.
fn load_key(config: &Path) -> Option<VerpKey> {
    let cfg = Config::load(config).ok()?;
    let bytes = std::fs::read(&cfg.bounce.key_file).ok()?;
    (bytes.len() >= 32).then(|| VerpKey::from_bytes(&bytes))
}

/// The SPEC §8 JSON line for one report.
pub fn to_json(file: &str, rep: &BounceReport, key: Option<&VerpKey>) -> Value {
    let recipients: Vec<Value> = rep
        .recipients
        .iter()
        .map(|r| {
            json!({
                "address": r.address,
                "action": r.action,
                "status": r.status,
                "reply_code": r.reply_code,
                "reason": r.reason.as_str(),
                "hard": r.hard,
                "diagnostic": r.diagnostic,
                "remote_mta": r.remote_mta,
            })
        })
        .collect();
    let token = rep.tokens.first().map(|t| {
        json!({
            "mailing": t.mailing,
            "recipient": t.recipient,
            "valid": key.map(|k| k.verify(t)),
        })
    });
    json!({
        "file": file,
        "kind": rep.kind.as_str(),
        "recipients": recipients,
        "token": token,
    })
}

pub fn parse(config: &Path, files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let key = load_key(config);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    for file in &files {
        let name = file.display().to_string();
        match std::fs::read(file) {
            Ok(raw) => {
                let rep = mm_bounce::classify(&raw);
                serde_json::to_writer(&mut out, &to_json(&name, &rep, key.as_ref()))?;
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

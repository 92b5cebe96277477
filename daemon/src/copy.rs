//! Copying a mailing to a new draft (SPEC §5 "to send again, copy it"; `POST .../copy`,
//! `mailing-manager copy`): the folder is copied under `DATA/mailings/<new-id>`, `send` is
//! cleared in its `mailing.toml`, and the report replaced when asked. The copy is built in a
//! hidden temporary folder and renamed into place, so the watcher only ever sees it complete.
//! Addresses suppressed meanwhile (hard bounces, complaints) are skipped with reason
//! `suppressed` when the copy is loaded and sent.
use crate::api::ApiError;
use crate::app::App;
use crate::mailings::valid_id;
use std::path::Path;

/// Copies mailing `from` to the new draft `to`, optionally with another report.
pub fn copy_mailing(app: &App, from: &str, to: &str, report: Option<&str>) -> Result<(), ApiError> {
    let config = app.config();
    let mailings = config.mailings_dir();
    let src = mailings.join(from);
    if !valid_id(from) || !src.join("mailing.toml").is_file() {
        return Err(ApiError::not_found(format!("unknown mailing {from:?}")));
    }
    if !valid_id(to) {
        return Err(ApiError::bad_request(format!(
            "{to:?} is not a mailing id: use letters, digits, '.', '_' and '-'"
        )));
    }
    let dst = mailings.join(to);
    let known = app
        .store()
        .mailing(to)
        .map_err(ApiError::internal)?
        .is_some();
    if dst.exists() || known {
        return Err(ApiError::conflict(format!("mailing {to:?} already exists")));
    }
    if let Some(r) = report {
        if r.contains('/') || r.contains('\\') || r.starts_with('.') {
            return Err(ApiError::bad_request(format!(
                "{r:?} is not a report file name"
            )));
        }
        if !config.reports_dir().join(r).is_file() {
            return Err(ApiError::bad_request(format!(
                "no report {r:?} in {}",
                config.reports_dir().display()
            )));
        }
    }
    let tmp = mailings.join(format!(".{to}.copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> anyhow::Result<()> {
        copy_dir(&src, &tmp)?;
        let toml_path = tmp.join("mailing.toml");
        let text = std::fs::read_to_string(&toml_path)?;
        std::fs::write(&toml_path, rewrite_toml(&text, report)?)?;
        std::fs::rename(&tmp, &dst)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(ApiError::internal(format!(
            "copying {from:?} to {to:?}: {e}"
        )));
    }
    tracing::info!(from, to, report = ?report, "mailing copied to a new draft");
    // Load it now so the caller sees it at once (the watcher will see the same files).
    crate::mailings::load_mailing(app, to);
    Ok(())
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().is_some_and(crate::watch::is_ignored) {
            continue;
        }
        // Symlinks are not followed: a mailing's files stay inside its folder.
        let ft = entry.file_type()?;
        if ft.is_dir() {
            copy_dir(&entry.path(), &dst.join(&name))?;
        } else if ft.is_file() {
            std::fs::copy(entry.path(), dst.join(&name))?;
        }
    }
    Ok(())
}

/// Clears `send` and sets `report` among the top-level keys of `mailing.toml`, keeping the
/// rest of the text (comments, order) as it was.
fn rewrite_toml(text: &str, report: Option<&str>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut in_top = true;
    let mut report_done = report.is_none();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            if in_top && !report_done {
                out.push_str(&report_line(report));
                report_done = true;
            }
            in_top = false;
        }
        let key = t.split('=').next().map(str::trim);
        if in_top && key == Some("send") && t.contains('=') {
            continue; // dropped: a copy is a draft
        }
        if in_top && key == Some("report") && t.contains('=') && report.is_some() {
            out.push_str(&report_line(report));
            report_done = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !report_done {
        out.push_str(&report_line(report));
    }
    // The result must still be valid TOML.
    toml::from_str::<toml::Table>(&out)
        .map_err(|e| anyhow::anyhow!("mailing.toml of the copy does not parse: {e}"))?;
    Ok(out)
}

fn report_line(report: Option<&str>) -> String {
    match report {
        Some(r) => format!("report = {}\n", toml::Value::String(r.to_string())),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_is_cleared_report_replaced_comments_kept() {
        let src = "# Spring\ntitle = \"Frühjahr\"\nreport = \"old.csv\"\nsend = true\n\n[headers]\nsend = \"x\"\n";
        let out = rewrite_toml(src, Some("new list.csv")).unwrap();
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert!(t.get("send").is_none(), "{out}");
        assert_eq!(t["report"].as_str(), Some("new list.csv"));
        assert_eq!(t["headers"]["send"].as_str(), Some("x"));
        assert!(out.starts_with("# Spring\n"));

        let out = rewrite_toml("title = \"x\"\nsend=true\n", None).unwrap();
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert!(t.get("send").is_none());
    }
}

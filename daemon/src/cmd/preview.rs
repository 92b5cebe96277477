//! `mailing-manager preview <id>`: the exact message one recipient would get, as HTML (images
//! inlined as `data:` URIs, the default) or as a complete `.eml`.
//!
//! The recipient is the one given with `--recipient` (matched trimmed, case-insensitively),
//! else the first that would be sent to. The Message-ID carries the placeholder token
//! `preview` instead of a signed VERP token.
use crate::cli::PreviewArgs;
use crate::config::Config;
use crate::exit::{self, Exit};
use anyhow::Context;
use mm_mailing::{Mailing, Problem, RecipientList};
use mm_render::{MessageIds, PreparedMailing, RenderOptions};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The placeholder used instead of a VERP token in previews.
pub const PREVIEW_TOKEN: &str = "preview";

/// Render options from the daemon config (`[content]`).
pub fn render_options(cfg: &Config) -> RenderOptions {
    RenderOptions {
        default_css: cfg.content.default_css.clone(),
        unsubscribe_url: cfg.content.unsubscribe_url.clone(),
        unsubscribe_mailto: cfg.content.unsubscribe_mailto.clone(),
        ..RenderOptions::default()
    }
}

pub fn run(config: &Path, args: PreviewArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let dir = cfg.mailings_dir().join(&args.id);
    if args.id.contains(['/', '\\']) || !dir.join("mailing.toml").is_file() {
        return Err(Exit(
            exit::USAGE,
            format!(
                "no mailing {:?} in {}",
                args.id,
                cfg.mailings_dir().display()
            ),
        )
        .into());
    }
    let mailing = Mailing::load(&dir).map_err(|e| Exit(exit::DATAERR, e.to_string()))?;
    let mut list = RecipientList::for_mailing(&mailing, &cfg.reports_dir())
        .map_err(|e| Exit(exit::DATAERR, e.to_string()))?;
    let columns = list.columns().to_vec();
    let problems = mailing.validate(&columns);
    let (blocking, warnings): (Vec<&Problem>, Vec<&Problem>) = problems
        .iter()
        .partition(|p| matches!(p, Problem::UnknownField { .. } | Problem::BadAddress { .. }));
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !blocking.is_empty() {
        let list: Vec<String> = blocking.iter().map(|p| format!("  - {p}")).collect();
        return Err(Exit(
            exit::DATAERR,
            format!(
                "mailing {} cannot be rendered:\n{}",
                mailing.id,
                list.join("\n")
            ),
        )
        .into());
    }

    let wanted = args.recipient.as_deref().map(|r| r.trim().to_lowercase());
    let mut first_row = None;
    let mut chosen = None;
    for r in &mut list {
        let r = r.map_err(|e| Exit(exit::DATAERR, e.to_string()))?;
        match &wanted {
            Some(w) if r.email.to_lowercase() == *w => {
                chosen = Some(r);
                break;
            }
            Some(_) => {}
            None if r.send => {
                chosen = Some(r);
                break;
            }
            None => {
                if first_row.is_none() {
                    first_row = Some(r);
                }
            }
        }
    }
    let recipient = match (chosen, &args.recipient) {
        (Some(r), _) => r,
        (None, Some(e)) => {
            return Err(Exit(
                exit::USAGE,
                format!("{e} is not in the report of mailing {}", mailing.id),
            )
            .into())
        }
        (None, None) => match first_row {
            Some(r) => {
                eprintln!(
                    "warning: no recipient would be sent to; showing the first row ({})",
                    r.email
                );
                r
            }
            None => {
                return Err(Exit(
                    exit::DATAERR,
                    format!("the report of mailing {} has no rows", mailing.id),
                )
                .into())
            }
        },
    };
    if let Some(skip) = recipient.skip {
        eprintln!(
            "note: {} is not sent to ({skip}); rendered anyway",
            recipient.email
        );
    }

    let prepared = PreparedMailing::new(&mailing, &columns, &render_options(&cfg))
        .map_err(|e| Exit(exit::DATAERR, e.to_string()))?;
    let bytes = if args.eml {
        let ids = MessageIds::new(
            format!("{PREVIEW_TOKEN}@{}", cfg.bounce.domain),
            PREVIEW_TOKEN,
        );
        prepared
            .render(&recipient.values, &ids)
            .map_err(|e| Exit(exit::DATAERR, e.to_string()))?
    } else {
        prepared
            .render_html_preview(&recipient.values)
            .map_err(|e| Exit(exit::DATAERR, e.to_string()))?
            .into_bytes()
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders};

    fn example_config() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mailing-manager.toml")
    }

    fn args(recipient: Option<&str>, eml: bool, out: &Path) -> PreviewArgs {
        PreviewArgs {
            id: "fruehjahr-2025".into(),
            recipient: recipient.map(String::from),
            eml,
            html: !eml,
            output: Some(out.to_path_buf()),
        }
    }

    #[test]
    fn eml_of_the_example_for_the_first_sendable_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.eml");
        assert_eq!(
            run(&example_config(), args(None, true, &out)).unwrap(),
            ExitCode::SUCCESS
        );
        let bytes = std::fs::read(&out).unwrap();
        let msg = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(
            msg.subject(),
            Some("Herr Müller, unsere Frühjahrsangebote für Müller & Söhne GmbH")
        );
        let to = msg.to().and_then(|a| a.first()).and_then(|a| a.address());
        assert_eq!(to, Some("juergen.mueller@remote.test"));
        assert_eq!(msg.message_id(), Some("preview@bounces.localhost"));
        let html = msg.body_html(0).unwrap();
        assert!(html.contains("Guten Tag Herr Jürgen Müller,"), "{html}");
        assert!(html.contains("src=\"cid:"), "{html}");
        let names: Vec<&str> = msg
            .attachments()
            .filter(|a| a.content_disposition().is_some_and(|d| d.is_attachment()))
            .filter_map(|a| a.attachment_name())
            .collect();
        assert_eq!(names, ["Preisliste März.pdf"]);
    }

    #[test]
    fn html_for_a_chosen_recipient_and_unknown_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.html");
        // A blocked contact can be previewed too (with a note on stderr).
        run(
            &example_config(),
            args(Some(" D.Gross@remote.test"), false, &out),
        )
        .unwrap();
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(html.contains("Guten Tag Frau Doris Groß,"), "{html}");
        assert!(html.contains("src=\"data:image/png;base64,"), "{html}");

        let e = run(
            &example_config(),
            args(Some("nobody@remote.test"), false, &out),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not in the report"), "{e}");
    }
}

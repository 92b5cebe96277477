//! The state commands (`list`, `recipients`, `status`, `send`, `test`, `copy`): they ask the
//! running daemon's API, or work in-process when no daemon holds the store (see
//! [`crate::client`]). Readable tables by default, `--json` for scripts.
use crate::api::views::{MailingView, RecipientPage, RecipientView};
use crate::cli::{CopyArgs, OutputArgs, RecipientsArgs, SendArgs, StatusArgs, TestArgs};
use crate::client::{seg, Backend, Method};
use crate::config::Config;
use crate::exit::{Exit, DATAERR};
use mm_domain::{MailingState, RecipientStatus};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

fn connect(config: &Path, with_sender: bool) -> anyhow::Result<Backend> {
    let config = Config::load(config)?;
    Backend::connect(&config, with_sender)
}

/// Prints rows as aligned columns.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

fn count(m: &MailingView, s: RecipientStatus) -> u64 {
    m.counts.get(s)
}

/// Recipients that were (or are to be) sent to.
fn to_send(m: &MailingView) -> u64 {
    m.total - count(m, RecipientStatus::Excluded)
}

/// Recipients the sender is done with.
fn settled(m: &MailingView) -> u64 {
    to_send(m) - count(m, RecipientStatus::Pending)
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly instead of panicking.
fn print(s: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

macro_rules! outln {
    ($($arg:tt)*) => { print(&format!("{}\n", format!($($arg)*)))? };
}

/// `mailing-manager list`
pub fn list(config: &Path, args: OutputArgs) -> anyhow::Result<ExitCode> {
    let backend = connect(config, false)?;
    let reply = backend.get("/api/mailings")?;
    if args.json {
        print(&String::from_utf8_lossy(&reply.body))?;
        print("\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    #[derive(serde::Deserialize)]
    struct List {
        mailings: Vec<MailingView>,
    }
    let list: List = reply.json()?;
    if list.mailings.is_empty() {
        outln!("no mailings");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = list
        .mailings
        .iter()
        .map(|m| {
            let problems = m.problems.len() + usize::from(m.error.is_some());
            vec![
                m.id.clone(),
                m.state.to_string(),
                m.total.to_string(),
                to_send(m).to_string(),
                count(m, RecipientStatus::Pending).to_string(),
                (count(m, RecipientStatus::Sent) + count(m, RecipientStatus::Delivered))
                    .to_string(),
                (count(m, RecipientStatus::Bounced)
                    + count(m, RecipientStatus::Rejected)
                    + count(m, RecipientStatus::Failed))
                .to_string(),
                if problems == 0 {
                    "-".into()
                } else {
                    problems.to_string()
                },
                m.title.clone(),
            ]
        })
        .collect();
    print(&table(
        &[
            "ID", "STATE", "ROWS", "TO SEND", "PENDING", "SENT", "FAILED", "PROBLEMS", "TITLE",
        ],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Every recipient row, page by page.
fn all_recipients(
    backend: &Backend,
    id: &str,
    mut each: impl FnMut(RecipientView) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after: Option<u32> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/mailings/{}/recipients?limit=1000&after={a}", seg(id)),
            None => format!("/api/mailings/{}/recipients?limit=1000", seg(id)),
        };
        let page: RecipientPage = backend.get(&path)?.json()?;
        for r in page.recipients {
            each(r)?;
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok(()),
        }
    }
}

/// `mailing-manager recipients <id> [--csv|--json]`
pub fn recipients(config: &Path, args: RecipientsArgs) -> anyhow::Result<ExitCode> {
    let backend = connect(config, false)?;
    if args.csv {
        let reply = backend.get(&format!("/api/mailings/{}/recipients.csv", seg(&args.id)))?;
        std::io::stdout().lock().write_all(&reply.body)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        // A JSON array, streamed page by page.
        let mut out = std::io::stdout().lock();
        out.write_all(b"[")?;
        let mut first = true;
        all_recipients(&backend, &args.id, |r| {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            serde_json::to_writer(&mut out, &r)?;
            Ok(())
        })?;
        out.write_all(b"]\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    all_recipients(&backend, &args.id, |r| {
        let why = match (r.skip_reason, r.reason) {
            (Some(s), _) => s.to_string(),
            (None, Some(b)) => format!("{b}{}", if r.hard { " (hard)" } else { "" }),
            (None, None) => String::new(),
        };
        rows.push(vec![
            r.row.to_string(),
            r.customer_id.unwrap_or_default(),
            r.email,
            if r.send { "yes" } else { "no" }.into(),
            r.status.to_string(),
            why,
            r.status_code.unwrap_or_default(),
            r.diagnostic
                .or(r.smtp_reply.filter(|_| {
                    matches!(
                        r.status,
                        RecipientStatus::Rejected | RecipientStatus::Failed
                    )
                }))
                .unwrap_or_default(),
        ]);
        Ok(())
    })?;
    print(&table(
        &[
            "ROW",
            "CUSTOMER",
            "E-MAIL",
            "SEND",
            "STATUS",
            "REASON",
            "CODE",
            "DIAGNOSTIC",
        ],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn describe(m: &MailingView) -> String {
    let mut s = format!(
        "{}  {}\n  state:    {}\n  report:   {}\n",
        m.id, m.title, m.state, m.report
    );
    if let Some(subject) = &m.subject {
        s.push_str(&format!("  subject:  {subject}\n"));
    }
    if let Some(from) = &m.from {
        s.push_str(&format!("  from:     {from}\n"));
    }
    s.push_str(&format!(
        "  rows:     {} ({} to send)\n",
        m.total,
        to_send(m)
    ));
    let counts: Vec<String> = m
        .counts
        .0
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(st, n)| format!("{st} {n}"))
        .collect();
    s.push_str(&format!("  counts:   {}\n", counts.join(", ")));
    if let Some(fields) = &m.merge_fields {
        s.push_str(&format!(
            "  fields:   {}\n",
            fields
                .iter()
                .map(|f| format!("[{f}]"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if let Some(e) = &m.error {
        s.push_str(&format!("  error:    {e}\n"));
    }
    if let Some(e) = &m.frozen_edit {
        s.push_str(&format!("  note:     {e}\n"));
    }
    if m.problems.is_empty() {
        if m.state == MailingState::Draft && m.error.is_none() {
            s.push_str("  problems: none — ready to send\n");
        }
    } else {
        s.push_str("  problems:\n");
        for p in &m.problems {
            s.push_str(&format!("    - {p}\n"));
        }
    }
    s
}

/// `mailing-manager status [<id>]`
pub fn status(config: &Path, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let backend = connect(config, false)?;
    let Some(id) = args.id else {
        let reply = backend.get("/api/status")?;
        if args.json {
            print(&String::from_utf8_lossy(&reply.body))?;
            print("\n")?;
            return Ok(ExitCode::SUCCESS);
        }
        let v: serde_json::Value = reply.json()?;
        outln!(
            "{}",
            if backend.is_local() {
                "no daemon is running (state read from the store)"
            } else {
                "daemon running"
            }
        );
        if let Some(h) = v["health"].as_object().filter(|_| !backend.is_local()) {
            let parts: Vec<String> = h
                .iter()
                .map(|(k, up)| {
                    format!(
                        "{k} {}",
                        if up.as_bool() == Some(true) {
                            "up"
                        } else {
                            "DOWN"
                        }
                    )
                })
                .collect();
            outln!("  parts:      {}", parts.join(", "));
        }
        let kv = |o: &serde_json::Value| -> String {
            o.as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "none".into())
        };
        outln!("  mailings:   {}", kv(&v["mailings"]));
        outln!("  recipients: {}", kv(&v["recipients"]));
        outln!("  forged reports: {}", v["forged_reports"]);
        return Ok(ExitCode::SUCCESS);
    };
    let reply = backend.get(&format!("/api/mailings/{}", seg(&id)))?;
    if args.json {
        print(&String::from_utf8_lossy(&reply.body))?;
        print("\n")?;
    } else {
        print(&describe(&reply.json()?))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `mailing-manager send <id> [--no-wait]`: starts the send, then shows progress until the
/// mailing is closed.
pub fn send(config: &Path, args: SendArgs) -> anyhow::Result<ExitCode> {
    let backend = connect(config, true)?;
    let path = format!("/api/mailings/{}", seg(&args.id));
    let reply = backend.call(Method::Post, &format!("{path}/send"), None)?;
    if reply.status == 409 {
        // Not valid, or not a draft: say why, exit 65.
        return Err(reply
            .ok()
            .err()
            .unwrap_or_else(|| anyhow::Error::new(Exit(DATAERR, "the send was refused".into()))));
    }
    let started: MailingView = reply.ok()?.json()?;
    eprintln!(
        "mailing {}: sending to {} recipient(s)",
        started.id,
        to_send(&started)
    );
    // In-process: this process is the sender.
    let local_send = match &backend {
        Backend::Local { app, runtime } => {
            let app = app.clone();
            let id = args.id.clone();
            let handle = runtime.spawn(async move {
                let app2 = app.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        eprintln!("interrupted: stopping after the messages in flight; `send` again to resume");
                        app2.lifecycle().shutdown();
                    }
                });
                if let Some(pool) = app.pool().cloned() {
                    crate::sender::send_one(&app, &pool, &id).await;
                }
            });
            Some(handle)
        }
        Backend::Http { .. } => None,
    };
    if args.no_wait && local_send.is_none() {
        return Ok(ExitCode::SUCCESS);
    }
    let bar = indicatif::ProgressBar::new(to_send(&started));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let last = loop {
        let m: MailingView = backend.get(&path)?.json()?;
        bar.set_length(to_send(&m));
        bar.set_position(settled(&m));
        bar.set_message(format!(
            "sent {}, rejected {}, failed {}",
            count(&m, RecipientStatus::Sent),
            count(&m, RecipientStatus::Rejected),
            count(&m, RecipientStatus::Failed)
        ));
        let local_done = local_send.as_ref().is_some_and(|h| h.is_finished());
        if m.state == MailingState::Sent || local_done {
            break m;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    bar.finish();
    if last.state == MailingState::Sent {
        // Every status that has recipients: reports may already have moved some `sent`
        // recipients on to bounced/delayed/delivered by the time the send completes.
        use RecipientStatus as S;
        let order = [
            S::Sent,
            S::Delivered,
            S::Delayed,
            S::Bounced,
            S::Complained,
            S::Rejected,
            S::Failed,
            S::Pending,
            S::Excluded,
        ];
        let summary: Vec<String> = order
            .iter()
            .map(|&s| (s, count(&last, s)))
            .filter(|&(_, n)| n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        outln!("mailing {} sent: {}", last.id, summary.join(", "));
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "mailing {} is still sending ({} pending); it resumes when the daemon runs or `send` is run again",
            last.id,
            count(&last, RecipientStatus::Pending)
        );
        Ok(ExitCode::from(crate::exit::UNAVAILABLE))
    }
}

/// `mailing-manager test <id> --to ADDR [--as EMAIL]`
pub fn test(config: &Path, args: TestArgs) -> anyhow::Result<ExitCode> {
    let backend = connect(config, true)?;
    let mut body = json!({ "to": args.to });
    if let Some(a) = &args.as_recipient {
        body["as"] = json!(a);
    }
    let reply = backend
        .call(
            Method::Post,
            &format!("/api/mailings/{}/test", seg(&args.id)),
            Some(&body),
        )?
        .ok()?;
    let o: crate::preview::TestOutcome = reply.json()?;
    outln!(
        "test mail of {} (rendered as {}) to {}: {} — {}",
        args.id,
        o.rendered_as,
        o.to,
        o.result,
        o.reply
    );
    Ok(match o.result.as_str() {
        "accepted" => ExitCode::SUCCESS,
        "rejected" => ExitCode::from(DATAERR),
        _ => ExitCode::from(crate::exit::UNAVAILABLE),
    })
}

/// `mailing-manager copy <id> <new-id> [--report NAME]`
pub fn copy(config: &Path, args: CopyArgs) -> anyhow::Result<ExitCode> {
    let backend = connect(config, false)?;
    let mut body = json!({ "id": args.new_id });
    if let Some(r) = &args.report {
        body["report"] = json!(r);
    }
    let reply = backend
        .call(
            Method::Post,
            &format!("/api/mailings/{}/copy", seg(&args.id)),
            Some(&body),
        )?
        .ok()?;
    let m: MailingView = reply.json()?;
    outln!("copied {} to the new draft {}", args.id, m.id);
    print(&describe(&m))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["ID", "STATE"],
            &[
                vec!["fruehjahr".into(), "draft".into()],
                vec!["x".into(), "sent".into()],
            ],
        );
        assert_eq!(t, "ID         STATE\nfruehjahr  draft\nx          sent\n");
    }
}

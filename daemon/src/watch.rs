//! The file watcher (SPEC §2, issue 5): `DATA/reports/` and `DATA/mailings/` are watched with
//! notify (inotify, or notify's `PollWatcher` when `watch.poll = true`, for network file
//! systems) through notify-debouncer-full, so that a write is acted on once it has settled —
//! a temp file renamed into place, an editor's save dance — and not on every chunk.
//!
//! - A changed report reloads the draft mailings that use it; a changed file in a mailing folder
//!   reloads that mailing (see [`crate::mailings`]).
//! - Dotfiles, `~` backups, swap and temp files are ignored ([`is_ignored`]).
//! - Everything is rescanned at start-up and whenever the watcher says it lost events.
use crate::app::App;
use crate::health::Component;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer_opt, DebounceEventResult, NoCache};
use std::collections::BTreeSet;
use std::path::{Component as PathComponent, Path};
use std::time::Duration;
use tokio::sync::mpsc;

/// True for names the watcher and the rescans skip: hidden files, editor backups and swap
/// files, temporary files of a write in progress.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
        || name == "4913" // vim's probe file
        || [".swp", ".swo", ".swx", ".swpx", ".tmp", ".part", ".crdownload"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// What a batch of events asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    reports: BTreeSet<String>,
    mailings: BTreeSet<String>,
    rescan: bool,
}

/// Sorts changed paths into reports and mailings; ignored names are dropped.
fn classify(changes: &mut Changes, reports_dir: &Path, mailings_dir: &Path, path: &Path) {
    if let Ok(rest) = path.strip_prefix(reports_dir) {
        if let Some(name) = first_name(rest) {
            if !is_ignored(&name) && rest.components().count() == 1 {
                changes.reports.insert(name);
            }
        }
    } else if let Ok(rest) = path.strip_prefix(mailings_dir) {
        let Some(id) = first_name(rest) else {
            return;
        };
        let file_ignored = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_ignored);
        if !is_ignored(&id) && !file_ignored {
            changes.mailings.insert(id);
        }
    }
}

fn first_name(rest: &Path) -> Option<String> {
    match rest.components().next()? {
        PathComponent::Normal(n) => n.to_str().map(String::from),
        _ => None,
    }
}

/// Runs the watcher until shutdown: an initial rescan, then events.
pub async fn run(app: App) {
    let shutdown = app.lifecycle().token();
    let config = app.config();
    let reports_dir = config.reports_dir();
    let mailings_dir = config.mailings_dir();
    let (tx, mut rx) = mpsc::unbounded_channel::<DebounceEventResult>();
    let handler = move |res: DebounceEventResult| {
        let _ = tx.send(res);
    };
    let timeout = Duration::from_millis(config.watch.debounce_ms.max(50));
    let started = if config.watch.poll {
        let notify_config = notify::Config::default()
            .with_poll_interval(Duration::from_secs(config.watch.poll_secs));
        new_debouncer_opt::<_, notify::PollWatcher, NoCache>(
            timeout,
            None,
            handler,
            NoCache,
            notify_config,
        )
        .and_then(|mut d| {
            d.watch(&reports_dir, RecursiveMode::NonRecursive)?;
            d.watch(&mailings_dir, RecursiveMode::Recursive)?;
            Ok(Box::new(d) as Box<dyn std::any::Any + Send>)
        })
    } else {
        new_debouncer_opt::<_, notify::RecommendedWatcher, NoCache>(
            timeout,
            None,
            handler,
            NoCache,
            notify::Config::default(),
        )
        .and_then(|mut d| {
            d.watch(&reports_dir, RecursiveMode::NonRecursive)?;
            d.watch(&mailings_dir, RecursiveMode::Recursive)?;
            Ok(Box::new(d) as Box<dyn std::any::Any + Send>)
        })
    };
    // Keep the debouncer alive for the whole loop; dropping it stops watching.
    let _watching = match started {
        Ok(w) => {
            tracing::info!(poll = config.watch.poll, reports = %reports_dir.display(), mailings = %mailings_dir.display(), "watching for changes");
            Some(w)
        }
        Err(e) => {
            tracing::error!(error = %e, "the file watcher cannot start; files are only read at start-up and on the API's request");
            None
        }
    };

    // The start-up scan runs after the watch is set up, so nothing written meanwhile is lost.
    let _ = app
        .blocking(|app| {
            crate::mailings::rescan(app);
            refresh_problem_gauge(app);
        })
        .await;
    // Up (and /healthz 200) only once the files on disk are loaded.
    if _watching.is_some() {
        app.health().set(Component::Watcher, true);
    }
    // A mailing left `sending` by a previous run can go on now that its folder is loaded.
    app.wake_sender();

    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => break,
            b = rx.recv() => match b { Some(b) => b, None => break },
        };
        let mut changes = Changes::default();
        let handle = |res: DebounceEventResult, changes: &mut Changes| match res {
            Ok(events) => {
                for ev in events {
                    if ev.need_rescan() {
                        changes.rescan = true;
                    }
                    if matches!(ev.kind, EventKind::Access(_)) {
                        continue;
                    }
                    for p in &ev.paths {
                        classify(changes, &reports_dir, &mailings_dir, p);
                    }
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "file watcher error; rescanning");
                }
                changes.rescan = true;
            }
        };
        handle(batch, &mut changes);
        while let Ok(more) = rx.try_recv() {
            handle(more, &mut changes);
        }
        let _work = app.lifecycle().work("loading changed files");
        let _ = app
            .blocking(move |app| {
                if changes.rescan {
                    crate::mailings::rescan(app);
                } else {
                    for name in &changes.reports {
                        tracing::debug!(report = %name, "report changed");
                        crate::mailings::load_report(app, name);
                    }
                    for id in &changes.mailings {
                        tracing::debug!(mailing = %id, "mailing changed");
                        crate::mailings::load_mailing(app, id);
                    }
                }
                refresh_problem_gauge(app);
            })
            .await;
    }
    app.health().set(Component::Watcher, false);
}

fn refresh_problem_gauge(app: &App) {
    metrics::gauge!("mm_mailing_problems").set(app.catalog().problem_count() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_and_temp_files_are_ignored() {
        for n in [
            ".mailing.toml.swp",
            "body.html~",
            "#body.html#",
            "4913",
            "x.tmp",
            ".hidden",
            "a.csv.part",
        ] {
            assert!(is_ignored(n), "{n}");
        }
        for n in ["mailing.toml", "body.html", "kunden.csv", "logo.png"] {
            assert!(!is_ignored(n), "{n}");
        }
    }

    #[test]
    fn paths_become_reports_and_mailings() {
        let r = Path::new("/d/reports");
        let m = Path::new("/d/mailings");
        let mut c = Changes::default();
        for p in [
            "/d/reports/kunden.csv",
            "/d/reports/.kunden.csv.tmp",
            "/d/reports/sub/x.csv",
            "/d/mailings/spring/body.html",
            "/d/mailings/spring/.body.html.swp",
            "/d/mailings/autumn",
            "/d/mailings/.staging/mailing.toml",
            "/elsewhere/x",
        ] {
            classify(&mut c, r, m, Path::new(p));
        }
        assert_eq!(
            c.reports.into_iter().collect::<Vec<_>>(),
            vec!["kunden.csv"]
        );
        assert_eq!(
            c.mailings.into_iter().collect::<Vec<_>>(),
            vec!["autumn", "spring"]
        );
    }
}

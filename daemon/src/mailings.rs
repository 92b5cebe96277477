//! Mailings in the daemon: loading a folder (`mm_mailing::Mailing::load`) and its report into
//! the store, validation problems, the life cycle draft → sending → sent, and the send trigger
//! (`POST .../send` or `send = true` in `mailing.toml`, each starting a mailing once).
//!
//! The [`Catalog`] is the in-memory side: per mailing the last good load, the load error of a
//! broken file, the problems, and a notice when the files of a closed mailing changed. The
//! store holds the durable side (state, number, content hash, recipients).
//!
//! Rules:
//! - A broken file affects only its own mailing: the error is kept (API, log, metrics) and the
//!   last good load stays in use.
//! - A draft is re-imported when its recipients may have changed (report file, `exclude`,
//!   column names) and always right before a send starts, so suppressions recorded since are
//!   applied. Unticks made through the API survive a re-import.
//! - A mailing that is `sending` or `sent` is frozen: when its files change, the change is
//!   reported (`frozen_edit`) and not applied.
//!
//! Every function here is blocking (file and store I/O): call from `spawn_blocking`.
use crate::app::App;
use mm_domain::{MailingState, SkipReason};
use mm_mailing::{Mailing, RecipientList};
use mm_store::{NewRecipient, StoreError};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// One mailing folder as the daemon last saw it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The last good load (kept when a later edit breaks a file).
    pub mailing: Option<Arc<Mailing>>,
    /// Why the folder cannot be loaded now (broken `mailing.toml`, folder gone).
    pub error: Option<String>,
    /// Validation problems of the last load (empty = ready to send).
    pub problems: Vec<String>,
    /// The report's columns (merge fields it offers).
    pub columns: Vec<String>,
    /// The report has a customer-id column (documents are possible).
    pub has_customer_id: bool,
    /// Set when the files of a sending/sent mailing changed: reported, not applied.
    pub frozen_edit: Option<String>,
    /// Fingerprint of what the last recipient import was made from.
    import_key: Option<String>,
    /// Addresses in `exclude` at the last load (to tell them from API unticks).
    file_exclude: HashSet<String>,
}

/// A report file as last checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportInfo {
    /// Its columns, when it could be read.
    pub columns: Vec<String>,
    /// Why it cannot be read with the default column names.
    pub error: Option<String>,
}

/// The loaded mailings and reports.
#[derive(Default)]
pub struct Catalog {
    entries: Mutex<BTreeMap<String, Entry>>,
    reports: Mutex<BTreeMap<String, ReportInfo>>,
    /// Serialises loads and send starts, so a re-import never races a send start.
    load_lock: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Catalog {
    /// The entry of mailing `id`, if its folder was ever seen.
    pub fn entry(&self, id: &str) -> Option<Entry> {
        lock(&self.entries).get(id).cloned()
    }

    /// Every mailing id seen on disk.
    pub fn ids(&self) -> Vec<String> {
        lock(&self.entries).keys().cloned().collect()
    }

    /// Every report checked, by file name.
    pub fn reports(&self) -> BTreeMap<String, ReportInfo> {
        lock(&self.reports).clone()
    }

    /// Mailings and reports that do not load or validate.
    pub fn problem_count(&self) -> usize {
        lock(&self.entries)
            .values()
            .filter(|e| e.error.is_some() || !e.problems.is_empty())
            .count()
            + lock(&self.reports)
                .values()
                .filter(|r| r.error.is_some())
                .count()
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Entry)) {
        f(lock(&self.entries).entry(id.to_string()).or_default())
    }
}

/// A mailing id is a folder name: letters, digits, `.`, `_`, `-`, not starting with `.`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Why a send cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SendRefused {
    /// No such mailing.
    #[error("unknown mailing {0:?}")]
    Unknown(String),
    /// It does not validate.
    #[error("mailing {id:?} cannot be sent: {} problem(s)", problems.len())]
    Invalid {
        /// The id.
        id: String,
        /// The problems.
        problems: Vec<String>,
    },
    /// It is already sending or sent.
    #[error("mailing {id:?} is already {state}")]
    NotDraft {
        /// The id.
        id: String,
        /// Its state.
        state: MailingState,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// (Re)loads mailing folder `id` after a change (or at start-up).
pub fn load_mailing(app: &App, id: &str) {
    let _serial = lock(&app.catalog().load_lock);
    load_locked(app, id, false);
}

fn load_locked(app: &App, id: &str, force_import: bool) {
    let config = app.config();
    let dir = config.mailings_dir().join(id);
    let catalog = app.catalog();
    if !dir.join("mailing.toml").is_file() {
        if dir.is_dir() || catalog.entry(id).is_some() {
            let why = if dir.is_dir() {
                "no mailing.toml in the folder"
            } else {
                "the folder was removed"
            };
            catalog.update(id, |e| e.error = Some(why.to_string()));
            tracing::warn!(mailing = id, "{why}");
        }
        return;
    }
    let mailing = match Mailing::load(&dir) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            let msg = e.to_string();
            tracing::warn!(mailing = id, error = %msg, "mailing does not load; the last good version stays in use");
            // Counted once per breakage: a change of another file of the folder reloads it
            // and finds the same error, which is not a new broken file (how many reloads one
            // edit causes depends on how the watcher's events fall).
            if catalog.entry(id).and_then(|e| e.error).as_deref() != Some(msg.as_str()) {
                metrics::counter!("mm_file_errors_total", "kind" => "mailing").increment(1);
            }
            catalog.update(id, |e| e.error = Some(msg.clone()));
            if let Ok(m) = app.store().ensure_mailing(id) {
                if m.state == MailingState::Draft {
                    let _ = app
                        .store()
                        .update_mailing(id, |m| m.problems = vec![msg.clone()]);
                }
            }
            return;
        }
    };
    let store = app.store();
    let record = match store.ensure_mailing(id) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(mailing = id, error = %e, "store error while loading a mailing");
            catalog.update(id, |e2| e2.error = Some(format!("store: {e}")));
            return;
        }
    };

    if record.state != MailingState::Draft {
        // Frozen: compare, report, do not apply.
        let changed =
            !record.content_hash.is_empty() && record.content_hash != mailing.content_hash;
        catalog.update(id, |e| {
            e.error = None;
            if e.mailing.is_none() {
                e.mailing = Some(mailing.clone());
                e.columns = record.columns.clone();
            }
            e.frozen_edit = changed.then(|| {
                format!(
                    "the files changed after the mailing was {}; the change is not applied (copy the mailing to send it again)",
                    record.state
                )
            });
        });
        if changed {
            tracing::warn!(mailing = id, state = %record.state, "files of a closed mailing changed; not applied");
        }
        return;
    }

    // A draft: check the report, import the recipients when they may have changed.
    let reports_dir = config.reports_dir();
    let report_path = mailing.report_path(&reports_dir);
    let import_key = fingerprint(&mailing, &report_path);
    let previous = catalog.entry(id).unwrap_or_default();
    let must_import = force_import
        || previous.import_key.as_deref() != Some(import_key.as_str())
        || !record.recipients_complete;

    let (columns, has_customer_id, report_problem) = if must_import {
        match import(app, &mailing, &report_path, &previous) {
            Ok((cols, cust)) => (cols, cust, None),
            Err(e) => (Vec::new(), false, Some(e)),
        }
    } else {
        (previous.columns.clone(), previous.has_customer_id, None)
    };
    let problems: Vec<String> = match &report_problem {
        Some(msg) => {
            let mut p: Vec<String> = mailing.problems.iter().map(|p| p.to_string()).collect();
            p.push(msg.clone());
            p
        }
        None => mailing
            .validate(&columns)
            .iter()
            .map(|p| p.to_string())
            .collect(),
    };
    if !problems.is_empty() {
        tracing::warn!(mailing = id, problems = ?problems, "mailing has problems");
    } else {
        tracing::info!(mailing = id, "mailing loaded");
    }
    let title = mailing.spec.title.clone();
    let report = mailing.spec.report.clone();
    let hash = mailing.content_hash.clone();
    let cols = columns.clone();
    let probs = problems.clone();
    if let Err(e) = store.update_mailing(id, move |m| {
        m.title = title.clone();
        m.report = report.clone();
        m.content_hash = hash.clone();
        m.columns = cols.clone();
        m.problems = probs.clone();
    }) {
        tracing::error!(mailing = id, error = %e, "store error while saving a mailing");
    }
    let exclude: HashSet<String> = mailing
        .spec
        .exclude
        .iter()
        .map(|a| mm_store::normalize_address(a))
        .collect();
    let send_flag = mailing.spec.send;
    catalog.update(id, |e| {
        e.mailing = Some(mailing.clone());
        e.error = None;
        e.problems = problems;
        e.columns = columns;
        e.has_customer_id = has_customer_id;
        e.frozen_edit = None;
        e.import_key = if report_problem.is_none() {
            Some(import_key)
        } else {
            None
        };
        e.file_exclude = exclude;
    });

    // File-driven trigger: `send = true` starts the mailing once.
    if send_flag && record.send_requested.is_none() {
        match start_locked(app, id) {
            Ok(()) => tracing::info!(
                mailing = id,
                "send started by `send = true` in mailing.toml"
            ),
            Err(e) => {
                tracing::warn!(mailing = id, error = %e, "`send = true` in mailing.toml, but the send cannot start")
            }
        }
    }
}

/// What the recipient list depends on besides the mailing files' hash.
fn fingerprint(mailing: &Mailing, report_path: &Path) -> String {
    let meta = std::fs::metadata(report_path)
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{}:{}", m.len(), mtime)
        })
        .unwrap_or_else(|_| "missing".into());
    let columns = serde_json::to_string(&mailing.spec.columns).unwrap_or_default();
    let mut exclude = mailing.spec.exclude.clone();
    exclude.sort();
    format!(
        "{}|{}|{}|{}",
        report_path.display(),
        meta,
        columns,
        exclude.join(",")
    )
}

/// Streams the report into the store as the draft's recipient list. Returns the columns and
/// whether there is a customer-id column, or the report's error.
fn import(
    app: &App,
    mailing: &Mailing,
    report_path: &Path,
    previous: &Entry,
) -> Result<(Vec<String>, bool), String> {
    let store = app.store();
    let id = &mailing.id;
    let number = match store.mailing_number(id) {
        Ok(Some(n)) => n,
        _ => return Err("store: mailing record missing".into()),
    };
    // Unticks made through the API (unticked, not in the file's exclude list) are kept.
    let mut api_unticked = HashSet::new();
    for r in store.recipients(number) {
        match r {
            Ok(r) if r.skip_reason == Some(SkipReason::Unticked) => {
                let a = mm_store::normalize_address(&r.email);
                if !previous.file_exclude.contains(&a) {
                    api_unticked.insert(a);
                }
            }
            Ok(_) => {}
            Err(e) => return Err(format!("store: {e}")),
        }
    }
    let list = RecipientList::open(report_path, mailing.column_names(), &mailing.spec.exclude)
        .map_err(|e| {
            metrics::counter!("mm_file_errors_total", "kind" => "report").increment(1);
            format!("report: {e}")
        })?
        .with_suppression(|addr| store.is_suppressed(addr).unwrap_or(false));
    let columns = list.columns().to_vec();
    let has_customer_id = list.well_known().customer_id.is_some();
    let rows = list.map(|r| {
        r.map(|r| {
            let unticked = r.send && api_unticked.contains(&mm_store::normalize_address(&r.email));
            let opt = |s: String| (!s.is_empty()).then_some(s);
            NewRecipient {
                customer_id: opt(r.customer_id),
                customer_name: opt(r.customer_name),
                contact_id: opt(r.contact_id),
                email: r.email,
                send: r.send && !unticked,
                skip_reason: if unticked {
                    Some(SkipReason::Unticked)
                } else {
                    r.skip
                },
                fields: r.values,
            }
        })
    });
    match store.try_import_recipients(id, rows) {
        Ok(summary) => {
            tracing::info!(mailing = %id, rows = summary.total, to_send = summary.to_send, "recipient list imported");
            Ok((columns, has_customer_id))
        }
        Err(StoreError::Source { source, row, .. }) => {
            metrics::counter!("mm_file_errors_total", "kind" => "report").increment(1);
            Err(format!("report: {source} (row {row})"))
        }
        Err(e) => Err(format!("store: {e}")),
    }
}

/// Checks a report file after a change and reloads the draft mailings that use it.
pub fn load_report(app: &App, name: &str) {
    let path = app.config().reports_dir().join(name);
    let info = if path.is_file() {
        match mm_report::Report::open(&path, &Default::default()) {
            Ok(r) => ReportInfo {
                columns: r.columns().to_vec(),
                error: None,
            },
            Err(e) => {
                tracing::warn!(report = name, error = %e, "report does not load with the default column names");
                ReportInfo {
                    columns: Vec::new(),
                    error: Some(e.to_string()),
                }
            }
        }
    } else {
        ReportInfo {
            columns: Vec::new(),
            error: Some("the file was removed".into()),
        }
    };
    lock(&app.catalog().reports).insert(name.to_string(), info);
    let users: Vec<String> = lock(&app.catalog().entries)
        .iter()
        .filter(|(_, e)| e.mailing.as_ref().is_some_and(|m| m.spec.report == name))
        .map(|(id, _)| id.clone())
        .collect();
    for id in users {
        load_mailing(app, &id);
    }
}

/// Loads every report and mailing on disk (start-up, and when the watcher lost events).
pub fn rescan(app: &App) {
    let config = app.config();
    for name in list_dir(&config.reports_dir(), false) {
        load_report(app, &name);
    }
    let on_disk = list_dir(&config.mailings_dir(), true);
    for id in &on_disk {
        load_mailing(app, id);
    }
    for id in app.catalog().ids() {
        if !on_disk.contains(&id) {
            load_mailing(app, &id);
        }
    }
}

/// File (or folder) names in `dir` that the watcher does not ignore.
fn list_dir(dir: &Path, dirs: bool) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter(|e| {
            e.file_type()
                .is_ok_and(|t| if dirs { t.is_dir() } else { t.is_file() })
        })
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| !crate::watch::is_ignored(n))
        .collect();
    out.sort();
    out
}

/// Starts sending mailing `id` (`POST .../send`, `mailing-manager send`): re-imports the
/// recipients (fresh suppressions), validates, then moves the mailing to `sending`, records
/// that the send was requested, flushes, and wakes the sender.
pub fn start_send(app: &App, id: &str) -> Result<(), SendRefused> {
    let _serial = lock(&app.catalog().load_lock);
    start_locked(app, id)
}

fn start_locked(app: &App, id: &str) -> Result<(), SendRefused> {
    let store = app.store();
    let record = store
        .mailing(id)?
        .ok_or_else(|| SendRefused::Unknown(id.to_string()))?;
    if record.state != MailingState::Draft {
        return Err(SendRefused::NotDraft {
            id: id.to_string(),
            state: record.state,
        });
    }
    let Some(entry) = app.catalog().entry(id) else {
        return Err(SendRefused::Unknown(id.to_string()));
    };
    if let Some(err) = entry.error {
        return Err(SendRefused::Invalid {
            id: id.to_string(),
            problems: vec![err],
        });
    }
    let Some(mailing) = entry.mailing.clone() else {
        return Err(SendRefused::Unknown(id.to_string()));
    };
    // Fresh list: suppressions recorded since the last import apply to this send.
    let report_path = mailing.report_path(&app.config().reports_dir());
    let (columns, problems) = match import(app, &mailing, &report_path, &entry) {
        Ok((cols, _)) => {
            let p: Vec<String> = mailing
                .validate(&cols)
                .iter()
                .map(|p| p.to_string())
                .collect();
            (cols, p)
        }
        Err(e) => (Vec::new(), vec![e]),
    };
    if !problems.is_empty() {
        let probs = problems.clone();
        store.update_mailing(id, move |m| m.problems = probs.clone())?;
        app.catalog().update(id, |e| e.problems = problems.clone());
        return Err(SendRefused::Invalid {
            id: id.to_string(),
            problems,
        });
    }
    let now = mm_store::now_ms();
    let hash = mailing.content_hash.clone();
    store.update_mailing(id, move |m| {
        m.state = MailingState::Sending;
        m.send_requested = Some(now);
        m.content_hash = hash.clone();
        m.columns = columns.clone();
        m.problems = Vec::new();
    })?;
    store.flush()?;
    tracing::info!(mailing = id, "send started");
    app.wake_sender();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_folder_names() {
        assert!(valid_id("2026-spring_A.v2"));
        assert!(valid_id("Frühjahr"));
        assert!(!valid_id(".hidden"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(".."));
        assert!(!valid_id(""));
        assert!(!valid_id("a b"));
    }
}

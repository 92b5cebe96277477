//! What `flush` promises across a process crash: a child process records outcomes, flushes,
//! and dies by `abort()` (no destructors, no sled shutdown flush — like `kill -9` for the
//! store's purposes). The parent reopens the store and finds every flushed change, with the
//! counts and the due queue consistent with the records.
mod common;
use common::row;
use mm_domain::RecipientStatus::*;
use mm_store::{RecipientUpdate, Store};
use std::process::Command;

const CHILD_ENV: &str = "MM_STORE_CRASH_CHILD_PATH";

/// Runs in the child process (passes trivially when run directly).
#[test]
fn child_writes_flushes_and_aborts() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path, common::CACHE).unwrap();
    let m = store.create_mailing("m").unwrap().number;
    store.import_recipients("m", (0..1_000).map(row)).unwrap();
    for r in 0..500 {
        store
            .update_recipient(
                m,
                r,
                &RecipientUpdate::sent(Some(format!("Q{r}")), "250 ok"),
            )
            .unwrap();
        if r % 50 == 49 {
            store.flush().unwrap(); // group commit every 50 outcomes
        }
    }
    println!("CHILD: flushed 500");
    // Unflushed work in flight when the crash comes: may or may not survive.
    for r in 500..520 {
        store
            .update_recipient(m, r, &RecipientUpdate::sent(None, "250 ok"))
            .unwrap();
    }
    std::process::abort();
}

#[test]
fn flushed_outcomes_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_flushes_and_aborts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("CHILD: flushed 500"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the child must have died by abort");

    let store = Store::open(&path, common::CACHE).unwrap();
    let mailing = store.mailing("m").unwrap().unwrap();
    assert!(mailing.recipients_complete);
    let m = mailing.number;
    for r in 0..500 {
        let rec = store.recipient(m, r).unwrap().unwrap();
        assert_eq!(rec.status, Sent, "row {r}");
        assert_eq!(rec.queue_id, Some(format!("Q{r}")));
    }
    let counts = store.counts(m).unwrap();
    assert_eq!(
        counts,
        store.count_by_scan(m).unwrap(),
        "counts match the records after a crash"
    );
    assert_eq!(counts.total(), 1_000);
    let sent = counts.get(Sent);
    assert!((500..=520).contains(&sent), "sent = {sent}");
    assert_eq!(store.due_rows(m, 0).count() as u64, counts.get(Pending));
    // The queue resumes exactly at the first recipient not recorded as sent.
    let first_due = store.due_rows(m, 0).next().unwrap().unwrap();
    assert_eq!(first_due as u64, sent);
}

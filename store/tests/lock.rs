//! A store held by one handle cannot be opened again: the CLI must get `StoreError::Locked`.
mod common;
use mm_store::{Store, StoreError};
use std::process::Command;

const CHILD_ENV: &str = "MM_STORE_LOCK_CHILD_PATH";

#[test]
fn second_open_in_the_same_process_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let first = common::open(&dir);
    first.create_mailing("m").unwrap();
    let err = Store::open(dir.path().join("store"), common::CACHE).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.is_locked());
    assert!(
        err.to_string().contains("the daemon holds the store"),
        "{err}"
    );
    drop(first);
    // Released on drop: the next open succeeds and sees the data.
    let again = common::open(&dir);
    assert!(again.mailing("m").unwrap().is_some());
}

/// Runs in the child process started by `another_process_gets_locked` (and passes trivially
/// when run directly).
#[test]
fn child_opens_store() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    match Store::open(&path, common::CACHE) {
        Err(StoreError::Locked { .. }) => println!("CHILD-RESULT: locked"),
        Err(e) => println!("CHILD-RESULT: other error: {e}"),
        Ok(_) => println!("CHILD-RESULT: opened"),
    }
}

#[test]
fn another_process_gets_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let _held = Store::open(&path, common::CACHE).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_opens_store",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("CHILD-RESULT: locked"),
        "child said:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unopenable_path_is_an_open_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let err = Store::open(file.join("store"), common::CACHE).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("plain-file"), "{err}");
}

//! Helpers shared by the store's integration tests: a real sled store in a fresh tempdir.
#![allow(dead_code)]
use mm_domain::SkipReason;
use mm_store::{NewRecipient, Store};

pub const CACHE: u64 = 8 << 20;

/// Opens the store in `dir`. A reopen right after the previous handle was dropped is retried
/// for a moment: sled releases its file lock only when its background flusher thread has
/// ended, which can lag the drop on a loaded machine (seen in CI as `Locked` on reopen).
pub fn open(dir: &tempfile::TempDir) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Store::open(dir.path().join("store"), CACHE) {
            Ok(s) => return s,
            Err(e) if e.is_locked() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("open store: {e:?}"),
        }
    }
}

pub fn row(i: u32) -> NewRecipient {
    NewRecipient {
        customer_id: Some(format!("C{}", i / 3)),
        customer_name: Some(format!("Firma {}", i / 3)),
        contact_id: Some(format!("K{i}")),
        email: format!("user{i}@example.org"),
        send: true,
        skip_reason: None,
        fields: vec![format!("Name {i}"), format!("user{i}@example.org")],
    }
}

pub fn unticked(i: u32, reason: SkipReason) -> NewRecipient {
    NewRecipient {
        send: false,
        skip_reason: Some(reason),
        ..row(i)
    }
}

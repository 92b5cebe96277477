//! Helpers shared by the store's integration tests: a real sled store in a fresh tempdir.
#![allow(dead_code)]
use mm_domain::SkipReason;
use mm_store::{NewRecipient, Store};

pub const CACHE: u64 = 8 << 20;

pub fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("store"), CACHE).expect("open store")
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

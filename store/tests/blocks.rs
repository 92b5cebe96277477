//! Layout 2: recipients packed 16 rows per key, the address index in hash-bucket runs, and the
//! layout version check. What a user would see: every row readable and updatable alone,
//! concurrent senders never losing a neighbour's outcome, lookups across import runs, and an
//! old or damaged store refused with an error instead of garbage or a panic.
mod common;
use common::row;
use mm_domain::RecipientStatus::*;
use mm_store::{RecipientUpdate, Store, StoreError, LAYOUT_VERSION};

fn list(store: &Store, id: &str, n: u32) -> u32 {
    let m = store.create_mailing(id).unwrap().number;
    store.import_recipients(id, (0..n).map(row)).unwrap();
    m
}

#[test]
fn lists_of_every_length_around_a_block_read_and_update_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    for n in [1u32, 15, 16, 17, 33, 512, 513] {
        let m = list(&store, &format!("m{n}"), n);
        let all: Vec<u32> = store.recipients(m).map(|r| r.unwrap().row).collect();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "list of {n}");
        assert!(store.recipient(m, n).unwrap().is_none());
        let from = n / 2;
        let tail: Vec<u32> = store
            .recipients_from(m, from)
            .map(|r| r.unwrap().row)
            .collect();
        assert_eq!(
            tail,
            (from..n).collect::<Vec<_>>(),
            "list of {n} from {from}"
        );
        let last = n - 1;
        store
            .update_recipient(m, last, &RecipientUpdate::sent(None, "250"))
            .unwrap();
        assert_eq!(store.recipient(m, last).unwrap().unwrap().status, Sent);
        assert!(matches!(
            store.update_recipient(m, n, &RecipientUpdate::sent(None, "250")),
            Err(StoreError::UnknownRecipient { row, .. }) if row == n
        ));
        assert!(store.set_send(m, n, false, None).is_err());
        assert_eq!(store.counts(m).unwrap(), store.count_by_scan(m).unwrap());
    }
}

#[test]
fn an_update_leaves_the_rows_that_share_its_key_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = list(&store, "m", 48);
    let before: Vec<_> = store.recipients(m).map(Result::unwrap).collect();
    let long = "250 2.0.0 Ok: queued as 4Xyz ".repeat(20);
    store
        .update_recipient(m, 21, &RecipientUpdate::sent(Some("Q21".into()), &long))
        .unwrap();
    let after: Vec<_> = store.recipients(m).map(Result::unwrap).collect();
    for (b, a) in before.iter().zip(&after) {
        if a.row == 21 {
            assert_eq!(a.status, Sent);
            assert_eq!(a.smtp_reply.as_deref(), Some(long.as_str()));
            assert_eq!(a.email, b.email);
            assert_eq!(a.fields, b.fields);
        } else {
            assert_eq!(a, b, "row {}", a.row);
        }
    }
}

/// 16 threads each record 20 outcomes for their own row, all rows in one block: sled
/// serialises the transactions, so no thread's write of the block loses another's.
#[test]
fn concurrent_updates_of_rows_in_one_block_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = list(&store, "m", 40);
    let neighbours: Vec<_> = store.recipients_from(m, 16).map(Result::unwrap).collect();
    let threads: Vec<_> = (0..16u32)
        .map(|r| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 1..20u64 {
                    let up = RecipientUpdate::retry(i, format!("451 try {i} of row {r}"));
                    store.update_recipient(m, r, &up).unwrap();
                }
                let sent = RecipientUpdate::sent(Some(format!("Q{r}")), "250");
                store.update_recipient(m, r, &sent).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for r in 0..16 {
        let rec = store.recipient(m, r).unwrap().unwrap();
        assert_eq!(rec.status, Sent, "row {r}");
        assert_eq!(rec.attempts, 20, "row {r}");
        assert_eq!(rec.queue_id, Some(format!("Q{r}")));
        assert_eq!(rec.smtp_reply.as_deref(), Some("250"));
        assert_eq!(rec.next_attempt, 19);
    }
    let after: Vec<_> = store.recipients_from(m, 16).map(Result::unwrap).collect();
    assert_eq!(after, neighbours);
    let counts = store.counts(m).unwrap();
    assert_eq!(counts, store.count_by_scan(m).unwrap());
    assert_eq!((counts.get(Sent), counts.get(Pending)), (16, 24));
    let due: Vec<u32> = store.due_rows(m, u64::MAX).map(Result::unwrap).collect();
    assert_eq!(due, (16..40).collect::<Vec<_>>());
}

#[test]
fn address_lookup_finds_rows_in_every_import_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = store.create_mailing("m").unwrap().number;
    let shared = [5u32, 10_239, 10_240, 20_999];
    let rows = (0..21_000u32).map(|i| {
        let mut r = row(i);
        if shared.contains(&i) {
            r.email = "Same.Person@Example.org".into();
        }
        r
    });
    store.import_recipients("m", rows).unwrap();
    assert_eq!(
        store.rows_by_email(m, "same.person@example.ORG").unwrap(),
        shared
    );
    assert_eq!(
        store.rows_by_email(m, "user10241@example.org").unwrap(),
        [10_241]
    );
    assert!(store
        .rows_by_email(m, "user5@example.org")
        .unwrap()
        .is_empty());
    assert!(store
        .rows_by_email(m + 1, "user7@example.org")
        .unwrap()
        .is_empty());
}

#[test]
fn a_store_of_another_layout_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        // What an old build left: a mailing, no layout stamp.
        let db = raw(&path);
        db.open_tree("mailings")
            .unwrap()
            .insert([0, 0, 0, 1], b"{}".as_slice())
            .unwrap();
        db.flush().unwrap();
    }
    let err = reopen(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Layout {
                found: 1,
                supported: LAYOUT_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("layout version 1"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    drop(reopen(&path).unwrap()); // fresh: stamped with this build's version
    {
        let db = raw(&path);
        let meta = db.open_tree("meta").unwrap();
        assert_eq!(
            meta.get("layout_version").unwrap().unwrap().as_ref(),
            LAYOUT_VERSION.to_be_bytes()
        );
        meta.insert("layout_version", &7u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    assert!(matches!(
        reopen(&path).unwrap_err(),
        StoreError::Layout { found: 7, .. }
    ));
}

#[test]
fn a_layout_2_store_opens_with_its_counts_and_queue_rebuilt_from_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let m = {
        let store = reopen(&path).unwrap();
        let m = list(&store, "m", 300);
        for r in 0..100 {
            store
                .update_recipient(m, r, &RecipientUpdate::sent(None, "250 ok"))
                .unwrap();
        }
        store
            .update_recipient(m, 100, &RecipientUpdate::retry(u64::MAX / 2, "451 later"))
            .unwrap();
        store.flush().unwrap();
        m
    };
    {
        // What a layout 2 build left: its stamp and its two derived trees, here with values
        // that would be wrong if they were still read.
        let db = raw(&path);
        db.open_tree("meta")
            .unwrap()
            .insert("layout_version", &2u32.to_be_bytes())
            .unwrap();
        for tree in ["status_counts", "due"] {
            db.open_tree(tree)
                .unwrap()
                .insert([0, 0, 0, 1, b'x'], &[0xFF; 8])
                .unwrap();
        }
        db.flush().unwrap();
    }
    let store = reopen(&path).unwrap();
    let counts = store.counts(m).unwrap();
    assert_eq!(counts, store.count_by_scan(m).unwrap());
    assert_eq!(
        (
            counts.get(mm_domain::RecipientStatus::Sent),
            counts.get(mm_domain::RecipientStatus::Pending)
        ),
        (100, 200)
    );
    let due: Vec<u32> = store.due_rows(m, 1_000).map(Result::unwrap).collect();
    assert_eq!(
        due,
        (101..300).collect::<Vec<_>>(),
        "row 100 waits for its retry"
    );
    assert_eq!(store.next_due(m).unwrap(), Some(0));
    drop(store);
    let db = raw(&path);
    assert_eq!(
        db.open_tree("meta")
            .unwrap()
            .get("layout_version")
            .unwrap()
            .unwrap()
            .as_ref(),
        LAYOUT_VERSION.to_be_bytes(),
        "restamped"
    );
    let names: Vec<Vec<u8>> = db.tree_names().into_iter().map(|n| n.to_vec()).collect();
    assert!(
        !names.contains(&b"due".to_vec()),
        "the old due tree is dropped"
    );
    assert!(!names.contains(&b"status_counts".to_vec()));
}

#[test]
fn a_damaged_block_is_a_corrupt_error_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let m = {
        let store = reopen(&path).unwrap();
        let m = list(&store, "m", 40);
        store.flush().unwrap();
        m
    };
    let key = [m.to_be_bytes(), 1u32.to_be_bytes()].concat(); // rows 16..32
    {
        let db = raw(&path);
        let recs = db.open_tree("recipients").unwrap();
        let good = recs.get(&key).unwrap().unwrap();
        recs.insert(&key, &good[..good.len() / 2]).unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path).unwrap();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let is_corrupt = |e: &StoreError| matches!(e, StoreError::Corrupt { key, .. } if *key == hex);
    assert!(is_corrupt(&store.recipient(m, 20).unwrap_err()));
    assert!(is_corrupt(
        &store
            .update_recipient(m, 17, &RecipientUpdate::sent(None, "250"))
            .unwrap_err()
    ));
    let listed: Vec<_> = store.recipients(m).collect();
    assert_eq!(listed.iter().filter(|r| r.is_ok()).count(), 24);
    assert!(listed.iter().any(|r| r.as_ref().is_err_and(is_corrupt)));
    // The rows of other blocks are unaffected.
    assert_eq!(store.recipient(m, 15).unwrap().unwrap().row, 15);
}

/// Opens the store's sled database itself (as an old build would have), waiting out the lock.
fn raw(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::open(path) {
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r.unwrap(),
        }
    }
}

/// Opens the store at `path`, waiting out sled's lock release after a previous handle.
fn reopen(path: &std::path::Path) -> Result<Store, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Store::open(path, common::CACHE) {
            Err(e) if e.is_locked() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r,
        }
    }
}

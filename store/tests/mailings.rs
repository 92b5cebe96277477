//! Mailing records: numbers, lookup, updates, life cycle, persistence.
mod common;
use mm_domain::MailingState;
use mm_store::{Store, StoreError};

#[test]
fn numbers_are_sequential_and_lookups_agree() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let a = store.create_mailing("spring").unwrap();
    let b = store.create_mailing("summer").unwrap();
    assert_eq!((a.number, b.number), (1, 2));
    assert_eq!(a.state, MailingState::Draft);
    assert_eq!(store.mailing("summer").unwrap().unwrap().number, 2);
    assert_eq!(store.mailing_by_number(1).unwrap().unwrap().id, "spring");
    assert_eq!(store.mailing_number("spring").unwrap(), Some(1));
    assert!(store.mailing("autumn").unwrap().is_none());
    assert!(store.mailing_by_number(3).unwrap().is_none());
    let ids: Vec<_> = store
        .mailings()
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["spring", "summer"]);
}

#[test]
fn creating_an_existing_id_is_an_error_and_ensure_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    store.create_mailing("x").unwrap();
    assert!(matches!(
        store.create_mailing("x"),
        Err(StoreError::MailingExists(id)) if id == "x"
    ));
    assert_eq!(store.ensure_mailing("x").unwrap().number, 1);
    assert_eq!(store.ensure_mailing("y").unwrap().number, 2);
    assert_eq!(store.ensure_mailing("y").unwrap().number, 2);
}

#[test]
fn update_keeps_id_and_number_and_stamps_state_times() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    store.create_mailing("m").unwrap();
    let m = store
        .update_mailing("m", |m| {
            m.title = "Frühjahr".into();
            m.content_hash = "abc".into();
            m.report = "kunden.csv".into();
            m.columns = vec!["Name".into(), "E-Mail".into()];
            m.problems = vec!["unknown merge field [Nachnmae]".into()];
            m.number = 99;
            m.id = "evil".into();
        })
        .unwrap();
    assert_eq!((m.id.as_str(), m.number), ("m", 1));
    assert_eq!(store.mailing("m").unwrap().unwrap(), m);
    assert!(m.send_started.is_none());

    let m = store.set_mailing_state("m", MailingState::Sending).unwrap();
    assert!(m.send_started.is_some());
    assert!(m.finished.is_none());
    let m = store.set_mailing_state("m", MailingState::Sent).unwrap();
    assert!(m.finished.is_some());
    assert!(matches!(
        store.set_mailing_state("m", MailingState::Draft),
        Err(StoreError::MailingStateChange {
            from: MailingState::Sent,
            to: MailingState::Draft,
            ..
        })
    ));
    assert!(matches!(
        store.update_mailing("nope", |_| {}),
        Err(StoreError::UnknownMailing(_))
    ));
}

#[test]
fn draft_cannot_jump_to_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    store.create_mailing("m").unwrap();
    assert!(store.set_mailing_state("m", MailingState::Sent).is_err());
    assert_eq!(
        store.mailing("m").unwrap().unwrap().state,
        MailingState::Draft
    );
}

#[test]
fn mailings_and_numbers_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = common::open(&dir);
        store.create_mailing("a").unwrap();
        store.create_mailing("b").unwrap();
        store.set_mailing_state("a", MailingState::Sending).unwrap();
        store.flush().unwrap();
    }
    let store = Store::open(dir.path().join("store"), common::CACHE).unwrap();
    assert_eq!(
        store.mailing("a").unwrap().unwrap().state,
        MailingState::Sending
    );
    // Numbers are never reused after a restart.
    assert_eq!(store.create_mailing("c").unwrap().number, 3);
}

#[test]
fn mailings_survive_reopen_without_explicit_flush() {
    // Dropping the last handle flushes (sled flushes on drop); the promise we rely on is
    // flush(), but a clean shutdown must not lose data either.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = common::open(&dir);
        store.create_mailing("a").unwrap();
    }
    let store = common::open(&dir);
    assert_eq!(store.mailing("a").unwrap().unwrap().number, 1);
}

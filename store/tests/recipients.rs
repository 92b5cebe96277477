//! Recipient lists: import, streaming, paging, address lookup, counts, status updates, the due
//! queue, persistence.
mod common;
use common::{row, unticked};
use mm_domain::{BounceReason, MailingState, RecipientStatus::*, SkipReason};
use mm_store::{NewRecipient, RecipientUpdate, ReportDetails, Store, StoreError, UpdateOutcome};

fn mailing_with(store: &Store, id: &str, rows: Vec<NewRecipient>) -> u32 {
    let m = store.create_mailing(id).unwrap();
    store.import_recipients(id, rows).unwrap();
    m.number
}

#[test]
fn import_keeps_rows_in_order_with_all_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let rows = vec![row(0), unticked(1, SkipReason::ContactBlock), row(2)];
    store.create_mailing("m").unwrap();
    let sum = store.import_recipients("m", rows.clone()).unwrap();
    assert_eq!((sum.total, sum.to_send), (3, 2));
    let m = store.mailing("m").unwrap().unwrap();
    assert!(m.recipients_complete);
    assert_eq!(m.recipient_total, 3);

    let got: Vec<_> = store.recipients(m.number).map(Result::unwrap).collect();
    assert_eq!(got.len(), 3);
    for (i, (r, new)) in got.iter().zip(&rows).enumerate() {
        assert_eq!(r.row, i as u32);
        assert_eq!(r.mailing, m.number);
        assert_eq!(r.email, new.email);
        assert_eq!(r.customer_id, new.customer_id);
        assert_eq!(r.customer_name, new.customer_name);
        assert_eq!(r.contact_id, new.contact_id);
        assert_eq!(r.fields, new.fields);
        assert_eq!(r.send, new.send);
        assert_eq!(r.attempts, 0);
    }
    assert_eq!(got[0].status, Pending);
    assert_eq!(got[1].status, Excluded);
    assert_eq!(got[1].skip_reason, Some(SkipReason::ContactBlock));
    assert_eq!(store.recipient(m.number, 2).unwrap().unwrap(), got[2]);
    assert!(store.recipient(m.number, 3).unwrap().is_none());
}

#[test]
fn lists_of_two_mailings_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let a = mailing_with(&store, "a", (0..5).map(row).collect());
    let b = mailing_with(&store, "b", (100..103).map(row).collect());
    assert_eq!(store.recipients(a).count(), 5);
    let emails: Vec<_> = store.recipients(b).map(|r| r.unwrap().email).collect();
    assert_eq!(
        emails,
        [
            "user100@example.org",
            "user101@example.org",
            "user102@example.org"
        ]
    );
    assert_eq!(store.counts(a).unwrap().get(Pending), 5);
    assert_eq!(store.counts(b).unwrap().get(Pending), 3);
}

#[test]
fn reimport_replaces_the_draft_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = mailing_with(&store, "m", (0..50).map(row).collect());
    store.import_recipients("m", (1000..1010).map(row)).unwrap();
    assert_eq!(store.recipients(m).count(), 10);
    assert_eq!(store.counts(m).unwrap().total(), 10);
    assert!(store
        .recipient_by_email(m, "user5@example.org")
        .unwrap()
        .is_none());
    assert_eq!(store.due_rows(m, u64::MAX).count(), 10);
    assert_eq!(
        store
            .recipient_by_email(m, "user1003@example.org")
            .unwrap()
            .unwrap()
            .row,
        3
    );
}

#[test]
fn import_is_refused_once_sending() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = mailing_with(&store, "m", vec![row(0)]);
    store.set_mailing_state("m", MailingState::Sending).unwrap();
    let err = store.import_recipients("m", vec![row(9)]).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotDraft {
                state: MailingState::Sending,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        store.recipient(m, 0).unwrap().unwrap().email,
        "user0@example.org"
    );
    assert!(matches!(
        store.import_recipients("nope", vec![row(0)]),
        Err(StoreError::UnknownMailing(_))
    ));
}

#[derive(Debug)]
struct CsvBroke;
impl std::fmt::Display for CsvBroke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("line 4: bad quote")
    }
}
impl std::error::Error for CsvBroke {}

#[test]
fn failing_source_leaves_the_list_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    store.create_mailing("m").unwrap();
    let rows = (0..5).map(|i| if i == 3 { Err(CsvBroke) } else { Ok(row(i)) });
    let err = store.try_import_recipients("m", rows).unwrap_err();
    assert!(matches!(err, StoreError::Source { row: 3, .. }), "{err}");
    assert!(err.to_string().contains("line 4: bad quote"));
    assert!(!store.mailing("m").unwrap().unwrap().recipients_complete);
}

#[test]
fn lookup_by_address_is_case_insensitive_and_prefers_the_ticked_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let mut dup = unticked(0, SkipReason::Duplicate);
    dup.email = " User1@Example.ORG ".into();
    let mut other = row(2);
    other.email = "user1@example.org.evil".into();
    let m = mailing_with(&store, "m", vec![dup, row(1), other]);
    assert_eq!(store.rows_by_email(m, "USER1@example.org").unwrap(), [0, 1]);
    let r = store
        .recipient_by_email(m, "user1@EXAMPLE.org")
        .unwrap()
        .unwrap();
    assert_eq!(r.row, 1, "the ticked row wins over the duplicate");
    assert_eq!(
        store.rows_by_email(m, "user1@example.org.evil").unwrap(),
        [2]
    );
    assert!(store
        .recipient_by_email(m, "nobody@example.org")
        .unwrap()
        .is_none());
    // Non-ASCII case folding.
    let mut umlaut = row(0);
    umlaut.email = "Ärger@Beispiel.de".into();
    let n = mailing_with(&store, "n", vec![umlaut]);
    assert_eq!(store.rows_by_email(n, "ärger@beispiel.de").unwrap(), [0]);
}

#[test]
fn sender_outcomes_move_counts_and_the_due_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = mailing_with(
        &store,
        "m",
        vec![
            row(0),
            row(1),
            row(2),
            row(3),
            unticked(4, SkipReason::Unticked),
        ],
    );
    let due: Vec<u32> = store.due_rows(m, 0).map(Result::unwrap).collect();
    assert_eq!(due, [0, 1, 2, 3]);

    let out = store
        .update_recipient(
            m,
            0,
            &RecipientUpdate::sent(Some("4ABC12".into()), "250 2.0.0 Ok: queued as 4ABC12"),
        )
        .unwrap();
    let UpdateOutcome::Applied {
        previous,
        recipient,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(previous, Pending);
    assert_eq!(recipient.status, Sent);
    assert_eq!(recipient.queue_id.as_deref(), Some("4ABC12"));
    assert_eq!(recipient.attempts, 1);

    store
        .update_recipient(
            m,
            1,
            &RecipientUpdate::rejected("550 5.1.1 no such user", Some("5.1.1".into())),
        )
        .unwrap();
    store
        .update_recipient(m, 2, &RecipientUpdate::retry(5_000, "421 4.3.0 try later"))
        .unwrap();
    store.flush().unwrap();

    // Row 2 is pending but not due before t=5000.
    let now: Vec<u32> = store.due_rows(m, 4_999).map(Result::unwrap).collect();
    assert_eq!(now, [3]);
    let later: Vec<u32> = store.due_rows(m, 5_000).map(Result::unwrap).collect();
    assert_eq!(later, [3, 2], "earliest due first");
    assert_eq!(store.next_due(m).unwrap(), Some(0));

    let r2 = store.recipient(m, 2).unwrap().unwrap();
    assert_eq!(
        (r2.status, r2.attempts, r2.next_attempt),
        (Pending, 1, 5_000)
    );
    assert_eq!(r2.smtp_reply.as_deref(), Some("421 4.3.0 try later"));
    let r1 = store.recipient(m, 1).unwrap().unwrap();
    assert_eq!(r1.status, Rejected);
    assert_eq!(r1.status_code.as_deref(), Some("5.1.1"));

    store
        .update_recipient(m, 3, &RecipientUpdate::failed("connection refused"))
        .unwrap();
    assert_eq!(store.next_due(m).unwrap(), Some(5_000));

    let counts = store.counts(m).unwrap();
    assert_eq!(counts, store.count_by_scan(m).unwrap());
    assert_eq!(
        (
            counts.get(Sent),
            counts.get(Rejected),
            counts.get(Pending),
            counts.get(Failed),
            counts.get(Excluded)
        ),
        (1, 1, 1, 1, 1)
    );
    assert!(matches!(
        store.update_recipient(m, 99, &RecipientUpdate::failed("x")),
        Err(StoreError::UnknownRecipient { row: 99, .. })
    ));
}

fn bounce(code: &str, reason: BounceReason, hard: bool) -> RecipientUpdate {
    RecipientUpdate::report(
        Bounced,
        ReportDetails {
            status_code: Some(code.into()),
            reason: Some(reason),
            hard,
            diagnostic: Some("smtp; 550 5.1.1 <x>: Recipient address rejected".into()),
            remote_mta: Some("dns; mx.example.org".into()),
        },
    )
}

#[test]
fn a_late_delivered_report_does_not_overwrite_bounced() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = mailing_with(&store, "m", vec![row(0)]);
    store
        .update_recipient(m, 0, &RecipientUpdate::sent(None, "250 ok"))
        .unwrap();
    let delay = RecipientUpdate::report(
        Delayed,
        ReportDetails {
            status_code: Some("4.4.1".into()),
            ..Default::default()
        },
    );
    assert!(matches!(
        store.update_recipient(m, 0, &delay).unwrap(),
        UpdateOutcome::Applied { previous: Sent, .. }
    ));
    assert!(matches!(
        store
            .update_recipient(m, 0, &bounce("5.1.1", BounceReason::UserUnknown, true))
            .unwrap(),
        UpdateOutcome::Applied {
            previous: Delayed,
            ..
        }
    ));
    let delivered = RecipientUpdate::report(Delivered, ReportDetails::default());
    assert_eq!(
        store.update_recipient(m, 0, &delivered).unwrap(),
        UpdateOutcome::Refused { current: Bounced }
    );
    let r = store.recipient(m, 0).unwrap().unwrap();
    assert_eq!(r.status, Bounced);
    assert_eq!(r.reason, Some(BounceReason::UserUnknown));
    assert!(r.hard);
    assert_eq!(r.status_code.as_deref(), Some("5.1.1"));
    assert_eq!(r.remote_mta.as_deref(), Some("dns; mx.example.org"));
    assert_eq!(store.counts(m).unwrap().get(Bounced), 1);
    assert_eq!(store.counts(m).unwrap().total(), 1);
}

#[test]
fn bounce_log_lists_bounced_recipients_across_mailings() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let a = mailing_with(&store, "a", (0..3).map(row).collect());
    let b = mailing_with(&store, "b", (10..13).map(row).collect());
    for (m, r) in [(a, 0), (a, 2), (b, 1)] {
        store
            .update_recipient(m, r, &RecipientUpdate::sent(None, "250 ok"))
            .unwrap();
    }
    store
        .update_recipient(a, 0, &bounce("5.1.1", BounceReason::UserUnknown, true))
        .unwrap();
    store
        .update_recipient(a, 2, &bounce("5.2.2", BounceReason::MailboxFull, false))
        .unwrap();
    store
        .update_recipient(b, 1, &bounce("5.1.1", BounceReason::UserUnknown, true))
        .unwrap();

    let all: Vec<_> = store.bounces(false).map(Result::unwrap).collect();
    assert_eq!(all.len(), 3);
    let hard: Vec<_> = store
        .bounces(true)
        .map(|e| e.map(|e| (e.mailing, e.address, e.status_code)).unwrap())
        .collect();
    assert_eq!(
        hard,
        [
            (
                "a".to_string(),
                "user0@example.org".to_string(),
                Some("5.1.1".to_string())
            ),
            (
                "b".to_string(),
                "user11@example.org".to_string(),
                Some("5.1.1".to_string())
            ),
        ]
    );
}

#[test]
fn ticking_and_unticking_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = mailing_with(&store, "m", vec![row(0), unticked(1, SkipReason::Unticked)]);
    let r = store
        .set_send(m, 0, false, Some(SkipReason::Unticked))
        .unwrap();
    assert_eq!(
        (r.send, r.status, r.skip_reason),
        (false, Excluded, Some(SkipReason::Unticked))
    );
    let r = store.set_send(m, 1, true, None).unwrap();
    assert_eq!((r.send, r.status, r.skip_reason), (true, Pending, None));
    let due: Vec<u32> = store.due_rows(m, 0).map(Result::unwrap).collect();
    assert_eq!(due, [1]);
    assert_eq!(store.counts(m).unwrap(), store.count_by_scan(m).unwrap());

    store
        .update_recipient(m, 1, &RecipientUpdate::sent(None, "250"))
        .unwrap();
    assert!(matches!(
        store.set_send(m, 1, false, Some(SkipReason::Unticked)),
        Err(StoreError::NotTickable { status: Sent, .. })
    ));
    assert!(matches!(
        store.update_recipient(
            m,
            0,
            &RecipientUpdate::report(Excluded, ReportDetails::default())
        ),
        Err(StoreError::NotAnUpdateStatus(Excluded))
    ));
}

#[test]
fn ten_thousand_recipients_page_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let rows = (0..10_000u32).map(|i| {
        if i % 10 == 0 {
            unticked(i, SkipReason::Unticked)
        } else {
            row(i)
        }
    });
    let m = mailing_with(&store, "big", rows.collect());
    assert_eq!(store.counts(m).unwrap().get(Pending), 9_000);
    assert_eq!(store.counts(m).unwrap().get(Excluded), 1_000);

    let page = store.recipients_page(m, 9_990, 50).unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].row, 9_990);
    assert_eq!(page[0].email, "user9990@example.org");

    // Walk the whole list page by page: every row once, in order.
    let mut next = 0u32;
    let mut seen = 0u32;
    loop {
        let page = store.recipients_page(m, next, 333).unwrap();
        let Some(last) = page.last() else { break };
        for r in &page {
            assert_eq!(r.row, seen);
            seen += 1;
        }
        next = last.row + 1;
    }
    assert_eq!(seen, 10_000);

    // Send to every third ticked row, bounce a few.
    for row in store
        .due_rows(m, 0)
        .map(Result::unwrap)
        .filter(|r| r % 3 == 0)
        .collect::<Vec<_>>()
    {
        store
            .update_recipient(m, row, &RecipientUpdate::sent(None, "250"))
            .unwrap();
    }
    for row in [3, 6, 9] {
        store
            .update_recipient(m, row, &bounce("5.1.1", BounceReason::UserUnknown, true))
            .unwrap();
    }
    let counts = store.counts(m).unwrap();
    assert_eq!(counts, store.count_by_scan(m).unwrap());
    assert_eq!(counts.total(), 10_000);
    assert_eq!(counts.get(Bounced), 3);
    assert_eq!(counts.get(Pending) as usize, store.due_rows(m, 0).count());
}

#[test]
fn statuses_survive_reopen_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let m;
    {
        let store = common::open(&dir);
        m = mailing_with(&store, "m", (0..100).map(row).collect());
        for r in 0..40 {
            store
                .update_recipient(m, r, &RecipientUpdate::sent(Some(format!("Q{r}")), "250"))
                .unwrap();
        }
        store
            .update_recipient(m, 40, &RecipientUpdate::retry(7, "451"))
            .unwrap();
        store.flush().unwrap();
    }
    let store = common::open(&dir);
    assert_eq!(
        store.recipient(m, 39).unwrap().unwrap().queue_id.as_deref(),
        Some("Q39")
    );
    let counts = store.counts(m).unwrap();
    assert_eq!((counts.get(Sent), counts.get(Pending)), (40, 60));
    let due: Vec<u32> = store.due_rows(m, 6).map(Result::unwrap).collect();
    assert_eq!(due.len(), 59);
    assert_eq!(due[0], 41);
    assert_eq!(store.next_due(m).unwrap(), Some(0));
    assert_eq!(store.rows_by_email(m, "USER7@example.org").unwrap(), [7]);
}

#[test]
fn unticking_by_address_survives_a_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let mut dup = unticked(2, SkipReason::Duplicate);
    dup.email = "USER1@example.org".into();
    let m = mailing_with(&store, "m", vec![row(0), row(1), dup]);
    let rows = store.untick_address("m", "User1@Example.org").unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].status, rows[0].skip_reason),
        (Excluded, Some(SkipReason::Unticked))
    );
    assert_eq!(
        rows[1].skip_reason,
        Some(SkipReason::Duplicate),
        "other reasons stay"
    );
    assert_eq!(store.unticked_addresses(m).unwrap(), ["user1@example.org"]);
    assert!(matches!(
        store.untick_address("m", "nobody@example.org"),
        Err(StoreError::UnknownAddress { .. })
    ));

    // The CSV changed: the list is imported again; the hand-made choice holds.
    store
        .import_recipients("m", vec![row(5), row(1), row(0)])
        .unwrap();
    let r = store.recipient(m, 1).unwrap().unwrap();
    assert_eq!(
        (r.email.as_str(), r.send, r.skip_reason),
        ("user1@example.org", false, Some(SkipReason::Unticked))
    );
    assert_eq!(store.counts(m).unwrap().get(Pending), 2);

    let rows = store.retick_address("m", "user1@example.org").unwrap();
    assert_eq!((rows[0].send, rows[0].status), (true, Pending));
    assert!(store.unticked_addresses(m).unwrap().is_empty());
    assert_eq!(store.counts(m).unwrap(), store.count_by_scan(m).unwrap());

    store.set_mailing_state("m", MailingState::Sending).unwrap();
    assert!(matches!(
        store.untick_address("m", "user0@example.org"),
        Err(StoreError::NotDraft { .. })
    ));
}

#[test]
fn concurrent_senders_keep_counts_exact() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<Store>();

    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = mailing_with(&store, "m", (0..2_000).map(row).collect());
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for r in (t..2_000).step_by(8) {
                    let up = match r % 4 {
                        0 => RecipientUpdate::sent(None, "250"),
                        1 => RecipientUpdate::rejected("550", None),
                        2 => RecipientUpdate::retry(10, "451"),
                        _ => RecipientUpdate::failed("timeout"),
                    };
                    store.update_recipient(m, r, &up).unwrap();
                    // Every thread also races on the same recipient 0.
                    let _ = store.update_recipient(
                        m,
                        0,
                        &RecipientUpdate::report(Delivered, ReportDetails::default()),
                    );
                }
                store.flush().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let counts = store.counts(m).unwrap();
    assert_eq!(counts, store.count_by_scan(m).unwrap());
    assert_eq!(counts.get(Rejected), 500);
    assert_eq!(counts.get(Failed), 500);
    assert_eq!(counts.get(Pending), 500);
    assert_eq!(counts.get(Sent) + counts.get(Delivered), 500);
    assert_eq!(store.due_rows(m, 10).count(), 500);
}

/// The due index keeps 256 rows per entry: rows across entry boundaries (and a list long enough
/// to span import batches and flushes) come out in order, and leaving or re-entering the queue
/// touches only that row.
#[test]
fn due_queue_across_index_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let n = 10_700u32;
    let rows: Vec<NewRecipient> = (0..n)
        .map(|i| {
            if i % 7 == 3 {
                unticked(i, SkipReason::ContactBlock)
            } else {
                row(i)
            }
        })
        .collect();
    let m = mailing_with(&store, "m", rows);
    let expect: Vec<u32> = (0..n).filter(|i| i % 7 != 3).collect();
    let due: Vec<u32> = store.due_rows(m, 0).map(Result::unwrap).collect();
    assert_eq!(due, expect);

    // Sent at the edges of entries; retried rows move to a later entry, in row order there.
    for r in [0, 254, 256, 511, 10_699] {
        store
            .update_recipient(m, r, &RecipientUpdate::sent(None, "250 ok"))
            .unwrap();
    }
    for r in [300, 257, 9_000] {
        store
            .update_recipient(m, r, &RecipientUpdate::retry(7_000, "421 later"))
            .unwrap();
    }
    let now: Vec<u32> = store.due_rows(m, 6_999).map(Result::unwrap).collect();
    let gone = [0, 254, 256, 511, 10_699, 300, 257, 9_000];
    let rest: Vec<u32> = expect
        .iter()
        .copied()
        .filter(|r| !gone.contains(r))
        .collect();
    assert_eq!(now, rest);
    let all: Vec<u32> = store.due_rows(m, 7_000).map(Result::unwrap).collect();
    assert_eq!(all[..rest.len()], rest[..]);
    assert_eq!(all[rest.len()..], [257, 300, 9_000]);

    // Unticking and re-ticking a row takes it out and puts it back, due at once.
    store
        .set_send(m, 1, false, Some(SkipReason::Unticked))
        .unwrap();
    assert!(!store.due_rows(m, 0).any(|r| r.unwrap() == 1));
    store.set_send(m, 1, true, None).unwrap();
    assert_eq!(store.due_rows(m, 0).next().unwrap().unwrap(), 1);
    let counts = store.counts(m).unwrap();
    assert_eq!(
        counts.get(Pending) as usize,
        store.due_rows(m, u64::MAX).count()
    );

    // An entry whose rows all left is gone: only the retried rows remain queued.
    for r in store.due_rows(m, 0).map(Result::unwrap).collect::<Vec<_>>() {
        store
            .update_recipient(m, r, &RecipientUpdate::sent(None, "250 ok"))
            .unwrap();
    }
    assert_eq!(store.next_due(m).unwrap(), Some(7_000));
}

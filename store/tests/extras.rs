//! Suppression list, customer documents, raw reports, counters.
mod common;
use common::row;
use mm_domain::{BounceReason, RecipientStatus, ReportKind};
use mm_store::{
    CustomerDocument, DocumentContact, Store, StoreError, Suppression, FORGED_REPORTS,
    MAILING_DOCUMENT,
};

fn sup(address: &str, reason: BounceReason) -> Suppression {
    Suppression {
        address: address.into(),
        reason,
        mailing: Some("spring".into()),
        when: 1_700_000_000_000,
    }
}

#[test]
fn suppression_is_case_insensitive_and_removable() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    store
        .suppress(&sup("Max.Muster@Example.DE", BounceReason::UserUnknown))
        .unwrap();
    store
        .suppress(&sup("abuse-reporter@example.org", BounceReason::Feedback))
        .unwrap();
    assert!(store.is_suppressed("max.muster@example.de").unwrap());
    assert!(store.is_suppressed("  MAX.MUSTER@EXAMPLE.DE ").unwrap());
    assert!(!store.is_suppressed("max.muster@example.com").unwrap());
    let s = store.suppression("MAX.muster@example.de").unwrap().unwrap();
    assert_eq!(s.address, "Max.Muster@Example.DE");
    assert_eq!(s.reason, BounceReason::UserUnknown);
    let list: Vec<_> = store
        .suppressions()
        .unwrap()
        .into_iter()
        .map(|s| s.address)
        .collect();
    assert_eq!(
        list,
        ["abuse-reporter@example.org", "Max.Muster@Example.DE"]
    );
    assert!(store.unsuppress("max.MUSTER@example.de").unwrap());
    assert!(!store.unsuppress("max.MUSTER@example.de").unwrap());
    assert!(!store.is_suppressed("max.muster@example.de").unwrap());
    assert_eq!(store.suppressions().unwrap().len(), 1);
}

fn doc(customer: &str, mailing: &str, contacts: &[(&str, RecipientStatus)]) -> CustomerDocument {
    CustomerDocument {
        doc_type: MAILING_DOCUMENT.into(),
        customer_id: customer.into(),
        customer_name: Some(format!("Firma {customer}")),
        mailing_id: mailing.into(),
        title: format!("Mailing {mailing}"),
        sent: 1_700_000_000_000,
        contacts: contacts
            .iter()
            .map(|(email, status)| DocumentContact {
                email: (*email).into(),
                contact_id: Some(format!("K-{email}")),
                status: *status,
                reason: None,
            })
            .collect(),
    }
}

#[test]
fn documents_by_customer_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let d1 = doc(
        "C1",
        "spring",
        &[
            ("a@x.de", RecipientStatus::Sent),
            ("b@x.de", RecipientStatus::Bounced),
        ],
    );
    let d2 = doc("C1", "summer", &[("a@x.de", RecipientStatus::Delivered)]);
    // "C" is a prefix of "C1": must not see C1's documents.
    let d3 = doc("C", "spring", &[("c@y.de", RecipientStatus::Sent)]);
    let mut note = doc("C1", "spring", &[]);
    note.doc_type = "note".into();
    for d in [&d1, &d2, &d3, &note] {
        store.put_document(d).unwrap();
    }
    assert_eq!(
        store
            .customer_documents("C1", Some(MAILING_DOCUMENT))
            .unwrap(),
        [d1.clone(), d2.clone()]
    );
    assert_eq!(
        store
            .customer_documents("C", Some(MAILING_DOCUMENT))
            .unwrap(),
        std::slice::from_ref(&d3)
    );
    assert_eq!(store.customer_documents("C1", None).unwrap().len(), 3);
    assert_eq!(
        store.document("C1", MAILING_DOCUMENT, "summer").unwrap(),
        Some(d2.clone())
    );
    let all: Vec<_> = store
        .documents(Some(MAILING_DOCUMENT))
        .map(Result::unwrap)
        .collect();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|d| d.doc_type == MAILING_DOCUMENT));

    // Rewriting replaces (status updated after a late bounce).
    let d1b = doc("C1", "spring", &[("a@x.de", RecipientStatus::Bounced)]);
    store.put_document(&d1b).unwrap();
    assert_eq!(
        store.document("C1", MAILING_DOCUMENT, "spring").unwrap(),
        Some(d1b)
    );
    // JSON shape for the API / the file under DATA/documents.
    let json = serde_json::to_value(&d2).unwrap();
    assert_eq!(json["type"], "mailing");
    assert_eq!(json["contacts"][0]["status"], "delivered");
}

#[test]
fn raw_reports_are_kept_per_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(&dir);
    let m = store.create_mailing("m").unwrap().number;
    store.import_recipients("m", (0..3).map(row)).unwrap();
    let dsn = b"From: MAILER-DAEMON\r\n\r\n\xff binary \x00 bytes".to_vec();
    let s1 = store.add_report(m, 1, ReportKind::Delay, 10, &dsn).unwrap();
    let s2 = store
        .add_report(m, 1, ReportKind::Bounce, 20, b"second")
        .unwrap();
    store
        .add_report(m, 2, ReportKind::AutoReply, 30, b"vacation")
        .unwrap();
    let got = store.reports(m, 1).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].seq, got[0].kind, got[0].received),
        (s1, ReportKind::Delay, 10)
    );
    assert_eq!(got[0].bytes, dsn);
    assert_eq!(
        (got[1].seq, got[1].kind, &got[1].bytes[..]),
        (s2, ReportKind::Bounce, &b"second"[..])
    );
    assert_eq!(store.report(m, 1, s2).unwrap().unwrap().bytes, b"second");
    assert!(store.report(m, 1, s2 + 1000).unwrap().is_none());
    assert!(store.reports(m, 0).unwrap().is_empty());
    assert!(matches!(
        store.add_report(m, 7, ReportKind::Bounce, 1, b"x"),
        Err(StoreError::UnknownRecipient { row: 7, .. })
    ));
}

#[test]
fn counters_count_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = common::open(&dir);
        assert_eq!(store.counter(FORGED_REPORTS).unwrap(), 0);
        assert_eq!(store.count_forged_report().unwrap(), 1);
        assert_eq!(store.count_forged_report().unwrap(), 2);
        assert_eq!(store.incr_counter("reports_unmatched", 5).unwrap(), 5);
        store.flush().unwrap();
    }
    let store = common::open(&dir);
    assert_eq!(
        store.counters().unwrap(),
        [
            (FORGED_REPORTS.to_string(), 2),
            ("reports_unmatched".to_string(), 5)
        ]
    );
}

#[test]
fn everything_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let m;
    {
        let store = common::open(&dir);
        m = store.create_mailing("m").unwrap().number;
        store.import_recipients("m", (0..2).map(row)).unwrap();
        store
            .suppress(&sup("x@y.de", BounceReason::HasMoved))
            .unwrap();
        store
            .put_document(&doc("C9", "m", &[("x@y.de", RecipientStatus::Sent)]))
            .unwrap();
        store
            .add_report(m, 0, ReportKind::Feedback, 5, b"arf")
            .unwrap();
        store.flush().unwrap();
    }
    let store = Store::open(dir.path().join("store"), common::CACHE).unwrap();
    assert!(store.is_suppressed("X@Y.DE").unwrap());
    assert_eq!(store.customer_documents("C9", None).unwrap().len(), 1);
    assert_eq!(store.reports(m, 0).unwrap()[0].bytes, b"arf");
}

//! One hand-written fixture per MTA family (tests/fixtures, modelled on the formats, not copied
//! from any corpus) with the answer a postmaster reading it would give.
use mm_bounce::{classify, BounceReport};
use mm_domain::{BounceReason as R, ReportKind as K, VerpKey};

fn fixture(name: &str) -> BounceReport {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    classify(&raw)
}

/// (fixture, kind, address, status, reason, hard)
type Case = (&'static str, K, &'static str, Option<&'static str>, R, bool);

const CASES: &[Case] = &[
    (
        "postfix-userunknown.eml",
        K::Bounce,
        "alice@receiver.test",
        Some("5.1.1"),
        R::UserUnknown,
        true,
    ),
    (
        "postfix-userunknown-crlf.eml",
        K::Bounce,
        "alice@receiver.test",
        Some("5.1.1"),
        R::UserUnknown,
        true,
    ),
    (
        "postfix-delayed.eml",
        K::Delay,
        "bob@slow.test",
        Some("4.4.1"),
        R::NetworkError,
        false,
    ),
    (
        "exim-mailboxfull.eml",
        K::Bounce,
        "carol@full.test",
        Some("5.2.2"),
        R::MailboxFull,
        false,
    ),
    (
        "qmail-hostunknown.eml",
        K::Bounce,
        "dave@nowhere.test",
        Some("5.1.2"),
        R::HostUnknown,
        true,
    ),
    (
        "sendmail-transcript.eml",
        K::Bounce,
        "erin@gone.test",
        Some("5.1.6"),
        R::HasMoved,
        true,
    ),
    (
        "exchange-ndr.eml",
        K::Bounce,
        "frank@tenant.test",
        Some("5.1.10"),
        R::UserUnknown,
        true,
    ),
    (
        "gmail-blocked.eml",
        K::Bounce,
        "grace@strict.test",
        Some("5.7.1"),
        R::Blocked,
        false,
    ),
    (
        "ses-bounce.eml",
        K::Bounce,
        "heidi@receiver.test",
        Some("5.1.1"),
        R::UserUnknown,
        true,
    ),
    (
        "arf-abuse.eml",
        K::Feedback,
        "ivan@isp.test",
        None,
        R::Feedback,
        false,
    ),
    (
        "domino-userunknown.eml",
        K::Bounce,
        "leo@domino.test",
        None,
        R::UserUnknown,
        true,
    ),
    (
        "rfc6533-global.eml",
        K::Bounce,
        "josé@exemple.test",
        Some("5.2.2"),
        R::MailboxFull,
        false,
    ),
    (
        "courier-userunknown.eml",
        K::Bounce,
        "mallory@receiver.test",
        Some("5.1.1"),
        R::UserUnknown,
        true,
    ),
    (
        "exim-delay.eml",
        K::Delay,
        "nina@slow.test",
        Some("4.3.0"),
        R::Expired,
        false,
    ),
    (
        "office365-accessdenied.eml",
        K::Bounce,
        "oscar@tenant.test",
        Some("5.4.1"),
        R::UserUnknown,
        true,
    ),
    (
        "yahoo-mailboxfull.eml",
        K::Bounce,
        "peggy@receiver.test",
        Some("5.2.2"),
        R::MailboxFull,
        false,
    ),
    (
        "html-only.eml",
        K::Bounce,
        "quentin@receiver.test",
        Some("5.1.1"),
        R::UserUnknown,
        true,
    ),
];

#[test]
fn families() {
    let mut failures = Vec::new();
    for (file, kind, addr, status, reason, hard) in CASES {
        let rep = fixture(file);
        let r = rep.recipients.iter().find(|r| r.address == *addr);
        let ok = rep.kind == *kind
            && r.is_some_and(|r| {
                r.status.as_deref() == *status && r.reason == *reason && r.hard == *hard
            });
        if !ok {
            failures.push(format!("{file}: got {rep:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn feedback_type_and_original_message() {
    let rep = fixture("arf-abuse.eml");
    assert_eq!(rep.feedback_type.as_deref(), Some("abuse"));
    assert_eq!(rep.original_message_id.as_deref(), Some("n3@sender.test"));
}

#[test]
fn auto_reply_and_ordinary_mail_are_not_bounces() {
    assert_eq!(fixture("vacation.eml").kind, K::AutoReply);
    let rep = fixture("not-a-report.eml");
    assert_eq!(rep.kind, K::NotAReport);
    assert!(rep.recipients.is_empty());
}

#[test]
fn diagnostic_and_remote_mta_from_fields() {
    let rep = fixture("postfix-userunknown.eml");
    let r = &rep.recipients[0];
    assert_eq!(r.remote_mta.as_deref(), Some("mx.receiver.test"));
    assert_eq!(r.reply_code, Some(550));
    assert!(r
        .diagnostic
        .as_deref()
        .is_some_and(|d| d.contains("User unknown in virtual mailbox table")));
}

#[test]
fn verp_tokens_in_envelope_id_and_returned_headers() {
    let key = VerpKey::from_bytes(&[9u8; 32]);
    let a = key.sign(7, 11);
    let b = key.sign(7, 12);
    let raw = format!(
        "From: MAILER-DAEMON@mx.test\r\nTo: bounce+{b}@bounces.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\r\n\r\n\
--X\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\nOriginal-Envelope-Id: {a}\r\n\r\n\
Final-Recipient: rfc822; z@r.test\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
--X\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{b}@bounces.test>\r\nTo: z@r.test\r\n\r\n--X--\r\n"
    );
    let rep = classify(raw.as_bytes());
    assert_eq!(rep.kind, K::Bounce);
    assert_eq!(rep.tokens.first(), Some(&a), "envelope id first");
    assert!(rep.tokens.contains(&b));
    assert!(key.verify(&rep.tokens[0]));
}

#[test]
fn report_forwarded_as_attachment() {
    let inner = std::fs::read_to_string(format!(
        "{}/tests/fixtures/qmail-hostunknown.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let raw = format!(
        "From: admin@sender.test\nTo: ops@sender.test\nSubject: Fwd: failure notice\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"W\"\n\n--W\nContent-Type: text/plain\n\nsee attached\n\n\
--W\nContent-Type: message/rfc822\n\n{inner}\n--W--\n"
    );
    let rep = classify(raw.as_bytes());
    assert_eq!(rep.kind, K::Bounce);
    assert_eq!(rep.recipients[0].address, "dave@nowhere.test");
    assert_eq!(rep.recipients[0].reason, R::HostUnknown);
}

#[test]
fn auto_reply_quoting_a_bounce_is_an_auto_reply() {
    let raw = b"From: Rita <rita@receiver.test>\nTo: news@sender.test\nSubject: Automatic reply: Undeliverable: Our news\nAuto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n\nI am away until Monday. Your message could not be delivered to me in person.\n";
    assert_eq!(classify(raw).kind, K::AutoReply);
}

#[test]
fn feedback_fields_in_a_plain_text_part() {
    let raw = b"From: fbl@isp.test\nTo: abuse@sender.test\nSubject: complaint about message from 192.0.2.3\n\nFeedback-Type: abuse\nUser-Agent: FBL/2\nVersion: 1\nOriginal-Rcpt-To: sam@isp.test\n";
    let rep = classify(raw);
    assert_eq!(rep.kind, K::Feedback);
    assert_eq!(rep.recipients[0].address, "sam@isp.test");
}

#[test]
fn report_with_a_huge_returned_original() {
    // A 5 MB attachment after the report: input is cut at MAX_INPUT, the report is still read.
    let inner = std::fs::read_to_string(format!(
        "{}/tests/fixtures/postfix-userunknown.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let big = "QUJD".repeat(5 * 1024 * 1024 / 4);
    let raw = inner.replace(
        "--B1.1700000000/mx1.sender.test--",
        &format!("--B1.1700000000/mx1.sender.test\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n{big}\n--B1.1700000000/mx1.sender.test--"),
    );
    assert!(raw.len() > mm_bounce::MAX_INPUT);
    let rep = classify(raw.as_bytes());
    assert_eq!(rep.kind, K::Bounce);
    assert_eq!(rep.recipients[0].address, "alice@receiver.test");
    assert_eq!(rep.recipients[0].reason, R::UserUnknown);
}

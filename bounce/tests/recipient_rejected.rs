//! Postfix's `<rcpt>: Recipient address rejected: <text>` (an access table or policy service
//! refused the address at RCPT TO): the text after the colon explains the rejection, and the
//! bare phrase follows the status code. A valid address refused as spam or by policy must not
//! come out as `user_unknown` (hard), or it would be suppressed for good.
//!
//! `postfix-rejected-as-spam.eml` is a hand-written Postfix DSN of that shape; the other cases
//! are the same report with another status, action and remote reply.
use mm_bounce::{classify, BounceReport};
use mm_domain::{BounceReason as R, ReportKind as K};

const ADDR: &str = "blocked@remote.test";

fn fixture() -> String {
    let path = format!(
        "{}/tests/fixtures/postfix-rejected-as-spam.eml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture with another action, status and remote reply (both in the text part and in the
/// delivery-status fields, as Postfix writes them).
fn variant(action: &str, status: &str, reply: &str) -> BounceReport {
    let raw = fixture();
    let text_old = concat!(
        "<blocked@remote.test>: host 127.0.0.1[127.0.0.1] said: 554 5.7.1\n",
        "    <blocked@remote.test>: Recipient address rejected: Rejected as spam (in\n",
        "    reply to RCPT TO command)"
    );
    let diag_old = concat!(
        "Diagnostic-Code: smtp; 554 5.7.1 <blocked@remote.test>: Recipient address\n",
        "    rejected: Rejected as spam"
    );
    assert!(raw.contains(text_old) && raw.contains(diag_old));
    let mut raw = raw
        .replace(
            text_old,
            &format!(
                "<{ADDR}>: host 127.0.0.1[127.0.0.1] said: {reply} (in reply to RCPT TO command)"
            ),
        )
        .replace(diag_old, &format!("Diagnostic-Code: smtp; {reply}"))
        .replace("Action: failed", &format!("Action: {action}"))
        .replace("Status: 5.7.1", &format!("Status: {status}"));
    if action == "delayed" {
        raw = raw
            .replace(
                "Subject: Undelivered Mail Returned to Sender",
                "Subject: Delayed Mail (still being retried)",
            )
            .replace(
                concat!(
                    "I'm sorry to have to inform you that your message could not\n",
                    "be delivered to one or more recipients. It's attached below."
                ),
                concat!(
                    "#####################################################################\n",
                    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n",
                    "#####################################################################\n\n",
                    "Your message could not be delivered for more than 4 hour(s).\n",
                    "It will be retried until it is 5 day(s) old."
                ),
            );
    }
    classify(raw.as_bytes())
}

fn check(rep: &BounceReport, kind: K, status: &str, reason: R, hard: bool) {
    assert_eq!(rep.kind, kind, "{rep:#?}");
    let r = rep
        .recipients
        .iter()
        .find(|r| r.address == ADDR)
        .unwrap_or_else(|| panic!("no {ADDR} in {rep:#?}"));
    assert_eq!(r.status.as_deref(), Some(status), "{rep:#?}");
    assert_eq!(r.reason, reason, "{rep:#?}");
    assert_eq!(r.hard, hard, "{rep:#?}");
}

#[test]
fn rejected_as_spam_is_spam_detected_and_soft() {
    let rep = classify(fixture().as_bytes());
    check(&rep, K::Bounce, "5.7.1", R::SpamDetected, false);
    let r = &rep.recipients[0];
    assert_eq!(r.reply_code, Some(554));
    assert_eq!(r.remote_mta.as_deref(), Some("127.0.0.1"));
}

#[test]
fn access_table_reject_is_a_security_refusal_not_an_unknown_user() {
    let rep = variant(
        "failed",
        "5.7.1",
        "550 5.7.1 <blocked@remote.test>: Recipient address rejected: Access denied",
    );
    check(&rep, K::Bounce, "5.7.1", R::SecurityError, false);
}

#[test]
fn exchange_online_access_denied_is_an_unknown_user() {
    // Exchange Online's directory-based edge blocking refuses addresses it does not know so.
    let rep = variant(
        "failed",
        "5.4.1",
        "550 5.4.1 Recipient address rejected: Access denied. [AM0PR00MB0000.prod.outlook.test]",
    );
    check(&rep, K::Bounce, "5.4.1", R::UserUnknown, true);
}

#[test]
fn try_again_later_is_a_soft_delay() {
    let rep = variant(
        "delayed",
        "4.2.0",
        "450 4.2.0 <blocked@remote.test>: Recipient address rejected: Try again later",
    );
    check(&rep, K::Delay, "4.2.0", R::Expired, false);
}

#[test]
fn greylisting_is_never_an_unknown_user() {
    let reply = concat!(
        "450 4.2.0 <blocked@remote.test>: Recipient address rejected: Greylisted, ",
        "see http://postgrey.example/help/remote.test.html"
    );
    check(
        &variant("delayed", "4.2.0", reply),
        K::Delay,
        "4.2.0",
        R::Expired,
        false,
    );
    // Postfix gave up after the queue lifetime: still the temporary status, still soft.
    check(
        &variant("failed", "4.2.0", reply),
        K::Bounce,
        "4.2.0",
        R::Expired,
        false,
    );
}

#[test]
fn mailbox_full_is_mailbox_full() {
    let rep = variant(
        "failed",
        "5.2.2",
        "552 5.2.2 <blocked@remote.test>: Mailbox full",
    );
    check(&rep, K::Bounce, "5.2.2", R::MailboxFull, false);
    let rep = variant(
        "failed",
        "5.2.2",
        "552 5.2.2 <blocked@remote.test>: Recipient address rejected: Mailbox full",
    );
    check(&rep, K::Bounce, "5.2.2", R::MailboxFull, false);
}

#[test]
fn user_unknown_stays_hard() {
    let rep = variant(
        "failed",
        "5.1.1",
        "550 5.1.1 <blocked@remote.test>: User unknown",
    );
    check(&rep, K::Bounce, "5.1.1", R::UserUnknown, true);
    let rep = variant(
        "failed",
        "5.1.1",
        concat!(
            "550 5.1.1 <blocked@remote.test>: Recipient address rejected: ",
            "User unknown in local recipient table"
        ),
    );
    check(&rep, K::Bounce, "5.1.1", R::UserUnknown, true);
}

#[test]
fn bare_recipient_address_rejected_follows_the_code() {
    let rep = variant(
        "failed",
        "5.1.1",
        "550 5.1.1 <blocked@remote.test>: Recipient address rejected",
    );
    check(&rep, K::Bounce, "5.1.1", R::UserUnknown, true);
    let rep = variant(
        "failed",
        "5.7.1",
        "554 5.7.1 <blocked@remote.test>: Recipient address rejected",
    );
    check(&rep, K::Bounce, "5.7.1", R::SecurityError, false);
}

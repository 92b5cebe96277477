//! RFC 5965 Abuse Reporting Format (feedback loops: "this is spam" complaints) and mailto
//! unsubscribe requests (RFC 2369 / RFC 8058 `List-Unsubscribe: <mailto:...>`), which are
//! complaints in effect: the recipient does not want the mail.
use crate::mime::{Returned, Walked};
use crate::report::{BounceReport, RecipientResult};
use crate::{fields, scan};
use mm_domain::{BounceReason, ReportKind};

/// The result for one complaining recipient.
pub fn feedback_recipient(address: String) -> RecipientResult {
    RecipientResult {
        address,
        action: None,
        status: None,
        reply_code: None,
        reason: BounceReason::Feedback,
        hard: false,
        diagnostic: None,
        remote_mta: None,
    }
}

/// Fills `rep` from a feedback report.
pub fn report(rep: &mut BounceReport, w: &Walked, returned: Option<&Returned>) {
    rep.kind = ReportKind::Feedback;
    let mut addrs: Vec<String> = Vec::new();
    let push = |a: String, addrs: &mut Vec<String>| {
        if !addrs.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            addrs.push(a);
        }
    };
    if let Some(fb) = &w.feedback {
        for block in fields::blocks(fb) {
            for f in &block {
                match f.name.as_ref() {
                    "feedback-type" if rep.feedback_type.is_none() => {
                        rep.feedback_type = Some(f.value.trim().to_ascii_lowercase())
                    }
                    "original-rcpt-to" | "removal-recipient" => {
                        if let Some(a) = scan::clean_address(&f.value) {
                            push(a, &mut addrs);
                        }
                    }
                    "original-envelope-id" if rep.original_envelope_id.is_none() => {
                        rep.original_envelope_id = Some(f.value.trim().to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    if addrs.is_empty() {
        if let Some(r) = returned {
            for a in &r.to {
                push(a.clone(), &mut addrs);
            }
        }
    }
    if rep.feedback_type.is_none() {
        rep.feedback_type = Some("abuse".into());
    }
    for a in addrs {
        rep.recipients.push(feedback_recipient(a));
    }
}

/// A mailto unsubscribe request: subject `unsubscribe`, from the recipient.
pub fn is_unsubscribe(w: &Walked) -> bool {
    w.subject.trim().eq_ignore_ascii_case("unsubscribe") && !w.from.is_empty()
}

/// Fills `rep` for an unsubscribe request (feedback type `opt-out`, RFC 6650 §3).
pub fn unsubscribe(rep: &mut BounceReport, w: &Walked) {
    rep.kind = ReportKind::Feedback;
    rep.feedback_type = Some("opt-out".into());
    rep.recipients.push(feedback_recipient(w.from.clone()));
}

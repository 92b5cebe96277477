//! Bounce-report classification (SPEC §8): raw message bytes → what kind of report it is, and
//! per recipient the status code, reply code, reason (Sisimai's vocabulary) and hard/soft.
//!
//! No I/O, never panics: [`classify`] is fed whatever arrives at the bounce address.
//!
//! # How a message is read, in order
//! 1. Amazon SES JSON notifications; RFC 5965 feedback reports (also ARF fields in a plain
//!    part, Microsoft JMRP complaints, mailto unsubscribe requests) → `feedback`.
//! 2. RFC 3464 / RFC 6533 delivery-status fields (in their MIME part, or pasted into text when
//!    a report's MIME structure is broken): one recipient per field group; the kind from the
//!    actions (failed → bounce, delayed → delay, delivered/relayed/expanded → delivery); a
//!    missing diagnostic is taken from the human-readable text about the same address.
//! 3. A report forwarded as an attachment (the outer message names no recipient).
//! 4. A mail system's report without fields (sender, subject or wording of a report): the
//!    recipients and diagnostics found in the text before the returned original
//!    (see the `text` module), else `X-Failed-Recipients`, else the returned message's `To`.
//! 5. RFC 3834 auto-replies → `auto_reply` (never a bounce, even when quoting one).
//! 6. Anything else → `not_a_report`.
//!
//! Per recipient, the status code is the field's, or the one the remote server gave in the
//! diagnostic when the field is only `X.0.0` (codes after a reply code first); the reason and
//! hard/soft follow [`reason`].
//!
//! # Layout
//! - `mime`: sorts the parts of the message (report headers, delivery-status,
//!   feedback-report, human-readable text, the returned original). `walk`: the forward walk
//!   over its MIME structure; `plain`: the result built from the walk without mail-parser
//!   when every part and value read is plain.
//! - `fields` / `dsn`: RFC 3464 / RFC 6533 field blocks.
//! - `text`: the human-readable text of non-standard reports (qmail, Exim, Exchange, ...).
//! - `ses`: Amazon SES JSON notifications. `arf`: RFC 5965 feedback reports.
//!   `autoreply`: RFC 3834 auto-replies.
//! - [`reason`]: the documented rules from status code and text to a reason.
//! - `scan`: address / status-code / reply-code scanners. `token`: VERP tokens.
#![deny(missing_docs)]

mod arf;
mod autoreply;
mod dsn;
mod fields;
mod mime;
mod plain;
pub mod reason;
mod report;
mod scan;
mod ses;
mod text;
mod token;
mod walk;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use mm_domain::{BounceReason, ReportKind};
pub use report::{BounceReport, RecipientResult};
use std::sync::LazyLock;

/// How deep forwarded reports (a report attached to another message) are followed.
const MAX_DEPTH: usize = 3;
/// How much of the report text is searched as context for a reason, in bytes.
const MAX_CONTEXT: usize = 8 * 1024;
/// Longest diagnostic kept per recipient, in bytes.
const MAX_DIAG: usize = 1000;

/// How much of a message is read. Reports put the explanation and the delivery-status fields
/// first and the returned original (with its attachments) last; beyond this, only the original
/// could be cut, and parsing megabytes of it would be wasted work.
pub const MAX_INPUT: usize = 1024 * 1024;

/// Classifies one raw message (LF or CRLF line ends). Never panics, does no I/O. Only the first
/// [`MAX_INPUT`] bytes are read.
pub fn classify(raw: &[u8]) -> BounceReport {
    classify_at(raw.get(..MAX_INPUT).unwrap_or(raw), 0)
}

fn classify_at(raw: &[u8], depth: usize) -> BounceReport {
    let Some(w) = mime::walk(raw) else {
        return BounceReport::not_a_report();
    };
    let mut rep = analyse(&w, depth);
    // Tokens, best first: envelope id, returned Message-ID, `+token@`, `<token@`.
    let mut tokens = Vec::new();
    if let Some(id) = &rep.original_envelope_id {
        token::from_value(id, &mut tokens);
    }
    if let Some(id) = &rep.original_message_id {
        token::from_value(id, &mut tokens);
    }
    token::scan(raw, &mut tokens);
    for t in tokens {
        if !rep.tokens.contains(&t) {
            rep.tokens.push(t);
        }
    }
    rep
}

/// The first `max` bytes of `s`, cut at a char boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or(s)
}

fn truncate(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

/// Subject / sender words that make a message without RFC 3464 fields a delivery report.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "delivery fail",
    "delivery status notification",
    "delivery notification",
    "returned mail",
    "return mail",
    "failure notice",
    "mail delivery failed",
    "delivery failure",
    "non-delivery",
    "nondeliverable",
    "non deliverable",
    "could not be delivered",
    "not delivered",
    "delivery problem",
    "mail system error",
    "mail failure",
    "delivery report",
    "bounce",
    "rejected",
    "delivery error",
    "failed delivery",
    "delayed mail",
    "delivery delayed",
    "warning: could not send",
    "message delayed",
    "mail could not be",
    "unzustellbar",
    "non remis",
    "no entregado",
    "error sending message",
    "message status",
    "returned to sender",
    "notification d'état",
];

const BOUNCE_SENDERS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "mail delivery",
    "mail-daemon",
    "maildaemon",
    "mailerdaemon",
    "bounce",
    "mdaemon",
    "mail administrator",
    "system administrator",
    "mail system",
    "post_master",
    "returned mail",
    "delivery subsystem",
];

const BOUNCE_BODY: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "could not deliver",
    "was not delivered",
    "undeliverable",
    "delivery has failed",
    "delivery to the following recipient",
    "did not reach the following recipient",
    "following address(es) failed",
    "following addresses had",
    "following address failed",
    "permanent error",
    "unable to deliver",
    "wasn't able to deliver",
    "failed permanently",
    "delivery failed",
    "returned to sender",
    "there was an error delivering",
    "an error has occurred while attempting to deliver",
    "error occurred while trying to deliver",
    "message could not be",
    "your message was rejected",
    "was rejected",
    "has been rejected",
    "not be delivered",
    "not delivered to",
    "transcript of session follows",
    "delivery problems",
    "delivery errors",
    "not reach",
];

const DELAY_WORDS: &[&str] = &[
    "delayed",
    "delivery delay",
    "warning: could not send",
    "will continue trying",
    "will retry",
    "still trying",
    "has not yet been delivered",
    "not yet been delivered",
    "delivery is delayed",
    "temporarily deferred",
];

/// A case-insensitive multi-phrase matcher built once.
struct Needles(LazyLock<Option<AhoCorasick>>);

impl Needles {
    fn any(&self, hay: &str) -> bool {
        self.0.as_ref().is_some_and(|ac| ac.is_match(hay))
    }
}

macro_rules! needles {
    ($name:ident = $list:expr) => {
        static $name: Needles = Needles(LazyLock::new(|| {
            AhoCorasickBuilder::new()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .ascii_case_insensitive(true)
                .build($list)
                .ok()
        }));
    };
}

needles!(SENDERS = BOUNCE_SENDERS);
needles!(SUBJECTS = BOUNCE_SUBJECTS);
needles!(BODY = BOUNCE_BODY);
needles!(DELAYS = DELAY_WORDS);
needles!(DELAY_SUBJECT = ["delay", "warning"]);
needles!(GAVE_UP = ["permanent", "gave up", "given up", "giving up"]);

/// Whether the message was sent by a mail system.
fn sent_by_system(w: &mime::Walked) -> bool {
    w.header("x-failed-recipients").is_some()
        || SENDERS.any(&w.from_full)
        || w.report_type.as_deref() == Some("delivery-status")
}

/// Whether the subject or the body reads as a delivery report.
fn reads_as_report(w: &mime::Walked, head: &str) -> bool {
    SUBJECTS.any(&w.subject) || BODY.any(head)
}

fn analyse(w: &mime::Walked, depth: usize) -> BounceReport {
    let mut rep = BounceReport::not_a_report();
    let human: std::borrow::Cow<'_, str> = match w.human.as_slice() {
        [one] => std::borrow::Cow::Borrowed(one.as_str()),
        many => std::borrow::Cow::Owned(many.join("\n")),
    };
    let (head, tail) = text::split_returned(&human);
    let embedded;
    let returned = match (&w.returned, tail) {
        (Some(r), _) => Some(r),
        (None, Some(t)) => {
            embedded = mime::returned_from_text(t);
            Some(&embedded)
        }
        (None, None) => None,
    };
    if let Some(r) = returned {
        rep.original_message_id = r.message_id.clone();
    }

    // Amazon SES JSON.
    if let Some(s) = w.human.iter().find_map(|h| ses::parse(h)) {
        ses_report(&mut rep, s);
        return rep;
    }

    // RFC 5965 feedback.
    if w.report_type.as_deref() == Some("feedback-report") || w.feedback.is_some() {
        arf::report(&mut rep, w, returned);
        return rep;
    }
    if let Some(a) = returned.and_then(|r| r.jmrp_recipient.clone()) {
        if w.ds.is_empty() {
            rep.kind = ReportKind::Feedback;
            rep.feedback_type = Some("abuse".into());
            rep.recipients.push(arf::feedback_recipient(a));
            return rep;
        }
    }
    if arf::is_unsubscribe(w) {
        arf::unsubscribe(&mut rep, w);
        return rep;
    }

    // The recipients named in the text: found only when needed, as an RFC 3464 report whose
    // fields give every recipient a diagnostic does not read them (a scan of the whole text).
    let hits_once = std::cell::OnceCell::new();
    let hits = || {
        hits_once.get_or_init(|| {
            let mut exclude: Vec<String> = w.to.iter().map(|a| a.to_ascii_lowercase()).collect();
            if let Some(f) = returned.and_then(|r| r.from.as_ref()) {
                exclude.push(f.to_ascii_lowercase());
            }
            if !w.from.is_empty() {
                exclude.push(w.from.to_ascii_lowercase());
            }
            text::recipients(head, &exclude)
        })
    };

    // RFC 3464 fields.
    let mut ds_recipients = Vec::new();
    for ds in &w.ds {
        let (m, rs) = dsn::parse(ds);
        if rep.original_envelope_id.is_none() {
            rep.original_envelope_id = m.envelope_id;
        }
        ds_recipients.extend(rs);
    }
    if !ds_recipients.is_empty() {
        for r in ds_recipients {
            if rep
                .recipients
                .iter()
                .any(|x| x.address.eq_ignore_ascii_case(&r.address))
            {
                continue;
            }
            let hit = || {
                hits()
                    .iter()
                    .find(|h| h.address.eq_ignore_ascii_case(&r.address))
            };
            let diag = match (&r.diagnostic, &r.status_comment) {
                (Some(d), _) => d.clone(),
                (None, c) => match (hit(), c) {
                    (Some(h), _) if !h.diagnostic.is_empty() => h.diagnostic.clone(),
                    (_, Some(c)) => c.clone(),
                    _ => String::new(),
                },
            };
            let action = r.action.clone();
            rep.recipients.push(result(
                r.address,
                action,
                r.status,
                &diag,
                head,
                r.remote_mta,
                true,
            ));
        }
        rep.kind = kind_of(&rep.recipients, head, &w.subject);
        return rep;
    }

    // A report forwarded as an attachment: the outer message names no recipient itself.
    let hits = hits();
    if depth < MAX_DEPTH && hits.is_empty() && w.header("x-failed-recipients").is_none() {
        for n in &w.nested {
            let inner = classify_at(n.as_ref(), depth + 1);
            if inner.kind != ReportKind::NotAReport && !inner.recipients.is_empty() {
                return inner;
            }
        }
    }
    let system = sent_by_system(w);
    // Read only when the message is not a mail system's (whose report returns below).
    let auto = !system && autoreply::is_auto_reply(w);
    // An auto-reply quoting a bounce ("Automatic reply: Undeliverable: ...") is still an
    // auto-reply; only a mail system's own report is a bounce. The subject and the body (a
    // search of the whole text) are read only when the headers leave it open.
    if system || (!auto && reads_as_report(w, head)) {
        // Recipients named in the text as failed come first (X-Failed-Recipients may name the
        // address before rewriting); the header fills in when the text names none.
        let mut addrs: Vec<(String, String)> = hits
            .iter()
            .filter(|h| h.strong)
            .map(|h| (h.address.clone(), h.diagnostic.clone()))
            .collect();
        if let (true, Some(x)) = (addrs.is_empty(), w.header("x-failed-recipients")) {
            for f in scan::addresses(x) {
                let diag = hits
                    .iter()
                    .find(|h| h.address.eq_ignore_ascii_case(f.addr))
                    .map(|h| h.diagnostic.clone())
                    .unwrap_or_default();
                if !addrs.iter().any(|a| a.0.eq_ignore_ascii_case(f.addr)) {
                    addrs.push((f.addr.to_string(), diag));
                }
            }
        }
        if addrs.is_empty() {
            addrs = hits
                .iter()
                .map(|h| (h.address.clone(), h.diagnostic.clone()))
                .collect();
        }
        // Last resort: the returned message's recipient. The report then says nothing about
        // that address, so its text is context only, not the recipient's diagnostic.
        let mut guessed = false;
        if addrs.is_empty() {
            if let Some(a) = returned.and_then(|r| r.to.first()) {
                addrs.push((a.clone(), String::new()));
                guessed = true;
            }
        }
        let delay = is_delay(head, &w.subject);
        let single = addrs.len() == 1;
        for (addr, diag) in addrs {
            let diag = if diag.trim().is_empty() && single && !guessed {
                head.to_string()
            } else {
                diag
            };
            let action = Some(if delay { "delayed" } else { "failed" }.to_string());
            rep.recipients
                .push(result(addr, action, None, &diag, head, None, single));
        }
        rep.kind = if delay {
            ReportKind::Delay
        } else {
            ReportKind::Bounce
        };
        return rep;
    }
    if auto {
        rep.kind = ReportKind::AutoReply;
        if !w.from.is_empty() {
            rep.recipients.push(RecipientResult {
                address: w.from.clone(),
                action: None,
                status: None,
                reply_code: None,
                reason: BounceReason::Vacation,
                hard: false,
                diagnostic: Some(truncate(&w.subject, MAX_DIAG)),
                remote_mta: None,
            });
        }
        return rep;
    }
    if depth < MAX_DEPTH {
        for n in &w.nested {
            let inner = classify_at(n.as_ref(), depth + 1);
            if inner.kind != ReportKind::NotAReport {
                return inner;
            }
        }
    }
    rep
}

fn is_delay(head: &str, subject: &str) -> bool {
    // The subject tests first: they are cheaper than a search of the whole text, and most
    // bounces say "fail" in their subject ("Mail delivery failed", "... (Failure)"), which
    // spares both searches of the text.
    !contains_ignore_ascii_case(subject, b"fail")
        && (DELAY_SUBJECT.any(subject) || DELAYS.any(head))
        && !GAVE_UP.any(head)
}

/// Whether `hay` contains `needle` (lower case), ASCII case-insensitively.
fn contains_ignore_ascii_case(hay: &str, needle: &[u8]) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn kind_of(rs: &[RecipientResult], head: &str, subject: &str) -> ReportKind {
    let action = |a: &str| rs.iter().any(|r| r.action.as_deref() == Some(a));
    if action("failed") || action("expired") {
        ReportKind::Bounce
    } else if action("delayed") {
        ReportKind::Delay
    } else if action("delivered") || action("relayed") || action("expanded") {
        ReportKind::Delivery
    } else if is_delay(head, subject) {
        ReportKind::Delay
    } else {
        ReportKind::Bounce
    }
}

/// Builds one recipient's result: status and reply code from the fields or the text, then the
/// reason and hard/soft.
fn result(
    address: String,
    action: Option<String>,
    status: Option<String>,
    diag: &str,
    context: &str,
    remote_mta: Option<String>,
    use_context: bool,
) -> RecipientResult {
    // Codes in the text, those right after a reply code (`550 5.1.1`, `550-'5.7.1`) first:
    // they are the remote server's own; a bare leading one may be a relay's summary.
    let codes = scan::status_codes(diag);
    let mut in_diag: Vec<(bool, &str)> = codes
        .iter()
        .filter(|c| !scan::is_invented(c.1))
        .map(|&(pos, c)| (after_reply_code(diag, pos), c))
        .collect();
    in_diag.sort_by_key(|c| !c.0);
    let in_diag: Vec<&str> = in_diag.into_iter().map(|c| c.1).collect();
    let mut status = status.filter(|s| !scan::is_invented(s));
    // A generic `X.0.0` in the fields says less than the code the remote server gave.
    let generic = status.as_deref().is_none_or(|s| s.ends_with(".0.0"));
    if generic {
        if let Some(c) = in_diag.iter().find(|c| {
            !c.ends_with(".0.0")
                && status
                    .as_deref()
                    .is_none_or(|s| s.as_bytes().first() == c.as_bytes().first())
        }) {
            status = Some(c.to_string());
        } else if status.is_none() {
            status = in_diag.first().map(|c| c.to_string());
        }
    }
    let reply_code = scan::reply_code(diag).map(|r| r.1);
    // The explanation of a report is at its top; a bounded context keeps long reports cheap.
    let ctx = if use_context {
        prefix(context, MAX_CONTEXT)
    } else {
        ""
    };
    let words = unwrap_multiline_reply(diag, &codes);
    let mut reason = reason::decide(status.as_deref(), &words, ctx, action.as_deref());
    // A connection that kept timing out until the sender gave up: the message expired.
    if reason == BounceReason::NetworkError
        && action.as_deref().is_none_or(|a| a == "failed")
        && status.as_deref().is_none_or(|s| !s.starts_with('5'))
        && reply_code.is_none_or(|c| c < 500)
    {
        let l = diag.to_ascii_lowercase();
        if ["timed out", "timeout", "not reachable", "unreachable"]
            .iter()
            .any(|w| l.contains(w))
        {
            reason = BounceReason::Expired;
        }
    }
    let permanent = match (&status, reply_code) {
        (Some(s), _) => s.starts_with('5'),
        (None, Some(c)) => c >= 500,
        (None, None) => action.as_deref() != Some("delayed"),
    };
    let diagnostic = if diag.trim().is_empty() {
        None
    } else {
        Some(truncate(diag, MAX_DIAG))
    };
    let remote_mta = remote_mta.or_else(|| text::remote_host(diag));
    RecipientResult {
        address,
        action,
        status,
        reply_code,
        reason,
        hard: reason.is_hard(permanent),
        diagnostic,
        remote_mta,
    }
}

/// A multi-line SMTP reply joined into one line keeps the `550-5.7.1 ` prefix of every line
/// (`... with multiple 550-5.7.1 addresses in From: ...`); drop the repeats so phrases match.
/// `codes` are the status codes of `diag` ([`scan::status_codes`]).
fn unwrap_multiline_reply<'a>(diag: &'a str, codes: &[(usize, &str)]) -> std::borrow::Cow<'a, str> {
    if codes.len() < 2 {
        return std::borrow::Cow::Borrowed(diag);
    }
    let mut out = String::with_capacity(diag.len());
    let mut last = 0;
    for (i, (pos, code)) in codes.iter().enumerate() {
        if i == 0 || !after_reply_code(diag, *pos) {
            continue;
        }
        // Remove `NNN-` / `NNN ` before the code, the code, and one space after.
        let start = pos.saturating_sub(4);
        let mut end = pos + code.len();
        if diag.as_bytes().get(end) == Some(&b' ') {
            end += 1;
        }
        if start < last || !diag.is_char_boundary(start) || !diag.is_char_boundary(end) {
            continue;
        }
        out.push_str(diag.get(last..start).unwrap_or_default());
        last = end;
    }
    out.push_str(diag.get(last..).unwrap_or_default());
    std::borrow::Cow::Owned(out)
}

/// Whether the status code at `pos` follows a reply code (`550 `, `550-`, `550-'`).
fn after_reply_code(text: &str, pos: usize) -> bool {
    let b = text.as_bytes();
    let mut i = pos;
    while i > 0 && matches!(b[i - 1], b' ' | b'-' | b'\'' | b'#') && pos - i < 3 {
        i -= 1;
    }
    i >= 3
        && i < pos
        && b[i - 3..i].iter().all(u8::is_ascii_digit)
        && (i == 3 || !b[i - 4].is_ascii_alphanumeric())
}

fn ses_report(rep: &mut BounceReport, s: ses::Ses) {
    match s {
        ses::Ses::Bounce {
            permanent,
            sub_type,
            recipients,
        } => {
            rep.kind = ReportKind::Bounce;
            for r in recipients {
                let diag = r.diagnostic.clone().unwrap_or_else(|| sub_type.clone());
                let mut res = result(
                    r.address,
                    r.action.or(Some("failed".into())),
                    r.status,
                    &diag,
                    &sub_type,
                    None,
                    true,
                );
                if sub_type.eq_ignore_ascii_case("suppressed") {
                    res.reason = BounceReason::Suppressed;
                }
                res.hard = res.reason.is_hard(permanent);
                rep.recipients.push(res);
            }
        }
        ses::Ses::Complaint {
            recipients,
            feedback_type,
        } => {
            rep.kind = ReportKind::Feedback;
            rep.feedback_type = feedback_type.or(Some("abuse".into()));
            for a in recipients {
                rep.recipients.push(arf::feedback_recipient(a));
            }
        }
        ses::Ses::Delivery {
            recipients,
            response,
        } => {
            rep.kind = ReportKind::Delivery;
            for a in recipients {
                let diag = response.clone().unwrap_or_default();
                rep.recipients.push(result(
                    a,
                    Some("delivered".into()),
                    None,
                    &diag,
                    "",
                    None,
                    false,
                ));
            }
        }
    }
}

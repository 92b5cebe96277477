//! Why a recipient failed: the reason (SPEC §8, Sisimai's vocabulary) from the enhanced status
//! code and the diagnostic text together.
//!
//! # Rules, in priority order
//!
//! 1. **Text, strong phrases** — the diagnostic text is searched (ASCII case-insensitive) for
//!    the phrases of [`PHRASES`]; when several match, the reason listed first in the table
//!    wins. A remote server's own words are more specific than its status code: a
//!    `550 5.7.1 ... user unknown` is an unknown user, a `5.1.1 ... mailbox is full` a full
//!    mailbox.
//! 2. **Specific status codes** ([`by_code`]): codes whose meaning is unambiguous —
//!    X.1.1/X.1.3/X.1.10 `user_unknown`, X.1.2 `host_unknown`, X.1.6 `has_moved`,
//!    X.1.7/X.1.8 `rejected`, X.2.1 `suspend`, X.2.2 `mailbox_full`, X.2.3 `exceed_limit`,
//!    X.3.1 `system_full`, X.3.4 `mesg_too_big`, X.4.4 `host_unknown`, X.4.7 `expired`,
//!    X.5.x `syntax_error`, X.6.x `content_error`, X.7.20–X.7.24, X.7.26 `auth_failure`,
//!    X.7.25 `require_ptr`, X.7.27 `not_accept`, X.7.13 `suspend`, X.7.17 `has_moved`, and
//!    the Microsoft extensions 5.1.351 `user_unknown`, 5.7.509 `auth_failure`, 5.7.606–5.7.609
//!    `blocked`, 4.7.650/5.7.650 `bad_reputation`.
//! 3. **Text of the whole report** — the same phrase table over the whole human-readable text
//!    (single-recipient reports often put the explanation away from the address).
//! 4. **Generic status codes** — X.2.0 `filtered`, X.3.x `system_error`, X.4.x
//!    `network_error`, X.7.x `security_error`, X.1.0/X.0.0: `undefined`... a delayed report
//!    (`action: delayed`) whose reason is still unknown is `expired` when it says it gave up,
//!    otherwise `undefined`; a delivered one is `delivered`.
//!
//! Hard/soft: [`mm_domain::BounceReason::is_hard`] with `permanent` = status class 5 (or a
//! 5xx reply code when there is no status).
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use mm_domain::BounceReason as R;
use std::sync::LazyLock;

/// The phrase table: reason and the phrases that indicate it, highest priority first.
pub const PHRASES: &[(R, &[&str])] = &[
    (
        R::NoRelaying,
        &[
            "relay access denied",
            "relaying denied",
            "relay denied",
            "not permitted to relay",
            "relay not permitted",
            "relaying not allowed",
            "unable to relay",
            "we do not relay",
            "relaying mail to",
            "not allowed to relay",
            "relay not allowed",
            "no relaying",
            "relaying is prohibited",
            "relay prohibited",
            "is not a gateway",
            "this system is not configured to relay",
        ],
    ),
    (
        R::VirusDetected,
        &[
            "virus",
            "malware",
            "infected with",
            "malicious content",
            "hazardous content",
        ],
    ),
    (
        R::AuthFailure,
        &[
            "dmarc",
            "spf check",
            "spf fail",
            "spf record",
            "spf validation",
            "sender policy framework",
            "dkim",
            "unauthenticated email",
            "is not authorized to send on behalf",
            "not designated as a permitted sender",
            "does not designate",
            "dmarc policy",
            "authentication-results",
            "authentication failed for domain",
            "because of the sending domain's",
            "sender domain authentication",
            "spf=fail",
            "spf: ",
            "(spf)",
        ],
    ),
    (
        R::RequirePtr,
        &[
            "reverse dns",
            "ptr record",
            "no ptr",
            "reverse lookup",
            "rdns",
            "reverse hostname",
            "cannot find your hostname",
            "cannot resolve your address",
            "does not resolve",
            "client host rejected: cannot find your",
            "no reverse",
            "reverse address",
            "ip name lookup failed",
            "hostname lookup failed",
            "not resolve to your ip",
            "cannot resolve your hostname",
            "missing reverse",
            "dns reverse",
            "unresolvable address",
            "client host name",
            "reverse-dns",
            "host name could not be resolved",
        ],
    ),
    (
        R::BadReputation,
        &[
            "reputation",
            "sender score",
            "senderscore",
            "low sender score",
        ],
    ),
    (
        R::HasMoved,
        &[
            "has been moved",
            "has moved",
            "address has changed",
            "user has moved",
            "no longer available at this address",
            "mailbox has moved",
            "address has been changed",
        ],
    ),
    (
        R::MailerError,
        &[
            "command died",
            "mailer error",
            "command failed",
            "pipe to",
            "procmail",
            "x-unix",
            "unknown mailer",
            "exited with",
            "command output",
            "mail loops back to myself",
            "program exited",
            "pipe terminated",
            "shell command",
            "error in processing. server replied",
            "local delivery failed",
            "local mail delivery failed",
        ],
    ),
    (
        R::HostUnknown,
        &[
            "host unknown",
            "unknown host",
            "host not found",
            "domain not found",
            "no such domain",
            "domain does not exist",
            "domain is not reachable",
            "unrouteable mail domain",
            "unrouteable address",
            "name or service not known",
            "name service error",
            "host or domain name not found",
            "no mx",
            "domain name not found",
            "recipient domain must exist",
            "domain must exist",
            "unknown domain",
            "invalid domain",
            "domain couldn't be found",
            "domain could not be found",
            "mx record",
            "dns error",
            "all relevant mx records point to non-existent hosts",
            "unable to resolve",
            "non-existent domain",
            "nxdomain",
            "recipient address rejected: domain not found",
            "no such host",
            "unresolvable",
            "host lookup failed",
            "domain isn't in my list of allowed rcpthosts",
            "illegal host/domain name",
            "host name lookup failure",
        ],
    ),
    (
        R::NotAccept,
        &[
            "does not accept mail",
            "null mx",
            "not accepting mail",
            "accepts no mail",
            "does not receive mail",
            "mail is not accepted",
            "doesn't accept mail",
            "not accept any mail",
            "no mail is accepted",
        ],
    ),
    (
        R::MesgTooBig,
        &[
            "message too large",
            "message size exceeds",
            "message is too large",
            "message too big",
            "mail size limit exceeded",
            "size limit",
            "message exceeds",
            "exceeds size",
            "too big for",
            "message is larger than",
            "exceeds the maximum size",
            "exceeded the maximum size",
            "exceeds maximum message size",
            "size exceeds",
            "message length exceeds",
            "maximum message size",
            "message size",
        ],
    ),
    (
        R::MailboxFull,
        &[
            "mailbox full",
            "mailbox is full",
            "mailbox quota",
            "over quota",
            "overquota",
            "quota exceeded",
            "exceeded storage allocation",
            "mailbox size limit",
            "user is over",
            "mailfolder is full",
            "exceeds quota",
            "account is full",
            "disk quota",
            "quota exceed",
            "insufficient storage",
            "mailbox has exceeded",
            "mailbox exceeded",
            "not enough storage",
            "too much mail",
            "quota full",
            "full mailbox",
            "is over its",
            "out of storage",
            "storage space",
            "exceeded the local limit",
            "exceeded the limit",
            "has exceeded its",
            "mailbox would exceed",
            "would exceed",
            "mailbox is over",
            "boîte pleine",
            "messages in recipient's mailbox exceeded",
            "recipient's mailbox is full",
            "mailbox storage",
            "the user's mailbox is full",
            "inbox is out of storage",
            "storage quota",
        ],
    ),
    (
        R::Suspend,
        &[
            "suspended",
            "mailbox disabled",
            "account disabled",
            "account has been disabled",
            "account is disabled",
            "mailbox is disabled",
            "inactive",
            "deactivated",
            "not active",
            "is disabled",
            "has been disabled",
            "temporarily disabled",
            "mailbox unavailable or not local",
            "account expired",
            "account is locked",
            "account has been locked",
            "account is locked",
            "mailbox is locked",
            "mailbox locked",
            "is frozen",
            "dormant",
            "no longer active",
            "blocked by its owner",
            "recipient is unavailable",
        ],
    ),
    (
        R::UserUnknown,
        &[
            "user unknown",
            "unknown user",
            "no such user",
            "no such mailbox",
            "no such recipient",
            "no such account",
            "no such address",
            "no such person",
            "mailbox not found",
            "mailbox does not exist",
            "mailbox doesn't exist",
            "mailbox unavailable",
            "mailbox not available",
            "mailbox is not available",
            "user does not exist",
            "user doesn't exist",
            "user not found",
            "user not exist",
            "account does not exist",
            "account doesn't exist",
            "address does not exist",
            "address doesn't exist",
            "recipient does not exist",
            "does not exist",
            "doesn't exist",
            "recipient unknown",
            "unknown recipient",
            "recipient not found",
            "invalid recipient",
            "invalid mailbox",
            "invalid address",
            "invalid user",
            "bad recipient",
            "address unknown",
            "unknown address",
            "unknown local part",
            "unknown or illegal alias",
            "not a valid mailbox",
            "not a valid user",
            "not a known user",
            "is not a known",
            "not listed in",
            "recipient name is not recognized",
            "recipient address rejected: access denied",
            "recipient address rejected: user",
            "recipient address rejected: undeliverable",
            "recipientnotfound",
            "mailbox unknown",
            "no mailbox",
            "not our customer",
            "unknown mailbox",
            "user unknown in",
            "unknown in virtual",
            "unknown in local",
            "unrouteable",
            "address rejected",
            "no account",
            "nonexistent",
            "non-existent",
            "not exist",
            "invalid user address",
            "no such",
            "user invalid",
            "this user doesn't have a",
            "address is not valid",
            "unknown e-mail address",
            "not a valid recipient",
            "recipient is not local",
            "no valid recipients",
            "destinataire inconnu",
            "adresse inconnue",
            "utilisateur inconnu",
            "requested action not taken: mailbox unavailable",
        ],
    ),
    (
        R::Speeding,
        &[
            "rate limit",
            "ratelimit",
            "too many messages",
            "sending rate",
            "throttl",
            "rate of",
            "try again later, closing connection",
        ],
    ),
    (
        R::TooManyConn,
        &[
            "too many connections",
            "too many simultaneous",
            "connection limit",
            "too many concurrent",
            "too many smtp sessions",
            "too many sessions",
            "too many open",
            "too many errors",
            "number of connections",
            "connection rate",
            "too many recipients from",
            "too frequently",
            "frequency",
        ],
    ),
    (
        R::ExceedLimit,
        &[
            "too many recipients",
            "limit exceeded",
            "exceeded the maximum",
            "recipient limit",
            "exceeds the limit",
            "limit of recipients",
            "message has too many",
        ],
    ),
    (
        R::SpamDetected,
        &[
            "spam",
            "junk mail",
            "bulk mail",
            "unsolicited",
            "message rejected due to content",
            "content rejected",
            "appears to be unsolicited",
            "classified as bulk",
            "looks like spam",
            "spam-like",
            "spamassassin",
            "message refused",
            "suspicious",
            "detected as",
            "not accepted due to content",
        ],
    ),
    (
        R::NotCompliantRfc,
        &[
            "rfc 5322",
            "rfc5322",
            "rfc 2822",
            "rfc2822",
            "rfc 822",
            "rfc822 ",
            "not rfc compliant",
            "duplicate header",
            "multiple from",
            "multiple addresses in from",
            "bare lf",
            "bare <lf>",
            "message header",
            "header syntax",
            "improper format",
            "not in compliance with",
            "invalid header",
            "malformed",
            "missing required header",
            "header is missing",
            "headers are missing",
            "does not meet",
        ],
    ),
    (
        R::ContentError,
        &[
            "message content",
            "content rejected",
            "content policy",
            "content filter",
            "prohibited attachment",
            "attachment not allowed",
            "illegal attachment",
            "file type",
            "message encoding",
        ],
    ),
    (
        R::Blocked,
        &[
            "blocked",
            "blacklist",
            "black list",
            "blocklist",
            "block list",
            "denylist",
            "listed in",
            "listed on",
            "rbl",
            "dnsbl",
            "spamhaus",
            "spamcop",
            "barracuda",
            "banned",
            "your ip",
            "your ip address",
            "client host rejected",
            "connection refused by",
            "connections not accepted from",
            "access denied",
            "access denied from",
            "not allowed to send",
            "refused to talk to me",
            "poor reputation",
            "rejected because of your ip",
            "dynamic ip",
            "dial-up",
            "dialup",
            "residential",
            "please use the smtp server of your isp",
            "use your isp",
            "ip address",
            "ip blocked",
            "host blocked",
            "not allowed to connect",
            "service unavailable; client host",
            "denied",
            "refused",
            "block",
        ],
    ),
    (
        R::SecurityError,
        &[
            "authentication required",
            "authentication is required",
            "must authenticate",
            "auth required",
            "not authorized",
            "unauthorized",
            "security policy",
            "sender address spoofing",
            "impersonat",
            "spoof",
            "phish",
            "encryption required",
            "user not authenticated",
            "insecure",
        ],
    ),
    (
        R::FailedStarttls,
        &[
            "starttls",
            "tls required",
            "tls negotiation",
            "tls handshake",
            "must issue a starttls",
        ],
    ),
    (
        R::Rejected,
        &[
            "sender address rejected",
            "sender rejected",
            "sender verify failed",
            "sender verification",
            "invalid sender",
            "sender not allowed",
            "sender domain",
            "domain of sender address",
            "sender is not",
            "bad sender",
            "sender denied",
            "from address",
            "envelope sender",
            "mail from",
            "sender address",
            "refused mail",
            "rejected by",
            "not accepted",
            "your e-mail is redundant",
            "sender unknown",
            "unknown sender",
            "return path",
            "rejected",
        ],
    ),
    (
        R::Filtered,
        &[
            "filtered",
            "filter",
            "recipient refused",
            "does not accept",
            "is not accepting",
            "no longer accepts",
            "not permitted",
            "not allowed",
            "message is not allowed",
            "rejected by the recipient",
            "recipient has blocked",
            "restricted",
            "user refused",
            "due to recipient's",
        ],
    ),
    (
        R::PolicyViolation,
        &[
            "policy",
            "prohibited",
            "not accepted for policy reasons",
            "violat",
            "restriction",
            "terms of service",
        ],
    ),
    (
        R::SystemFull,
        &[
            "system full",
            "disk full",
            "insufficient system storage",
            "insufficient disk space",
            "out of disk",
            "no space left",
            "file system full",
        ],
    ),
    (
        R::Expired,
        &[
            "retry time exceeded",
            "retry timeout exceeded",
            "delivery time expired",
            "message expired",
            "expired",
            "gave up",
            "giving up",
            "given up",
            "too long in queue",
            "in the queue too long",
            "queue too long",
            "could not be delivered within",
            "was not delivered within",
            "have been unable to deliver",
            "could not deliver for",
            "delivery attempts",
            "retry limit",
            "undeliverable for",
            "lifetime",
            "message is too old",
            "no longer attempting",
            "couldn't be delivered in",
            "delivery timeout",
            "timeout waiting",
            "has not been delivered",
            "delay",
            "will retry",
            "still trying",
            "could not be delivered for",
        ],
    ),
    (
        R::NetworkError,
        &[
            "connection timed out",
            "timed out",
            "timeout",
            "connection refused",
            "network is unreachable",
            "no route to host",
            "lost connection",
            "connection reset",
            "could not connect",
            "couldn't connect",
            "unable to connect",
            "can't connect",
            "cannot connect",
            "failed to connect",
            "connection dropped",
            "connection closed",
            "temporary lookup failure",
            "malformed or unexpected name server reply",
            "no answer",
            "dns",
            "name server",
            "nameserver",
            "routing loop",
            "mail loop",
            "too many hops",
            "hop count exceeded",
            "loop detected",
            "network",
            "unreachable",
            "connection",
        ],
    ),
    (
        R::SyntaxError,
        &[
            "syntax error",
            "command unrecognized",
            "unrecognized command",
            "bad sequence of commands",
            "command not recognized",
            "line too long",
        ],
    ),
    (
        R::SystemError,
        &[
            "system error",
            "internal error",
            "server error",
            "local error",
            "configuration error",
            "temporary failure",
            "temporarily unavailable",
            "service unavailable",
            "system not accepting",
            "resources",
            "server is busy",
            "try again later",
            "processing error",
            "i/o error",
            "out of memory",
            "unavailable",
        ],
    ),
    (
        R::OnHold,
        &["on hold", "held for", "quarantine", "quarantined"],
    ),
    (
        R::Suppressed,
        &["suppression list", "suppressed", "on our suppression"],
    ),
];

struct Table {
    ac: AhoCorasick,
    /// Pattern id → priority (index in PHRASES) and reason.
    meta: Vec<(usize, R)>,
}

static TABLE: LazyLock<Option<Table>> = LazyLock::new(|| {
    let mut pats = Vec::new();
    let mut meta = Vec::new();
    for (prio, (reason, phrases)) in PHRASES.iter().enumerate() {
        for p in *phrases {
            pats.push(*p);
            meta.push((prio, *reason));
        }
    }
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&pats)
        .ok()?;
    Some(Table { ac, meta })
});

/// The highest-priority reason whose phrase occurs in `text`.
pub fn by_text(text: &str) -> Option<R> {
    let t = TABLE.as_ref()?;
    let mut best: Option<(usize, R)> = None;
    for m in t.ac.find_overlapping_iter(text) {
        if let Some(&(prio, r)) = t.meta.get(m.pattern().as_usize()) {
            if best.is_none_or(|b| prio < b.0) {
                best = Some((prio, r));
            }
        }
    }
    best.map(|b| b.1)
}

fn parts(code: &str) -> Option<(u8, u16, u16)> {
    let mut it = code.split('.');
    let c = it.next()?.parse().ok()?;
    let s = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    Some((c, s, d))
}

/// Reasons of status codes that mean one thing (rule 2).
pub fn by_code(code: &str) -> Option<R> {
    let (_c, s, d) = parts(code)?;
    Some(match (s, d) {
        (1, 1) | (1, 3) | (1, 10) | (1, 351) => R::UserUnknown,
        (1, 2) => R::HostUnknown,
        (1, 6) => R::HasMoved,
        (1, 7) | (1, 8) => R::Rejected,
        (2, 1) => R::Suspend,
        (2, 2) => R::MailboxFull,
        (2, 3) => R::ExceedLimit,
        (3, 1) => R::SystemFull,
        (3, 4) => R::MesgTooBig,
        (4, 4) => R::HostUnknown,
        (4, 7) => R::Expired,
        (5, _) if d != 0 => R::SyntaxError,
        (6, _) if d != 0 => R::ContentError,
        (7, 13) => R::Suspend,
        (7, 17) => R::HasMoved,
        (7, 20..=24) | (7, 26) | (7, 509) => R::AuthFailure,
        (7, 25) => R::RequirePtr,
        (7, 27) => R::NotAccept,
        (7, 606..=609) => R::Blocked,
        (7, 650) => R::BadReputation,
        _ => return None,
    })
}

/// Fallback reasons of generic codes (rule 4).
pub fn by_class(code: &str) -> Option<R> {
    let (_c, s, d) = parts(code)?;
    Some(match (s, d) {
        (2, 0) => R::Filtered,
        (3, _) => R::SystemError,
        (4, 1) | (4, 2) | (4, 6) => R::NetworkError,
        (4, 3) => R::SystemError,
        (4, _) => R::NetworkError,
        (5, _) => R::SyntaxError,
        (6, _) => R::ContentError,
        (7, 1) => R::SecurityError,
        (7, _) => R::SecurityError,
        _ => return None,
    })
}

/// Decides the reason for one recipient (rules 1–4).
pub fn decide(status: Option<&str>, diagnostic: &str, context: &str, action: Option<&str>) -> R {
    if action == Some("delivered") || action == Some("relayed") || action == Some("expanded") {
        return R::Delivered;
    }
    if let Some(r) = by_text(diagnostic) {
        return r;
    }
    if let Some(r) = status.and_then(by_code) {
        return r;
    }
    if let Some(r) = by_text(context) {
        return r;
    }
    if action == Some("delayed") {
        return R::Expired;
    }
    if let Some(r) = status.and_then(by_class) {
        return r;
    }
    R::Undefined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_beats_generic_code() {
        assert_eq!(
            decide(Some("5.7.1"), "550 5.7.1 user unknown", "", None),
            R::UserUnknown
        );
        assert_eq!(decide(Some("5.2.2"), "", "", None), R::MailboxFull);
        assert_eq!(
            decide(Some("5.0.0"), "Relay access denied", "", None),
            R::NoRelaying
        );
        assert_eq!(decide(None, "", "", None), R::Undefined);
        assert_eq!(
            decide(Some("2.0.0"), "", "", Some("delivered")),
            R::Delivered
        );
    }
}

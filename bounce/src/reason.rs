//! Why a recipient failed: the reason (SPEC §8, Sisimai's vocabulary) from the enhanced status
//! code and the diagnostic text together.
//!
//! # Rules, in priority order
//!
//! The diagnostic text is searched (ASCII case-insensitive, one Aho-Corasick pass) for the
//! phrases of [`PHRASES`]. A phrase is *strong* (specific: "mailbox is full", "relay access
//! denied") or *weak* (generic words listed in `WEAK`: "rejected", "denied", "policy",
//! "connection", ...). The best match is the strong one listed first in the table, else the
//! weak one listed first. Boilerplate in `IGNORED` (Postfix's "delivery temporarily
//! suspended:", Gmail's "Technical details of permanent failure") is skipped. The SMTP command
//! the error answered is read from the text ("in reply to RCPT TO command", "after end of
//! data", ">>> DATA", "after MAIL FROM", "after initial connection", ...).
//!
//! 1. `action: delivered/relayed/expanded` → `delivered`; the non-standard `action: expired`
//!    → `expired`.
//! 2. Code X.2.1 (mailbox disabled) with no text reason or only "user unknown", not in answer
//!    to RCPT TO → `suspend`.
//! 3. Refused in answer to MAIL FROM with no more specific text → `rejected` (the sender).
//! 4. Refused at connection, greeting or HELO/EHLO with only weak or no text → `blocked`.
//! 5. `action: delayed`, no specific code, only weak or no text → `expired`.
//!    Then Postfix's `<rcpt>: Recipient address rejected: <text>`: only the text after the
//!    phrase is searched (the access table's or policy service's own words: "Rejected as spam" →
//!    `spam_detected`, "User unknown in local recipient table" → `user_unknown`). When that text
//!    says nothing or only repeats a refusal ("Access denied", "rejected", "blocked"), the code
//!    decides: a specific code (rule 6 list), else an X.7.x code → its class (`security_error`: a
//!    policy refusal, the address may well exist), else a temporary code (4.x.x or a 4xx reply,
//!    e.g. greylisting) → `expired`, else `user_unknown` (a bare permanent refusal of the
//!    address; Exchange Online's "5.4.1 Recipient address rejected: Access denied" for addresses
//!    it does not know).
//! 6. A specific status code ([`by_code`]) with only a weak phrase → the code's reason:
//!    X.1.1/X.1.3/X.1.10/5.1.351 `user_unknown`, X.1.2 `host_unknown`, X.1.6 `has_moved`,
//!    X.1.7/X.1.8 `rejected`, X.2.1 `suspend`, X.2.2 `mailbox_full`, X.2.3 `exceed_limit`,
//!    X.3.1 `system_full`, X.3.4 `mesg_too_big`, X.4.4 `host_unknown`, X.4.7 `expired`,
//!    X.5.x `syntax_error`, X.6.x `content_error`, X.7.8/X.7.9 `security_error`,
//!    X.7.13 `suspend`, X.7.17 `has_moved`, X.7.20–24/26 and 5.7.509 `auth_failure`,
//!    X.7.25 `require_ptr`, X.7.27 `not_accept`, 5.7.606–609 `blocked`, X.7.650
//!    `bad_reputation`. Also X.2.3 beats "message too big" wording (it is a limit).
//! 7. A routing code X.4.N (not X.4.7) with only a weak phrase, or with qmail's "in the queue
//!    too long" (said after every temporary failure) → the code's class (rule 10).
//! 8. "host.example does not exist" (a domain before the phrase) → `host_unknown`.
//! 9. The text's reason — except that "user unknown"-type words not said in answer to RCPT TO
//!    (and without an X.1.1-type code) mean a filter refused the content after DATA:
//!    `filtered`. Directory-lookup wording (`DEFINITIVE`: "not listed in Domino Directory",
//!    "recipient name is not recognized", "address couldn't be found", "address rejected",
//!    ...) stays `user_unknown`.
//! 10. The code's reason (rule 6 list); then, for a recipient that has a diagnostic, the
//!     generic class of a non-X.0.0 code ([`by_class`]: X.2.0 `filtered`, X.3.x
//!     `system_error`, X.4.x `network_error`, X.5.x `syntax_error`, X.6.x `content_error`,
//!     X.7.x `security_error`).
//! 11. The text of the whole report (single-recipient reports often explain away from the
//!     address); `action: delayed` → `expired`; the generic class of any code.
//! 12. Reply code 451 → `system_error`, 452 → `system_full` (RFC 5321 §4.2.3).
//! 13. A diagnostic nothing above understood → `on_hold` (kept for a human); no diagnostic at
//!     all → `undefined`.
//!
//! After this, a `network_error` about time-outs on a recipient that finally failed without a
//! permanent code is `expired` (the sender gave up retrying).
//!
//! Hard/soft: [`mm_domain::BounceReason::is_hard`] with `permanent` = status class 5 (or a
//! 5xx reply code when there is no status; a failure without any code counts as permanent).
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use mm_domain::BounceReason as R;
use std::sync::LazyLock;

/// The phrase table: reason and the phrases that indicate it, highest priority first.
pub const PHRASES: &[(R, &[&str])] = &[
    (
        R::Blocked,
        &[
            "dnsbl",
            "rbl",
            "blocklist",
            "spamhaus",
            "spamcop",
            "sorbs",
            // The sending host was found to be an open relay (never said of the receiver).
            "is an open relay",
            "listed as an open relay",
        ],
    ),
    (
        R::Rejected,
        &[
            "sender address rejected",
            "domain of sender address",
            "sender rejected",
            "sender verify failed",
            "sender verification failed",
            "invalid sender",
            "sender not allowed",
            "from: domain is invalid",
            "sender domain must exist",
            "sender address is invalid",
            "unknown sender",
            "sender unknown",
            "bad sender",
            "sender denied",
            "your e-mail is redundant",
            "envelope sender",
            "sender was rejected",
            "access denied",
            "groups.google.com",
            "purported responsible address",
            "send mail as",
        ],
    ),
    (
        R::SpamDetected,
        &[
            "spam classification",
            "classified as spam",
            "detected as spam",
            "blacklisted url",
        ],
    ),
    (
        R::Filtered,
        &[
            "recipient preferences",
            "recipients was rejected",
            "recipient was rejected",
        ],
    ),
    (R::PolicyViolation, &["network not allowed"]),
    (
        R::SecurityError,
        &["smtp authentication", "authentication required"],
    ),
    (
        R::Suspend,
        &["account is blocked", "recipient account is blocked"],
    ),
    (
        R::UserUnknown,
        &[
            "unknown user:",
            "address couldn't be found",
            "invalid final delivery userid",
        ],
    ),
    (
        R::NotAccept,
        &[
            "no mx found",
            "no mx record",
            "mx or srv record indicated no smtp service",
            "couldn't find a mail exchanger",
            "could not find a mail exchanger",
            "doesn't receive email",
            "does not receive email",
        ],
    ),
    (
        R::NetworkError,
        &[
            "host name lookup failure",
            "dns error",
            "temporary lookup failure",
            "host not found, try again",
        ],
    ),
    (
        R::NotCompliantRfc,
        &[
            "duplicate header",
            "multiple addresses in from",
            "multiple from",
        ],
    ),
    (
        R::PolicyViolation,
        &[
            "policy reasons",
            "by policy",
            "content presents a potential",
            "header error",
        ],
    ),
    (
        R::Expired,
        &[
            "did not accept our requests to connect",
            "unable to deliver this message after",
        ],
    ),
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
            "authentication checks failed",
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
            "host or domain name not found",
            "domain name not found",
            "recipient domain must exist",
            "domain must exist",
            "unknown domain",
            "invalid domain",
            "domain couldn't be found",
            "domain could not be found",
            "mx record",
            "all relevant mx records point to non-existent hosts",
            "unable to resolve",
            "non-existent domain",
            "nxdomain",
            "recipient address rejected: domain not found",
            "no such host",
            "unresolvable",
            "host lookup failed",
            "domain may not exist",
            "domain isn't in my list of allowed rcpthosts",
            "illegal host/domain name",
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
            "recipient address rejected",
            "address rejected",
        ],
    ),
    (
        R::TooManyConn,
        &[
            "connection rate limit",
            "too many recipients",
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
        R::Speeding,
        &[
            "receiving mail too quickly",
            "receiving mail at a rate",
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
        R::ExceedLimit,
        &[
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
            "multiple from",
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
            "not accepting connections",
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
            "not reachable",
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

/// MTA boilerplate that contains reason words but says nothing about the reason (Postfix's
/// "delivery temporarily suspended:" prefix on every deferral, Gmail's headings).
const IGNORED: &[&str] = &[
    "delivery temporarily suspended",
    "technical details of permanent failure",
    "technical details of temporary failure",
    "this is a permanent error",
    "permanent error",
    "delivery report unavailable",
];

/// Phrases too generic to overrule a specific status code (rule 1 yields to rule 2 for them).
const WEAK: &[&str] = &[
    "rejected",
    "denied",
    "refused",
    "block",
    "blocked",
    "filter",
    "filtered",
    "policy",
    "not allowed",
    "not permitted",
    "not accepted",
    "prohibited",
    "restricted",
    "violat",
    "unavailable",
    "service unavailable",
    "connection",
    "network",
    "dns",
    "timeout",
    "timed out",
    "delay",
    "expired",
    "message size",
    "size limit",
    "message too large",
    "message is too large",
    "too big for",
    "exceeds size",
    "suspicious",
    "detected as",
    "message refused",
    "rejected by",
    "refused mail",
    "does not exist",
    "doesn't exist",
    "not exist",
    "no such",
    "try again later",
    "resources",
    "temporary failure",
    "gave up",
    "giving up",
    "have been unable to deliver",
    "access denied",
    "spam",
    "recipient address rejected",
    "address rejected",
];

struct Table {
    ac: AhoCorasick,
    /// The patterns, by id.
    pats: Vec<&'static str>,
    /// Pattern id → priority (index in PHRASES) and reason, and whether the phrase is weak;
    /// `None` for ignored boilerplate.
    meta: Vec<Option<(usize, R, bool)>>,
}

static TABLE: LazyLock<Option<Table>> = LazyLock::new(|| {
    let mut pats = Vec::new();
    let mut meta = Vec::new();
    for p in IGNORED {
        pats.push(*p);
        meta.push(None);
    }
    for (prio, (reason, phrases)) in PHRASES.iter().enumerate() {
        for p in *phrases {
            pats.push(*p);
            meta.push(Some((prio, *reason, WEAK.contains(p))));
        }
    }
    // A contiguous NFA, not a DFA: with ~500 case-insensitive phrases the DFA took most of a
    // short `dsn parse` run to build (once per process), and the texts searched here (a
    // diagnostic, a bounded context) are short enough that the NFA searches them as fast.
    let ac = AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&pats)
        .ok()?;
    Some(Table { ac, pats, meta })
});

/// The highest-priority reason whose phrase occurs in `text`, and whether that phrase is weak.
pub fn by_text_weak(text: &str) -> Option<(R, bool)> {
    by_text_phrase(text).map(|(r, w, _)| (r, w))
}

/// Like [`by_text_weak`], with the phrase that decided.
fn by_text_phrase(text: &str) -> Option<(R, bool, &'static str)> {
    let t = TABLE.as_ref()?;
    let mut ignored: Vec<(usize, usize)> = Vec::new();
    let mut found: Vec<(usize, usize, usize, R, bool, usize)> = Vec::new();
    for m in t.ac.find_overlapping_iter(text) {
        let id = m.pattern().as_usize();
        match t.meta.get(id) {
            Some(None) => ignored.push((m.start(), m.end())),
            Some(Some((prio, r, weak))) => found.push((m.start(), m.end(), *prio, *r, *weak, id)),
            None => {}
        }
    }
    let mut best: Option<(usize, R, bool, usize)> = None;
    for (s, e, prio, r, weak, id) in found {
        if ignored.iter().any(|(is, ie)| *is <= s && e <= *ie) {
            continue;
        }
        let better = match best {
            None => true,
            // A strong phrase beats a weak one; then priority decides.
            Some((bp, _, bw, _)) => (bw && !weak) || (bw == weak && prio < bp),
        };
        if better {
            best = Some((prio, r, weak, id));
        }
    }
    best.map(|b| (b.1, b.2, t.pats.get(b.3).copied().unwrap_or_default()))
}

/// The highest-priority reason whose phrase occurs in `text`.
pub fn by_text(text: &str) -> Option<R> {
    by_text_weak(text).map(|t| t.0)
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
        (6, _) => R::ContentError,
        (7, 8) | (7, 9) => R::SecurityError,
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

/// User-unknown phrases that only a directory lookup produces (Domino, Exchange, Google's own
/// wording): they stay `user_unknown` whatever stage the text names.
const DEFINITIVE: &[&str] = &[
    "unknown user:",
    "address rejected",
    "not listed in",
    "recipient name is not recognized",
    "address couldn't be found",
    "invalid final delivery userid",
];

/// The SMTP command a rejection answered, as far as the text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `MAIL FROM`.
    Mail,
    /// `RCPT TO`.
    Rcpt,
    /// `DATA` or end of data.
    Data,
    /// The connection or greeting itself.
    Conn,
}

const COMMAND_WORDS: &[(&str, Command)] = &[
    ("rcpt to", Command::Rcpt),
    ("after initial connection", Command::Conn),
    ("after ehlo", Command::Conn),
    ("after helo", Command::Conn),
    ("in reply to ehlo", Command::Conn),
    ("in reply to helo", Command::Conn),
    ("refused to talk to me", Command::Conn),
    ("greeting", Command::Conn),
    ("invalid recipient", Command::Rcpt),
    ("mailbox unavailable", Command::Rcpt),
    ("rcpt_to", Command::Rcpt),
    ("rcpt command", Command::Rcpt),
    ("after rcpt", Command::Rcpt),
    ("smtp:rcpt", Command::Rcpt),
    ("rcpt>", Command::Rcpt),
    ("end of data", Command::Data),
    ("after data", Command::Data),
    ("in reply to data", Command::Data),
    (">>> data", Command::Data),
    ("final data", Command::Data),
    ("data command", Command::Data),
    ("command data", Command::Data),
    ("smtp:data", Command::Data),
    ("mail from:", Command::Mail),
    ("after mail from", Command::Mail),
    ("in reply to mail", Command::Mail),
    ("mail command", Command::Mail),
];

static COMMANDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(COMMAND_WORDS.iter().map(|c| c.0))
        .ok()
});

/// The last SMTP command named in `text` (the one the error answered): of all the
/// (overlapping) occurrences of [`COMMAND_WORDS`], the one that starts last.
///
/// Found with a non-overlapping search, several times cheaper per byte than an overlapping
/// one, and an overlapping search only from the start of its last match: an occurrence that
/// starts last is either that match or overlaps it (a non-overlapping search misses only
/// occurrences starting inside the match before; one starting after the last match would have
/// been found), so it lies in the text from there on, where the overlapping search sees the
/// same occurrences. No word is a prefix of another, so no two occurrences start together.
pub fn command(text: &str) -> Option<Command> {
    let ac = COMMANDS.as_ref()?;
    let last = ac.find_iter(text).last()?;
    let tail = text.get(last.start()..)?;
    ac.find_overlapping_iter(tail)
        .max_by_key(|m| m.start())
        .and_then(|m| COMMAND_WORDS.get(m.pattern().as_usize()))
        .map(|c| c.1)
}

/// Whether the word before "does not exist" is a host name (dots, no `@`).
fn names_domain(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let Some(pos) = lower
        .find(" does not exist")
        .or_else(|| lower.find(" doesn't exist"))
    else {
        return false;
    };
    let word = lower
        .get(..pos)
        .and_then(|b| b.split_whitespace().last())
        .unwrap_or_default()
        .trim_matches(['<', '>', '"', '\'', '(', ')']);
    word.contains('.')
        && !word.contains('@')
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && word.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The text after Postfix's "Recipient address rejected" (`: ` and `.` skipped), if the
/// diagnostic has that phrase.
fn recipient_rejection(diagnostic: &str) -> Option<&str> {
    const PHRASE: &[u8] = b"recipient address rejected";
    let pos = diagnostic
        .as_bytes()
        .windows(PHRASE.len())
        .position(|w| w.eq_ignore_ascii_case(PHRASE))?;
    let rest = diagnostic.get(pos + PHRASE.len()..)?;
    Some(rest.trim_start_matches([':', '.', ' ', '\t', '\r', '\n']))
}

/// Decides the reason for one recipient (rules 1–4).
pub fn decide(status: Option<&str>, diagnostic: &str, context: &str, action: Option<&str>) -> R {
    if action == Some("delivered") || action == Some("relayed") || action == Some("expanded") {
        return R::Delivered;
    }
    // Non-standard `Action: expired` (SendGrid and others): the sender gave up.
    if action == Some("expired") {
        return R::Expired;
    }
    let code = status.and_then(by_code);
    // Postfix's `<rcpt>: Recipient address rejected: <text>`: the access table's or policy
    // service's text after the colon is what explains the rejection.
    let detail = recipient_rejection(diagnostic);
    let (text, weak, phrase) = match by_text_phrase(detail.unwrap_or(diagnostic)) {
        Some((r, w, p)) => (Some(r), w, p),
        None => (None, false, ""),
    };
    // The command is looked for (in the diagnostic, else the whole context) only when a rule
    // below needs it: most recipients are decided without.
    let cmd_once = std::cell::OnceCell::new();
    // A report's text used as its own recipient's diagnostic is often the whole context too:
    // a second search of the same text would find nothing new.
    let same = context == diagnostic;
    let cmd = || {
        *cmd_once.get_or_init(|| {
            command(diagnostic).or_else(|| if same { None } else { command(context) })
        })
    };
    // A disabled mailbox often answers "user unknown"; the code is the more precise word.
    if code == Some(R::Suspend)
        && matches!(text, None | Some(R::UserUnknown) | Some(R::Filtered))
        && cmd() != Some(Command::Rcpt)
    {
        return R::Suspend;
    }
    // Refused in answer to MAIL FROM: the sender was rejected.
    if matches!(
        text,
        None | Some(R::UserUnknown) | Some(R::Filtered) | Some(R::HostUnknown)
    ) && cmd() == Some(Command::Mail)
    {
        return R::Rejected;
    }
    // Refused before any command: the sending host is blocked.
    if (weak || text.is_none()) && cmd() == Some(Command::Conn) {
        return R::Blocked;
    }
    // A delay report that names no specific cause: it is waiting, i.e. expiring.
    if action == Some("delayed") && code.is_none() && (weak || text.is_none()) {
        return R::Expired;
    }
    // "Recipient address rejected" whose text only repeats that it was rejected or denied
    // ("Access denied", the access table's default): the code decides; a security/policy
    // code (X.7.x) is that; otherwise the address itself was refused (Exchange Online says
    // "5.4.1 Recipient address rejected: Access denied" for an address it does not know).
    if detail.is_some()
        && (text.is_none()
            || (weak
                && (matches!(text, Some(R::Rejected | R::Blocked))
                    || phrase.contains("address rejected"))))
    {
        if let Some(c) = code {
            return c;
        }
        if let Some(r) = status
            .filter(|s| s.get(1..3) == Some(".7"))
            .and_then(by_class)
        {
            return r;
        }
        // A temporary refusal ("450 4.2.0 ...: Recipient address rejected: Greylisted") says
        // nothing about the address; a report of it means the sender stopped retrying.
        let temporary = match status {
            Some(s) => s.starts_with('4'),
            None => crate::scan::reply_code(diagnostic).is_some_and(|r| r.1 < 500),
        };
        if temporary {
            return R::Expired;
        }
        return R::UserUnknown;
    }
    // A specific code says more than a generic word.
    if let (Some(c), true) = (code, weak) {
        return c;
    }
    // X.2.3 "message length exceeds administrative limit" is a limit, however the text words it.
    if code == Some(R::ExceedLimit) && text == Some(R::MesgTooBig) {
        return R::ExceedLimit;
    }
    // A routing/network code (X.4.N) over a generic word, or over "gave up" (qmail says
    // "in the queue too long" after every kind of temporary failure).
    if weak || (text == Some(R::Expired) && phrase.contains("queue too long")) {
        if let Some(c) = status
            .filter(|s| s.get(1..4) == Some(".4.") && !s.ends_with(".4.7"))
            .and_then(by_class)
        {
            return c;
        }
    }
    // "example.org does not exist": a domain, not a mailbox.
    if text == Some(R::UserUnknown) && phrase.ends_with("not exist") && names_domain(diagnostic) {
        return R::HostUnknown;
    }
    if let Some(r) = text {
        // "No such user" said after the message was sent (not in answer to RCPT TO) is a
        // filter's verdict on the content, not on the address — unless the code says so too.
        if r == R::UserUnknown
            && !DEFINITIVE.iter().any(|d| phrase.ends_with(d))
            && code != Some(R::UserUnknown)
            && cmd() != Some(Command::Rcpt)
        {
            return R::Filtered;
        }
        return r;
    }
    if let Some(r) = code {
        return r;
    }
    // The server's own words had nothing: a generic code of a recipient that has a
    // diagnostic says more than the rest of the report; without one, the report text first.
    let generic = status.filter(|s| !s.ends_with(".0.0")).and_then(by_class);
    if let (Some(g), false) = (generic, diagnostic.trim().is_empty()) {
        return g;
    }
    // (`text` is `None` here: when it came from the same text, so would this.)
    if detail.is_some() || !same {
        if let Some(r) = by_text(context) {
            return r;
        }
    }
    if action == Some("delayed") {
        return R::Expired;
    }
    if let Some(r) = status.and_then(by_class) {
        return r;
    }
    // RFC 5321 §4.2.3: 451 "local error in processing", 452 "insufficient system storage".
    match crate::scan::reply_code(diagnostic).map(|r| r.1) {
        Some(451) => return R::SystemError,
        Some(452) => return R::SystemFull,
        _ => {}
    }
    // The server said something, but nothing this table knows: kept for a human to read.
    if !diagnostic.trim().is_empty() {
        return R::OnHold;
    }
    R::Undefined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_address_rejected_is_decided_by_its_text() {
        // (status, start of the reply, text after "Recipient address rejected", reason)
        const CASES: &[(Option<&str>, &str, &str, R)] = &[
            (
                Some("5.7.1"),
                "554 5.7.1",
                ": Rejected as spam",
                R::SpamDetected,
            ),
            (
                Some("5.7.1"),
                "554 5.7.1",
                ": blocked by spam filter",
                R::SpamDetected,
            ),
            (
                Some("5.7.1"),
                "554 5.7.1",
                ": Access denied",
                R::SecurityError,
            ),
            (
                Some("5.0.0"),
                "550 5.0.0",
                ": Domain not found",
                R::HostUnknown,
            ),
            (
                Some("5.1.1"),
                "550 5.1.1",
                ": User unknown in local recipient table",
                R::UserUnknown,
            ),
            (Some("5.0.0"), "550", ".", R::UserUnknown),
            (None, "450", ": Greylisted", R::Expired),
        ];
        for (status, reply, text, want) in CASES {
            let diag = format!(
                "{reply} <a@b.test>: Recipient address rejected{text} (in reply to RCPT TO command)"
            );
            assert_eq!(decide(*status, &diag, "", Some("failed")), *want, "{diag}");
        }
    }

    #[test]
    fn command_is_the_last_occurrence() {
        let ac = COMMANDS.as_ref().unwrap();
        let overlapping = |t: &str| {
            ac.find_overlapping_iter(t)
                .max_by_key(|m| m.start())
                .map(|m| COMMAND_WORDS[m.pattern().as_usize()].1)
        };
        // `command` relies on it: no two occurrences start at the same byte.
        for (a, _) in COMMAND_WORDS {
            for (b, _) in COMMAND_WORDS {
                assert!(a == b || !b.starts_with(a), "{a} / {b}");
            }
        }
        let mut texts = vec![
            String::new(),
            "in reply to data command".into(),
            "after mail from: rcpt to".into(),
            "AFTER RCPT TO:<a@b> ... in reply to DATA command data".into(),
            "end of data command".into(),
            "nothing here".into(),
        ];
        for (a, _) in COMMAND_WORDS {
            for (b, _) in COMMAND_WORDS {
                texts.push(format!("{a}{b}"));
                texts.push(format!("x {a} {b}"));
                // Overlapping by a few bytes where the words allow it.
                for k in 1..a.len().min(b.len()) {
                    if a.as_bytes()[a.len() - k..] == b.as_bytes()[..k] {
                        texts.push(format!("{}{}", a, &b[k..]));
                    }
                }
            }
        }
        for t in &texts {
            assert_eq!(command(t), overlapping(t), "{t:?}");
        }
    }

    #[test]
    fn text_beats_generic_code() {
        assert_eq!(
            decide(
                Some("5.7.1"),
                "550 5.7.1 user unknown (in reply to RCPT TO command)",
                "",
                None
            ),
            R::UserUnknown
        );
        // The same words after DATA: a filter rejected the content.
        assert_eq!(
            decide(
                Some("5.0.0"),
                "550 user unknown (in reply to end of DATA command)",
                "",
                None
            ),
            R::Filtered
        );
        // A specific code beats a generic word; a strong phrase beats the code.
        assert_eq!(
            decide(Some("5.2.2"), "550 rejected", "", None),
            R::MailboxFull
        );
        assert_eq!(
            decide(Some("5.1.1"), "552 mailbox is full", "", None),
            R::MailboxFull
        );
        assert_eq!(decide(Some("5.2.2"), "", "", None), R::MailboxFull);
        assert_eq!(
            decide(Some("5.0.0"), "Relay access denied", "", None),
            R::NoRelaying
        );
        assert_eq!(
            decide(
                Some("5.0.0"),
                "550 no access from mail server [192.0.2.5] which is an open relay",
                "",
                None
            ),
            R::Blocked
        );
        assert_eq!(decide(None, "", "", None), R::Undefined);
        assert_eq!(
            decide(Some("2.0.0"), "", "", Some("delivered")),
            R::Delivered
        );
    }
}

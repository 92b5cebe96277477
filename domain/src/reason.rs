//! The bounce-reason vocabulary (SPEC §8) and the kinds of reports the milter sees.
use crate::status::snake_enum;

snake_enum! {
    /// Why a message bounced: the vocabulary the Sisimai project established, in snake_case.
    BounceReason {
        /// The mailbox does not exist.
        UserUnknown => "user_unknown",
        /// The mailbox is over quota.
        MailboxFull => "mailbox_full",
        /// The domain or host does not exist.
        HostUnknown => "host_unknown",
        /// The recipient moved; the address is no longer valid.
        HasMoved => "has_moved",
        /// The host does not accept mail (null MX etc.).
        NotAccept => "not_accept",
        /// The sending IP/host is blocked by the receiver.
        Blocked => "blocked",
        /// Filtered by the recipient's rules.
        Filtered => "filtered",
        /// The sender address was rejected.
        Rejected => "rejected",
        /// Gave up after the queue lifetime.
        Expired => "expired",
        /// Network error.
        NetworkError => "network_error",
        /// Error on the remote system.
        SystemError => "system_error",
        /// The remote system's disk is full.
        SystemFull => "system_full",
        /// The mailbox is suspended / disabled.
        Suspend => "suspend",
        /// Rejected as spam.
        SpamDetected => "spam_detected",
        /// A virus was detected.
        VirusDetected => "virus_detected",
        /// A policy was violated.
        PolicyViolation => "policy_violation",
        /// SPF/DKIM/DMARC authentication failed.
        AuthFailure => "auth_failure",
        /// Bad sender reputation.
        BadReputation => "bad_reputation",
        /// The sending host has no PTR record.
        RequirePtr => "require_ptr",
        /// A security problem (e.g. authentication required).
        SecurityError => "security_error",
        /// The content was refused.
        ContentError => "content_error",
        /// The message is too big.
        MesgTooBig => "mesg_too_big",
        /// A size or count limit was exceeded.
        ExceedLimit => "exceed_limit",
        /// Relaying was denied.
        NoRelaying => "no_relaying",
        /// The message does not comply with the RFCs.
        NotCompliantRfc => "not_compliant_rfc",
        /// The local mailer program failed.
        MailerError => "mailer_error",
        /// SMTP syntax error.
        SyntaxError => "syntax_error",
        /// Too many connections.
        TooManyConn => "too_many_conn",
        /// Rate limited.
        Speeding => "speeding",
        /// STARTTLS failed.
        FailedStarttls => "failed_starttls",
        /// The address is on a suppression list.
        Suppressed => "suppressed",
        /// The message is held.
        OnHold => "on_hold",
        /// No better reason was found.
        Undefined => "undefined",
        /// An abuse/feedback report.
        Feedback => "feedback",
        /// An auto-reply (vacation).
        Vacation => "vacation",
        /// Delivered successfully.
        Delivered => "delivered",
    }
}

impl BounceReason {
    /// Hard bounces per SPEC §8: `user_unknown`, `host_unknown`, `has_moved`, and `not_accept`
    /// when the failure is permanent.
    pub fn is_hard(self, permanent: bool) -> bool {
        match self {
            BounceReason::UserUnknown | BounceReason::HostUnknown | BounceReason::HasMoved => true,
            BounceReason::NotAccept => permanent,
            _ => false,
        }
    }
}

snake_enum! {
    /// What kind of message arrived at the bounce address.
    ReportKind {
        /// A failure report (permanent or given up).
        Bounce => "bounce",
        /// A delay warning.
        Delay => "delay",
        /// A success notification.
        Delivery => "delivery",
        /// An ARF abuse / feedback report.
        Feedback => "feedback",
        /// An RFC 3834 auto-reply (vacation etc.); never a bounce.
        AutoReply => "auto_reply",
        /// Anything else.
        NotAReport => "not_a_report",
    }
}

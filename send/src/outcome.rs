//! What happened to one message at the relay, and how mail-send's errors map onto it.
use std::fmt;

/// The relay's verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx after the message: the relay took responsibility.
    Accepted {
        /// The relay's queue id, when its reply names one (`250 2.0.0 Ok: queued as 4XyZ`).
        queue_id: Option<String>,
        /// The final reply, e.g. `250 2.0.0 Ok: queued as 4XyZ`.
        reply: String,
    },
    /// 5xx at MAIL, RCPT, DATA or after the message: do not retry.
    Rejected {
        /// The reply code, e.g. 550.
        code: u16,
        /// The enhanced status code, e.g. `5.1.1`, when the relay sent one.
        enhanced: Option<String>,
        /// The reply text (without code and enhanced code).
        text: String,
    },
    /// 4xx, or the connection broke during the transaction: try again later (counts as an
    /// attempt).
    Deferred {
        /// What went wrong, for the log and the recipient record.
        text: String,
    },
    /// No relay could be reached (or the pool is shutting down): nothing was tried, so the
    /// message is not at fault. Wait for the relay and try again; this is not an attempt.
    Unreachable {
        /// Why, e.g. `127.0.0.1:25: Connection refused`.
        text: String,
    },
}

impl Outcome {
    /// The whole reply line for a rejection (`550 5.1.1 User unknown`), or the text of the
    /// other outcomes.
    pub fn reply_line(&self) -> String {
        match self {
            Outcome::Accepted { reply, .. } => reply.clone(),
            Outcome::Rejected {
                code,
                enhanced,
                text,
            } => match enhanced {
                Some(e) => format!("{code} {e} {text}"),
                None => format!("{code} {text}"),
            },
            Outcome::Deferred { text } | Outcome::Unreachable { text } => text.clone(),
        }
    }

    /// The outcome of a 2xx reply to the end of data.
    pub(crate) fn accepted(reply: &smtp_proto::Response<String>) -> Outcome {
        Outcome::Accepted {
            queue_id: queue_id(&reply.message),
            reply: format_reply(reply),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Accepted { .. } => write!(f, "accepted: {}", self.reply_line()),
            Outcome::Rejected { .. } => write!(f, "rejected: {}", self.reply_line()),
            Outcome::Deferred { .. } => write!(f, "deferred: {}", self.reply_line()),
            Outcome::Unreachable { .. } => write!(f, "relay unreachable: {}", self.reply_line()),
        }
    }
}

/// How a failed SMTP step leaves the connection.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The relay answered with a refusal; the connection is still usable after RSET (unless
    /// the code is 421, which announces that the relay closes it).
    Refused(smtp_proto::Response<String>),
    /// I/O error, timeout or garbage: the connection is unusable.
    Broken(String),
}

impl From<mail_send::Error> for Failure {
    fn from(e: mail_send::Error) -> Self {
        match e {
            mail_send::Error::UnexpectedReply(r) => Failure::Refused(r),
            mail_send::Error::UnparseableReply => {
                Failure::Broken("connection closed or unparseable reply".into())
            }
            other => Failure::Broken(other.to_string()),
        }
    }
}

impl Failure {
    /// The message outcome this failure implies.
    pub(crate) fn outcome(&self, stage: &str) -> Outcome {
        match self {
            Failure::Refused(r) if (500..600).contains(&r.code) => Outcome::Rejected {
                code: r.code,
                enhanced: enhanced(r),
                text: r.message.clone(),
            },
            Failure::Refused(r) => Outcome::Deferred {
                text: format!("{stage}: {}", format_reply(r)),
            },
            Failure::Broken(e) => Outcome::Deferred {
                text: format!("{stage}: {e}"),
            },
        }
    }

    /// True when the connection can carry on (after RSET).
    pub(crate) fn connection_usable(&self) -> bool {
        matches!(self, Failure::Refused(r) if r.code != 421 && !r.is_positive_completion())
    }
}

fn enhanced(r: &smtp_proto::Response<String>) -> Option<String> {
    (r.esc[0] != 0).then(|| format!("{}.{}.{}", r.esc[0], r.esc[1], r.esc[2]))
}

/// `code [x.y.z] text`.
pub(crate) fn format_reply(r: &smtp_proto::Response<String>) -> String {
    match enhanced(r) {
        Some(e) => format!("{} {e} {}", r.code, r.message),
        None => format!("{} {}", r.code, r.message),
    }
}

/// The queue id in a final reply of the form `… queued as ID` (Postfix: `Ok: queued as
/// 4XyZ12abc`). Other forms yield `None`; the whole reply is kept anyway.
pub(crate) fn queue_id(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("queued as ")? + "queued as ".len();
    let id: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_id_from_postfix_reply() {
        assert_eq!(
            queue_id("Ok: queued as 4XyZ12abcD").as_deref(),
            Some("4XyZ12abcD")
        );
        assert_eq!(queue_id("Ok").as_deref(), None);
        assert_eq!(queue_id("Ok: queued as ").as_deref(), None);
    }

    #[test]
    fn five_hundreds_reject_four_hundreds_defer() {
        let r = smtp_proto::Response::new(550, 5, 1, 1, "User unknown".to_string());
        assert_eq!(
            Failure::Refused(r).outcome("RCPT"),
            Outcome::Rejected {
                code: 550,
                enhanced: Some("5.1.1".into()),
                text: "User unknown".into()
            }
        );
        let r = smtp_proto::Response::new(450, 4, 2, 0, "Try again later".to_string());
        let f = Failure::Refused(r);
        assert!(f.connection_usable());
        assert_eq!(
            f.outcome("RCPT"),
            Outcome::Deferred {
                text: "RCPT: 450 4.2.0 Try again later".into()
            }
        );
        let r = smtp_proto::Response::new(421, 4, 3, 0, "closing".to_string());
        assert!(!Failure::Refused(r).connection_usable());
    }
}

//! Reading a private instance's `maillog_file`: delivery attempts (`to=<…>, … status=…`).

/// One delivery attempt as Postfix logged it, e.g.
/// `4Xy…: to=<unknown@remote.test>, relay=127.0.0.1[127.0.0.1]:2525, …, dsn=5.1.1,
/// status=bounced (host … said: 550 5.1.1 User unknown (in reply to RCPT TO command))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDelivery {
    /// The queue id.
    pub queue_id: String,
    /// The recipient.
    pub to: String,
    /// The `orig_to=` address, when logged.
    pub orig_to: Option<String>,
    /// The `relay=` value, e.g. `127.0.0.1[127.0.0.1]:2525`, `none`, `local`.
    pub relay: Option<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub dsn: Option<String>,
    /// `sent`, `bounced`, `deferred`, `expired`, …
    pub status: String,
    /// The text in parentheses after the status.
    pub detail: String,
    /// The whole log line.
    pub line: String,
}

impl LogDelivery {
    /// Parses a log line; `None` when it is not a delivery attempt.
    pub fn parse(line: &str) -> Option<LogDelivery> {
        let (_, rest) = line.split_once("]: ")?;
        let (queue_id, rest) = rest.split_once(": to=<")?;
        if queue_id.is_empty() || !queue_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let (to, rest) = rest.split_once('>')?;
        let field = |name: &str| -> Option<String> {
            let start = rest.find(&format!(", {name}="))? + name.len() + 3;
            let value = &rest[start..];
            let end = value.find(", ").unwrap_or(value.len());
            Some(value[..end].to_string())
        };
        let status_at = rest.find(", status=")? + ", status=".len();
        let status_part = &rest[status_at..];
        let (status, detail) = match status_part.split_once(' ') {
            Some((s, d)) => (s, d.trim()),
            None => (status_part, ""),
        };
        let detail = detail
            .strip_prefix('(')
            .and_then(|d| d.strip_suffix(')'))
            .unwrap_or(detail);
        Some(LogDelivery {
            queue_id: queue_id.to_string(),
            to: to.to_string(),
            orig_to: field("orig_to").map(|v| v.trim_matches(['<', '>']).to_string()),
            relay: field("relay"),
            dsn: field("dsn"),
            status: status.to_string(),
            detail: detail.to_string(),
            line: line.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_bounce_line() {
        let line = "Nov 27 23:30:01 outbound.test postfix/smtp[4242]: 4MxYz1AbC: \
            to=<unknown@remote.test>, relay=127.0.0.1[127.0.0.1]:40001, delay=0.1, \
            delays=0/0/0/0, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 \
            5.1.1 User unknown (in reply to RCPT TO command))";
        let d = LogDelivery::parse(line).expect("delivery");
        assert_eq!(d.queue_id, "4MxYz1AbC");
        assert_eq!(d.to, "unknown@remote.test");
        assert_eq!(d.relay.as_deref(), Some("127.0.0.1[127.0.0.1]:40001"));
        assert_eq!(d.dsn.as_deref(), Some("5.1.1"));
        assert_eq!(d.status, "bounced");
        assert!(
            d.detail.ends_with("(in reply to RCPT TO command)"),
            "{}",
            d.detail
        );
        assert!(LogDelivery::parse("Nov 27 x postfix/qmgr[1]: 4Mx: removed").is_none());
    }
}

//! RFC 3464 / RFC 6533 delivery-status parsing: the per-message block and one block per
//! recipient, from the text of a `message/delivery-status` (or `global-delivery-status`) part.
//! Also accepts the same fields pasted into a text/plain part, as some MTAs send them, and
//! recipient blocks not separated by blank lines.
use crate::fields::{self, Field};
use crate::scan;

/// Per-message fields.
#[derive(Debug, Default, Clone)]
pub struct PerMessage {
    /// `Reporting-MTA`, without the `dns;` type.
    pub reporting_mta: Option<String>,
    /// `Original-Envelope-Id`.
    pub envelope_id: Option<String>,
}

/// Per-recipient fields.
#[derive(Debug, Default, Clone)]
pub struct DsnRecipient {
    /// `Final-Recipient` (or `Original-Recipient` when there is no final one).
    pub address: String,
    /// `Action`, lower case.
    pub action: Option<String>,
    /// `Status` as written (`5.1.1`), if it looks like a status code.
    pub status: Option<String>,
    /// `Remote-MTA`, without the `dns;` type.
    pub remote_mta: Option<String>,
    /// `Diagnostic-Code`, without the `smtp;` type.
    pub diagnostic: Option<String>,
    /// The comment after the code in `Status` (`4.0.0 (host name lookup failure)`).
    pub status_comment: Option<String>,
}

/// Drops an RFC 3464 type prefix (`dns;`, `smtp;`, `rfc822;`).
fn untyped(v: &str) -> String {
    match v.split_once(';') {
        Some((ty, rest)) if ty.len() < 16 && !ty.contains(' ') => rest.trim().to_string(),
        _ => v.trim().to_string(),
    }
}

/// Parses the fields of a delivery-status text.
pub fn parse(text: &str) -> (PerMessage, Vec<DsnRecipient>) {
    let mut msg = PerMessage::default();
    let mut out: Vec<DsnRecipient> = Vec::new();
    for block in fields::blocks(text) {
        // Split the block into recipient groups: a second Final-Recipient (or
        // Original-Recipient) starts the next recipient. Fields before the first address
        // (some MTAs put Action/Status first) belong to the first group.
        let mut groups: Vec<Vec<&Field>> = vec![Vec::new()];
        for f in &block {
            let is_addr = f.name == "final-recipient" || f.name == "original-recipient";
            if is_addr {
                let cur = groups.last().map(Vec::as_slice).unwrap_or_default();
                if cur.iter().any(|g| g.name == f.name) {
                    groups.push(Vec::new());
                }
            }
            if let Some(g) = groups.last_mut() {
                g.push(f);
            }
        }
        for g in groups {
            let mut r = DsnRecipient::default();
            let mut original = None;
            for Field { name, value } in g {
                match name.as_ref() {
                    "reporting-mta" if msg.reporting_mta.is_none() => {
                        msg.reporting_mta = Some(untyped(value))
                    }
                    "original-envelope-id" if msg.envelope_id.is_none() && !value.is_empty() => {
                        msg.envelope_id = Some(value.trim().to_string())
                    }
                    "final-recipient" if r.address.is_empty() => {
                        r.address = scan::clean_address(value).unwrap_or_default()
                    }
                    "original-recipient" if original.is_none() => {
                        original = scan::clean_address(value)
                    }
                    "action" if r.action.is_none() => {
                        r.action = Some(value.trim().to_ascii_lowercase())
                    }
                    "status" if r.status.is_none() => {
                        r.status = scan::status_codes(value).first().map(|c| c.1.to_string());
                        let comment = value
                            .split_once('(')
                            .map(|(_, c)| c.trim_end().trim_end_matches(')').trim())
                            .filter(|c| !c.is_empty());
                        r.status_comment = comment.map(str::to_string);
                    }
                    "remote-mta" if r.remote_mta.is_none() => {
                        let v = untyped(value);
                        if !v.is_empty() {
                            r.remote_mta = Some(v);
                        }
                    }
                    "diagnostic-code" if r.diagnostic.is_none() => {
                        let v = untyped(value);
                        if !v.is_empty() {
                            r.diagnostic = Some(v);
                        }
                    }
                    _ => {}
                }
            }
            if r.address.is_empty() {
                r.address = original.unwrap_or_default();
            }
            push(&mut out, r);
        }
    }
    (msg, out)
}

fn push(out: &mut Vec<DsnRecipient>, r: DsnRecipient) {
    if !r.address.is_empty() {
        out.push(r);
    }
}

/// Field names that mark delivery-status (and feedback-report) text.
const MARKERS: &[&str] = &[
    "final-recipient:",
    "original-recipient:",
    "action:",
    "status:",
    "feedback-type:",
];

/// Which of [`MARKERS`] start a line of `text`, as a bit set. A look at each line start
/// (memchr for the line ends) rather than an automaton over every byte: this runs on every
/// text part, HTML-heavy ones included.
pub fn markers(text: &str) -> u8 {
    let bytes = text.as_bytes();
    let mut set = 0u8;
    let mut line = 0;
    while line < bytes.len() {
        // Every marker starts with one of these letters; most lines do not.
        if matches!(bytes[line] | 0x20, b'f' | b'o' | b'a' | b's') {
            let rest = bytes.get(line..).unwrap_or_default();
            for (i, m) in MARKERS.iter().enumerate() {
                if rest
                    .get(..m.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(m.as_bytes()))
                {
                    set |= 1 << i;
                }
            }
        }
        match memchr::memchr(b'\n', bytes.get(line..).unwrap_or_default()) {
            Some(p) => line += p + 1,
            None => break,
        }
    }
    set
}

/// Whether marker bits say delivery-status fields: a recipient field and an Action or Status.
pub fn is_delivery_status(markers: u8) -> bool {
    markers & 0b11 != 0 && markers & 0b1100 != 0
}

/// Whether marker bits include `Feedback-Type:`.
pub fn is_feedback(markers: u8) -> bool {
    markers & 0b10000 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_recipients_without_blank_line() {
        let t = "Reporting-MTA: dns; mx.example\nOriginal-Envelope-Id: abc\n\nFinal-Recipient: rfc822; <a@x.example>\nAction: failed\nStatus: 5.1.1 (user unknown)\nRemote-MTA: dns; mx.x.example\nDiagnostic-Code: smtp; 550 5.1.1 no\n  such user\nFinal-Recipient: rfc822; b@x.example\nAction: delayed\nStatus: 4.4.7\n";
        let (m, r) = parse(t);
        assert_eq!(m.reporting_mta.as_deref(), Some("mx.example"));
        assert_eq!(m.envelope_id.as_deref(), Some("abc"));
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].address, "a@x.example");
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(r[0].diagnostic.as_deref(), Some("550 5.1.1 no such user"));
        assert_eq!(r[0].remote_mta.as_deref(), Some("mx.x.example"));
        assert_eq!(r[1].action.as_deref(), Some("delayed"));
        assert!(is_delivery_status(markers(t)));
        assert!(!is_feedback(markers(t)));
    }
}

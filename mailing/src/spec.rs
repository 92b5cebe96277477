//! `mailing.toml`: the parsed file, field by field.
//!
//! ```toml
//! title = "Frühjahrsaktion 2025"
//! from = "Muster GmbH <newsletter@muster.example>"
//! reply_to = "vertrieb@muster.example"          # optional
//! report = "kunden-fruehjahr.csv"               # a file in DATA/reports
//! subject = "[Anrede] [Nachname], unsere Frühjahrsangebote"
//! html = "body.html"                            # default "body.html"
//! text = "body.txt"                             # optional; else derived from the HTML
//! attachments = ["Preisliste März.pdf"]
//! exclude = ["chef@kunde.example"]              # unticked by hand
//! send = false                                  # true starts sending (once)
//! documents = true                              # write customer-record documents
//!
//! [columns]                                     # optional overrides of column names
//! email = "E-Mail privat"
//!
//! [headers]                                     # optional extra headers
//! "X-Campaign" = "fruehjahr-2025"
//! ```
use mm_report::ColumnNames;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The contents of `mailing.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailingSpec {
    /// Title shown in lists.
    pub title: String,
    /// Sender: `addr` or `Name <addr>`.
    pub from: String,
    /// Optional Reply-To: `addr` or `Name <addr>`.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Report file name in `DATA/reports`.
    pub report: String,
    /// Subject, with merge fields.
    pub subject: String,
    /// HTML body file, default `body.html`.
    #[serde(default = "default_html")]
    pub html: String,
    /// Optional plain-text body file; without it the text is derived from the HTML.
    #[serde(default)]
    pub text: Option<String>,
    /// Attachment files.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// Addresses unticked by hand.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Column-name overrides.
    #[serde(default)]
    pub columns: ColumnNames,
    /// Extra headers, `Name = "value"` (merge fields allowed).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// File-driven trigger: `true` starts sending (once).
    #[serde(default)]
    pub send: bool,
    /// Write customer-record documents after sending (default true).
    #[serde(default = "yes")]
    pub documents: bool,
}

fn default_html() -> String {
    "body.html".into()
}

fn yes() -> bool {
    true
}

/// A mailbox: `addr` or `Display Name <addr>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    /// The display name, if any (quotes removed).
    pub name: Option<String>,
    /// The address.
    pub address: String,
}

impl Mailbox {
    /// Parses `addr` or `Name <addr>`; `None` when the address is not valid.
    pub fn parse(s: &str) -> Option<Mailbox> {
        let s = s.trim();
        let (name, addr) = match (s.rfind('<'), s.ends_with('>')) {
            (Some(lt), true) => {
                let name = s[..lt].trim().trim_matches('"').trim();
                (
                    (!name.is_empty()).then(|| name.to_string()),
                    &s[lt + 1..s.len() - 1],
                )
            }
            _ => (None, s),
        };
        if name
            .as_deref()
            .is_some_and(|n| n.chars().any(char::is_control))
        {
            return None;
        }
        let addr = addr.trim();
        crate::address::is_valid(addr).then(|| Mailbox {
            name,
            address: addr.to_string(),
        })
    }
}

/// Headers the renderer sets itself; a mailing may not set them.
pub const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "x-mailing-id",
    "return-path",
    "sender",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_full() {
        let m: MailingSpec = toml::from_str(
            "title = \"T\"\nfrom = \"a@b.de\"\nreport = \"r.csv\"\nsubject = \"S\"\n",
        )
        .unwrap();
        assert_eq!(m.html, "body.html");
        assert!(m.documents && !m.send && m.attachments.is_empty());

        let e = toml::from_str::<MailingSpec>(
            "title = \"T\"\nfrom = \"a@b.de\"\nreport = \"r.csv\"\nsubject = \"S\"\nattachment = []\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("attachment"), "{e}");
    }

    #[test]
    fn mailboxes() {
        assert_eq!(
            Mailbox::parse("\"Müller & Co\" <info@mueller.de>"),
            Some(Mailbox {
                name: Some("Müller & Co".into()),
                address: "info@mueller.de".into()
            })
        );
        assert_eq!(Mailbox::parse("info@mueller.de").unwrap().name, None);
        assert!(Mailbox::parse("Müller").is_none());
        assert!(Mailbox::parse("x <no>").is_none());
    }
}

//! The SMTP envelope of one message: who it is from (the VERP bounce address) and who it is
//! to, plus the DSN parameters requested when the relay offers the extension.
use crate::xtext;

/// Sender, recipient and DSN envelope id of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM` address (without angle brackets), e.g. `bounce+TOKEN@bounces.example`.
    pub sender: String,
    /// `RCPT TO` address (without angle brackets).
    pub recipient: String,
    /// DSN envelope id (`ENVID=`), e.g. the VERP token; `None` sends no `ENVID`.
    pub envid: Option<String>,
}

impl Envelope {
    /// The domain of the recipient, lowercased (for per-domain rates). Empty when the address
    /// has no `@`.
    pub fn recipient_domain(&self) -> String {
        self.recipient
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// ESMTP parameters of `MAIL FROM`: `RET=HDRS ENVID=…` when `dsn`; `SMTPUTF8` /
    /// `BODY=8BITMIME` when needed and offered.
    pub(crate) fn mail_params(
        &self,
        ext: &Extensions,
        eight_bit: bool,
    ) -> Vec<(String, Option<String>)> {
        let mut p = Vec::new();
        if ext.dsn {
            p.push(("RET".into(), Some("HDRS".into())));
            if let Some(id) = &self.envid {
                p.push(("ENVID".into(), Some(xtext::encode(id))));
            }
        }
        if eight_bit && ext.eight_bit_mime {
            p.push(("BODY".into(), Some("8BITMIME".into())));
        }
        if ext.smtputf8 && (!self.sender.is_ascii() || !self.recipient.is_ascii()) {
            p.push(("SMTPUTF8".into(), None));
        }
        p
    }

    /// ESMTP parameters of `RCPT TO`: `NOTIFY=FAILURE,DELAY ORCPT=rfc822;<xtext>` when `dsn`.
    pub(crate) fn rcpt_params(&self, ext: &Extensions) -> Vec<(String, Option<String>)> {
        if !ext.dsn {
            return Vec::new();
        }
        vec![
            ("NOTIFY".into(), Some("FAILURE,DELAY".into())),
            (
                "ORCPT".into(),
                Some(format!("rfc822;{}", xtext::encode(&self.recipient))),
            ),
        ]
    }
}

/// The EHLO extensions the sender cares about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    /// `DSN` (RFC 3461) is offered.
    pub dsn: bool,
    /// `8BITMIME` is offered.
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` is offered.
    pub smtputf8: bool,
    /// `PIPELINING` (RFC 2920) is offered: MAIL, RCPT and DATA may go out in one write.
    pub pipelining: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Envelope {
        Envelope {
            sender: "bounce+tok@b.example".into(),
            recipient: "Anna+news@Example.COM".into(),
            envid: Some("tok".into()),
        }
    }

    fn render(p: Vec<(String, Option<String>)>) -> String {
        p.into_iter()
            .map(|(k, v)| match v {
                Some(v) => format!(" {k}={v}"),
                None => format!(" {k}"),
            })
            .collect()
    }

    #[test]
    fn dsn_parameters_only_when_offered() {
        let dsn = Extensions {
            dsn: true,
            ..Default::default()
        };
        assert_eq!(
            render(env().mail_params(&dsn, false)),
            " RET=HDRS ENVID=tok"
        );
        assert_eq!(
            render(env().rcpt_params(&dsn)),
            " NOTIFY=FAILURE,DELAY ORCPT=rfc822;Anna+2Bnews@Example.COM"
        );
        let none = Extensions::default();
        assert_eq!(render(env().mail_params(&none, true)), "");
        assert_eq!(render(env().rcpt_params(&none)), "");
    }

    #[test]
    fn domain_is_lowercased() {
        assert_eq!(env().recipient_domain(), "example.com");
    }
}

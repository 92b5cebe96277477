//! One mail transaction as captured by `smtp-sink -d`: the envelope the client sent (MAIL and
//! RCPT arguments, so DSN parameters are visible) and the message bytes.
//!
//! smtp-sink writes its own header block (`X-Client-Addr`, `X-Client-Proto`, `X-Helo-Args`,
//! `X-Mail-Args`, one `X-Rcpt-Args` per RCPT, then a three-line `Received:`) before the message
//! and one empty line after it. Line ends in the dump are LF: smtp-sink strips the CR.

use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// One RCPT TO of a captured transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedRecipient {
    /// The address without angle brackets, as sent.
    pub address: String,
    /// ESMTP parameters after the address, e.g. `NOTIFY=FAILURE,DELAY`, `ORCPT=rfc822;a@b`.
    pub params: Vec<String>,
}

impl CapturedRecipient {
    /// Value of the ESMTP parameter `key` (case-insensitive), e.g. `param("NOTIFY")`.
    pub fn param(&self, key: &str) -> Option<&str> {
        find_param(&self.params, key)
    }
}

/// One message received by an [`SmtpSink`](crate::SmtpSink).
#[derive(Debug, Clone)]
pub struct CapturedMessage {
    /// The dump file it was read from.
    pub path: PathBuf,
    /// Client IP address as smtp-sink saw it.
    pub client_addr: String,
    /// The HELO/EHLO argument, if any.
    pub helo: Option<String>,
    /// The envelope sender without angle brackets (`""` for the null sender of reports).
    pub mail_from: String,
    /// ESMTP parameters of MAIL FROM, e.g. `RET=HDRS`, `ENVID=…`, `SIZE=…`, `BODY=8BITMIME`.
    pub mail_params: Vec<String>,
    /// Envelope recipients in the order sent.
    pub recipients: Vec<CapturedRecipient>,
    /// The message (headers and body) with LF line ends.
    pub data: Vec<u8>,
}

impl CapturedMessage {
    /// Reads and parses a dump file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let raw = std::fs::read(path)
            .map_err(|e| HarnessError::io(format!("read {}", path.display()), e))?;
        Self::parse(path, &raw)
    }

    /// Parses the bytes of a dump file (`path` is only used in errors and kept in the result).
    pub fn parse(path: &Path, raw: &[u8]) -> Result<Self> {
        let bad = |reason: &str| HarnessError::Parse {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let mut client_addr = None;
        let mut helo = None;
        let mut mail = None;
        let mut recipients = Vec::new();
        let mut offset = 0;
        let mut body_start = None;
        let mut received_lines = 0;
        while offset < raw.len() {
            let end = raw[offset..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(raw.len(), |i| offset + i + 1);
            let line = String::from_utf8_lossy(&raw[offset..end]);
            let line = line.trim_end_matches(['\r', '\n']);
            offset = end;
            if received_lines > 0 {
                // The smtp-sink Received: header is three lines: `from`, `by`, time stamp.
                received_lines += 1;
                if received_lines == 3 {
                    body_start = Some(offset);
                    break;
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("X-Client-Addr: ") {
                client_addr = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("X-Helo-Args: ") {
                helo = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
                mail = Some(split_path_and_params(v));
            } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ") {
                let (address, params) = split_path_and_params(v);
                recipients.push(CapturedRecipient { address, params });
            } else if line.starts_with("Received: ") {
                received_lines = 1;
            } else if line.starts_with("X-Client-Proto: ") {
            } else {
                return Err(bad(&format!("unexpected smtp-sink header line {line:?}")));
            }
        }
        let body_start = body_start.ok_or_else(|| bad("no smtp-sink Received: header"))?;
        let (mail_from, mail_params) = mail.ok_or_else(|| bad("no X-Mail-Args line"))?;
        let mut data = raw[body_start..].to_vec();
        // smtp-sink appends one empty line after the message.
        if data.ends_with(b"\n\n") || data == b"\n" {
            data.pop();
        }
        Ok(CapturedMessage {
            path: path.to_path_buf(),
            client_addr: client_addr.ok_or_else(|| bad("no X-Client-Addr line"))?,
            helo,
            mail_from,
            mail_params,
            recipients,
            data,
        })
    }

    /// Value of a MAIL FROM parameter (case-insensitive key), e.g. `mail_param("ENVID")`.
    pub fn mail_param(&self, key: &str) -> Option<&str> {
        find_param(&self.mail_params, key)
    }

    /// The recipient addresses only.
    pub fn recipient_addresses(&self) -> Vec<&str> {
        self.recipients.iter().map(|r| r.address.as_str()).collect()
    }

    /// The message parsed by mail-parser (`None` only for bytes it cannot make sense of).
    pub fn parsed(&self) -> Option<mail_parser::Message<'_>> {
        mail_parser::MessageParser::default().parse(&self.data)
    }

    /// The raw value of the first header `name` (unfolded, trimmed), read from the bytes.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = self.parsed()?;
        parsed
            .header_raw(name.to_string())
            .map(|v| v.replace("\r\n", "").replace('\n', "").trim().to_string())
    }

    /// The message as (lossy) text, for `contains` checks and error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Splits `<path> PARAM=V PARAM2=V` (optionally prefixed `FROM:`/`TO:`) into the bare path
/// and the parameters.
fn split_path_and_params(args: &str) -> (String, Vec<String>) {
    let args = args.trim();
    let args = ["FROM:", "TO:"]
        .iter()
        .find_map(|p| {
            args.get(..p.len())
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| &args[p.len()..])
        })
        .unwrap_or(args)
        .trim_start();
    let (path, rest) = match args.strip_prefix('<').and_then(|r| r.split_once('>')) {
        Some((inner, rest)) => (inner.to_string(), rest),
        None => match args.split_once(' ') {
            Some((p, rest)) => (p.to_string(), rest),
            None => (args.to_string(), ""),
        },
    };
    (path, rest.split_whitespace().map(str::to_string).collect())
}

fn find_param<'a>(params: &'a [String], key: &str) -> Option<&'a str> {
    params.iter().find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p.as_str(), ""));
        k.eq_ignore_ascii_case(key).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "X-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\nX-Helo-Args: outbound.test\n\
X-Mail-Args: <bounce+abc@bounces.test> SIZE=300 RET=HDRS ENVID=m1.r2\n\
X-Rcpt-Args: <a@remote.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@remote.test\n\
X-Rcpt-Args: <b@remote.test>\n\
Received: from outbound.test ([127.0.0.1])\n\tby sink.test (smtp-sink) with ESMTP id 1;\n\tFri, 27 Nov 2026 23:19:07 +0000 (UTC)\n\
Subject: hi\nFrom: x@y.test\n\nbody\n\n";

    #[test]
    fn parses_envelope_and_data() {
        let m = CapturedMessage::parse(Path::new("d"), DUMP.as_bytes()).expect("parse");
        assert_eq!(m.mail_from, "bounce+abc@bounces.test");
        assert_eq!(m.mail_param("ret"), Some("HDRS"));
        assert_eq!(m.mail_param("ENVID"), Some("m1.r2"));
        assert_eq!(m.recipient_addresses(), ["a@remote.test", "b@remote.test"]);
        assert_eq!(m.recipients[0].param("notify"), Some("FAILURE,DELAY"));
        assert_eq!(m.recipients[0].param("ORCPT"), Some("rfc822;a@remote.test"));
        assert_eq!(m.recipients[1].param("NOTIFY"), None);
        assert_eq!(m.helo.as_deref(), Some("outbound.test"));
        assert_eq!(m.data, b"Subject: hi\nFrom: x@y.test\n\nbody\n");
        assert_eq!(m.header("subject").as_deref(), Some("hi"));
    }

    #[test]
    fn null_sender_and_truncated_dump() {
        let m = CapturedMessage::parse(
            Path::new("d"),
            b"X-Client-Addr: 127.0.0.1\nX-Mail-Args: <>\nX-Rcpt-Args: <r@x>\nReceived: a\n\tb\n\tc\nX: y\n\n",
        )
        .expect("parse");
        assert_eq!(m.mail_from, "");
        assert!(m.mail_params.is_empty());
        let err = CapturedMessage::parse(Path::new("d"), b"X-Client-Addr: 1\nX-Mail-Args: <>\n")
            .unwrap_err();
        assert!(err.to_string().contains("Received"), "{err}");
    }
}

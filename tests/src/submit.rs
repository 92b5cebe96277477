//! [`Submission`]: a small blocking SMTP client that hands one message to a server under test
//! with exactly the envelope a test asks for, ESMTP parameters included (DSN `RET`, `ENVID`,
//! `NOTIFY`, `ORCPT`). swaks in Debian 12 cannot send DSN parameters, hence this client; the
//! servers it talks to are always the real ones (Postfix, smtp-sink).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::error::{HarnessError, Result};

/// An SMTP reply: code and the text of all lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Three-digit reply code.
    pub code: u16,
    /// Reply text without the codes.
    pub text: String,
}

impl Reply {
    /// 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// What happened to a [`Submission`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Recipients the server accepted at RCPT.
    pub accepted: Vec<String>,
    /// Recipients refused at RCPT, with the reply.
    pub refused: Vec<(String, Reply)>,
    /// The reply to the end of DATA (`None` when no recipient was accepted).
    pub data_reply: Option<Reply>,
}

impl Outcome {
    /// The queue id from a Postfix `250 2.0.0 Ok: queued as ID` reply.
    pub fn queue_id(&self) -> Option<&str> {
        let reply = self.data_reply.as_ref().filter(|r| r.is_positive())?;
        reply
            .text
            .split("queued as ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
    }

    /// True when the message was accepted for at least one recipient.
    pub fn queued(&self) -> bool {
        self.data_reply.as_ref().is_some_and(Reply::is_positive)
    }
}

/// One message to submit (see the module docs).
#[derive(Debug, Clone)]
pub struct Submission {
    helo: String,
    from: String,
    mail_params: Vec<String>,
    rcpts: Vec<(String, Vec<String>)>,
    data: Vec<u8>,
    timeout: Duration,
}

impl Submission {
    /// A message from `from` (use `""` for the null sender of reports).
    pub fn new(from: &str) -> Self {
        Submission {
            helo: "client.test".to_string(),
            from: from.to_string(),
            mail_params: Vec::new(),
            rcpts: Vec::new(),
            data: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }

    /// The EHLO name (default `client.test`).
    pub fn helo(mut self, name: &str) -> Self {
        self.helo = name.to_string();
        self
    }

    /// Adds a MAIL FROM parameter, e.g. `"RET=HDRS"`.
    pub fn mail_param(mut self, param: &str) -> Self {
        self.mail_params.push(param.to_string());
        self
    }

    /// Adds a recipient without parameters.
    pub fn rcpt(mut self, address: &str) -> Self {
        self.rcpts.push((address.to_string(), Vec::new()));
        self
    }

    /// Adds a recipient with RCPT parameters, e.g. `&["NOTIFY=FAILURE,DELAY"]`.
    pub fn rcpt_with(mut self, address: &str, params: &[&str]) -> Self {
        self.rcpts.push((
            address.to_string(),
            params.iter().map(|p| p.to_string()).collect(),
        ));
        self
    }

    /// The message (headers and body); line ends are normalised to CRLF and dots stuffed.
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Per-reply timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// [`send`](Self::send) on tokio's blocking pool, so a milter served by the caller's
    /// runtime keeps answering Postfix while the dialogue runs.
    pub async fn send_async(self, server: SocketAddr) -> Result<Outcome> {
        tokio::task::spawn_blocking(move || self.send(server))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Runs the SMTP dialogue with `server` and ends with QUIT. Blocking: in an async test
    /// whose runtime also serves the milter, use [`send_async`](Self::send_async).
    pub fn send(&self, server: SocketAddr) -> Result<Outcome> {
        let server_name = server.to_string();
        let err = |stage: &str, reply: String| HarnessError::Smtp {
            stage: stage.to_string(),
            server: server_name.clone(),
            reply,
        };
        let stream = TcpStream::connect_timeout(&server, self.timeout)
            .map_err(|e| err("connect", e.to_string()))?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(|e| err("connect", e.to_string()))?;
        let mut conn = Conn {
            reader: BufReader::new(
                stream
                    .try_clone()
                    .map_err(|e| err("connect", e.to_string()))?,
            ),
            writer: stream,
        };
        let expect = |conn: &mut Conn, stage: &str, ok: fn(u16) -> bool| -> Result<Reply> {
            let reply = conn.reply().map_err(|e| err(stage, e.to_string()))?;
            if ok(reply.code) {
                Ok(reply)
            } else {
                Err(err(stage, reply.to_string()))
            }
        };
        expect(&mut conn, "greeting", |c| c == 220)?;
        conn.command(&format!("EHLO {}", self.helo))
            .map_err(|e| err("EHLO", e.to_string()))?;
        expect(&mut conn, "EHLO", |c| c == 250)?;
        let mut mail = format!("MAIL FROM:<{}>", self.from);
        for p in &self.mail_params {
            mail.push(' ');
            mail.push_str(p);
        }
        conn.command(&mail)
            .map_err(|e| err("MAIL", e.to_string()))?;
        expect(&mut conn, "MAIL", |c| c == 250)?;
        let mut outcome = Outcome {
            accepted: Vec::new(),
            refused: Vec::new(),
            data_reply: None,
        };
        for (address, params) in &self.rcpts {
            let mut rcpt = format!("RCPT TO:<{address}>");
            for p in params {
                rcpt.push(' ');
                rcpt.push_str(p);
            }
            let stage = format!("RCPT <{address}>");
            conn.command(&rcpt)
                .map_err(|e| err(&stage, e.to_string()))?;
            let reply = conn.reply().map_err(|e| err(&stage, e.to_string()))?;
            if reply.is_positive() {
                outcome.accepted.push(address.clone());
            } else {
                outcome.refused.push((address.clone(), reply));
            }
        }
        if !outcome.accepted.is_empty() {
            conn.command("DATA")
                .map_err(|e| err("DATA", e.to_string()))?;
            expect(&mut conn, "DATA", |c| c == 354)?;
            conn.writer
                .write_all(&dot_stuff(&self.data))
                .map_err(|e| err("message", e.to_string()))?;
            outcome.data_reply = Some(
                conn.reply()
                    .map_err(|e| err("end of DATA", e.to_string()))?,
            );
        }
        // A failed QUIT after the message was handed over changes nothing for the test.
        let _ = conn.command("QUIT").and_then(|()| conn.reply().map(drop));
        Ok(outcome)
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn command(&mut self, line: &str) -> std::io::Result<()> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())
    }

    fn reply(&mut self) -> std::io::Result<Reply> {
        let mut text = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                ));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let bad = || std::io::Error::other(format!("malformed reply line {line:?}"));
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(bad)?;
            text.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply {
                    code,
                    text: text.join("\n"),
                });
            }
        }
    }
}

/// CRLF line ends, leading dots doubled, and the terminating `.` line.
fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    for line in data.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A minimal well-formed message (Date, Message-ID, From, To, Subject, text body).
pub fn simple_message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <{}.{}@client.test>\r\n\
         From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        now.as_nanos(),
        std::process::id()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_normalises_line_ends_and_doubles_dots() {
        assert_eq!(dot_stuff(b"a\n.b\r\nc"), b"a\r\n..b\r\nc\r\n.\r\n");
    }
}

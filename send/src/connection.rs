//! One SMTP connection to one relay: connecting (with TCP_NODELAY), greeting, EHLO, and the
//! transaction of one message with an explicit envelope.
//!
//! Built on mail-send's `SmtpClient` command methods (`mail_from`/`rcpt_to` with
//! `Parameters`, `data`, `rset`, `quit`) rather than `send(builder)`, which would take the
//! envelope from the message headers. The stream is a `BufStream` so that the dot-stuffed
//! message goes out in few large writes even with Nagle disabled.
use crate::envelope::{Envelope, Extensions};
use crate::outcome::{Failure, Outcome};
use mail_send::smtp::message::Parameters;
use mail_send::smtp::AssertReply;
use mail_send::SmtpClient;
use std::time::Duration;
use tokio::io::BufStream;
use tokio::net::TcpStream;

/// What the connection is good for after a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Usable for the next message.
    Keep,
    /// Broken or closed by the relay: drop it.
    Drop,
    /// It broke at `MAIL FROM`, before the relay took anything: the relay probably closed an
    /// idle connection, so the message may be retried at once on a fresh one.
    Stale,
}

/// An open, greeted SMTP session.
pub(crate) struct Connection {
    client: SmtpClient<BufStream<TcpStream>>,
    ext: Extensions,
    relay: String,
    /// Transactions started on this connection.
    pub(crate) used: u64,
}

impl Connection {
    /// Connects to `relay` (`host:port`), reads the greeting and says EHLO (HELO if EHLO is
    /// refused). The error is a human-readable reason.
    pub(crate) async fn open(relay: &str, helo: &str, timeout: Duration) -> Result<Self, String> {
        let addrs: Vec<_> = tokio::time::timeout(timeout, tokio::net::lookup_host(relay))
            .await
            .map_err(|_| format!("{relay}: name lookup timed out"))?
            .map_err(|e| format!("{relay}: {e}"))?
            .collect();
        let mut last = format!("{relay}: no address");
        let mut stream = None;
        for addr in addrs {
            match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    stream = Some(s);
                    break;
                }
                Ok(Err(e)) => last = format!("{relay}: {e}"),
                Err(_) => last = format!("{relay}: connect timed out"),
            }
        }
        let stream = stream.ok_or(last)?;
        // Without this, each small command waits for the peer's delayed ACK (~40 ms).
        stream
            .set_nodelay(true)
            .map_err(|e| format!("{relay}: TCP_NODELAY: {e}"))?;
        let mut client = SmtpClient {
            stream: BufStream::new(stream),
            timeout,
        };
        let greeting = tokio::time::timeout(timeout, client.read())
            .await
            .map_err(|_| format!("{relay}: no greeting within {timeout:?}"))?
            .map_err(|e| format!("{relay}: greeting: {e}"))?;
        if !greeting.is_positive_completion() {
            return Err(format!(
                "{relay}: greeting: {}",
                crate::outcome::format_reply(&greeting)
            ));
        }
        let ext = match client.ehlo(helo).await {
            Ok(r) => Extensions {
                dsn: r.has_capability(smtp_proto::EXT_DSN),
                eight_bit_mime: r.has_capability(smtp_proto::EXT_8BIT_MIME),
                smtputf8: r.has_capability(smtp_proto::EXT_SMTP_UTF8),
            },
            Err(mail_send::Error::UnexpectedReply(_)) => {
                client
                    .cmd(format!("HELO {helo}\r\n"))
                    .await
                    .and_then(|r| r.assert_positive_completion())
                    .map_err(|e| format!("{relay}: HELO: {e}"))?;
                Extensions::default()
            }
            Err(e) => return Err(format!("{relay}: EHLO: {e}")),
        };
        tracing::debug!(relay, ?ext, "SMTP connection open");
        Ok(Connection {
            client,
            ext,
            relay: relay.to_string(),
            used: 0,
        })
    }

    /// The relay this connection goes to.
    pub(crate) fn relay(&self) -> &str {
        &self.relay
    }

    /// Sends one message: MAIL FROM, RCPT TO, DATA with `message` (raw RFC 5322 bytes, CRLF
    /// line ends; dot-stuffing is done here). After a refused command the transaction is
    /// reset with RSET so the connection can carry on.
    pub(crate) async fn transact(&mut self, env: &Envelope, message: &[u8]) -> (Outcome, After) {
        self.used += 1;
        let eight_bit = message.iter().any(|&b| b >= 0x80);

        let mut params = Parameters::new();
        for p in env.mail_params(&self.ext, eight_bit) {
            add(&mut params, p);
        }
        if let Err(e) = self.client.mail_from(&env.sender, &params).await {
            let f = Failure::from(e);
            if matches!(f, Failure::Broken(_)) {
                return (f.outcome("MAIL"), After::Stale);
            }
            return self.refused(f, "MAIL").await;
        }

        let mut params = Parameters::new();
        for p in env.rcpt_params(&self.ext) {
            add(&mut params, p);
        }
        if let Err(e) = self.client.rcpt_to(&env.recipient, &params).await {
            return self.refused(Failure::from(e), "RCPT").await;
        }

        // mail-send ends the data with "\r\n.\r\n" itself; without this the message would
        // gain an empty last line.
        let body = message.strip_suffix(b"\r\n").unwrap_or(message);
        match self.client.data(body).await {
            Ok(reply) => (Outcome::accepted(&reply), After::Keep),
            // Refused either at DATA or after the final dot; RSET is harmless in both cases.
            Err(e) => self.refused(Failure::from(e), "DATA").await,
        }
    }

    /// Maps a failed command to an outcome and resets the transaction when the connection is
    /// still usable.
    async fn refused(&mut self, f: Failure, stage: &str) -> (Outcome, After) {
        let outcome = f.outcome(stage);
        if !f.connection_usable() {
            return (outcome, After::Drop);
        }
        match self.client.rset().await {
            Ok(()) => (outcome, After::Keep),
            Err(e) => {
                tracing::debug!(relay = %self.relay, error = %e, "RSET failed; dropping connection");
                (outcome, After::Drop)
            }
        }
    }

    /// Says QUIT (briefly waiting for the reply) and closes.
    pub(crate) async fn close(mut self) {
        self.client.timeout = self.client.timeout.min(Duration::from_secs(5));
        if let Err(e) = self.client.quit().await {
            tracing::trace!(error = %e, "QUIT");
        }
    }
}

fn add(params: &mut Parameters<'static>, (key, value): (String, Option<String>)) {
    match value {
        Some(v) => params.add((key, v)),
        None => params.add(key),
    };
}

//! One SMTP connection to one relay: connecting (with TCP_NODELAY), greeting, EHLO, and the
//! transaction of one message with an explicit envelope.
//!
//! Built on mail-send's `SmtpClient` (`cmd`/`cmds`, `Parameters`, `rset`, `quit`) rather
//! than `send(builder)`, which would take the envelope from the message headers. When the
//! relay offers PIPELINING (RFC 2920; Postfix and smtp-sink do), MAIL, RCPT and DATA go out in
//! one write and their three replies are read together: two round trips per message, not
//! four. The stream is a `BufStream` so that the commands go out
//! in few writes even with Nagle disabled.
//!
//! The DATA payload is not sent with mail-send's `data()`: its `write_message` walks the
//! message byte by byte with an await per stuffed line, which profiled at ~85 µs per 97 KB
//! message on the SMTP critical path. [`data_body`] produces the same bytes in one pass
//! (memchr over the dots) and they go out with vectored writes, never copied: the pieces of the
//! message between the dots to stuff, each stuffed dot a one-byte piece of its own. Copying the
//! ~97 KB message was ~14 % of the sender's CPU per message (`perf`, figure 2 at 16
//! connections), CPU taken from the relay on a shared machine — and a rendered message does
//! have lines starting with a dot (a stylesheet's `.class` rules in the HTML part), so
//! skipping the copy only when nothing needs stuffing still copied the benchmark's message
//! every time (`perf`, figure 2 at 4 connections, 2026-12-03: 8.5 % of our samples in the copy,
//! its page faults and its scan).
use crate::envelope::{Envelope, Extensions};
use crate::gate::Gate;
use crate::outcome::{Failure, Outcome};
use mail_send::smtp::message::Parameters;
use mail_send::smtp::AssertReply;
use mail_send::SmtpClient;
use smtp_proto::response::parser::ResponseReceiver;
use std::io::IoSlice;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufStream};
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
                pipelining: r.has_capability(smtp_proto::EXT_PIPELINING),
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
    /// The final dot waits for `gate` (see [`Gate`]).
    pub(crate) async fn transact(
        &mut self,
        env: &Envelope,
        message: &[u8],
        gate: &mut Gate,
    ) -> (Outcome, After) {
        self.used += 1;
        let eight_bit = !message.is_ascii();

        let mut params = Parameters::new();
        for p in env.mail_params(&self.ext, eight_bit) {
            add(&mut params, p);
        }
        let mail = format!("MAIL FROM:<{}>{params}\r\n", env.sender);
        let mut params = Parameters::new();
        for p in env.rcpt_params(&self.ext) {
            add(&mut params, p);
        }
        let rcpt = format!("RCPT TO:<{}>{params}\r\n", env.recipient);

        if self.ext.pipelining {
            return self.transact_pipelined(&mail, &rcpt, message, gate).await;
        }

        if let Err(e) = self.command(&mail).await {
            let f = Failure::from(e);
            if matches!(f, Failure::Broken(_)) {
                return (f.outcome("MAIL"), After::Stale);
            }
            return self.refused(f, "MAIL").await;
        }
        if let Err(e) = self.command(&rcpt).await {
            return self.refused(Failure::from(e), "RCPT").await;
        }
        if let Err(e) = self
            .client
            .cmd(b"DATA\r\n")
            .await
            .and_then(|r| r.assert_code(354))
        {
            return self.refused(Failure::from(e), "DATA").await;
        }
        self.finish(message, gate).await
    }

    /// RFC 2920: MAIL, RCPT and DATA in one write, then their three replies. Two round trips
    /// per message instead of four — on loopback the round trips, each waking the relay's
    /// process, are what bounds a single connection's rate.
    async fn transact_pipelined(
        &mut self,
        mail: &str,
        rcpt: &str,
        message: &[u8],
        gate: &mut Gate,
    ) -> (Outcome, After) {
        const STAGES: [&str; 3] = ["MAIL", "RCPT", "DATA"];
        let started = Instant::now();
        let (replies, broken) = self
            .pipeline([mail.as_bytes(), rcpt.as_bytes(), b"DATA\r\n"])
            .await;
        stage_time("envelope", started);
        if let Some(e) = broken {
            let stage = STAGES[replies.len().min(2)];
            // Broken before the first reply: nothing of the message went out, so as at MAIL
            // in the plain dialogue this is a stale connection when it was reused.
            let after = if replies.is_empty() {
                After::Stale
            } else {
                After::Drop
            };
            return (Failure::from(e).outcome(stage), after);
        }
        let Ok([mail, rcpt, data]) = <[smtp_proto::Response<String>; 3]>::try_from(replies) else {
            let f = Failure::Broken("fewer replies than commands".into());
            return (f.outcome("MAIL"), After::Drop);
        };
        let refusal = if !mail.is_positive_completion() {
            Some((mail, "MAIL"))
        } else if !rcpt.is_positive_completion() {
            Some((rcpt, "RCPT"))
        } else if data.code != 354 {
            Some((data.clone(), "DATA"))
        } else {
            None
        };
        let Some((reply, stage)) = refusal else {
            return self.finish(message, gate).await;
        };
        if data.code == 354 {
            // A relay that opened DATA although the envelope was refused (RFC 2920 says it
            // must not): end the empty message so the session is back in sync.
            if let Err(e) = self.client.cmd(b".\r\n").await {
                return (Failure::from(e).outcome(stage), After::Drop);
            }
        }
        self.refused(Failure::Refused(reply), stage).await
    }

    /// Writes `commands` in one go and reads one reply for each: the replies read, and the
    /// error that stopped the reading early, if one did. (mail-send's `cmds` returns no
    /// partial replies, so a break could not be told apart from a refusal at MAIL.)
    async fn pipeline<const N: usize>(
        &mut self,
        commands: [&[u8]; N],
    ) -> (Vec<smtp_proto::Response<String>>, Option<mail_send::Error>) {
        let client = &mut self.client;
        let timeout = client.timeout;
        let mut replies = Vec::with_capacity(N);
        let io = async {
            for c in commands {
                client.stream.write_all(c).await?;
            }
            client.stream.flush().await?;
            let mut buf = [0u8; 1024];
            let mut parser = ResponseReceiver::default();
            loop {
                let n = client.stream.read(&mut buf).await?;
                if n == 0 {
                    return Err(mail_send::Error::UnparseableReply);
                }
                let mut bytes = buf[..n].iter();
                loop {
                    match parser.parse(&mut bytes) {
                        Ok(reply) => {
                            replies.push(reply);
                            if replies.len() == N {
                                return Ok(());
                            }
                            parser.reset();
                        }
                        Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                        Err(_) => return Err(mail_send::Error::UnparseableReply),
                    }
                }
            }
        };
        let broken = match tokio::time::timeout(timeout, io).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(mail_send::Error::Timeout),
        };
        (replies, broken)
    }

    /// One command and a positive reply.
    async fn command(&mut self, line: &str) -> mail_send::Result<()> {
        self.client
            .cmd(line.as_bytes())
            .await?
            .assert_positive_completion()
    }

    /// After 354: the message up to its final dot, the gate, the dot and the final reply.
    async fn finish(&mut self, message: &[u8], gate: &mut Gate) -> (Outcome, After) {
        let body = data_body(message);
        let started = Instant::now();
        if let Err(e) = self.write_pieces(&body).await {
            return (Failure::from(e).outcome("DATA"), After::Drop);
        }
        let started = stage_time("body", started);
        let timeout = self.client.timeout;
        let go = tokio::time::timeout(timeout, gate.wait())
            .await
            .unwrap_or(false);
        let started = stage_time("durable", started);
        if !go {
            // Dropping the connection before the dot makes the relay discard the message.
            let text = "not sent: the previous outcome on this connection could not be recorded";
            return (Outcome::Deferred { text: text.into() }, After::Drop);
        }
        let client = &mut self.client;
        let reply = tokio::time::timeout(timeout, async {
            client.stream.write_all(END_DOT).await?;
            client.stream.flush().await?;
            client.read().await
        })
        .await
        .map_err(|_| mail_send::Error::Timeout)
        .and_then(|r| r)
        .and_then(|r| r.into_positive_completion());
        stage_time("accept", started);
        match reply {
            Ok(reply) => (Outcome::accepted(&reply), After::Keep),
            // Refused after the final dot; RSET is harmless then.
            Err(e) => self.refused(Failure::from(e), "DATA").await,
        }
    }

    /// Writes `pieces` one after the other with vectored writes and flushes (the payload: not
    /// mail-send's byte-by-byte walk, and not copied; see the module header). Larger than the
    /// stream's buffer, they go straight to the socket.
    async fn write_pieces(&mut self, pieces: &[&[u8]]) -> mail_send::Result<()> {
        let client = &mut self.client;
        let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
        tokio::time::timeout(client.timeout, async {
            let mut rest = &mut slices[..];
            // Skip empty slices first: a write of nothing returns 0, which is not an error.
            IoSlice::advance_slices(&mut rest, 0);
            while !rest.is_empty() {
                let n = client.stream.write_vectored(rest).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                IoSlice::advance_slices(&mut rest, n);
            }
            client.stream.flush().await
        })
        .await
        .map_err(|_| mail_send::Error::Timeout)?
        .map_err(mail_send::Error::from)
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

/// The bytes to send after 354 for `message` (raw, CRLF line ends) up to the final dot line,
/// as pieces borrowed from `message` (and one-byte `.` pieces) to be sent one after the other:
/// dot-stuffed exactly as mail-send's `write_message` does it — a dot right after a CR or LF
/// gets a second dot (a dot as the very first byte does not) — and ended with one CRLF. A
/// trailing CRLF of the message is not doubled, as before, so the message does not gain an
/// empty last line. mail-send does no other line-end normalisation, so neither does this.
/// [`END_DOT`] follows.
pub(crate) fn data_body(message: &[u8]) -> Vec<&[u8]> {
    let stripped = message.strip_suffix(b"\r\n").unwrap_or(message);
    let stuffed = |pos: usize| pos > 0 && matches!(stripped[pos - 1], b'\r' | b'\n');
    let mut pieces = Vec::new();
    let mut last = 0;
    for pos in memchr::memchr_iter(b'.', stripped).filter(|&pos| stuffed(pos)) {
        pieces.push(&stripped[last..pos]);
        // The dot at `pos` starts the next piece: this one doubles it.
        pieces.push(&b"."[..]);
        last = pos;
    }
    pieces.push(&stripped[last..]);
    // The message's own CRLF when it has one, so that nothing is copied.
    let crlf = &message[stripped.len()..];
    pieces.push(if crlf.is_empty() { b"\r\n" } else { crlf });
    pieces
}

/// Records the time since `started` as SMTP stage `stage` of a message (the
/// `mm_smtp_stage_seconds` histogram) and returns now. The stages of a pipelined transaction:
/// `envelope` (MAIL, RCPT, DATA and their replies), `body` (writing the message), `durable`
/// (the final dot waiting for the previous outcome to be on disk, see [`Gate`]) and `accept`
/// (the final dot until the relay's reply). They tell an administrator whether the relay or
/// our own store is what a connection waits for.
fn stage_time(stage: &'static str, started: Instant) -> Instant {
    let now = Instant::now();
    metrics::histogram!("mm_smtp_stage_seconds", "stage" => stage)
        .record(now.duration_since(started).as_secs_f64());
    now
}

/// The end of the payload: the relay takes the message when it reads this.
const END_DOT: &[u8] = b".\r\n";

fn add(params: &mut Parameters<'static>, (key, value): (String, Option<String>)) {
    match value {
        Some(v) => params.add((key, v)),
        None => params.add(key),
    };
}

#[cfg(test)]
mod tests {
    use super::{data_body, END_DOT};

    /// What goes out after 354: the body and the final dot.
    fn data_payload(message: &[u8]) -> Vec<u8> {
        let mut out = data_body(message).concat();
        out.extend_from_slice(END_DOT);
        out
    }

    /// mail-send 0.7's `write_message` transparency rule, written out independently: a dot
    /// preceded by CR or LF is doubled.
    fn reference(message: &[u8]) -> Vec<u8> {
        let message = message.strip_suffix(b"\r\n").unwrap_or(message);
        let mut out = Vec::new();
        let mut after_line_end = false;
        for &b in message {
            if b == b'.' && after_line_end {
                out.push(b'.');
                after_line_end = false;
            } else {
                after_line_end = b == b'\n' || b == b'\r';
            }
            out.push(b);
        }
        out.extend_from_slice(b"\r\n.\r\n");
        out
    }

    #[test]
    fn lines_starting_with_a_dot_are_stuffed() {
        assert_eq!(
            data_payload(b"Subject: x\r\n\r\n.hidden\r\n..two\r\nend.\r\n"),
            b"Subject: x\r\n\r\n..hidden\r\n...two\r\nend.\r\n.\r\n".to_vec()
        );
    }

    #[test]
    fn the_message_goes_out_uncopied() {
        let m = b"Subject: x\r\n\r\nDots. Inside. Lines.\r\n";
        let pieces = data_body(m);
        assert_eq!(pieces.concat(), m.to_vec());
        let within = |m: &[u8], p: &[u8]| m.as_ptr_range().contains(&p.as_ptr());
        assert!(pieces.iter().all(|p| within(m, p)), "a piece was copied");
        // Stuffed: the message's bytes around the added dots are still borrowed.
        let m = b"a\r\n.b\r\n";
        let pieces = data_body(m);
        assert_eq!(pieces.concat(), b"a\r\n..b\r\n".to_vec());
        // (Where the added dot's byte lives is the compiler's choice: it may share a literal.)
        assert_eq!(pieces.len(), 4, "{pieces:?}");
        assert_eq!(pieces[1], b".");
        assert!(pieces.iter().filter(|p| **p != b".").all(|p| within(m, p)));
        // Without the final CRLF one is added.
        assert_eq!(data_body(b"a.").concat(), b"a.\r\n".to_vec());
    }

    #[test]
    fn same_bytes_as_mail_send_on_awkward_input() {
        for m in [
            &b""[..],
            b"\r\n",
            b".",
            b".\r\n",
            b"a\r\n.",
            b"a\n.b\r.c\r\n.\r\n",
            b"no dots at line starts. none.\r\n",
            b"\r\n.\r\n.\r\n",
            "8-bit: Grüße\r\n.Ende\r\n".as_bytes(),
        ] {
            assert_eq!(
                data_payload(m),
                reference(m),
                "for {:?}",
                String::from_utf8_lossy(m)
            );
        }
    }
}

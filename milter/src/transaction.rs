//! One message as the milter sees it: the envelope (sender, the recipients in the bounce
//! domain) and, for mail to the bounce domain, the buffered headers and body up to the size
//! limit. Also the in-flight count that graceful shutdown waits on.
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Counts messages between MAIL and their end (EOM, abort, or the connection closing), so that
/// shutdown can let them finish.
#[derive(Clone, Default)]
pub(crate) struct InFlight(Arc<InFlightInner>);

#[derive(Default)]
struct InFlightInner {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    fn enter(&self) -> InFlightGuard {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// How many messages are in flight now.
    pub(crate) fn count(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }

    /// Waits until no message is in flight.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            // Register before checking, so a guard dropped in between is not missed.
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Held by a [`Transaction`]; leaving decrements the in-flight count.
pub(crate) struct InFlightGuard(InFlight);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0 .0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0 .0.idle.notify_waiters();
        }
    }
}

/// What has been read of the message so far.
pub(crate) enum Content {
    /// Headers and body so far (CRLF line ends between headers).
    Reading(Vec<u8>),
    /// It outgrew the limit; the buffer was dropped.
    Oversized,
}

/// One message from MAIL to its end.
pub(crate) struct Transaction {
    /// Envelope sender without angle brackets (`""` for the null sender).
    pub(crate) sender: String,
    /// Envelope recipients in the bounce domain, without angle brackets.
    pub(crate) bounce_rcpts: Vec<String>,
    /// The buffered message.
    pub(crate) content: Content,
    _guard: InFlightGuard,
}

impl Transaction {
    /// Starts a message with envelope sender `sender` (the first MAIL argument).
    pub(crate) fn new(sender: &CStr, in_flight: &InFlight) -> Self {
        Transaction {
            sender: envelope_address(sender),
            bounce_rcpts: Vec::new(),
            content: Content::Reading(Vec::new()),
            _guard: in_flight.enter(),
        }
    }

    /// Notes a recipient (the first RCPT argument) if it is in `bounce_domain`.
    pub(crate) fn add_recipient(&mut self, rcpt: &CStr, bounce_domain: &str) {
        let addr = envelope_address(rcpt);
        if in_domain(&addr, bounce_domain) {
            self.bounce_rcpts.push(addr);
        }
    }

    /// Whether the message is for the bounce domain (and so worth reading).
    pub(crate) fn is_for_bounce_domain(&self) -> bool {
        !self.bounce_rcpts.is_empty()
    }

    /// Appends one header as `Name: value\r\n`; folded lines keep their folding with CRLF.
    /// Returns `false` when the message just outgrew `limit`.
    pub(crate) fn push_header(&mut self, name: &CStr, value: &CStr, limit: usize) -> bool {
        let (name, value) = (name.to_bytes(), value.to_bytes());
        self.push_with(limit, name.len() + value.len() + 4, |buf| {
            buf.extend_from_slice(name);
            buf.extend_from_slice(b": ");
            push_crlf_lines(buf, value);
            buf.extend_from_slice(b"\r\n");
        })
    }

    /// Ends the header section with an empty line.
    pub(crate) fn end_headers(&mut self, limit: usize) -> bool {
        self.push_with(limit, 2, |buf| buf.extend_from_slice(b"\r\n"))
    }

    /// Appends a body chunk (the MTA sends CRLF line ends). Returns `false` when the message
    /// just outgrew `limit`.
    pub(crate) fn push_body(&mut self, chunk: &[u8], limit: usize) -> bool {
        self.push_with(limit, chunk.len(), |buf| buf.extend_from_slice(chunk))
    }

    fn push_with(&mut self, limit: usize, extra: usize, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        match &mut self.content {
            Content::Oversized => false,
            Content::Reading(buf) if buf.len().saturating_add(extra) > limit => {
                self.content = Content::Oversized;
                false
            }
            Content::Reading(buf) => {
                f(buf);
                true
            }
        }
    }
}

/// `<a@b>` → `a@b`; `a@b` (Postfix's own reports via `non_smtpd_milters`) stays; `<>` → `""`.
fn envelope_address(arg: &CStr) -> String {
    let s = String::from_utf8_lossy(arg.to_bytes());
    let s = s.trim();
    let s = s.strip_prefix('<').unwrap_or(s);
    let s = s.strip_suffix('>').unwrap_or(s);
    s.to_string()
}

/// Whether `addr`'s domain is `domain`, case-insensitively (a trailing dot tolerated).
fn in_domain(addr: &str, domain: &str) -> bool {
    let Some((_, d)) = addr.rsplit_once('@') else {
        return false;
    };
    let d = d.strip_suffix('.').unwrap_or(d);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    !domain.is_empty() && d.eq_ignore_ascii_case(domain)
}

/// Copies `value` turning every line end (LF or CRLF) into CRLF.
fn push_crlf_lines(buf: &mut Vec<u8>, value: &[u8]) {
    let mut prev = 0u8;
    for &b in value {
        if b == b'\n' && prev != b'\r' {
            buf.push(b'\r');
        }
        buf.push(b);
        prev = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn envelope_forms_of_both_postfix_paths() {
        assert_eq!(envelope_address(&c("<>")), "");
        assert_eq!(envelope_address(&c("")), "");
        assert_eq!(envelope_address(&c("<a@b.test>")), "a@b.test");
        assert_eq!(envelope_address(&c("a@b.test")), "a@b.test");
    }

    #[test]
    fn recipients_outside_the_bounce_domain_are_ignored() {
        let in_flight = InFlight::default();
        let mut tx = Transaction::new(&c("<>"), &in_flight);
        tx.add_recipient(&c("<user@example.test>"), "Bounces.Example.ORG");
        tx.add_recipient(
            &c("<bounce+x@bounces.example.org.evil.test>"),
            "bounces.example.org",
        );
        assert!(!tx.is_for_bounce_domain());
        tx.add_recipient(&c("bounce+abc@BOUNCES.example.org"), "bounces.example.org");
        assert!(tx.is_for_bounce_domain());
        assert_eq!(tx.bounce_rcpts, ["bounce+abc@BOUNCES.example.org"]);
    }

    #[test]
    fn headers_are_rebuilt_with_crlf_and_the_limit_holds() {
        let in_flight = InFlight::default();
        let mut tx = Transaction::new(&c("<>"), &in_flight);
        assert_eq!(in_flight.count(), 1);
        assert!(tx.push_header(&c("Subject"), &c("one\n\ttwo"), 100));
        assert!(tx.end_headers(100));
        assert!(tx.push_body(b"body\r\n", 100));
        match &tx.content {
            Content::Reading(buf) => assert_eq!(buf, b"Subject: one\r\n\ttwo\r\n\r\nbody\r\n"),
            Content::Oversized => panic!("under the limit"),
        }
        assert!(!tx.push_body(&[b'x'; 100], 100));
        assert!(matches!(tx.content, Content::Oversized));
        assert!(!tx.push_body(b"x", 100));
        drop(tx);
        assert_eq!(in_flight.count(), 0);
    }
}

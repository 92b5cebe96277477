//! The end-of-message decision for mail to the bounce domain: classify the message, find its
//! token (envelope recipient first, then the report's content), verify it, hand the result to
//! the sink, and turn the outcome into the milter's reply. Runs on a blocking thread.
use crate::config::{MilterConfig, OnReport};
use crate::metrics as m;
use crate::sink::{ReportEvent, ReportSink, SinkError, SinkOutcome, TokenSource};
use mm_bounce::BounceReport;
use mm_domain::{ReportKind, VerpToken};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The milter's answer for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let it through.
    Accept,
    /// Drop it (recorded, `OnReport::Discard`).
    Discard,
    /// Answer 4xx: the MTA keeps it and retries.
    Tempfail,
}

/// The envelope of a finished message.
pub(crate) struct Envelope {
    pub(crate) sender: String,
    pub(crate) recipients: Vec<String>,
    pub(crate) queue_id: Option<String>,
}

/// Which token a report belongs to.
#[derive(Debug, PartialEq, Eq)]
enum TokenMatch {
    Valid(VerpToken, TokenSource),
    Forged(VerpToken, TokenSource),
    Absent,
}

/// Candidates in SPEC §8's order — the envelope recipient's VERP token, then the tokens the
/// classifier found in the content (best first); the first that verifies wins. When tokens
/// exist but none verifies, the report is forged (or signed with another key).
fn match_token(cfg: &MilterConfig, recipients: &[String], report: &BounceReport) -> TokenMatch {
    let envelope = recipients
        .iter()
        .filter_map(|r| VerpToken::from_address(r, &cfg.local_part))
        .map(|t| (t, TokenSource::Envelope));
    let content = report.tokens.iter().map(|&t| (t, TokenSource::Content));
    let mut first = None;
    for (token, source) in envelope.chain(content) {
        if cfg.key.verify(&token) {
            return TokenMatch::Valid(token, source);
        }
        first.get_or_insert((token, source));
    }
    match first {
        Some((token, source)) => TokenMatch::Forged(token, source),
        None => TokenMatch::Absent,
    }
}

/// Decides what to do with one message to the bounce domain. Never panics: a panic in the
/// classifier or the sink is caught, logged, counted, and the message accepted.
pub(crate) fn decide(
    cfg: &MilterConfig,
    sink: &dyn ReportSink,
    envelope: Envelope,
    raw: Vec<u8>,
) -> Verdict {
    let queue_id = envelope.queue_id.as_deref().unwrap_or("-");
    metrics::histogram!(m::REPORT_BYTES).record(raw.len() as f64);

    let report = match catch_unwind(AssertUnwindSafe(|| mm_bounce::classify(&raw))) {
        Ok(report) => report,
        Err(_) => {
            tracing::error!(queue_id, "classifier panicked; message let through");
            metrics::counter!(m::ERRORS_TOTAL, "what" => "classifier_panic").increment(1);
            return Verdict::Accept;
        }
    };

    if report.kind == ReportKind::NotAReport {
        tracing::debug!(queue_id, sender = %envelope.sender, "mail to the bounce domain is no report; let through");
        metrics::counter!(m::NOT_A_REPORT_TOTAL).increment(1);
        return Verdict::Accept;
    }

    let reason = report
        .recipients
        .first()
        .map(|r| r.reason.as_str())
        .unwrap_or("none");
    metrics::counter!(m::REPORTS_TOTAL, "kind" => report.kind.as_str(), "reason" => reason)
        .increment(1);

    let found = match_token(cfg, &envelope.recipients, &report);
    let (token, token_source, token_valid) = match found {
        TokenMatch::Valid(t, s) => (Some(t), Some(s), true),
        TokenMatch::Forged(t, s) => (Some(t), Some(s), false),
        TokenMatch::Absent => (None, None, false),
    };
    let kind = report.kind;
    let event = ReportEvent {
        envelope_sender: envelope.sender,
        envelope_recipients: envelope.recipients,
        queue_id: envelope.queue_id.clone(),
        raw,
        report,
        token,
        token_source,
        token_valid,
    };

    if let TokenMatch::Forged(t, s) = found {
        tracing::warn!(queue_id, token = %t, source = ?s, kind = %kind, "report with a forged VERP token; nothing changed, let through");
        metrics::counter!(m::FORGED_TOTAL).increment(1);
        if catch_unwind(AssertUnwindSafe(|| sink.forged(&event))).is_err() {
            tracing::error!(queue_id, "report sink panicked on a forged report");
            metrics::counter!(m::ERRORS_TOTAL, "what" => "sink_panic").increment(1);
        }
        return Verdict::Accept;
    }
    if token.is_none() {
        tracing::debug!(queue_id, kind = %kind, "report without a VERP token");
        metrics::counter!(m::UNTOKENED_TOTAL).increment(1);
    }

    match catch_unwind(AssertUnwindSafe(|| sink.record(event))) {
        Ok(Ok(SinkOutcome::Recorded)) => {
            metrics::counter!(m::RECORDED_TOTAL, "outcome" => "recorded").increment(1);
            tracing::info!(
                queue_id,
                kind = %kind,
                reason,
                mailing = token.map(|t| t.mailing),
                recipient = token.map(|t| t.recipient),
                "report recorded"
            );
            match cfg.on_report {
                OnReport::Discard => Verdict::Discard,
                OnReport::Accept => Verdict::Accept,
            }
        }
        Ok(Ok(SinkOutcome::Ignored)) => {
            metrics::counter!(m::RECORDED_TOTAL, "outcome" => "ignored").increment(1);
            tracing::debug!(queue_id, kind = %kind, "report not recorded by the sink; let through");
            Verdict::Accept
        }
        Ok(Err(SinkError::Store(e))) => {
            metrics::counter!(m::TEMPFAIL_TOTAL).increment(1);
            tracing::error!(queue_id, error = %e, "cannot record report; tempfail, the MTA retries");
            Verdict::Tempfail
        }
        Err(_) => {
            tracing::error!(queue_id, "report sink panicked; message let through");
            metrics::counter!(m::ERRORS_TOTAL, "what" => "sink_panic").increment(1);
            Verdict::Accept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_domain::VerpKey;

    fn cfg() -> MilterConfig {
        MilterConfig::new("bounces.example.org", VerpKey::from_bytes(&[1u8; 32]))
    }

    fn report_with_tokens(tokens: Vec<VerpToken>) -> BounceReport {
        let mut r = BounceReport::not_a_report();
        r.kind = ReportKind::Bounce;
        r.tokens = tokens;
        r
    }

    #[test]
    fn envelope_token_wins_over_content() {
        let cfg = cfg();
        let env = cfg.key.sign(1, 2);
        let content = cfg.key.sign(3, 4);
        let rcpts = vec![env.address("bounce", "bounces.example.org")];
        let found = match_token(&cfg, &rcpts, &report_with_tokens(vec![content]));
        assert_eq!(found, TokenMatch::Valid(env, TokenSource::Envelope));
    }

    #[test]
    fn content_token_used_when_envelope_has_none() {
        let cfg = cfg();
        let content = cfg.key.sign(3, 4);
        let rcpts = vec!["bounce@bounces.example.org".to_string()];
        let found = match_token(&cfg, &rcpts, &report_with_tokens(vec![content]));
        assert_eq!(found, TokenMatch::Valid(content, TokenSource::Content));
    }

    #[test]
    fn other_key_is_forged_and_nothing_is_absent() {
        let cfg = cfg();
        let foreign = VerpKey::from_bytes(&[2u8; 32]).sign(1, 2);
        let rcpts = vec![foreign.address("bounce", "bounces.example.org")];
        let found = match_token(&cfg, &rcpts, &report_with_tokens(vec![]));
        assert_eq!(found, TokenMatch::Forged(foreign, TokenSource::Envelope));
        let found = match_token(
            &cfg,
            &["x@bounces.example.org".into()],
            &report_with_tokens(vec![]),
        );
        assert_eq!(found, TokenMatch::Absent);
    }

    /// A sink whose answer the test chooses; counts its calls.
    struct Scripted {
        answer: fn() -> Result<SinkOutcome, SinkError>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl ReportSink for Scripted {
        fn record(&self, _event: ReportEvent) -> Result<SinkOutcome, SinkError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (self.answer)()
        }
    }

    fn decide_with(answer: fn() -> Result<SinkOutcome, SinkError>, raw: &str) -> (Verdict, usize) {
        let cfg = cfg();
        let token = cfg.key.sign(1, 2);
        let raw = raw
            .replace("@TOKEN@", &token.to_string())
            .replace("@DOMAIN@", "bounces.example.org")
            .replace('\n', "\r\n");
        let sink = Scripted {
            answer,
            calls: Default::default(),
        };
        let envelope = Envelope {
            sender: String::new(),
            recipients: vec![token.address("bounce", "bounces.example.org")],
            queue_id: None,
        };
        let v = decide(&cfg, &sink, envelope, raw.into_bytes());
        (v, sink.calls.into_inner())
    }

    const DSN: &str = include_str!("../tests/miltertest/dsn-user-unknown.eml");
    const HUMAN: &str = include_str!("../tests/miltertest/human-reply.eml");

    #[test]
    fn sink_outcomes_become_milter_replies() {
        assert_eq!(
            decide_with(|| Ok(SinkOutcome::Recorded), DSN),
            (Verdict::Discard, 1)
        );
        assert_eq!(
            decide_with(|| Ok(SinkOutcome::Ignored), DSN),
            (Verdict::Accept, 1)
        );
        assert_eq!(
            decide_with(|| Err(SinkError::Store("sled: io error".into())), DSN),
            (Verdict::Tempfail, 1)
        );
        // A panicking sink is an internal error: the report flows on.
        assert_eq!(
            decide_with(|| panic!("sink bug"), DSN),
            (Verdict::Accept, 1)
        );
    }

    #[test]
    fn no_report_never_reaches_the_sink() {
        assert_eq!(
            decide_with(|| Ok(SinkOutcome::Recorded), HUMAN),
            (Verdict::Accept, 0)
        );
        assert_eq!(
            decide_with(|| Ok(SinkOutcome::Recorded), ""),
            (Verdict::Accept, 0)
        );
        let junk = "\u{0}\u{1}\r\n\r\n--\r\n\u{ff}".repeat(50);
        assert_eq!(
            decide_with(|| Ok(SinkOutcome::Recorded), &junk),
            (Verdict::Accept, 0)
        );
    }

    #[test]
    fn other_local_part_is_not_a_token() {
        let cfg = cfg();
        let t = cfg.key.sign(1, 2);
        let rcpts = vec![t.address("returns", "bounces.example.org")];
        assert_eq!(
            match_token(&cfg, &rcpts, &report_with_tokens(vec![])),
            TokenMatch::Absent
        );
    }
}

//! The milter's [`ReportSink`] over the store (SPEC §8): a classified report becomes a
//! recipient status change with its details, the raw report is kept, hard bounces and
//! complaints go onto the suppression list, and everything is flushed before the milter
//! answers. A store error is a [`SinkError`], so the milter answers tempfail and the MTA keeps
//! the report.
//!
//! Matching, in order: the verified VERP token (mailing number → mailing, recipient row);
//! without a token, the report's recipient addresses within the mailings that were sent
//! (newest first). A forged token changes nothing; it is counted in the store.
use crate::app::App;
use mm_bounce::RecipientResult;
use mm_domain::{BounceReason, MailingState, RecipientStatus, ReportKind};
use mm_milter::{ReportEvent, ReportSink, SinkError, SinkOutcome};
use mm_store::{RecipientUpdate, ReportDetails, Store, StoreError, Suppression, UpdateOutcome};

/// The sink; holds the daemon handle.
pub struct StoreSink {
    app: App,
}

impl StoreSink {
    /// A sink over the daemon's store.
    pub fn new(app: App) -> Self {
        StoreSink { app }
    }
}

fn store_err(e: StoreError) -> SinkError {
    SinkError::Store(e.to_string())
}

/// The recipient status a report kind means; `None` for kinds that change no status.
fn status_for(kind: ReportKind) -> Option<RecipientStatus> {
    match kind {
        ReportKind::Bounce => Some(RecipientStatus::Bounced),
        ReportKind::Delay => Some(RecipientStatus::Delayed),
        ReportKind::Delivery => Some(RecipientStatus::Delivered),
        ReportKind::Feedback => Some(RecipientStatus::Complained),
        ReportKind::AutoReply | ReportKind::NotAReport => None,
    }
}

/// The report's entry for `email`, else its first entry.
fn result_for<'a>(results: &'a [RecipientResult], email: &str) -> Option<&'a RecipientResult> {
    results
        .iter()
        .find(|r| r.address.trim().eq_ignore_ascii_case(email.trim()))
        .or_else(|| results.first())
}

/// `(mailing number, row)` pairs the report is about.
fn targets(store: &Store, event: &ReportEvent) -> Result<Vec<(u32, u32)>, StoreError> {
    if let (Some(t), true) = (event.token, event.token_valid) {
        return Ok(match store.recipient(t.mailing, t.recipient)? {
            Some(_) => vec![(t.mailing, t.recipient)],
            None => Vec::new(),
        });
    }
    // No token: the recipient addresses, in the newest mailing that was sent to them.
    let mut mailings = store.mailings()?;
    mailings.retain(|m| m.state != MailingState::Draft);
    mailings.sort_by_key(|m| std::cmp::Reverse(m.number));
    let mut out = Vec::new();
    for r in &event.report.recipients {
        for m in &mailings {
            let rows = store.rows_by_email(m.number, &r.address)?;
            if let Some(row) = rows.into_iter().next() {
                if !out.contains(&(m.number, row)) {
                    out.push((m.number, row));
                }
                break;
            }
        }
    }
    Ok(out)
}

impl ReportSink for StoreSink {
    fn record(&self, event: ReportEvent) -> Result<SinkOutcome, SinkError> {
        let store = self.app.store();
        let kind = event.report.kind;
        let targets = targets(store, &event).map_err(store_err)?;
        if targets.is_empty() {
            metrics::counter!("mm_reports_unmatched_total").increment(1);
            tracing::info!(kind = %kind, queue_id = ?event.queue_id, "report matches no recipient; let through");
            return Ok(SinkOutcome::Ignored);
        }
        let suppress = self.app.config().bounce.suppress;
        let received = mm_store::now_ms();
        let mut touched: Vec<(u32, String)> = Vec::new();
        for (number, row) in targets {
            let Some(recipient) = store.recipient(number, row).map_err(store_err)? else {
                continue;
            };
            store
                .add_report(number, row, kind, received, &event.raw)
                .map_err(store_err)?;
            let result = result_for(&event.report.recipients, &recipient.email);
            let reason = result.map(|r| r.reason).unwrap_or(match kind {
                ReportKind::Feedback => BounceReason::Feedback,
                ReportKind::AutoReply => BounceReason::Vacation,
                _ => BounceReason::Undefined,
            });
            let hard = result.is_some_and(|r| r.hard);
            metrics::counter!("mm_reports_total", "kind" => kind.as_str(), "reason" => reason.as_str())
                .increment(1);
            let Some(status) = status_for(kind) else {
                tracing::info!(mailing = number, row, email = %recipient.email, kind = %kind, "report kept; no status change");
                continue;
            };
            let details = ReportDetails {
                status_code: result.and_then(|r| r.status.clone()),
                reason: Some(reason),
                hard,
                diagnostic: result.and_then(|r| r.diagnostic.clone()),
                remote_mta: result.and_then(|r| r.remote_mta.clone()),
            };
            match store
                .update_recipient(number, row, &RecipientUpdate::report(status, details))
                .map_err(store_err)?
            {
                UpdateOutcome::Applied { previous, .. } => {
                    tracing::info!(mailing = number, row, email = %recipient.email, from = %previous, to = %status, reason = %reason, hard, "report recorded");
                }
                UpdateOutcome::Refused { current } => {
                    tracing::info!(mailing = number, row, email = %recipient.email, current = %current, report = %status, "report kept; status not changed (later than a final status)");
                }
            }
            if suppress && (hard || kind == ReportKind::Feedback) {
                let mailing_id = store
                    .mailing_by_number(number)
                    .map_err(store_err)?
                    .map(|m| m.id);
                store
                    .suppress(&Suppression {
                        address: recipient.email.clone(),
                        reason,
                        mailing: mailing_id,
                        when: received,
                    })
                    .map_err(store_err)?;
            }
            if let Some(customer) = recipient.customer_id.clone() {
                if !touched.contains(&(number, customer.clone())) {
                    touched.push((number, customer));
                }
            }
        }
        store.flush().map_err(store_err)?;
        // The customer record shows current statuses: rewrite the touched documents.
        for (number, customer) in touched {
            if let Err(e) = crate::documents::refresh_customer(&self.app, number, &customer) {
                tracing::warn!(mailing = number, customer = %customer, error = %e, "customer document not updated");
            }
        }
        Ok(SinkOutcome::Recorded)
    }

    fn forged(&self, event: &ReportEvent) {
        if let Err(e) = self.app.store().count_forged_report() {
            tracing::warn!(error = %e, "forged report not counted in the store");
        }
        tracing::warn!(queue_id = ?event.queue_id, token = ?event.token, "report with a forged VERP token: nothing changed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Parts;
    use mm_bounce::BounceReport;
    use mm_domain::{VerpKey, VerpToken};
    use mm_store::NewRecipient;

    fn app(dir: &std::path::Path) -> App {
        let config = crate::config::Config::parse(
            &dir.join("mm.toml"),
            "data_dir = \"data\"\nstate_dir = \"state\"\n",
        )
        .unwrap();
        let store = mm_store::Store::open(config.store_dir(), 8 << 20).unwrap();
        App::new(Parts {
            config,
            lifecycle: crate::lifecycle::Lifecycle::new(),
            metrics: crate::metrics::install(),
            token: crate::token::AdminToken::local(),
            store,
            verp: VerpKey::from_bytes(&[3u8; 32]),
            pool: None,
        })
    }

    /// A sent mailing "m" with two contacts of customer C1, and its documents.
    fn sent_mailing(app: &App) -> u32 {
        let store = app.store();
        let m = store.ensure_mailing("m").unwrap();
        let row = |email: &str, contact: &str| NewRecipient {
            customer_id: Some("C1".into()),
            contact_id: Some(contact.into()),
            email: email.into(),
            send: true,
            ..Default::default()
        };
        store
            .import_recipients(
                "m",
                vec![row("a@remote.test", "1"), row("b@remote.test", "2")],
            )
            .unwrap();
        store.set_mailing_state("m", MailingState::Sending).unwrap();
        for r in 0..2 {
            store
                .update_recipient(
                    m.number,
                    r,
                    &RecipientUpdate::sent(Some("Q1".into()), "250 ok"),
                )
                .unwrap();
        }
        store.set_mailing_state("m", MailingState::Sent).unwrap();
        crate::documents::write_for_mailing(app, "m").unwrap();
        m.number
    }

    fn bounce(address: &str, token: Option<VerpToken>, valid: bool) -> ReportEvent {
        ReportEvent {
            envelope_sender: String::new(),
            envelope_recipients: vec!["bounce+x@bounces.localhost".into()],
            queue_id: Some("4XyZ".into()),
            raw: format!("From: MAILER-DAEMON\r\n\r\nreport about {address}\r\n").into_bytes(),
            report: BounceReport {
                kind: ReportKind::Bounce,
                recipients: vec![RecipientResult {
                    address: address.into(),
                    action: Some("failed".into()),
                    status: Some("5.1.1".into()),
                    reply_code: Some(550),
                    reason: BounceReason::UserUnknown,
                    hard: true,
                    diagnostic: Some("550 5.1.1 User unknown".into()),
                    remote_mta: Some("mx.remote.test".into()),
                }],
                ..BounceReport::not_a_report()
            },
            token,
            token_source: None,
            token_valid: valid,
        }
    }

    #[test]
    fn a_verified_bounce_is_recorded_suppressed_and_shown_in_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let number = sent_mailing(&app);
        let sink = StoreSink::new(app.clone());
        let token = app.verp().sign(number, 0);
        let outcome = sink
            .record(bounce("a@remote.test", Some(token), true))
            .unwrap();
        assert_eq!(outcome, SinkOutcome::Recorded);

        let store = app.store();
        let r = store.recipient(number, 0).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Bounced);
        assert_eq!(r.reason, Some(BounceReason::UserUnknown));
        assert_eq!(r.status_code.as_deref(), Some("5.1.1"));
        assert!(r.hard);
        assert_eq!(r.remote_mta.as_deref(), Some("mx.remote.test"));
        let raw = store.reports(number, 0).unwrap();
        assert_eq!(raw.len(), 1);
        assert!(String::from_utf8_lossy(&raw[0].bytes).contains("report about a@remote.test"));
        assert!(
            store.is_suppressed("A@remote.test").unwrap(),
            "hard bounce → suppressed"
        );
        assert!(!store.is_suppressed("b@remote.test").unwrap());

        let doc = store
            .document("C1", mm_store::MAILING_DOCUMENT, "m")
            .unwrap()
            .unwrap();
        let a = doc
            .contacts
            .iter()
            .find(|c| c.email == "a@remote.test")
            .unwrap();
        assert_eq!(a.status, RecipientStatus::Bounced);
        let file = std::fs::read_to_string(dir.path().join("data/documents/C1/m.json")).unwrap();
        assert!(file.contains("\"bounced\""), "{file}");
    }

    #[test]
    fn without_a_token_the_address_decides_forged_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let number = sent_mailing(&app);
        let sink = StoreSink::new(app.clone());
        let store = app.store();

        // Forged: signed with another key. The milter calls `forged`, never `record`.
        let forged = VerpKey::from_bytes(&[9u8; 32]).sign(number, 1);
        sink.forged(&bounce("b@remote.test", Some(forged), false));
        assert_eq!(store.counter(mm_store::FORGED_REPORTS).unwrap(), 1);
        assert_eq!(
            store.recipient(number, 1).unwrap().unwrap().status,
            RecipientStatus::Sent
        );

        // No token anywhere: matched by the report's recipient address.
        let outcome = sink.record(bounce("B@remote.test", None, false)).unwrap();
        assert_eq!(outcome, SinkOutcome::Recorded);
        assert_eq!(
            store.recipient(number, 1).unwrap().unwrap().status,
            RecipientStatus::Bounced
        );

        // Nobody known: ignored (the milter lets the message through).
        let outcome = sink
            .record(bounce("stranger@remote.test", None, false))
            .unwrap();
        assert_eq!(outcome, SinkOutcome::Ignored);
    }

    #[test]
    fn kinds_map_to_statuses() {
        assert_eq!(
            status_for(ReportKind::Bounce),
            Some(RecipientStatus::Bounced)
        );
        assert_eq!(
            status_for(ReportKind::Feedback),
            Some(RecipientStatus::Complained)
        );
        assert_eq!(status_for(ReportKind::AutoReply), None);
    }
}

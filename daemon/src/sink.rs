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

//! Metrics (SPEC §9 `/metrics`): a Prometheus recorder installed once for the process; parts
//! record with the `metrics` macros under the names below, the `/metrics` handler refreshes
//! the gauges read from the store and renders the text format.
//!
//! Names (all prefixed `mm_`):
//! - `mm_messages_total{result}` counter — `sent`, `rejected`, `failed` (relay outcomes).
//! - `mm_send_latency_seconds` histogram — one message handed to the SMTP pool until the
//!   relay answered (recorded by `mm_send::SmtpPool::send`, test mails included).
//! - `mm_smtp_stage_seconds{stage}` histogram — each message's time in the SMTP stages
//!   `envelope`, `body`, `durable`, `accept` (recorded by mm-send's connection).
//! - `mm_reports_total{kind,reason}` counter — reports recorded by the milter.
//! - `mm_reports_bad_signature_total` counter — reports whose VERP token did not verify.
//! - `mm_reports_unmatched_total` counter — reports that matched no recipient.
//! - `mm_milter_*` — emitted by the milter crate (sessions, reports, forged tokens, tempfails;
//!   see `mm_milter::metrics`).
//! - `mm_queue_depth` gauge — recipients still pending over all mailings.
//! - `mm_recipients{status}` gauge — recipients by status over all mailings.
//! - `mm_mailings{state}` gauge — mailings by life-cycle state.
//! - `mm_mailing_problems` gauge — mailings and reports that do not load or validate.
//! - `mm_file_errors_total{kind}` counter — broken report/mailing files seen by the watcher (a
//!   mailing.toml that stays broken over several reloads counts once).
//! - `mm_component_up{component}` gauge — 1 when store/watcher/milter/sender are up.
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process) and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("mm_send_latency_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full("mm_smtp_stage_seconds".into()),
                        &[
                            0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
                        ],
                    )
                })
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "mm_messages_total",
        "Messages handed to the relay, by result."
    );
    describe_histogram!(
        "mm_send_latency_seconds",
        Unit::Seconds,
        "Duration of one SMTP transaction with the relay."
    );
    describe_histogram!(
        "mm_smtp_stage_seconds",
        Unit::Seconds,
        "Time per message in each SMTP stage: envelope (MAIL, RCPT, DATA replies), body, durable (final dot waiting for the previous outcome to be on disk), accept (final dot to reply)."
    );
    describe_counter!(
        "mm_reports_total",
        "Reports recorded by the milter, by kind and reason."
    );
    describe_counter!(
        "mm_reports_bad_signature_total",
        "Reports whose VERP token did not verify; nothing was changed."
    );
    describe_counter!(
        "mm_reports_unmatched_total",
        "Reports that matched no recipient of any mailing."
    );
    describe_gauge!(
        "mm_queue_depth",
        "Recipients still pending over all mailings."
    );
    describe_gauge!("mm_recipients", "Recipients by status over all mailings.");
    describe_gauge!("mm_mailings", "Mailings by life-cycle state.");
    describe_gauge!(
        "mm_mailing_problems",
        "Mailings and reports that do not load or validate."
    );
    describe_counter!(
        "mm_file_errors_total",
        "Broken files seen by the watcher, by kind."
    );
    describe_gauge!("mm_component_up", "1 when the component is up.");
}

/// Brings the gauges read from the store up to date before a scrape.
pub fn refresh(app: &crate::app::App) {
    use mm_domain::{MailingState, RecipientStatus};
    let store = app.store();
    let mut by_state = [0u64; 3];
    let mut by_status = vec![0u64; RecipientStatus::ALL.len()];
    if let Ok(mailings) = store.mailings() {
        for m in mailings {
            if let Some(i) = MailingState::ALL.iter().position(|s| *s == m.state) {
                by_state[i] += 1;
            }
            if let Ok(counts) = store.counts(m.number) {
                for (s, n) in counts.0 {
                    if let Some(i) = RecipientStatus::ALL.iter().position(|x| *x == s) {
                        by_status[i] += n;
                    }
                }
            }
        }
    }
    for (i, s) in MailingState::ALL.iter().enumerate() {
        metrics::gauge!("mm_mailings", "state" => s.as_str()).set(by_state[i] as f64);
    }
    for (i, s) in RecipientStatus::ALL.iter().enumerate() {
        metrics::gauge!("mm_recipients", "status" => s.as_str()).set(by_status[i] as f64);
    }
    let pending = RecipientStatus::ALL
        .iter()
        .position(|s| *s == RecipientStatus::Pending)
        .map(|i| by_status[i])
        .unwrap_or(0);
    metrics::gauge!("mm_queue_depth").set(pending as f64);
    metrics::gauge!("mm_mailing_problems").set(app.catalog().problem_count() as f64);
    for c in crate::health::Component::ALL {
        let up = app.health().is_up(c);
        metrics::gauge!("mm_component_up", "component" => c.name()).set(if up { 1.0 } else { 0.0 });
    }
    app.metrics().run_upkeep();
}

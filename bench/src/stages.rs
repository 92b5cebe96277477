//! Where a connection's time goes: the mean of each SMTP stage of our sender
//! (`mm_smtp_stage_seconds{stage}`, recorded by mm-send for every message), printed after a
//! dispatch so that a missed figure shows whether the relay or our own store was waited for.
//!
//! A minimal `metrics` recorder: only that histogram, as a sum and a count per stage.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

const METRIC: &str = "mm_smtp_stage_seconds";

#[derive(Default)]
struct Stage {
    nanos: AtomicU64,
    count: AtomicU64,
}

impl metrics::HistogramFn for Stage {
    fn record(&self, value: f64) {
        self.nanos.fetch_add((value * 1e9) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }
}

#[derive(Default)]
struct Recorder {
    stages: Mutex<BTreeMap<String, Arc<Stage>>>,
}

impl metrics::Recorder for Recorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        if key.name() != METRIC {
            return metrics::Histogram::noop();
        }
        let stage = key
            .labels()
            .find(|l| l.key() == "stage")
            .map_or("?", |l| l.value())
            .to_string();
        let mut stages = self.stages.lock().unwrap_or_else(|e| e.into_inner());
        metrics::Histogram::from_arc(stages.entry(stage).or_default().clone())
    }
}

static RECORDER: OnceLock<&'static Recorder> = OnceLock::new();

/// Sum (ns) and count per stage so far.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(BTreeMap<String, (u64, u64)>);

/// Installs the recorder (once per process; later calls are no-ops) and returns the totals
/// so far, the starting point for [`Snapshot::means_since`].
pub fn snapshot() -> Snapshot {
    let r = RECORDER.get_or_init(|| {
        let r: &'static Recorder = Box::leak(Box::default());
        // Fails only when another recorder is installed; then nothing is recorded here.
        let _ = metrics::set_global_recorder(r);
        r
    });
    let stages = r.stages.lock().unwrap_or_else(|e| e.into_inner());
    Snapshot(
        stages
            .iter()
            .map(|(k, s)| (k.clone(), (s.nanos.load(Relaxed), s.count.load(Relaxed))))
            .collect(),
    )
}

impl Snapshot {
    /// `stage=mean µs` for the messages since `earlier`, in pipeline order, e.g.
    /// `envelope 2,410 µs, body 90 µs, durable 160 µs, accept 3,900 µs (3,000 messages)`.
    pub fn means_since(&self, earlier: &Snapshot) -> String {
        let order = ["envelope", "body", "durable", "accept"];
        let mut out = Vec::new();
        let mut messages = 0;
        for stage in order {
            let (n1, c1) = self.0.get(stage).copied().unwrap_or_default();
            let (n0, c0) = earlier.0.get(stage).copied().unwrap_or_default();
            let (nanos, count) = (n1.saturating_sub(n0), c1.saturating_sub(c0));
            if let Some(mean) = nanos.checked_div(count) {
                out.push(format!("{stage} {} µs", mean / 1000));
                messages = messages.max(count);
            }
        }
        if out.is_empty() {
            return "no stage times recorded".into();
        }
        format!("{} (mean per message, {messages} messages)", out.join(", "))
    }
}

//! `Gate`: a go-ahead that a message's final dot waits for.
//!
//! Why: SPEC §7 promises that a recipient's outcome is durable before the sender acts on it,
//! so that a crash re-sends at most `concurrency` messages. Waiting for the store flush
//! before *starting* the next message puts the flush on every connection's critical path
//! (measured: a third of the single-connection rate). The relay takes responsibility for a
//! message only at the final `.` — so the next message's MAIL, RCPT, DATA and body may go out
//! while the previous outcome is being flushed, and only the final `.\r\n` waits for this
//! gate. The promise is unchanged: per connection at most one message is accepted and not
//! yet durably recorded.
//!
//! A waiter that finds the gate still closed calls its hook, if it has one
//! ([`Gate::on_wait`]): that is how the dispatch's group commit learns that a flush is now
//! on a connection's critical path (see `commit`).
//!
//! A gate that is closed with failure (or whose opener is dropped) aborts the message: the
//! connection is dropped before the final dot, and the relay discards what it received.
use std::sync::Arc;
use tokio::sync::watch;

/// The waiting side, handed to [`SmtpPool::send_gated`](crate::SmtpPool::send_gated).
/// Cheap to clone; every clone sees the same decision.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// `None`: open from the start (nothing to wait for).
    decision: Option<watch::Receiver<Option<bool>>>,
    /// Called by a waiter that finds no decision yet.
    on_wait: Option<Hook>,
}

/// A gate's hook: a closure, with a `Debug` that names it only.
#[derive(Clone)]
struct Hook(Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// The deciding side: [`GateOpener::open`] lets the message through, [`GateOpener::fail`]
/// (or dropping it) aborts it.
#[derive(Debug)]
pub struct GateOpener {
    decision: watch::Sender<Option<bool>>,
}

impl Gate {
    /// A gate that is already open.
    pub fn open() -> Gate {
        Gate::default()
    }

    /// A closed gate and its opener.
    pub fn pair() -> (GateOpener, Gate) {
        let (tx, rx) = watch::channel(None);
        let gate = Gate {
            decision: Some(rx),
            on_wait: None,
        };
        (GateOpener { decision: tx }, gate)
    }

    /// This gate, calling `hook` whenever a waiter finds it still closed (once per
    /// [`Gate::wait`] call; never once it is decided).
    pub(crate) fn on_wait(mut self, hook: impl Fn() + Send + Sync + 'static) -> Gate {
        self.on_wait = Some(Hook(Arc::new(hook)));
        self
    }

    /// Waits for the decision: true to go ahead, false to abort.
    pub async fn wait(&mut self) -> bool {
        let Some(rx) = self.decision.as_mut() else {
            return true;
        };
        if rx.borrow().is_none() {
            if let Some(hook) = &self.on_wait {
                (hook.0)();
            }
        }
        match rx.wait_for(Option::is_some).await {
            Ok(v) => *v == Some(true),
            // The opener went away without deciding (its task failed): abort.
            Err(_) => false,
        }
    }
}

impl GateOpener {
    /// Decides: `true` lets the waiting message through, `false` aborts it.
    pub fn decide(self, go: bool) {
        // No receiver left (the message was never sent) is fine.
        let _ = self.decision.send(Some(go));
    }

    /// Lets the waiting message through.
    pub fn open(self) {
        self.decide(true)
    }

    /// Aborts the waiting message.
    pub fn fail(self) {
        self.decide(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_gate_does_not_wait() {
        assert!(Gate::open().wait().await);
    }

    #[tokio::test]
    async fn waits_for_the_decision_and_every_clone_sees_it() {
        let (opener, mut gate) = Gate::pair();
        let mut clone = gate.clone();
        let waiter = tokio::spawn(async move { gate.wait().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "went ahead before the decision");
        opener.open();
        assert!(waiter.await.unwrap());
        assert!(clone.wait().await, "a clone waited after the decision");
    }

    #[tokio::test]
    async fn the_hook_is_called_only_while_the_gate_is_closed() {
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (opener, gate) = Gate::pair();
        let counted = calls.clone();
        let mut gate = gate.on_wait(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let mut waiting = gate.clone();
        let waiter = tokio::spawn(async move { waiting.wait().await });
        tokio::task::yield_now().await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        opener.open();
        assert!(waiter.await.unwrap());
        assert!(gate.wait().await);
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "called for a decided gate"
        );
    }

    #[tokio::test]
    async fn failure_and_a_dropped_opener_abort() {
        let (opener, mut gate) = Gate::pair();
        opener.fail();
        assert!(!gate.wait().await);
        let (opener, mut gate) = Gate::pair();
        drop(opener);
        assert!(!gate.wait().await);
    }
}

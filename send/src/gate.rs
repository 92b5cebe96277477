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
//! A gate that is closed with failure (or whose opener is dropped) aborts the message: the
//! connection is dropped before the final dot, and the relay discards what it received.
use tokio::sync::watch;

/// The waiting side, handed to [`SmtpPool::send_gated`](crate::SmtpPool::send_gated).
/// Cheap to clone; every clone sees the same decision.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// `None`: open from the start (nothing to wait for).
    decision: Option<watch::Receiver<Option<bool>>>,
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
        (GateOpener { decision: tx }, Gate { decision: Some(rx) })
    }

    /// Waits for the decision: true to go ahead, false to abort.
    pub async fn wait(&mut self) -> bool {
        let Some(rx) = self.decision.as_mut() else {
            return true;
        };
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
    async fn failure_and_a_dropped_opener_abort() {
        let (opener, mut gate) = Gate::pair();
        opener.fail();
        assert!(!gate.wait().await);
        let (opener, mut gate) = Gate::pair();
        drop(opener);
        assert!(!gate.wait().await);
    }
}

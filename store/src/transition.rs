//! Which recipient status may follow which: the single place the rules live.
//!
//! The sender moves a recipient out of `pending`; reports (DSNs, ARF) arrive later, out of
//! order and sometimes twice, so a report may only move a recipient "forward":
//! `delayed` < `delivered` < `bounced` < `complained`. A late `delivered` DSN never overwrites
//! `bounced`; a `delay` DSN never overwrites `delivered`. A report for a recipient the store
//! still has as `pending` or `failed` is evidence the message left (the crash window between
//! the relay's 250 and the store write, or a retry that did get through), so it applies.
//! `excluded` ↔ `pending` is not an update but the send flag ([`crate::Store::set_send`]).
use mm_domain::RecipientStatus;

/// True when a recipient with status `from` may get status `to` by an update.
/// Staying in the same status is allowed where new details may arrive (another retry, another
/// delay notice, a second bounce report).
pub fn transition_allowed(from: RecipientStatus, to: RecipientStatus) -> bool {
    use RecipientStatus::*;
    match (from, to) {
        // The sender's outcomes.
        (Pending, Pending | Sent | Rejected | Failed) => true,
        // Reports: forward only.
        (Pending | Sent | Failed, Delayed | Delivered | Bounced | Complained) => true,
        (Sent, Sent) => true,
        (Delayed, Delayed | Delivered | Bounced | Complained) => true,
        (Delivered, Delivered | Bounced | Complained) => true,
        (Bounced, Bounced | Complained) => true,
        (Complained, Complained) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::transition_allowed;
    use mm_domain::RecipientStatus::{self, *};

    #[test]
    fn sender_outcomes_leave_pending() {
        for to in [Pending, Sent, Rejected, Failed] {
            assert!(transition_allowed(Pending, to), "pending -> {to}");
        }
    }

    #[test]
    fn sent_may_become_any_report_status() {
        for to in [Delivered, Delayed, Bounced, Complained] {
            assert!(transition_allowed(Sent, to), "sent -> {to}");
        }
        assert!(
            !transition_allowed(Sent, Pending),
            "a sent message is never sent again"
        );
    }

    #[test]
    fn delayed_may_settle() {
        assert!(transition_allowed(Delayed, Bounced));
        assert!(transition_allowed(Delayed, Delivered));
        assert!(transition_allowed(Delayed, Delayed));
    }

    #[test]
    fn late_reports_do_not_go_backwards() {
        assert!(!transition_allowed(Bounced, Delivered));
        assert!(!transition_allowed(Bounced, Delayed));
        assert!(!transition_allowed(Delivered, Delayed));
        assert!(!transition_allowed(Complained, Bounced));
        assert!(!transition_allowed(Complained, Delivered));
    }

    #[test]
    fn settled_outcomes_of_the_sender_are_final_except_for_reports_after_failed() {
        for to in RecipientStatus::ALL {
            assert!(!transition_allowed(Rejected, *to), "rejected -> {to}");
            assert!(!transition_allowed(Excluded, *to), "excluded -> {to}");
        }
        assert!(!transition_allowed(Failed, Pending));
        assert!(!transition_allowed(Failed, Sent));
        assert!(transition_allowed(Failed, Bounced));
    }

    #[test]
    fn nothing_becomes_excluded_or_pending_again_by_update() {
        for from in RecipientStatus::ALL {
            assert!(!transition_allowed(*from, Excluded), "{from} -> excluded");
            if *from != Pending {
                assert!(!transition_allowed(*from, Pending), "{from} -> pending");
            }
        }
    }
}

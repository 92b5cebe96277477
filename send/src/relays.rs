//! The list of relays: connections are spread over them in turn, and a relay that could not
//! be reached is skipped for a while.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Relays with their "down until" marks. Shared by all pool tasks.
#[derive(Debug)]
pub(crate) struct Relays {
    list: Vec<String>,
    down_until: Mutex<Vec<Option<Instant>>>,
    next: AtomicUsize,
    down_for: Duration,
}

impl Relays {
    pub(crate) fn new(list: Vec<String>, down_for: Duration) -> Self {
        let n = list.len();
        Relays {
            list,
            down_until: Mutex::new(vec![None; n]),
            next: AtomicUsize::new(0),
            down_for,
        }
    }

    /// The relays to try for a new connection, in order: starting with the next in turn,
    /// leaving out those marked down. Empty when every relay is down.
    pub(crate) fn candidates(&self) -> Vec<(usize, &str)> {
        let n = self.list.len();
        if n == 0 {
            return Vec::new();
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let now = Instant::now();
        let down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        (0..n)
            .map(|k| (start + k) % n)
            .filter(|&i| down[i].is_none_or(|t| t <= now))
            .map(|i| (i, self.list[i].as_str()))
            .collect()
    }

    /// Marks relay `i` down for the configured while.
    pub(crate) fn mark_down(&self, i: usize) {
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = down.get_mut(i) {
            *slot = Some(Instant::now() + self.down_for);
        }
    }

    /// Marks relay `i` reachable again.
    pub(crate) fn mark_up(&self, i: usize) {
        let mut down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = down.get_mut(i) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_and_skips_down_relays() {
        let r = Relays::new(
            vec!["a:25".into(), "b:25".into(), "c:25".into()],
            Duration::from_secs(60),
        );
        let firsts: Vec<&str> = (0..3).map(|_| r.candidates()[0].1).collect();
        assert_eq!(firsts, ["a:25", "b:25", "c:25"]);
        r.mark_down(1);
        for _ in 0..3 {
            assert!(r.candidates().iter().all(|(_, name)| *name != "b:25"));
        }
        r.mark_down(0);
        r.mark_down(2);
        assert!(r.candidates().is_empty());
        r.mark_up(2);
        assert_eq!(r.candidates(), vec![(2, "c:25")]);
    }

    #[test]
    fn a_down_relay_comes_back_after_the_while() {
        let r = Relays::new(vec!["a:25".into()], Duration::from_millis(20));
        r.mark_down(0);
        assert!(r.candidates().is_empty());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(r.candidates().len(), 1);
    }
}

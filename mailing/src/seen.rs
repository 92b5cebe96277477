//! The addresses already met on a list (as 64-bit hashes), for the first pass of the
//! `duplicate` check (`repeats`), which frees it before the list is imported.
//!
//! Why not a `HashSet<u64>`: its table doubles as it fills, so at 1,000,000 addresses it holds
//! 2^21 slots of 9 bytes (18.9 MB) and, while growing, the old table as well — 28 MB at the
//! import's peak, the largest single thing in the daemon's memory during an import. Here the
//! latest [`RUN`] hashes sit in a small set, and each full set becomes a sorted run of 8 bytes
//! a hash: 8 MB for 1,000,000 addresses, never a copy of everything at once. A lookup is one
//! probe plus a binary search per run (16 runs at 1,000,000).
use std::collections::HashSet;

/// Hashes per sorted run (512 KiB each).
const RUN: usize = 1 << 16;

/// A set of `u64` that only grows.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    recent: HashSet<u64>,
    runs: Vec<Box<[u64]>>,
}

impl Seen {
    /// Adds `hash`; true if it was not there yet.
    pub(crate) fn insert(&mut self, hash: u64) -> bool {
        if self.recent.contains(&hash) || self.runs.iter().any(|r| r.binary_search(&hash).is_ok()) {
            return false;
        }
        self.recent.insert(hash);
        if self.recent.len() >= RUN {
            // `drain` keeps the small set's table for the next run.
            let mut run: Vec<u64> = self.recent.drain().collect();
            run.sort_unstable();
            self.runs.push(run.into_boxed_slice());
        }
        true
    }

    /// How many hashes are in the set.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.recent.len() + self.runs.iter().map(|r| r.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed pseudo-random sequence (splitmix64), so the test needs no crate.
    fn values(n: usize, seed: u64) -> Vec<u64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            })
            .collect()
    }

    #[test]
    fn agrees_with_a_hash_set_across_several_runs() {
        // 3.5 runs of distinct values, then each of them again, interleaved with new ones.
        let first = values(RUN * 7 / 2, 1);
        let mut seen = Seen::default();
        let mut reference = HashSet::new();
        for &v in &first {
            assert_eq!(seen.insert(v), reference.insert(v));
        }
        assert!(seen.runs.len() >= 3, "the test must span sorted runs");
        let fresh = values(RUN, 2);
        for (i, &v) in first.iter().enumerate().step_by(7) {
            assert!(!seen.insert(v), "value {i} inserted twice");
            let f = fresh[i % fresh.len()];
            assert_eq!(seen.insert(f), reference.insert(f));
        }
        assert_eq!(seen.len(), reference.len());
        // Values at a run boundary: the last of a run and the first of the next.
        let boundary = [
            first[RUN - 1],
            first[RUN],
            first[2 * RUN - 1],
            first[2 * RUN],
        ];
        for v in boundary {
            assert!(!seen.insert(v));
        }
    }

    #[test]
    fn extremes_are_kept_in_the_small_set_and_in_a_run() {
        let mut seen = Seen::default();
        assert!(seen.insert(0));
        assert!(seen.insert(u64::MAX));
        assert!(!seen.insert(0));
        assert!(!seen.insert(u64::MAX));
        for v in values(RUN, 3) {
            seen.insert(v);
        }
        assert_eq!(seen.runs.len(), 1, "0 and MAX now sit in a sorted run");
        assert!(!seen.insert(0));
        assert!(!seen.insert(u64::MAX));
    }
}

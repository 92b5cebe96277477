//! The `duplicate` check in two passes: the first pass over the report finds which addresses
//! occur more than once (as 64-bit hashes), and the second — the streaming list — needs to
//! remember only those.
//!
//! Why: remembering every address while the list streams into the store kept a hash of each
//! one (8 bytes) alive through the whole import, 7.3 MB at 1,000,000 rows, on top of the
//! store's own peak — the largest part of the import's growth in memory between 100,000 and
//! 1,000,000 rows (figure 4 of `bench/`, heaptrack). The first pass runs before the store
//! writes anything, so the full set ([`Seen`]) is freed before the import's peak; what stays
//! is one entry per address that repeats, usually a small share of a list.
//!
//! The answers are the same as with one set over everything: an address whose hash the first
//! pass met once is new wherever it is met; a repeated one is new only the first time the
//! second pass meets it.
use crate::seen::Seen;
use std::collections::HashMap;

/// Addresses that occur more than once, and whether the list has met each yet.
#[derive(Debug, Default)]
pub(crate) struct Repeats {
    /// Hash → met by the second pass yet.
    repeated: HashMap<u64, bool>,
}

/// The first pass: feed it every valid address's hash, in report order.
#[derive(Debug, Default)]
pub(crate) struct RepeatFinder {
    seen: Seen,
    repeated: HashMap<u64, bool>,
}

impl RepeatFinder {
    /// Notes one occurrence of `hash`.
    pub(crate) fn add(&mut self, hash: u64) {
        if !self.seen.insert(hash) {
            self.repeated.insert(hash, false);
        }
    }

    /// The repeated hashes; the set of everything is dropped here.
    pub(crate) fn finish(self) -> Repeats {
        let mut repeated = self.repeated;
        repeated.shrink_to_fit();
        Repeats { repeated }
    }
}

impl Repeats {
    /// True if `hash` is met for the first time in the second pass.
    pub(crate) fn first_time(&mut self, hash: u64) -> bool {
        match self.repeated.get_mut(&hash) {
            None => true,
            Some(met) => !std::mem::replace(met, true),
        }
    }

    /// How many distinct addresses repeat.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.repeated.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// splitmix64, so the test needs no crate.
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn answers_as_one_set_over_the_whole_list_does() {
        // 200,000 values drawn from 150,000 distinct ones (spanning several of `Seen`'s runs),
        // so many repeat, some three times or more, at any distance.
        let list: Vec<u64> = (0..200_000u64).map(|i| mix(mix(i) % 150_000)).collect();
        let mut finder = RepeatFinder::default();
        for &v in &list {
            finder.add(v);
        }
        let mut repeats = finder.finish();
        let mut reference = HashSet::new();
        let mut firsts = 0;
        for (i, &v) in list.iter().enumerate() {
            let expected = reference.insert(v);
            assert_eq!(repeats.first_time(v), expected, "value {i}");
            firsts += usize::from(expected);
        }
        assert_eq!(firsts, reference.len());
        assert!(
            repeats.len() < reference.len(),
            "only the repeated values are kept"
        );
    }

    #[test]
    fn a_value_met_once_is_new_and_a_repeated_one_only_once() {
        let mut finder = RepeatFinder::default();
        for v in [7, 9, 7, 7] {
            finder.add(v);
        }
        let mut r = finder.finish();
        assert_eq!(r.len(), 1);
        assert!(r.first_time(9));
        assert!(r.first_time(7));
        assert!(!r.first_time(7));
        assert!(!r.first_time(7));
    }
}

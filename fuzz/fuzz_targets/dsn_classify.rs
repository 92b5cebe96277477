//! Any bytes as a bounce report: the classifier must return a report, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mm_bounce::classify(data);
});

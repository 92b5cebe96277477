//! Any text as a template: the merge-field parser must keep every byte (text and fields put
//! back together give the input) and never panic; the image finder must return ranges that
//! lie inside the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mm_mailing::merge::{self, Segment};

fuzz_target!(|text: &str| {
    let mut joined = String::with_capacity(text.len());
    for seg in merge::parse(text) {
        match seg {
            Segment::Text(t) => joined.push_str(t),
            Segment::Field(f) => {
                assert!(!f.is_empty());
                joined.push('[');
                joined.push_str(f);
                joined.push(']');
            }
        }
    }
    assert_eq!(joined, text);
    let columns = vec!["Nachname".to_string(), "E-Mail".to_string()];
    for f in merge::fields(text) {
        let _ = merge::resolve(f, &columns);
        let _ = merge::suggest(f, &columns);
    }
    for r in mm_mailing::images::find(text) {
        assert!(text.get(r.range.clone()).is_some());
    }
});

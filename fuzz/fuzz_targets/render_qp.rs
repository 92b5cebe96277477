//! Any text as an HTML or text body with any field values: the quoted-printable body built
//! from pre-encoded literals (mm_render::qp) must be 7-bit, keep every line within 76
//! characters, never panic, and decode to exactly the filled template.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mm_mailing::Place;
use mm_render::qp::QpTemplate;
use mm_render::template::{Escape, Template};

fuzz_target!(|input: &str| {
    // template \0 value1 \0 value2
    let mut it = input.splitn(3, '\0');
    let source = it.next().unwrap_or_default();
    let values: Vec<String> = (0..2)
        .map(|_| it.next().unwrap_or_default().to_string())
        .collect();
    // One-letter columns, so that the fuzzer finds fields (`[N]`, `[o]`) quickly.
    let columns = vec!["N".to_string(), "O".to_string()];
    for escape in [Escape::Html, Escape::Text] {
        let Ok(t) = Template::parse(source, &columns, escape, Place::Html) else {
            return;
        };
        let encoded = QpTemplate::new(&t).encode(&values);
        assert!(encoded.is_ascii());
        for line in encoded.split("\r\n") {
            assert!(line.len() <= 76, "line of {}: {line:?}", line.len());
            assert!(!line.contains(['\r', '\n']), "bare CR or LF: {line:?}");
        }
        let decoded = encodify::qp::BODY
            .decode(encoded.as_bytes())
            .expect("decodes");
        // Line ends compared as LF: the encoder writes every line break as CRLF.
        let lf = |s: &str| s.replace("\r\n", "\n");
        let filled = t.fill(&values);
        assert_eq!(lf(&String::from_utf8_lossy(&decoded)), lf(&filled));
    }
});

//! Robustness: `classify` must never panic, whatever arrives. Feeds truncated and garbled
//! prefixes of every fixture (and of every corpus file when `../shared/dsn-corpus` is present)
//! and pseudo-random bytes. A fuzz target does the same open-ended; this is the quick,
//! deterministic version that runs with the tests.
use std::path::{Path, PathBuf};

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn torture(raw: &[u8], rng: &mut XorShift) {
    // Prefixes at a stride, so every part boundary gets cut somewhere.
    let stride = (raw.len() / 40).max(1);
    let mut n = 0;
    while n <= raw.len() {
        let _ = mm_bounce::classify(&raw[..n]);
        n += stride;
    }
    // Garbled copies: random bytes overwritten, including NUL, CR, LF, `:`, `@`, `-`.
    for _ in 0..8 {
        let mut g = raw.to_vec();
        if g.is_empty() {
            break;
        }
        for _ in 0..(g.len() / 50).max(1) {
            let i = (rng.next() as usize) % g.len();
            let pick = [0u8, b'\r', b'\n', b':', b'@', b'-', b'<', 0xff, b' ', b'.'];
            g[i] = pick[(rng.next() as usize) % pick.len()];
        }
        let _ = mm_bounce::classify(&g);
    }
}

#[test]
fn never_panics_on_fixtures_and_corpus() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut files = Vec::new();
    files_under(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        &mut files,
    );
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/dsn-corpus/maildir");
    if corpus.is_dir() {
        files_under(&corpus, &mut files);
    } else {
        println!("corpus absent at {}: fixtures only", corpus.display());
    }
    assert!(!files.is_empty(), "no fixtures found");
    for f in &files {
        if let Ok(raw) = std::fs::read(f) {
            torture(&raw, &mut rng);
        }
    }
    println!("tortured {} files", files.len());
}

#[test]
fn never_panics_on_random_bytes() {
    let mut rng = XorShift(42);
    for len in [0usize, 1, 2, 7, 64, 500, 4096, 20_000] {
        for _ in 0..20 {
            let v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = mm_bounce::classify(&v);
            // Random printable text with header-ish structure.
            let alphabet = b"ab:@<>.-\r\n 0123456789;=\"Final-Recipient";
            let t: Vec<u8> = (0..len)
                .map(|_| alphabet[(rng.next() as usize) % alphabet.len()])
                .collect();
            let _ = mm_bounce::classify(&t);
        }
    }
}

#[test]
fn hostile_sizes_finish() {
    // Many addresses on many lines, a huge single line, deep nesting: must not hang or panic.
    let mut many = String::from("From: MAILER-DAEMON@x.test\nSubject: Undelivered Mail\n\n");
    for i in 0..5000 {
        many.push_str(&format!(
            "<u{i}@d{i}.test>: 550 5.1.1 user unknown u{i}@d{i}.test\n"
        ));
    }
    let rep = mm_bounce::classify(many.as_bytes());
    assert!(rep.recipients.len() <= 300);
    let line = format!("Subject: x\n\n{}", "a\"@b".repeat(200_000));
    let _ = mm_bounce::classify(line.as_bytes());
    let mut nested = String::from("Subject: failure notice\n\nhello\n");
    for _ in 0..50 {
        nested = format!(
            "Subject: Fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: message/rfc822\n\n{nested}\n--b--\n"
        );
    }
    let _ = mm_bounce::classify(nested.as_bytes());
}

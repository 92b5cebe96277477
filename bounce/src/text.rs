//! The human-readable part of a report, for the many MTAs that send no RFC 3464 fields
//! (qmail, Exim, old Sendmail, Exchange 2003, Domino, Gmail's old format, Yahoo, ...), and as a
//! source of diagnostics when the fields lack one.
//!
//! What is generic across those formats, and what this module relies on:
//! - the returned original follows a separator line (`--- Below this line is a copy of the
//!   message.`, `------ This is a copy of the message, including all the headers. ------`,
//!   `----- Original message -----`, `   ----- Unsent message follows -----`, ...); everything
//!   after it is the original and is not searched for recipients;
//! - a failed recipient stands at the start of a line (`<a@b>:`, `a@b`, `a@b: 550 ...`,
//!   `a@b on <date>`), or is the subject of an SMTP transcript line (`550 <a@b>... User
//!   unknown`, `RCPT TO:<a@b>`, `Recipient address: a@b`);
//! - the lines right after it (until the next recipient or the end of the paragraph) are the
//!   diagnostic; a sendmail transcript's `<<< 550 ...` answers just before it belong to it too.
//!
//! Addresses in running prose are only used when no line-leading recipient exists, and the
//! report's own sender/recipient addresses are never taken as failed recipients.
use crate::scan::{self, trim};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use std::sync::LazyLock;

/// A recipient found in the text with what was said about it.
#[derive(Debug, Clone, Default)]
pub struct TextHit {
    /// The address.
    pub address: String,
    /// Text about this recipient (may be empty).
    pub diagnostic: String,
    /// Found at the start of a line / as the subject of a transcript line.
    pub strong: bool,
}

/// Crude HTML to text: tags dropped, block ends become newlines, common entities decoded.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(rest.get(..lt).unwrap_or_default());
        let after = rest.get(lt..).unwrap_or_default();
        let end = after.find('>').map(|e| e + 1).unwrap_or(after.len());
        // Compared in place, case-insensitively: lower-casing a copy of every tag was most of
        // the cost of a long HTML report.
        let tag = after.get(..end).unwrap_or_default().as_bytes();
        let starts = |t: &str| {
            tag.get(..t.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(t.as_bytes()))
        };
        if [
            "<br", "</p", "</div", "</tr", "<p", "<tr", "</li", "</h", "</table",
        ]
        .iter()
        .any(|t| starts(t))
        {
            out.push('\n');
        } else if starts("</td") {
            out.push(' ');
        }
        rest = after.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    decode_entities(out)
}

/// The entities [`strip_html`] decodes, with their text.
const ENTITIES: &[(&str, &str)] = &[
    ("&nbsp;", " "),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", "\""),
    ("&#39;", "'"),
    ("&amp;", "&"),
];

/// [`ENTITIES`] decoded in one pass from `&` to `&`. The same result as one `replace` per
/// entity in the order listed (six passes with a substring searcher, most of the cost of a
/// long HTML report): every entity starts with its only `&` and ends with its only `;`, so
/// no two occurrences overlap, and no decoded text can start an entity listed before it
/// (only `&amp;` gives a `&`, and it is the last).
fn decode_entities(text: String) -> String {
    let Some(first) = memchr::memchr(b'&', text.as_bytes()) else {
        return text;
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..first).unwrap_or_default());
    let mut rest = text.get(first..).unwrap_or_default();
    while !rest.is_empty() {
        // `rest` starts with `&`.
        let (skip, decoded) = ENTITIES
            .iter()
            .find(|(e, _)| rest.starts_with(e))
            .map_or((1, "&"), |(e, d)| (e.len(), *d));
        out.push_str(decoded);
        rest = rest.get(skip..).unwrap_or_default();
        let next = memchr::memchr(b'&', rest.as_bytes()).unwrap_or(rest.len());
        out.push_str(rest.get(..next).unwrap_or_default());
        rest = rest.get(next..).unwrap_or_default();
    }
    out
}

const SEP_WORDS: &[&str] = &[
    "original message",
    "copy of the message",
    "copy of your message",
    "copy of the original",
    "returned message",
    "unsent message",
    "message headers",
    "header of the original",
    "headers of the original",
    "header of your message",
    "headers of your message",
    "message text",
    "below this line",
    "rejected message",
    "original mail",
    "undelivered message",
    "message follows",
    "original e-mail",
    "returned mail",
    "header of the message",
    "headers of the message",
    "text of your message",
];

const SEP_SENTENCES: &[&str] = &[
    "below this line is a copy of the message",
    "below is a copy of the original message",
    "message headers follow",
    "original message follows",
    "unsent message follows",
    "original message headers",
    "the original message headers",
    "headers of the original message",
    "the original message is attached",
    "a copy of the original message",
    "your original message is included",
    "below is the original message",
];

/// Separator words and sentences in one automaton; ids below `SEP_WORDS.len()` are words.
static SEP_AC: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(SEP_WORDS.iter().chain(SEP_SENTENCES))
        .ok()
});

/// Whether `line` starts the returned original message.
pub fn is_separator(line: &str) -> bool {
    let t = line.trim();
    if t.len() < 8 || t.len() > 120 {
        return false;
    }
    let decorated = t.starts_with(['-', '=', '*', '_', '<', '#', '~']);
    SEP_AC.as_ref().is_some_and(|ac| {
        ac.find_overlapping_iter(t).any(|m| {
            if m.pattern().as_usize() < SEP_WORDS.len() {
                decorated
            } else {
                m.start() == 0 || t.len() < 70
            }
        })
    })
}

/// Splits a plain-text report at its separator: (report text, returned original if any).
pub fn split_returned(text: &str) -> (&str, Option<&str>) {
    // Line by line, with a cheap test before the automaton: a separator line that is not
    // decorated needs a sentence, and every sentence has "message" in it
    // (`sentences_name_a_message`). Running the automaton over every byte of the text was
    // most of the cost here; most lines are neither decorated nor name a message. The first
    // line that is a separator is the one the whole-text search found before: a pattern
    // never spans lines, so every line holding one had a match of its own.
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', bytes.get(start..).unwrap_or_default())
            .map_or(bytes.len(), |p| start + p + 1);
        let line = text.get(start..end).unwrap_or_default();
        if may_be_separator(line) && is_separator(line) {
            return (
                text.get(..start).unwrap_or(text),
                Some(
                    text.get(end..)
                        .unwrap_or_default()
                        .trim_start_matches(['\r', '\n']),
                ),
            );
        }
        start = end;
    }
    (text, None)
}

/// A necessary condition for [`is_separator`], cheaper to test: the length bounds, and the
/// words every pattern has (`prefilter_passes_every_pattern`): a decorated line needs one of
/// "message", "original", "below", "returned" (any pattern); an undecorated one needs a
/// sentence, and every sentence has "message" and one of "follow", "original", "below".
/// ASCII case-insensitive, like the automaton.
fn may_be_separator(line: &str) -> bool {
    let t = trim(line);
    if t.len() < 8 || t.len() > 120 {
        return false;
    }
    let b = t.as_bytes();
    if t.starts_with(['-', '=', '*', '_', '<', '#', '~']) {
        return has_word(b, b"message", 0)
            || has_word(b, b"original", 3)
            || has_word(b, b"below", 0)
            || has_word(b, b"returned", 3);
    }
    has_word(b, b"message", 0)
        && (has_word(b, b"follow", 0) || has_word(b, b"original", 3) || has_word(b, b"below", 0))
}

/// Whether `hay` contains `word` (lower case ASCII), ASCII case-insensitively. The byte at
/// `anchor` in `word` (a letter) is looked for with `memchr2` in both cases: a rarer one
/// than the first makes fewer candidates.
fn has_word(hay: &[u8], word: &[u8], anchor: usize) -> bool {
    let Some(&a) = word.get(anchor) else {
        return false;
    };
    memchr::memchr2_iter(a, a.to_ascii_uppercase(), hay).any(|i| {
        i >= anchor
            && hay
                .get(i - anchor..i - anchor + word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
    })
}

/// Prefixes after which an address mid-line is still the subject of the line.
const STRONG_PREFIXES: &[&str] = &[
    "rcpt to:",
    "rcpt to",
    "recipient:",
    "recipients:",
    "recipient address:",
    "recipient address",
    "address:",
    "original-recipient:",
    "final-recipient:",
    "failed recipient:",
    "to address:",
    "mailbox:",
    "invalid recipient:",
    "unknown recipient:",
    "addressee:",
    "destinataire :",
    "destinataire:",
    "target mail address:",
    "for",
];

/// Words before an address that make it a sender, not a recipient.
const SENDER_PREFIXES: &[&str] = &[
    "from",
    "from:",
    "sender",
    "sender:",
    "mail from:",
    "mail from",
    "by",
    "reply-to:",
    "return-path:",
    "envelope-from",
    "smtp.mailfrom=",
];

fn is_code_prefix(p: &str) -> bool {
    // `550`, `550 5.1.1`, `554-5.7.1`, `<<< 550`, `>>> RCPT To:` are handled elsewhere.
    !p.is_empty()
        && p.split([' ', '-'])
            .filter(|w| !w.is_empty())
            .all(|w| w.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

fn strength(line: &str, f: &scan::Found<'_>) -> Option<bool> {
    let before = line.get(..f.start).unwrap_or_default();
    let after = line.get(f.end..).unwrap_or_default();
    let p = before
        .trim_end()
        .trim_end_matches(['<', '"', '\'', '(', '['])
        .trim_end();
    let pl = p.to_ascii_lowercase();
    let pl = pl
        .trim_start_matches(['>', ' ', '*', '-', '\t', '•', '#'])
        .trim();
    if SENDER_PREFIXES.iter().any(|s| pl.ends_with(s)) && !pl.ends_with("rcpt to:") {
        return None;
    }
    if pl.is_empty() || is_code_prefix(pl) {
        return Some(true);
    }
    if STRONG_PREFIXES.iter().any(|s| {
        pl.ends_with(s)
            && (pl.len() == s.len()
                || !pl.as_bytes()[pl.len() - s.len() - 1].is_ascii_alphanumeric())
    }) {
        return Some(true);
    }
    let a = after.trim_start_matches('>');
    if a.starts_with("...") {
        return Some(true);
    }
    Some(false)
}

/// The most addresses considered in one text.
const MAX_MARKS: usize = 300;

/// Scans the report text (already cut at the separator) for failed recipients.
/// `exclude` holds addresses that are certainly not recipients (lower case).
pub fn recipients(text: &str, exclude: &[String]) -> Vec<TextHit> {
    // Sized for lines of ~32 bytes: growing the vector line by line was a visible cost.
    let mut lines: Vec<&str> = Vec::with_capacity((text.len() / 32 + 1).min(2000));
    lines.extend(scan::lines(text).take(2000));
    // (line index, address, strong)
    let mut marks: Vec<(usize, String, bool, usize)> = Vec::new();
    'lines: for (i, line) in lines.iter().enumerate() {
        if memchr::memchr(b'@', line.as_bytes()).is_none() {
            continue;
        }
        for f in scan::addresses(line) {
            // `exclude` is lower case: compared in place, without a lower-cased copy.
            if exclude.iter().any(|e| e.eq_ignore_ascii_case(f.addr)) || is_noise(f.addr) {
                continue;
            }
            if let Some(strong) = strength(line, &f) {
                marks.push((i, f.addr.to_string(), strong, f.end));
            }
            // A report names a handful of recipients; a text with thousands of addresses is not
            // a report, and the pairing below is quadratic in their number.
            if marks.len() >= MAX_MARKS {
                break 'lines;
            }
        }
    }
    let any_strong = marks.iter().any(|m| m.2);
    let marks: Vec<_> = marks.into_iter().filter(|m| m.2 || !any_strong).collect();
    let mut hits: Vec<TextHit> = Vec::new();
    for (k, (i, addr, strong, end)) in marks.iter().enumerate() {
        let next_line = marks
            .get(k + 1..)
            .and_then(|m| m.iter().find(|m| m.0 > *i))
            .map(|m| m.0)
            .unwrap_or(lines.len());
        let mut diag = String::new();
        // Sendmail transcript answers (`<<< 550 ...`) just above belong to this recipient.
        let prev_line = if k == 0 { 0 } else { marks[k - 1].0 + 1 };
        for l in lines.get(prev_line.min(*i)..*i).unwrap_or_default() {
            if l.trim_start().starts_with("<<<") {
                push_line(&mut diag, l.trim_start().trim_start_matches('<'));
            }
        }
        // The line itself: what follows the address, or the whole line when the address is
        // inside a transcript line (`550 5.1.1 <a@b>... User unknown`).
        let line = lines.get(*i).copied().unwrap_or_default();
        let rest = line.get(*end..).unwrap_or_default();
        let rest = rest.trim_start_matches(['>', ':', ' ', '.', ']', ')', '\t', '"']);
        let before = line
            .get(..end.saturating_sub(addr.len()))
            .unwrap_or_default();
        if before.bytes().any(|b| b.is_ascii_alphanumeric()) {
            push_line(&mut diag, line);
        } else {
            push_line(&mut diag, rest);
        }
        // Then the following lines, up to the next recipient, over at most three paragraphs.
        let mut paragraphs = 0;
        let mut in_blank = false;
        let mut taken = 0;
        for l in lines
            .get(i + 1..next_line)
            .unwrap_or_default()
            .iter()
            .take(40)
        {
            if trim(l).is_empty() {
                if !in_blank {
                    paragraphs += 1;
                    in_blank = true;
                }
                if paragraphs >= 3 {
                    break;
                }
                continue;
            }
            in_blank = false;
            if taken >= 15 {
                break;
            }
            push_line(&mut diag, l);
            taken += 1;
        }
        match hits
            .iter_mut()
            .find(|h| h.address.eq_ignore_ascii_case(addr))
        {
            Some(h) => {
                if !diag.is_empty() && !h.diagnostic.contains(diag.as_str()) {
                    push_line(&mut h.diagnostic, &diag);
                }
                h.strong |= *strong;
            }
            None => hits.push(TextHit {
                address: addr.clone(),
                diagnostic: diag,
                strong: *strong,
            }),
        }
    }
    hits
}

fn push_line(buf: &mut String, line: &str) {
    let t = trim(line);
    if t.is_empty() || buf.len() > 4000 {
        return;
    }
    if !buf.is_empty() {
        buf.push(' ');
    }
    buf.push_str(t);
}

/// Addresses that appear in reports but are never the failed recipient: the mail system's
/// own, reserved `.invalid` ones, address literals, and VERP return paths (`x+<token>@`,
/// SPEC §7), which are the sender of the original.
///
/// ASCII case-insensitive, compared in place: a lower-cased copy of every address found was a
/// visible part of the cost of [`recipients`].
fn is_noise(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or_default();
    let verp = local.rsplit_once('+').is_some_and(|(_, t)| {
        t.len() == mm_domain::verp::TOKEN_LEN
            && t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b.to_ascii_lowercase()))
    });
    let b = addr.as_bytes();
    let starts = |p: &[u8]| {
        local
            .as_bytes()
            .get(..p.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(p))
    };
    let ends = |p: &[u8]| {
        b.len() >= p.len()
            && b.get(b.len() - p.len()..)
                .is_some_and(|x| x.eq_ignore_ascii_case(p))
    };
    verp || starts(b"mailer-daemon") || ends(b".invalid") || addr.contains("@[")
}

/// The remote host named in a diagnostic (`host mx.example.org [192.0.2.1]`,
/// `host mx.example.org[192.0.2.1] said:`), if any.
pub fn remote_host(diag: &str) -> Option<String> {
    // `host ` found ASCII case-insensitively in place (a diagnostic can be a whole report
    // text; lower-casing a copy of it was most of the cost here).
    let b = diag.as_bytes();
    for at in memchr::memchr2_iter(b'h', b'H', b) {
        if !b
            .get(at..at + 5)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"host "))
        {
            continue;
        }
        if at > 0 && b[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = diag.get(at + 5..).unwrap_or_default().trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        let name = name.trim_end_matches('.');
        if name.contains('.') && name.bytes().any(|b| b.is_ascii_alphabetic()) {
            return Some(name.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_entities_are_decoded_once() {
        assert_eq!(
            strip_html("<p>5 &lt; 6 &amp;&amp; 7&nbsp;&gt; 2</p><br>&quot;it&#39;s&quot;"),
            "\n5 < 6 && 7 > 2\n\n\"it's\""
        );
        // An escaped entity stays an entity; unknown or cut ones stay as written.
        assert_eq!(strip_html("&amp;lt; &copy; &am &"), "&lt; &copy; &am &");
        // Tags removed first: an entity split by a tag is decoded.
        assert_eq!(strip_html("x&am<b>p;y"), "x&y");
        assert_eq!(strip_html("é&lt;ü&"), "é<ü&");
    }

    #[test]
    fn separator_and_recipients() {
        let t = "Hi.\n\n<a@x.example>:\nRemote host said: 550 5.1.1 unknown\n\n--- Below this line is a copy of the message.\n\nTo: b@y.example\n";
        let (head, rest) = split_returned(t);
        assert!(rest.unwrap().starts_with("To: b@y.example"));
        let hits = recipients(head, &[]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].address, "a@x.example");
        assert!(hits[0].diagnostic.contains("550 5.1.1"));
    }

    #[test]
    fn prefilter_passes_every_pattern() {
        for s in SEP_SENTENCES {
            assert!(may_be_separator(s), "{s}");
            assert!(may_be_separator(&s.to_ascii_uppercase()), "{s}");
        }
        for w in SEP_WORDS.iter().chain(SEP_SENTENCES) {
            assert!(may_be_separator(&format!("-- {w}")), "{w}");
            assert!(
                may_be_separator(&format!("-- {}", w.to_ascii_uppercase())),
                "{w}"
            );
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for t in [
            "",
            " ",
            "\x0B",
            "\u{3000}",
            " a ",
            "\u{3000}a\u{a0}",
            "\u{e9}t\u{e9}",
            "\x1Fa\x1F",
            "\r\n\t\x0Ca b\x0C\n",
            " \u{2028}x\u{85} ",
            "\u{85}",
        ] {
            assert_eq!(trim(t), t.trim(), "{t:?}");
        }
    }

    /// The split as the whole-text automaton search made it (before the line prefilter).
    fn split_by_search(text: &str) -> (&str, Option<&str>) {
        let ac = SEP_AC.as_ref().unwrap();
        let mut checked_line = usize::MAX;
        for m in ac.find_iter(text) {
            let start = text[..m.start()].rfind('\n').map_or(0, |p| p + 1);
            if start == checked_line {
                continue;
            }
            checked_line = start;
            let end = text[m.end()..]
                .find('\n')
                .map_or(text.len(), |p| m.end() + p + 1);
            if is_separator(&text[start..end]) {
                return (
                    &text[..start],
                    Some(text[end..].trim_start_matches(['\r', '\n'])),
                );
            }
        }
        (text, None)
    }

    #[test]
    fn split_is_the_whole_text_search() {
        let lines = [
            "Hi.",
            "",
            "<a@x.example>: 550 unknown",
            "--- Below this line is a copy of the message.",
            "   ----- Unsent message follows -----",
            "The original MESSAGE is attached.",
            "Your original message is included as attachment, with all its headers intact, for you to read again",
            "x original message follows, said at length in a line that runs on past seventy bytes",
            "*** returned mail ***",
            "returned mail",
            "  ",
            "message headers follow\r",
            "M\u{e9}ssage original message follows",
            "\u{3000}===== Original Message =====\u{3000}",
            "copy of the original",
            "~ copy of the original",
        ];
        // Every pair and triple of lines, LF and CRLF.
        for a in &lines {
            for b in &lines {
                for c in ["", "\n", "tail"] {
                    for nl in ["\n", "\r\n"] {
                        let t = format!("{a}{nl}{b}{nl}{c}");
                        assert_eq!(split_returned(&t), split_by_search(&t), "{t:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn remote_host_and_verp_noise() {
        assert_eq!(
            remote_host("host mx.example.org[192.0.2.1] said: 550 no").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            remote_host("SMTP error: host mx.b.example [192.0.2.2]: 550").as_deref(),
            Some("mx.b.example")
        );
        assert_eq!(remote_host("ghost town, no host here"), None);
        assert!(is_noise("bounce+0123456789abcdefghijklmnopqrstu@b.test"));
        assert!(!is_noise("first+last@b.test"));
        assert!(is_noise("Bounce+0123456789ABCDEFGHIJKLMNOPQRSTU@b.test"));
        assert!(is_noise("MAILER-DAEMON@b.test"));
        assert!(is_noise("a@b.INVALID"));
        assert!(is_noise("a@[192.0.2.1]"));
        assert!(!is_noise("a@b.test"));
        assert_eq!(
            remote_host("HOST HOST mx.c.example said").as_deref(),
            Some("mx.c.example")
        );
        assert_eq!(remote_host("ghost host"), None);
    }

    #[test]
    fn sender_is_not_a_recipient() {
        let t = "Message from sender@x.example could not be delivered to\n\n  rcpt@y.example\n\nbecause it does not exist.\n";
        let hits = recipients(t, &[]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].address, "rcpt@y.example");
    }
}

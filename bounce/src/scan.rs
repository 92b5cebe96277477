//! Small scanners over free text: e-mail addresses, enhanced status codes (RFC 3463) and SMTP
//! reply codes. Hand-written rather than regular expressions: they run on every line of every
//! report, and they must never panic on hostile bytes (all slicing is on char boundaries found
//! by the scan itself).

/// The lines of `text`, exactly as [`str::lines`] gives them (split after each `\n`, then one
/// `\n` and one `\r` before it dropped). The line ends are found with the `memchr` crate's
/// vectorised search rather than `str::lines`' generic one: report texts are split into
/// lines several times each, and that search was a visible part of the cost.
pub fn lines(text: &str) -> Lines<'_> {
    Lines { rest: text }
}

/// The iterator of [`lines`].
pub struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr::memchr(b'\n', self.rest.as_bytes()) {
            // `\n` is ASCII: both cuts are on char boundaries.
            Some(p) => (
                self.rest.get(..p).unwrap_or_default(),
                self.rest.get(p + 1..).unwrap_or_default(),
            ),
            None => return Some(std::mem::take(&mut self.rest)),
        };
        self.rest = rest;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// `s.trim()`, with ASCII white space at the ends dropped byte by byte (`str::trim` decodes
/// and classifies every char); a non-ASCII byte at an end is left to `str::trim`.
pub fn trim(s: &str) -> &str {
    // Unicode White_Space in ASCII (`u8::is_ascii_whitespace` lacks the vertical tab).
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r');
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !ws(c)).map_or(start, |p| p + 1);
    // Cut at ASCII bytes: on char boundaries.
    let t = s.get(start..end).unwrap_or_default();
    if t.as_bytes().first().is_some_and(|c| *c >= 0x80)
        || t.as_bytes().last().is_some_and(|c| *c >= 0x80)
    {
        t.trim()
    } else {
        t
    }
}

/// An address found in text, with its byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    /// The address (`local@domain`), without angle brackets.
    pub addr: &'a str,
    /// Byte offset of the start in the scanned text.
    pub start: usize,
    /// Byte offset just past the end.
    pub end: usize,
}

/// Local-part bytes: RFC 5322 atext and dots, plus any non-ASCII byte (RFC 6531 UTF-8
/// addresses). Lead and continuation bytes are all ≥ 0x80, so a span of these always starts
/// and ends on a char boundary.
fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-.".contains(&b) || b >= 0x80
}

/// Domain bytes: ASCII only. Reports carry IDNs as punycode, while UTF-8 text glued to an
/// address ("a@example.jp您好") is common in localized reports.
fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'
}

/// Every `local@domain` in `text`, left to right. Quoted local parts (`"a b"@x`) are kept
/// with their quotes.
pub fn addresses(text: &str) -> Vec<Found<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = bytes.get(from..).and_then(|s| memchr::memchr(b'@', s)) {
        let at = from + rel;
        from = at + 1;
        // Local part, leftwards.
        let mut start = at;
        if at > 0 && bytes[at - 1] == b'"' {
            // Quoted local part: find the opening quote on the same line.
            let mut i = at - 1;
            let mut found = None;
            while i > 0 {
                i -= 1;
                match bytes[i] {
                    b'"' => {
                        found = Some(i);
                        break;
                    }
                    b'\n' | b'\r' | b'<' | b'>' => break,
                    _ => {}
                }
            }
            match found {
                Some(q) => start = q,
                None => continue,
            }
        } else {
            while start > 0 && is_local_char(bytes[start - 1]) {
                start -= 1;
            }
            while start < at && bytes[start] == b'.' {
                start += 1;
            }
        }
        // Domain, rightwards.
        let mut end = at + 1;
        if bytes.get(end) == Some(&b'[') {
            // Address literal.
            match bytes.get(end..).and_then(|s| memchr::memchr(b']', s)) {
                Some(r) if r < 48 => end += r + 1,
                _ => continue,
            }
        } else {
            while end < bytes.len() && is_domain_char(bytes[end]) {
                end += 1;
            }
            while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
                end -= 1;
            }
        }
        if start >= at || end <= at + 1 {
            continue;
        }
        if !bytes[at + 1].is_ascii_alphanumeric() && bytes[at + 1] != b'[' {
            continue;
        }
        if let Some(addr) = text.get(start..end) {
            out.push(Found { addr, start, end });
            from = end;
        }
    }
    out
}

/// Cleans an address value from a report field: drops an `rfc822;`-style type, angle
/// brackets, surrounding quotes and white space, and a trailing dot.
pub fn clean_address(value: &str) -> Option<String> {
    let v = match value.split_once(';') {
        Some((ty, rest)) if !ty.contains('@') && !ty.contains('"') => rest,
        _ => value,
    };
    let v = v.trim();
    // Prefer what is between angle brackets, if any.
    let v = match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => v.get(a + 1..b).unwrap_or(v),
        _ => v,
    };
    let v = v.trim().trim_matches('\'').trim_end_matches('.').trim();
    if let Some(f) = addresses(v).into_iter().next() {
        return Some(f.addr.to_string());
    }
    None
}

fn digits_at(bytes: &[u8], i: usize, max: usize) -> usize {
    let mut n = 0;
    while n < max && bytes.get(i + n).is_some_and(|b| b.is_ascii_digit()) {
        n += 1;
    }
    n
}

/// Every enhanced status code `c.s.d` (class 2, 4 or 5; subject and detail up to 3 digits)
/// standing alone in `text` (not part of an IP address or version number).
pub fn status_codes(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 < bytes.len() + 1 {
        let b = bytes[i];
        if matches!(b, b'2' | b'4' | b'5') && bytes.get(i + 1) == Some(&b'.') {
            let prev_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
            let s = digits_at(bytes, i + 2, 4);
            if prev_ok && (1..=3).contains(&s) && bytes.get(i + 2 + s) == Some(&b'.') {
                let d = digits_at(bytes, i + 3 + s, 4);
                let end = i + 3 + s + d;
                let next_ok = match bytes.get(end) {
                    None => true,
                    Some(&c) => {
                        !(c.is_ascii_alphanumeric()
                            || (c == b'.'
                                && bytes.get(end + 1).is_some_and(|n| n.is_ascii_digit())))
                    }
                };
                if (1..=3).contains(&d) && next_ok {
                    if let Some(code) = text.get(i..end) {
                        out.push((i, code));
                    }
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// The first SMTP reply code (`[245]xx` followed by a space, `-` or the end) in `text`.
pub fn reply_code(text: &str) -> Option<(usize, u16)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let b = bytes[i];
        if matches!(b, b'2' | b'4' | b'5')
            && bytes[i + 1].is_ascii_digit()
            && bytes[i + 2].is_ascii_digit()
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || matches!(
                        bytes[i - 1],
                        b'.' | b':' | b'-' | b'/' | b'=' | b'#' | b'+' | b'_'
                    )))
            && bytes
                .get(i + 3)
                .is_none_or(|&c| c == b' ' || c == b'-' || c == b'\r' || c == b'\n' || c == b'\t')
        {
            // `550-5.1.1` or `550 5.1.1` or `550 text`; reject `250-byte` style words.
            let code = u16::from(b - b'0') * 100
                + u16::from(bytes[i + 1] - b'0') * 10
                + u16::from(bytes[i + 2] - b'0');
            if code % 100 < 60 {
                return Some((i, code));
            }
        }
        i += 1;
    }
    None
}

/// Whether `code` is one of the codes Sisimai invents for reports without one (`X.0.9NN`),
/// which are not real codes.
pub fn is_invented(code: &str) -> bool {
    let mut parts = code.split('.');
    let _class = parts.next();
    parts.next() == Some("0")
        && parts
            .next()
            .is_some_and(|d| d.len() == 3 && d.starts_with('9'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses() {
        let t = "to <Kiji.Tora@example.jp>: and \"a..b\"@x.org, rfc822;c@d. end";
        let v: Vec<_> = addresses(t).iter().map(|f| f.addr).collect();
        assert_eq!(v, ["Kiji.Tora@example.jp", "\"a..b\"@x.org", "c@d"]);
        let v: Vec<_> =
            addresses("utf-8; <josé@exemple.test>, 用户@xn--fsqu00a.xn--3lr804guic 您好")
                .iter()
                .map(|f| f.addr)
                .collect();
        assert_eq!(v, ["josé@exemple.test", "用户@xn--fsqu00a.xn--3lr804guic"]);
        assert_eq!(
            clean_address("rfc822; <A@B.example>").as_deref(),
            Some("A@B.example")
        );
        assert!(addresses("@@ a@ @b").is_empty());
    }

    #[test]
    fn lines_are_those_of_str_lines() {
        for t in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "a\r\r\nb",
            "\r\n\r\n",
            "a\n\nb\r\nc\r",
            "é\nü\r\n",
        ] {
            assert_eq!(
                lines(t).collect::<Vec<_>>(),
                t.lines().collect::<Vec<_>>(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn finds_codes() {
        let t = "host [192.0.2.5]: 550-5.1.1 user unknown (#5.5.0) v8.14.4 4.4.7.";
        let codes: Vec<_> = status_codes(t).iter().map(|c| c.1).collect();
        assert_eq!(codes, ["5.1.1", "5.5.0", "4.4.7"]);
        assert_eq!(reply_code(t).map(|r| r.1), Some(550));
        assert_eq!(reply_code("port 25, size 2500"), None);
        assert!(is_invented("5.0.910"));
        assert!(!is_invented("5.0.0"));
    }
}

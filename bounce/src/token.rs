//! Finding VERP tokens (SPEC §7) in a report without knowing the configured local part: the
//! token is 31 characters of base32hex, either after a `+` and before an `@` (the VERP
//! envelope sender, often quoted in the returned headers) or at the start of a Message-ID.
use mm_domain::verp::TOKEN_LEN;
use mm_domain::VerpToken;

fn is_b32(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'v').contains(&b.to_ascii_lowercase())
}

/// Tokens in `raw` that precede `@`: first those after a `+`, then those after a `<`, each in
/// order of appearance, without duplicates. One pass over the `@`s for both: an `@` has one
/// byte before its token, so it belongs to at most one of the two lists.
pub fn scan(raw: &[u8], out: &mut Vec<VerpToken>) {
    let mut angled = Vec::new();
    for at in memchr::memchr_iter(b'@', raw) {
        if at < TOKEN_LEN + 1 {
            continue;
        }
        let start = at - TOKEN_LEN;
        let list = match raw[start - 1] {
            b'+' => &mut *out,
            b'<' => &mut angled,
            _ => continue,
        };
        let cand = &raw[start..at];
        if !cand.iter().all(|&b| is_b32(b)) {
            continue;
        }
        if let Some(t) = std::str::from_utf8(cand).ok().and_then(VerpToken::decode) {
            if !list.contains(&t) {
                list.push(t);
            }
        }
    }
    for t in angled {
        if !out.contains(&t) {
            out.push(t);
        }
    }
}

/// Adds the token of a bare value (an envelope id may be the token itself, or an address or
/// Message-ID holding it).
pub fn from_value(v: &str, out: &mut Vec<VerpToken>) {
    let v = v.trim();
    let t = VerpToken::decode(v)
        .or_else(|| VerpToken::from_message_id(v))
        .or_else(|| {
            let (local, _) = v.trim_matches(['<', '>']).rsplit_once('@')?;
            let (_, tok) = local.rsplit_once('+')?;
            VerpToken::decode(tok)
        });
    if let Some(t) = t {
        if !out.contains(&t) {
            out.push(t);
        }
    }
}

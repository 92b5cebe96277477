//! One forward walk over a message's MIME structure: from the top Content-Type's boundary,
//! delimiter by delimiter (nested multiparts followed with their own boundary, as mail-parser
//! does), reading each part's header block once. It finds the same part bodies the byte scans
//! of [`crate::mime`] looked for (attached messages, text and report parts, attachments), and
//! more of them (message/delivery-status and the other report parts), without searching the
//! message once per media type and walking back from each hit to its delimiter.
//!
//! It reads only plain structure: anything it does not follow exactly as mail-parser would (a
//! delimiter line with text after it, a folded or odd header line, an RFC 2231 or commented
//! Content-Type, multipart/digest, an attached message it cannot cut, a missing delimiter
//! other than after a returned message the report ends in) makes it give up
//! ([`Odd`]), and the caller then uses the byte scans. What it finds is still checked against
//! mail-parser's own parse of the shortened copy (`walk_parts`), which falls back to parsing
//! the message whole.
use crate::mime::{qp_decode, transfer_encoding, Cut, CutKind, Encoding, QpCut};
use std::borrow::Cow;

/// Why the walk gave up (the caller falls back to the byte scans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Odd {
    #[error("header block not plain")]
    HeaderBlock,
    #[error("Content-Type not read plainly")]
    ContentType,
    #[error("boundary delimiter missing")]
    NoDelimiter,
    #[error("text after a boundary delimiter")]
    DelimiterLine,
    #[error("multipart/digest or nesting too deep")]
    Structure,
    #[error("attached message not cut")]
    AttachedMessage,
}

/// The parts whose bodies the caller cuts out of mail-parser's copy, in order, and what the
/// walk read of the structure around them (for [`crate::plain`], which builds the result
/// without mail-parser when every part was read).
#[derive(Debug, Default)]
pub(crate) struct Found<'a> {
    pub cuts: Vec<Cut>,
    pub qps: Vec<QpCut<'a>>,
    /// The leaf parts in mail-parser's order (its `parts` without the multiparts).
    pub pieces: Vec<Piece<'a>>,
    /// Some part is in neither `cuts` nor `qps` (mail-parser would decode it).
    pub unread: bool,
    /// The message's own header block (without its blank line), its Content-Type, and where
    /// its body starts.
    pub top: Option<(&'a [u8], Option<ContentType<'a>>, usize)>,
}

/// A leaf part as the walk read it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    /// A body decoded here, `qps[qp]`, with its Content-Type (`None`: text/plain).
    Body {
        qp: usize,
        ctype: Option<ContentType<'a>>,
    },
    /// An attached message cut out, `cuts[cut]`.
    Message { cut: usize },
}

/// The most multiparts nested in one another that are followed.
const MAX_DEPTH: usize = 8;
/// The most attached messages cut out of one report.
const MAX_CUTS: usize = 8;
/// The most part bodies decoded here in one report.
const MAX_BODIES: usize = 48;

/// A Content-Type value read plainly: type and subtype as written, and the parameters read
/// (the first of each name, as mail-parser's `attribute` finds it; it lower-cases the names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentType<'h> {
    pub ctype: &'h [u8],
    pub subtype: &'h [u8],
    pub boundary: Option<&'h [u8]>,
    pub charset: Option<&'h [u8]>,
    pub report_type: Option<&'h [u8]>,
}

impl ContentType<'_> {
    pub(crate) fn is(&self, ctype: &str) -> bool {
        self.ctype.eq_ignore_ascii_case(ctype.as_bytes())
    }
    pub(crate) fn sub_is(&self, sub: &str) -> bool {
        self.subtype.eq_ignore_ascii_case(sub.as_bytes())
    }
}

/// RFC 2045 token bytes (no `*`, so that RFC 2231 parameters are not read as plain ones; no
/// braces), as a table: boundaries are long runs of `-`, `_`, `.` and digits.
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// The bytes of a plain field name (letters, digits, `-`, `_`), as a table: the report's own
/// header block is long (Received chains, signatures), and each of its names is read here.
pub(crate) static NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    t
};

fn token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// White space of a (possibly folded) field value.
fn fws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_ws(v: &[u8], mut i: usize) -> usize {
    while v.get(i).copied().is_some_and(fws) {
        i += 1;
    }
    i
}

fn token(v: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let n = v
        .get(from..)?
        .iter()
        .take_while(|b| token_byte(**b))
        .count();
    (n > 0).then(|| (v.get(from..from + n).unwrap_or_default(), from + n))
}

/// Reads a Content-Type value of the plain form `type/subtype *(; name=value)`, values
/// tokens or quoted strings of visible ASCII without escapes. `None` for anything else
/// (comments, RFC 2231 parameters, non-ASCII, spaces in quotes): mail-parser reads those in
/// ways not repeated here.
fn content_type(v: &[u8]) -> Option<ContentType<'_>> {
    let i = skip_ws(v, 0);
    let (ctype, i) = token(v, i)?;
    if v.get(i) != Some(&b'/') {
        return None;
    }
    let (subtype, mut i) = token(v, i + 1)?;
    let (mut boundary, mut charset, mut report_type) = (None, None, None);
    loop {
        i = skip_ws(v, i);
        match v.get(i) {
            None => break,
            Some(b';') => {}
            Some(_) => return None,
        }
        i = skip_ws(v, i + 1);
        if i >= v.len() {
            break;
        }
        let (name, j) = token(v, i)?;
        if v.get(j) != Some(&b'=') {
            return None;
        }
        let start = j + 1;
        let (value, next) = if v.get(start) == Some(&b'"') {
            let n = v
                .get(start + 1..)?
                .iter()
                .take_while(|&&b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
                .count();
            if v.get(start + 1 + n) != Some(&b'"') {
                return None;
            }
            (v.get(start + 1..start + 1 + n)?, start + 2 + n)
        } else {
            let n = v
                .get(start..)?
                .iter()
                .take_while(|&&b| b.is_ascii_graphic() && !b";\"\\()".contains(&b))
                .count();
            (v.get(start..start + n)?, start + n)
        };
        if value.is_empty() {
            return None;
        }
        // mail-parser's `attribute` finds the first parameter of a name.
        for (slot, n) in [
            (&mut boundary, &b"boundary"[..]),
            (&mut charset, b"charset"),
            (&mut report_type, b"report-type"),
        ] {
            if slot.is_none() && name.eq_ignore_ascii_case(n) {
                *slot = Some(value);
            }
        }
        i = next;
    }
    Some(ContentType {
        ctype,
        subtype,
        boundary,
        charset,
        report_type,
    })
}

/// A part's (or the message's) header block, read plainly.
#[derive(Debug, Clone, Copy)]
struct Head<'a> {
    /// The whole block, without its blank line.
    fields: &'a [u8],
    /// The Content-Type value (folded lines included), if the block has one.
    ctype: Option<&'a [u8]>,
    /// Where the body starts (past the blank line).
    body: usize,
}

/// Reads the header block starting at `from`, in one pass over its lines. The block ends at
/// an empty line; a line holding only white space would be a continuation to mail-parser, so
/// the walk gives up there. A field line with a plain name right before its colon is read as
/// such; any other line is one mail-parser reads as a field of some other name (or drops), so
/// it is accepted unless, without its white space, it names Content-Type, or is followed by a
/// continuation line (which mail-parser would read as a field of its own). At most one
/// Content-Type.
fn head(raw: &[u8], from: usize) -> Result<Head<'_>, Odd> {
    let block = raw.get(from..).ok_or(Odd::HeaderBlock)?;
    let mut ctype: Option<(usize, usize)> = None;
    let mut in_ctype = false;
    let mut odd_line = false;
    let mut line = 0;
    loop {
        let nl = memchr::memchr(b'\n', block.get(line..).unwrap_or_default())
            .map(|p| line + p)
            .ok_or(Odd::HeaderBlock)?;
        let l = block.get(line..nl).unwrap_or_default();
        if l.is_empty() || l == b"\r" {
            let fields = block.get(..line).unwrap_or_default();
            return Ok(Head {
                fields,
                ctype: ctype.and_then(|(s, e)| fields.get(s..e)),
                body: from + nl + 1,
            });
        }
        match l.first() {
            Some(b' ' | b'\t') => {
                if line == 0 || odd_line || l.iter().all(u8::is_ascii_whitespace) {
                    return Err(Odd::HeaderBlock);
                }
                if in_ctype {
                    if let Some(c) = ctype.as_mut() {
                        c.1 = nl + 1;
                    }
                }
            }
            _ => {
                let n = l.iter().take_while(|b| NAME[usize::from(**b)]).count();
                if n > 0 && l.get(n) == Some(&b':') {
                    odd_line = false;
                    in_ctype = l
                        .get(..n)
                        .is_some_and(|name| name.eq_ignore_ascii_case(b"content-type"));
                    if in_ctype {
                        if ctype.is_some() {
                            return Err(Odd::HeaderBlock);
                        }
                        ctype = Some((line + n + 1, nl + 1));
                    }
                } else {
                    // mail-parser's name: the bytes before the colon without white space.
                    let name = l.split(|&b| b == b':').next().unwrap_or_default();
                    let squeezed = name.iter().filter(|b| !b.is_ascii_whitespace());
                    if squeezed
                        .map(u8::to_ascii_lowercase)
                        .eq(b"content-type".iter().copied())
                    {
                        return Err(Odd::HeaderBlock);
                    }
                    odd_line = true;
                    in_ctype = false;
                }
            }
        }
        line = nl + 1;
    }
}

/// Where the line after a delimiter ends: mail-parser skips `\r`, spaces and tabs up to the
/// line end. `None` when other text follows the delimiter.
fn after_delimiter(raw: &[u8], from: usize) -> Option<usize> {
    let rest = raw.get(from..)?;
    let n = rest
        .iter()
        .take_while(|b| matches!(b, b'\r' | b' ' | b'\t'))
        .count();
    (rest.get(n) == Some(&b'\n')).then_some(from + n + 1)
}

/// Finds the parts of `raw` whose bodies can be cut, and why it gave up, if it did. The parts
/// found before it gave up are still right: each was cut where mail-parser ends it, and the
/// rest of the message is left as it is.
pub(crate) fn walk(raw: &[u8]) -> (Found<'_>, Result<(), Odd>) {
    let mut found = Found::default();
    let done = walk_into(raw, &mut found);
    (found, done)
}

fn walk_into<'a>(raw: &'a [u8], found: &mut Found<'a>) -> Result<(), Odd> {
    let top = head(raw, 0)?;
    let Some(value) = top.ctype else {
        found.top = Some((top.fields, None, top.body));
        return Ok(());
    };
    let ct = content_type(value).ok_or(Odd::ContentType)?;
    found.top = Some((top.fields, Some(ct), top.body));
    if ct.is("multipart") {
        let boundary = ct.boundary.ok_or(Odd::ContentType)?;
        if ct.sub_is("digest") {
            return Err(Odd::Structure);
        }
        multipart(raw, top.body, boundary, 0, found)?;
    }
    Ok(())
}

/// What a leaf part is to mail-parser, and so which cut fits it.
fn leaf_kind(ct: Option<&ContentType<'_>>) -> Option<CutKind> {
    let Some(ct) = ct else {
        return Some(CutKind::Text);
    };
    if ct.is("text") {
        Some(CutKind::Text)
    } else if ct.is("message") {
        Some(CutKind::Binary)
    } else if ["image", "audio", "video", "application", "font", "model"]
        .iter()
        .any(|t| ct.is(t))
    {
        Some(CutKind::Ignored)
    } else {
        None
    }
}

/// Where a part whose body starts at `body` ends, when the delimiter found at `at` starts a
/// line: the line end before it, `\r` excluded (where mail-parser ends it, too).
fn body_end(raw: &[u8], body: usize, at: usize) -> Option<usize> {
    let mut end = at
        .checked_sub(1)
        .filter(|e| *e >= body && raw.get(*e) == Some(&b'\n'))?;
    if end > body && raw.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    Some(end)
}

/// A substring searcher for one multipart's delimiter. `memmem::Finder::new` picks among
/// several strategies and sets each up (two-way tables, hashes, a prefilter): ~3,000
/// instructions per multipart, more than its search of a short report costs. Where AVX2 is
/// there, the packed-pair searcher alone (the prefilter memmem would use, which also verifies
/// the whole needle) is built for a fraction of that; haystacks too short for it are searched
/// byte by byte.
struct DelimFinder<'n> {
    needle: &'n [u8],
    #[cfg(target_arch = "x86_64")]
    pair: Option<memchr::arch::x86_64::avx2::packedpair::Finder>,
    /// Built only without the packed-pair searcher.
    memmem: Option<memchr::memmem::Finder<'n>>,
}

impl<'n> DelimFinder<'n> {
    fn new(needle: &'n [u8]) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let pair = memchr::arch::x86_64::avx2::packedpair::Finder::new(needle);
            let memmem = pair.is_none().then(|| memchr::memmem::Finder::new(needle));
            DelimFinder {
                needle,
                pair,
                memmem,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            DelimFinder {
                needle,
                memmem: Some(memchr::memmem::Finder::new(needle)),
            }
        }
    }

    /// The first occurrence of the needle in `hay`.
    fn find(&self, hay: &[u8]) -> Option<usize> {
        if let Some(m) = &self.memmem {
            return m.find(hay);
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = &self.pair {
            if hay.len() >= p.min_haystack_len() {
                return p.find(hay, self.needle);
            }
        }
        if self.needle.is_empty() {
            return Some(0);
        }
        hay.windows(self.needle.len())
            .position(|w| w == self.needle)
    }
}

/// Walks the multipart body starting at `from` with `boundary`; returns the offset just past
/// its closing delimiter (`--boundary--`).
fn multipart<'a>(
    raw: &'a [u8],
    from: usize,
    boundary: &[u8],
    depth: usize,
    found: &mut Found<'a>,
) -> Result<usize, Odd> {
    if depth >= MAX_DEPTH {
        return Err(Odd::Structure);
    }
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let finder = DelimFinder::new(&delim);
    // Where the next delimiter starts (mail-parser looks for it anywhere, not only at a line
    // start).
    let find = |from: usize| -> Result<usize, Odd> {
        raw.get(from..)
            .and_then(|r| finder.find(r))
            .map(|p| from + p)
            .ok_or(Odd::NoDelimiter)
    };
    // mail-parser: the first delimiter anywhere, then the rest of its line skipped.
    let first = find(from)? + delim.len();
    if raw.get(first..first + 2) == Some(b"--") {
        return Err(Odd::DelimiterLine);
    }
    let mut part = after_delimiter(raw, first).ok_or(Odd::DelimiterLine)?;
    loop {
        let h = head(raw, part)?;
        let ct = match h.ctype {
            Some(v) => Some(content_type(v).ok_or(Odd::ContentType)?),
            None => None,
        };
        let at = match ct {
            Some(ct) if ct.is("multipart") => {
                let inner = ct.boundary.ok_or(Odd::ContentType)?;
                if ct.sub_is("digest") {
                    return Err(Odd::Structure);
                }
                let past = multipart(raw, h.body, inner, depth + 1, found)?;
                find(past)?
            }
            Some(ct) if ct.is("message") && (ct.sub_is("rfc822") || ct.sub_is("global")) => {
                match transfer_encoding(h.fields).ok_or(Odd::AttachedMessage)? {
                    Encoding::Plain => match attached(raw, &h, &find, depth, found)? {
                        Some(at) => at,
                        // Cut short in the returned message: nothing follows.
                        None => return Ok(raw.len()),
                    },
                    // Decoded and parsed by mail-parser from its own bytes.
                    Encoding::Base64 | Encoding::QuotedPrintable => {
                        found.unread = true;
                        find(h.body)?
                    }
                }
            }
            ct => {
                let at = match find(h.body) {
                    Ok(at) => at,
                    Err(e) => return to_the_end(raw, &h, ct, depth, found).ok_or(e),
                };
                let mut read = false;
                if let (Some(kind), Some(encoding)) =
                    (leaf_kind(ct.as_ref()), transfer_encoding(h.fields))
                {
                    if let Some(end) = body_end(raw, h.body, at) {
                        read = leaf(raw, h.body, end, kind, encoding, found);
                    }
                }
                if read {
                    found.pieces.push(Piece::Body {
                        qp: found.qps.len() - 1,
                        ctype: ct,
                    });
                } else {
                    found.unread = true;
                }
                at
            }
        };
        let after = at + delim.len();
        if raw.get(after..after + 2) == Some(b"--") {
            return Ok(after + 2);
        }
        part = after_delimiter(raw, after).ok_or(Odd::DelimiterLine)?;
    }
}

/// An unencoded attached message whose part body starts at `h.body`: cut (reduced to the
/// fields read) when its own body ends at a line end before the next delimiter; where it has
/// no body, left to mail-parser if its header block is plain, not multipart and holds no
/// delimiter (mail-parser then ends it at the next delimiter, as here). Returns where the
/// next delimiter starts, or `None` when the message ends inside it.
fn attached<'a>(
    raw: &'a [u8],
    h: &Head<'a>,
    find: &impl Fn(usize) -> Result<usize, Odd>,
    depth: usize,
    found: &mut Found<'a>,
) -> Result<Option<usize>, Odd> {
    let inner = head(raw, h.body).map_err(|_| Odd::AttachedMessage)?;
    // The delimiter inside its header block would be dropped by mail-parser as a line
    // without a colon.
    let at = match find(h.body) {
        Ok(at) => at,
        // A report cut short inside its returned message, the last part of its only
        // multipart (the commonest reason the walk gave up on a corpus report): mail-parser
        // ends the returned message, and the multipart, at the end of the report, and the
        // cut does too. Deeper inside, the multiparts around it are ended in ways not
        // repeated here.
        Err(e) => {
            let plain_body = raw.len() > inner.body
                && inner
                    .ctype
                    .is_none_or(|v| !v.windows(9).any(|w| w.eq_ignore_ascii_case(b"multipart")));
            if depth > 0 || !plain_body || found.cuts.len() >= MAX_CUTS {
                return Err(e);
            }
            found.pieces.push(Piece::Message {
                cut: found.cuts.len(),
            });
            found.cuts.push(Cut {
                part_body: h.body,
                body: inner.body,
                end: raw.len(),
            });
            return Ok(None);
        }
    };
    if at < inner.body {
        return Err(Odd::AttachedMessage);
    }
    match body_end(raw, inner.body, at) {
        Some(end) if end > inner.body && found.cuts.len() < MAX_CUTS => {
            found.pieces.push(Piece::Message {
                cut: found.cuts.len(),
            });
            found.cuts.push(Cut {
                part_body: h.body,
                body: inner.body,
                end,
            })
        }
        // Not cut: mail-parser parses it, and a multipart would be followed in its own way.
        _ if inner
            .ctype
            .is_some_and(|v| v.windows(9).any(|w| w.eq_ignore_ascii_case(b"multipart"))) =>
        {
            return Err(Odd::AttachedMessage)
        }
        _ => found.unread = true,
    }
    Ok(Some(at))
}

/// A report cut short inside an unencoded leaf part of its only multipart: mail-parser finds
/// no delimiter, calls it an encoding problem and keeps the rest of the report as the part's
/// text, whatever its type (in its charset, if it has one). `Some(end of report)` when it was
/// read so; deeper inside, or encoded, it is left to mail-parser.
fn to_the_end<'a>(
    raw: &'a [u8],
    h: &Head<'a>,
    ct: Option<ContentType<'a>>,
    depth: usize,
    found: &mut Found<'a>,
) -> Option<usize> {
    if depth > 0 || !matches!(transfer_encoding(h.fields), Some(Encoding::Plain)) {
        return None;
    }
    if !leaf(
        raw,
        h.body,
        raw.len(),
        CutKind::Text,
        Encoding::Plain,
        found,
    ) {
        return None;
    }
    found.pieces.push(Piece::Body {
        qp: found.qps.len() - 1,
        ctype: ct,
    });
    Some(raw.len())
}

/// Cuts the leaf part `body..end` when it decodes here as mail-parser would decode it (`true`).
fn leaf<'a>(
    raw: &'a [u8],
    body: usize,
    end: usize,
    kind: CutKind,
    encoding: Encoding,
    found: &mut Found<'a>,
) -> bool {
    if found.qps.len() >= MAX_BODIES || end <= body {
        return false;
    }
    let bytes = raw.get(body..end).unwrap_or_default();
    let decoded = match (kind, encoding) {
        (CutKind::Text | CutKind::Binary, Encoding::QuotedPrintable) => {
            qp_decode(bytes).map(Cow::Owned)
        }
        (CutKind::Text | CutKind::Binary, Encoding::Plain) => Some(Cow::Borrowed(bytes)),
        (CutKind::Ignored, Encoding::Plain | Encoding::Base64) => Some(Cow::Borrowed(&[][..])),
        _ => None,
    };
    let Some(decoded) = decoded else {
        return false;
    };
    found.qps.push(QpCut {
        body,
        end,
        decoded,
        kind,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_search_is_memmem() {
        let needles: [&[u8]; 4] = [
            b"--b",
            b"--=_Part_1_2.3",
            b"----------abcdef0123456789",
            b"--",
        ];
        let mut hays: Vec<Vec<u8>> = vec![Vec::new(), b"-".to_vec(), b"--".to_vec()];
        for n in needles {
            for len in [0usize, 1, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200] {
                for at in [0, 1, len / 2, len.saturating_sub(1), len] {
                    let mut h = vec![b'-'; len];
                    h.splice(at.min(h.len())..at.min(h.len()), n.iter().copied());
                    hays.push(h.clone());
                    // A near miss only.
                    if let Some(last) = h.get_mut(at + n.len() - 1) {
                        *last = b'x';
                    }
                    hays.push(h);
                }
            }
        }
        for n in needles {
            let f = DelimFinder::new(n);
            for h in &hays {
                assert_eq!(f.find(h), memchr::memmem::find(h, n), "{n:?} in {h:?}");
            }
        }
    }

    #[test]
    fn token_and_field_name_bytes_are_what_the_tables_say() {
        // (Braces, rare in media types and boundaries, are left to mail-parser too.)
        for b in 0..=255u8 {
            let want = b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=*{}".contains(&b);
            assert_eq!(token_byte(b), want, "{b}");
            let name = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            assert_eq!(NAME[usize::from(b)], name, "{b}");
        }
    }

    #[test]
    fn content_types_read_plainly_or_not_at_all() {
        let ct = content_type(
            b" multipart/report; report-type=delivery-status;\r\n\tboundary=\"=_b 1\"",
        )
        .map(|c| c.boundary);
        assert_eq!(ct, None, "a space inside quotes is left to mail-parser");
        let ct = content_type(b" Multipart/Mixed;\r\n boundary=\"----=_Part_1\"; x=y;").unwrap();
        assert!(ct.is("multipart") && ct.sub_is("mixed"));
        assert_eq!(ct.boundary, Some(&b"----=_Part_1"[..]));
        let ct = content_type(b"multipart/mixed; boundary=abc=def").unwrap();
        assert_eq!(ct.boundary, Some(&b"abc=def"[..]));
        for odd in [
            &b"text/plain (comment)"[..],
            b"multipart/mixed; boundary*=utf-8''x",
            b"text",
            b"text/plain; charset",
            b"text/plain; charset=\"x",
        ] {
            assert_eq!(
                content_type(odd),
                None,
                "{:?}",
                String::from_utf8_lossy(odd)
            );
        }
    }

    #[test]
    fn nested_multiparts_and_attached_messages_are_followed() {
        let raw = "From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"A\"\r\n\r\npreamble\r\n--A\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=C3=A9</p>\r\n--B--\r\n--A\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--A\r\nContent-Type: message/rfc822\r\n\r\nTo: r@x.example\r\n\r\nbody\r\n--A--\r\nepilogue\r\n";
        let (f, done) = walk(raw.as_bytes());
        assert_eq!(done, Ok(()));
        let bodies: Vec<&[u8]> = f.qps.iter().map(|q| q.decoded.as_ref()).collect();
        assert_eq!(
            bodies,
            [
                &b"Sorry."[..],
                "<p>caf\u{e9}</p>".as_bytes(),
                b"Status: 5.1.1"
            ]
        );
        let kinds: Vec<CutKind> = f.qps.iter().map(|q| q.kind).collect();
        assert_eq!(kinds, [CutKind::Text, CutKind::Text, CutKind::Binary]);
        assert_eq!(f.cuts.len(), 1);
        let c = f.cuts[0];
        assert_eq!(
            &raw.as_bytes()[c.part_body..c.end],
            b"To: r@x.example\r\n\r\nbody"
        );
        // Read through the cuts, the report says what mail-parser's whole parse says.
        let w = crate::mime::walk(raw.as_bytes()).unwrap();
        assert_eq!(w.human, ["Sorry."]);
        assert_eq!(w.ds, ["Status: 5.1.1"]);
        assert_eq!(
            w.returned.and_then(|r| r.to.first().cloned()).as_deref(),
            Some("r@x.example")
        );
    }

    #[test]
    fn odd_structure_gives_up() {
        let cases = [
            // Text after a delimiter (mail-parser would read it as a header line).
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B1\r\n\r\nx\r\n--B--\r\n",
            // No delimiter at all.
            "Content-Type: multipart/mixed; boundary=B\r\n\r\nno parts\r\n",
            // A continuation of a line without a colon (a field of its own to mail-parser).
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nnot a field\r\n Content-Type: text/html\r\n\r\nx\r\n--B--\r\n",
            // A line naming Content-Type once its white space is dropped.
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent- Type: text/html\r\n\r\nx\r\n--B--\r\n",
            // A blank line holding white space (a continuation to mail-parser).
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n \r\nx\r\n--B--\r\n",
            // Two Content-Type fields.
            "Content-Type: multipart/mixed; boundary=B\r\nContent-Type: text/plain\r\n\r\n--B--\r\n",
            "Content-Type: multipart/digest; boundary=B\r\n\r\n--B\r\n\r\nTo: a@b\r\n\r\nx\r\n--B--\r\n",
            "Content-Type: multipart/mixed; boundary*0=B\r\n\r\n--B--\r\n",
        ];
        for raw in cases {
            assert!(walk(raw.as_bytes()).1.is_err(), "{raw:?}");
            // The fallback still reads it as mail-parser does.
            assert!(crate::mime::walk(raw.as_bytes()).is_some());
        }
        // Not multipart: nothing to cut.
        let (f, done) = walk(b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n");
        assert_eq!(done, Ok(()));
        assert!(f.cuts.is_empty() && f.qps.is_empty());
    }

    #[test]
    fn reports_read_through_the_walk_as_through_a_whole_parse() {
        let reports: [&[u8]; 5] = [
            // An mbox From line, a line without a colon in a part header block, an attached
            // message that is only headers.
            b"From MAILER-DAEMON  Thu May 28 19:08:03 2009\nFrom: MAILER-DAEMON@mx.example\nSubject: failure\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b=1\"\n\n--b=1\nContent-Type: text/plain; charset=iso-8859-1\nstray line\n\nEmpf\xe4nger unbekannt\n--b=1\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; r@x.example\nStatus: 5.1.1\n--b=1\nContent-Type: message/rfc822\n\nTo: r@x.example\nMessage-ID: <m@y.example>\n\n--b=1--\n",
            // Delimiters with transport padding, an image, a quoted-printable report part.
            b"From: postmaster@mx.example\r\nTo: s@y.example\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n--Z \t\r\n\r\nUser unknown\r\n--Z\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--Z\r\nContent-Type: message/feedback-report\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nFeedback-Type: abuse=0D\r\n--Z--\r\n",
            // Cut short inside the returned message (no closing delimiter).
            b"From: MAILER-DAEMON@mx.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\n\n--R\n\nNo such user\n--R\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--R\nContent-Type: message/rfc822\n\nTo: r@x.example\nMessage-ID: <m@y.example>\n\nHello, th",
            // Cut short inside the delivery-status part, and inside an HTML part.
            b"From: MAILER-DAEMON@mx.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\n\n--R\n\nNo such user\n--R\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 no",
            b"From: MAILER-DAEMON@mx.example\nContent-Type: multipart/mixed; boundary=\"R\"\n\n--R\nContent-Type: text/html; charset=iso-8859-1\n\n<p>Empf\xe4nger unbekannt</p>\r\n",
        ];
        for raw in reports {
            assert_eq!(walk(raw).1, Ok(()));
            let w = crate::mime::walk(raw).unwrap();
            let whole = crate::mime::whole(raw).unwrap();
            assert_eq!(format!("{w:?}"), format!("{whole:?}"));
        }
    }

    #[test]
    fn truncated_and_damaged_reports_still_read_as_a_whole_parse() {
        let report = b"From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--B\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=C3=A9</p>\r\n--B--\r\n--A\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--A\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGOA==\r\n--A\r\nContent-Type: message/rfc822\r\n\r\nTo: r@x.example\r\nMessage-ID: <m@y.example>\r\n\r\nbody\r\n--A--\r\n";
        let check = |raw: &[u8]| {
            let w = crate::mime::walk(raw).map(|w| format!("{w:?}"));
            let whole = crate::mime::whole(raw).map(|w| format!("{w:?}"));
            assert_eq!(w, whole, "{:?}", String::from_utf8_lossy(raw));
        };
        for n in 0..=report.len() {
            // Cut short anywhere (a returned message is often truncated).
            check(&report[..n]);
            // One byte replaced by a line end, a dash, or a space.
            for b in [b'\n', b'-', b' '] {
                let mut d = report.to_vec();
                if let Some(x) = d.get_mut(n) {
                    *x = b;
                }
                check(&d);
            }
        }
    }
}

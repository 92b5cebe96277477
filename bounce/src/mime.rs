//! Walks a parsed message (mail-parser) and sorts its parts into what the classifier needs:
//! the report's own headers, delivery-status texts, the feedback-report text, the
//! human-readable text, and the headers of the returned original message.
//!
//! The classifier reads only a few headers of a returned original (message/rfc822), yet
//! mail-parser would parse every header and decode the whole body (often a quoted-printable
//! HTML newsletter, or attachments). So before parsing, [`returned_bodies`] finds the
//! unencoded message/rfc822 parts with a byte scan, and mail-parser is given a copy in which
//! each attached message is reduced to the header fields [`returned_of`] reads (copied byte
//! for byte, so they parse as before); the original bytes of each attached message are still
//! kept (borrowed) for forwarded reports. Likewise, the bodies of quoted-printable or
//! unencoded text/plain and text/html parts ([`qp_bodies`]) are decoded here, byte for byte as
//! mail-parser would, and removed from the copy (mail-parser's QP decoder costs tens of
//! instructions a byte, its boundary scan and single-byte charsets a few), and the
//! report's own header block keeps only the fields read or needed for the MIME structure
//! ([`top_fields`]; Received chains and signatures are most of a report's headers). If
//! mail-parser does not see the parts where the scan found them, the message is parsed whole,
//! as before.
//!
//! Most reports do not get that far: when the forward walk ([`crate::walk`]) read every part
//! and the header values read are plain, [`crate::plain`] builds the result from the walk's
//! findings and the raw header blocks, through the same sorting ([`sort_text`]), and
//! mail-parser is not run at all (or only on a single field it reads in its own way).
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders, PartType};
use std::borrow::Cow;
use std::sync::LazyLock;

/// A parser that structures only the headers used here (Content-Type and
/// Content-Transfer-Encoding, From/To/Cc, Subject, Message-ID) and skips the values of the rest
/// (Received, DKIM, dates, ...), which is most of the cost of parsing a report: their raw text
/// is still read through `headers_raw` / `header_raw`, which slice the message by offset and
/// never look at the parsed value. Of the other MIME headers, mail-parser reads only
/// Content-Disposition, to sort parts into its body and attachment lists (and `Binary` from
/// `InlineBinary`), which are not used here.
pub(crate) static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .default_header_ignore()
        .header_content_type(HeaderName::ContentType)
        .header_text(HeaderName::ContentTransferEncoding)
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_id(HeaderName::MessageId)
});

/// The returned (original) message's identifying headers.
#[derive(Debug, Default, Clone)]
pub struct Returned {
    /// Its Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// Its `To`/`Cc` addresses.
    pub to: Vec<String>,
    /// Its `From` address.
    pub from: Option<String>,
    /// `X-HmXmrOriginalRecipient`: set by Microsoft's junk-mail reporting program (JMRP) on
    /// the message it returns as a complaint.
    pub jmrp_recipient: Option<String>,
}

/// The sorted parts of one message.
#[derive(Debug, Default)]
pub struct Walked<'a> {
    /// `From` address of the report.
    pub from: String,
    /// `From` display name plus address, lower case (for mailer-daemon detection).
    pub from_full: String,
    /// `To` addresses of the report.
    pub to: Vec<String>,
    /// Subject, decoded.
    pub subject: String,
    /// Lower-cased raw values of the headers that matter, by lower-case name.
    pub headers: Vec<(String, String)>,
    /// `report-type` of a top-level multipart/report.
    pub report_type: Option<String>,
    /// Texts of delivery-status parts.
    pub ds: Vec<String>,
    /// Text of a message/feedback-report part.
    pub feedback: Option<String>,
    /// Human-readable text parts, in order.
    pub human: Vec<String>,
    /// The returned message, if attached as a part.
    pub returned: Option<Returned>,
    /// Raw bytes of attached messages (for forwarded reports), borrowed from the input when
    /// they were not transfer-encoded.
    pub nested: Vec<std::borrow::Cow<'a, [u8]>>,
}

impl Walked<'_> {
    /// The raw value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) const WANTED: &[&str] = &[
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "x-failed-recipients",
    "x-original-to",
    "x-ses-outgoing",
    "x-amzn-ses-id",
    "list-id",
    "x-autogenerated",
    "x-mailer",
    "return-path",
    "content-type",
];

pub(crate) fn first_addr(a: Option<&mail_parser::Address<'_>>) -> Option<String> {
    a?.first()?.address().map(str::to_string)
}

pub(crate) fn all_addrs(a: Option<&mail_parser::Address<'_>>, out: &mut Vec<String>) {
    if let Some(a) = a {
        for x in a.iter() {
            if let Some(s) = x.address() {
                out.push(s.to_string());
            }
        }
    }
}

/// Where the body of an attached message lies: `part_body` is where the attached message
/// (its headers) starts, `body..end` its body, `end` the line end before the next boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    pub part_body: usize,
    pub body: usize,
    pub end: usize,
}

/// The most attached messages cut out of one report.
const MAX_CUTS: usize = 8;
/// The most text bodies decoded here in one report.
const MAX_TEXT_CUTS: usize = 16;

/// Offset just past the header block starting at `from` (past its blank line, which like
/// mail-parser's may hold white space), or `None` when the block does not end in `raw`.
pub(crate) fn header_end(raw: &[u8], from: usize) -> Option<usize> {
    let mut line = from;
    while line < raw.len() {
        let nl = memchr::memchr(b'\n', raw.get(line..)?).map(|p| line + p);
        let end = nl.unwrap_or(raw.len());
        if raw.get(line..end)?.iter().all(u8::is_ascii_whitespace) {
            return nl.map(|p| p + 1);
        }
        line = end + 1;
    }
    None
}

/// Whether `line` is a `Content-Type: message/rfc822` (or `message/global`) header line.
fn is_message_type_line(line: &[u8]) -> bool {
    header_is(
        line,
        b"content-type:",
        &[b"message/rfc822", b"message/global"],
    )
}

/// The part header block around the header line at `line_start`: the start of its first
/// header line (after the `--boundary` delimiter line) and the boundary, if the lines before
/// it (none of them blank) go back to a delimiter line after the top-level headers (`top`).
fn delimiter_before(raw: &[u8], line_start: usize, top: usize) -> Option<(usize, &[u8])> {
    let mut cursor = line_start;
    for _ in 0..64 {
        if cursor < top + 1 {
            return None;
        }
        let prev_end = cursor - 1;
        let prev_start = raw
            .get(..prev_end)
            .and_then(|b| memchr::memrchr(b'\n', b))
            .map_or(0, |p| p + 1);
        let prev = raw.get(prev_start..prev_end)?;
        if prev.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        if let Some(b) = prev.strip_prefix(b"--") {
            let b = b.trim_ascii_end();
            return (!b.is_empty() && !b.ends_with(b"--") && declared(raw, b))
                .then_some((cursor, b));
        }
        cursor = prev_start;
    }
    None
}

/// Whether `boundary` is declared as such (`boundary="b"` or `boundary=b`) in `raw`, so that
/// mail-parser, which takes it from the Content-Type, looks for the same delimiter.
fn declared(raw: &[u8], boundary: &[u8]) -> bool {
    // One searcher for `boundary=`, built once, instead of one per boundary.
    MIME_BOUNDARY.find_iter(raw).any(|p| {
        let rest = raw.get(p + 9..).unwrap_or_default();
        let quoted = rest
            .strip_prefix(b"\"")
            .and_then(|r| r.strip_prefix(boundary))
            .is_some_and(|r| r.starts_with(b"\""));
        quoted
            || rest.strip_prefix(boundary).is_some_and(|r| {
                r.first()
                    .is_none_or(|&c| c == b';' || c.is_ascii_whitespace())
            })
    })
}

/// The searcher for `boundary=`, built once.
static MIME_BOUNDARY: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"boundary="));

/// Where the part whose body starts at `body` ends: the line end before the first
/// `--boundary` after it (where mail-parser ends it, too), with that delimiter's offset.
/// `None` when the delimiter is missing or not at a line start.
fn part_end(raw: &[u8], body: usize, boundary: &[u8]) -> Option<(usize, usize)> {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let at = body + memchr::memmem::find(raw.get(body..)?, &delim)?;
    let mut end = at
        .checked_sub(1)
        .filter(|e| *e >= body && raw.get(*e) == Some(&b'\n'))?;
    if end > body && raw.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    Some((end, at))
}

/// Whether `line` is the header `name` (lower case, with its colon) with a value starting with
/// one of `values` (lower case), followed by nothing but `;` or white space.
fn header_is(line: &[u8], name: &[u8], values: &[&[u8]]) -> bool {
    let Some(n) = line.get(..name.len()) else {
        return false;
    };
    if !n.eq_ignore_ascii_case(name) {
        return false;
    }
    let v = line
        .get(name.len()..)
        .unwrap_or_default()
        .trim_ascii_start();
    values.iter().any(|t| {
        v.get(..t.len()).is_some_and(|p| p.eq_ignore_ascii_case(t))
            && v.get(t.len())
                .is_none_or(|&c| c == b';' || c.is_ascii_whitespace())
    })
}

/// A text/plain or text/html part whose body (`body..end`) is decoded here (`decoded`, before
/// the charset) rather than by mail-parser: its quoted-printable decoder costs tens of
/// instructions a byte (most of the cost of HTML-only reports), and an unencoded body is
/// taken as it is, borrowed, instead of being scanned byte by byte for its boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QpCut<'a> {
    pub body: usize,
    pub end: usize,
    pub decoded: Cow<'a, [u8]>,
    pub kind: CutKind,
}

/// What mail-parser makes of a part whose body is decoded here, and so how [`walk_parts`]
/// reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CutKind {
    /// A text part (`PartType::Text` / `Html`): `decoded` goes through its charset.
    Text,
    /// A report part mail-parser keeps as bytes (message/delivery-status and the other
    /// `message/*` but rfc822/global): `decoded` is read as UTF-8 with replacement characters.
    Binary,
    /// An attachment [`walk_parts`] never reads (images, documents): mail-parser would decode
    /// its base64 for nothing. `decoded` is empty.
    Ignored,
}

/// The text parts decoded here: the human-readable ones, and the report parts sent as text.
const TEXT_TYPES: &[&[u8]] = &[
    b"text/plain",
    b"text/html",
    b"text/rfc822-headers",
    b"text/rfc822-header",
    b"text/delivery-status",
    b"text/feedback-report",
];

/// The media types of the attachments [`walk_parts`] skips, as they start a Content-Type value.
const IGNORED_TYPES: &[&[u8]] = &[b"image/", b"application/"];

/// The searchers for `image/` and `application/`, built once.
static IGNORED_FINDERS: LazyLock<[memchr::memmem::Finder<'static>; 2]> = LazyLock::new(|| {
    [
        memchr::memmem::Finder::new(b"image/"),
        memchr::memmem::Finder::new(b"application/"),
    ]
});

/// The searcher for `text/`, built once.
static TEXT_TYPE: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"text/"));

/// How mail-parser would decode a text part, from its header block: `Some(true)` for
/// quoted-printable, `Some(false)` for not at all, `None` when that is not plain (base64, two
/// or folded Content-Transfer-Encoding fields, an unknown value). mail-parser decodes only a
/// value of exactly `base64` or `quoted-printable`, from the first such field.
fn text_encoding(headers: &[u8]) -> Option<bool> {
    match transfer_encoding(headers)? {
        Encoding::Plain => Some(false),
        Encoding::QuotedPrintable => Some(true),
        Encoding::Base64 => None,
    }
}

/// The lines of `b` as `b.split(|&c| c == b'\n')` gives them (the last one possibly empty),
/// found with memchr: header blocks are split here often, and a byte-by-byte split costs
/// several instructions a byte.
fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(b);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(p) => {
                rest = r.get(p + 1..);
                r.get(..p)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The lines of `b` with their `\n`, as `b.split_inclusive(|&c| c == b'\n')` gives them.
fn lines_inclusive(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = b;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |p| p + 1);
        let (line, r) = rest.split_at(end);
        rest = r;
        Some(line)
    })
}

/// A Content-Transfer-Encoding mail-parser reads plainly (see [`transfer_encoding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Plain,
    QuotedPrintable,
    Base64,
}

/// The transfer encoding of a part from its header block, `None` when it is not plain (two or
/// folded Content-Transfer-Encoding fields, an unknown value).
pub(crate) fn transfer_encoding(headers: &[u8]) -> Option<Encoding> {
    const NAME: &[u8] = b"content-transfer-encoding:";
    let mut value: Option<&[u8]> = None;
    let mut after_encoding = false;
    for line in lines(headers) {
        if line.first().is_some_and(|b| b.is_ascii_whitespace()) {
            // A folded value: only trust unfolded encoding fields.
            if after_encoding && line.iter().any(|b| !b.is_ascii_whitespace()) {
                return None;
            }
            continue;
        }
        after_encoding = false;
        if line
            .get(..NAME.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(NAME))
        {
            if value.is_some() {
                return None;
            }
            value = Some(line.get(NAME.len()..).unwrap_or_default().trim_ascii());
            after_encoding = true;
        }
    }
    match value {
        None => Some(Encoding::Plain),
        Some(v) if v.eq_ignore_ascii_case(b"quoted-printable") => Some(Encoding::QuotedPrintable),
        Some(v) if v.eq_ignore_ascii_case(b"base64") => Some(Encoding::Base64),
        Some(v)
            if [&b"7bit"[..], b"8bit", b"binary"]
                .iter()
                .any(|e| v.eq_ignore_ascii_case(e)) =>
        {
            Some(Encoding::Plain)
        }
        Some(_) => None,
    }
}

/// The parts of `raw` outside the attached messages of `returned` whose bodies are decoded
/// here, in order: the text parts of [`TEXT_TYPES`] that are quoted-printable or not encoded,
/// each decoded exactly as mail-parser would have, and the base64 or unencoded attachments of
/// [`IGNORED_TYPES`]. A part whose
/// decoding mail-parser would treat as broken (or would end oddly) is left to mail-parser, and
/// so is one whose Content-Type line is not found by a plain (lower-case) byte search.
fn qp_bodies<'a>(raw: &'a [u8], returned: &[Cut]) -> Vec<QpCut<'a>> {
    let mut out: Vec<QpCut<'a>> = Vec::new();
    let Some(top) = header_end(raw, 0) else {
        return out;
    };
    scan_bodies(raw, top, returned, &TEXT_TYPE, CutKind::Text, &mut out);
    for finder in IGNORED_FINDERS.iter() {
        scan_bodies(raw, top, returned, finder, CutKind::Ignored, &mut out);
    }
    // Each scan found its parts in order; together, they must not overlap either (a part
    // with two Content-Type lines is left to mail-parser).
    out.sort_by_key(|q| q.body);
    let mut kept: Vec<QpCut<'a>> = Vec::with_capacity(out.len());
    for q in out {
        match kept.last() {
            Some(last) if last.end > q.body => {
                if last.body == q.body {
                    kept.pop();
                }
            }
            _ => kept.push(q),
        }
    }
    kept
}

/// One scan of [`qp_bodies`]: the Content-Type lines `finder` finds whose value is one of
/// `kind`'s types, at most [`MAX_TEXT_CUTS`] of them.
fn scan_bodies<'a>(
    raw: &'a [u8],
    top: usize,
    returned: &[Cut],
    finder: &memchr::memmem::Finder<'_>,
    kind: CutKind,
    all: &mut Vec<QpCut<'a>>,
) {
    let mut out: Vec<QpCut<'a>> = Vec::new();
    let mut from = top;
    while out.len() < MAX_TEXT_CUTS {
        let Some(hit) = raw
            .get(from..)
            .and_then(|r| finder.find(r))
            .map(|p| from + p)
        else {
            break;
        };
        from = hit + 1;
        if returned.iter().any(|c| (c.part_body..c.end).contains(&hit)) {
            continue;
        }
        let line_start = raw
            .get(..hit)
            .and_then(|b| memchr::memrchr(b'\n', b))
            .map_or(0, |p| p + 1);
        let line_end = raw
            .get(hit..)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map_or(raw.len(), |p| hit + p);
        let line = raw.get(line_start..line_end).unwrap_or_default();
        let wanted = match kind {
            CutKind::Text => header_is(line, b"content-type:", TEXT_TYPES),
            CutKind::Ignored => type_starts(line, IGNORED_TYPES),
            // (Not looked for by the byte scans.)
            CutKind::Binary => false,
        };
        if !wanted {
            continue;
        }
        let Some((cursor, boundary)) = delimiter_before(raw, line_start, top) else {
            continue;
        };
        let Some(body) = header_end(raw, line_start) else {
            continue;
        };
        let Some(encoding) = transfer_encoding(raw.get(cursor..body).unwrap_or_default()) else {
            continue;
        };
        let Some((end, at)) = part_end(raw, body, boundary) else {
            continue;
        };
        from = at;
        if end <= body || out.last().is_some_and(|q| q.end > body) {
            continue;
        }
        let bytes = raw.get(body..end).unwrap_or_default();
        let decoded = match (kind, encoding) {
            (CutKind::Text, Encoding::QuotedPrintable) => qp_decode(bytes).map(Cow::Owned),
            (CutKind::Text, Encoding::Plain) => Some(Cow::Borrowed(bytes)),
            (CutKind::Ignored, Encoding::Plain | Encoding::Base64) => Some(Cow::Borrowed(&[][..])),
            _ => None,
        };
        if let Some(decoded) = decoded {
            out.push(QpCut {
                body,
                end,
                decoded,
                kind,
            });
        }
    }
    all.append(&mut out);
}

/// Whether `line` is a Content-Type header line whose value starts with one of `types`
/// (lower case, with their `/`).
fn type_starts(line: &[u8], types: &[&[u8]]) -> bool {
    const NAME: &[u8] = b"content-type:";
    line.get(..NAME.len())
        .is_some_and(|n| n.eq_ignore_ascii_case(NAME))
        && types.iter().any(|t| {
            line.get(NAME.len()..)
                .unwrap_or_default()
                .trim_ascii_start()
                .get(..t.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(t))
        })
}

/// Hex digit value, if `b` is one.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Quoted-printable decoding of a part body that ended at a line end before its boundary,
/// byte for byte what mail-parser's MIME decoder gives (runs of plain bytes copied at once):
/// `\r` dropped and, once seen, line ends written as CRLF; white space before a line end
/// dropped; `=` + line end joins lines; `=` + white space waits for the hex digits; the last
/// line ending is not part of the body. `None` where mail-parser would fail or keep a quirk
/// (a soft line break or half an escape at the very end).
pub(crate) fn qp_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(bytes.len());
    let mut crlf: &[u8] = b"\n";
    // 0: plain, 1: after `=`, 2: after `=` and one hex digit.
    let mut state = 0u8;
    let mut hex1 = 0u8;
    // Plain white-space bytes at the end of `buf` since the last other byte.
    let mut ws = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let ch = bytes[i];
        if state == 0 && !matches!(ch, b'=' | b'\n' | b'\r') {
            let run =
                memchr::memchr3(b'=', b'\n', b'\r', bytes.get(i..)?).unwrap_or(bytes.len() - i);
            let seg = bytes.get(i..i + run)?;
            buf.extend_from_slice(seg);
            let trailing = seg
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            ws = if trailing == seg.len() {
                ws + trailing
            } else {
                trailing
            };
            i += run;
            continue;
        }
        match ch {
            b'=' => {
                if state != 0 {
                    return None;
                }
                state = 1;
            }
            b'\n' => {
                if state == 1 {
                    state = 0;
                } else {
                    buf.truncate(buf.len() - ws);
                    buf.extend_from_slice(crlf);
                }
                ws = 0;
            }
            b'\r' => crlf = b"\r\n",
            _ if state == 1 => {
                if let Some(h) = hex(ch) {
                    hex1 = h;
                    state = 2;
                } else if !ch.is_ascii_whitespace() {
                    return None;
                }
            }
            _ => {
                buf.push((hex1 << 4) | hex(ch)?);
                ws = 0;
                state = 0;
            }
        }
        i += 1;
    }
    if state != 0 {
        return None;
    }
    buf.truncate(buf.len() - ws);
    Some(buf)
}

/// The searcher for `message/`, built once.
static MESSAGE_TYPE: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"message/"));

/// The bodies of the unencoded message/rfc822 parts of `raw`, found by a byte scan: a
/// `Content-Type: message/rfc822` line inside a part header block that starts with a
/// `--boundary` line; the attached message's headers end at its first blank line and its body
/// at the first `--boundary` after them (where mail-parser ends the part, too).
fn returned_bodies(raw: &[u8]) -> Vec<Cut> {
    let mut cuts: Vec<Cut> = Vec::new();
    let Some(top) = header_end(raw, 0) else {
        return cuts;
    };
    let mut from = top;
    let finder = &*MESSAGE_TYPE;
    while cuts.len() < MAX_CUTS {
        let Some(hit) = raw
            .get(from..)
            .and_then(|r| finder.find(r))
            .map(|p| from + p)
        else {
            break;
        };
        from = hit + 1;
        let line_start = raw
            .get(..hit)
            .and_then(|b| memchr::memrchr(b'\n', b))
            .map_or(0, |p| p + 1);
        let line_end = raw
            .get(hit..)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map_or(raw.len(), |p| hit + p);
        if line_start < top
            || !is_message_type_line(raw.get(line_start..line_end).unwrap_or_default())
        {
            continue;
        }
        let Some((cursor, boundary)) = delimiter_before(raw, line_start, top) else {
            continue;
        };
        let Some(part_body) = header_end(raw, line_start) else {
            continue;
        };
        // A transfer-encoded attached message is decoded by mail-parser: leave it whole.
        let part_headers = raw.get(cursor..part_body).unwrap_or_default();
        let encoded = [&b"base64"[..], b"quoted-printable"].iter().any(|e| {
            part_headers
                .windows(e.len())
                .any(|w| w.eq_ignore_ascii_case(e))
        });
        if encoded {
            continue;
        }
        let Some(body) = header_end(raw, part_body) else {
            continue;
        };
        let Some((end, at)) = part_end(raw, body, boundary) else {
            continue;
        };
        if end > body && cuts.last().is_none_or(|c| c.end <= body) {
            cuts.push(Cut {
                part_body,
                body,
                end,
            });
        }
        from = at;
    }
    cuts
}

/// Parses and walks `raw`. `None` when mail-parser finds no message at all.
pub fn walk(raw: &[u8]) -> Option<Walked<'_>> {
    // One forward walk over the MIME structure; where it gave up before finding any part to
    // cut, the byte scans.
    let (found, done) = crate::walk::walk(raw);
    // Every part read by the walk: the result from its findings, without mail-parser.
    if done.is_ok() {
        if let Some(w) = crate::plain::walked(raw, &found) {
            return Some(w);
        }
    }
    through_mail_parser(raw, found, done)
}

/// `raw` walked as [`walk`] does without [`crate::plain`], for comparison in tests.
#[cfg(test)]
pub(crate) fn shortened(raw: &[u8]) -> Option<Walked<'_>> {
    let (found, done) = crate::walk::walk(raw);
    through_mail_parser(raw, found, done)
}

/// The walk's findings (`found`, and why it gave up, if it did) used to shorten the copy of
/// `raw` that mail-parser parses.
fn through_mail_parser<'a>(
    raw: &'a [u8],
    found: crate::walk::Found<'a>,
    done: Result<(), crate::walk::Odd>,
) -> Option<Walked<'a>> {
    let (cuts, qps) = if done.is_ok() || !found.cuts.is_empty() || !found.qps.is_empty() {
        (found.cuts, found.qps)
    } else {
        let cuts = returned_bodies(raw);
        let qps = qp_bodies(raw, &cuts);
        (cuts, qps)
    };
    let mut short = Vec::with_capacity(raw.len());
    let mut last = 0;
    let top = header_end(raw, 0);
    // The report's own header block without the fields nobody reads (the cuts and QP bodies
    // all lie after it).
    if let Some(top) = top {
        if top_fields(raw.get(..top).unwrap_or_default(), &mut short) {
            last = top;
        } else {
            short.clear();
        }
    }
    // A message that is one unencoded text (a third of the reports): its body taken as it
    // is, like an unencoded text part; mail-parser would scan it byte by byte for a boundary
    // it has not got, then check its UTF-8 byte by byte.
    let whole_text = top.filter(|&t| {
        cuts.is_empty() && qps.is_empty() && single_text(raw.get(..t).unwrap_or_default())
    });
    if last > 0 || !cuts.is_empty() || !qps.is_empty() || whole_text.is_some() {
        let mut starts = Vec::with_capacity(cuts.len());
        let mut qp_at: Vec<(usize, &[u8], CutKind)> = Vec::with_capacity(qps.len() + 1);
        let (mut ci, mut qi) = (0, 0);
        loop {
            let c = cuts.get(ci);
            let q = qps.get(qi);
            match (c, q) {
                (Some(c), q) if q.is_none_or(|q| c.part_body < q.body) => {
                    short.extend_from_slice(raw.get(last..c.part_body).unwrap_or_default());
                    starts.push(short.len());
                    // A header line of its own, so that mail-parser sees a message even when
                    // the original has none of the fields read.
                    short.extend_from_slice(b"X-Mm-Cut: 1\n");
                    returned_fields(raw.get(c.part_body..c.body).unwrap_or_default(), &mut short);
                    short.push(b'\n');
                    last = c.end;
                    ci += 1;
                }
                (_, Some(q)) => {
                    short.extend_from_slice(raw.get(last..q.body).unwrap_or_default());
                    qp_at.push((short.len(), q.decoded.as_ref(), q.kind));
                    last = q.end;
                    qi += 1;
                }
                // (`Some(cut), None` is taken by the first arm.)
                _ => break,
            }
        }
        match whole_text {
            Some(t) => {
                short.extend_from_slice(raw.get(last..t).unwrap_or_default());
                qp_at.push((short.len(), raw.get(t..).unwrap_or_default(), CutKind::Text));
            }
            None => short.extend_from_slice(raw.get(last..).unwrap_or_default()),
        }
        let edits = Edits {
            cuts: &cuts,
            starts: &starts,
            qp: &qp_at,
        };
        if let Some(w) = walk_parsed(raw, &short, &edits) {
            return Some(w);
        }
    }
    walk_parsed(raw, raw, &Edits::default())
}

/// `raw` walked as mail-parser parses it whole (no cuts), for comparison in tests.
#[cfg(test)]
pub(crate) fn whole(raw: &[u8]) -> Option<Walked<'_>> {
    walk_parsed(raw, raw, &Edits::default())
}

/// Whether the message header block `headers` makes the message a single text mail-parser
/// does not decode: no Content-Type field or one of text/plain or text/html (mail-parser
/// treats a message without one as text/plain), and no transfer encoding. If mail-parser
/// reads the fields otherwise (a multipart after all), its root part is not the text part
/// [`walk_parts`] expects, and the message is parsed whole.
pub(crate) fn single_text(headers: &[u8]) -> bool {
    if text_encoding(headers) != Some(false) {
        return false;
    }
    let mut types = lines(headers).filter(|l| {
        l.get(..13)
            .is_some_and(|n| n.eq_ignore_ascii_case(b"content-type:"))
    });
    match (types.next(), types.next()) {
        (None, _) => true,
        (Some(line), None) => header_is(
            line.trim_ascii_end(),
            b"content-type:",
            &[b"text/plain", b"text/html"],
        ),
        (Some(_), Some(_)) => false,
    }
}

/// What was changed in the copy given to mail-parser (besides the report's header block, see
/// [`top_fields`]): the attached messages of `cuts`
/// (reduced to the fields read, starting at `starts` in the copy), and the part bodies of
/// [`qp_bodies`] removed at the offsets of `qp` (with their decoded bytes and kind).
#[derive(Default)]
struct Edits<'e> {
    cuts: &'e [Cut],
    starts: &'e [usize],
    qp: &'e [(usize, &'e [u8], CutKind)],
}

/// The header fields of a returned message that [`returned_of`] reads.
const RETURNED_FIELDS: &[&[u8]] = &[
    b"to",
    b"cc",
    b"from",
    b"message-id",
    b"x-hmxmroriginalrecipient",
];

/// Copies the fields of [`RETURNED_FIELDS`] (with their continuation lines, byte for byte)
/// from the header block `headers` to `out`.
fn returned_fields(headers: &[u8], out: &mut Vec<u8>) {
    let mut copying = false;
    for line in lines_inclusive(headers) {
        if line.iter().all(u8::is_ascii_whitespace) {
            break;
        }
        if !line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            let name = line
                .iter()
                .position(|&b| b == b':')
                .and_then(|p| line.get(..p))
                .unwrap_or_default()
                .trim_ascii();
            copying = RETURNED_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f));
        }
        if copying {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
    }
}

/// Whether a field of the report's own header block matters to [`walk_parsed`]: it reads it
/// (From, To, Subject, [`WANTED`]; a report's own Cc and Message-ID are not read, only a
/// returned message's), or it steers mail-parser's MIME parse (`Content-*`, `MIME-Version`).
fn top_field_kept(name: &[u8]) -> bool {
    name.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"content-"))
        || [&b"from"[..], b"to", b"subject", b"mime-version"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f))
        || WANTED
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
}

/// Copies the report's header block `headers` (up to and with its blank line) to `out`
/// without the fields [`top_field_kept`] rejects: Received chains, DKIM/ARC signatures and
/// Exchange's X- fields are most of a report's headers, and mail-parser reads each of them
/// byte by byte even when it ignores its value. Only a field line whose name is plain
/// (letters, digits, `-`, `_`, right before the colon) is dropped, with its continuation
/// lines; anything else is copied byte for byte. `false` (and `out` unusable) when nothing
/// would be dropped, or nothing kept.
fn top_fields(headers: &[u8], out: &mut Vec<u8>) -> bool {
    // Lines are found with memchr and kept runs copied whole: a byte-by-byte pass here would
    // cost what mail-parser's skipping of the dropped fields did.
    let (mut dropped, mut kept) = (false, false);
    let mut copying = true;
    let mut run = 0;
    let mut line = 0;
    while line < headers.len() {
        let end = memchr::memchr(b'\n', headers.get(line..).unwrap_or_default())
            .map_or(headers.len(), |p| line + p + 1);
        let l = headers.get(line..end).unwrap_or_default();
        let keep = if l.iter().all(u8::is_ascii_whitespace) {
            // The blank line that ends the block (it may hold white space).
            true
        } else if l.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            copying
        } else {
            let n = l
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
                .unwrap_or(l.len());
            let name = l.get(..n).unwrap_or_default();
            if n > 0 && l.get(n) == Some(&b':') {
                let k = top_field_kept(name);
                kept |= k;
                k
            } else {
                true
            }
        };
        if keep != copying {
            if copying {
                out.extend_from_slice(headers.get(run..line).unwrap_or_default());
                dropped = true;
            } else {
                run = line;
            }
            copying = keep;
        }
        line = end;
    }
    if copying {
        out.extend_from_slice(headers.get(run..).unwrap_or_default());
    } else {
        dropped = true;
    }
    dropped && kept
}

/// Walks `parsed`: `raw`, or a copy of it changed as `edits` says. With edits, `None` also
/// when mail-parser's parts are not where the edits were made.
fn walk_parsed<'a>(raw: &'a [u8], parsed: &[u8], edits: &Edits<'_>) -> Option<Walked<'a>> {
    let msg = PARSER.parse(parsed)?;
    let mut w = Walked {
        from: first_addr(msg.from()).unwrap_or_default(),
        subject: msg.subject().unwrap_or_default().to_string(),
        ..Default::default()
    };
    if let Some(a) = msg.from().and_then(|a| a.first()) {
        // Built and lower-cased in place, without `format!`'s machinery and a second copy.
        let (name, addr) = (
            a.name().unwrap_or_default(),
            a.address().unwrap_or_default(),
        );
        let mut full = String::with_capacity(name.len() + 1 + addr.len());
        full.push_str(name);
        full.push(' ');
        full.push_str(addr);
        full.make_ascii_lowercase();
        w.from_full = full;
    }
    all_addrs(msg.to(), &mut w.to);
    for (name, value) in msg.headers_raw() {
        if let Some(wanted) = WANTED.iter().find(|w| name.eq_ignore_ascii_case(w)) {
            w.headers.push((wanted.to_string(), raw_value(value)));
        }
    }
    if let Some(ct) = msg.root_part().content_type() {
        if ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        {
            w.report_type = ct.attribute("report-type").map(|s| s.to_ascii_lowercase());
        }
    }
    if !walk_parts(&msg, raw, parsed, edits, &mut w) {
        return None;
    }
    Some(w)
}

/// What mail-parser reads of the header field `name: value` alone (`value` as it follows the
/// colon, line ends and continuation lines included), through `read`: a value parser reads
/// only its field, so this is what it reads of the field in a whole message, for a few
/// hundred instructions instead of the whole message's parse.
pub(crate) fn field_alone<T>(
    name: &str,
    value: &[u8],
    read: impl FnOnce(&Message<'_>) -> T,
) -> Option<T> {
    let mut buf = Vec::with_capacity(name.len() + value.len() + 3);
    buf.extend_from_slice(name.as_bytes());
    buf.push(b':');
    buf.extend_from_slice(value);
    if !value.ends_with(b"\n") {
        buf.push(b'\n');
    }
    buf.push(b'\n');
    let m = PARSER.parse(&buf[..])?;
    Some(read(&m))
}

/// A raw header value as [`Walked::headers`] keeps it: unfolded, trimmed.
pub(crate) fn raw_value(value: &str) -> String {
    // Unfolded only when folded (most values are one line).
    if memchr::memchr2(b'\r', b'\n', value.as_bytes()).is_some() {
        crate::scan::trim(&value.replace(['\r', '\n'], " ")).to_string()
    } else {
        crate::scan::trim(value).to_string()
    }
}

/// `String::from_utf8_lossy(b)`, with valid UTF-8 (the common case) checked by `from_utf8`,
/// which runs a word at a time over ASCII where the lossy decoder goes byte by byte.
pub(crate) fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Charsets whose mail-parser decoder maps every ASCII byte to itself (single-byte tables):
/// ASCII text in them is taken as it is, where the decoder pushes one char at a time.
const ASCII_CHARSETS: &[&str] = &[
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "iso-8859-2",
    "iso-8859-15",
    "latin1",
    "windows-1250",
    "windows-1252",
    "cp1252",
];

/// The text of a body decoded from its transfer encoding, as mail-parser makes it: through the
/// decoder of `charset` when mail-parser has one, else as UTF-8 with replacement characters.
pub(crate) fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    if let Some(c) = charset {
        if bytes.is_ascii() && ASCII_CHARSETS.iter().any(|a| c.eq_ignore_ascii_case(a)) {
            return lossy(bytes).into_owned();
        }
        if let Some(decode) = charset_decoder(c.as_bytes()) {
            return decode(bytes);
        }
    }
    lossy(bytes).into_owned()
}

/// `s` in lower case, without allocating when it already is (the common case).
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// `part` as a sub-slice of `raw` when it lies inside it.
fn within<'a>(raw: &'a [u8], part: &[u8]) -> Option<&'a [u8]> {
    let start = (part.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
    raw.get(start..start.checked_add(part.len())?)
        .filter(|s| s.as_ptr() == part.as_ptr())
}

/// Sorts the parts of `msg` (parsed from `parsed`) into `w`. `false` when `cuts` is not empty
/// and does not match mail-parser's attached messages one to one.
fn walk_parts<'a>(
    msg: &Message<'_>,
    raw: &'a [u8],
    parsed: &[u8],
    edits: &Edits<'_>,
    w: &mut Walked<'a>,
) -> bool {
    let mut html: Vec<Cow<'_, str>> = Vec::new();
    let mut matched = 0;
    let mut qp_matched = 0;
    for part in &msg.parts {
        let (ctype, sub) = match part.content_type() {
            Some(ct) => (lower(ct.ctype()), lower(ct.subtype().unwrap_or_default())),
            None => (Cow::Borrowed("text"), Cow::Borrowed("plain")),
        };
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(inner) => {
                if w.returned.is_none() {
                    w.returned = Some(returned_of(inner));
                }
                let bytes = inner.raw_message();
                // An attached message whose body was cut: its original bytes, from `raw`.
                let cut = within(parsed, bytes).and_then(|b| {
                    let start = b.as_ptr() as usize - parsed.as_ptr() as usize;
                    let i = edits.starts.iter().position(|s| *s == start)?;
                    edits.cuts.get(i)
                });
                if let Some(c) = cut {
                    matched += 1;
                    if w.nested.len() < 4 {
                        w.nested.push(Cow::Borrowed(
                            raw.get(c.part_body..c.end).unwrap_or_default(),
                        ));
                    }
                } else if !edits.cuts.is_empty() {
                    return false;
                } else if w.nested.len() < 4 {
                    w.nested.push(match within(raw, bytes) {
                        Some(b) => Cow::Borrowed(b),
                        None => Cow::Owned(bytes.to_vec()),
                    });
                }
            }
            // Attachments (images, documents) say nothing about delivery.
            _ if matches!(
                ctype.as_ref(),
                "image" | "audio" | "video" | "application" | "font" | "model"
            ) =>
            {
                if edits
                    .qp
                    .iter()
                    .any(|q| q.0 == part.offset_body as usize && q.2 == CutKind::Ignored)
                {
                    qp_matched += 1;
                }
            }
            body => {
                // A text body decoded before parsing: the charset as mail-parser would apply
                // it.
                let decoded = edits
                    .qp
                    .iter()
                    .find(|q| q.0 == part.offset_body as usize)
                    .map(|q| (q.1, q.2));
                let text: Cow<'_, str> = match (decoded, body) {
                    (Some((bytes, CutKind::Text)), PartType::Text(_) | PartType::Html(_)) => {
                        qp_matched += 1;
                        let charset = part.content_type().and_then(|ct| ct.attribute("charset"));
                        Cow::Owned(decode_charset(bytes, charset))
                    }
                    (
                        Some((bytes, CutKind::Binary)),
                        PartType::Binary(_) | PartType::InlineBinary(_),
                    ) => {
                        qp_matched += 1;
                        Cow::Owned(lossy(bytes).into_owned())
                    }
                    (Some(_), _) => return false,
                    (None, PartType::Text(t) | PartType::Html(t)) => Cow::Borrowed(t.as_ref()),
                    (None, PartType::Binary(b) | PartType::InlineBinary(b)) => lossy(b),
                    _ => continue,
                };
                sort_text(
                    &ctype,
                    &sub,
                    text,
                    matches!(body, PartType::Html(_) | PartType::Text(_)),
                    w,
                    &mut html,
                );
            }
        }
    }
    if matched != edits.cuts.len() || qp_matched != edits.qp.len() {
        return false;
    }
    finish(w, &html);
    true
}

/// Sorts the text `text` of a leaf part of type `ctype`/`sub` (lower case) into `w`, as
/// mail-parser's parts come (`text_body`: mail-parser made it a text or HTML body); HTML
/// parts are kept in `html` for [`finish`].
pub(crate) fn sort_text<'t>(
    ctype: &str,
    sub: &str,
    text: Cow<'t, str>,
    text_body: bool,
    w: &mut Walked<'_>,
    html: &mut Vec<Cow<'t, str>>,
) {
    match (ctype, sub) {
        ("message", "delivery-status")
        | ("message", "global-delivery-status")
        | ("text", "delivery-status")
        | ("message", "x-delivery-status") => w.ds.push(text.into_owned()),
        ("message", "feedback-report") | ("text", "feedback-report") if w.feedback.is_none() => {
            w.feedback = Some(text.into_owned())
        }
        ("text", "rfc822-headers")
        | ("message", "rfc822-headers")
        | ("text", "rfc822-header")
        | ("message", "rfc822-header")
        | ("message", "global-headers")
            if w.returned.is_none() =>
        {
            w.returned = Some(returned_from_text(&text));
        }
        // mail-parser could not parse it as a message: keep the headers.
        ("message", "rfc822") | ("message", "global") | ("message", "partial")
            if w.returned.is_none() =>
        {
            w.returned = Some(returned_from_text(&text));
        }
        ("text", "html") if text_body => html.push(text),
        ("text", "html") => {}
        // `multipart/*` handed over as text: its boundary was not found (a
        // redacted or broken report); read it as one text.
        ("text", _) | ("multipart", _) => {
            let markers = crate::dsn::markers(&text);
            if crate::dsn::is_delivery_status(markers) {
                w.ds.push(text.to_string());
            }
            // ARF fields pasted into a text part (a report without its MIME type).
            if w.feedback.is_none() && crate::dsn::is_feedback(markers) {
                w.feedback = Some(text.to_string());
            }
            if w.returned.is_some() {
                // Text after the attached original belongs to it.
                return;
            }
            w.human.push(text.into_owned());
        }
        _ => {}
    }
}

/// Ends the sorting of [`sort_text`]: a report with only HTML is read as text.
pub(crate) fn finish(w: &mut Walked<'_>, html: &[Cow<'_, str>]) {
    if w.human.is_empty() {
        // Only HTML: read it as text.
        w.human = html.iter().map(|h| crate::text::strip_html(h)).collect();
    }
}

fn returned_of(m: &Message<'_>) -> Returned {
    let mut to = Vec::new();
    all_addrs(m.to(), &mut to);
    all_addrs(m.cc(), &mut to);
    Returned {
        message_id: m.message_id().map(str::to_string),
        to,
        from: first_addr(m.from()),
        jmrp_recipient: m
            .header_raw("X-HmXmrOriginalRecipient")
            .and_then(crate::scan::clean_address),
    }
}

/// The returned message's headers from plain header text (text/rfc822-headers, or the part of a
/// plain-text bounce after its "original message follows" line).
pub fn returned_from_text(text: &str) -> Returned {
    let mut r = Returned::default();
    let read = |name: &str| {
        ["message-id", "to", "cc", "x-hmxmroriginalrecipient", "from"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
    };
    for f in &crate::fields::first_block_of(text, read) {
        match f.name.as_ref() {
            "message-id" if r.message_id.is_none() => {
                let v = f.value.trim().trim_start_matches('<');
                let v = v.split('>').next().unwrap_or(v).trim();
                if !v.is_empty() {
                    r.message_id = Some(v.to_string());
                }
            }
            "to" | "cc" => {
                for a in crate::scan::addresses(&f.value) {
                    r.to.push(a.addr.to_string());
                }
            }
            "x-hmxmroriginalrecipient" if r.jmrp_recipient.is_none() => {
                r.jmrp_recipient = crate::scan::clean_address(&f.value)
            }
            "from" if r.from.is_none() => {
                r.from = crate::scan::addresses(&f.value)
                    .first()
                    .map(|a| a.addr.to_string())
            }
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attached_messages_are_read_from_their_headers_and_kept_whole() {
        let first = "Received: from a\r\n by b\r\nTo: <r@x.example>,\r\n s@x.example\r\nFrom: o@y.example\r\nMessage-ID: <id1@y.example>\r\nContent-Type: text/plain\r\n\r\nbody =3D one\r\n";
        let second = "From: p@y.example\r\nMessage-ID: <id2@y.example>\r\n\r\nbody two\r\n";
        let raw = format!(
            "From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n{first}--B\r\nContent-Type: message/rfc822\r\n\r\n{second}--B\r\nContent-Type: text/plain\r\n\r\nafter\r\n--B--\r\n"
        );
        let cuts = returned_bodies(raw.as_bytes());
        assert_eq!(cuts.len(), 2);
        let w = walk(raw.as_bytes()).unwrap();
        let r = w.returned.as_ref().unwrap();
        assert_eq!(r.message_id.as_deref(), Some("id1@y.example"));
        assert_eq!(r.to, ["r@x.example", "s@x.example"]);
        assert_eq!(r.from.as_deref(), Some("o@y.example"));
        assert_eq!(w.nested.len(), 2);
        assert_eq!(w.nested[0].as_ref(), first.trim_end().as_bytes());
        assert_eq!(w.nested[1].as_ref(), second.trim_end().as_bytes());
        // The same as mail-parser's view of the whole message.
        let whole = walk_parsed(raw.as_bytes(), raw.as_bytes(), &Edits::default()).unwrap();
        assert_eq!(format!("{:?}", whole.returned), format!("{:?}", w.returned));
        assert_eq!(whole.nested, w.nested);
        assert_eq!(whole.human, w.human);
    }

    #[test]
    fn report_header_block_keeps_what_is_read() {
        let raw = "Received: from a\r\n by b\r\nReturn-Path: <>\r\nDKIM-Signature: v=1;\r\n\tb=xyz\r\nFrom: Mail Delivery <MAILER-DAEMON@mx.example>\r\nTo: s@y.example\r\nSubject: =?utf-8?q?Undelivered?=\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"B\"\r\nX-Failed-Recipients: r@x.example\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; r@x.example\r\nStatus: 5.1.1\r\n--B--\r\n";
        let mut out = Vec::new();
        let top = header_end(raw.as_bytes(), 0).unwrap();
        assert!(top_fields(&raw.as_bytes()[..top], &mut out));
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("Return-Path: <>\r\nFrom: "));
        assert!(out.ends_with("r@x.example\r\n\r\n"));
        assert!(!out.contains("Received") && !out.contains("xyz"));
        let w = walk(raw.as_bytes()).unwrap();
        let whole = walk_parsed(raw.as_bytes(), raw.as_bytes(), &Edits::default()).unwrap();
        assert_eq!(format!("{w:?}"), format!("{whole:?}"));
        assert_eq!(w.report_type.as_deref(), Some("delivery-status"));
    }

    #[test]
    fn quoted_printable_text_decodes_as_mail_parser_does() {
        let bodies = [
            "caf=C3=A9 =\r\nsoft  \r\ntrailing \t\r\nhex=20\r\nend  ",
            "lf only=\nline\n\n= 41 and =41=42\nlast",
            "mixed\nline\r\nends\rstray cr",
            "bad =ZZ escape",
            "ends in a soft break=",
            "plain",
        ];
        for charset in ["utf-8", "iso-8859-1"] {
            for body in bodies {
                let raw = format!(
                    "From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body}\r\n--B\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>{body}</p>\r\n--B--\r\n"
                );
                let cut = qp_bodies(raw.as_bytes(), &[]).len();
                assert_eq!(cut == 2, !body.contains("ZZ") && !body.ends_with('='));
                let w = walk(raw.as_bytes()).unwrap();
                let whole = walk_parsed(raw.as_bytes(), raw.as_bytes(), &Edits::default()).unwrap();
                assert_eq!(w.human, whole.human, "{body:?}");
                assert_eq!(w.ds, whole.ds);
            }
        }
        assert_eq!(
            qp_decode(b"a=\r\nb  \r\nc=3D").as_deref(),
            Some(&b"ab\r\nc="[..])
        );
        assert_eq!(qp_decode(b"x=4"), None);
    }

    #[test]
    fn unencoded_text_is_taken_as_written_in_its_charset() {
        // (charset parameter, Content-Transfer-Encoding line, body bytes, text a user reads)
        let cases: &[(&str, &str, &[u8], &str)] = &[
            (
                "us-ascii",
                "Content-Transfer-Encoding: 7bit\r\n",
                b"User unknown",
                "User unknown",
            ),
            (
                "utf-8",
                "",
                "Empf\u{e4}nger unbekannt".as_bytes(),
                "Empf\u{e4}nger unbekannt",
            ),
            (
                "iso-8859-1",
                "Content-Transfer-Encoding: 8bit\r\n",
                b"Empf\xe4nger",
                "Empf\u{e4}nger",
            ),
            (
                "windows-1252",
                "",
                b"\x93quoted\x94",
                "\u{201c}quoted\u{201d}",
            ),
            ("ISO-2022-JP", "", b"plain ascii", "plain ascii"),
        ];
        for nl in ["\r\n", "\n"] {
            for (charset, cte, body, want) in cases {
                let head = format!(
                    "From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset={charset}\r\n{cte}\r\n"
                );
                let mut raw = head.replace("\r\n", nl).into_bytes();
                raw.extend_from_slice(body);
                raw.extend_from_slice(format!("{nl}--B--{nl}").as_bytes());
                assert_eq!(qp_bodies(&raw, &[]).len(), 1, "{charset} {nl:?}");
                let w = walk(&raw).unwrap();
                assert_eq!(w.human, [*want], "{charset} {nl:?}");
                let whole = walk_parsed(&raw, &raw, &Edits::default()).unwrap();
                assert_eq!(w.human, whole.human);
            }
        }
        // A base64 or doubly declared body is left to mail-parser.
        for cte in [
            "Content-Transfer-Encoding: base64\r\n",
            "Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n",
            "Content-Transfer-Encoding:\r\n base64\r\n",
        ] {
            let raw = format!(
                "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n{cte}\r\nVXNlciB1bmtub3du\r\n--B--\r\n"
            );
            assert!(qp_bodies(raw.as_bytes(), &[]).is_empty(), "{cte:?}");
            let w = walk(raw.as_bytes()).unwrap();
            let whole = walk_parsed(raw.as_bytes(), raw.as_bytes(), &Edits::default()).unwrap();
            assert_eq!(w.human, whole.human);
        }
    }

    #[test]
    fn report_parts_and_attachments_read_as_mail_parser_reads_them() {
        let parts = [
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; r@x.example\r\nAction: failed\r\nStatus: 5.1.1\r\n",
            "Content-Type: text/rfc822-headers; charset=iso-8859-1\r\n\r\nTo: r@x.example\r\nSubject: caf\u{e9}\r\nMessage-ID: <m@y.example>\r\n",
            "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
            "Content-Type: application/pdf; name=x.pdf\r\nContent-Disposition: attachment\r\n\r\n%PDF-1.4 not base64 -- at all\r\n",
            "Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nnot base64 !\r\n",
            "Content-Type: message/delivery-status\r\nContent-Type: image/png\r\n\r\nStatus: 5.1.1\r\n",
        ];
        for n in 1..=parts.len() {
            let mut raw = String::from(
                "From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n",
            );
            for p in &parts[..n] {
                raw.push_str("--B\r\n");
                raw.push_str(p);
            }
            raw.push_str("--B--\r\n");
            let w = walk(raw.as_bytes()).unwrap();
            let whole = walk_parsed(raw.as_bytes(), raw.as_bytes(), &Edits::default()).unwrap();
            assert_eq!(format!("{w:?}"), format!("{whole:?}"), "{n}");
        }
        let raw = format!(
            "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n{}--B\r\n{}--B--\r\n",
            parts[0], parts[2]
        );
        let kinds: Vec<CutKind> = qp_bodies(raw.as_bytes(), &[])
            .iter()
            .map(|q| q.kind)
            .collect();
        assert_eq!(kinds, [CutKind::Ignored]);
    }

    #[test]
    fn a_single_text_message_reads_as_mail_parser_reads_it() {
        let body = "Empf\u{e4}nger unbekannt: <r@x.example>\r\n\r\n550 5.1.1 no such user\r\n";
        for (fields, cut) in [
            ("", true),
            ("Content-Type: text/plain; charset=utf-8\r\n", true),
            (
                "Content-Type: TEXT/HTML;\r\n charset=\"us-ascii\"\r\n",
                true,
            ),
            (
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n",
                true,
            ),
            (
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
                false,
            ),
            (
                "Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=B\r\n",
                false,
            ),
            ("Content-Type:\r\n text/plain\r\n", false),
            ("Content-Type: multipart/mixed; boundary=B\r\n", false),
        ] {
            let raw = format!(
                "From: MAILER-DAEMON@mx.example\r\nReceived: from a\r\nSubject: Undelivered\r\n{fields}\r\n{body}"
            );
            let top = header_end(raw.as_bytes(), 0).unwrap();
            assert_eq!(single_text(&raw.as_bytes()[..top]), cut, "{fields:?}");
            let w = walk(raw.as_bytes()).unwrap();
            let whole = walk_parsed(raw.as_bytes(), raw.as_bytes(), &Edits::default()).unwrap();
            assert_eq!(format!("{w:?}"), format!("{whole:?}"), "{fields:?}");
        }
    }

    #[test]
    fn lines_split_as_the_slice_methods_do() {
        for b in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\r\nb",
            b"\n\nx\n\n",
            b"x\ny\nz",
        ] {
            assert_eq!(
                lines(b).collect::<Vec<_>>(),
                b.split(|&c| c == b'\n').collect::<Vec<_>>()
            );
            assert_eq!(
                lines_inclusive(b).collect::<Vec<_>>(),
                b.split_inclusive(|&c| c == b'\n').collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn ascii_charsets_decode_ascii_as_itself_in_mail_parser() {
        let ascii: Vec<u8> = (0..=127).collect();
        for c in ASCII_CHARSETS {
            let decode = charset_decoder(c.as_bytes()).unwrap();
            assert_eq!(decode(&ascii).as_bytes(), &ascii[..], "{c}");
        }
    }
}

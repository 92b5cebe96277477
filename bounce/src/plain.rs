//! The plain case without mail-parser: when [`crate::walk`] read every part of a message (each
//! body decoded or cut out, nothing left for mail-parser to decode), the [`Walked`] result is
//! built here from the walk's findings and the raw header blocks, and mail-parser's parse of
//! the shortened copy (a fifth of the instructions per report, and most of its allocations)
//! is skipped.
//!
//! Only plain values are read here, each as mail-parser 0.11 reads it (its address, text and
//! id parsers are repeated for the bytes they can meet): ASCII header fields with a plain name
//! right before the colon; addresses without quotes, escapes, groups, nested comments or
//! encoded words; subjects without encoded words; Message-IDs of one `<id>`; a From, To or
//! Subject (and, in a returned message, each field read) at most once. Anything else gives
//! `None`, and the caller parses with mail-parser as before.
use crate::mime::{self, Returned, Walked};
use crate::walk::{ContentType, Found, Piece, NAME};
use std::borrow::Cow;

/// One field of a header block: its name and its value from just after the colon to the end
/// of its last line (line ends and continuation lines included), as mail-parser's
/// `offset_start..offset_end` of a value read to its end.
struct Field<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

/// The fields of `block` (a header block without or with its blank line), or `None` when a
/// line is not a field line with a plain name (letters, digits, `-`, `_`) right before its
/// colon, nor a continuation of one, nor an odd line mail-parser skips
/// ([`odd_line_ignored`]). Only the fields whose name `keep` accepts are returned.
fn fields(block: &[u8], keep: fn(&[u8]) -> bool) -> Option<Vec<Field<'_>>> {
    let mut out: Vec<Field<'_>> = Vec::with_capacity(8);
    // Where the value of the last field starts, while its lines are read.
    let mut open: Option<usize> = None;
    // The last line that was not a continuation started a field with a plain name.
    let mut plain = false;
    let mut line = 0;
    let mut nls = memchr::memchr_iter(b'\n', block);
    while line < block.len() {
        let end = nls.next().map_or(block.len(), |p| p + 1);
        let l = block.get(line..end)?;
        if l == b"\n" || l == b"\r\n" {
            break;
        }
        if matches!(l.first(), Some(b' ' | b'\t')) {
            // A continuation of no field (or of an odd line, a field of its own to
            // mail-parser).
            if !plain {
                return None;
            }
        } else {
            if let (Some(s), Some(last)) = (open.take(), out.last_mut()) {
                last.value = block.get(s..line)?;
            }
            let n = l.iter().take_while(|b| NAME[usize::from(**b)]).count();
            plain = n > 0 && l.get(n) == Some(&b':');
            if plain {
                let name = l.get(..n)?;
                if keep(name) {
                    out.push(Field { name, value: &[] });
                    open = Some(line + n + 1);
                }
            } else if !odd_line_ignored(l) {
                return None;
            }
        }
        line = end;
    }
    if let (Some(s), Some(last)) = (open, out.last_mut()) {
        last.value = block.get(s..line)?;
    }
    Some(out)
}

/// Whether mail-parser reads the line `l` (not a continuation, no plain name right before a
/// colon: an mbox `From ` line, say) as nothing read here: without a colon it drops it; with
/// one, the bytes before it without white space name a field, which it skips unless it is one
/// of those read (or a `Content-` field).
fn odd_line_ignored(l: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', l) else {
        return true;
    };
    let mut name = [0u8; 32];
    let mut n = 0;
    for &b in l.get(..colon).unwrap_or_default() {
        if b.is_ascii_whitespace() {
            continue;
        }
        match name.get_mut(n) {
            Some(slot) => *slot = b.to_ascii_lowercase(),
            // Longer than any name read.
            None => return true,
        }
        n += 1;
    }
    let name = name.get(..n).unwrap_or_default();
    !(name.starts_with(b"content-")
        || [
            &b"from"[..],
            b"to",
            b"cc",
            b"subject",
            b"message-id",
            b"mime-version",
            b"x-hmxmroriginalrecipient",
        ]
        .contains(&name)
        || mime::WANTED.iter().any(|w| w.as_bytes() == name))
}

/// Whether a value holds only what the readers here take plainly: ASCII without encoded
/// words.
fn plain_value(v: &[u8]) -> bool {
    v.is_ascii() && memchr::memchr_iter(b'=', v).all(|p| v.get(p + 1) != Some(&b'?'))
}

/// The value of the last field named `name` among `fields`: the one mail-parser's
/// `header_value` and `header` (and so `from()`, `to()`, `header_raw`, ...) find.
fn last<'a>(fields: &[Field<'a>], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .rev()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// What is read of an address field: its first address (mail-parser's `Address::first`) and
/// the addresses of all its entries that have one (of a `From`, only the first is read when
/// it is read here; of a `To` or `Cc`, only all).
struct Addresses {
    first: Option<Addr>,
    all: Vec<String>,
}

/// The address field `name` (`From`, `To` or `Cc`) with value `v`: read here when plain, else
/// by mail-parser from the field alone.
fn address_field(name: &str, v: &[u8]) -> Option<Addresses> {
    if let Some(list) = addresses(v) {
        // A From is read for its first address, a To or Cc for all of them.
        return Some(if name == "From" {
            Addresses {
                first: list.into_iter().next(),
                all: Vec::new(),
            }
        } else {
            Addresses {
                first: None,
                all: list.into_iter().filter_map(|a| a.address).collect(),
            }
        });
    }
    mime::field_alone(name, v, |m| {
        let a = match name {
            "From" => m.from(),
            "To" => m.to(),
            _ => m.cc(),
        };
        let mut all = Vec::new();
        mime::all_addrs(a, &mut all);
        Addresses {
            first: a.and_then(|a| a.first()).map(|f| Addr {
                name: f.name().map(str::to_string),
                address: f.address().map(str::to_string),
            }),
            all,
        }
    })
}

/// One address as mail-parser's address parser makes it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Addr {
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Name,
    Address,
    Comment,
    Quote,
}

/// The token lists of mail-parser's `AddressParser` for one address (spaces pushed as
/// tokens of their own, where its `add_token` pushes them).
#[derive(Default)]
struct Tokens<'v> {
    name: List<'v>,
    mail: List<'v>,
    comment: List<'v>,
    /// The token being read (`start..end` in the value), and whether an `@` was seen in it
    /// outside angle brackets.
    token: Option<(usize, usize)>,
    is_email: bool,
}

/// The most tokens (spaces included) a list holds here; a longer one is left to
/// mail-parser.
const MAX_TOKENS: usize = 8;

/// A token list without allocation (most hold one token).
#[derive(Default)]
struct List<'v> {
    tokens: [&'v [u8]; MAX_TOKENS],
    len: usize,
    /// More tokens came than it holds.
    overflow: bool,
}

impl<'v> List<'v> {
    fn push(&mut self, t: &'v [u8]) {
        match self.tokens.get_mut(self.len) {
            Some(slot) => {
                *slot = t;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn iter(&self) -> impl Iterator<Item = &&'v [u8]> {
        self.tokens.iter().take(self.len)
    }
}

impl<'v> Tokens<'v> {
    /// mail-parser's `add_token`.
    fn add(&mut self, v: &'v [u8], state: State) {
        let Some((s, e)) = self.token.take() else {
            return;
        };
        let t = v.get(s..e).unwrap_or_default();
        let (list, space) = match state {
            State::Address => (&mut self.mail, false),
            State::Name if self.is_email => (&mut self.mail, false),
            State::Name => (&mut self.name, true),
            State::Quote => (&mut self.name, false),
            State::Comment => (&mut self.comment, true),
        };
        if space && !list.is_empty() {
            list.push(b" ");
        }
        list.push(t);
        self.is_email = false;
    }

    /// Extends the token being read to the byte before `i`.
    fn extend(&mut self, i: usize) {
        let start = self.token.map_or(i - 1, |(s, _)| s);
        self.token = Some((start, i));
    }
}

/// mail-parser's address parser (`parse_address`) on a plain value: the same states and token
/// rules, for values without backslashes, groups (`:`, `;`), encoded words (`=?`), nested
/// comments, line ends inside quotes or non-ASCII bytes (`None` for those).
pub(crate) fn addresses(v: &[u8]) -> Option<Vec<Addr>> {
    if !plain_value(v) || memchr::memchr(b'\\', v).is_some() {
        return None;
    }
    let mut out = Vec::new();
    let mut t = Tokens::default();
    let mut state = State::Name;
    let mut comment_back = State::Name;
    let mut i = 0;
    while let Some(&ch) = v.get(i) {
        i += 1;
        match (ch, state) {
            (b'\n', State::Quote) => return None,
            (b'\n', _) => {
                t.add(v, state);
                if matches!(v.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                    continue;
                }
                break;
            }
            (b',', State::Name) => {
                t.add(v, state);
                add_address(&mut t, &mut out);
                continue;
            }
            (b'<', State::Name) => {
                t.is_email = false;
                t.add(v, state);
                state = State::Address;
                continue;
            }
            (b'>', State::Address) => {
                t.add(v, state);
                state = State::Name;
                continue;
            }
            (b'"', State::Name) => {
                // (mail-parser adds the token before the quote once in the quote state.)
                state = State::Quote;
                t.add(v, state);
                continue;
            }
            (b'"', State::Quote) => {
                t.add(v, state);
                state = State::Name;
                continue;
            }
            (b'@', State::Name) => t.is_email = true,
            (b' ' | b'\t', State::Quote) => {
                t.extend(i);
                continue;
            }
            (b' ' | b'\t' | b'\r', _) => continue,
            (b'(', State::Comment) => return None,
            (b'(', State::Name | State::Address) => {
                comment_back = state;
                t.add(v, state);
                state = State::Comment;
                continue;
            }
            (b')', State::Comment) => {
                t.add(v, state);
                state = comment_back;
                continue;
            }
            (b':' | b';', State::Name) => return None,
            _ => {}
        }
        t.extend(i);
    }
    add_address(&mut t, &mut out);
    // (A list that overflowed stays marked.)
    if t.name.overflow || t.mail.overflow || t.comment.overflow {
        return None;
    }
    Some(out)
}

/// Joins a token list as mail-parser's `concat_tokens` does, and empties it.
fn join(tokens: &mut List<'_>) -> String {
    let mut s = String::with_capacity(tokens.iter().map(|t| t.len()).sum());
    for t in tokens.iter() {
        s.push_str(std::str::from_utf8(t).unwrap_or_default());
    }
    tokens.len = 0;
    s
}

/// mail-parser's `add_address`.
fn add_address(t: &mut Tokens<'_>, out: &mut Vec<Addr>) {
    if t.name.overflow || t.mail.overflow || t.comment.overflow {
        return;
    }
    let (has_name, has_mail, has_comment) = (
        !t.name.is_empty(),
        !t.mail.is_empty(),
        !t.comment.is_empty(),
    );
    let addr = match (has_name, has_mail, has_comment) {
        (true, true, true) => Addr {
            name: Some(format!("{} ({})", join(&mut t.name), join(&mut t.comment))),
            address: Some(join(&mut t.mail)),
        },
        (true, true, false) => Addr {
            name: Some(join(&mut t.name)),
            address: Some(join(&mut t.mail)),
        },
        (false, true, true) => Addr {
            name: Some(join(&mut t.comment)),
            address: Some(join(&mut t.mail)),
        },
        (false, true, false) => Addr {
            name: None,
            address: Some(join(&mut t.mail)),
        },
        (true, false, true) => {
            let n = join(&mut t.name);
            let c = join(&mut t.comment);
            if !n.chars().any(char::is_whitespace) {
                Addr {
                    name: Some(c),
                    address: Some(n),
                }
            } else {
                Addr {
                    name: Some(format!("{n} ({c})")),
                    address: None,
                }
            }
        }
        (true, false, false) => Addr {
            name: Some(join(&mut t.name)),
            address: None,
        },
        (false, false, true) => Addr {
            name: Some(join(&mut t.comment)),
            address: None,
        },
        (false, false, false) => return,
    };
    out.push(addr);
}

/// mail-parser's unstructured text (`parse_unstructured`) of a value without encoded words:
/// each line from its first to its last byte that is not a space, tab or `\r`, the lines
/// joined with a space.
pub(crate) fn text(v: &[u8]) -> Option<String> {
    if !plain_value(v) {
        return None;
    }
    let mut out = String::new();
    for line in v.split(|&b| b == b'\n') {
        let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
        let Some(s) = line.iter().position(|b| !ws(b)) else {
            continue;
        };
        let e = line.iter().rposition(|b| !ws(b)).map_or(s, |p| p + 1);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(std::str::from_utf8(line.get(s..e)?).ok()?);
    }
    Some(out)
}

/// mail-parser's Message-ID (`parse_id`, then `as_text`) of a one-line value: `<id>` gives
/// `id`, an empty value nothing; `None` (not read here) for anything else.
fn message_id(v: &[u8]) -> Option<Option<String>> {
    let t = v.trim_ascii();
    if t.is_empty() || t == b"<>" {
        return Some(None);
    }
    let id = t.strip_prefix(b"<")?.strip_suffix(b">")?;
    if id
        .iter()
        .any(|b| b.is_ascii_whitespace() || *b == b'<' || *b == b'>')
    {
        return None;
    }
    Some(Some(std::str::from_utf8(id).ok()?.to_string()))
}

/// The fields of a returned message read here.
const RETURNED_READ: &[&str] = &["to", "cc", "from", "message-id", "x-hmxmroriginalrecipient"];

/// The fields of the report's own header block read here besides [`mime::WANTED`].
const TOP_READ: &[&str] = &["from", "to", "subject"];

/// A bit for the first letter of a name (any case), none for other bytes.
const fn letter(b: u8) -> u32 {
    let l = b.to_ascii_lowercase();
    if l.is_ascii_lowercase() {
        1 << (l - b'a')
    } else {
        0
    }
}

/// For each name length (up to 31), the first letters of the names of [`TOP_READ`] and
/// [`mime::WANTED`] of that length.
static TOP_LENGTHS: [u32; 32] = {
    let mut t = [0u32; 32];
    let mut i = 0;
    while i < TOP_READ.len() {
        t[TOP_READ[i].len()] |= letter(TOP_READ[i].as_bytes()[0]);
        i += 1;
    }
    let mut i = 0;
    while i < mime::WANTED.len() {
        t[mime::WANTED[i].len()] |= letter(mime::WANTED[i].as_bytes()[0]);
        i += 1;
    }
    t
};

/// The returned message's fields from its header block, as [`mime`]'s `returned_of` reads
/// them from mail-parser's parse.
fn returned(block: &[u8]) -> Option<Returned> {
    let fields = fields(block, |n| {
        matches!(n.len(), 2 | 4 | 10 | 24)
            && RETURNED_READ
                .iter()
                .any(|r| n.eq_ignore_ascii_case(r.as_bytes()))
    })?;
    let get = |name| last(&fields, name);
    let mut to = Vec::new();
    for (name, field) in [("to", "To"), ("cc", "Cc")] {
        if let Some(v) = get(name) {
            to.extend(address_field(field, v)?.all);
        }
    }
    let from = match get("from") {
        Some(v) => address_field("From", v)?.first.and_then(|a| a.address),
        None => None,
    };
    let message_id = match get("message-id") {
        Some(v) => match message_id(v) {
            Some(id) => id,
            None => mime::field_alone("Message-ID", v, |m| m.message_id().map(str::to_string))?,
        },
        None => None,
    };
    let jmrp_recipient = match get("x-hmxmroriginalrecipient") {
        Some(v) if v.is_ascii() => crate::scan::clean_address(std::str::from_utf8(v).ok()?),
        Some(_) => return None,
        None => None,
    };
    Some(Returned {
        message_id,
        to,
        from,
        jmrp_recipient,
    })
}

/// Type and subtype in lower case (`text/plain` without a Content-Type), as `walk_parts`
/// takes them from mail-parser.
fn types<'c>(ct: Option<&ContentType<'c>>) -> (Cow<'c, str>, Cow<'c, str>) {
    let lower = |b: &'c [u8]| match std::str::from_utf8(b) {
        Ok(s) if !s.bytes().any(|c| c.is_ascii_uppercase()) => Cow::Borrowed(s),
        _ => Cow::Owned(String::from_utf8_lossy(b).to_ascii_lowercase()),
    };
    match ct {
        Some(ct) => (lower(ct.ctype), lower(ct.subtype)),
        None => (Cow::Borrowed("text"), Cow::Borrowed("plain")),
    }
}

fn charset<'c>(ct: Option<&ContentType<'c>>) -> Option<&'c str> {
    ct.and_then(|c| c.charset)
        .and_then(|c| std::str::from_utf8(c).ok())
}

/// [`Walked`] for `raw` from what the walk found (`found`, from a walk that did not give up),
/// or `None` when something is not plain enough to be read here.
pub(crate) fn walked<'a>(raw: &'a [u8], found: &Found<'a>) -> Option<Walked<'a>> {
    if found.unread {
        return None;
    }
    let (block, ct, body) = found.top?;
    let top = fields(block, |n| {
        // Most fields (Received, signatures) are told apart by their length and first letter.
        n.first()
            .zip(TOP_LENGTHS.get(n.len()))
            .is_some_and(|(f, m)| m & letter(*f) != 0)
            && (TOP_READ
                .iter()
                .any(|r| n.eq_ignore_ascii_case(r.as_bytes()))
                || mime::WANTED
                    .iter()
                    .any(|r| n.eq_ignore_ascii_case(r.as_bytes())))
    })?;
    if top.is_empty() {
        return None;
    }
    let mut w = Walked::default();
    if let Some(v) = last(&top, "from") {
        if let Some(a) = address_field("From", v)?.first {
            let (name, addr) = (
                a.name.unwrap_or_default(),
                a.address.clone().unwrap_or_default(),
            );
            let mut full = String::with_capacity(name.len() + 1 + addr.len());
            full.push_str(&name);
            full.push(' ');
            full.push_str(&addr);
            full.make_ascii_lowercase();
            w.from_full = full;
            w.from = a.address.unwrap_or_default();
        }
    }
    if let Some(v) = last(&top, "to") {
        w.to = address_field("To", v)?.all;
    }
    if let Some(v) = last(&top, "subject") {
        w.subject = match text(v) {
            Some(t) => t,
            None => mime::field_alone("Subject", v, |m| {
                m.subject().unwrap_or_default().to_string()
            })?,
        };
    }
    for f in &top {
        if let Some(name) = mime::WANTED
            .iter()
            .find(|n| f.name.eq_ignore_ascii_case(n.as_bytes()))
        {
            if !f.value.is_ascii() {
                return None;
            }
            // Without its line end (trimmed anyway), a value of one line is taken as it is.
            let v = f.value;
            let v = v.strip_suffix(b"\n").unwrap_or(v);
            let v = v.strip_suffix(b"\r").unwrap_or(v);
            let v = std::str::from_utf8(v).ok()?;
            w.headers.push((name.to_string(), mime::raw_value(v)));
        }
    }
    let mut html: Vec<Cow<'_, str>> = Vec::new();
    let multipart = ct.is_some_and(|c| c.is("multipart"));
    if multipart {
        let ct = ct?;
        if ct.sub_is("report") {
            w.report_type = match ct.report_type {
                Some(r) => Some(std::str::from_utf8(r).ok()?.to_ascii_lowercase()),
                None => None,
            };
        }
        for piece in &found.pieces {
            match *piece {
                Piece::Body { qp, ctype } => {
                    let q = found.qps.get(qp)?;
                    let (t, s) = types(ctype.as_ref());
                    match q.kind {
                        crate::mime::CutKind::Text => {
                            let text = mime::decode_charset(&q.decoded, charset(ctype.as_ref()));
                            mime::sort_text(&t, &s, Cow::Owned(text), true, &mut w, &mut html);
                        }
                        crate::mime::CutKind::Binary => {
                            let text = mime::lossy(&q.decoded).into_owned();
                            mime::sort_text(&t, &s, Cow::Owned(text), false, &mut w, &mut html);
                        }
                        crate::mime::CutKind::Ignored => {}
                    }
                }
                Piece::Message { cut } => {
                    let c = found.cuts.get(cut)?;
                    if w.returned.is_none() {
                        w.returned = Some(returned(raw.get(c.part_body..c.body)?)?);
                    }
                    if w.nested.len() < 4 {
                        w.nested.push(Cow::Borrowed(
                            raw.get(c.part_body..c.end).unwrap_or_default(),
                        ));
                    }
                }
            }
        }
    } else {
        if !found.pieces.is_empty() || !mime::single_text(raw.get(..body)?) {
            return None;
        }
        let (t, s) = types(ct.as_ref());
        let text = mime::decode_charset(raw.get(body..)?, charset(ct.as_ref()));
        mime::sort_text(&t, &s, Cow::Owned(text), true, &mut w, &mut html);
    }
    mime::finish(&mut w, &html);
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/dsn-corpus/maildir");
        let mut out = Vec::new();
        let Ok(families) = std::fs::read_dir(&dir) else {
            return out;
        };
        for fam in families.flatten() {
            for f in std::fs::read_dir(fam.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(raw) = std::fs::read(f.path()) {
                    out.push((f.path(), raw));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn corpus_reads_through_the_plain_path_as_through_a_whole_parse() {
        let files = corpus();
        if files.is_empty() {
            eprintln!("no corpus at ../../shared/dsn-corpus/maildir: skipped");
            return;
        }
        let mut plain = 0;
        let mut same_as_whole = 0;
        for (path, raw) in &files {
            let (found, done) = crate::walk::walk(raw);
            if done.is_err() {
                continue;
            }
            if let Some(w) = walked(raw, &found) {
                plain += 1;
                let mine = Some(format!("{w:?}"));
                let today = mime::shortened(raw).map(|w| format!("{w:?}"));
                assert_eq!(mine, today, "{}", path.display());
                // Where today's path reads as mail-parser's whole parse (all but a few
                // attached messages holding a multipart, whose bytes it keeps otherwise).
                if today == mime::whole(raw).map(|w| format!("{w:?}")) {
                    same_as_whole += 1;
                }
            }
        }
        eprintln!(
            "{plain} of {} reports read without mail-parser, {same_as_whole} of them as a whole parse",
            files.len()
        );
        assert!(plain > 0);
    }

    /// mail-parser's addresses of the `From` field `value`, as (name, address) pairs.
    fn parser_addresses(value: &str) -> Vec<Addr> {
        mime::field_alone("From", value.as_bytes(), |m| {
            m.from()
                .map(|a| {
                    a.iter()
                        .map(|x| Addr {
                            name: x.name().map(str::to_string),
                            address: x.address().map(str::to_string),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap()
    }

    #[test]
    fn addresses_read_as_mail_parser_reads_them() {
        let plain = [
            " a@b.example\r\n",
            " <a@b.example>\n",
            " Mail Delivery System <MAILER-DAEMON@mx.example>\r\n",
            " Mail  Delivery\tSystem  <m@x.example>  \r\n",
            " MAILER-DAEMON@mx.example (Mail Delivery System)\r\n",
            " MAILER-DAEMON <>\r\n",
            " <>\r\n",
            " \"Neko, Nyaan\" <n@y.example>\r\n",
            " \" spaced \" <n@y.example>\r\n",
            " Foo \"Bar\" <x@y.example>\r\n",
            " \"a\" \"b\" (c) \"d\" <x@y.example>\r\n",
            " \"a@b.example\" <c@d.example>\r\n",
            " a@b.example, c@d.example,\r\n e@f.example\r\n",
            " a@b.example,,\r\n\tName <c@d.example> (note)\r\n",
            " postmaster\r\n",
            " postmaster (Mail System)\r\n",
            " Mail System (postmaster)\r\n",
            " (only a comment)\r\n",
            " foo bar@x.example\r\n",
            " <a@b.example> trailing\r\n",
            " <a@b.example (inside)>\r\n",
            " <a b@c.example>\r\n",
            " a@b.example >odd<\r\n",
            " x\r@y.example\r\n",
            " bounce+a=b@x.example\r\n",
            " Name\r\n <folded@x.example>\r\n",
            "",
            " \r\n",
        ];
        for v in plain {
            let mine = addresses(v.as_bytes());
            assert!(mine.is_some(), "{v:?} not read here");
            assert_eq!(mine.unwrap(), parser_addresses(v), "{v:?}");
        }
        // Left to mail-parser, which still reads them through the field alone.
        let odd = [
            " undisclosed-recipients:;\r\n",
            " list: a@b.example, c@d.example;\r\n",
            " =?utf-8?q?Mail_Delivery?= <m@x.example>\r\n",
            " \"a\\\"b\" <x@y.example>\r\n",
            " a@b.example (x (y))\r\n",
            " \"quoted\r\n line\" <x@y.example>\r\n",
            " Empf\u{e4}nger <x@y.example>\r\n",
            // More name tokens than a list holds here.
            " \"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\" \"i\" <x@y.example>\r\n",
        ];
        for v in odd {
            assert_eq!(addresses(v.as_bytes()), None, "{v:?}");
            let a = address_field("From", v.as_bytes()).unwrap();
            let want =
                mime::field_alone("From", v.as_bytes(), |m| mime::first_addr(m.from())).unwrap();
            assert_eq!(a.first.and_then(|f| f.address), want, "{v:?}");
        }
    }

    #[test]
    fn subjects_and_ids_read_as_mail_parser_reads_them() {
        for v in [
            " Undelivered Mail Returned to Sender\r\n",
            "   spaced   out  \t\r\n",
            " folded\r\n  subject\r\n\tagain\r\n",
            " \r\n",
            "",
            " a = b ?\r\n",
        ] {
            let want = mime::field_alone("Subject", v.as_bytes(), |m| {
                m.subject().unwrap_or_default().to_string()
            });
            assert_eq!(text(v.as_bytes()), want, "{v:?}");
        }
        for v in [" =?utf-8?q?caf=C3=A9?=\r\n", " caf\u{e9}\r\n"] {
            assert_eq!(text(v.as_bytes()), None, "{v:?}");
        }
        for v in [
            " <m@y.example>\r\n",
            "\r\n <m@y.example>\r\n",
            " <>\r\n",
            " \r\n",
        ] {
            let want = mime::field_alone("Message-ID", v.as_bytes(), |m| {
                m.message_id().map(str::to_string)
            })
            .unwrap();
            assert_eq!(message_id(v.as_bytes()), Some(want), "{v:?}");
        }
        for v in [" <a@b> <c@d>\r\n", " m@y.example\r\n", " <a b>\r\n"] {
            assert_eq!(message_id(v.as_bytes()), None, "{v:?}");
        }
    }

    /// A report with the top fields `top`, the part `extra` after its human-readable part, and
    /// an attached message whose header block is `returned`.
    fn report(top: &str, extra: &str, returned: &str) -> Vec<u8> {
        format!(
            "{top}Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSorry, no.\r\n{extra}--B\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; r@x.example\r\nStatus: 5.1.1\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n{returned}\r\nbody\r\n--B--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn reports_read_through_the_plain_path_or_not_as_through_a_whole_parse() {
        let top = "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: s@y.example\r\nSubject: Undelivered\r\nX-Failed-Recipients: r@x.example\r\n";
        let returned = "Received: from a\r\n\tby b\r\nTo: r@x.example\r\nFrom: s@y.example\r\nMessage-ID: <m@y.example>\r\n";
        // (top fields, extra part, returned header block, read on the plain path)
        let cases: Vec<(String, &str, String, bool)> = vec![
            (top.into(), "", returned.into(), true),
            // The fields read are found among odd lines, repeats and folds.
            (format!("From MAILER-DAEMON  Thu May 28 19:08:03 2009\r\nno colon here\r\n{top}"), "", returned.into(), true),
            (top.replace("To: s@y.example", "To: s@y.example\r\nTo: \"t, u\" <t@y.example>,\r\n v@y.example"), "", returned.into(), true),
            (top.replace("Undelivered", "=?utf-8?b?VW5kZWxpdmVyZWQ=?= mail"), "", returned.into(), true),
            (top.replace("Undelivered", "caf\u{e9}\r\n  folded"), "", returned.into(), true),
            (top.replace("Mail Delivery System <MAILER-DAEMON@mx.example>", "MAILER-DAEMON@mx.example (Mail Delivery System)"), "", returned.into(), true),
            (top.replace("To: s@y.example", "To: list: a@b.example, c@d.example;"), "", returned.into(), true),
            (top.replace("X-Failed", "Precedence: bulk\r\nList-Id:\r\n <l.example>\r\nX-Failed"), "", returned.into(), true),
            (top.into(), "", returned.replace("To: r@x.example", "To: undisclosed-recipients:;\r\nCc: \"R, X\" <r@x.example>"), true),
            (top.into(), "", returned.replace("To: r@x.example", "To: a@x.example\r\nTo: r@x.example\r\nX-HmXmrOriginalRecipient: <j@x.example>"), true),
            (top.into(), "", returned.replace("<m@y.example>", "<m@y.example> (comment)"), true),
            // An odd line mail-parser would read as a field read: the whole parse.
            (top.replace("X-Failed", "X-Mailer : odd\r\nX-Failed"), "", returned.into(), false),
            (format!("To : t@y.example\r\n{top}"), "", returned.into(), false),
            // A base64 text part or a transfer-encoded attached message: mail-parser decodes it.
            (top.into(), "--B\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nVXNlciB1bmtub3du\r\n", returned.into(), false),
            (top.into(), "--B\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nVG86IHJAeC5leGFtcGxlDQoNCmJvZHkNCg==\r\n", returned.into(), false),
            // Non-ASCII in a raw field kept, or in the returned X-HmXmrOriginalRecipient.
            (top.replace("X-Failed-Recipients: r@x.example", "X-Failed-Recipients: r\u{e9}@x.example"), "", returned.into(), false),
            (top.into(), "", format!("{returned}X-HmXmrOriginalRecipient: r\u{e9}@x.example\r\n"), false),
        ];
        for (top, extra, returned, on_plain) in &cases {
            let raw = report(top, extra, returned);
            let (found, done) = crate::walk::walk(&raw);
            assert_eq!(done, Ok(()), "{top:?}");
            assert_eq!(
                walked(&raw, &found).is_some(),
                *on_plain,
                "{top:?} {extra:?} {returned:?}"
            );
            let w = mime::walk(&raw).map(|w| format!("{w:?}"));
            assert_eq!(
                w,
                mime::whole(&raw).map(|w| format!("{w:?}")),
                "{top:?} {extra:?} {returned:?}"
            );
            assert_eq!(w, mime::shortened(&raw).map(|w| format!("{w:?}")));
        }
        // An odd line in a returned header block that mail-parser reads as a field read: left
        // to the shortened copy, which drops it (where a whole parse reads it as `To`).
        let raw = report(
            top,
            "",
            &returned.replace("To: r@x.example", "T o: r@x.example"),
        );
        let (found, done) = crate::walk::walk(&raw);
        assert_eq!(done, Ok(()));
        assert!(walked(&raw, &found).is_none());
        assert_eq!(
            mime::walk(&raw).map(|w| format!("{w:?}")),
            mime::shortened(&raw).map(|w| format!("{w:?}"))
        );
        // A single text, plain or quoted-printable (left to mail-parser).
        for (fields, on_plain) in [
            ("Content-Type: text/plain; charset=iso-8859-1\r\n", true),
            ("", true),
            ("Content-Type: text/html\r\n", true),
            (
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                false,
            ),
        ] {
            let mut raw = format!("{top}{fields}\r\n").into_bytes();
            raw.extend_from_slice(b"Empf\xe4nger <r@x.example> unbekannt\r\n550 5.1.1 =3D\r\n");
            let (found, done) = crate::walk::walk(&raw);
            assert_eq!(done, Ok(()));
            assert_eq!(walked(&raw, &found).is_some(), on_plain, "{fields:?}");
            let w = mime::walk(&raw).map(|w| format!("{w:?}"));
            assert_eq!(w, mime::whole(&raw).map(|w| format!("{w:?}")), "{fields:?}");
        }
    }

    #[test]
    fn damaged_reports_read_as_through_the_shortened_copy() {
        let report = report(
            "From: \"Mail, Delivery\" <MAILER-DAEMON@mx.example>\r\nTo: s@y.example,\r\n t@y.example\r\nSubject: =?utf-8?q?Undelivered?= now\r\n",
            "",
            "To: R (x) <r@x.example>\r\nMessage-ID: <m@y.example>\r\n",
        );
        let check = |raw: &[u8]| {
            let w = mime::walk(raw).map(|w| format!("{w:?}"));
            let today = mime::shortened(raw).map(|w| format!("{w:?}"));
            assert_eq!(w, today, "{:?}", String::from_utf8_lossy(raw));
        };
        for n in 0..=report.len() {
            check(&report[..n]);
            for b in [b'\n', b':', b'"', b' ', b'<', b'('] {
                let mut d = report.clone();
                if let Some(x) = d.get_mut(n) {
                    *x = b;
                }
                check(&d);
            }
        }
    }
}

//! RFC 822-style field blocks (`Name: value`, folded continuation lines, blocks separated by
//! blank lines): the syntax of `message/delivery-status` (RFC 3464 §2.1) and
//! `message/feedback-report` (RFC 5965). mail-parser hands these parts over as raw bytes, so
//! they are parsed here. Lenient: lines that are not fields are skipped, not errors.
use crate::scan::trim;
use std::borrow::Cow;

/// One field: lower-cased name and unfolded, trimmed value.
///
/// Both borrow from the text when it already has them as they are (a name written in lower
/// case, a value on one line): a `String` for each was ~10 of the ~70 allocations of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name in lower case (`final-recipient`).
    pub name: Cow<'a, str>,
    /// The value with folding removed (continuation lines joined by one space).
    pub value: Cow<'a, str>,
}

/// The field names the classifier reads (RFC 3464, RFC 5965, a returned message's header),
/// in lower case: a name written otherwise (`Final-Recipient`, as most reports do) is taken
/// from here instead of a lower-cased copy. Any other name is still lower-cased, so this
/// list changes no result, only what is allocated.
const KNOWN: &[&str] = &[
    "reporting-mta",
    "original-envelope-id",
    "final-recipient",
    "original-recipient",
    "action",
    "status",
    "remote-mta",
    "diagnostic-code",
    "arrival-date",
    "last-attempt-date",
    "received-from-mta",
    "will-retry-until",
    "feedback-type",
    "original-rcpt-to",
    "removal-recipient",
    "message-id",
    "to",
    "cc",
    "from",
];

impl<'a> Field<'a> {
    fn new(name: &'a str, value: &'a str) -> Self {
        let name = if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Borrowed(name)
        } else if let Some(k) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
            Cow::Borrowed(*k)
        } else {
            Cow::Owned(name.to_ascii_lowercase())
        };
        Field {
            name,
            value: Cow::Borrowed(trim(value)),
        }
    }

    /// Appends a continuation line (already trimmed) to the value.
    fn continue_with(&mut self, cont: &str) {
        let value = self.value.to_mut();
        if !value.is_empty() {
            value.push(' ');
        }
        value.push_str(cont);
    }
}

/// Splits `text` into blocks of fields. A block ends at a blank line; a line starting with
/// white space continues the previous field. Works for LF and CRLF.
pub fn blocks(text: &str) -> Vec<Vec<Field<'_>>> {
    blocks_upto(text, usize::MAX)
}

/// The first block of [`blocks`], reading no further than its end (a header block followed
/// by a long message body). The classifier uses [`first_block_of`]; this is its reference.
#[cfg(test)]
pub fn first_block(text: &str) -> Vec<Field<'_>> {
    blocks_upto(text, 1).pop().unwrap_or_default()
}

/// The fields of [`first_block`] whose name `read` accepts (in any case): the same block end,
/// the same values, without copying the fields nobody reads (a returned message's Received
/// chain and signatures).
pub fn first_block_of(text: &str, read: impl Fn(&str) -> bool) -> Vec<Field<'_>> {
    let mut cur: Vec<Field> = Vec::new();
    // A field was seen (the block has begun), and whether the last one is kept (its
    // continuation lines belong to it).
    let mut begun = false;
    let mut last_kept = false;
    for line in crate::scan::lines(text) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if trim(line).is_empty() {
            if begun {
                break;
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = cur.last_mut().filter(|_| last_kept) {
                last.continue_with(trim(line));
            }
            continue;
        }
        if let Some((name, value)) = split_field(line) {
            begun = true;
            last_kept = read(name);
            if last_kept {
                cur.push(Field::new(name, value));
            }
        }
    }
    cur
}

/// [`blocks`], stopping after `max` blocks.
fn blocks_upto(text: &str, max: usize) -> Vec<Vec<Field<'_>>> {
    let mut out: Vec<Vec<Field>> = Vec::new();
    let mut cur: Vec<Field> = Vec::new();
    for line in crate::scan::lines(text) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if trim(line).is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
                if out.len() >= max {
                    return out;
                }
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = cur.last_mut() {
                last.continue_with(trim(line));
            }
            continue;
        }
        if let Some((name, value)) = split_field(line) {
            cur.push(Field::new(name, value));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `Name: value` with a name of printable ASCII without spaces (RFC 5322 §2.2).
pub fn split_field(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let name = line.get(..colon)?;
    if name.is_empty() || name.len() > 76 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some((name, line.get(colon + 1..)?))
}

#[cfg(test)]
fn get<'a>(block: &'a [Field<'_>], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_ref())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_blocks_and_crlf() {
        let text = "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n  user unknown\r\nnot a field line\r\n\r\n\r\nFinal-Recipient: rfc822; c@d.example\n";
        let b = blocks(text);
        assert_eq!(b.len(), 3);
        assert_eq!(get(&b[0], "reporting-mta"), Some("dns; mx.example"));
        assert_eq!(
            get(&b[1], "diagnostic-code"),
            Some("smtp; 550 5.1.1 user unknown")
        );
        assert_eq!(get(&b[2], "final-recipient"), Some("rfc822; c@d.example"));
        assert_eq!(first_block(text), b[0]);
        assert_eq!(
            first_block("\n\nnot a field\n\nA: b\n\nC: d\n"),
            blocks("A: b\n")[0]
        );
        assert!(first_block("").is_empty());
        let some = "\nX: 1\n  one\nDiagnostic-Code: two\nnot a field\n  three\nx: 4\n\nA: b\n";
        let all = first_block(some);
        let kept: Vec<Field> = all.iter().filter(|f| f.name == "x").cloned().collect();
        assert_eq!(first_block_of(some, |n| n.eq_ignore_ascii_case("x")), kept);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].value, "1 one");
        // Known and unknown names, in any case, come out in lower case.
        let b = blocks("Final-RECIPIENT: a\nX-Odd-Name: b\nstatus: c\n");
        let names: Vec<&str> = b[0].iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["final-recipient", "x-odd-name", "status"]);
    }
}

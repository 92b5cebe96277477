//! Quoted-printable body parts from a template whose literal text is encoded once per
//! mailing.
//!
//! Why: encoding the filled ~40 KB of HTML and text of every message was the largest single
//! cost of sending (`perf`, figure 2: ~16 % of the sender's CPU, 70 µs a message), and almost
//! all of it is the same literal text each time. Each literal is encoded once, as if it
//! started a line; per message only the field values are encoded, and the pieces are joined:
//! a piece whose first line would not fit on the current line (76 characters, RFC 2045
//! §6.7) starts a new one after a soft line break (`=` CRLF). So the decoded text is exactly
//! the filled template and every line is within the limit; only where soft breaks fall
//! differs from encoding the filled text whole. (An escape is never split: each piece is
//! encoded whole.)
//!
//! A value with CR or LF in it (a multi-line CSV cell) could join a line break split across
//! two pieces, so such rows are filled first and encoded whole — the same result, slower.
use crate::template::{escape_html, Escape, Part, Template};
use encodify::qp;

/// The encoded pieces of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QpTemplate {
    template: Template,
    pieces: Vec<Piece>,
    /// The columns the template uses, each once: what `encode` checks for line breaks.
    fields: Vec<usize>,
    encoded_len: usize,
    /// A literal ends with CR: a value starting with LF would complete that line break.
    whole_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Encoded(Encoded),
    Field(usize),
}

/// A literal, encoded, with the lengths `Joined` needs (so nothing is searched per message).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Encoded {
    text: String,
    /// Length of its first line.
    first: usize,
    /// Length of its last line when it has more than one.
    last: Option<usize>,
}

impl Encoded {
    fn new(mut text: String) -> Encoded {
        fit_last_line(&mut text);
        let first = text.find("\r\n").unwrap_or(text.len());
        let last = text.rfind("\r\n").map(|at| text.len() - at - 2);
        Encoded { text, first, last }
    }
}

impl QpTemplate {
    /// Encodes the literals of `template` (an HTML or text template).
    pub fn new(template: &Template) -> QpTemplate {
        let mut pieces = Vec::with_capacity(template.parts().len());
        let mut whole_only = false;
        let n = template.parts().len();
        for (at, part) in template.parts().iter().enumerate() {
            match part {
                Part::Lit(s) => {
                    whole_only |= s.ends_with('\r');
                    let encoded = Encoded::new(encode_literal(s, at + 1 == n));
                    pieces.push(Piece::Encoded(encoded));
                }
                Part::Field(i) => pieces.push(Piece::Field(*i)),
            }
        }
        let encoded_len = pieces
            .iter()
            .map(|p| match p {
                Piece::Encoded(e) => e.text.len(),
                Piece::Field(_) => 0,
            })
            .sum();
        let mut fields: Vec<usize> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Field(i) => Some(*i),
                Piece::Encoded(_) => None,
            })
            .collect();
        fields.sort_unstable();
        fields.dedup();
        QpTemplate {
            template: template.clone(),
            pieces,
            fields,
            encoded_len,
            whole_only,
        }
    }

    /// The template this encodes.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The template filled with one row's `values`, quoted-printable encoded.
    pub fn encode(&self, values: &[String]) -> String {
        let value = |i: usize| values.get(i).map(String::as_str).unwrap_or_default();
        let multi_line = self.fields.iter().any(|&i| value(i).contains(['\r', '\n']));
        if self.whole_only || multi_line {
            return qp::BODY.encode(self.template.fill(values));
        }
        let mut out = Joined {
            text: String::with_capacity(self.encoded_len + 256),
            column: 0,
        };
        // Each field is encoded once per message however often the template uses it.
        let mut encoded: Vec<Option<String>> = vec![None; values.len()];
        let mut escaped = String::new();
        for p in &self.pieces {
            match p {
                Piece::Encoded(e) => out.push(e),
                Piece::Field(i) => {
                    let Some(slot) = encoded.get_mut(*i) else {
                        continue;
                    };
                    let e = slot.get_or_insert_with(|| match self.template.escape() {
                        Escape::Html => {
                            escaped.clear();
                            escape_html(value(*i), &mut escaped);
                            encode_value(&escaped)
                        }
                        Escape::Text | Escape::Header => encode_value(value(*i)),
                    });
                    out.push_value(e);
                }
            }
        }
        out.finish()
    }
}

/// Longest encoded line, soft-break `=` included (RFC 2045 §6.7).
const MAX_LINE: usize = 76;

/// Encoded pieces joined into lines of at most [`MAX_LINE`].
struct Joined {
    text: String,
    /// Length of the last (unfinished) line.
    column: usize,
}

impl Joined {
    /// Appends a literal (encoded as if it started a line), after a soft line break when its
    /// first line does not fit on the current one.
    fn push(&mut self, piece: &Encoded) {
        if piece.text.is_empty() {
            return;
        }
        // A first line that ends with a line break may use the whole line; one that stays
        // open must leave room for a soft break's `=`.
        let room = if piece.last.is_some() {
            MAX_LINE
        } else {
            MAX_LINE - 1
        };
        // A line may not end with an unescaped space or tab (decoders drop it): a soft break
        // after it keeps it.
        if self.column > 0
            && (self.column + piece.first > room || (piece.first == 0 && self.ends_blank()))
        {
            self.soft_break();
        }
        self.text.push_str(&piece.text);
        self.column = match piece.last {
            Some(last) => last,
            None => self.column + piece.text.len(),
        };
    }

    /// Appends an encoded value (one line, see [`encode_value`]), wrapped where it does not
    /// fit; an escape is never split.
    fn push_value(&mut self, encoded: &str) {
        let room = MAX_LINE - 1;
        if self.column + encoded.len() <= room {
            self.text.push_str(encoded);
            self.column += encoded.len();
            return;
        }
        if encoded.len() <= room {
            self.soft_break();
            self.text.push_str(encoded);
            self.column = encoded.len();
            return;
        }
        let bytes = encoded.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let width = if bytes[at] == b'=' { 3 } else { 1 };
            if self.column + width > room {
                self.soft_break();
            }
            self.text.push_str(&encoded[at..at + width]);
            self.column += width;
            at += width;
        }
    }

    fn soft_break(&mut self) {
        self.text.push_str("=\r\n");
        self.column = 0;
    }

    fn ends_blank(&self) -> bool {
        self.text.ends_with([' ', '\t'])
    }

    fn finish(mut self) -> String {
        if self.ends_blank() {
            self.soft_break();
        }
        self.text
    }
}

/// A value of one line (no CR or LF: `QpTemplate::encode` checked) quoted-printable encoded without line
/// breaks: `Joined::push_value` wraps it. Written out here because values are short and many:
/// the encoder's set-up per call cost more than the encoding (`perf`, figure 1). Spaces and
/// tabs stay as they are (`Joined` keeps them off line ends).
fn encode_value(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut run = 0;
    for (at, &b) in bytes.iter().enumerate() {
        if matches!(b, b' ' | b'\t' | b'!'..=b'<' | b'>'..=b'~') {
            continue;
        }
        out.extend_from_slice(&bytes[run..at]);
        out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        run = at + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    // ASCII by construction: every byte from 0x7F up was escaped.
    String::from_utf8(out).unwrap_or_default()
}

/// Makes the last line of an encoded literal short enough for a soft break after it (at
/// most `MAX_LINE - 1` characters), splitting it, never inside an escape.
fn fit_last_line(text: &mut String) {
    let start = text.rfind("\r\n").map_or(0, |at| at + 2);
    if text.len() - start < MAX_LINE {
        return;
    }
    let bytes = text.as_bytes();
    let mut cut = start + MAX_LINE - 2;
    if bytes[cut - 1] == b'=' {
        cut -= 1;
    } else if bytes[cut - 2] == b'=' {
        cut -= 2;
    }
    text.insert_str(cut, "=\r\n");
}

/// `text` encoded as if it started a line. Spaces and tabs at its end stay as they are
/// unless it is the template's `last` piece (the encoder escapes them, as they would end a
/// line; here something usually follows, and `Joined` takes care when nothing does) — so
/// the words before a merge field read `Guten Tag [Name]`, not `Guten Tag=20`.
fn encode_literal(text: &str, last: bool) -> String {
    let trimmed = text.trim_end_matches([' ', '\t']);
    let blanks = &text[trimmed.len()..];
    if last || blanks.is_empty() {
        return qp::BODY.encode(text);
    }
    let mut encoded = qp::BODY.encode(trimmed);
    let last_line = encoded.len() - encoded.rfind("\r\n").map_or(0, |at| at + 2);
    // Room is left for a soft break after the blanks.
    if last_line + blanks.len() < MAX_LINE {
        encoded.push_str(blanks);
        encoded
    } else {
        qp::BODY.encode(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_mailing::Place;

    /// Decodes with mail-parser, the parser the tests read messages with.
    fn decode(encoded: &str) -> String {
        let eml = format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{encoded}"
        );
        let msg = mail_parser::MessageParser::default()
            .parse(eml.as_bytes())
            .expect("parses");
        msg.body_text(0).expect("a text body").into_owned()
    }

    fn template(src: &str, escape: Escape) -> Template {
        let columns = ["Name".to_string(), "Stadt".to_string()];
        Template::parse(src, &columns, escape, Place::Html).expect("template")
    }

    fn check(src: &str, escape: Escape, values: &[&str]) {
        let t = template(src, escape);
        assert!(
            src.is_empty() || t.parts().iter().any(|p| matches!(p, Part::Field(_))),
            "no merge field in {src:?}"
        );
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let encoded = QpTemplate::new(&t).encode(&values);
        for line in encoded.split("\r\n") {
            assert!(line.len() <= 76, "line of {} chars: {line:?}", line.len());
            assert!(line.is_ascii(), "8-bit in {line:?}");
        }
        assert!(
            !encoded.replace("\r\n", "").contains(['\r', '\n']),
            "bare CR or LF in {encoded:?}"
        );
        // Line ends compared as LF: what a reader sees does not depend on them.
        let lf = |s: &str| s.replace("\r\n", "\n");
        assert_eq!(lf(&decode(&encoded)), lf(&t.fill(&values)), "{encoded}");
    }

    #[test]
    fn decodes_to_the_filled_template() {
        let long =
            "Sehr geehrte Damen und Herren, wir freuen uns über Ihr Interesse an unserem Angebot. "
                .repeat(4);
        check(
            &format!("<p class=\"x\">Hallo [Name] aus [Stadt]!</p>\r\n{long}\r\nEnde"),
            Escape::Html,
            &["Jürgen <Müller> & \"Söhne\"", "Köln"],
        );
        check(
            &format!("Hallo [Name],\n{long}[Stadt]   \nGrüße"),
            Escape::Text,
            &["Anna", "Berlin "],
        );
    }

    #[test]
    fn empty_values_and_values_at_the_ends() {
        check("[Name]", Escape::Text, &["", ""]);
        check("[Name][Stadt]", Escape::Text, &["a=b", " c "]);
        check("x [Name] y", Escape::Html, &["", "z"]);
        check("", Escape::Text, &["a", "b"]);
        // Blanks before a field that turns out empty, then a line end or the end.
        check("Hallo [Name]\r\nzwei", Escape::Text, &["", ""]);
        check("Hallo \t[Name]", Escape::Text, &["", ""]);
        check("Hallo [Name]\nzwei [Stadt]", Escape::Html, &["", ""]);
        check(
            &format!("{}  [Name]", "x".repeat(74)),
            Escape::Text,
            &["y", ""],
        );
    }

    #[test]
    fn blanks_before_a_field_stay_readable() {
        let t = template("Guten Tag [Name],", Escape::Text);
        let encoded = QpTemplate::new(&t).encode(&["Anna".into(), String::new()]);
        assert_eq!(encoded, "Guten Tag Anna,");
    }

    #[test]
    fn literals_and_values_of_every_length_around_the_line_limit() {
        for n in 60..=160 {
            let lit = "y".repeat(n);
            check(&format!("{lit}-[Name]-{lit}"), Escape::Text, &["wert", ""]);
            check(
                &format!("{lit}=[Name]ü"),
                Escape::Html,
                &[&"ö".repeat(n / 3), ""],
            );
            check(
                "[Name] [Stadt]",
                Escape::Text,
                &[&"v".repeat(n), &"=".repeat(n / 2)],
            );
        }
    }

    #[test]
    fn long_values_are_wrapped() {
        let v = "ä".repeat(200);
        check("Name: [Name].", Escape::Text, &[v.as_str(), ""]);
    }

    #[test]
    fn multi_line_values_and_split_line_breaks_decode_the_same() {
        check("a\r[Name]b", Escape::Text, &["\nzwei\r\nZeilen", ""]);
        check(
            "Adresse:\r\n[Name]\r\nEnde",
            Escape::Text,
            &["Weg 1\r\n12345 Ort", ""],
        );
        check("x [Name]\ny", Escape::Text, &["ends with CR\r", ""]);
    }
}

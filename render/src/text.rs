//! The plain-text alternative, derived from the HTML template once per mailing.
//!
//! Each merge field is swapped for a short placeholder of private-use characters before the
//! HTML goes through `html2text`, and swapped back afterwards; so the conversion runs once,
//! and per recipient only the fields are filled (as plain text, unescaped). Links are kept
//! as text (footnotes with the URL).
use crate::error::RenderError;
use crate::template::{Escape, Part, Template};

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
/// Wrap width of the text alternative.
pub const WIDTH: usize = 78;

/// Derives the text template from the HTML template parts (before style and cid changes).
pub fn derive(html_parts: &[Part]) -> Result<Template, RenderError> {
    let mut marked = String::new();
    for p in html_parts {
        match p {
            Part::Lit(s) => marked.push_str(s),
            Part::Field(i) => {
                marked.push(OPEN);
                marked.push_str(&i.to_string());
                marked.push(CLOSE);
            }
        }
    }
    let convert = |width: usize| {
        html2text::config::plain()
            // Newsletters are laid out with tables: borders would only be noise.
            .no_table_borders()
            .string_from_read(marked.as_bytes(), width)
            .map(|t| tidy(&t))
            .map_err(|e| RenderError::Text(e.to_string()))
    };
    let text = convert(WIDTH)?;
    // A placeholder inside a word longer than the width may have been broken by wrapping:
    // then convert without wrapping rather than lose a field.
    let parts = match split(&text) {
        Some(parts) => parts,
        None => split(&convert(100_000)?).ok_or_else(|| {
            RenderError::Text("a merge field was lost in the text conversion".into())
        })?,
    };
    Ok(Template::from_parts(parts, Escape::Text))
}

/// Removes the padding of table cells (trailing spaces) and runs of blank lines.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Splits converted text at placeholders; `None` when one is broken.
fn split(text: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(OPEN) {
        if open > 0 {
            parts.push(Part::Lit(rest[..open].to_string()));
        }
        let after = &rest[open + OPEN.len_utf8()..];
        let close = after.find(CLOSE)?;
        let index: usize = after[..close].parse().ok()?;
        parts.push(Part::Field(index));
        rest = &after[close + CLOSE.len_utf8()..];
    }
    if rest.contains(CLOSE) {
        return None;
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_survive_conversion_and_links_are_kept() {
        let parts = vec![
            Part::Lit("<html><head><style>p{color:red}</style></head><body><h1>Hallo ".into()),
            Part::Field(1),
            Part::Lit("!</h1><p>Ihre Nummer: <b>".into()),
            Part::Field(0),
            Part::Lit("</b>. <a href=\"https://shop.example/?k=".into()),
            Part::Field(0),
            Part::Lit("\">Zum Shop</a></p></body></html>".into()),
        ];
        let t = derive(&parts).unwrap();
        let out = t.fill(&["4711".into(), "Frau <Groß>".into()]);
        assert!(out.contains("Hallo Frau <Groß>!"), "{out}");
        assert!(out.contains("Ihre Nummer: **4711**"), "{out}");
        assert!(out.contains("https://shop.example/?k=4711"), "{out}");
        assert!(out.contains("Zum Shop"), "{out}");
        assert!(!out.contains("color:red"), "{out}");
    }

    #[test]
    fn broken_placeholders_are_detected() {
        assert!(split("a\u{E000}1").is_none());
        assert!(split("a\u{E001}").is_none());
        assert_eq!(split("x\u{E000}2\u{E001}y").unwrap().len(), 3);
    }
}

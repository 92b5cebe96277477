//! A template: literal text and column references, filled per row.
use crate::error::RenderError;
use mm_mailing::merge::{self, Segment};
use mm_mailing::Place;

/// How field values are written into a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// HTML: `& < > " '` become entities.
    Html,
    /// Plain text: values as they are.
    Text,
    /// A header: control characters (CR, LF, TAB, ...) become spaces, so a value can never
    /// start a new header line.
    Header,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// The value of this column.
    Field(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    escape: Escape,
    literal_len: usize,
}

impl Template {
    /// Parses `source`, resolving fields against `columns`.
    pub fn parse(
        source: &str,
        columns: &[String],
        escape: Escape,
        place: Place,
    ) -> Result<Template, RenderError> {
        let mut parts = Vec::new();
        for seg in merge::parse(source) {
            match seg {
                Segment::Text(t) => parts.push(Part::Lit(t.to_string())),
                Segment::Field(name) => match merge::resolve(name, columns) {
                    Some(i) => parts.push(Part::Field(i)),
                    None => {
                        return Err(RenderError::UnknownField {
                            field: name.to_string(),
                            place,
                        })
                    }
                },
            }
        }
        Ok(Template::from_parts(parts, escape))
    }

    /// A template from ready parts.
    pub fn from_parts(parts: Vec<Part>, escape: Escape) -> Template {
        let literal_len = parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.len(),
                Part::Field(_) => 0,
            })
            .sum();
        Template {
            parts,
            escape,
            literal_len,
        }
    }

    /// How values are written in.
    pub fn escape(&self) -> Escape {
        self.escape
    }

    /// The parts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Replaces `from` with `to` in every literal part.
    pub fn replace_literal(&mut self, from: &str, to: &str) {
        for p in &mut self.parts {
            if let Part::Lit(s) = p {
                if s.contains(from) {
                    *s = s.replace(from, to);
                }
            }
        }
        *self = Template::from_parts(std::mem::take(&mut self.parts), self.escape);
    }

    /// Fills the template with one row's values.
    pub fn fill(&self, values: &[String]) -> String {
        let mut out = String::with_capacity(self.literal_len + 64);
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Field(i) => {
                    let v = values.get(*i).map(String::as_str).unwrap_or_default();
                    match self.escape {
                        Escape::Html => escape_html(v, &mut out),
                        Escape::Text => out.push_str(v),
                        Escape::Header => out.push_str(v),
                    }
                }
            }
        }
        if self.escape == Escape::Header {
            out = clean_header(&out);
        }
        out
    }
}

/// Appends `v` with `& < > " '` escaped. Copies runs of plain text in one go: this runs for
/// every field of every message.
pub fn escape_html(v: &str, out: &mut String) {
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&v[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&v[start..]);
}

/// A header value without control characters: each run of them becomes one space, and the
/// ends are trimmed.
pub fn clean_header(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut in_ctrl = false;
    for c in v.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            if !in_ctrl {
                out.push(' ');
            }
            in_ctrl = true;
        } else {
            out.push(c);
            in_ctrl = false;
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<String> {
        ["Name", "Ort"].map(String::from).to_vec()
    }

    #[test]
    fn html_values_are_escaped() {
        let t = Template::parse(
            "<p>[Name] aus [Ort]</p>",
            &cols(),
            Escape::Html,
            Place::Html,
        )
        .unwrap();
        let v = [
            "<script>alert('x')</script> & \"Co\"".to_string(),
            "Köln".to_string(),
        ];
        assert_eq!(
            t.fill(&v),
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot; aus Köln</p>"
        );
    }

    #[test]
    fn header_values_lose_line_breaks() {
        let t = Template::parse("Hallo [Name]!", &cols(), Escape::Header, Place::Subject).unwrap();
        let v = [
            "Eve\r\nBcc: victim@example.com\r\n\tX".to_string(),
            String::new(),
        ];
        assert_eq!(t.fill(&v), "Hallo Eve Bcc: victim@example.com X!");
        assert_eq!(clean_header("\u{1b}[31m rot\u{7f}"), "[31m rot");
    }

    #[test]
    fn text_values_as_they_are() {
        let t = Template::parse("[Name] <[Ort]>", &cols(), Escape::Text, Place::Text).unwrap();
        assert_eq!(t.fill(&["A & B".into(), "<K>".into()]), "A & B <<K>>");
    }

    #[test]
    fn unknown_field_is_an_error() {
        let e = Template::parse("[Nachnmae]", &cols(), Escape::Text, Place::Subject).unwrap_err();
        assert_eq!(e.to_string(), "unknown merge field [Nachnmae] in subject");
    }
}

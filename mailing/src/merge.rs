//! Merge fields: `[Column]` in the subject, the HTML and the text body.
//!
//! # What counts as a merge field
//! `[` NAME `]` is a merge field when all of these hold; anything else is ordinary text and
//! is left exactly as written:
//! - NAME is 1–80 characters, begins and ends with a non-space character and contains at
//!   least one letter — so `[1]`, `[ ]`, `[…]`, `[*]` and `[12.3]` stay text;
//! - NAME holds no `[ ] < > { } = " \` and no control characters (line breaks, tabs) — so
//!   CSS/JS such as `[type=text]` and text spanning lines stay text;
//! - the `[` does not directly follow a letter or digit — so `a[href]`, `items[i]` and the
//!   German `Sehr geehrte[r]` stay text;
//! - the `[` does not directly follow `<!` or `<!--` — so Outlook's conditional comments
//!   `<!--[if mso]>…<![endif]-->` and `<![CDATA[` stay text.
//!
//! To show a literal bracketed word in HTML, write `&#91;Wort]`.
//!
//! A field matches a column by its header text, exactly or else ignoring case and
//! surrounding spaces.

/// The longest field name, in characters.
const MAX_NAME_CHARS: usize = 80;

/// A piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text copied as is.
    Text(&'a str),
    /// A merge field: the name between the brackets.
    Field(&'a str),
}

/// Splits `template` into text and merge fields.
pub fn parse(template: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut search = 0;
    let bytes = template.as_bytes();
    while let Some(off) = template[search..].find('[') {
        let open = search + off;
        search = open + 1;
        let Some(name) = field_at(template, open) else {
            continue;
        };
        if open > text_start {
            out.push(Segment::Text(&template[text_start..open]));
        }
        out.push(Segment::Field(name));
        text_start = open + 1 + name.len() + 1;
        search = text_start;
        debug_assert_eq!(bytes[text_start - 1], b']');
    }
    if text_start < template.len() {
        out.push(Segment::Text(&template[text_start..]));
    }
    out
}

/// The names of all merge fields in `template`, in order, with repeats.
pub fn fields(template: &str) -> impl Iterator<Item = &str> {
    parse(template).into_iter().filter_map(|s| match s {
        Segment::Field(name) => Some(name),
        Segment::Text(_) => None,
    })
}

/// The field name when a merge field starts at byte `open` (a `[`).
fn field_at(template: &str, open: usize) -> Option<&str> {
    let before = &template[..open];
    if before.ends_with("<!") || before.ends_with("<!--") {
        return None;
    }
    if before
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    let rest = &template[open + 1..];
    // Names are at most 80 characters: look no further (keeps parsing linear on "[[[[...").
    let (close, _) = rest
        .char_indices()
        .take(MAX_NAME_CHARS + 1)
        .find(|&(_, c)| c == ']')?;
    let name = &rest[..close];
    let ok = !name.is_empty()
        && !name.starts_with(char::is_whitespace)
        && !name.ends_with(char::is_whitespace)
        && name.chars().any(char::is_alphabetic)
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, '[' | '<' | '>' | '{' | '}' | '=' | '"' | '\\'));
    ok.then_some(name)
}

/// The column index a field name refers to: an exact match first, else the first column
/// whose header equals it ignoring case and surrounding spaces.
pub fn resolve(name: &str, columns: &[String]) -> Option<usize> {
    columns.iter().position(|c| c == name).or_else(|| {
        let want = name.trim().to_lowercase();
        columns.iter().position(|c| c.trim().to_lowercase() == want)
    })
}

/// The column most like `name` (for "did you mean"), when one is close enough.
pub fn suggest<'c>(name: &str, columns: &'c [String]) -> Option<&'c str> {
    let want: Vec<char> = name.to_lowercase().chars().collect();
    let limit = (want.len() / 3).clamp(1, 3);
    columns
        .iter()
        .map(|c| {
            (
                distance(&want, &c.to_lowercase().chars().collect::<Vec<_>>()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Optimal-string-alignment distance: Levenshtein plus swapped neighbours (`Nachnmae`).
fn distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::{Field, Text};

    #[test]
    fn fields_and_text() {
        assert_eq!(
            parse("Hallo [Anrede] [Nachname], Ihr [Ort]-Team"),
            [
                Text("Hallo "),
                Field("Anrede"),
                Text(" "),
                Field("Nachname"),
                Text(", Ihr "),
                Field("Ort"),
                Text("-Team")
            ]
        );
        assert_eq!(
            parse("[Vorname][Nachname]"),
            [Field("Vorname"), Field("Nachname")]
        );
        assert_eq!(parse("[E-Mail-Adresse]"), [Field("E-Mail-Adresse")]);
        assert_eq!(parse("[PLZ / Ort]"), [Field("PLZ / Ort")]);
        assert_eq!(
            parse("<a href=\"https://x.de/?k=[Kundennummer]\">"),
            [
                Text("<a href=\"https://x.de/?k="),
                Field("Kundennummer"),
                Text("\">")
            ]
        );
        assert_eq!(parse(""), []);
    }

    #[test]
    fn clearly_not_fields_stay_text() {
        for t in [
            "[1]",
            "[ ]",
            "[]",
            "[12.3]",
            "[*]",
            "[ Name]",
            "[Name ]",
            "a[href]",
            "input[type=text]",
            "Sehr geehrte[r] Kunde",
            "<!--[if mso]><table><![endif]-->",
            "<![CDATA[x]]>",
            "[zwei\nZeilen]",
            "[offen",
            "nur ] zu",
            "[<b>Name</b>]",
        ] {
            let segs = parse(t);
            assert!(segs.iter().all(|s| matches!(s, Text(_))), "{t}: {segs:?}");
            let joined: String = segs
                .iter()
                .map(|s| match s {
                    Text(x) | Field(x) => *x,
                })
                .collect();
            assert_eq!(joined, t, "text must be kept exactly");
        }
    }

    #[test]
    fn names_up_to_80_characters() {
        let ok = format!("[{}]", "ä".repeat(80));
        assert_eq!(parse(&ok).len(), 1);
        assert!(matches!(parse(&ok)[0], Field(_)));
        let long = format!("[{}]", "ä".repeat(81));
        assert_eq!(parse(&long), [Text(long.as_str())]);
        // Many open brackets stay text (and parsing stays fast).
        let many = "[".repeat(100_000);
        assert_eq!(parse(&many), [Text(many.as_str())]);
    }

    #[test]
    fn bracket_inside_brackets_finds_the_inner_field() {
        assert_eq!(parse("[[Name]]"), [Text("["), Field("Name"), Text("]")]);
    }

    #[test]
    fn resolve_exact_then_case_insensitive() {
        let cols: Vec<String> = ["Nachname", "nachname", "Ort"].map(String::from).to_vec();
        assert_eq!(resolve("nachname", &cols), Some(1));
        assert_eq!(resolve("ORT", &cols), Some(2));
        assert_eq!(resolve("Nachnmae", &cols), None);
    }

    #[test]
    fn suggestions() {
        let cols: Vec<String> = ["Nachname", "Vorname", "Firmenname", "Ort"]
            .map(String::from)
            .to_vec();
        assert_eq!(suggest("Nachnmae", &cols), Some("Nachname"));
        assert_eq!(suggest("Vornam", &cols), Some("Vorname"));
        assert_eq!(suggest("Firma", &cols), None);
        assert_eq!(suggest("Telefon", &cols), None);
    }
}

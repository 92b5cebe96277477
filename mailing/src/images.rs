//! Finding images in the HTML that name files in the mailing folder.
//!
//! `<img src="logo.png">` (and the old `background="bg.jpg"` attribute on tables) naming a
//! local file is sent as an inline `cid:` part; `http(s)://`, `//host`, `data:`, `cid:` and
//! absolute `/paths` are left alone, as are values holding a merge field.
use std::ops::Range;

/// One reference to a local file in the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Byte range of the attribute value in the HTML (without quotes).
    pub range: Range<usize>,
    /// The file name as it names a file: the value with `%XX` and `&amp;` decoded.
    pub file: String,
}

/// All references to local images in `html`, in order.
pub fn find(html: &str) -> Vec<ImageRef> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(off) = lower[pos..].find('<') {
        let start = pos + off;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        // Continue after this tag; an unterminated tag runs to the end of the text.
        pos = end.max(start + 1);
        let is_img =
            tag.starts_with("<img") && tag[4..].starts_with(|c: char| c.is_ascii_whitespace());
        let attrs: &[&str] = if is_img {
            &["src", "background"]
        } else {
            &["background"]
        };
        for attr in attrs {
            if let Some(range) = attribute(tag, attr) {
                let range = (start + range.start)..(start + range.end);
                let value = &html[range.clone()];
                if is_local(value) {
                    out.push(ImageRef {
                        file: decode(value),
                        range,
                    });
                }
            }
        }
    }
    out
}

/// Byte range of `name`'s value within `tag` (lowercase), without quotes.
fn attribute(tag: &str, name: &str) -> Option<Range<usize>> {
    let bytes = tag.as_bytes();
    let mut from = 0;
    while let Some(off) = tag[from..].find(name) {
        let at = from + off;
        from = at + name.len();
        let preceded = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let mut i = at + name.len();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if !preceded || bytes.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        return match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let close = tag[i + 1..]
                    .find(q as char)
                    .map_or(tag.len(), |c| i + 1 + c);
                Some(i + 1..close)
            }
            Some(_) => {
                let end = tag[i..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '/')
                    .map_or(tag.len(), |e| i + e);
                Some(i..end)
            }
            None => None,
        };
    }
    None
}

fn is_local(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    !(v.is_empty()
        || v.contains("://")
        || v.starts_with("//")
        || v.starts_with('/')
        || v.starts_with('#')
        || v.contains('[')
        || ["data:", "cid:", "mailto:", "http:", "https:"]
            .iter()
            .any(|p| lower.starts_with(p)))
}

/// Decodes `%XX` escapes and `&amp;` so `Logo%20gro%C3%9F.png` names `Logo groß.png`.
fn decode(value: &str) -> String {
    let v = value.trim().replace("&amp;", "&");
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            if let Ok(b) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_local_images_only() {
        let html = r#"<p><IMG alt="Logo" SRC="logo.png"><img src='bilder/team.jpg' width=10>
<img src="https://cdn.example.com/a.png"><img src="//cdn/x.gif"><img src="data:image/png;base64,AA">
<img src="cid:abc"><img src=/abs.png><img src="pixel.gif?id=[Kundennummer]">
<table background="bg.jpg"><td data-src="no.png"><img srcset="x.png 2x" src="Logo%20gro%C3%9F.png"></p>"#;
        let found: Vec<String> = find(html).into_iter().map(|r| r.file).collect();
        assert_eq!(
            found,
            ["logo.png", "bilder/team.jpg", "bg.jpg", "Logo groß.png"]
        );
        let first = &find(html)[0];
        assert_eq!(&html[first.range.clone()], "logo.png");
    }

    #[test]
    fn unquoted_and_unterminated_do_not_panic() {
        assert_eq!(find("<img src=logo.png>")[0].file, "logo.png");
        assert_eq!(find("<img src=\"logo.png")[0].file, "logo.png");
        assert!(find("<img src=").is_empty());
        assert!(find("<img").is_empty());
        assert_eq!(find("<img src=\"a%2\">")[0].file, "a%2");
    }
}

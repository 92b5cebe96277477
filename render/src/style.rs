//! The style tag (SPEC §6): the default CSS goes into `<head>` unless the HTML opts out with
//! `<!-- nostyle -->` — whitespace inside the comment is free, case does not matter, and the
//! typographic `<!– nostyle –>` (en dash, as word processors "correct" it) counts too.

/// True when `html` contains the opt-out comment.
pub fn has_nostyle(html: &str) -> bool {
    let lower = html.to_lowercase();
    let mut from = 0;
    while let Some(off) = lower[from..].find("nostyle") {
        let at = from + off;
        from = at + "nostyle".len();
        let before = lower[..at].trim_end();
        let after = lower[from..].trim_start();
        let opens = ["<!--", "<!–", "<!—", "<!-"]
            .iter()
            .any(|o| before.ends_with(o));
        let closes = ["-->", "–>", "—>", "->"]
            .iter()
            .any(|c| after.starts_with(c));
        if opens && closes {
            return true;
        }
    }
    false
}

/// Inserts `element` (e.g. a `<style>` element) into the head of `html`: right after
/// `<head ...>`, else in a new head right after `<html ...>`, else in a new head before
/// everything but a leading doctype.
pub fn insert_into_head(html: &str, element: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() + element.len() + 16);
    if let Some(end) = tag_end(&lower, "head") {
        out.push_str(&html[..end]);
        out.push_str(element);
        out.push_str(&html[end..]);
    } else if let Some(end) = tag_end(&lower, "html") {
        out.push_str(&html[..end]);
        out.push_str("<head>");
        out.push_str(element);
        out.push_str("</head>");
        out.push_str(&html[end..]);
    } else {
        let start = if lower.trim_start().starts_with("<!doctype") {
            lower.find('>').map_or(0, |e| e + 1)
        } else {
            0
        };
        out.push_str(&html[..start]);
        out.push_str("<head>");
        out.push_str(element);
        out.push_str("</head>");
        out.push_str(&html[start..]);
    }
    out
}

/// The byte offset just after the opening tag `<name ...>` (not `<header>` for `head`).
fn tag_end(lower: &str, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(off) = lower[from..].find(&open) {
        let at = from + off;
        from = at + open.len();
        match lower.as_bytes().get(from) {
            Some(b'>') => return Some(from + 1),
            Some(c) if c.is_ascii_whitespace() => {
                return lower[from..].find('>').map(|e| from + e + 1);
            }
            _ => continue,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nostyle_variants() {
        for h in [
            "<!-- nostyle -->",
            "<!--nostyle-->",
            "<p>x</p><!--   NoStyle\n -->",
            "<!– nostyle –>",
            "<!—nostyle—>",
        ] {
            assert!(has_nostyle(h), "{h}");
        }
        for h in [
            "<p>nostyle</p>",
            "<!-- no style -->",
            "<!-- nostyle please -->",
            "",
        ] {
            assert!(!has_nostyle(h), "{h}");
        }
    }

    #[test]
    fn head_found_or_created() {
        assert_eq!(
            insert_into_head("<html><HEAD lang=de><title>t</title></HEAD><body>", "<S>"),
            "<html><HEAD lang=de><S><title>t</title></HEAD><body>"
        );
        assert_eq!(
            insert_into_head("<html lang=\"de\"><header>x</header>", "<S>"),
            "<html lang=\"de\"><head><S></head><header>x</header>"
        );
        assert_eq!(
            insert_into_head("<!DOCTYPE html><p>Hallo</p>", "<S>"),
            "<!DOCTYPE html><head><S></head><p>Hallo</p>"
        );
        assert_eq!(
            insert_into_head("<p>Hallo</p>", "<S>"),
            "<head><S></head><p>Hallo</p>"
        );
    }
}

//! Rendering messages and parsing them back with mail-parser: structure, headers, fields,
//! escaping, attachments.
mod common;
use common::*;
use mail_parser::MimeHeaders;
use mm_mailing::Mailing;
use mm_render::{MessageIds, PreparedMailing, RenderError, RenderOptions};

const TOML: &str = r#"
title = "Frühjahr"
from = "Müller & Söhne GmbH <news@mueller.example>"
reply_to = "vertrieb@mueller.example"
report = "kunden.csv"
subject = "[Anrede] [Nachname], unsere Frühjahrsangebote"
attachments = ["Preisliste März.pdf"]
[headers]
"X-Kampagne" = "fruehjahr-[Kundennummer]"
"#;

const HTML: &str = r#"<html><head><title>News</title></head><body>
<img src="logo.png" alt="Logo">
<p>Guten Tag [Anrede] [Nachname],</p>
<p>Ihre Kundennummer: [Kundennummer]. <a href="https://shop.example/?k=[Kundennummer]">Zum Shop</a></p>
<img src="https://cdn.example/remote.png">
</body></html>"#;

fn columns() -> Vec<String> {
    ["Anrede", "Nachname", "Kundennummer", "E-Mail"]
        .map(String::from)
        .to_vec()
}

fn row(nachname: &str) -> Vec<String> {
    vec![
        "Frau".into(),
        nachname.into(),
        "4711".into(),
        "anna@remote.test".into(),
    ]
}

fn options() -> RenderOptions {
    RenderOptions {
        default_css: "p { color: #333; }".into(),
        unsubscribe_url: Some("https://news.example/u/{token}".into()),
        unsubscribe_mailto: Some("unsubscribe+{token}@bounces.example".into()),
        ..RenderOptions::default()
    }
}

fn ids() -> MessageIds {
    MessageIds {
        message_id: "tok123@bounces.example".into(),
        token: "tok123".into(),
        date: Some(1_700_000_000),
    }
}

fn prepared(root: &std::path::Path, toml: &str, html: &str) -> PreparedMailing {
    let dir = mailing(
        root,
        "fruehjahr",
        toml,
        &[
            ("body.html", html.as_bytes()),
            ("logo.png", PNG),
            ("Preisliste März.pdf", b"%PDF-1.4\n%%EOF\n"),
        ],
    );
    let m = Mailing::load(&dir).unwrap();
    assert!(
        m.validate(&columns()).is_empty(),
        "{:?}",
        m.validate(&columns())
    );
    PreparedMailing::new(&m, &columns(), &options()).unwrap()
}

#[test]
fn full_message_structure_headers_and_fields() {
    let root = tempfile::tempdir().unwrap();
    let p = prepared(root.path(), TOML, HTML);
    let eml = p.render(&row("Groß"), &ids()).unwrap();
    let msg = parse(&eml);

    assert_eq!(
        tree(&msg),
        "multipart/mixed[multipart/related[multipart/alternative[text/plain,text/html],image/png],application/pdf]"
    );
    assert_eq!(msg.subject(), Some("Frau Groß, unsere Frühjahrsangebote"));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Müller & Söhne GmbH"));
    assert_eq!(from.address(), Some("news@mueller.example"));
    assert_eq!(
        msg.to().unwrap().first().unwrap().address(),
        Some("anna@remote.test")
    );
    assert_eq!(
        msg.reply_to().unwrap().first().unwrap().address(),
        Some("vertrieb@mueller.example")
    );
    assert_eq!(msg.message_id(), Some("tok123@bounces.example"));
    assert_eq!(msg.date().unwrap().to_timestamp(), 1_700_000_000);
    assert_eq!(
        header(&msg, "List-Unsubscribe").as_deref(),
        Some("<https://news.example/u/tok123>, <mailto:unsubscribe+tok123@bounces.example>")
    );
    assert_eq!(
        header(&msg, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(header(&msg, "X-Mailing-Id").as_deref(), Some("fruehjahr"));
    assert_eq!(
        header(&msg, "X-Kampagne").as_deref(),
        Some("fruehjahr-4711")
    );

    let html = msg.body_html(0).unwrap().replace("\r\n", "\n");
    assert!(html.contains("Guten Tag Frau Groß,"), "{html}");
    assert!(html.contains("https://shop.example/?k=4711"), "{html}");
    assert!(
        html.contains("<style type=\"text/css\">\np { color: #333; }\n</style>"),
        "{html}"
    );
    assert!(
        html.contains("https://cdn.example/remote.png"),
        "remote images stay: {html}"
    );
    let img = msg
        .parts
        .iter()
        .find(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
        .unwrap();
    let cid = img
        .content_id()
        .unwrap()
        .trim_matches(|c| c == '<' || c == '>');
    assert!(cid.starts_with("img1."), "{cid}");
    assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");
    assert_eq!(img.contents(), PNG);

    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Guten Tag Frau Groß,"), "{text}");
    assert!(
        text.contains("https://shop.example/?k=4711"),
        "links kept as text: {text}"
    );
    assert!(!text.contains("color: #333"), "{text}");

    let att = msg
        .attachments()
        .find(|a| a.attachment_name() == Some("Preisliste März.pdf"))
        .unwrap();
    assert_eq!(att.contents(), b"%PDF-1.4\n%%EOF\n");
    let raw = String::from_utf8_lossy(&eml);
    assert!(
        raw.contains("filename*=UTF-8''Preisliste%20M%C3%A4rz.pdf"),
        "RFC 2231 name"
    );
    assert!(raw.lines().all(|l| l.len() <= 998));
    assert!(
        eml.windows(2)
            .filter(|w| w[1] == b'\n')
            .all(|w| w[0] == b'\r'),
        "CRLF only"
    );
}

#[test]
fn hostile_values_cannot_inject_headers_or_html() {
    let root = tempfile::tempdir().unwrap();
    let p = prepared(root.path(), TOML, HTML);
    let evil = "Eve\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>";
    let eml = p.render(&row(evil), &ids()).unwrap();
    let msg = parse(&eml);
    assert!(msg.header("Bcc").is_none(), "no injected header");
    assert_eq!(
        msg.subject(),
        Some(
            "Frau Eve Bcc: victim@example.com <script>alert(1)</script>, unsere Frühjahrsangebote"
        )
    );
    assert_eq!(
        tree(&msg).matches("text/html").count(),
        1,
        "the body did not move"
    );
    let html = msg.body_html(0).unwrap().replace("\r\n", "\n");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    // An address with a line break cannot add headers either.
    let mut r = row("X");
    r[3] = "a@b.de\r\nBcc: victim@example.com".into();
    let eml = p.render(&r, &ids()).unwrap();
    assert!(parse(&eml).header("Bcc").is_none());
}

#[test]
fn no_images_no_attachments_is_plain_alternative() {
    let root = tempfile::tempdir().unwrap();
    let toml = TOML.replace("attachments = [\"Preisliste März.pdf\"]", "");
    let p = prepared(root.path(), &toml, "<p>Hallo [Nachname]</p>");
    let msg_bytes = p.render(&row("Weiß"), &ids()).unwrap();
    let msg = parse(&msg_bytes);
    assert_eq!(tree(&msg), "multipart/alternative[text/plain,text/html]");
    let html = msg.body_html(0).unwrap().replace("\r\n", "\n");
    assert!(
        html.starts_with("<head><style"),
        "a head is created: {html}"
    );
    assert_eq!(msg.body_text(0).unwrap().trim(), "Hallo Weiß");
}

#[test]
fn nostyle_and_typographic_nostyle_skip_the_style() {
    let root = tempfile::tempdir().unwrap();
    for (i, html) in [
        "<!-- nostyle --><p>[Nachname]</p>",
        "<!– nostyle –><p>[Nachname]</p>",
    ]
    .iter()
    .enumerate()
    {
        let p = prepared(&root.path().join(i.to_string()), TOML, html);
        let msg_bytes = p.render(&row("A"), &ids()).unwrap();
        let html = parse(&msg_bytes).body_html(0).unwrap().into_owned();
        assert!(!html.contains("<style"), "{html}");
    }
}

#[test]
fn text_body_file_is_used_as_is() {
    let root = tempfile::tempdir().unwrap();
    let toml = TOML.replace("report =", "text = \"body.txt\"\nreport =");
    let dir = mailing(
        root.path(),
        "m",
        &toml,
        &[
            ("body.html", HTML.as_bytes()),
            ("body.txt", "Hallo [Nachname] & Co <x>".as_bytes()),
            ("logo.png", PNG),
            ("Preisliste März.pdf", b"x"),
        ],
    );
    let m = Mailing::load(&dir).unwrap();
    let p = PreparedMailing::new(&m, &columns(), &options()).unwrap();
    let eml = p.render(&row("<b>"), &ids()).unwrap();
    assert_eq!(parse(&eml).body_text(0).unwrap(), "Hallo <b> & Co <x>");
}

#[test]
fn unknown_field_and_wrong_row_are_errors() {
    let root = tempfile::tempdir().unwrap();
    let dir = mailing(
        root.path(),
        "m",
        &TOML.replace("[Nachname]", "[Nachnmae]"),
        &[("body.html", b"x"), ("Preisliste März.pdf", b"x")],
    );
    let m = Mailing::load(&dir).unwrap();
    let e = PreparedMailing::new(&m, &columns(), &options()).unwrap_err();
    assert_eq!(e.to_string(), "unknown merge field [Nachnmae] in subject");

    let p = prepared(root.path(), TOML, HTML);
    assert!(matches!(
        p.render(&["x".into()], &ids()),
        Err(RenderError::RowWidth {
            expected: 4,
            found: 1
        })
    ));
}

#[test]
fn html_preview_inlines_images() {
    let root = tempfile::tempdir().unwrap();
    let p = prepared(root.path(), TOML, HTML);
    let html = p.render_html_preview(&row("Groß")).unwrap();
    assert!(
        html.contains("src=\"data:image/png;base64,iVBORw0KGgo"),
        "{html}"
    );
    assert!(html.contains("Guten Tag Frau Groß,"));
    assert!(html.contains("<style"));
}

#[test]
fn without_unsubscribe_config_no_list_headers() {
    let root = tempfile::tempdir().unwrap();
    let dir = mailing(
        root.path(),
        "m",
        TOML,
        &[
            ("body.html", HTML.as_bytes()),
            ("logo.png", PNG),
            ("Preisliste März.pdf", b"x"),
        ],
    );
    let m = Mailing::load(&dir).unwrap();
    let p = PreparedMailing::new(&m, &columns(), &RenderOptions::default()).unwrap();
    let eml = p.render(&row("A"), &ids()).unwrap();
    let msg = parse(&eml);
    assert!(msg.header("List-Unsubscribe").is_none());
    assert!(msg.header("List-Unsubscribe-Post").is_none());
    assert!(
        !msg.body_html(0).unwrap().contains("<style"),
        "empty CSS adds no style"
    );
}

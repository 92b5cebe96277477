//! Loading mailing folders: files, path safety, merge-field validation, content hash.
use mm_mailing::{FileRole, Mailing, Place, Problem};
use std::path::Path;

fn mailing_dir(root: &Path, toml: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
    let dir = root.join("mailings/fruehjahr");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mailing.toml"), toml).unwrap();
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

const TOML: &str = r#"
title = "Frühjahr"
from = "Muster GmbH <news@muster.example>"
report = "kunden.csv"
subject = "Hallo [Anrede] [Nachnmae]"
attachments = ["Preisliste März.pdf"]
"#;

fn cols() -> Vec<String> {
    ["Anrede", "Nachname", "E-Mail"].map(String::from).to_vec()
}

#[test]
fn loads_files_images_and_attachments() {
    let root = tempfile::tempdir().unwrap();
    let dir = mailing_dir(
        root.path(),
        TOML,
        &[
            (
                "body.html",
                b"<img src=\"logo.png\"><p>[Anrede] [Nachname]</p><img src=\"logo.png\">",
            ),
            ("logo.png", b"\x89PNG"),
            ("Preisliste März.pdf", b"%PDF-1.4"),
        ],
    );
    let m = Mailing::load(&dir).unwrap();
    assert_eq!(m.id, "fruehjahr");
    assert_eq!(m.images.len(), 1, "the same image is loaded once");
    assert_eq!(m.images[0].content_type, "image/png");
    assert_eq!(m.attachments[0].file_name, "Preisliste März.pdf");
    assert_eq!(&*m.attachments[0].bytes, b"%PDF-1.4");
    assert_eq!(m.from.as_ref().unwrap().address, "news@muster.example");
    assert!(m.problems.is_empty(), "{:?}", m.problems);

    let problems = m.validate(&cols());
    assert_eq!(
        problems,
        [Problem::UnknownField {
            field: "Nachnmae".into(),
            place: Place::Subject,
            suggestion: Some("Nachname".into())
        }]
    );
    assert_eq!(
        problems[0].to_string(),
        "unknown merge field [Nachnmae] in subject (did you mean [Nachname]?)"
    );
}

#[test]
fn missing_and_escaping_files_are_problems() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("secret.pdf"), b"x").unwrap();
    let toml = TOML.replace(
        "[\"Preisliste März.pdf\"]",
        "[\"../../secret.pdf\", \"/etc/passwd\", \"fehlt.pdf\"]",
    ) + "reply_to = \"kein-mail\"\n[headers]\n\"X-Kampagne\" = \"[Kampagne]\"\n\"Subject\" = \"x\"\n";
    let dir = mailing_dir(
        root.path(),
        &toml,
        &[(
            "body.html",
            b"<img src=\"../logo.png\"><img src=\"weg.png\">",
        )],
    );
    let m = Mailing::load(&dir).unwrap();
    let p = &m.problems;
    assert!(
        p.contains(&Problem::OutsideFolder {
            role: FileRole::Attachment,
            path: "../../secret.pdf".into()
        }),
        "{p:?}"
    );
    assert!(
        p.contains(&Problem::OutsideFolder {
            role: FileRole::Attachment,
            path: "/etc/passwd".into()
        }),
        "{p:?}"
    );
    assert!(
        p.contains(&Problem::MissingFile {
            role: FileRole::Attachment,
            path: "fehlt.pdf".into()
        }),
        "{p:?}"
    );
    assert!(
        p.contains(&Problem::OutsideFolder {
            role: FileRole::Image,
            path: "../logo.png".into()
        }),
        "{p:?}"
    );
    assert!(
        p.contains(&Problem::MissingFile {
            role: FileRole::Image,
            path: "weg.png".into()
        }),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::BadAddress { key, .. } if key == "reply_to")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::BadHeader { name, .. } if name == "Subject")),
        "{p:?}"
    );
    assert!(m.attachments.is_empty());
    let all = m.validate(&cols());
    assert!(all.iter().any(|x| matches!(x, Problem::UnknownField { field, place: Place::Header(h), .. } if field == "Kampagne" && h == "X-Kampagne")), "{all:?}");
}

#[test]
fn missing_html_and_broken_toml() {
    let root = tempfile::tempdir().unwrap();
    let dir = mailing_dir(root.path(), TOML, &[("Preisliste März.pdf", b"x")]);
    let m = Mailing::load(&dir).unwrap();
    assert_eq!(
        m.problems,
        [Problem::MissingFile {
            role: FileRole::Html,
            path: "body.html".into()
        }]
    );

    let dir = mailing_dir(root.path(), "title = \"x\"\nfrom = \n", &[]);
    let e = Mailing::load(&dir).unwrap_err();
    assert!(e.to_string().contains("mailing.toml:2"), "{e}");
}

#[test]
fn content_hash_follows_content() {
    let root = tempfile::tempdir().unwrap();
    let files: &[(&str, &[u8])] = &[("body.html", b"<p>x</p>"), ("Preisliste März.pdf", b"v1")];
    let dir = mailing_dir(root.path(), TOML, files);
    let a = Mailing::load(&dir).unwrap().content_hash;
    assert_eq!(a, Mailing::load(&dir).unwrap().content_hash);
    assert_eq!(a.len(), 64);
    std::fs::write(dir.join("Preisliste März.pdf"), b"v2").unwrap();
    assert_ne!(a, Mailing::load(&dir).unwrap().content_hash);
}

#[test]
fn windows_1252_html_is_decoded() {
    let root = tempfile::tempdir().unwrap();
    let dir = mailing_dir(
        root.path(),
        TOML,
        &[
            ("body.html", b"<p>Gr\xFC\xDFe, [Nachname]</p>"),
            ("Preisliste März.pdf", b"x"),
        ],
    );
    let m = Mailing::load(&dir).unwrap();
    assert_eq!(m.html, "<p>Grüße, [Nachname]</p>");
    assert!(m.problems.is_empty(), "{:?}", m.problems);
}

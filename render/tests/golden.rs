//! Golden files: `tests/golden/<case>/` holds a mailing folder and `row.csv` (a report with
//! the recipient's row); the rendered message must equal `expected.eml` with MIME boundaries
//! normalised (Date and Message-ID are fixed by the test). On a mismatch the actual output is
//! written to `expected.eml.failed` beside it. `UPDATE_GOLDEN=1` rewrites the expected files
//! (review them before committing).
mod common;
use common::*;
use mail_parser::MimeHeaders;
use mm_mailing::{ColumnNames, Mailing, RecipientList};
use mm_render::{MessageIds, PreparedMailing, RenderOptions};
use std::path::Path;

fn render_case(dir: &Path) -> (String, String) {
    let mailing = Mailing::load(dir).unwrap();
    let mut list = RecipientList::open(&dir.join("row.csv"), &ColumnNames::default(), &[]).unwrap();
    let columns = list.columns().to_vec();
    assert!(
        mailing.validate(&columns).is_empty(),
        "{:?}",
        mailing.validate(&columns)
    );
    let row = list.next().unwrap().unwrap();
    let options = RenderOptions {
        default_css: "body { color: #222222; }".into(),
        unsubscribe_url: Some("https://news.muster-handel.test/abmelden/{token}".into()),
        unsubscribe_mailto: Some("abmelden+{token}@bounces.muster-handel.test".into()),
        ..RenderOptions::default()
    };
    let prepared = PreparedMailing::new(&mailing, &columns, &options).unwrap();
    let ids = MessageIds {
        message_id: "goldentoken@bounces.muster-handel.test".into(),
        token: "goldentoken".into(),
        date: Some(1_741_000_000),
    };
    let eml = prepared.render(&row.values, &ids).unwrap();
    let msg = parse(&eml);
    assert_eq!(
        msg.message_id(),
        Some("goldentoken@bounces.muster-handel.test")
    );
    assert_eq!(
        header(&msg, "X-Mailing-Id").as_deref(),
        Some(mailing.id.as_str())
    );
    assert_eq!(
        msg.to().and_then(|t| t.first()).and_then(|a| a.address()),
        Some(row.email.as_str())
    );
    let subject = msg.subject().unwrap_or_default();
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    for (a, f) in msg
        .attachments()
        .filter(|a| a.content_disposition().is_some_and(|d| d.is_attachment()))
        .zip(&mailing.attachments)
    {
        assert_eq!(a.attachment_name(), Some(f.file_name.as_str()));
        assert_eq!(a.contents(), &*f.bytes);
    }
    let text = String::from_utf8(eml.clone()).unwrap();
    (
        normalise_boundaries(&text).replace("\r\n", "\n"),
        tree(&msg),
    )
}

fn check(case: &str, expected_tree: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case);
    let (actual, tree) = render_case(&dir);
    assert_eq!(tree, expected_tree, "{case}: MIME structure");
    let expected_path = dir.join("expected.eml");
    let failed_path = dir.join("expected.eml.failed");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        std::fs::write(&failed_path, &actual).unwrap();
        panic!(
            "{case}: output differs from {}; actual written to {} (UPDATE_GOLDEN=1 to accept)",
            expected_path.display(),
            failed_path.display()
        );
    }
    let _ = std::fs::remove_file(failed_path);
}

#[test]
fn golden_newsletter() {
    check(
        "newsletter",
        "multipart/mixed[multipart/related[multipart/alternative[text/plain,text/html],image/png],application/pdf]",
    );
}

#[test]
fn golden_hostile_values() {
    check("hostile", "multipart/alternative[text/plain,text/html]");
}

#[test]
fn golden_text_body() {
    check("text-body", "multipart/alternative[text/plain,text/html]");
}

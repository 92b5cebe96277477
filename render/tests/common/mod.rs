//! Helpers shared by the render tests: a mailing folder on disk and MIME-tree inspection.
#![allow(dead_code)]
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use std::path::{Path, PathBuf};

/// A 1×1 PNG.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82";

/// Writes a mailing folder `root/<id>` with `mailing.toml` and files.
pub fn mailing(root: &Path, id: &str, toml: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mailing.toml"), toml).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    dir
}

pub fn parse(eml: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(eml)
        .expect("the rendered message parses")
}

/// The MIME tree as `type[child,child]`, e.g. `multipart/mixed[text/plain,application/pdf]`.
pub fn tree(msg: &Message<'_>) -> String {
    fn walk(msg: &Message<'_>, id: u32, out: &mut String) {
        let part = msg.part(id).unwrap();
        let ct = part
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_else(|| "text/plain".into());
        out.push_str(&ct);
        if let PartType::Multipart(children) = &part.body {
            out.push('[');
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                walk(msg, *c, out);
            }
            out.push(']');
        }
    }
    let mut out = String::new();
    walk(msg, 0, &mut out);
    out
}

pub fn header(msg: &Message<'_>, name: &str) -> Option<String> {
    msg.header_raw(name.to_string()).map(|v| {
        v.replace("\r\n ", " ")
            .replace("\r\n\t", " ")
            .trim()
            .to_string()
    })
}

/// Replaces MIME boundaries by `BOUNDARY-n` (in order of first appearance).
pub fn normalise_boundaries(eml: &str) -> String {
    let mut out = eml.to_string();
    let mut n = 0;
    let mut from = 0;
    while let Some(off) = out[from..].find("boundary=\"") {
        let start = from + off + "boundary=\"".len();
        let Some(len) = out[start..].find('"') else {
            break;
        };
        let b = out[start..start + len].to_string();
        from = start;
        if b.starts_with("BOUNDARY-") {
            continue;
        }
        n += 1;
        out = out.replace(&b, &format!("BOUNDARY-{n}"));
    }
    out
}

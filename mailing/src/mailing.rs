//! [`Mailing::load`]: a mailing folder read into memory once, with its problems.
use crate::images;
use crate::merge;
use crate::paths::{self, PathError};
use crate::problem::{FileRole, Place, Problem};
use crate::spec::{Mailbox, MailingSpec, RESERVED_HEADERS};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors that stop a mailing from being loaded at all. Everything else (a missing
/// attachment, a path leaving the folder, an unknown merge field) is a [`Problem`].
#[derive(Debug, thiserror::Error)]
pub enum MailingError {
    /// `mailing.toml` cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `mailing.toml` is not valid.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Toml {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// A file of the mailing, loaded once and shared (`Arc`) by every rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    /// The name as written in `mailing.toml` or the HTML (relative to the folder).
    pub name: String,
    /// The file name alone (the attachment's filename).
    pub file_name: String,
    /// MIME type from the extension.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Arc<[u8]>,
}

/// A mailing folder, loaded.
#[derive(Debug, Clone)]
pub struct Mailing {
    /// The id: the folder name.
    pub id: String,
    /// The folder.
    pub dir: PathBuf,
    /// `mailing.toml`.
    pub spec: MailingSpec,
    /// The HTML body (empty when it could not be read: see `problems`).
    pub html: String,
    /// The text body, when `text` is set and readable.
    pub text: Option<String>,
    /// Local images referenced by the HTML, each file once, in order of first use.
    pub images: Vec<FileContent>,
    /// Attachments, in the order of `attachments`.
    pub attachments: Vec<FileContent>,
    /// The sender.
    pub from: Option<Mailbox>,
    /// The Reply-To.
    pub reply_to: Option<Mailbox>,
    /// SHA-256 (hex) over `mailing.toml` and every content file: changes when anything the
    /// recipients would get changes (the report is not included).
    pub content_hash: String,
    /// Problems found while loading (files, addresses, headers); merge fields are checked
    /// by [`Mailing::validate`], which also returns these.
    pub problems: Vec<Problem>,
}

impl Mailing {
    /// Reads `dir/mailing.toml` and the files it names.
    pub fn load(dir: &Path) -> Result<Mailing, MailingError> {
        let toml_path = dir.join("mailing.toml");
        let toml_text = std::fs::read_to_string(&toml_path).map_err(|source| MailingError::Io {
            path: toml_path.clone(),
            source,
        })?;
        let spec: MailingSpec = toml::from_str(&toml_text).map_err(|e| MailingError::Toml {
            path: toml_path.clone(),
            line: e.span().map(|s| {
                toml_text[..s.start.min(toml_text.len())]
                    .matches('\n')
                    .count()
                    + 1
            }),
            message: e.message().trim().to_string(),
        })?;
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut problems = Vec::new();
        let mut hash = Sha256::new();
        hash_part(&mut hash, "mailing.toml", toml_text.as_bytes());

        let html = read_text(dir, &spec.html, FileRole::Html, &mut problems, &mut hash)
            .unwrap_or_default();
        let text = spec
            .text
            .as_ref()
            .and_then(|t| read_text(dir, t, FileRole::Text, &mut problems, &mut hash));

        let mut images: Vec<FileContent> = Vec::new();
        for r in images::find(&html) {
            if images.iter().any(|i| i.name == r.file) {
                continue;
            }
            if let Some(f) = read_file(dir, &r.file, FileRole::Image, &mut problems, &mut hash) {
                images.push(f);
            }
        }
        let attachments = spec
            .attachments
            .iter()
            .filter_map(|a| read_file(dir, a, FileRole::Attachment, &mut problems, &mut hash))
            .collect();

        let from = Mailbox::parse(&spec.from);
        if from.is_none() {
            problems.push(Problem::BadAddress {
                key: "from".into(),
                value: spec.from.clone(),
            });
        }
        let reply_to = spec.reply_to.as_ref().and_then(|r| {
            let m = Mailbox::parse(r);
            if m.is_none() {
                problems.push(Problem::BadAddress {
                    key: "reply_to".into(),
                    value: r.clone(),
                });
            }
            m
        });
        if spec.subject.trim().is_empty() {
            problems.push(Problem::EmptySubject);
        }
        for name in spec.headers.keys() {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                problems.push(Problem::BadHeader {
                    name: name.clone(),
                    message: "not a valid header name".into(),
                });
            } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str())
                || name.to_ascii_lowercase().starts_with("content-")
            {
                problems.push(Problem::BadHeader {
                    name: name.clone(),
                    message: "set by Mailing Manager itself".into(),
                });
            }
        }
        if spec.report.is_empty()
            || spec.report.contains(['/', '\\'])
            || spec.report.starts_with('.')
        {
            problems.push(Problem::OutsideFolder {
                role: FileRole::Report,
                path: spec.report.clone(),
            });
        }
        let content_hash = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Mailing {
            id,
            dir: dir.to_path_buf(),
            spec,
            html,
            text,
            images,
            attachments,
            from,
            reply_to,
            content_hash,
            problems,
        })
    }

    /// The report file in `reports_dir` (`DATA/reports`).
    pub fn report_path(&self, reports_dir: &Path) -> PathBuf {
        reports_dir.join(&self.spec.report)
    }

    /// The column-name overrides for the report.
    pub fn column_names(&self) -> &mm_report::ColumnNames {
        &self.spec.columns
    }

    /// Every problem: those found while loading plus unknown merge fields in the subject,
    /// the bodies and the headers, checked against the report's `columns`. Empty = ready.
    pub fn validate(&self, columns: &[String]) -> Vec<Problem> {
        let mut problems = self.problems.clone();
        let mut check = |template: &str, place: Place| {
            for field in merge::fields(template) {
                if merge::resolve(field, columns).is_none() {
                    let p = Problem::UnknownField {
                        field: field.to_string(),
                        place: place.clone(),
                        suggestion: merge::suggest(field, columns).map(String::from),
                    };
                    if !problems.contains(&p) {
                        problems.push(p);
                    }
                }
            }
        };
        check(&self.spec.subject, Place::Subject);
        check(&self.html, Place::Html);
        if let Some(text) = &self.text {
            check(text, Place::Text);
        }
        for (name, value) in &self.spec.headers {
            check(value, Place::Header(name.clone()));
        }
        problems
    }
}

fn hash_part(hash: &mut Sha256, name: &str, bytes: &[u8]) {
    hash.update((name.len() as u64).to_be_bytes());
    hash.update(name.as_bytes());
    hash.update((bytes.len() as u64).to_be_bytes());
    hash.update(bytes);
}

fn resolve(dir: &Path, name: &str, role: FileRole, problems: &mut Vec<Problem>) -> Option<PathBuf> {
    match paths::resolve(dir, name) {
        Ok(p) => Some(p),
        Err(PathError::Outside) => {
            problems.push(Problem::OutsideFolder {
                role,
                path: name.to_string(),
            });
            None
        }
        Err(PathError::Missing) => {
            problems.push(Problem::MissingFile {
                role,
                path: name.to_string(),
            });
            None
        }
        Err(PathError::Io(message)) => {
            problems.push(Problem::Unreadable {
                role,
                path: name.to_string(),
                message,
            });
            None
        }
    }
}

fn read_file(
    dir: &Path,
    name: &str,
    role: FileRole,
    problems: &mut Vec<Problem>,
    hash: &mut Sha256,
) -> Option<FileContent> {
    let path = resolve(dir, name, role, problems)?;
    match std::fs::read(&path) {
        Ok(bytes) => {
            hash_part(hash, name, &bytes);
            let file_name = Path::new(name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| name.to_string());
            Some(FileContent {
                name: name.to_string(),
                content_type: content_type(&file_name),
                file_name,
                bytes: bytes.into(),
            })
        }
        Err(e) => {
            problems.push(Problem::Unreadable {
                role,
                path: name.to_string(),
                message: e.to_string(),
            });
            None
        }
    }
}

fn read_text(
    dir: &Path,
    name: &str,
    role: FileRole,
    problems: &mut Vec<Problem>,
    hash: &mut Sha256,
) -> Option<String> {
    let file = read_file(dir, name, role, problems, hash)?;
    let bytes = file
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&file.bytes);
    // UTF-8, else Windows-1252 (HTML saved by Windows editors): never refuse readable text.
    Some(match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    })
}

/// The MIME type for a file name, by extension.
pub fn content_type(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "ics" => "text/calendar",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

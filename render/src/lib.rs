//! Rendering a mailing into one MIME message per recipient (SPEC §6).
//!
//! The work is split so that sending a million messages does the expensive parts once:
//! [`PreparedMailing::new`] resolves merge fields to column indexes, adds the style tag,
//! derives the text alternative, rewrites local images to `cid:`, quoted-printable encodes the
//! literal text of both bodies and base64-encodes images and attachments — once per mailing. [`PreparedMailing::render`] then only fills fields
//! and serialises.
//!
//! # Layout
//! - [`options`]: [`RenderOptions`] (config-level settings) and [`MessageIds`] (per message).
//! - [`template`]: a text split into literals and column references, filled per row with
//!   the escaping of its context (HTML, plain text, header).
//! - [`qp`]: the two text bodies as quoted-printable, their literals encoded once per
//!   mailing.
//! - [`style`]: `<!-- nostyle -->` detection and `<style>` injection.
//! - [`text`]: deriving the plain-text alternative from the HTML template.
//! - [`prepared`]: [`PreparedMailing`], the MIME tree and the HTML preview.
//! - [`error`]: the error type, [`RenderError`].
//!
//! # MIME structure
//! ```text
//! multipart/mixed                 (only with attachments)
//! ├── multipart/related           (only with local images)
//! │   ├── multipart/alternative
//! │   │   ├── text/plain
//! │   │   └── text/html           (<img src="cid:...">)
//! │   └── image/png               (Content-ID, inline)
//! └── application/pdf             (attachment; non-ASCII names per RFC 2231)
//! ```
//!
//! # Public API in short
//! ```no_run
//! # use mm_render::{PreparedMailing, RenderOptions, MessageIds};
//! # fn f(mailing: &mm_mailing::Mailing, columns: &[String], values: &[String]) -> Result<(), mm_render::RenderError> {
//! let prepared = PreparedMailing::new(mailing, columns, &RenderOptions::default())?;
//! let eml: Vec<u8> = prepared.render(values, &MessageIds::new("TOKEN@bounces.example", "TOKEN"))?;
//! let html: String = prepared.render_html_preview(values)?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod error;
pub mod options;
pub mod prepared;
pub mod qp;
pub mod style;
pub mod template;
pub mod text;

pub use error::RenderError;
pub use options::{MessageIds, RenderOptions};
pub use prepared::PreparedMailing;

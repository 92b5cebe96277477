//! [`PreparedMailing`]: everything per mailing done once; per recipient fill and serialise.
use crate::error::RenderError;
use crate::options::{MessageIds, RenderOptions};
use crate::qp::QpTemplate;
use crate::style;
use crate::template::{clean_header, Escape, Template};
use crate::text;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;
use mm_mailing::{FileContent, Mailing, Place, WellKnown};
use std::borrow::Cow;
use std::path::Path;

/// Where the `<style>` element goes before merge fields are parsed; replaced afterwards so
/// that CSS such as `a[href]` can never be taken for a merge field.
const STYLE_MARK: &str = "\u{E002}mm-style\u{E002}";

/// A file base64-encoded once, shared by every message.
#[derive(Debug, Clone)]
struct Encoded {
    content_type: &'static str,
    file_name: String,
    cid: String,
    /// Base64 in 76-character lines separated by CRLF, no trailing line break.
    base64: String,
}

/// A mailing ready to be rendered for many recipients.
#[derive(Debug, Clone)]
pub struct PreparedMailing {
    id: String,
    from: (Option<String>, String),
    reply_to: Option<(Option<String>, String)>,
    columns: usize,
    email: usize,
    subject: Template,
    /// The two body templates, their literals quoted-printable encoded once.
    html: QpTemplate,
    text: QpTemplate,
    headers: Vec<(String, Template)>,
    images: Vec<Encoded>,
    attachments: Vec<Encoded>,
    options: RenderOptions,
    /// Kept for the HTML preview, which inlines images as `data:` URIs.
    mailing: Mailing,
    column_names: Vec<String>,
}

impl PreparedMailing {
    /// Prepares `mailing` for rows of a report with these `columns`.
    ///
    /// Fails on what cannot be rendered: an unknown merge field, an invalid sender, a report
    /// without e-mail column. Files that failed to load (see `Mailing::problems`) are simply
    /// absent: callers that send must refuse a mailing with problems first.
    pub fn new(
        mailing: &Mailing,
        columns: &[String],
        options: &RenderOptions,
    ) -> Result<PreparedMailing, RenderError> {
        let from = mailing
            .from
            .as_ref()
            .ok_or_else(|| RenderError::BadSender(mailing.spec.from.clone()))?;
        let email = WellKnown::find(
            Path::new(&mailing.spec.report),
            columns,
            mailing.column_names(),
        )
        .map_err(|e| RenderError::Report(e.to_string()))?
        .email;
        let subject = Template::parse(
            &mailing.spec.subject,
            columns,
            Escape::Header,
            Place::Subject,
        )?;
        let text = match &mailing.text {
            Some(t) => Template::parse(t, columns, Escape::Text, Place::Text)?,
            None => {
                let plain = Template::parse(&mailing.html, columns, Escape::Html, Place::Html)?;
                text::derive(plain.parts())?
            }
        };
        let headers = mailing
            .spec
            .headers
            .iter()
            .map(|(name, value)| {
                Template::parse(value, columns, Escape::Header, Place::Header(name.clone()))
                    .map(|t| (name.clone(), t))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let short_hash = &mailing.content_hash[..mailing.content_hash.len().min(16)];
        let encode = |(n, f): (usize, &FileContent)| Encoded {
            content_type: f.content_type,
            file_name: f.file_name.clone(),
            cid: format!("img{}.{short_hash}@mailing-manager", n + 1),
            base64: base64_lines(&f.bytes),
        };
        let images: Vec<Encoded> = mailing.images.iter().enumerate().map(encode).collect();
        let attachments = mailing.attachments.iter().enumerate().map(encode).collect();
        let html = html_template(mailing, columns, options, |i| {
            format!("cid:{}", images[i].cid)
        })?;
        Ok(PreparedMailing {
            id: mailing.id.clone(),
            from: (from.name.clone(), from.address.clone()),
            reply_to: mailing
                .reply_to
                .as_ref()
                .map(|r| (r.name.clone(), r.address.clone())),
            columns: columns.len(),
            email,
            subject,
            html: QpTemplate::new(&html),
            text: QpTemplate::new(&text),
            headers,
            images,
            attachments,
            options: options.clone(),
            mailing: mailing.clone(),
            column_names: columns.to_vec(),
        })
    }

    /// The mailing id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The index of the e-mail column.
    pub fn email_column(&self) -> usize {
        self.email
    }

    /// The subject for a row (fields filled, control characters removed).
    pub fn subject(&self, values: &[String]) -> String {
        self.subject.fill(values)
    }

    /// The plain-text body for a row.
    pub fn text(&self, values: &[String]) -> String {
        self.text.template().fill(values)
    }

    /// The HTML body for a row, as sent (images as `cid:`).
    pub fn html(&self, values: &[String]) -> String {
        self.html.template().fill(values)
    }

    /// Builds the complete message (RFC 5322, CRLF line ends) for one row.
    pub fn render(&self, values: &[String], ids: &MessageIds) -> Result<Vec<u8>, RenderError> {
        if values.len() != self.columns {
            return Err(RenderError::RowWidth {
                expected: self.columns,
                found: values.len(),
            });
        }
        let to = clean_header(values[self.email].trim());
        let alternative = MimePart::new(
            "multipart/alternative",
            vec![
                MimePart::new("text/plain", self.text.encode(values))
                    .transfer_encoding("quoted-printable"),
                MimePart::new("text/html", self.html.encode(values))
                    .transfer_encoding("quoted-printable"),
            ],
        );
        let mut body = alternative;
        if !self.images.is_empty() {
            let mut parts = Vec::with_capacity(self.images.len() + 1);
            parts.push(body);
            parts.extend(self.images.iter().map(|i| {
                encoded_part(i)
                    .header(
                        "Content-Disposition",
                        ContentType::new("inline").attribute("filename", i.file_name.as_str()),
                    )
                    .cid(i.cid.as_str())
            }));
            body = MimePart::new(
                ContentType::new("multipart/related").attribute("type", "multipart/alternative"),
                parts,
            );
        }
        if !self.attachments.is_empty() {
            let mut parts = Vec::with_capacity(self.attachments.len() + 1);
            parts.push(body);
            parts.extend(
                self.attachments
                    .iter()
                    .map(|a| encoded_part(a).attachment(a.file_name.as_str())),
            );
            body = MimePart::new("multipart/mixed", parts);
        }

        let date = ids.date.unwrap_or_else(now);
        let mut builder = MessageBuilder::new()
            .from(Address::new_address(
                self.from.0.as_deref(),
                self.from.1.as_str(),
            ))
            .to(Address::new_address(None::<&str>, to))
            .subject(Text::new(self.subject.fill(values)))
            .date(Date::new(date))
            .message_id(MessageId::new(clean_header(&ids.message_id)));
        if let Some((name, addr)) = &self.reply_to {
            builder = builder.reply_to(Address::new_address(name.as_deref(), addr.as_str()));
        }
        if let Some(value) = self.list_unsubscribe(&ids.token) {
            builder = builder.header("List-Unsubscribe", Raw::new(value));
            if self
                .options
                .unsubscribe_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
            {
                // RFC 8058 one-click: only for an https URL.
                builder = builder.header(
                    "List-Unsubscribe-Post",
                    Raw::new("List-Unsubscribe=One-Click"),
                );
            }
        }
        builder = builder.header(
            self.options.mailing_header.as_str(),
            Text::new(clean_header(&self.id)),
        );
        for (name, template) in &self.headers {
            builder = builder.header(name.as_str(), Text::new(template.fill(values)));
        }
        let mut out = Vec::new();
        builder.body(body).serialize(&mut out);
        Ok(out)
    }

    /// The HTML body for a row as a browser shows it: style added, fields filled, local
    /// images inlined as `data:` URIs.
    pub fn render_html_preview(&self, values: &[String]) -> Result<String, RenderError> {
        if values.len() != self.columns {
            return Err(RenderError::RowWidth {
                expected: self.columns,
                found: values.len(),
            });
        }
        let t = html_template(&self.mailing, &self.column_names, &self.options, |i| {
            format!(
                "data:{};base64,{}",
                self.images[i].content_type,
                self.images[i].base64.replace("\r\n", "")
            )
        })?;
        Ok(t.fill(values))
    }

    fn list_unsubscribe(&self, token: &str) -> Option<String> {
        let token = clean_header(token);
        let mut items = Vec::new();
        if let Some(url) = &self.options.unsubscribe_url {
            items.push(format!(
                "<{}>",
                clean_header(&url.replace("{token}", &token))
            ));
        }
        if let Some(m) = &self.options.unsubscribe_mailto {
            let m = clean_header(&m.replace("{token}", &token));
            let m = m.strip_prefix("mailto:").unwrap_or(&m);
            items.push(format!("<mailto:{m}>"));
        }
        (!items.is_empty()).then(|| items.join(", "))
    }
}

/// The HTML template: local image sources replaced by `src_for(image index)`, the style
/// element added unless `<!-- nostyle -->`, merge fields resolved.
fn html_template(
    mailing: &Mailing,
    columns: &[String],
    options: &RenderOptions,
    src_for: impl Fn(usize) -> String,
) -> Result<Template, RenderError> {
    let src = &mailing.html;
    let mut html = String::with_capacity(src.len() + 256);
    let mut at = 0;
    for r in mm_mailing::images::find(src) {
        if let Some(i) = mailing.images.iter().position(|f| f.name == r.file) {
            html.push_str(&src[at..r.range.start]);
            html.push_str(&src_for(i));
            at = r.range.end;
        }
    }
    html.push_str(&src[at..]);
    let css = options.default_css.trim();
    let styled = !css.is_empty() && !style::has_nostyle(src);
    if styled {
        html = style::insert_into_head(&html, STYLE_MARK);
    }
    let mut t = Template::parse(&html, columns, Escape::Html, Place::Html)?;
    if styled {
        t.replace_literal(
            STYLE_MARK,
            &format!("<style type=\"text/css\">\n{css}\n</style>"),
        );
    }
    Ok(t)
}

fn encoded_part(e: &Encoded) -> MimePart<'_> {
    let mut ct = ContentType::new(e.content_type);
    if !e.content_type.starts_with("image/") {
        ct = ct.attribute("name", e.file_name.as_str());
    }
    MimePart::new(ct, BodyPart::Binary(Cow::Borrowed(e.base64.as_bytes())))
        .transfer_encoding("base64")
}

/// Base64 in 76-character lines joined by CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    let flat = data_encoding::BASE64.encode(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 76 * 2);
    for (i, chunk) in flat.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        // Base64 output is ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

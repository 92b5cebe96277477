//! Settings for rendering: per daemon ([`RenderOptions`]) and per message ([`MessageIds`]).

/// Config-level settings (`[content]` of the daemon config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// CSS put into a `<style>` element unless the HTML says `<!-- nostyle -->`; empty = none.
    pub default_css: String,
    /// `List-Unsubscribe` URL; `{token}` in it is replaced by [`MessageIds::token`].
    pub unsubscribe_url: Option<String>,
    /// `List-Unsubscribe` mailto address; `{token}` is replaced likewise.
    pub unsubscribe_mailto: Option<String>,
    /// The header naming the mailing, default `X-Mailing-Id`.
    pub mailing_header: String,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            default_css: String::new(),
            unsubscribe_url: None,
            unsubscribe_mailto: None,
            mailing_header: "X-Mailing-Id".into(),
        }
    }
}

/// What identifies one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIds {
    /// Message-ID without angle brackets: `<token>@<bounce domain>`.
    pub message_id: String,
    /// The recipient's VERP token (for `{token}` in unsubscribe links).
    pub token: String,
    /// Date header, seconds since the Unix epoch; `None` = now.
    pub date: Option<i64>,
}

impl MessageIds {
    /// Ids with the current date.
    pub fn new(message_id: impl Into<String>, token: impl Into<String>) -> Self {
        MessageIds {
            message_id: message_id.into(),
            token: token.into(),
            date: None,
        }
    }
}

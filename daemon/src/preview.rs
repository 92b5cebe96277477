//! Rendering one recipient's message inside the daemon: the API's preview (HTML with images
//! inlined, or the `.eml` exactly as it would be sent) and test mail (SPEC §7: rendered for
//! one recipient's row, sent to another address through the relay, no recipient state
//! changes; the envelope sender carries no token, so a bounce of a test mail is never
//! attributed to a recipient).
use crate::api::ApiError;
use crate::app::App;
use mm_render::{MessageIds, PreparedMailing, RenderOptions};
use mm_store::Recipient;
use serde::Serialize;

/// The render options from the current `[content]` config.
pub fn options(app: &App) -> RenderOptions {
    let c = app.config();
    RenderOptions {
        default_css: c.content.default_css.clone(),
        unsubscribe_url: c.content.unsubscribe_url.clone(),
        unsubscribe_mailto: c.content.unsubscribe_mailto.clone(),
        ..RenderOptions::default()
    }
}

/// The loaded mailing, its columns and the row to render (the recipient with this address, or
/// the first ticked row, else the first row).
fn prepare(
    app: &App,
    id: &str,
    recipient: Option<&str>,
) -> Result<(PreparedMailing, mm_store::Mailing, Recipient), ApiError> {
    let store = app.store();
    let record = store
        .mailing(id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("unknown mailing {id:?}")))?;
    let entry = app.catalog().entry(id);
    let Some(mailing) = entry.as_ref().and_then(|e| e.mailing.clone()) else {
        let why = entry
            .and_then(|e| e.error)
            .unwrap_or_else(|| "not loaded".into());
        return Err(ApiError::conflict(format!(
            "mailing {id:?} cannot be rendered: {why}"
        )));
    };
    let row = match recipient {
        Some(addr) => {
            let rows = store
                .rows_by_email(record.number, addr)
                .map_err(ApiError::internal)?;
            let Some(row) = rows.first() else {
                return Err(ApiError::not_found(format!(
                    "mailing {id:?} has no recipient {addr:?}"
                )));
            };
            store
                .recipient(record.number, *row)
                .map_err(ApiError::internal)?
        }
        None => {
            let mut first = None;
            let mut ticked = None;
            for r in store.recipients(record.number) {
                let r = r.map_err(ApiError::internal)?;
                if r.send {
                    ticked = Some(r);
                    break;
                }
                if first.is_none() {
                    first = Some(r);
                }
            }
            ticked.or(first)
        }
    };
    let Some(row) = row else {
        return Err(ApiError::conflict(format!(
            "mailing {id:?} has no recipients to render for"
        )));
    };
    let prepared = PreparedMailing::new(&mailing, &record.columns, &options(app))
        .map_err(|e| ApiError::conflict(format!("mailing {id:?} cannot be rendered: {e}")))?;
    Ok((prepared, record, row))
}

/// The preview: HTML with images inlined, or the complete message (`eml`).
pub fn render(
    app: &App,
    id: &str,
    recipient: Option<&str>,
    eml: bool,
) -> Result<Vec<u8>, ApiError> {
    let (prepared, record, row) = prepare(app, id, recipient)?;
    if eml {
        let token = app.verp().sign(record.number, row.row);
        let ids = MessageIds::new(
            token.message_id(&app.config().bounce.domain),
            token.to_string(),
        );
        prepared
            .render(&row.fields, &ids)
            .map_err(|e| ApiError::conflict(format!("cannot render: {e}")))
    } else {
        prepared
            .render_html_preview(&row.fields)
            .map(String::into_bytes)
            .map_err(|e| ApiError::conflict(format!("cannot render: {e}")))
    }
}

/// What a test mail did.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct TestOutcome {
    /// Where it went.
    pub to: String,
    /// Whose row it was rendered with.
    pub rendered_as: String,
    /// `accepted`, `rejected`, `deferred` or `unreachable`.
    pub result: String,
    /// The relay's reply.
    pub reply: String,
    /// The relay's queue id, when accepted.
    pub queue_id: Option<String>,
}

/// Sends a test mail of `id` rendered for `as_recipient` (default: the first ticked row) to
/// `to`. A refusal by the relay is reported in the outcome (HTTP 200); an unreachable relay is
/// 503.
pub async fn send_test(
    app: &App,
    id: &str,
    to: &str,
    as_recipient: Option<&str>,
) -> Result<TestOutcome, ApiError> {
    let (id2, as2) = (id.to_string(), as_recipient.map(String::from));
    let (prepared, row) = app
        .blocking(move |app| {
            let (prepared, _record, row) = prepare(app, &id2, as2.as_deref())?;
            Ok::<_, ApiError>((prepared, row))
        })
        .await
        .map_err(ApiError::internal)??;
    let rendered_as = row.email.clone();
    let Some(pool) = app.pool() else {
        return Err(ApiError::unavailable("the sender is not running"));
    };
    let outcome = mm_send::send_test(pool, &prepared, &row.fields, to, &crate::sender::verp(app))
        .await
        .map_err(|e| ApiError::conflict(format!("cannot render: {e}")))?;
    tracing::info!(mailing = id, to, rendered_as = %rendered_as, outcome = %outcome.reply_line(), "test mail");
    let (result, queue_id) = match &outcome {
        mm_send::Outcome::Accepted { queue_id, .. } => ("accepted", queue_id.clone()),
        mm_send::Outcome::Rejected { .. } => ("rejected", None),
        mm_send::Outcome::Deferred { .. } => ("deferred", None),
        mm_send::Outcome::Unreachable { text } => {
            return Err(ApiError::unavailable(format!("relay unreachable: {text}")))
        }
    };
    Ok(TestOutcome {
        to: to.to_string(),
        rendered_as,
        result: result.to_string(),
        reply: outcome.reply_line(),
        queue_id,
    })
}

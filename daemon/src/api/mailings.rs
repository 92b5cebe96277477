//! `GET /api/mailings`, `GET /api/mailings/{id}`, `POST .../send`, `POST .../copy`,
//! `GET .../preview`, `POST .../test`, and `GET /api/status`.
use super::error::ApiError;
use super::views::MailingView;
use super::{blocking, store_error};
use crate::app::App;
use crate::mailings::SendRefused;
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

/// The view of store mailing `m`, with the catalog's fresher problems.
pub fn view(app: &App, m: mm_store::Mailing, detail: bool) -> Result<MailingView, ApiError> {
    let counts = app.store().counts(m.number).map_err(store_error)?;
    let entry = app.catalog().entry(&m.id);
    let (problems, error, frozen_edit) = match &entry {
        Some(e) if m.state == mm_domain::MailingState::Draft => {
            (e.problems.clone(), e.error.clone(), None)
        }
        Some(e) => (Vec::new(), e.error.clone(), e.frozen_edit.clone()),
        None => (m.problems.clone(), None, None),
    };
    let spec = entry
        .as_ref()
        .and_then(|e| e.mailing.as_ref())
        .map(|m| &m.spec);
    let progress = app
        .progress(&m.id)
        .filter(|_| m.state == mm_domain::MailingState::Sending)
        .and_then(|p| serde_json::to_value(p.snapshot()).ok());
    Ok(MailingView {
        total: counts.total(),
        counts,
        id: m.id,
        number: m.number,
        title: m.title,
        state: m.state,
        report: m.report,
        problems,
        error,
        frozen_edit,
        send_requested: m.send_requested,
        send_started: m.send_started,
        finished: m.finished,
        progress,
        merge_fields: detail.then_some(m.columns),
        subject: spec.filter(|_| detail).map(|s| s.subject.clone()),
        from: spec.filter(|_| detail).map(|s| s.from.clone()),
        documents: spec.filter(|_| detail).map(|s| s.documents),
    })
}

/// The store record of `id`, or 404.
pub fn record(app: &App, id: &str) -> Result<mm_store::Mailing, ApiError> {
    app.store()
        .mailing(id)
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("unknown mailing {id:?}")))
}

/// `GET /api/mailings`
pub async fn list(app: App) -> Result<Response, ApiError> {
    blocking(&app, |app| {
        let mut out = Vec::new();
        for m in app.store().mailings().map_err(store_error)? {
            out.push(view(app, m, false)?);
        }
        Ok(warp::reply::json(&json!({ "mailings": out })).into_response())
    })
    .await
}

/// `GET /api/mailings/{id}`
pub async fn get(app: App, id: String) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let m = record(app, &id)?;
        Ok(warp::reply::json(&view(app, m, true)?).into_response())
    })
    .await
}

/// `POST /api/mailings/{id}/send`: 202 when the send started; 409 with the problems when the
/// mailing does not validate or is not a draft.
pub async fn send(app: App, id: String) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        match crate::mailings::start_send(app, &id) {
            Ok(()) => {}
            Err(SendRefused::Unknown(id)) => {
                return Err(ApiError::not_found(format!("unknown mailing {id:?}")))
            }
            Err(SendRefused::Invalid { id, problems }) => {
                return Err(ApiError::conflict(format!(
                    "mailing {id:?} cannot be sent: {} problem(s)",
                    problems.len()
                ))
                .with_problems(problems));
            }
            Err(e @ SendRefused::NotDraft { .. }) => return Err(ApiError::conflict(e.to_string())),
            Err(SendRefused::Store(e)) => return Err(store_error(e)),
        }
        let m = record(app, &id)?;
        Ok(warp::reply::with_status(
            warp::reply::json(&view(app, m, false)?),
            StatusCode::ACCEPTED,
        )
        .into_response())
    })
    .await
}

/// Body of `POST .../copy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyBody {
    /// The new mailing's id (folder name).
    pub id: String,
    /// Another report file name.
    #[serde(default)]
    pub report: Option<String>,
}

/// `POST /api/mailings/{id}/copy`: 201 with the new draft.
pub async fn copy(app: App, id: String, body: CopyBody) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        crate::copy::copy_mailing(app, &id, &body.id, body.report.as_deref())?;
        let m = record(app, &body.id)?;
        Ok(
            warp::reply::with_status(warp::reply::json(&view(app, m, true)?), StatusCode::CREATED)
                .into_response(),
        )
    })
    .await
}

/// Query of `GET .../preview`.
#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    /// Render for this address (default: the first row that is sent to, else the first row).
    pub recipient: Option<String>,
    /// `eml` for the complete message; default the HTML with images inlined.
    pub format: Option<String>,
}

/// `GET /api/mailings/{id}/preview?recipient=EMAIL[&format=eml]`
pub async fn preview(app: App, id: String, q: PreviewQuery) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let eml = match q.format.as_deref() {
            None | Some("html") => false,
            Some("eml") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "format {other:?}: use html or eml"
                )))
            }
        };
        let rendered = crate::preview::render(app, &id, q.recipient.as_deref(), eml)?;
        let ctype = if eml {
            "message/rfc822"
        } else {
            "text/html; charset=utf-8"
        };
        Ok(warp::reply::with_header(rendered, "content-type", ctype).into_response())
    })
    .await
}

/// Body of `POST .../test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// Where to send the test mail.
    pub to: String,
    /// Render with this recipient's row.
    #[serde(default, rename = "as")]
    pub as_recipient: Option<String>,
}

/// `POST /api/mailings/{id}/test`: sends one test mail; no recipient state changes.
pub async fn test(app: App, id: String, body: TestBody) -> Result<Response, ApiError> {
    if !mm_mailing::address::is_valid(body.to.trim()) {
        return Err(ApiError::bad_request(format!(
            "\"to\": {:?} is not an e-mail address",
            body.to
        )));
    }
    let outcome =
        crate::preview::send_test(&app, &id, body.to.trim(), body.as_recipient.as_deref()).await?;
    Ok(warp::reply::json(&outcome).into_response())
}

/// `GET /api/status`: the daemon at a glance.
pub async fn status(app: App) -> Result<Response, ApiError> {
    blocking(&app, |app| {
        let store = app.store();
        let mut by_state = std::collections::BTreeMap::new();
        let mut by_status = std::collections::BTreeMap::new();
        for m in store.mailings().map_err(store_error)? {
            *by_state.entry(m.state.to_string()).or_insert(0u64) += 1;
            for (s, n) in store.counts(m.number).map_err(store_error)?.0 {
                *by_status.entry(s.to_string()).or_insert(0u64) += n;
            }
        }
        let health: std::collections::BTreeMap<_, _> = crate::health::Component::ALL
            .iter()
            .map(|c| (c.name(), app.health().is_up(*c)))
            .collect();
        Ok(warp::reply::json(&json!({
            "version": env!("CARGO_PKG_VERSION"),
            "health": health,
            "mailings": by_state,
            "recipients": by_status,
            "reports": app.catalog().reports(),
            "forged_reports": store.counter(mm_store::FORGED_REPORTS).map_err(store_error)?,
            "shutting_down": app.lifecycle().is_shutting_down(),
        }))
        .into_response())
    })
    .await
}

//! `GET .../recipients` (paged), `GET .../recipients.csv`, `PATCH .../recipients/{email}`,
//! `GET .../recipients/{email}/report`.
use super::error::ApiError;
use super::mailings::record;
use super::views::{RecipientPage, RecipientView};
use super::{blocking, store_error};
use crate::app::App;
use mm_domain::{MailingState, RecipientStatus, SkipReason};
use serde::Deserialize;
use serde_json::json;
use warp::reply::Response;
use warp::Reply;

/// Default and largest page size.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// Paging: `?offset=N&limit=M` or `?after=ROW&limit=M` (rows after ROW: stable under changes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    offset: Option<u32>,
    after: Option<u32>,
    limit: Option<usize>,
}

/// `GET /api/mailings/{id}/recipients`
pub async fn page(app: App, id: String, q: PageQuery) -> Result<Response, ApiError> {
    if q.offset.is_some() && q.after.is_some() {
        return Err(ApiError::bad_request(
            "use either offset or after, not both",
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be 1..={MAX_LIMIT}"
        )));
    }
    blocking(&app, move |app| {
        let m = record(app, &id)?;
        let store = app.store();
        let rows: Vec<mm_store::Recipient> = match q.after {
            Some(after) => match after.checked_add(1) {
                Some(from) => store
                    .recipients_from(m.number, from)
                    .take(limit)
                    .collect::<Result<_, _>>()
                    .map_err(store_error)?,
                None => Vec::new(),
            },
            None => store
                .recipients_page(m.number, q.offset.unwrap_or(0), limit)
                .map_err(store_error)?,
        };
        let total = store.counts(m.number).map_err(store_error)?.total();
        let next_after = (rows.len() == limit)
            .then(|| rows.last().map(|r| r.row))
            .flatten();
        Ok(warp::reply::json(&RecipientPage {
            mailing: m.id,
            total,
            next_after,
            recipients: rows.into_iter().map(RecipientView::from).collect(),
        })
        .into_response())
    })
    .await
}

/// `GET /api/mailings/{id}/recipients.csv`
pub async fn csv(app: App, id: String) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let m = record(app, &id)?;
        let body = crate::documents::recipients_csv(app, m.number).map_err(ApiError::internal)?;
        let r = warp::reply::with_header(body, "content-type", "text/csv; charset=utf-8");
        Ok(warp::reply::with_header(
            r,
            "content-disposition",
            format!(
                "attachment; filename=\"{}-recipients.csv\"",
                m.id.replace('"', "")
            ),
        )
        .into_response())
    })
    .await
}

/// Body of `PATCH .../recipients/{email}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// Tick (`true`) or untick (`false`).
    pub send: bool,
}

/// `PATCH /api/mailings/{id}/recipients/{email}` `{"send": false}`: unticks (or ticks again)
/// every row with that address, while the mailing is a draft.
pub async fn patch(
    app: App,
    id: String,
    email: String,
    body: PatchBody,
) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let m = record(app, &id)?;
        if m.state != MailingState::Draft {
            return Err(ApiError::conflict(format!(
                "mailing {id:?} is {}: recipients can only change before sending",
                m.state
            )));
        }
        let store = app.store();
        let rows = store.rows_by_email(m.number, &email).map_err(store_error)?;
        if rows.is_empty() {
            return Err(ApiError::not_found(format!(
                "mailing {id:?} has no recipient {email:?}"
            )));
        }
        let mut changed = Vec::new();
        for row in rows {
            let Some(r) = store.recipient(m.number, row).map_err(store_error)? else {
                continue;
            };
            let allowed = if body.send {
                // Only rows unticked by hand can be ticked again: a duplicate, a block, an
                // invalid or suppressed address stays excluded.
                r.status == RecipientStatus::Excluded && r.skip_reason == Some(SkipReason::Unticked)
            } else {
                r.status == RecipientStatus::Pending
            };
            if !allowed {
                if body.send && r.status == RecipientStatus::Excluded {
                    return Err(ApiError::conflict(format!(
                        "{email:?} (row {row}) is excluded as {}; only unticked rows can be ticked",
                        r.skip_reason.map(|s| s.as_str()).unwrap_or("excluded")
                    )));
                }
                changed.push(RecipientView::from(r));
                continue;
            }
            let reason = (!body.send).then_some(SkipReason::Unticked);
            let r = store
                .set_send(m.number, row, body.send, reason)
                .map_err(store_error)?;
            changed.push(RecipientView::from(r));
        }
        store.flush().map_err(store_error)?;
        Ok(warp::reply::json(&json!({ "mailing": m.id, "recipients": changed })).into_response())
    })
    .await
}

/// Query of `GET .../report`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `eml`: the latest report as `message/rfc822`; default JSON with every report.
    format: Option<String>,
}

/// `GET /api/mailings/{id}/recipients/{email}/report`: the raw bounce report(s).
pub async fn report(
    app: App,
    id: String,
    email: String,
    q: ReportQuery,
) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let m = record(app, &id)?;
        let store = app.store();
        let rows = store.rows_by_email(m.number, &email).map_err(store_error)?;
        if rows.is_empty() {
            return Err(ApiError::not_found(format!(
                "mailing {id:?} has no recipient {email:?}"
            )));
        }
        let mut reports = Vec::new();
        for row in rows {
            for r in store.reports(m.number, row).map_err(store_error)? {
                reports.push((row, r));
            }
        }
        match q.format.as_deref() {
            Some("eml") => {
                let Some((_, latest)) = reports.into_iter().max_by_key(|(_, r)| r.seq) else {
                    return Err(ApiError::not_found(format!("no report for {email:?}")));
                };
                Ok(
                    warp::reply::with_header(latest.bytes, "content-type", "message/rfc822")
                        .into_response(),
                )
            }
            None | Some("json") => {
                let list: Vec<_> = reports
                    .into_iter()
                    .map(|(row, r)| {
                        json!({
                            "row": row,
                            "seq": r.seq,
                            "received": r.received,
                            "kind": r.kind,
                            "raw": String::from_utf8_lossy(&r.bytes),
                        })
                    })
                    .collect();
                Ok(
                    warp::reply::json(&json!({ "mailing": m.id, "email": email, "reports": list }))
                        .into_response(),
                )
            }
            Some(other) => Err(ApiError::bad_request(format!(
                "format {other:?}: use json or eml"
            ))),
        }
    })
    .await
}

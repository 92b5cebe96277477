//! `GET /api/customers/{id}/documents`, `GET /api/documents`, `GET /api/bounces[.csv]`.
use super::error::ApiError;
use super::{blocking, store_error};
use crate::app::App;
use serde::Deserialize;
use serde_json::json;
use warp::reply::Response;
use warp::Reply;

/// `?type=mailing[&customer=ID]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocQuery {
    #[serde(rename = "type")]
    doc_type: Option<String>,
    customer: Option<String>,
}

/// `GET /api/customers/{id}/documents?type=mailing`
pub async fn customer(app: App, customer: String, q: DocQuery) -> Result<Response, ApiError> {
    if q.customer.is_some() {
        return Err(ApiError::bad_request("the customer is in the path"));
    }
    blocking(&app, move |app| {
        let docs = app
            .store()
            .customer_documents(&customer, q.doc_type.as_deref())
            .map_err(store_error)?;
        Ok(warp::reply::json(&json!({ "customer": customer, "documents": docs })).into_response())
    })
    .await
}

/// `GET /api/documents?type=mailing[&customer=ID]`
pub async fn list(app: App, q: DocQuery) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let docs: Vec<_> = match &q.customer {
            Some(c) => app
                .store()
                .customer_documents(c, q.doc_type.as_deref())
                .map_err(store_error)?,
            None => app
                .store()
                .documents(q.doc_type.as_deref())
                .collect::<Result<_, _>>()
                .map_err(store_error)?,
        };
        Ok(warp::reply::json(&json!({ "documents": docs })).into_response())
    })
    .await
}

/// `?hard=true`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BounceQuery {
    hard: Option<bool>,
}

/// `GET /api/bounces?hard=true`
pub async fn bounces(app: App, q: BounceQuery) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let list: Vec<_> = app
            .store()
            .bounces(q.hard.unwrap_or(false))
            .collect::<Result<_, _>>()
            .map_err(store_error)?;
        Ok(warp::reply::json(&json!({ "bounces": list })).into_response())
    })
    .await
}

/// `GET /api/bounces.csv?hard=true`
pub async fn bounces_csv(app: App, q: BounceQuery) -> Result<Response, ApiError> {
    blocking(&app, move |app| {
        let body = crate::documents::bounces_csv(app, q.hard.unwrap_or(false))
            .map_err(ApiError::internal)?;
        Ok(
            warp::reply::with_header(body, "content-type", "text/csv; charset=utf-8")
                .into_response(),
        )
    })
    .await
}

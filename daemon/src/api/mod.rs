//! The admin HTTP API (SPEC §9) on warp, served on a listener bound by hand.
//!
//! `/healthz` and `/metrics` are open; everything under `/api/` needs
//! `Authorization: Bearer <token>` (constant-time comparison). Errors are JSON
//! `{"error": "..."}`; see [`error`]. Request bodies are limited to [`MAX_BODY`] bytes.
//!
//! # Layout
//! - [`error`]: `ApiError`, the rejection → JSON mapping.
//! - [`health`]: `/healthz`, `/metrics`.
//! - [`mailings`]: mailings, send, copy, preview, test, status.
//! - [`recipients`]: recipient pages, CSV export, ticking, raw reports.
//! - [`documents`]: customer documents and the bounce list.
//! - [`views`]: the JSON shapes (shared with the CLI client).
mod documents;
mod error;
mod health;
mod mailings;
mod recipients;
pub mod views;

pub use error::ApiError;

use crate::app::App;
use serde::de::DeserializeOwned;
use warp::reply::Response;
use warp::Filter;

/// Largest request body accepted (JSON commands are tiny).
pub const MAX_BODY: u64 = 64 * 1024;

/// Serves the API on `listener` until `shutdown` is cancelled; open connections are then
/// allowed to finish (warp's graceful shutdown).
pub async fn run(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let routes = routes(app);
    warp::serve(routes)
        .incoming(listener)
        .graceful(async move { shutdown.cancelled().await })
        .run()
        .await;
}

/// A path segment, percent-decoded (`a%40b.de` → `a@b.de`).
#[derive(Debug, Clone)]
struct Seg(String);

impl std::str::FromStr for Seg {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        percent_decode(s).map(Seg).ok_or(())
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Runs blocking handler code (store, files) off the reactor.
async fn blocking<F>(app: &App, f: F) -> Result<Response, ApiError>
where
    F: FnOnce(&App) -> Result<Response, ApiError> + Send + 'static,
{
    match app.blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// Store errors as API errors.
fn store_error(e: mm_store::StoreError) -> ApiError {
    use mm_store::StoreError as E;
    match e {
        E::UnknownMailing(id) => ApiError::not_found(format!("unknown mailing {id:?}")),
        E::UnknownRecipient { .. } => ApiError::not_found(e.to_string()),
        E::NotDraft { .. }
        | E::MailingStateChange { .. }
        | E::NotTickable { .. }
        | E::MailingExists(_) => ApiError::conflict(e.to_string()),
        other => ApiError::internal(other),
    }
}

/// A JSON body of at most [`MAX_BODY`] bytes; a bad one is 400 with serde's message.
fn json_body<T: DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = warp::Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY)
        .and(warp::body::bytes())
        .and_then(|bytes: warp::hyper::body::Bytes| async move {
            serde_json::from_slice::<T>(&bytes).map_err(|e| {
                warp::reject::custom(ApiError::bad_request(format!("bad request body: {e}")))
            })
        })
}

/// Every route, with the error mapping.
pub fn routes(
    app: App,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let with_app = {
        let app = app.clone();
        warp::any().map(move || app.clone())
    };
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .and(with_app.clone())
        .map(|app: App| health::healthz(&app));
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_app.clone())
        .then(|app: App| async move { health::metrics(app).await });
    let api = warp::path("api")
        .and(auth(app.clone()))
        .and(api_routes(with_app));

    healthz
        .or(metrics)
        .unify()
        .or(api)
        .unify()
        .recover(error::recover)
        .unify()
}

/// Rejects requests without the right bearer token (401).
fn auth(app: App) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and_then(move |header: Option<String>| {
            let ok = app.token().check_header(header.as_deref());
            async move {
                if ok {
                    Ok(())
                } else {
                    Err(warp::reject::custom(ApiError::new(
                        warp::http::StatusCode::UNAUTHORIZED,
                        "missing or wrong bearer token",
                    )))
                }
            }
        })
        .untuple_one()
}

/// Turns a handler's result into a response.
fn done(r: Result<Response, ApiError>) -> Response {
    error::respond(r)
}

/// The authenticated endpoints (path already past `/api`).
fn api_routes(
    with_app: impl Filter<Extract = (App,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    use warp::path;
    let get = warp::get;
    let post = warp::post;

    let status = path!("status")
        .and(get())
        .and(with_app.clone())
        .then(|app| async move { done(mailings::status(app).await) });
    let list = path!("mailings")
        .and(get())
        .and(with_app.clone())
        .then(|app| async move { done(mailings::list(app).await) });
    let one = path!("mailings" / Seg)
        .and(get())
        .and(with_app.clone())
        .then(|id: Seg, app| async move { done(mailings::get(app, id.0).await) });
    // The send takes no body (anything sent along is ignored).
    let send = path!("mailings" / Seg / "send")
        .and(post())
        .and(with_app.clone())
        .then(|id: Seg, app| async move { done(mailings::send(app, id.0).await) });
    let copy = path!("mailings" / Seg / "copy")
        .and(post())
        .and(json_body::<mailings::CopyBody>())
        .and(with_app.clone())
        .then(|id: Seg, body, app| async move { done(mailings::copy(app, id.0, body).await) });
    let test = path!("mailings" / Seg / "test")
        .and(post())
        .and(json_body::<mailings::TestBody>())
        .and(with_app.clone())
        .then(|id: Seg, body, app| async move { done(mailings::test(app, id.0, body).await) });
    let preview = path!("mailings" / Seg / "preview")
        .and(get())
        .and(warp::query::<mailings::PreviewQuery>())
        .and(with_app.clone())
        .then(|id: Seg, q, app| async move { done(mailings::preview(app, id.0, q).await) });
    let page = path!("mailings" / Seg / "recipients")
        .and(get())
        .and(warp::query::<recipients::PageQuery>())
        .and(with_app.clone())
        .then(|id: Seg, q, app| async move { done(recipients::page(app, id.0, q).await) });
    let csv = path!("mailings" / Seg / "recipients.csv")
        .and(get())
        .and(with_app.clone())
        .then(|id: Seg, app| async move { done(recipients::csv(app, id.0).await) });
    let patch = path!("mailings" / Seg / "recipients" / Seg)
        .and(warp::patch())
        .and(json_body::<recipients::PatchBody>())
        .and(with_app.clone())
        .then(|id: Seg, email: Seg, body, app| async move {
            done(recipients::patch(app, id.0, email.0, body).await)
        });
    let report = path!("mailings" / Seg / "recipients" / Seg / "report")
        .and(get())
        .and(warp::query::<recipients::ReportQuery>())
        .and(with_app.clone())
        .then(|id: Seg, email: Seg, q, app| async move {
            done(recipients::report(app, id.0, email.0, q).await)
        });
    let customer_docs = path!("customers" / Seg / "documents")
        .and(get())
        .and(warp::query::<documents::DocQuery>())
        .and(with_app.clone())
        .then(|c: Seg, q, app| async move { done(documents::customer(app, c.0, q).await) });
    let docs = path!("documents")
        .and(get())
        .and(warp::query::<documents::DocQuery>())
        .and(with_app.clone())
        .then(|q, app| async move { done(documents::list(app, q).await) });
    let bounces = path!("bounces")
        .and(get())
        .and(warp::query::<documents::BounceQuery>())
        .and(with_app.clone())
        .then(|q, app| async move { done(documents::bounces(app, q).await) });
    let bounces_csv = path!("bounces.csv")
        .and(get())
        .and(warp::query::<documents::BounceQuery>())
        .and(with_app)
        .then(|q, app| async move { done(documents::bounces_csv(app, q).await) });

    status
        .or(list)
        .unify()
        .or(one)
        .unify()
        .or(send)
        .unify()
        .or(copy)
        .unify()
        .or(test)
        .unify()
        .or(preview)
        .unify()
        .or(page)
        .unify()
        .or(csv)
        .unify()
        .or(patch)
        .unify()
        .or(report)
        .unify()
        .or(customer_docs)
        .unify()
        .or(docs)
        .unify()
        .or(bounces)
        .unify()
        .or(bounces_csv)
        .unify()
}

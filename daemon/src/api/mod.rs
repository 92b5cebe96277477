//! The admin HTTP API (SPEC §9) on warp, served on a listener bound by hand.
//!
//! `/healthz` and `/metrics` are open; everything under `/api/` needs
//! `Authorization: Bearer <token>` (constant-time comparison). Errors are JSON
//! `{"error": "..."}`; see [`error`].
//!
//! # Layout
//! - [`error`]: `ApiError`, the rejection → JSON mapping.
//! - [`health`]: `/healthz`, `/metrics`.
mod error;
mod health;

use crate::app::App;
use error::ApiError;
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

/// Every route, with the error mapping.
pub fn routes(
    app: App,
) -> impl Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible> + Clone {
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
        .map(|app: App| health::metrics(&app));
    let api = warp::path("api")
        .and(auth(app.clone()))
        .and(api_routes(app));

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

/// The authenticated endpoints (path already past `/api`).
fn api_routes(
    app: App,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let _ = app;
    warp::any().and_then(|| async { Err::<warp::reply::Response, _>(warp::reject::not_found()) })
}

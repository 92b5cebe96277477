//! `GET /healthz` and `GET /metrics`: unauthenticated, for monitoring.
use crate::app::App;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

/// 200 `{"status":"ok"}` when store, watcher, milter listener and sender are up; 503 with the
/// list of what is down otherwise (and while shutting down).
pub fn healthz(app: &App) -> Response {
    let mut down = app.health().down();
    if app.lifecycle().is_shutting_down() {
        down.push("shutting_down");
    }
    if down.is_empty() {
        warp::reply::json(&json!({"status": "ok"})).into_response()
    } else {
        warp::reply::with_status(
            warp::reply::json(&json!({"status": "unavailable", "down": down})),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .into_response()
    }
}

/// The Prometheus text exposition; gauges read from the store are refreshed first.
pub async fn metrics(app: App) -> Response {
    let text = app
        .blocking(|app| {
            crate::metrics::refresh(app);
            app.metrics().render()
        })
        .await
        .unwrap_or_default();
    warp::reply::with_header(
        text,
        "content-type",
        "text/plain; version=0.0.4; charset=utf-8",
    )
    .into_response()
}

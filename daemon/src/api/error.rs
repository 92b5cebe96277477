//! API errors: every failure is JSON `{"error": "..."}` (plus `problems` for a send refused
//! because the mailing does not validate) with a fitting status code. Warp's own rejections
//! (unknown path, wrong method, oversized body, bad query) are mapped here too.
use serde::Serialize;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

/// An API error with its status.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub message: String,
    /// Validation problems (409 on send), when there are any.
    pub problems: Vec<String>,
}

impl warp::reject::Reject for ApiError {}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    problems: &'a [String],
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            problems: Vec::new(),
        }
    }
    /// 400
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    /// 409
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    /// 500: logged here, the client gets the message.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "admin API request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
    }
    /// 503
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
    /// Attaches validation problems.
    pub fn with_problems(mut self, problems: Vec<String>) -> Self {
        self.problems = problems;
        self
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let json = warp::reply::json(&Body {
            error: &self.message,
            problems: &self.problems,
        });
        warp::reply::with_status(json, self.status).into_response()
    }
}

/// Turns a handler's result into a response.
pub fn respond<R: Reply>(result: Result<R, ApiError>) -> Response {
    match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Maps every rejection to a JSON error.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    use warp::reject;
    let err = if let Some(e) = rejection.find::<ApiError>() {
        ApiError {
            status: e.status,
            message: e.message.clone(),
            problems: e.problems.clone(),
        }
    } else if rejection.is_not_found() {
        ApiError::not_found("no such endpoint")
    } else if rejection.find::<reject::MethodNotAllowed>().is_some() {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    } else if rejection.find::<reject::PayloadTooLarge>().is_some() {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    } else if rejection.find::<reject::LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "a Content-Length header is required",
        )
    } else if rejection.find::<reject::InvalidQuery>().is_some() {
        ApiError::bad_request("invalid query string")
    } else {
        ApiError::bad_request(format!("bad request: {rejection:?}"))
    };
    Ok(err.into_response())
}

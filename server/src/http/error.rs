//! The error type of the JSON API boundary: a stable code and a generic message go out, the
//! cause is logged, never echoed.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Unknown pool, app or other resource.
    #[error("{0}")]
    NotFound(&'static str),
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Malformed request.
    #[error("{0}")]
    BadRequest(&'static str),
    /// A valid token of another app of the pool (`aud` is not the app the caller named): the
    /// answer names the app the token was issued for, so the caller sees the mix-up.
    #[error("the token was issued for app {aud:?}, not for app {expected:?}: a token is accepted only by the app it was issued to")]
    WrongAudience {
        /// The token's `aud`.
        aud: String,
        /// The app the caller named.
        expected: String,
    },
    /// Our fault; the cause is logged.
    #[error("internal error")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unauthorized(_) | Self::WrongAudience { .. } => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let mut body = serde_json::json!({ "error": code, "message": self.to_string() });
        if let Self::WrongAudience { aud, .. } = &self {
            body["aud"] = aud.as_str().into();
        }
        let mut r = (status, Json(body)).into_response();
        if let Self::Internal(cause) = self {
            r.extensions_mut().insert(InternalCause(cause));
        }
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        r
    }
}

/// The cause of a 500, carried in the response's extensions (never its body) to
/// [`log_internal`], so building a response stays free of side effects.
#[derive(Clone, Debug)]
pub struct InternalCause(pub String);

/// Middleware: logs the cause of an internal error inside the request's span.
pub async fn log_internal(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let r = next.run(req).await;
    if let Some(InternalCause(cause)) = r.extensions().get::<InternalCause>() {
        tracing::error!(%cause, "internal error");
    }
    r
}

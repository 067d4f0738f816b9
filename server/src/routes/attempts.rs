//! `POST /api/v1/attempts/{attempt}/result`: the result channel for a lost opener.
//!
//! When `Cross-Origin-Opener-Policy` (or an in-app browser) cuts `window.opener`, the popup page
//! cannot `postMessage`. The widget committed to a per-attempt secret at authorize (`channel` =
//! base64url SHA-256 of it) and now proves it: the body is the secret itself, as `text/plain` (a
//! CORS "simple" request, no preflight). Answers: 200 + the result message (once), 202 while the
//! login is still running, 404 for anything else (unknown attempt, wrong secret, already read,
//! older than 2 minutes) — the same answer, so nothing leaks. CORS only for the recorded origin.

use crate::state::AppState;
use crate::store::ChannelRead;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The result channel.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/attempts/{attempt}/result", post(post_result))
}

#[tracing::instrument(skip_all)]
async fn post_result(
    State(st): State<AppState>,
    Path(attempt): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gone = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "{\"status\":\"gone\"}",
        )
            .into_response()
    };
    let secret = match std::str::from_utf8(&body) {
        Ok(s)
            if (16..=256).contains(&s.trim().len())
                && milogin_shared::validate_attempt(&attempt).is_ok() =>
        {
            s.trim()
        }
        _ => return gone(),
    };
    let channel = B64.encode(Sha256::digest(secret.as_bytes()));
    let read = match st
        .store
        .read_result(&attempt, &channel, st.clock.now())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "result channel read failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CACHE_CONTROL, "no-store")],
                "{\"status\":\"unavailable\"}",
            )
                .into_response();
        }
    };
    let (mut r, origin) = match read {
        ChannelRead::Ready { result, origin } => ((StatusCode::OK, result).into_response(), origin),
        ChannelRead::Pending { origin } => (
            (StatusCode::ACCEPTED, "{\"status\":\"pending\"}").into_response(),
            origin,
        ),
        ChannelRead::Gone => return gone(),
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) == Some(origin.as_str()) {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
    r
}

//! The end of an OpenID Connect login (mode `oidc`, `super::code_flow`), in HTTP: the request is
//! taken back and a code issued by `crate::login::code::deliver`; this module renders the 302 to
//! the client's redirect URI (a code, or the error with `state` and `iss`), or an error page when
//! no request is left to answer. Called by `super::respond::conclude`.

use super::cause::log_code_cause;
use super::pages::{self, Lang};
use crate::login::code::{deliver as flow, CodeError, Returned};
use crate::state::AppState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use milogin_shared::{ErrorCode, ResultMessage};

/// 302 to `location`, with the login responses' headers.
pub fn found(location: &str) -> Response {
    let mut r = (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response();
    pages::secure_headers(r.headers_mut());
    r
}

/// An error sent back to the client: its cause logged, the 302.
pub fn returned(back: &Returned) -> Response {
    let (code, why) = back.error.authorize_error();
    log_code_cause(&back.error, code.as_str());
    tracing::info!(
        error = code.as_str(),
        why,
        "oidc login sent back with an error"
    );
    found(&back.location())
}

/// The end of an `oidc` login: a code (or the error) back to the client's redirect URI.
pub async fn deliver(st: &AppState, redirect_uri: &str, m: &ResultMessage, lang: Lang) -> Response {
    let request = match flow::take(st, redirect_uri, &m.attempt).await {
        Ok(r) => r,
        Err(e) => return gone(lang, &e),
    };
    match flow::deliver(st, &request, m).await {
        Ok(location) => found(&location),
        Err(back) => returned(&back),
    }
}

/// The page of a login whose request cannot be answered (gone, or the database failed).
fn gone(lang: Lang, e: &CodeError) -> Response {
    if let CodeError::RequestGone = e {
        let why = "This login took too long or was already finished. Go back to the site and log in again.";
        return pages::error_page(StatusCode::BAD_REQUEST, lang, ErrorCode::StateExpired, why);
    }
    log_code_cause(e, ErrorCode::Internal.as_str());
    let why = "The login could not be finished. Please try again.";
    pages::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        ErrorCode::Internal,
        why,
    )
}

//! The end of an OpenID Connect login (mode `oidc`, `super::code_flow`): the request recorded at
//! authorize is taken back, a one-time code is issued (bound to client, redirect URI, PKCE
//! challenge and nonce; only its SHA-256 stored; 60 s) and the browser goes to the client's
//! redirect URI with `code`, `state` and `iss` (RFC 9207) in the query — or, for a failed login,
//! `error`, `error_description`, `state` and `iss`. Called by `super::respond::conclude`.

use super::pages::{self, Lang};
use crate::crypto::{random_token, sha256_hex};
use crate::domain::{AttemptId, UniqueId};
use crate::oidc::{
    self,
    error::{with_query, AuthorizeCode, ErrorRedirect},
};
use crate::state::AppState;
use crate::store::{Code, OidcRequest};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use milogin_shared::{ErrorCode, Outcome, ResultMessage};

/// 302 to `location`, with the login responses' headers.
pub fn found(location: &str) -> Response {
    let mut r = (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response();
    pages::secure_headers(r.headers_mut());
    r
}

/// The end of an `oidc` login: a code (or the error) back to the client's redirect URI.
pub async fn deliver(st: &AppState, redirect_uri: &str, m: &ResultMessage) -> Response {
    let lang = Lang::En;
    let now = st.clock.now();
    let attempt = AttemptId::parse(&m.attempt);
    let request = match attempt {
        Ok(a) => st.store.take_oidc_request(&a, now).await,
        Err(_) => Ok(None),
    };
    let request = match request {
        Ok(Some(r)) if r.redirect_uri == redirect_uri => r,
        Ok(_) => {
            let why = "This login took too long or was already finished. Go back to the site and log in again.";
            return pages::error_page(StatusCode::BAD_REQUEST, lang, ErrorCode::StateExpired, why);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the oidc request");
            return pages::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                ErrorCode::Internal,
                "The login could not be finished. Please try again.",
            );
        }
    };
    let issuer = st.config.server.issuer(&request.pool);
    let back = |code: AuthorizeCode, description: &str| {
        let e = ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            code,
            description: description.to_owned(),
        };
        found(&e.location(&issuer))
    };
    let user = match &m.outcome {
        Outcome::Success { user, .. } => user,
        Outcome::Failure(e) => return back(authorize_code(e.code), &e.message),
    };
    let Ok(connection) = UniqueId::parse(&user.connection) else {
        return back(
            AuthorizeCode::ServerError,
            "the login ended without its connection",
        );
    };
    let Some(code) = issue(st, &request, &user.id, connection, user.new_user, now).await else {
        return back(
            AuthorizeCode::ServerError,
            "the login could not be finished; try again",
        );
    };
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer));
    found(&with_query(&request.redirect_uri, &pairs))
}

/// Issues a one-time code for `user_id`'s login under `request` (only its SHA-256 stored, 60 s);
/// `None` (logged) when it cannot be recorded. Also the widget's fragment paths
/// (`super::respond`).
pub async fn issue(
    st: &AppState,
    request: &OidcRequest,
    user_id: &str,
    connection: UniqueId,
    new_user: bool,
    now: i64,
) -> Option<String> {
    let code = random_token();
    let record = Code {
        code_hash: sha256_hex(&code),
        pool: request.pool.clone(),
        client: request.client.clone(),
        redirect_uri: request.redirect_uri.clone(),
        challenge: request.challenge.clone(),
        nonce: request.nonce.clone(),
        scope: request.scope.clone(),
        user_id: user_id.to_owned(),
        connection,
        auth_time: now,
        created_at: now,
        expires_at: now + oidc::CODE_LIFETIME_SECS,
        new_user,
    };
    match st.store.insert_code(&record).await {
        Ok(()) => Some(code),
        Err(e) => {
            tracing::error!(error = %e, "cannot record the authorization code");
            None
        }
    }
}

/// The authorization response's `error` for a failed login.
fn authorize_code(code: ErrorCode) -> AuthorizeCode {
    match code {
        ErrorCode::AccessDenied
        | ErrorCode::UserNotFound
        | ErrorCode::UserDisabled
        | ErrorCode::BindingRequired => AuthorizeCode::AccessDenied,
        ErrorCode::ProviderUnavailable => AuthorizeCode::TemporarilyUnavailable,
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidState
        | ErrorCode::StateExpired
        | ErrorCode::OriginNotAllowed
        | ErrorCode::ConnectionNotEnabled => AuthorizeCode::InvalidRequest,
        _ => AuthorizeCode::ServerError,
    }
}

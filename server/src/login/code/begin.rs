//! The start of an OpenID Connect login: a checked authorization request ([`crate::oidc::authorize`])
//! is recorded ([`OidcRequest`]) under a fresh attempt id, and an ordinary login of mode `oidc`
//! starts ([`crate::login::start`]; the whole login runs unchanged: login-only mode, field
//! matching, the binding page, limits). Any failure goes back to the client ([`Returned`]).

use super::{CodeError, ReturnTo, Returned};
use crate::config::{App, Pool};
use crate::crypto::random_token;
use crate::domain::AttemptId;
use crate::login::start::{self, Start, Started};
use crate::login::Target;
use crate::oidc::authorize::AuthorizeRequest;
use crate::state::AppState;
use crate::store::OidcRequest;

/// What [`begin`] needs: the checked request, of `app` in `pool`, to log in with `connection`.
pub struct Begin<'a> {
    /// The pool.
    pub pool: &'a Pool,
    /// The client.
    pub app: &'a App,
    /// The checked request.
    pub request: &'a AuthorizeRequest,
    /// The connection's unique id.
    pub connection: &'a str,
}

/// Records the request and starts its login: the provider's redirect and the binding cookie.
pub async fn begin(
    st: &AppState,
    b: &Begin<'_>,
    ip: std::net::IpAddr,
) -> Result<Started, Returned> {
    let back = ReturnTo {
        redirect_uri: b.request.redirect_uri.clone(),
        state: b.request.state.clone(),
        issuer: st.config.server.issuer(&b.pool.id),
    };
    let connection = b
        .pool
        .connection(b.connection)
        .ok_or_else(|| back.returned(CodeError::NoConnection))?;
    let attempt =
        AttemptId::parse(&random_token()).expect("43 base64url characters are an attempt id");
    let now = st.clock.now();
    st.store
        .insert_oidc_request(&record(b, attempt.clone(), now), now)
        .await
        .map_err(|e| back.returned(CodeError::NotRecorded(e)))?;
    let s = Start {
        pool: b.pool,
        app: b.app,
        connection,
        target: Target::Oidc(b.request.redirect_uri.clone()),
        attempt,
        // Recorded above with the client's request.
        challenge: None,
    };
    start::start(st, &s, ip)
        .await
        .map_err(|e| back.returned(CodeError::NotStarted(e)))
}

/// The request as the login carries it to its code.
fn record(b: &Begin<'_>, attempt: AttemptId, now: i64) -> OidcRequest {
    let req = b.request;
    OidcRequest {
        attempt,
        pool: b.pool.id.clone(),
        client: b.app.id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        nonce: req.nonce.clone(),
        challenge: req.challenge.as_ref().map(|c| c.as_str().to_owned()),
        scope: req.scope.clone(),
        expires_at: now + crate::oidc::REQUEST_LIFETIME_SECS,
    }
}

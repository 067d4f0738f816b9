//! The end of an OpenID Connect login (mode `oidc`): the request recorded at authorize is taken
//! back ([`take`]), a one-time code is issued ([`deliver`]: bound to client, redirect URI, PKCE
//! challenge and nonce; only its SHA-256 stored; 60 s) and the browser goes to the client's
//! redirect URI with `code`, `state` and `iss` (RFC 9207) in the query — or, for a failed login,
//! `error`, `error_description`, `state` and `iss` ([`Returned`]).

use super::{CodeError, ReturnTo, Returned};
use crate::crypto::{random_token, sha256_hex};
use crate::domain::{AttemptId, UniqueId};
use crate::oidc::{self, error::with_query};
use crate::state::AppState;
use crate::store::{Code, OidcRequest, Redeemer};
use milogin_shared::{Outcome, ResultMessage, UserInfo};

/// Takes (deletes) the request of the login `attempt`, which must end at `redirect_uri`:
/// [`CodeError::RequestGone`] when it expired, was taken, or is another URI's.
pub async fn take(
    st: &AppState,
    redirect_uri: &str,
    attempt: &str,
) -> Result<OidcRequest, CodeError> {
    let Ok(attempt) = AttemptId::parse(attempt) else {
        return Err(CodeError::RequestGone);
    };
    let found = st.store.take_oidc_request(&attempt, st.clock.now()).await?;
    found
        .filter(|r| r.redirect_uri == redirect_uri)
        .ok_or(CodeError::RequestGone)
}

/// The redirect that ends the login `m` of `request`: a fresh code, or the login's error.
pub async fn deliver(
    st: &AppState,
    request: &OidcRequest,
    m: &ResultMessage,
) -> Result<String, Returned> {
    let issuer = st.config.server.issuer(&request.pool);
    let back = ReturnTo {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        issuer: issuer.clone(),
    };
    let user = match &m.outcome {
        Outcome::Success { user, .. } => user,
        Outcome::Failure(e) => {
            let (code, message) = (e.code, e.message.clone());
            return Err(back.returned(CodeError::LoginFailed { code, message }));
        }
    };
    let code = issue_code(st, request, user, Redeemer::Client)
        .await
        .map_err(|e| back.returned(e))?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer));
    Ok(with_query(&request.redirect_uri, &pairs))
}

/// Stores a fresh code for `user`, to be redeemed by `redeemer` (its SHA-256 only), and returns
/// it.
pub(super) async fn issue_code(
    st: &AppState,
    request: &OidcRequest,
    user: &UserInfo,
    redeemer: Redeemer,
) -> Result<String, CodeError> {
    let connection =
        UniqueId::parse(&user.connection).map_err(|_| CodeError::NoConnectionInResult)?;
    let now = st.clock.now();
    let code = random_token();
    let record = Code {
        code_hash: sha256_hex(&code),
        pool: request.pool.clone(),
        client: request.client.clone(),
        redirect_uri: request.redirect_uri.clone(),
        challenge: request.challenge.clone(),
        nonce: request.nonce.clone(),
        scope: request.scope.clone(),
        user_id: user.id.clone(),
        connection,
        auth_time: now,
        created_at: now,
        expires_at: now + oidc::CODE_LIFETIME_SECS,
        redeemer,
    };
    st.store.insert_code(&record).await?;
    Ok(code)
}

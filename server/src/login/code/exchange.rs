//! The token endpoint's work: client authentication ([`oidc::client`]), the grant
//! ([`oidc::grant`]), the code redeemed once in the database (a second use is `invalid_grant`
//! and a warning in the log), then an id_token (`nonce`, `auth_time`, `azp`) and an access token
//! (a JWT for the pool's userinfo endpoint, `token_use: "access"`, `azp` = the client), both
//! signed with the pool's key so any replica verifies them. A code issued to the widget's tab
//! (redirect mode, the return page) answers the widget's result message instead.

use super::CodeError;
use crate::config::{App, Pool};
use crate::crypto::sha256_hex;
use crate::oidc::{self, client::Caller, grant::TokenRequest, params::Params};
use crate::state::AppState;
use crate::store::{Code, Redeemed, Redeemer, User};
use crate::token::{Claims, OidcClaims, PoolKey};
use milogin_shared::{Outcome, ResultMessage, UserInfo};
use serde_json::json;
use std::sync::Arc;

/// A redeemed code: the token response, and the client it was issued to.
pub struct Exchanged<'p> {
    /// The JSON body of the token response.
    pub answer: serde_json::Value,
    /// The authenticated client.
    pub app: &'p App,
}

/// Authenticates the client (`authorization`: the request's `Authorization` header), redeems the
/// code of `params`, signs the tokens.
pub async fn exchange<'p>(
    st: &AppState,
    pool: &'p Pool,
    authorization: Option<&str>,
    params: &Params,
) -> Result<Exchanged<'p>, CodeError> {
    let presented = oidc::client::presented(authorization, params)?;
    let caller = oidc::client::authenticate(pool, &presented)?;
    let app = caller.app();
    let req = oidc::grant::parse(params)?;
    if let Caller::Tab(_) = caller {
        // Without the secret only a widget's code may be redeemed: look before spending it.
        let hash = sha256_hex(&req.code);
        if let Some(found) = st.store.find_code(&hash).await? {
            caller.may_redeem(found.redeemer)?;
        }
    }
    let code = redeem(st, pool, app, &req).await?;
    let user = st
        .store
        .user(&pool.id, &code.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(CodeError::UserGone)?;
    let answer = match code.redeemer {
        Redeemer::Client => tokens(st, pool, app, &code, &user).await?,
        Redeemer::Widget { new_user } => {
            widget_result(st, pool, app, &code, user, new_user).await?
        }
    };
    Ok(Exchanged { answer, app })
}

/// Redeems the code of `req` (once, in the database) and checks it against `app` and `req`.
async fn redeem(
    st: &AppState,
    pool: &Pool,
    app: &App,
    req: &TokenRequest,
) -> Result<Code, CodeError> {
    let found = st
        .store
        .redeem_code(&sha256_hex(&req.code), st.clock.now())
        .await?;
    let found = match found {
        Redeemed::Reused(c) => {
            tracing::warn!(client = %c.client, user = %c.user_id, presented_by = %app.id, "authorization code reused: refused");
            Redeemed::Reused(c)
        }
        Redeemed::Fresh(c) | Redeemed::Expired(c) if c.pool != pool.id => {
            tracing::warn!(code_pool = %c.pool, "authorization code of another pool");
            Redeemed::Unknown
        }
        other => other,
    };
    Ok(oidc::grant::accept(found, app, req)?)
}

/// The answer of a redeemed code: an id_token (`nonce`, `auth_time`, `azp`) and an access token
/// for the pool's userinfo endpoint, both signed with the pool's current key.
async fn tokens(
    st: &AppState,
    pool: &Pool,
    app: &App,
    code: &Code,
    user: &User,
) -> Result<serde_json::Value, CodeError> {
    let now = st.clock.now();
    let key = signer(st, pool, now).await?;
    let id = id_claims(st, pool, app, code, user, now);
    let access = access_claims(&id, app, code);
    tracing::info!(client = %app.id, user = %user.id, "authorization code redeemed");
    Ok(json!({
        "access_token": key.sign(&access),
        "token_type": "Bearer",
        "expires_in": oidc::ACCESS_TOKEN_LIFETIME_SECS,
        "id_token": key.sign(&id),
        "scope": code.scope,
    }))
}

/// The answer of a widget's code (redirect mode, the return page): the result message the popup
/// would have posted (`attempt` = the code's nonce), with the id_token signed now.
async fn widget_result(
    st: &AppState,
    pool: &Pool,
    app: &App,
    code: &Code,
    user: User,
    new_user: bool,
) -> Result<serde_json::Value, CodeError> {
    let now = st.clock.now();
    let key = signer(st, pool, now).await?;
    let id_token = key.sign(&id_claims(st, pool, app, code, &user, now));
    tracing::info!(client = %app.id, user = %user.id, "widget code redeemed");
    let m = ResultMessage {
        attempt: code.nonce.clone().unwrap_or_default(),
        outcome: Outcome::Success {
            id_token,
            user: UserInfo {
                id: user.id,
                nickname: user.nickname,
                avatar: user.avatar,
                connection: code.connection.to_string(),
                new_user,
            },
        },
    };
    Ok(json!(m))
}

/// The pool's key that signs at `now`.
async fn signer(st: &AppState, pool: &Pool, now: i64) -> Result<Arc<PoolKey>, CodeError> {
    st.keys
        .signer(&pool.id, now)
        .await
        .ok_or_else(|| CodeError::NoSigningKey(pool.id.to_string()))
}

/// The id_token's claims: `nonce`, `auth_time`, `azp`.
fn id_claims(st: &AppState, pool: &Pool, app: &App, code: &Code, user: &User, now: i64) -> Claims {
    Claims {
        iss: st.config.server.issuer(&pool.id),
        sub: user.id.clone(),
        aud: app.id.to_string(),
        exp: now + st.config.server.token_ttl_secs as i64,
        iat: now,
        nonce: code.nonce.clone().unwrap_or_default(),
        name: user.nickname.clone(),
        picture: user.avatar.clone(),
        idp: code.connection.to_string(),
        oidc: OidcClaims {
            auth_time: Some(code.auth_time),
            azp: Some(app.id.to_string()),
            ..Default::default()
        },
    }
}

/// The access token's claims: for the userinfo endpoint (never a client id as `aud`).
fn access_claims(id: &Claims, app: &App, code: &Code) -> Claims {
    Claims {
        aud: oidc::userinfo_audience(&id.iss),
        exp: id.iat + oidc::ACCESS_TOKEN_LIFETIME_SECS,
        nonce: String::new(),
        oidc: OidcClaims {
            azp: Some(app.id.to_string()),
            scope: Some(code.scope.clone()),
            token_use: Some("access".into()),
            auth_time: None,
        },
        ..id.clone()
    }
}

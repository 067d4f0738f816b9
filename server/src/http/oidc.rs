//! Issuer metadata, JWKS and userinfo per pool, so any OIDC/JWT library verifies our tokens.
//! Userinfo reads the database on every call: it is rate limited per client (429 +
//! `Retry-After`, `limits.userinfo_per_minute`). It answers only for the app the caller names
//! (`?app_id=`) and only when the token was issued to that app (`aud`): otherwise app B's token
//! would log its user into app A when A checks tokens here.

use super::error::ApiError;
use super::extract::{RateLimit, UserinfoRoute};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// Discovery, JWKS, userinfo.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pools/{pool}/.well-known/openid-configuration",
            get(get_openid_configuration),
        )
        .route("/pools/{pool}/.well-known/jwks.json", get(get_jwks))
        .route("/pools/{pool}/userinfo", get(get_userinfo))
}

fn public_json(v: serde_json::Value) -> Response {
    let mut r = Json(v).into_response();
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CACHE_CONTROL,
        // `config::JWKS_MAX_AGE_SECS`: a rotation's new key is published longer than this before
        // it signs (`server.key_publish_secs`, `milogin check` warns otherwise).
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

async fn get_openid_configuration(
    State(st): State<AppState>,
    Path(pool): Path<String>,
) -> Result<Response, ApiError> {
    st.config
        .pool(&pool)
        .ok_or(ApiError::NotFound("unknown pool"))?;
    let iss = st.config.server.issuer(&pool);
    Ok(public_json(json!({
        "issuer": iss,
        // Only what a standard relying party can use to verify our id_tokens. No
        // `authorization_endpoint` (the hosted page is not an OIDC authorization endpoint) and no
        // `userinfo_endpoint` (ours takes the id_token, not an OAuth access token).
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "name", "picture", "idp"],
    })))
}

async fn get_jwks(
    State(st): State<AppState>,
    Path(pool): Path<String>,
) -> Result<Response, ApiError> {
    st.keys
        .jwks(&pool, st.clock.now())
        .await
        .map(public_json)
        .ok_or(ApiError::NotFound("unknown pool"))
}

/// `?app_id=` of userinfo: the app that expects the token.
#[derive(serde::Deserialize)]
struct UserinfoQuery {
    app_id: Option<String>,
}

/// `?app_id=A` with `Authorization: Bearer <id_token of app A>` → the user's current claims and
/// the app the token was issued to (`aud`).
async fn get_userinfo(
    State(st): State<AppState>,
    Path(pool): Path<String>,
    Query(query): Query<UserinfoQuery>,
    _: RateLimit<UserinfoRoute>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pool_config = st
        .config
        .pool(&pool)
        .ok_or(ApiError::NotFound("unknown pool"))?;
    let app = query.app_id.ok_or(ApiError::BadRequest(
            "name the app that expects the token: ?app_id=<your app id>; a token is accepted only by the app it was issued to",
        ))?;
    pool_config
        .app(&app)
        .ok_or(ApiError::NotFound("unknown app"))?;
    let claims = verify_for(&st, &pool, bearer(&headers)?, app).await?;
    let user = st
        .store
        .user(&pool, &claims.sub)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .filter(|u| !u.disabled)
        .ok_or(ApiError::Unauthorized(
            "the user no longer exists or is disabled",
        ))?;
    let mut r = Json(
        json!({ "sub": user.id, "aud": claims.aud, "name": user.nickname, "picture": user.avatar, "idp": claims.idp }),
    )
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The token of `Authorization: Bearer <id_token>`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(
            "send Authorization: Bearer <id_token>",
        ))
}

/// The claims of a live token of this pool issued to `app` (a token of another app is refused
/// with the app it was issued to).
async fn verify_for(
    st: &AppState,
    pool: &str,
    token: &str,
    app: String,
) -> Result<crate::token::Claims, ApiError> {
    let claims = st
        .keys
        .verify(pool, &st.config.server.issuer(pool), token, st.clock.now())
        .await
        .map_err(|_| ApiError::Unauthorized("the token is invalid or expired"))?;
    if claims.aud != app {
        tracing::warn!(pool = %pool, token_for = %claims.aud, app = %app, "userinfo: a token of another app refused");
        return Err(ApiError::WrongAudience {
            aud: claims.aud,
            expected: app,
        });
    }
    Ok(claims)
}

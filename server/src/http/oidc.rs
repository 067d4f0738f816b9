//! Issuer metadata (OpenID Connect Discovery 1.0, with the code flow of `super::code_flow`), JWKS
//! and userinfo per pool, so any OIDC/JWT library verifies our tokens and any relying party logs
//! in. Userinfo reads the database on every call: it is rate limited per client (429 +
//! `Retry-After`, `limits.userinfo_per_minute`). It takes the code flow's access token (issued
//! to a client of the pool; the answer names it in `aud`/`azp`), or an id_token only for the app
//! the caller names (`?app_id=`) and only when the token was issued to that app (`aud`):
//! otherwise app B's token would log its user into app A when A checks tokens here.

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
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "scopes_supported": crate::oidc::SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "name", "picture", "idp"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
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

/// `Authorization: Bearer <access token>`, or `?app_id=A` with `Bearer <id_token of app A>` → the
/// user's current claims and the client the token was issued to (`aud`, `azp`).
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
    let issuer = st.config.server.issuer(&pool);
    let claims = st
        .keys
        .verify(&pool, &issuer, bearer(&headers)?, st.clock.now())
        .await
        .map_err(|_| ApiError::Unauthorized("the token is invalid or expired"))?;
    let client = client_of(pool_config, &issuer, &claims, query.app_id)?;
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
        json!({ "sub": user.id, "aud": client, "azp": client, "name": user.nickname, "picture": user.avatar, "idp": claims.idp }),
    )
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The client a token presented at userinfo was issued to. An access token (`token_use` =
/// `access`, `aud` = this pool's userinfo endpoint) names its client in `azp`, which must be an
/// app of the pool (and the one in `?app_id=`, when given); an id_token is accepted only with
/// `?app_id=` equal to its `aud`.
fn client_of(
    pool: &crate::config::Pool,
    issuer: &str,
    claims: &crate::token::Claims,
    app_id: Option<String>,
) -> Result<String, ApiError> {
    if claims.is_access() {
        let azp = claims.oidc.azp.clone().unwrap_or_default();
        if claims.aud != crate::oidc::userinfo_audience(issuer) || pool.app(&azp).is_none() {
            return Err(ApiError::Unauthorized(
                "the access token was not issued to a client of this pool",
            ));
        }
        return match app_id {
            Some(app) if app != azp => Err(ApiError::WrongAudience {
                aud: azp,
                expected: app,
            }),
            _ => Ok(azp),
        };
    }
    let app = app_id.ok_or(ApiError::BadRequest(
        "name the app that expects the token: ?app_id=<your app id>; a token is accepted only by the app it was issued to",
    ))?;
    pool.app(&app).ok_or(ApiError::NotFound("unknown app"))?;
    if claims.aud != app {
        tracing::warn!(token_for = %claims.aud, app = %app, "userinfo: a token of another app refused");
        return Err(ApiError::WrongAudience {
            aud: claims.aud.clone(),
            expected: app,
        });
    }
    Ok(app)
}

/// The token of `Authorization: Bearer <access token or id_token>`.
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
            "send Authorization: Bearer <access token> (or an id_token with ?app_id=)",
        ))
}

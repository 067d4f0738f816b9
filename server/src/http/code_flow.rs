//! OpenID Connect's authorization code flow (issue 21): `GET /pools/{pool}/oidc/authorize` and
//! `POST /pools/{pool}/oidc/token`. The checks are `crate::oidc`'s; this module is their HTTP.
//!
//! **authorize**: the request is checked ([`oidc::authorize::check`]): an unknown client or an
//! unregistered redirect URI gets an error page, anything else wrong goes back to the redirect
//! URI (`error`, `error_description`, `state`, `iss`). A good request records its
//! [`OidcRequest`] under a fresh attempt id and starts an ordinary login of mode `oidc` (the
//! whole login runs unchanged: login-only mode, field matching, the binding page, limits); with
//! several connections and no `connection=`, a page lets the person pick. When that login ends,
//! `super::code_delivery` takes the request back, issues a one-time code bound to client, redirect URI,
//! PKCE challenge and nonce (only its SHA-256 is stored, 60 s), and redirects with
//! `code`, `state` and `iss` (RFC 9207) in the query.
//!
//! **token**: client authentication ([`oidc::client`]), the grant ([`oidc::grant`]), the code
//! redeemed once in the database (a second use is `invalid_grant` and a warning in the log),
//! then an id_token (`nonce`, `auth_time`, `azp`) and an access token (a JWT for the pool's
//! userinfo endpoint, `token_use: "access"`, `azp` = the client), both signed with the pool's key
//! so any replica verifies them. Answers carry `Cache-Control: no-store`, and CORS for the
//! client's registered origins (a public client in a page redeems its code there).

use super::code_delivery::found;
use super::extract::ClientIp;
use super::extract::{AuthorizeRoute, RateLimit};
use super::pages::{self, Lang, Page, NO_SOURCES};
use super::respond::{set_cookie, SameSite};
use crate::config::{App, Pool};
use crate::crypto::{random_token, sha256_hex};
use crate::domain::{AttemptId, Origin};
use crate::login::start::{self, Start};
use crate::login::Target;
use crate::oidc::error::{AuthorizeCode, AuthorizeError, ErrorRedirect, TokenCode, TokenError};
use crate::oidc::params::Params;
use crate::oidc::{self, authorize::AuthorizeRequest};
use crate::state::AppState;
use crate::store::{Code, OidcRequest, Redeemed};
use crate::token::{Claims, OidcClaims};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::html;
use milogin_shared::ErrorCode;
use serde_json::json;

/// How long an OpenID Connect request waits for its login to end (the attempt's ten minutes and
/// a binding step's ten).
const REQUEST_LIFETIME_SECS: i64 = 3600;

/// Authorize and token.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pools/{pool}/oidc/authorize",
            get(get_authorize).head(head_refused),
        )
        .route(
            "/pools/{pool}/oidc/token",
            post(post_token).options(token_preflight),
        )
}

/// `HEAD` (link prefetchers) starts nothing, as at the widget's authorize.
async fn head_refused() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

#[tracing::instrument(skip_all, fields(pool = %pool))]
async fn get_authorize(
    State(st): State<AppState>,
    Path(pool): Path<String>,
    RawQuery(raw): RawQuery,
    ClientIp(ip): ClientIp,
    lang: Lang,
    _: RateLimit<AuthorizeRoute>,
) -> Response {
    let Some(pool) = st.config.pool(&pool) else {
        let why = "no such pool: the authorization endpoint is {public_url}/pools/{pool}/oidc/authorize of a configured pool";
        return pages::error_page(StatusCode::NOT_FOUND, lang, ErrorCode::InvalidRequest, why);
    };
    let issuer = st.config.server.issuer(&pool.id);
    let raw = raw.unwrap_or_default();
    let req = match oidc::authorize::check(pool, Params::parse(&raw)) {
        Ok(r) => r,
        Err(e) => return refused(e, lang, &issuer),
    };
    let app = pool
        .app(req.client.as_str())
        .expect("checked: an app of the pool");
    match &req.connection {
        None => picker(pool, app, &raw, lang),
        Some(uid) => begin(&st, pool, app, &req, uid.as_str(), ip)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(why = e.description, "oidc login not started");
                found(&e.location(&issuer))
            }),
    }
}

/// A refused authorization request: the page, or the redirect back to the client.
fn refused(e: AuthorizeError, lang: Lang, issuer: &str) -> Response {
    match e {
        AuthorizeError::Page(why) => {
            tracing::info!(why, "oidc authorize refused with a page");
            let code = ErrorCode::InvalidRequest;
            pages::error_page(StatusCode::BAD_REQUEST, lang, code, &why)
        }
        AuthorizeError::Redirect(e) => {
            let (error, why) = (e.code.as_str(), e.description.as_str());
            tracing::info!(error, why, "oidc authorize refused");
            found(&e.location(issuer))
        }
    }
}

/// Records the request and starts the login (302 to Xiaomi with the binding cookie).
async fn begin(
    st: &AppState,
    pool: &Pool,
    app: &App,
    req: &AuthorizeRequest,
    uid: &str,
    ip: std::net::IpAddr,
) -> Result<Response, ErrorRedirect> {
    let back = |code, description: &str| ErrorRedirect {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        code,
        description: description.to_owned(),
    };
    let connection = pool.connection(uid).ok_or_else(|| {
        back(
            AuthorizeCode::ServerError,
            "the app's connection is not configured",
        )
    })?;
    let attempt =
        AttemptId::parse(&random_token()).expect("43 base64url characters are an attempt id");
    let now = st.clock.now();
    let record = OidcRequest {
        attempt: attempt.clone(),
        pool: pool.id.clone(),
        client: app.id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        nonce: req.nonce.clone(),
        challenge: req.challenge.as_ref().map(|c| c.as_str().to_owned()),
        scope: req.scope.clone(),
        expires_at: now + REQUEST_LIFETIME_SECS,
    };
    st.store
        .insert_oidc_request(&record, now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot record the oidc request");
            back(
                AuthorizeCode::ServerError,
                "the login could not be recorded; try again",
            )
        })?;
    let s = Start {
        pool,
        app,
        connection,
        target: Target::Oidc(req.redirect_uri.clone()),
        attempt,
    };
    let started = start::start(st, &s, ip).await.map_err(|e| {
        tracing::warn!(error = %e, "oidc attempt refused");
        back(
            AuthorizeCode::TemporarilyUnavailable,
            "too many logins are in progress; try again in a minute",
        )
    })?;
    let mut r = found(&started.location);
    let ttl = st.config.server.attempt_ttl_secs as i64;
    let cookie = (started.cookie_name.as_str(), started.cookie_value.as_str());
    set_cookie(st, r.headers_mut(), cookie, ttl, SameSite::Lax);
    Ok(r)
}

/// The app's connections as links: the same request with `connection=` added.
fn picker(pool: &Pool, app: &App, raw: &str, lang: Lang) -> Response {
    let choices: Vec<(String, &str)> = app
        .connections
        .iter()
        .filter_map(|u| pool.connection(u.as_str()))
        .map(|c| {
            let href = format!("?{raw}&connection={}", c.unique_id.as_str());
            (href, c.display_name.for_locale(lang.tag()))
        })
        .collect();
    let title = lang.pick("Choose how to log in", "选择登录方式");
    let body = html! {
        h1 { (title) }
        @if let Some(name) = app.shown_name() { p { (name) } }
        @for (href, label) in &choices { p { a href=(href) { (label) } } }
    };
    pages::html_page(Page {
        status: StatusCode::OK,
        lang: lang.tag(),
        title,
        body,
        head: html! {},
        script: None,
        style_extra: "",
        form_action: "'none'",
        sources: NO_SOURCES,
    })
}

/// A token endpoint error (RFC 6749 §5.2).
fn token_error(st: &AppState, pool: &str, e: &TokenError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "error": e.code.as_str(), "error_description": e.description });
    let mut r = (status, Json(body)).into_response();
    let h = r.headers_mut();
    no_store(h);
    if let Some(v) = e.www_authenticate(&st.config.server.issuer(pool)) {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("Basic")),
        );
    }
    r
}

fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[tracing::instrument(skip_all, fields(pool = %pool))]
async fn post_token(
    State(st): State<AppState>,
    Path(pool): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(wait) = super::respond::take(&st, &st.limiters.callback, "oidc_token", ip) {
        let e = TokenError::new(TokenCode::InvalidRequest, "too many requests; retry later");
        let mut r = token_error(&st, &pool, &e);
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        super::respond::retry_after(&mut r, wait);
        return r;
    }
    let Some(pool_config) = st.config.pool(&pool) else {
        let e = TokenError::new(TokenCode::InvalidClient, "no such pool");
        return token_error(&st, &pool, &e);
    };
    match exchange(&st, pool_config, &headers, &body).await {
        Ok((answer, app)) => {
            let mut r = Json(answer).into_response();
            no_store(r.headers_mut());
            cors(
                r.headers_mut(),
                cors_origin(&headers, pool_config, Some(app)),
            );
            r
        }
        Err(e) => {
            tracing::info!(
                error = e.code.as_str(),
                why = e.description,
                "token request refused"
            );
            let mut r = token_error(&st, &pool, &e);
            cors(r.headers_mut(), cors_origin(&headers, pool_config, None));
            r
        }
    }
}

/// The request's `Origin` when it is registered (in its normal form) for `app`, or for any app of
/// the pool when the client is not known yet (a preflight, an error): a public client in a page
/// of its own origin redeems its code here.
fn cors_origin(headers: &HeaderMap, pool: &Pool, app: Option<&App>) -> Option<HeaderValue> {
    let raw = headers.get(header::ORIGIN)?.to_str().ok()?;
    let origin = Origin::parse(raw).ok().filter(|o| o.as_str() == raw)?;
    let registered = match app {
        Some(a) => a.allows_origin(&origin),
        None => pool.apps.iter().any(|a| a.allows_origin(&origin)),
    };
    registered
        .then(|| HeaderValue::from_str(raw).ok())
        .flatten()
}

/// `Access-Control-Allow-Origin` for `origin` (and `Vary: Origin` always: the answer depends on it).
fn cors(h: &mut HeaderMap, origin: Option<HeaderValue>) {
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
}

/// The CORS preflight of the token endpoint: `POST` with `Content-Type` from a registered origin.
async fn token_preflight(
    State(st): State<AppState>,
    Path(pool): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let origin = st
        .config
        .pool(&pool)
        .and_then(|p| cors_origin(&headers, p, None));
    let h = r.headers_mut();
    if origin.is_some() {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    cors(h, origin);
    r
}

/// Authenticates the client, redeems the code, signs the tokens.
async fn exchange<'p>(
    st: &AppState,
    pool: &'p Pool,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(serde_json::Value, &'p App), TokenError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "send the token request as application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| TokenError::new(TokenCode::InvalidRequest, "the body is not UTF-8"))?;
    let params = Params::parse(text)
        .map_err(|(e, _)| TokenError::new(TokenCode::InvalidRequest, e.to_string()))?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let presented = oidc::client::presented(authorization, &params)?;
    let app = oidc::client::authenticate(pool, &presented)?;
    let req = oidc::grant::parse(&params)?;
    let now = st.clock.now();
    let internal = |e: crate::store::StoreError| {
        tracing::error!(error = %e, "token endpoint: database");
        TokenError::new(
            TokenCode::InvalidRequest,
            "the code could not be checked; try again",
        )
    };
    let found = st
        .store
        .redeem_code(&sha256_hex(&req.code), now)
        .await
        .map_err(internal)?;
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
    let code = oidc::grant::accept(found, app, &req)?;
    let user = st
        .store
        .user(&pool.id, &code.user_id)
        .await
        .map_err(internal)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| {
            TokenError::new(
                TokenCode::InvalidGrant,
                "the user no longer exists or is disabled",
            )
        })?;
    Ok((tokens(st, pool, app, &code, &user, now).await?, app))
}

/// The answer of a redeemed code: an id_token (`nonce`, `auth_time`, `azp`) and an access token
/// for the pool's userinfo endpoint, both signed with the pool's current key.
async fn tokens(
    st: &AppState,
    pool: &Pool,
    app: &App,
    code: &Code,
    user: &crate::store::User,
    now: i64,
) -> Result<serde_json::Value, TokenError> {
    let issuer = st.config.server.issuer(&pool.id);
    let key = st.keys.signer(&pool.id, now).await.ok_or_else(|| {
        tracing::error!("no signing key for the pool");
        TokenError::new(TokenCode::InvalidRequest, "no signing key; try again")
    })?;
    let base = Claims {
        iss: issuer.clone(),
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
    };
    let access = Claims {
        aud: oidc::userinfo_audience(&issuer),
        exp: now + oidc::ACCESS_TOKEN_LIFETIME_SECS,
        nonce: String::new(),
        oidc: OidcClaims {
            azp: Some(app.id.to_string()),
            scope: Some(code.scope.clone()),
            token_use: Some("access".into()),
            auth_time: None,
        },
        ..base.clone()
    };
    tracing::info!(client = %app.id, user = %user.id, "authorization code redeemed");
    // The widget's fields too (a result message: RFC 6749 §5.1 allows more parameters), so the
    // tab that redeems the code of redirect mode or the return page reads the user as the popup's
    // message gives it.
    Ok(json!({
        "access_token": key.sign(&access),
        "token_type": "Bearer",
        "expires_in": oidc::ACCESS_TOKEN_LIFETIME_SECS,
        "id_token": key.sign(&base),
        "scope": code.scope,
        "type": milogin_shared::MESSAGE_TYPE,
        "version": milogin_shared::MESSAGE_VERSION,
        "attempt": code.nonce,
        "ok": true,
        "user": {
            "id": user.id,
            "nickname": user.nickname,
            "avatar": user.avatar,
            "connection": code.connection.to_string(),
            "new_user": code.new_user,
        },
    }))
}

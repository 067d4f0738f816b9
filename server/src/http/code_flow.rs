//! OpenID Connect's authorization code flow (issue 21) in HTTP: `GET /pools/{pool}/oidc/authorize`
//! and `POST /pools/{pool}/oidc/token`. The checks are `crate::oidc`'s, the flow is
//! `crate::login::code`'s; this module extracts, calls and renders.
//!
//! **authorize**: the request is checked ([`oidc::authorize::check`]): an unknown client or an
//! unregistered redirect URI gets an error page, anything else wrong goes back to the redirect
//! URI (`error`, `error_description`, `state`, `iss`). A good request begins its login
//! (`crate::login::code::begin`: 302 to the provider with the binding cookie); with several
//! connections and no `connection=`, a page lets the person pick. When that login ends,
//! `super::code_delivery` answers with the code.
//!
//! **token**: the form is read here (its type, UTF-8, each parameter once) and redeemed by
//! `crate::login::code::exchange`. Answers carry `Cache-Control: no-store`, and CORS for the
//! client's registered origins (a public client in a page redeems its code there).

use super::cause::log_code_cause;
use super::code_delivery::{found, returned};
use super::extract::ClientIp;
use super::extract::{AuthorizeRoute, RateLimit};
use super::pages::{self, Lang, Page, NO_SOURCES};
use super::respond::{set_cookie, SameSite};
use crate::config::{App, Pool};
use crate::domain::Origin;
use crate::login::code::begin::{begin, Begin};
use crate::login::code::exchange::exchange;
use crate::login::code::CodeError;
use crate::oidc::error::{AuthorizeError, TokenCode, TokenError};
use crate::oidc::params::Params;
use crate::oidc::{self, authorize::AuthorizeRequest};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::html;
use milogin_shared::ErrorCode;
use serde_json::json;

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
        Some(uid) => start(&st, pool, app, &req, uid.as_str(), ip).await,
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

/// Begins the login of a checked request: 302 to the provider with the binding cookie, or the
/// error back to the client.
async fn start(
    st: &AppState,
    pool: &Pool,
    app: &App,
    request: &AuthorizeRequest,
    connection: &str,
    ip: std::net::IpAddr,
) -> Response {
    let b = Begin {
        pool,
        app,
        request,
        connection,
    };
    match begin(st, &b, ip).await {
        Ok(started) => {
            let mut r = found(&started.location);
            let ttl = st.config.server.attempt_ttl_secs as i64;
            let cookie = (started.cookie_name.as_str(), started.cookie_value.as_str());
            set_cookie(st, r.headers_mut(), cookie, ttl, SameSite::Lax);
            r
        }
        Err(back) => returned(&back),
    }
}

/// The app's connections as links: the same request with `connection=` added.
fn picker(pool: &Pool, app: &App, raw: &str, lang: Lang) -> Response {
    let choices: Vec<(String, &str)> = app
        .connections
        .iter()
        .filter_map(|u| pool.connection(u.as_str()))
        .map(|c| {
            let href = format!("?{raw}&connection={}", c.unique_id.as_str());
            (href, c.label(lang.tag()))
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
    if let Err(wait) = super::respond::take(&st, &st.limiters.token, "oidc_token", ip) {
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
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let redeemed = match form(&headers, &body) {
        Ok(params) => exchange(&st, pool_config, authorization, &params).await,
        Err(e) => Err(e.into()),
    };
    match redeemed {
        Ok(done) => {
            let mut r = Json(done.answer).into_response();
            no_store(r.headers_mut());
            let origin = cors_origin(&headers, pool_config, Some(done.app));
            cors(r.headers_mut(), origin);
            r
        }
        Err(e) => token_refused(&st, &pool, &e, cors_origin(&headers, pool_config, None)),
    }
}

/// The token request's form: `application/x-www-form-urlencoded`, UTF-8, each parameter once.
fn form(headers: &HeaderMap, body: &[u8]) -> Result<Params, TokenError> {
    let invalid = |d: String| TokenError::new(TokenCode::InvalidRequest, d);
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        let d = "send the token request as application/x-www-form-urlencoded";
        return Err(invalid(d.to_owned()));
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid("the body is not UTF-8".into()))?;
    Params::parse(text).map_err(|(e, _)| invalid(e.to_string()))
}

/// A refused token request: its cause logged, the RFC 6749 §5.2 answer (with CORS).
fn token_refused(
    st: &AppState,
    pool: &str,
    e: &CodeError,
    origin: Option<HeaderValue>,
) -> Response {
    let answer = e.token_error();
    log_code_cause(e, answer.code.as_str());
    let (error, why) = (answer.code.as_str(), answer.description.as_str());
    tracing::info!(error, why, "token request refused");
    let mut r = token_error(st, pool, &answer);
    cors(r.headers_mut(), origin);
    r
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

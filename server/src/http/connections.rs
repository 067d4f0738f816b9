//! `GET /api/v1/pools/{pool}/apps/{app}/connections[?locale=zh-CN]`: what the button shows by
//! default, in its language, and — the widget asks it before any login — whether the button's
//! settings can work at all. The list is readable (CORS) only by the app's registered origins;
//! every refusal is readable by any page, as JSON with a code the widget fires at once instead of
//! opening a dead-end login window: `unknown_pool`, `unknown_app` (404), `origin_not_allowed`
//! (403, for a browser request from an unregistered origin). A refusal reveals nothing a page does
//! not hold (its own origin, the ids it sent). `X-Milogin-Return-Page: 1` says the app registered
//! a return page for the caller's origin, so a login window cut off from the page can still
//! deliver (the widget waits for it instead of calling a quick close a cancel).
//!
//! CORS is written out here rather than with tower-http's `CorsLayer`: the allowed origins depend
//! on the path's pool and app (a `CorsLayer` predicate would need the configuration and a second
//! parse of the path), and unknown pools and apps answer `*` on purpose (see [`unknown`]).

use crate::config::{App, Pool};
use crate::domain::Origin;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use milogin_shared::{ConnectionInfo, ErrorCode};
use serde::Deserialize;

/// The connections list.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/pools/{pool}/apps/{app}/connections",
        get(get_connections),
    )
}

/// The query: the button's language.
#[derive(Deserialize)]
struct LocaleQuery {
    locale: Option<String>,
}

/// The name of the header that says a return page is registered for the caller's origin.
const RETURN_PAGE: &str = "x-milogin-return-page";

/// What a refusal is about, for its log line: the ids the page sent and its origin, cut (they
/// are the page's words, recorded as plain strings; absent ones are left out).
struct Asked<'a> {
    pool: &'a str,
    app: &'a str,
    origin: Option<&'a str>,
}

/// A refusal the widget reads from any page (`Access-Control-Allow-Origin: *`): `{code, message}`.
/// Logged at `info` once, so the operator sees a site's wrong pool or app id or its unregistered
/// origin before anyone clicks (the widget asks this before any login).
fn refused(status: StatusCode, code: ErrorCode, message: String, asked: &Asked) -> Response {
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    tracing::info!(
        reason = code.as_str(),
        pool = cut(asked.pool, 64),
        app = cut(asked.app, 64),
        origin = asked.origin.map(|o| cut(o, 200)),
        "connections refused"
    );
    let body = serde_json::json!({ "code": code.as_str(), "message": message });
    let mut r = (status, Json(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn get_connections(
    State(st): State<AppState>,
    Path((pool_id, app_id)): Path<(String, String)>,
    Query(q): Query<LocaleQuery>,
    headers: HeaderMap,
) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let locale = q.locale.as_deref().unwrap_or("en");
    answer(&st, (&pool_id, &app_id), origin, OwnOrigin::Allowed, locale)
}

/// Whether a request from the server's own origin counts as a registered origin.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnOrigin {
    /// Yes: the server's own pages (the hosted login page, the designer's previews) show the
    /// button.
    Allowed,
    /// No: the question is whether a *site* of that origin may use the app (`/designer/check`).
    AsAnySite,
}

/// What the list answers a request from `origin` (the `Origin` header; `None`: not a browser's
/// cross-origin request) for `pool_id`/`app_id`, in `locale`. Also what `/designer/check`
/// answers for the origin it is asked about, so the designer shows nothing this list does not.
pub(super) fn answer(
    st: &AppState,
    (pool_id, app_id): (&str, &str),
    origin: Option<&str>,
    own: OwnOrigin,
    locale: &str,
) -> Response {
    let asked = Asked {
        pool: pool_id,
        app: app_id,
        origin,
    };
    let Some(pool) = st.config.pool(pool_id) else {
        return refused(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownPool,
            format!("The server has no pool {pool_id:?}: fix the button's pool attribute, or add the pool to the server config ([[pools]] id)."),
            &asked,
        );
    };
    let Some(app) = pool.app(app_id) else {
        return refused(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownApp,
            format!("Pool {pool_id:?} has no app {app_id:?}: fix the button's app attribute, or add the app to the pool ([[pools.apps]] id)."),
            &asked,
        );
    };
    // A browser's request from a page the app does not list: say so, readably.
    let parsed = origin.and_then(|o| Origin::parse(o).ok());
    let ours = st.config.server.public_url.origin().ascii_serialization();
    let allowed = parsed.as_ref().is_some_and(|o| app.allows_origin(o))
        || (own == OwnOrigin::Allowed && origin == Some(ours.as_str()));
    if let Some(origin) = origin.filter(|_| !allowed) {
        // `Origin: null`: a `file://` page or a sandboxed frame, which no config can register.
        let message = if origin == "null" {
            format!("This page has no origin (a file:// page, or a sandboxed frame): serve the page over http(s) from an origin listed in pools.apps.origins of app {app_id:?}.")
        } else {
            format!("This page's origin {origin:?} is not registered for app {app_id:?}: add it to pools.apps.origins of that app in the server config.")
        };
        return refused(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            message,
            &asked,
        );
    }
    listed(pool, app, locale, origin, parsed.as_ref())
}

/// The list itself: the app's connections in `locale`, readable by `origin` (CORS), with whether
/// that origin has a return page (`X-Milogin-Return-Page`).
fn listed(
    pool: &Pool,
    app: &App,
    locale: &str,
    origin: Option<&str>,
    parsed: Option<&Origin>,
) -> Response {
    let list: Vec<ConnectionInfo> = app
        .connections
        .iter()
        .filter_map(|uid| pool.connection(uid))
        .map(|c| ConnectionInfo {
            unique_id: c.unique_id.to_string(),
            kind: c.provider.kind().as_str().into(),
            display_name: c.label(locale).to_owned(),
        })
        .collect();
    let mut r = Json(list).into_response();
    let h = r.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if let Some(origin) = origin {
        if let Ok(v) = HeaderValue::from_str(origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        let return_page = parsed.is_some_and(|o| app.return_uri(o).is_some());
        h.insert(
            RETURN_PAGE,
            HeaderValue::from_static(if return_page { "1" } else { "0" }),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(RETURN_PAGE),
        );
    }
    r
}

//! The hosted login page (the experience-login page is `super::try_login`):
//!
//! - `GET /login/{pool}?app_id=…[&mode=popup|redirect&redirect_uri=…&attempt=…&origin=…&lang=…]`,
//!   the hosted login page: the app's connections as `<milogin-button>`s, loaded from our own
//!   origin only (strict CSP). Opened as a popup by a host page (with `origin` + `attempt`), its
//!   buttons continue *in that window* with the host's origin and attempt, so the login
//!   ends exactly like a direct popup login; opened by redirect, it logs in in redirect mode
//!   (with the host page's `attempt` when given, so the widget there accepts the result).

use super::pages::{self, escape_html, html_page, Page};
use crate::config::TRY_APP;
use crate::domain::mode::Mode;
use crate::domain::{AttemptId, Origin};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use milogin_shared::ErrorCode;
use serde::Deserialize;

/// The hosted login page.
pub fn router() -> Router<AppState> {
    Router::new().route("/login/{pool}", get(get_login_page))
}

/// The hosted page's query.
#[derive(Deserialize)]
struct LoginQuery {
    app_id: Option<String>,
    mode: Option<String>,
    redirect_uri: Option<String>,
    attempt: Option<String>,
    origin: Option<String>,
    lang: Option<String>,
}

/// `zh-CN` when asked (query) or preferred (`Accept-Language`), else `en`.
pub fn locale(query: Option<&str>, headers: &HeaderMap) -> &'static str {
    let wanted = query.map(str::to_owned).or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    if wanted.is_some_and(|l| l.trim_start().to_ascii_lowercase().starts_with("zh")) {
        "zh-CN"
    } else {
        "en"
    }
}

fn attr(name: &str, v: &str) -> String {
    format!(" {name}=\"{}\"", escape_html(v))
}

async fn get_login_page(
    State(st): State<AppState>,
    Path(pool_id): Path<String>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(pool) = st.config.pool(&pool_id) else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            ErrorCode::ConnectionNotEnabled,
            "Unknown pool.",
        );
    };
    let Some(app) = q
        .app_id
        .as_deref()
        .filter(|a| *a != TRY_APP)
        .and_then(|a| pool.app(a))
    else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            ErrorCode::ConnectionNotEnabled,
            "Unknown app in this pool.",
        );
    };
    let lang = locale(q.lang.as_deref(), &headers);
    let base =
        attr("pool", &pool.id) + &attr("app", &app.id) + &attr("locale", lang) + " size=\"large\"";
    let common = match mode_attributes(app, &q) {
        Ok(extra) => base + &extra,
        Err((code, msg)) => return pages::error_page(StatusCode::BAD_REQUEST, code, msg),
    };
    let buttons: String = app
        .connections
        .iter()
        .filter_map(|uid| pool.connection(uid))
        .map(|c| {
            format!(
                "<li><milogin-button{common}{}></milogin-button></li>",
                attr("connection", &c.unique_id)
            )
        })
        .collect();
    let (title, other, other_label) = if lang == "zh-CN" {
        ("登录", "en", "English")
    } else {
        ("Sign in", "zh-CN", "中文")
    };
    let mut switch: Vec<(String, String)> = form_urlencoded::parse(headers_query(&q).as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "lang")
        .collect();
    switch.push(("lang".into(), other.into()));
    let switch = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(switch)
        .finish();
    let body = format!(
        "<h1>{title}</h1><p class=\"code\">{}</p><ul class=\"buttons\">{buttons}</ul><p><a id=\"lang-switch\" href=\"?{}\" lang=\"{other}\">{other_label}</a></p>",
        escape_html(&app.id),
        escape_html(&switch)
    );
    let head = format!(
        "<script type=\"module\" src=\"{}/widget/milogin.js\"></script>",
        st.config.server.base()
    );
    html_page(&Page {
        status: StatusCode::OK,
        lang,
        title,
        body_html: &body,
        head_extra: &head,
        script: None,
        style_extra: "ul.buttons{list-style:none;padding:0;margin:18px 0;display:grid;gap:10px}a{color:#ff6900}",
        form_action: "'none'",
        sources: ("'self' 'wasm-unsafe-eval'", "'self'", "data:"),
    })
}

/// The button attributes of the page's mode: popup (the host's origin and attempt, checked
/// against the app) or redirect (a registered `redirect_uri`, the host's attempt if given).
fn mode_attributes(
    app: &crate::config::App,
    q: &LoginQuery,
) -> Result<String, (ErrorCode, &'static str)> {
    let mut extra = String::new();
    // Without `mode`, a page opened with the host's origin is a popup.
    let default = if q.origin.is_some() {
        Mode::Popup
    } else {
        Mode::Redirect
    };
    match q.mode.as_deref().map_or(Some(default), Mode::parse) {
        Some(Mode::Popup) => {
            let (Some(origin), Some(attempt)) = (q.origin.as_deref(), q.attempt.as_deref()) else {
                return Err((
                    ErrorCode::InvalidRequest,
                    "Opened as a popup, the page needs the host page's origin and attempt.",
                ));
            };
            if !Origin::parse(origin).is_ok_and(|o| app.allows_origin(&o)) {
                return Err((
                    ErrorCode::OriginNotAllowed,
                    "This site's origin is not registered for the app (pools.apps.origins).",
                ));
            }
            if AttemptId::parse(attempt).is_err() {
                return Err((
                    ErrorCode::InvalidRequest,
                    "The attempt parameter must be 16–128 characters of A-Z, a-z, 0-9, '-', '_'.",
                ));
            }
            extra += &(attr("hosted-origin", origin) + &attr("hosted-attempt", attempt));
        }
        Some(Mode::Redirect) => {
            // Without `redirect_uri` (the plain `/login/{pool}?app_id=…` link): back to the app's
            // first registered redirect URI.
            let uri = match q.redirect_uri.as_deref() {
                None => app.redirect_uris.first().map(String::as_str).ok_or((
                    ErrorCode::InvalidRequest,
                    "This app has no redirect URI to come back to: add redirect_uri=… (registered in pools.apps.redirect_uris), register one there, or open this page as a popup with origin=… and attempt=….",
                ))?,
                Some(u) if app.allows_redirect_uri(u) => u,
                Some(_) => return Err((ErrorCode::OriginNotAllowed, "This redirect_uri is not registered for the app: add it to pools.apps.redirect_uris, or leave it out to come back to the app's first registered one.")),
            };
            extra += &(" mode=\"redirect\"".to_string() + &attr("redirect-uri", uri));
            // The host page's attempt (the widget's `loginPage()` remembers it), so the widget on
            // the redirect page accepts the result; without one each button draws its own.
            if let Some(attempt) = q.attempt.as_deref() {
                if AttemptId::parse(attempt).is_err() {
                    return Err((ErrorCode::InvalidRequest, "The attempt parameter must be 16–128 characters of A-Z, a-z, 0-9, '-', '_'."));
                }
                extra += &attr("hosted-attempt", attempt);
            }
        }
        None => return Err((ErrorCode::InvalidRequest, "mode must be popup or redirect.")),
    }
    Ok(extra)
}

/// The query of the hosted page, re-serialised for the language switch.
fn headers_query(q: &LoginQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("app_id", &q.app_id),
        ("mode", &q.mode),
        ("redirect_uri", &q.redirect_uri),
        ("attempt", &q.attempt),
        ("origin", &q.origin),
    ] {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

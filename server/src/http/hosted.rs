//! The hosted login page (the experience-login page is `super::try_login`):
//!
//! - `GET /login/{pool}?app_id=…[&mode=popup|redirect&redirect_uri=…&attempt=…&origin=…&lang=…]`,
//!   the hosted login page: the app's connections as `<milogin-button>`s, loaded from our own
//!   origin only (strict CSP). Opened as a popup by a host page (with `origin` + `attempt`), its
//!   buttons continue *in that window* with the host's origin and attempt, so the login
//!   ends exactly like a direct popup login; opened by redirect, it logs in in redirect mode
//!   (with the host page's `attempt` when given, so the widget there accepts the result).

use super::pages::{self, html_page, Lang, Page};
use crate::config::TRY_APP;
use crate::domain::mode::Mode;
use crate::domain::{AttemptId, Origin};
use crate::login::start::Refusal;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::html;
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
    /// Redirect mode: the host tab's PKCE challenge (`loginPage()`), for its button's authorize.
    code_challenge: Option<String>,
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

/// The button attributes that depend on the page's mode.
#[derive(Default)]
struct ModeAttributes<'q> {
    /// `mode="redirect"`.
    redirect: bool,
    redirect_uri: Option<&'q str>,
    hosted_origin: Option<&'q str>,
    hosted_attempt: Option<&'q str>,
    hosted_challenge: Option<&'q str>,
}

async fn get_login_page(
    State(st): State<AppState>,
    Path(pool_id): Path<String>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let locale = locale(q.lang.as_deref(), &headers);
    let lang = if locale == "zh-CN" {
        Lang::Zh
    } else {
        Lang::En
    };
    let Some(pool) = st.config.pool(&pool_id) else {
        let refusal = Refusal::UnknownPool { pool: pool_id };
        return pages::refusal_page(StatusCode::NOT_FOUND, lang, &refusal);
    };
    let Some(app) = q
        .app_id
        .as_deref()
        .filter(|a| *a != TRY_APP)
        .and_then(|a| pool.app(a))
    else {
        let refusal = Refusal::UnknownApp {
            pool: pool.id.to_string(),
            app: q.app_id.clone(),
        };
        return pages::refusal_page(StatusCode::NOT_FOUND, lang, &refusal);
    };
    match mode_attributes(pool, app, &q) {
        Ok(m) => login_page(&st, (pool, app), &m, (locale, lang), &q),
        Err(refusal) => pages::refusal_page(StatusCode::BAD_REQUEST, lang, &refusal),
    }
}

/// The page: one button per connection of the app, the app's name, the language switch.
fn login_page(
    st: &AppState,
    (pool, app): (&crate::config::Pool, &crate::config::App),
    m: &ModeAttributes<'_>,
    (locale, lang): (&'static str, Lang),
    q: &LoginQuery,
) -> Response {
    let (title, other, other_label) =
        lang.pick(("Sign in", "zh-CN", "中文"), ("登录", "en", "English"));
    let connections = app
        .connections
        .iter()
        .filter_map(|uid| pool.connection(uid));
    // The site's name (or host), as people know it: the app id is the operator's word.
    let continue_to = app
        .shown_name()
        .map(|name| lang.pick(("to continue to ", name.clone()), ("以继续访问 ", name)));
    let body = html! {
        h1 { (title) }
        @if let Some((before, name)) = continue_to {
            p id="app-name" { (before) strong { (name) } }
        }
        ul class="buttons" {
            @for c in connections {
                li {
                    milogin-button pool=(pool.id) app=(app.id) locale=(locale) size="large"
                        mode=[m.redirect.then_some("redirect")] redirect-uri=[m.redirect_uri]
                        hosted-origin=[m.hosted_origin] hosted-attempt=[m.hosted_attempt]
                        hosted-challenge=[m.hosted_challenge]
                        connection=(c.unique_id) {}
                }
            }
        }
        p { a id="lang-switch" href={ "?" (switched_query(q, other)) } lang=(other) { (other_label) } }
    };
    let widget = format!("{}/widget/milogin.js", st.config.server.base());
    html_page(Page {
        status: StatusCode::OK,
        lang: locale,
        title,
        body,
        head: html! { script type="module" src=(widget) {} },
        script: None,
        style_extra: "ul.buttons{list-style:none;padding:0;margin:18px 0;display:grid;gap:10px}a{color:#ff6900}",
        form_action: "'none'",
        sources: ("'self' 'wasm-unsafe-eval'", "'self'", "data:"),
    })
}

/// The button attributes of the page's mode: popup (the host's origin and attempt, checked
/// against the app) or redirect (a registered `redirect_uri`, the host's attempt if given).
fn mode_attributes<'q>(
    pool: &crate::config::Pool,
    app: &'q crate::config::App,
    q: &'q LoginQuery,
) -> Result<ModeAttributes<'q>, Refusal> {
    // Without `mode`, a page opened with the host's origin is a popup.
    let default = if q.origin.is_some() {
        Mode::Popup
    } else {
        Mode::Redirect
    };
    let attempt = q.attempt.as_deref();
    if attempt.is_some_and(|a| AttemptId::parse(a).is_err()) {
        return Err(Refusal::BadAttempt);
    }
    match q.mode.as_deref().map_or(Some(default), Mode::parse) {
        Some(Mode::Popup) => {
            let origin = q.origin.as_deref().ok_or(Refusal::MissingOrigin)?;
            if !Origin::parse(origin).is_ok_and(|o| app.allows_origin(&o)) {
                return Err(Refusal::OriginNotAllowed {
                    origin: origin.to_owned(),
                    pool: pool.id.to_string(),
                    app: app.id.to_string(),
                });
            }
            Ok(ModeAttributes {
                hosted_origin: Some(origin),
                hosted_attempt: Some(attempt.ok_or(Refusal::BadAttempt)?),
                ..Default::default()
            })
        }
        Some(Mode::Redirect) => {
            // Without `redirect_uri` (the plain `/login/{pool}?app_id=…` link): back to the app's
            // first registered redirect URI; an app without one gets the page that names it.
            let uri = match q.redirect_uri.as_deref() {
                Some(u) => u,
                None => app
                    .redirect_uris
                    .first()
                    .map(String::as_str)
                    .ok_or(Refusal::MissingRedirectUri)?,
            };
            if !app.allows_redirect_uri(uri) {
                return Err(Refusal::RedirectUriNotAllowed {
                    uri: uri.to_owned(),
                    pool: pool.id.to_string(),
                    app: app.id.to_string(),
                });
            }
            // The host page's attempt (the widget's `loginPage()` remembers it), so the widget on
            // the redirect page accepts the result; without one each button draws its own.
            Ok(ModeAttributes {
                redirect: true,
                redirect_uri: Some(uri),
                hosted_attempt: attempt,
                hosted_challenge: q.code_challenge.as_deref(),
                ..Default::default()
            })
        }
        Some(Mode::Oidc) | None => Err(Refusal::BadMode),
    }
}

/// The query of the hosted page, re-serialised for the language switch (to `lang`).
fn switched_query(q: &LoginQuery, lang: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("app_id", &q.app_id),
        ("mode", &q.mode),
        ("redirect_uri", &q.redirect_uri),
        ("attempt", &q.attempt),
        ("origin", &q.origin),
        ("code_challenge", &q.code_challenge),
    ] {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.append_pair("lang", lang);
    s.finish()
}

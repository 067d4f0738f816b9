//! Answers every login route shares: a result delivered to its target (popup page or redirect
//! fragment, with a one-time code in place of the token), a [`LoginError`] as a result or an
//! error page with its cause logged as a chain (`super::cause`), `Set-Cookie` for the login's
//! cookies (built by the `cookie` crate), and a rate limit's token with `Retry-After` (the 429
//! page is `super::extract::RateLimit`).

use super::cause::{log_cause, log_code_cause};
use super::pages::{self, Lang};
use crate::limits::RateLimiter;
use crate::login::code::widget::{self, Issued};
use crate::login::{LoginError, Target};
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::Cookie;
pub use cookie::SameSite;
use milogin_shared::{ErrorCode, Outcome, ResultMessage};
use std::net::IpAddr;
use std::time::Duration;

/// A login cookie as a `Set-Cookie` value: `HttpOnly; Path=/`, `Secure` over https (the name
/// then carries `__Host-`). `max_age` 0 removes it. `SameSite::Lax` for the attempt's binding
/// cookie (it must ride Xiaomi's top-level redirect back), `Strict` for cookies only our own
/// pages send.
pub fn cookie_header(
    st: &AppState,
    (name, value): (&str, &str),
    max_age: i64,
    same_site: SameSite,
) -> Option<HeaderValue> {
    let c = Cookie::build((name, value))
        .max_age(cookie::time::Duration::seconds(max_age))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .secure(st.config.server.secure_cookies())
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// Appends [`cookie_header`] to `h`.
pub fn set_cookie(
    st: &AppState,
    h: &mut HeaderMap,
    cookie: (&str, &str),
    max_age: i64,
    same_site: SameSite,
) {
    if let Some(v) = cookie_header(st, cookie, max_age, same_site) {
        h.append(header::SET_COOKIE, v);
    }
}

/// The end of a login (callback or binding step): counts it and delivers it. A result that goes
/// to a page of the app through its address (redirect mode, the return page) carries a one-time
/// code there, never the token (`crate::login::code::widget`).
pub async fn conclude(
    st: &AppState,
    target: &Target,
    m: &ResultMessage,
    lang: Lang,
    popup_status: StatusCode,
) -> Response {
    match &m.outcome {
        Outcome::Success { .. } => st.metrics.login(true, "none"),
        Outcome::Failure(e) => st.metrics.login(false, e.code.as_str()),
    }
    if let Target::Oidc(uri) = target {
        return super::code_delivery::deliver(st, uri, m, lang).await;
    }
    let issued = widget::code_for(st, target, m).await.unwrap_or_else(|e| {
        log_code_cause(&e, ErrorCode::Internal.as_str());
        Issued::Failed
    });
    send(target, m, lang, popup_status, &issued)
}

/// The result of a login that failed with `error`, its cause logged ([`log_cause`]).
pub fn failure(attempt: &str, error: &LoginError) -> ResultMessage {
    log_cause(error);
    ResultMessage::failure(attempt, error.code())
}

/// The error page of a login refused before its destination was trusted, its cause logged.
pub fn refusal(lang: Lang, error: &LoginError) -> Response {
    log_cause(error);
    let text = error.refusal_text();
    pages::error_page(StatusCode::BAD_REQUEST, lang, error.code(), text)
}

/// Sends the result of a login that ended before it was recorded (a refused start) to its target:
/// the popup page (in `lang`), or a 302 with the error in the fragment.
pub fn deliver(
    target: &Target,
    m: &ResultMessage,
    lang: Lang,
    popup_status: StatusCode,
) -> Response {
    send(target, m, lang, popup_status, &Issued::Nothing)
}

/// The popup page (its return page's address with `issued`'s fragment), or the 302 to redirect
/// mode's URI with it ([`widget::fragment`]).
fn send(
    target: &Target,
    m: &ResultMessage,
    lang: Lang,
    popup_status: StatusCode,
    issued: &Issued,
) -> Response {
    let fragment = || widget::fragment(m, issued);
    match target {
        Target::Popup { origin, return_uri } => {
            let origin = origin.as_ref().map_or("", |o| o.as_str());
            let return_to = return_uri.as_ref().map(|r| {
                let f = form_urlencoded::Serializer::new(String::new())
                    .append_pair("milogin_result", &fragment())
                    .finish();
                format!("{r}#{f}")
            });
            pages::result_page(popup_status, lang, m, origin, return_to.as_deref())
        }
        // Only `conclude` ends an OpenID Connect login (it needs the store); no route that can
        // fail before a login is recorded has this target.
        Target::Oidc(_) => pages::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            lang,
            ErrorCode::Internal,
            "This login cannot be finished here. Please start again from the site.",
        ),
        Target::Redirect(uri) => {
            let location = format!("{uri}#{}", fragment());
            let mut r = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
            pages::secure_headers(r.headers_mut());
            r
        }
    }
}

/// Takes a token from `limiter` for this client; `Err(wait)` (counted and logged) when empty.
pub fn take(
    st: &AppState,
    limiter: &RateLimiter,
    route: &'static str,
    ip: IpAddr,
) -> Result<(), Duration> {
    let wait = limiter.check(ip).err();
    match wait {
        None => Ok(()),
        Some(wait) => {
            st.metrics.limited(route);
            tracing::warn!(route, %ip, "rate limited");
            Err(wait)
        }
    }
}

/// Sets `Retry-After` (whole seconds, at least 1).
pub fn retry_after(r: &mut Response, wait: Duration) {
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
}

//! Answers every login route shares: a result delivered to its target (popup page or redirect
//! fragment), `Set-Cookie` for the login's cookies (built by the `cookie` crate), and a rate
//! limit's token with `Retry-After` (the 429 page is `super::extract::RateLimit`).

use super::pages::{self, Lang};
use crate::domain::{AttemptId, UniqueId};
use crate::limits::RateLimiter;
use crate::login::Target;
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

/// The end of a login (callback or binding step): counts it and delivers it. A success that
/// goes to a page of the app through its address (redirect mode, the return page) carries a
/// one-time code there, issued under the widget's PKCE challenge recorded at authorize.
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
        return super::code_delivery::deliver(st, uri, m).await;
    }
    let code = match target {
        Target::Redirect(_)
        | Target::Popup {
            return_uri: Some(_),
            ..
        } => widget_code(st, m).await,
        _ => None,
    };
    deliver_with(target, m, lang, popup_status, code.as_deref())
}

/// The one-time code of a successful widget login whose authorize carried a PKCE challenge.
async fn widget_code(st: &AppState, m: &ResultMessage) -> Option<String> {
    let Outcome::Success { user, .. } = &m.outcome else {
        return None;
    };
    let attempt = AttemptId::parse(&m.attempt).ok()?;
    let now = st.clock.now();
    let request = match st.store.take_oidc_request(&attempt, now).await {
        Ok(r) => r?,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the widget's pkce request");
            return None;
        }
    };
    request.challenge.as_ref()?;
    let connection = UniqueId::parse(&user.connection).ok()?;
    super::code_delivery::issue(st, &request, &user.id, connection, user.new_user, now).await
}

/// What a page of the app gets in its fragment: `code=…&attempt=…` for a success (with its
/// one-time code), `error=…&error_description=…&attempt=…` otherwise. Never the token.
fn fragment(m: &ResultMessage, code: Option<&str>) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    match (&m.outcome, code) {
        (Outcome::Success { .. }, Some(c)) => {
            f.append_pair("code", c);
        }
        (Outcome::Success { .. }, None) => {
            f.append_pair("error", ErrorCode::InvalidRequest.as_str())
                .append_pair("error_description", NO_CHALLENGE);
        }
        (Outcome::Failure(e), _) => {
            f.append_pair("error", e.code.as_str())
                .append_pair("error_description", &e.message);
        }
    }
    f.append_pair("attempt", &m.attempt);
    f.finish()
}

const NO_CHALLENGE: &str = "This login started without code_challenge, so its result cannot come back through the page's address. Update the widget (milogin.js) and log in again.";

/// Sends a result to its target: the popup page (in `lang`), or a 302 with the error in the
/// fragment (a failure before a login was recorded).
pub fn deliver(
    target: &Target,
    m: &ResultMessage,
    lang: Lang,
    popup_status: StatusCode,
) -> Response {
    deliver_with(target, m, lang, popup_status, None)
}

fn deliver_with(
    target: &Target,
    m: &ResultMessage,
    lang: Lang,
    popup_status: StatusCode,
    code: Option<&str>,
) -> Response {
    match target {
        Target::Popup { origin, return_uri } => {
            let origin = origin.as_ref().map_or("", |o| o.as_str());
            let return_to = return_uri.as_ref().map(|r| {
                let f = form_urlencoded::Serializer::new(String::new())
                    .append_pair("milogin_result", &fragment(m, code))
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
            let mut r = (
                StatusCode::FOUND,
                [(header::LOCATION, format!("{uri}#{}", fragment(m, code)))],
            )
                .into_response();
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

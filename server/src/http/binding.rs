//! `POST /connection/social/{uid}/{pool}/bind`: the form of the "link your Xiaomi account" page
//! (logic in `crate::login::bind`), and [`offer_response`], the callback's answer that shows the page
//! and sets its ticket cookie (`HttpOnly; SameSite=Strict`, `__Host-…; Secure` over https).

use super::extract::{cookie, BindingRoute, RateLimit};
use super::pages::{self, Lang};
use super::params::{Bounded, Form, Params};
use super::respond::{conclude, set_cookie, SameSite};
use crate::login::bind::{self as binding, Action, Answer, Offer, Submission, TICKET_TTL_SECS};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The binding form's endpoint (other methods: 405).
pub fn router() -> Router<AppState> {
    Router::new().route("/connection/social/{uid}/{pool}/bind", post(post_bind))
}

/// The binding page with its ticket cookie (what the callback answers when binding is needed).
pub fn offer_response(st: &AppState, headers: &HeaderMap, offer: &Offer) -> Response {
    let mut r = pages::binding::page(StatusCode::OK, Lang::from_headers(headers), &offer.form);
    let cookie = (offer.cookie_name.as_str(), offer.ticket.expose_secret());
    set_cookie(
        st,
        r.headers_mut(),
        cookie,
        TICKET_TTL_SECS,
        SameSite::Strict,
    );
    r
}

/// The binding form's fields, each at most once and 1 KiB; other fields are ignored.
#[derive(Deserialize)]
pub struct BindForm {
    csrf: Option<Bounded<1024>>,
    #[serde(default)]
    action: Action,
    identifier: Option<Bounded<1024>>,
    password: Option<Bounded<1024>>,
}

impl Params for BindForm {
    const MAX_BYTES: usize = 8192;
}

impl From<BindForm> for Submission {
    fn from(f: BindForm) -> Self {
        let text = |v: Option<Bounded<1024>>| v.map(Bounded::into_inner).unwrap_or_default();
        Self {
            csrf: text(f.csrf),
            action: f.action,
            identifier: text(f.identifier),
            password: SecretString::from(text(f.password)),
        }
    }
}

#[tracing::instrument(skip_all, fields(pool = %pool, connection = %uid))]
async fn post_bind(
    State(st): State<AppState>,
    Path((uid, pool)): Path<(String, String)>,
    _: RateLimit<BindingRoute>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<BindForm>,
) -> Response {
    let sub = Submission::from(form);
    let name = binding::cookie_name(&sub.csrf, st.config.server.secure_cookies());
    match binding::submit(&st, &pool, &uid, sub, |n| cookie(&headers, n)).await {
        Answer::Form(form) => pages::binding::page(StatusCode::OK, lang, &form),
        Answer::Deliver { target, message } => {
            let mut r = conclude(&st, &target, &message, lang, StatusCode::OK).await;
            set_cookie(&st, r.headers_mut(), (&name, ""), 0, SameSite::Strict);
            r
        }
        Answer::Refuse(code, msg) => pages::error_page(StatusCode::BAD_REQUEST, lang, code, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::params::parse;

    fn submission(body: &str) -> Result<Submission, String> {
        parse::<BindForm>(body.as_bytes()).map(Submission::from)
    }

    #[test]
    fn submissions_parse_strictly_and_redact() {
        let s =
            submission("csrf=abc&identifier=alice%40example.com&password=p%26ss+word&action=bind")
                .unwrap();
        assert_eq!(
            (s.csrf.as_str(), s.action, s.identifier.as_str()),
            ("abc", Action::Bind, "alice@example.com")
        );
        assert_eq!(s.password.expose_secret(), "p&ss word");
        let d = format!("{s:?}");
        assert!(!d.contains("abc") && !d.contains("p&ss"), "{d}");
        assert_eq!(
            submission("csrf=a&action=create").unwrap().action,
            Action::Create
        );
        assert_eq!(
            submission("csrf=a&action=cancel").unwrap().action,
            Action::Cancel
        );
        assert!(submission("csrf=a&csrf=b").is_err());
        // A fixed message: the value (read before any CSRF check) is never repeated.
        let unknown = submission("csrf=a&action=Call-0800-planted").unwrap_err();
        assert_eq!(
            unknown,
            "action: unknown form action (expected bind, create or cancel)"
        );
        assert!(submission(&format!("csrf=a&password={}", "x".repeat(2000))).is_err());
        assert!(submission(&"a".repeat(9000)).is_err());
        let empty = submission("").unwrap();
        assert_eq!((empty.csrf.as_str(), empty.action), ("", Action::Bind));
    }
}

//! `POST /connection/social/{uid}/{pool}/bind`: the form of the "link your Xiaomi account" page
//! (logic in `crate::login::bind`), and [`offer_response`], the callback's answer that shows the page
//! and sets its ticket cookie (`HttpOnly; SameSite=Strict`, `__Host-…; Secure` over https).

use super::extract::{cookie, ClientIp};
use super::pages::{self, Lang};
use super::respond::{conclude, failure, rate_limited, refusal, set_cookie, SameSite};
use crate::login::bind::{self as binding, Answer, Offer, TICKET_TTL_SECS};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use milogin_shared::ErrorCode;
use secrecy::ExposeSecret;

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

#[tracing::instrument(skip_all, fields(pool = %pool, connection = %uid))]
async fn post_bind(
    State(st): State<AppState>,
    Path((uid, pool)): Path<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = rate_limited(&st, &st.limiters.binding, ("binding", ip), &headers) {
        return r;
    }
    let lang = Lang::from_headers(&headers);
    let sub = match binding::parse_submission(&body) {
        Ok(s) => s,
        Err(why) => {
            let code = ErrorCode::InvalidRequest;
            return pages::error_page(StatusCode::BAD_REQUEST, lang, code, why);
        }
    };
    let name = binding::cookie_name(&sub.csrf, st.config.server.secure_cookies());
    match binding::submit(&st, &pool, &uid, sub, |n| cookie(&headers, n)).await {
        Answer::Form(form) => pages::binding::page(StatusCode::OK, lang, &form),
        Answer::Deliver { target, message } => {
            let mut r = conclude(&st, &target, &message, lang, StatusCode::OK).await;
            set_cookie(&st, r.headers_mut(), (&name, ""), 0, SameSite::Strict);
            r
        }
        Answer::Fail {
            target,
            attempt,
            error,
        } => {
            let message = failure(&attempt, &error);
            let mut r = conclude(&st, &target, &message, lang, StatusCode::OK).await;
            set_cookie(&st, r.headers_mut(), (&name, ""), 0, SameSite::Strict);
            r
        }
        Answer::Refuse(error) => refusal(lang, &error),
    }
}

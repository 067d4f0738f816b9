//! `POST /connection/social/{uid}/{pool}/bind`: the form of the "link your Xiaomi account" page
//! (logic in `crate::binding`), and [`offer_response`], the callback's answer that shows the page
//! and sets its ticket cookie (`HttpOnly; SameSite=Strict`, `__Host-…; Secure` over https).

use super::login::{conclude, cookie};
use crate::binding::{self, Answer, Offer, TICKET_TTL_SECS};
use crate::client_ip::{rate_limited, ClientIp};
use crate::pages::{self, binding::Lang};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use milogin_shared::ErrorCode;
use secrecy::ExposeSecret;

/// The binding form's endpoint (other methods: 405).
pub fn router() -> Router<AppState> {
    Router::new().route("/connection/social/{uid}/{pool}/bind", post(post_bind))
}

fn ticket_cookie(st: &AppState, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if st.config.server.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// The binding page with its ticket cookie (what the callback answers when binding is needed).
pub fn offer_response(st: &AppState, headers: &HeaderMap, offer: &Offer) -> Response {
    let mut r = pages::binding::page(StatusCode::OK, Lang::from_headers(headers), &offer.form);
    if let Some(v) = ticket_cookie(
        st,
        &offer.cookie_name,
        offer.ticket.expose_secret(),
        TICKET_TTL_SECS,
    ) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
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
    if let Some(r) = rate_limited(&st, &st.limiters.binding, "binding", ip) {
        return r;
    }
    let sub = match binding::parse_submission(&body) {
        Ok(s) => s,
        Err(why) => {
            return pages::error_page(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, why)
        }
    };
    let name = binding::cookie_name(&sub.csrf, st.config.server.secure_cookies());
    match binding::submit(&st, &pool, &uid, sub, |n| cookie(&headers, n)).await {
        Answer::Form(form) => {
            pages::binding::page(StatusCode::OK, Lang::from_headers(&headers), &form)
        }
        Answer::Deliver { target, message } => {
            let mut r = conclude(&st, &target, &message, StatusCode::OK).await;
            if let Some(v) = ticket_cookie(&st, &name, "", 0) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Answer::Refuse(code, msg) => pages::error_page(StatusCode::BAD_REQUEST, code, msg),
    }
}

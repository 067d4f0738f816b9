//! `GET /connection/social/{uid}/{pool}/authorize` and `…/callback`: the browser half of a login.
//! `HEAD` (link prefetchers, X-10/X-29) is refused with 405 and changes nothing.

use crate::client_ip::{rate_limited, ClientIp};
use crate::flow::{self, Finish, Target};
use crate::pages;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use milogin_shared::{ErrorCode, Outcome, ResultMessage};

/// Authorize and callback.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/connection/social/{uid}/{pool}/authorize",
            get(get_authorize).head(head_refused),
        )
        .route(
            "/connection/social/{uid}/{pool}/callback",
            get(get_callback).head(head_refused),
        )
}

async fn head_refused() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

#[tracing::instrument(skip_all, fields(pool = %pool, connection = %uid))]
async fn get_authorize(
    State(st): State<AppState>,
    Path((uid, pool)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = rate_limited(&st, &st.limiters.authorize, "authorize", ip) {
        return r;
    }
    let q = match flow::parse_authorize_query(raw.as_deref()) {
        Ok(q) => q,
        Err(why) => {
            return pages::error_page(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, why)
        }
    };
    if q.app_id.as_deref() == Some(crate::config::TRY_APP) {
        if let Some(refused) = super::hosted::redeem_try_ticket(&st, &pool, &uid, &headers).await {
            return refused;
        }
    }
    let start = match flow::validate_start(&st, &pool, &uid, &q) {
        Ok(s) => s,
        Err((code, msg, Some((target, attempt)))) => {
            return deliver(
                &target,
                &ResultMessage::failure_with(attempt, code, msg),
                StatusCode::BAD_REQUEST,
            )
        }
        Err((code, msg, None)) => {
            let status = if code == ErrorCode::ConnectionNotEnabled {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            return pages::error_page(status, code, msg);
        }
    };
    match flow::start(&st, &start, ip).await {
        Ok(s) => {
            let secure = if st.config.server.secure_cookies() {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{}={}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure}",
                s.cookie_name, s.cookie_value, st.config.server.attempt_ttl_secs
            );
            let mut r = (StatusCode::FOUND, [(header::LOCATION, s.location)]).into_response();
            let h = r.headers_mut();
            h.insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("ascii cookie"),
            );
            pages::secure_headers(h);
            r
        }
        Err(flow::StartError::Taken) => {
            // A second attempt under a recorded id: a replayed or leaked popup URL.
            tracing::warn!("authorize with an attempt id that was already used");
            let m = ResultMessage::failure_with(
                &start.attempt,
                ErrorCode::InvalidRequest,
                "This login was already started (each attempt is used once). Close this window and click the button again.",
            );
            deliver(&start.target, &m, StatusCode::CONFLICT)
        }
        Err(e) => {
            if let flow::StartError::Store(_) = e {
                tracing::error!(error = %e, "cannot record the attempt");
            } else {
                tracing::warn!(error = %e, "attempt refused");
            }
            let m = match e {
                flow::StartError::Busy => ResultMessage::failure_with(
                    &start.attempt,
                    ErrorCode::Internal,
                    "Too many logins are in progress. Please try again in a minute.",
                ),
                flow::StartError::BusyClient => ResultMessage::failure_with(
                    &start.attempt,
                    ErrorCode::Internal,
                    "Too many logins are in progress from your network. Please finish or close them, or try again in a few minutes.",
                ),
                _ => ResultMessage::failure(&start.attempt, ErrorCode::Internal),
            };
            deliver(&start.target, &m, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

#[tracing::instrument(skip_all, fields(pool = %pool, connection = %uid))]
async fn get_callback(
    State(st): State<AppState>,
    Path((uid, pool)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = rate_limited(&st, &st.limiters.callback, "callback", ip) {
        return r;
    }
    let params = match flow::parse_callback_query(raw.as_deref()) {
        Ok(p) => p,
        Err(why) => {
            return pages::error_page(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, why)
        }
    };
    let state_hash = params.state.as_deref().map(flow::sha256_hex);
    let finish = flow::finish(&st, &pool, &uid, params, |name| cookie(&headers, name)).await;
    match &finish {
        Finish::Refuse(code, _) => st.metrics.login(false, code.as_str()),
        // Counted by `conclude`.
        Finish::Deliver { .. } => {}
        // Counted when the binding step ends (routes::binding).
        Finish::Bind(_) => {}
    }
    let mut r = match finish {
        Finish::Refuse(code, msg) => pages::error_page(StatusCode::BAD_REQUEST, code, msg),
        Finish::Deliver {
            target,
            message,
            client_error,
        } => {
            let status = if client_error {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            conclude(&st, &target, &message, status).await
        }
        Finish::Bind(offer) => super::binding::offer_response(&st, &headers, &offer),
    };
    if let Some(h) = state_hash {
        // The binding cookie has done its job.
        let name = flow::cookie_name(&h, st.config.server.secure_cookies());
        let secure = if st.config.server.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}"
        )) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// The end of a login (callback or binding step): counts it and delivers it.
pub async fn conclude(
    st: &AppState,
    target: &Target,
    m: &ResultMessage,
    popup_status: StatusCode,
) -> Response {
    match &m.outcome {
        Outcome::Success { .. } => st.metrics.login(true, "none"),
        Outcome::Failure(e) => st.metrics.login(false, e.code.as_str()),
    }
    deliver(target, m, popup_status)
}

/// Sends a result to its target: the popup page, or a 302 with the result in the fragment.
pub fn deliver(target: &Target, m: &ResultMessage, popup_status: StatusCode) -> Response {
    match target {
        Target::Popup { origin, return_uri } => {
            pages::result_page(popup_status, m, origin, return_uri.as_deref())
        }
        Target::Redirect(uri) => {
            let mut f = form_urlencoded::Serializer::new(String::new());
            match &m.outcome {
                Outcome::Success { id_token, .. } => {
                    f.append_pair("id_token", id_token);
                }
                Outcome::Failure(e) => {
                    f.append_pair("error", e.code.as_str())
                        .append_pair("error_description", &e.message);
                }
            }
            f.append_pair("attempt", &m.attempt);
            let mut r = (
                StatusCode::FOUND,
                [(header::LOCATION, format!("{uri}#{}", f.finish()))],
            )
                .into_response();
            pages::secure_headers(r.headers_mut());
            r
        }
    }
}

/// The value of cookie `name` from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

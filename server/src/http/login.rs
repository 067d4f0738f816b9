//! `GET /connection/social/{uid}/{pool}/authorize` and `…/callback`: the browser half of a login.
//! `HEAD` (link prefetchers, X-10/X-29) is refused with 405 and changes nothing.

use super::cause::log_cause;
use super::extract::{cookie, AuthorizeRoute, CallbackRoute, ClientIp, RateLimit};
use super::pages::{self, Lang};
use super::params::{AuthorizeParams, CallbackQuery, Query};
use super::respond::{conclude, deliver, failure, refusal, set_cookie, SameSite};
use super::try_login::spend_try_ticket;
use crate::crypto::sha256_hex;
use crate::domain::{PoolId, UniqueId};
use crate::login::finish::{finish, CallbackParams, Finish};
use crate::login::start::{self, validate_start, AuthorizeQuery, Refusal, Start};
use crate::login::{cookie_name, LoginError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use milogin_shared::{ErrorCode, ResultMessage};

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
    _: RateLimit<AuthorizeRoute>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<AuthorizeParams>,
) -> Response {
    // Here, after every extractor's check: a request refused by one keeps its try ticket.
    if let Err(refused) = spend_try_ticket(&st, &pool, &uid, &q, &headers).await {
        return refused;
    }
    let q = AuthorizeQuery::from(q);
    let start = match validate(&st, pool, uid, &q) {
        Ok(s) => s,
        Err(refused) => {
            log_refusal(&q, &refused);
            return refusal_response(&refused, lang);
        }
    };
    match start::start(&st, &start, ip).await {
        Ok(started) => to_provider(&st, started),
        Err(e) => start_refused(&q, &start, e, lang),
    }
}

/// [`validate_start`] for the path's ids: one that cannot be an id is as unknown as a
/// well-formed id that is not configured.
fn validate<'a>(
    st: &'a AppState,
    pool: String,
    uid: String,
    q: &AuthorizeQuery,
) -> Result<Start<'a>, Refusal> {
    match (PoolId::parse(&pool), UniqueId::parse(&uid)) {
        (Ok(p), Ok(u)) => validate_start(st, &p, &u, q),
        (Err(_), _) => Err(Refusal::UnknownPool { pool }),
        (Ok(_), Err(_)) => Err(Refusal::UnknownConnection {
            pool,
            connection: uid,
        }),
    }
}

/// A refused authorize, before its destination is trusted: the page naming the fix (404 for an
/// unknown pool, app or connection).
fn refusal_response(refusal: &Refusal, lang: Lang) -> Response {
    let status = match refusal.code() {
        ErrorCode::ConnectionNotEnabled => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    pages::refusal_page(status, lang, refusal)
}

/// The redirect to the provider, with the attempt's binding cookie.
fn to_provider(st: &AppState, s: start::Started) -> Response {
    let mut r = (StatusCode::FOUND, [(header::LOCATION, s.location)]).into_response();
    let h = r.headers_mut();
    let ttl = st.config.server.attempt_ttl_secs as i64;
    let cookie = (s.cookie_name.as_str(), s.cookie_value.as_str());
    set_cookie(st, h, cookie, ttl, SameSite::Lax);
    pages::secure_headers(h);
    r
}

/// The result page (or redirect) for an attempt that could not start: the connection is not
/// enabled for the app, the attempt id was used, too many logins are pending, the database or
/// the provider failed.
fn start_refused(q: &AuthorizeQuery, start: &Start<'_>, e: LoginError, lang: Lang) -> Response {
    let attempt = &start.attempt;
    let (status, m) = match e {
        LoginError::NotEnabled => {
            let refusal = Refusal::NotEnabled;
            log_refusal(q, &refusal);
            let m = ResultMessage::failure_with(attempt, refusal.code(), refusal.message());
            (StatusCode::BAD_REQUEST, m)
        }
        LoginError::AttemptTaken => {
            // A second attempt under a recorded id: a replayed or leaked popup URL.
            tracing::warn!("authorize with an attempt id that was already used");
            let m = ResultMessage::failure_with(
                attempt,
                ErrorCode::InvalidRequest,
                "This login was already started (each attempt is used once). Close this window and click the button again.",
            );
            (StatusCode::CONFLICT, m)
        }
        LoginError::Busy | LoginError::BusyClient => {
            tracing::warn!(error = %e, "attempt refused");
            let text = match e {
                LoginError::Busy => "Too many logins are in progress. Please try again in a minute.",
                _ => "Too many logins are in progress from your network. Please finish or close them, or try again in a few minutes.",
            };
            let m = ResultMessage::failure_with(attempt, ErrorCode::Internal, text);
            (StatusCode::SERVICE_UNAVAILABLE, m)
        }
        e => {
            log_cause(&e);
            let m = ResultMessage::failure(attempt, ErrorCode::Internal);
            (StatusCode::SERVICE_UNAVAILABLE, m)
        }
    };
    deliver(&start.target, &m, lang, status)
}

#[tracing::instrument(skip_all, fields(pool = %pool, connection = %uid))]
async fn get_callback(
    State(st): State<AppState>,
    Path((uid, pool)): Path<(String, String)>,
    _: RateLimit<CallbackRoute>,
    lang: Lang,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let params = CallbackParams::from(q);
    let state_hash = params.state.as_deref().map(sha256_hex);
    let finish = finish(&st, &pool, &uid, params, |name| cookie(&headers, name)).await;
    let mut r = finished(&st, finish, lang, &headers).await;
    if let Some(h) = state_hash {
        // The binding cookie has done its job.
        let name = cookie_name(&h, st.config.server.secure_cookies());
        set_cookie(&st, r.headers_mut(), (&name, ""), 0, SameSite::Lax);
    }
    r
}

/// The answer to a finished callback: a refusal (counted here), the result (counted by
/// `conclude`; a failure's cause logged there), or the binding page (counted when the binding
/// step ends).
async fn finished(st: &AppState, finish: Finish, lang: Lang, headers: &HeaderMap) -> Response {
    match finish {
        Finish::Refuse(error) => {
            st.metrics.login(false, error.code().as_str());
            refusal(lang, &error)
        }
        Finish::Deliver { target, message } => {
            conclude(st, &target, &message, lang, StatusCode::OK).await
        }
        Finish::Fail {
            target,
            attempt,
            error,
        } => {
            let status = match error.is_client_error() {
                true => StatusCode::BAD_REQUEST,
                false => StatusCode::OK,
            };
            conclude(st, &target, &failure(&attempt, &error), lang, status).await
        }
        Finish::Bind(offer) => super::binding::offer_response(st, headers, &offer),
    }
}

/// Operators see why a site's button fails (a missing origin, app or connection, a redirect URI
/// that is not registered). The origin, app and redirect URI are the page's words, cut, recorded
/// as plain strings (escaped in the text format, JSON strings in the JSON one; absent ones are
/// left out); nothing here is a secret.
fn log_refusal(q: &AuthorizeQuery, refusal: &Refusal) {
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let origin = q.origin.as_ref().map(|o| match o {
        Ok(o) => cut(o.as_str(), 200),
        Err(raw) => cut(raw, 200),
    });
    let app = q.app_id.as_ref().map(|a| match a {
        Ok(a) => cut(a.as_str(), 64),
        Err(raw) => cut(raw, 64),
    });
    let redirect_uri = q.redirect_uri.as_deref().map(|u| cut(u, 300));
    let (reason, why) = (refusal.code().as_str(), refusal.message());
    tracing::info!(
        reason,
        origin = origin.as_deref(),
        app = app.as_deref(),
        redirect_uri = redirect_uri.as_deref(),
        why,
        "login refused"
    );
}

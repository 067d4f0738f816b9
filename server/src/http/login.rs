//! `GET /connection/social/{uid}/{pool}/authorize` and `…/callback`: the browser half of a login.
//! `HEAD` (link prefetchers, X-10/X-29) is refused with 405 and changes nothing.

use super::extract::{cookie, AuthorizeRoute, CallbackRoute, ClientIp, RateLimit};
use super::pages::{self, Lang};
use super::params::{AuthorizeParams, CallbackQuery, Query};
use super::respond::{conclude, deliver, set_cookie, SameSite};
use super::try_login::spend_try_ticket;
use crate::crypto::sha256_hex;
use crate::domain::{AttemptId, PoolId, UniqueId};
use crate::login::finish::{finish, CallbackParams, Finish};
use crate::login::start::{
    self, validate_start, AuthorizeQuery, Refusal, Start, StartError, StartRefusal,
};
use crate::login::{cookie_name, Target};
use crate::oidc::pkce::Challenge;
use crate::state::AppState;
use crate::store::OidcRequest;
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
            log_refusal(&q, &refused.0);
            return refusal_response(*refused, lang);
        }
    };
    if let Some(c) = &q.code_challenge {
        record_pkce(&st, &start, c).await;
    }
    match start::start(&st, &start, ip).await {
        Ok(started) => to_xiaomi(&st, started),
        Err(e) => start_refused(&start, e, lang),
    }
}

/// The widget's PKCE challenge (`S256`), recorded under the attempt when its result can come back
/// through a page's address (redirect mode, the return page): that page then gets a one-time
/// code bound to it (`super::respond::conclude`), which only the tab holding the verifier
/// redeems at the pool's token endpoint. A malformed challenge records nothing (the login then
/// ends with `invalid_request` on those paths).
async fn record_pkce(st: &AppState, s: &Start<'_>, challenge: &str) {
    let back = match &s.target {
        Target::Redirect(u) => u.clone(),
        Target::Popup {
            return_uri: Some(r),
            ..
        } => r.clone(),
        _ => return,
    };
    let Ok(challenge) = Challenge::parse(challenge) else {
        tracing::info!("authorize with a malformed code_challenge");
        return;
    };
    let now = st.clock.now();
    let r = OidcRequest {
        attempt: s.attempt.clone(),
        pool: s.pool.id.clone(),
        client: s.app.id.clone(),
        redirect_uri: back,
        state: None,
        nonce: Some(s.attempt.as_str().to_owned()),
        challenge: Some(challenge.as_str().to_owned()),
        scope: "openid".into(),
        expires_at: now + st.config.server.attempt_ttl_secs as i64 * 2,
    };
    if let Err(e) = st.store.insert_oidc_request(&r, now).await {
        tracing::error!(error = %e, "cannot record the widget's pkce challenge");
    }
}

/// [`validate_start`] for the path's ids: one that cannot be an id is as unknown as a
/// well-formed id that is not configured.
fn validate<'a>(
    st: &'a AppState,
    pool: String,
    uid: String,
    q: &AuthorizeQuery,
) -> Result<Start<'a>, StartRefusal> {
    match (PoolId::parse(&pool), UniqueId::parse(&uid)) {
        (Ok(p), Ok(u)) => validate_start(st, &p, &u, q),
        (Err(_), _) => Err(Box::new((Refusal::UnknownPool { pool }, None))),
        (Ok(_), Err(_)) => {
            let refusal = Refusal::UnknownConnection {
                pool,
                connection: uid,
            };
            Err(Box::new((refusal, None)))
        }
    }
}

/// A refused authorize: the error result to a trusted target, else the page naming the fix
/// (404 for a connection that is not enabled).
fn refusal_response(
    (refusal, trusted): (Refusal, Option<(Target, AttemptId)>),
    lang: Lang,
) -> Response {
    if let Some((target, attempt)) = trusted {
        let m = ResultMessage::failure_with(attempt, refusal.code(), refusal.message());
        return deliver(&target, &m, lang, StatusCode::BAD_REQUEST);
    }
    let status = if refusal.code() == ErrorCode::ConnectionNotEnabled {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::BAD_REQUEST
    };
    pages::refusal_page(status, lang, &refusal)
}

/// The redirect to Xiaomi, with the attempt's binding cookie.
fn to_xiaomi(st: &AppState, s: start::Started) -> Response {
    let mut r = (StatusCode::FOUND, [(header::LOCATION, s.location)]).into_response();
    let h = r.headers_mut();
    let ttl = st.config.server.attempt_ttl_secs as i64;
    let cookie = (s.cookie_name.as_str(), s.cookie_value.as_str());
    set_cookie(st, h, cookie, ttl, SameSite::Lax);
    pages::secure_headers(h);
    r
}

/// The result page (or redirect) for an attempt that could not be recorded.
fn start_refused(start: &Start<'_>, e: StartError, lang: Lang) -> Response {
    match e {
        StartError::Taken => {
            // A second attempt under a recorded id: a replayed or leaked popup URL.
            tracing::warn!("authorize with an attempt id that was already used");
            let m = ResultMessage::failure_with(
            &start.attempt,
            ErrorCode::InvalidRequest,
            "This login was already started (each attempt is used once). Close this window and click the button again.",
        );
            deliver(&start.target, &m, lang, StatusCode::CONFLICT)
        }
        e => {
            if let StartError::Store(_) = e {
                tracing::error!(error = %e, "cannot record the attempt");
            } else {
                tracing::warn!(error = %e, "attempt refused");
            }
            let m = match e {
            StartError::Busy => ResultMessage::failure_with(
                &start.attempt,
                ErrorCode::Internal,
                "Too many logins are in progress. Please try again in a minute.",
            ),
            StartError::BusyClient => ResultMessage::failure_with(
                &start.attempt,
                ErrorCode::Internal,
                "Too many logins are in progress from your network. Please finish or close them, or try again in a few minutes.",
            ),
            _ => ResultMessage::failure(&start.attempt, ErrorCode::Internal),
        };
            deliver(&start.target, &m, lang, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
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
/// `conclude`), or the binding page (counted when the binding step ends).
async fn finished(st: &AppState, finish: Finish, lang: Lang, headers: &HeaderMap) -> Response {
    match finish {
        Finish::Refuse(code, msg) => {
            st.metrics.login(false, code.as_str());
            pages::error_page(StatusCode::BAD_REQUEST, lang, code, msg)
        }
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
            conclude(st, &target, &message, lang, status).await
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

//! `GET /connection/social/{uid}/{pool}/try`, the operator's experience-login page (HTTP Basic,
//! password = `server.admin_token`): runs a real popup login through the reserved app
//! `__try__` and shows what came back; `…/try/identity?sub=` reads the stored identity.
//! Authorize for `__try__` needs a one-time ticket the page minted (in an `HttpOnly;
//! SameSite=Strict` cookie, stored hashed): the browser would re-send cached Basic credentials
//! on any page's request, so they alone must not start a login. The ticket is origin-bound: a
//! request whose `Sec-Fetch-Site` is anything but `same-origin` cannot use it. Wrong admin passwords are
//! throttled per client.

use super::extract::{ClientIp, RateLimit, TryRoute};
use super::pages::{self, html_page, json_block, Lang, Page};
use super::params::AuthorizeParams;
use super::respond::{cookie_header, retry_after, SameSite};
use crate::config::TRY_APP;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::html;
use milogin_shared::ErrorCode;
use secrecy::ExposeSecret;
use serde::Deserialize;

/// The experience-login page and its identity view.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connection/social/{uid}/{pool}/try", get(get_try_page))
        .route(
            "/connection/social/{uid}/{pool}/try/identity",
            get(get_try_identity),
        )
}

/// Lifetime of a ticket of the experience-login page, seconds.
const TRY_TICKET_TTL_SECS: i64 = 600;

/// The ticket cookie of one connection's page (one per connection, so two open try pages do not
/// overwrite each other's ticket).
fn try_ticket_cookie(st: &AppState, pool: &str, uid: &str) -> String {
    let prefix = if st.config.server.secure_cookies() {
        "__Host-"
    } else {
        ""
    };
    format!("{prefix}milogin-try.{pool}.{uid}")
}

/// The operator behind the experience-login pages (HTTP Basic with `server.admin_token`). Refused
/// with 404 when the pages are disabled, 429 after too many wrong passwords from this client
/// (checked before the password, so guessing stops), 401 otherwise.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, st).await;
        admin_gate(st, &parts.headers, ip).map_or(Ok(Self), Err)
    }
}

fn admin_gate(st: &AppState, headers: &HeaderMap, ip: std::net::IpAddr) -> Option<Response> {
    let lang = Lang::from_headers(headers);
    if st.config.server.admin_token.is_none() {
        return Some(admin_challenge(st, lang));
    }
    if let Some(wait) = st.limiters.admin_failures.exhausted(ip) {
        tracing::warn!(%ip, "admin password refused: too many wrong ones from this client");
        st.metrics.limited("admin");
        let mut r = pages::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            ErrorCode::InvalidRequest,
            "Too many wrong admin passwords from your network. Please wait and try again.",
        );
        retry_after(&mut r, wait);
        return Some(r);
    }
    if admin_ok(st, headers) {
        return None;
    }
    if headers.contains_key(header::AUTHORIZATION) {
        // A failed guess (a browser's first request carries no credentials: not counted).
        let _ = st.limiters.admin_failures.check(ip);
        tracing::warn!(%ip, "wrong admin password");
    }
    Some(admin_challenge(st, lang))
}

/// Authorize for the reserved app `__try__` needs the one-time ticket the experience-login page
/// of this connection set in its cookie: spends it (`Err`: the 403 without a live one). Any
/// other app passes. Called by the authorize handler itself once every extractor accepted the
/// request (rate limit, query), never from an extractor: there, its place in the argument list
/// would decide whether a request refused afterwards had already cost the ticket.
pub async fn spend_try_ticket(
    st: &AppState,
    pool: &str,
    uid: &str,
    q: &AuthorizeParams,
    headers: &HeaderMap,
) -> Result<(), Response> {
    if q.app_id() != Some(TRY_APP) {
        return Ok(());
    }
    redeem_try_ticket(st, pool, uid, headers)
        .await
        .map_or(Ok(()), Err)
}

async fn redeem_try_ticket(
    st: &AppState,
    pool: &str,
    uid: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    let lang = Lang::from_headers(headers);
    if st.config.server.admin_token.is_none() {
        return Some(admin_challenge(st, lang));
    }
    if let Some(refused) = from_another_origin(headers, lang) {
        return Some(refused);
    }
    let Some(value) = super::extract::cookie(headers, &try_ticket_cookie(st, pool, uid)) else {
        tracing::warn!("experience login without a ticket refused");
        return Some(try_refused(lang));
    };
    let hash = crate::crypto::sha256_hex(&value);
    match st
        .store
        .redeem_try_ticket(&hash, pool, uid, st.clock.now())
        .await
    {
        Ok(true) => None,
        Ok(false) => {
            tracing::warn!("experience login with a used, expired or foreign ticket refused");
            Some(try_refused(lang))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot redeem the experience-login ticket");
            Some(database_down(lang))
        }
    }
}

/// Origin-bound, not only site-bound: `SameSite=Strict` still sends the ticket on requests from
/// another origin of the same site (another port, a sibling subdomain). Where the browser says
/// where the request comes from, only the try page's own origin may use it (a refusal leaves
/// the ticket usable).
fn from_another_origin(headers: &HeaderMap, lang: Lang) -> Option<Response> {
    let site = headers.get("sec-fetch-site")?;
    if site.as_bytes() == b"same-origin" {
        return None;
    }
    tracing::warn!(sec_fetch_site = ?site, "experience login from another origin refused");
    Some(pages::error_page(
        StatusCode::FORBIDDEN,
        lang,
        ErrorCode::InvalidRequest,
        "Experience logins start only from the experience-login page itself (same origin): open it and press its button.",
    ))
}

fn database_down(lang: Lang) -> Response {
    pages::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        ErrorCode::Internal,
        "The login service could not use its database. Please try again.",
    )
}

fn try_refused(lang: Lang) -> Response {
    pages::error_page(
        StatusCode::FORBIDDEN,
        lang,
        ErrorCode::InvalidRequest,
        "Experience logins start from the experience-login page, once per page load: open it again and press its button.",
    )
}

/// Mints the page's one-time ticket: stored hashed, value in an `HttpOnly; SameSite=Strict`
/// cookie (sent only on requests this site starts, so no foreign page can start a try login).
/// `None` when the database failed (logged).
async fn mint_try_ticket(st: &AppState, pool: &str, uid: &str) -> Option<HeaderValue> {
    let value = crate::crypto::random_token();
    let now = st.clock.now();
    let hash = crate::crypto::sha256_hex(&value);
    if let Err(e) = st
        .store
        .insert_try_ticket(&hash, pool, uid, now + TRY_TICKET_TTL_SECS, now)
        .await
    {
        tracing::error!(error = %e, "cannot store the experience-login ticket");
        return None;
    }
    let name = try_ticket_cookie(st, pool, uid);
    cookie_header(st, (&name, &value), TRY_TICKET_TTL_SECS, SameSite::Strict)
}

/// Checks HTTP Basic credentials against `server.admin_token` (any user name), in constant time.
fn admin_ok(st: &AppState, headers: &HeaderMap) -> bool {
    use base64::Engine;
    let Some(token) = st.config.server.admin_token.as_ref() else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(_, p)| p.to_owned()));
    given.is_some_and(|g| {
        crate::crypto::ct_eq(
            &crate::crypto::sha256_hex(&g),
            &crate::crypto::sha256_hex(token.expose_secret()),
        )
    })
}

/// 401 with a Basic challenge (404 when the page is disabled).
pub fn admin_challenge(st: &AppState, lang: Lang) -> Response {
    if st.config.server.admin_token.is_none() {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            lang,
            ErrorCode::InvalidRequest,
            "The experience-login page is disabled: set server.admin_token.",
        );
    }
    let mut r = pages::error_page(
        StatusCode::UNAUTHORIZED,
        lang,
        ErrorCode::InvalidRequest,
        "Sign in with the operator's admin token.",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"milogin experience login\", charset=\"UTF-8\""),
    );
    r
}

const TRY_SCRIPT: &str = r#"(function(){
var d=document,cfg=JSON.parse(d.getElementById('try-config').textContent),out=d.getElementById('try-out'),status=d.getElementById('try-status');
function show(title,obj){var h=d.createElement('h2');h.textContent=title;var p=d.createElement('pre');p.textContent=JSON.stringify(obj,null,2);out.appendChild(h);out.appendChild(p);}
function rand(){var a=new Uint8Array(24);crypto.getRandomValues(a);return Array.from(a,function(b){return('0'+b.toString(16)).slice(-2)}).join('');}
d.getElementById('try-start').addEventListener('click',function(){
  out.textContent='';var attempt='try-'+rand(),origin=location.origin;
  var url=cfg.authorize+'?app_id='+encodeURIComponent(cfg.app)+'&origin='+encodeURIComponent(origin)+'&attempt='+attempt+'&mode=popup';
  var w=window.open(url,'milogin-try','popup,width=520,height=640');
  if(!w){status.textContent='The popup was blocked: allow popups for this page.';return;}
  status.textContent='Waiting for the popup…';
  function onMsg(e){
    if(e.origin!==origin||e.source!==w||!e.data||e.data.type!=='milogin:result'||e.data.attempt!==attempt)return;
    window.removeEventListener('message',onMsg);var m=e.data;status.textContent=(m.ok?'Login succeeded.':'Login failed: '+m.error.code)+' Reload the page to try again (each load allows one login).';
    show('Result message',m);
    if(m.ok){var p=m.id_token.split('.')[1].replace(/-/g,'+').replace(/_/g,'/');
      show('id_token claims',JSON.parse(decodeURIComponent(escape(atob(p)))));
      fetch(cfg.identity+'?sub='+encodeURIComponent(m.user.id),{credentials:'same-origin'}).then(function(r){return r.json()}).then(function(j){show('Stored user and Xiaomi identity (openId, unionId)',j)});}
  }
  window.addEventListener('message',onMsg);
});})();"#;

/// The experience-login page of one connection; each load mints a one-time ticket.
async fn get_try_page(
    State(st): State<AppState>,
    Path((uid, pool_id)): Path<(String, String)>,
    _: RateLimit<TryRoute>,
    _: Operator,
    lang: Lang,
) -> Response {
    let Some(conn) = st.config.pool(&pool_id).and_then(|p| p.connection(&uid)) else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            lang,
            ErrorCode::ConnectionNotEnabled,
            "Unknown pool or connection.",
        );
    };
    let Some(ticket) = mint_try_ticket(&st, &pool_id, &uid).await else {
        return database_down(lang);
    };
    let mut r = try_page(&st, conn, &pool_id, &uid);
    r.headers_mut().insert(header::SET_COOKIE, ticket);
    r
}

/// The HTML of the experience-login page.
fn try_page(st: &AppState, conn: &crate::config::Connection, pool_id: &str, uid: &str) -> Response {
    let base = format!(
        "{}/connection/social/{uid}/{pool_id}",
        st.config.server.base()
    );
    // The connection's settings spelled as in the configuration file (keys and values), so an
    // operator compares them with the file line by line.
    let settings = serde_json::json!({
        "unique_id": conn.unique_id, "display_name": conn.display_name, "app_id": conn.app_id,
        "scopes": conn.scopes, "skip_confirm": conn.skip_confirm,
        "login_mode": conn.login_mode, "association": conn.association,
        "match_fields": conn.match_fields,
        "trust_xiaomi_email": conn.trust_xiaomi_email, "trust_xiaomi_phone": conn.trust_xiaomi_phone,
        "callback_url (derived)": st.config.server.callback_url(pool_id, uid),
    });
    let cfg = serde_json::json!({ "authorize": format!("{base}/authorize"), "identity": format!("{base}/try/identity"), "app": TRY_APP });
    let settings = serde_json::to_string_pretty(&settings).unwrap_or_default();
    let body = html! {
        h1 { "Experience login" }
        p {
            "Runs a real login through " b { (conn.display_name.for_locale("en")) } " (pool " (pool_id)
            ") and shows what came back: check the Xiaomi app's settings end to end."
        }
        p id="try-warning" class="warning" {
            strong { "This is a real login." }
            " It creates a real user in pool " (pool_id) " (or logs into the one this Xiaomi \
             account is bound to), exactly as a visitor's login would. Delete it afterwards with "
            code { "milogin user delete" } " if it should not stay."
        }
        pre id="try-settings" { (settings) }
        p { button id="try-start" type="button" { "Try login" } }
        p id="try-status" role="status" {}
        div id="try-out" {}
    };
    html_page(Page {
        status: StatusCode::OK,
        lang: "en",
        title: "Experience login",
        body,
        head: json_block("try-config", &pages::script_json(&cfg)),
        script: Some(TRY_SCRIPT),
        style_extra: "main{max-width:720px;text-align:left}pre{background:#f4f4f4;padding:10px;border-radius:6px;overflow:auto;font-size:12px}button{background:#ff6900;color:#fff;border:0;border-radius:6px;padding:10px 18px;font-size:15px;cursor:pointer}",
        form_action: "'none'",
        sources: ("", "'self'", "'none'"),
    })
}

#[derive(Deserialize)]
struct SubQuery {
    sub: String,
}

/// The stored user and identities behind a `sub` (operator only).
async fn get_try_identity(
    State(st): State<AppState>,
    Path((_uid, pool_id)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<SubQuery>,
    _: RateLimit<TryRoute>,
    _: Operator,
) -> Response {
    let user = match st.store.user(&pool_id, &q.sub).await {
        Ok(Some(u)) => u,
        Ok(None) => return super::error::ApiError::NotFound("no such user").into_response(),
        Err(e) => return super::error::ApiError::Internal(e.to_string()).into_response(),
    };
    let identities = match st.store.identities_of(&pool_id, &user.id).await {
        Ok(i) => i,
        Err(e) => return super::error::ApiError::Internal(e.to_string()).into_response(),
    };
    let mut r = Json(crate::store::UserWithIdentities { user, identities }).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

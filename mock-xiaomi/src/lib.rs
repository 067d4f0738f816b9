//! The embedded mock Xiaomi: Xiaomi Account OAuth 2.0 and the open API on one port.
//!
//! Used by `milogin mock-xiaomi --port N`, inside `milogin demo`, and in-process by the tests.
//! It follows `shared/xiaomi-oauth.md` and keeps Xiaomi's quirks **on by default**: the
//! `&&&START&&&` prefix on token bodies, numeric `960xx` errors (HTTP 400 on the token endpoint,
//! HTTP 200 with `result:"error"` on the open API), single-use codes that expire and are bound to
//! `client_id` and `redirect_uri`, `openId` (camelCase) next to `union_id` (snake_case) in the
//! token response and `unionId` in the profile.
//!
//! # Endpoints
//!
//! | method, path | what it does |
//! |---|---|
//! | `GET /oauth2/authorize` | validates `client_id` (unknown → error page 96001, no redirect), `redirect_uri` (not allowed → error page 96010, no redirect), `response_type` (≠ `code` → redirect with `error=96011`); otherwise the consent page |
//! | `POST /oauth2/authorize/decision` | form `req` + `account=<id>` → 302 `redirect_uri?code=…&state=…`; `decision=deny` → 302 `?error=96012&error_description=user%20denied&state=…` |
//! | `GET`/`POST /oauth2/token` | query or `application/x-www-form-urlencoded` body; `grant_type=authorization_code` (and `refresh_token`, with rotation); `token_type=mac` ignored |
//! | `GET /user/profile` | `clientId` + `token` → `miliaoNick`, `miliaoIcon*`, `unionId` |
//! | `GET /user/openidV2` (also `/user/openIdV2`) | `data.openId` |
//! | `GET /user/phoneAndEmail` | `data.phone`, `data.email` (empty when absent); refused (96005) unless scope 4 or 6 was granted |
//! | `GET`/`PUT /_mock/faults` | read / replace the [`Faults`] (JSON) |
//! | `GET /_mock/calls` | the [`Calls`] counters (JSON) |
//! | `POST /_mock/reset` | zero the counters, clear the faults and the last token request |
//!
//! The `/_mock/*` routes exist for tests and scripts only; real Xiaomi has nothing like them.
//!
//! # Choices where Xiaomi's behaviour is unknown
//!
//! - Token bodies are sent as `text/plain;charset=UTF-8` (clients must not require JSON).
//! - The token endpoint requires `redirect_uri` to equal, byte for byte, the one the code was
//!   issued for (the reference's "strict" mode). At authorize, the registered-URI rules of §2.4 apply
//!   (same scheme and port, same host or a sub-domain, same path or a sub-path, any query).
//! - A code is consumed as soon as its own client presents it, whatever the outcome after that
//!   (a `redirect_uri` mismatch burns it too). Reuse gives 96013; tokens already issued stay valid.
//! - Every token fault applies *after* the exchange was processed: the code is consumed even when
//!   the answer is a 503, a hang or a dripped body, so a replay shows the retry hazard (96013).
//! - An access token presented with another app's `clientId` gives 96012 (token and app do not
//!   match, reference §7 / F13); an unknown token gives 96008.
//! - `skip_confirm` and unknown parameters are ignored: the consent page is always shown (tests that
//!   skip it use [`Mock::issue_code`]).
//! - Each account has one `openId` for every client (real ones differ per app).
//! - Issued tokens are kept in memory for the life of the mock and never expire.
//! - The consent page lists the first 50 accounts only (the benchmark configures thousands);
//!   the decision accepts any configured account id.

mod authorize;
mod open_api;
mod pages;
mod token;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// `client_id` of the demo app in [`MockConfig::default`].
pub const DEMO_CLIENT_ID: &str = "2882303761520000000";
/// `client_secret` of the demo app: it contains `+ / =` on purpose, so a client that forgets to
/// URL-encode it gets 96003, as with real Xiaomi secrets.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret+/=";

/// Scope granted by [`Mock::issue_code`] and by an authorize request without `scope`.
const DEFAULT_SCOPE: &str = "1 3";
/// How long a consent page stays usable.
const PENDING_TTL: Duration = Duration::from_secs(30 * 60);
/// Pruning of expired codes and consent pages runs at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// What the mock knows: registered apps, test accounts, code lifetime.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Registered apps.
    pub clients: Vec<MockClient>,
    /// Test accounts offered on the consent page.
    pub accounts: Vec<MockAccount>,
    /// Lifetime of an authorization code (HyperOS docs: 10 minutes; legacy: 5).
    pub code_ttl: Duration,
}

/// A registered app.
#[derive(Clone)]
pub struct MockClient {
    /// The AppID, a large decimal kept as a string.
    pub client_id: String,
    /// The AppSecret.
    pub client_secret: String,
    /// Registered callback URIs (an entry may hold several separated by `;`, as in Xiaomi's
    /// console). Empty accepts any `http`/`https` URI.
    pub redirect_uris: Vec<String>,
}

impl std::fmt::Debug for MockClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// A test account on the consent page.
#[derive(Clone, Debug)]
pub struct MockAccount {
    /// Short handle used in the consent form and in element ids (`account-<id>`).
    pub id: String,
    /// Per-app user id, `openId` in the token response and in `openidV2`.
    pub open_id: String,
    /// Per-developer user id: `union_id` in the token response, `unionId` in the profile.
    pub union_id: String,
    /// `miliaoNick`.
    pub nickname: String,
    /// `miliaoIcon` (the `_75`/`_90`/`_120`/`_320` variants are derived from it).
    pub avatar: String,
    /// Bound email; empty when the account has none.
    pub email: String,
    /// Bound phone; empty when the account has none.
    pub phone: String,
}

impl Default for MockConfig {
    fn default() -> Self {
        let account =
            |id: &str, open_id: &str, union_id: &str, nickname: &str, avatar: &str| MockAccount {
                id: id.to_owned(),
                open_id: open_id.to_owned(),
                union_id: union_id.to_owned(),
                nickname: nickname.to_owned(),
                avatar: format!("https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/{avatar}.jpg"),
                email: String::new(),
                phone: String::new(),
            };
        let accounts = vec![
            MockAccount {
                email: "alice@example.com".to_owned(),
                phone: "+8613800138000".to_owned(),
                ..account(
                    "alice",
                    "2.0Vq3xK9mZ7pL1aB4cD8eF2gH",
                    "nKp2Qx7vL0aZ3mW9tR5yB8cE1fH4jU6sD2gT0iOq",
                    "Alice Wang",
                    "p01Qx3aLice9Vm2K",
                )
            },
            MockAccount {
                phone: "+8613900139000".to_owned(),
                ..account(
                    "bob",
                    "2.0Hb7Tn4Rw1Yc6Xs9Ld3Mf5Gk",
                    "Zr8-Wm1Bob_Qk4Vx7Nc2Ht5Ys9Lp3Dj6Fg0Ae1Uo",
                    "Bob",
                    "p01Bob7Hn2Wq5Rt8",
                )
            },
            account(
                "carol",
                "2.0Cq9Pz2Kv5Jw8Rx1Tm4Yn7Bs",
                "Ty3Ua6Ib9Oc2Pd5Qe8Rf1Sg4Th7Ui0Vj3Wk6Xl9C",
                "陈小雨 Carol",
                "p01Car0lXy4Zb7Cd",
            ),
            MockAccount {
                email: "mallory@example.net".to_owned(),
                ..account(
                    "mallory",
                    "2.0Ml6Yq3Wv0Zr9Xt2Uo5Ip8As",
                    "Mm4_Nn7-Oo0Pp3Qq6Rr9Ss2Tt5Uu8Vv1Ww4Xx7Yy",
                    "<script>alert(1)</script> \"Mallory\"",
                    "p01Ma11oryQw3Er6",
                )
            },
        ];
        Self {
            clients: vec![MockClient {
                client_id: DEMO_CLIENT_ID.to_owned(),
                client_secret: DEMO_CLIENT_SECRET.to_owned(),
                redirect_uris: Vec::new(),
            }],
            accounts,
            code_ttl: Duration::from_secs(600),
        }
    }
}

/// How many requests each endpoint received (failing ones included).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    pub authorize: u64,
    pub decision: u64,
    pub token: u64,
    pub profile: u64,
    pub openid: u64,
    pub phone_and_email: u64,
}

/// Fault switches. The default is the faithful behaviour; each switch bends one thing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API response (token and open API).
    pub latency_ms: u64,
    /// Token endpoint answers this status with an HTML body (`Retry-After: 1` on 429/503).
    pub token_status: Option<u16>,
    /// Same for `/user/profile`.
    pub profile_status: Option<u16>,
    /// Token endpoint never answers (the handler sleeps an hour; dropped with the connection).
    pub hang: bool,
    /// Token endpoint sends its body one byte per second.
    pub drip: bool,
    /// Token endpoint body replaced by this raw string (status 200).
    pub malformed: Option<String>,
    /// No `&&&START&&&` on token bodies.
    pub no_prefix: bool,
    /// A space after the prefix: `&&&START&&& {…}`.
    pub prefix_space: bool,
    /// A newline after the prefix (after the space when both are set): `&&&START&&&\n{…}`.
    pub prefix_newline: bool,
    /// Token errors with HTTP 200 instead of 400.
    pub error_200: bool,
    /// `/user/profile` answers `{"result":"error","code":N,…}`.
    pub profile_error: Option<i64>,
    /// HTTP status used with `profile_error` (default 200).
    pub profile_error_status: Option<u16>,
    /// `/user/profile` body replaced by this raw string (status 200).
    pub profile_malformed: Option<String>,
    /// `/user/phoneAndEmail` answers `result:"error"` (scope not granted).
    pub phone_email_refused: bool,
    /// `/user/phoneAndEmail` answers this `email` instead of the account's (when scope 6 was granted).
    pub email_override: Option<String>,
    /// `/user/phoneAndEmail` answers this `phone` instead of the account's (when scope 4 was granted).
    pub phone_override: Option<String>,
    /// Token endpoint answers a 10 MiB body.
    pub oversized: bool,
    /// Token endpoint answers 302 with this `Location`.
    pub redirect_to: Option<String>,
    /// `openidV2` answers `data.openid` instead of `data.openId`.
    pub openid_key_lowercase: bool,
    /// `openidV2` answers this value instead of the account's `openId`.
    pub openid_override: Option<String>,
    /// Numbers as strings: `expires_in:"…"`, `code:"0"`, `error:"96013"`.
    pub stringify_numbers: bool,
    /// No `union_id` in the token response.
    pub omit_union_id: bool,
    /// Profile `miliaoNick` replaced by this value.
    pub nickname_override: Option<String>,
    /// Profile `miliaoIcon*` replaced by this value.
    pub avatar_override: Option<String>,
    /// The consent page sends `Cross-Origin-Opener-Policy: same-origin`, which severs
    /// `window.opener` for the popup (the "lost opener" case).
    pub consent_coop: bool,
}

/// What the last request to the token endpoint looked like (for transport assertions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequestRecord {
    /// `GET` or `POST`.
    pub method: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Whether a `client_secret` parameter appeared in the URL query.
    pub client_secret_in_query: bool,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub grant_type: Option<String>,
}

/// The mock Xiaomi. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Mock {
    inner: Arc<Inner>,
}

struct Inner {
    config: MockConfig,
    /// Position of each account in `config.accounts`, by id (the benchmark runs thousands).
    account_index: HashMap<String, usize>,
    state: Mutex<MockState>,
    /// Token requests currently held open by `hang` or `drip`.
    held: AtomicU64,
}

#[derive(Default)]
struct MockState {
    faults: Faults,
    calls: Calls,
    last_token_request: Option<TokenRequestRecord>,
    /// Consent pages shown and not yet answered, by `req`.
    pending: HashMap<String, Pending>,
    codes: HashMap<String, Grant>,
    access_tokens: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, Grant>,
    /// Every access token, refresh token and `mac_key` handed out (for log-leak tests).
    issued_secrets: Vec<String>,
    last_prune: Option<Instant>,
}

/// An authorize request waiting for the user's decision.
struct Pending {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    created: Instant,
}

/// What a code, access token or refresh token stands for.
#[derive(Clone)]
struct Grant {
    account_id: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    issued: Instant,
}

impl std::fmt::Debug for Mock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mock")
            .field("clients", &self.inner.config.clients.len())
            .field("accounts", &self.inner.config.accounts.len())
            .finish_non_exhaustive()
    }
}

impl Default for Mock {
    fn default() -> Self {
        Self::new(MockConfig::default())
    }
}

impl Mock {
    pub fn new(config: MockConfig) -> Self {
        let mut account_index = HashMap::with_capacity(config.accounts.len());
        for (i, account) in config.accounts.iter().enumerate() {
            // The first account with an id wins, as a linear search would.
            account_index.entry(account.id.clone()).or_insert(i);
        }
        Self {
            inner: Arc::new(Inner {
                config,
                account_index,
                state: Mutex::new(MockState::default()),
                held: AtomicU64::new(0),
            }),
        }
    }

    /// Every endpoint, state applied.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(get_index))
            .route("/oauth2/authorize", get(authorize::get_authorize))
            .route("/oauth2/authorize/decision", post(authorize::post_decision))
            .route(
                "/oauth2/token",
                get(token::handle_token).post(token::handle_token),
            )
            .route("/user/profile", get(open_api::get_profile))
            .route("/user/openidV2", get(open_api::get_openid))
            .route("/user/openIdV2", get(open_api::get_openid))
            .route("/user/phoneAndEmail", get(open_api::get_phone_and_email))
            .route("/_mock/faults", get(get_faults).put(put_faults))
            .route("/_mock/calls", get(get_calls))
            .route("/_mock/reset", post(post_reset))
            .with_state(self.clone())
    }

    /// Serves [`Mock::router`] on `listener` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    pub fn config(&self) -> &MockConfig {
        &self.inner.config
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// A snapshot of the counters.
    pub fn calls(&self) -> Calls {
        self.lock().calls.clone()
    }

    pub fn reset_calls(&self) {
        self.lock().calls = Calls::default();
    }

    pub fn last_token_request(&self) -> Option<TokenRequestRecord> {
        self.lock().last_token_request.clone()
    }

    /// Every access token, refresh token and `mac_key` issued so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.lock().issued_secrets.clone()
    }

    /// Token requests currently held open by the `hang` or `drip` fault; it drops back to zero
    /// when their clients disconnect.
    pub fn held_requests(&self) -> u64 {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// A code as if `account_id` had approved `client_id` at the consent page, with scope `1 3`.
    /// `None` when the account or client is unknown, or `redirect_uri` is not allowed for it.
    pub fn issue_code(
        &self,
        account_id: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> Option<String> {
        self.account(account_id)?;
        let client = self.client(client_id)?;
        let uri = url::Url::parse(redirect_uri).ok()?;
        if !authorize::redirect_uri_allowed(client, &uri) {
            return None;
        }
        Some(self.insert_code(Grant {
            account_id: account_id.to_owned(),
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: DEFAULT_SCOPE.to_owned(),
            issued: Instant::now(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, MockState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn client(&self, client_id: &str) -> Option<&MockClient> {
        self.inner
            .config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    fn account(&self, account_id: &str) -> Option<&MockAccount> {
        let i = *self.inner.account_index.get(account_id)?;
        self.inner.config.accounts.get(i)
    }

    /// Counts one request and returns the faults in force for it.
    fn count(&self, counter: fn(&mut Calls) -> &mut u64) -> Faults {
        let mut state = self.lock();
        *counter(&mut state.calls) += 1;
        state.faults.clone()
    }

    fn insert_code(&self, grant: Grant) -> String {
        let code = random_token();
        let mut state = self.lock();
        self.prune(&mut state);
        state.codes.insert(code.clone(), grant);
        code
    }

    /// Drops expired codes and consent pages, at most once per [`PRUNE_EVERY`].
    fn prune(&self, state: &mut MockState) {
        let now = Instant::now();
        if state
            .last_prune
            .is_some_and(|last| now.duration_since(last) < PRUNE_EVERY)
        {
            return;
        }
        state.last_prune = Some(now);
        let code_ttl = self.inner.config.code_ttl;
        state
            .codes
            .retain(|_, grant| now.duration_since(grant.issued) < code_ttl);
        state
            .pending
            .retain(|_, pending| now.duration_since(pending.created) < PENDING_TTL);
    }
}

/// Counts a token request held open by `hang` or `drip` until dropped.
struct Held(Arc<Inner>);

impl Held {
    fn new(mock: &Mock) -> Self {
        mock.inner.held.fetch_add(1, Ordering::SeqCst);
        Self(mock.inner.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::SeqCst);
    }
}

/// 192 random bits from the OS, URL-safe base64: 32 characters.
fn random_token() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Query-string or form pairs; the first occurrence of a name wins.
fn parse_pairs(input: &[u8]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (key, value) in form_urlencoded::parse(input) {
        map.entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    map
}

/// The ids in a granted scope: separated by spaces, `+` or commas (the docs use spaces).
fn scope_ids(scope: &str) -> impl Iterator<Item = &str> {
    scope
        .split(|c: char| c.is_whitespace() || c == ',' || c == '+')
        .filter(|id| !id.is_empty())
}

/// A number, or its decimal string under the `stringify_numbers` fault.
fn number(faults: &Faults, n: i64) -> serde_json::Value {
    if faults.stringify_numbers {
        serde_json::Value::String(n.to_string())
    } else {
        n.into()
    }
}

/// Waits `latency_ms`.
async fn latency(faults: &Faults) {
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
}

/// A gateway-style HTML error page with `status` (500 when it is not a final 2xx–5xx status);
/// `Retry-After: 1` on 429 and 503.
fn status_page(status: u16) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse as _;

    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|status| (200..600).contains(&status.as_u16()))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1>\
         </center><hr><center>nginx</center></body></html>",
        code = status.as_u16()
    );
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response();
    if matches!(status.as_u16(), 429 | 503) {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

async fn get_index() -> &'static str {
    "mock Xiaomi Account: /oauth2/authorize, /oauth2/token, /user/profile, /user/openidV2, \
     /user/phoneAndEmail; test controls under /_mock/ (faults, calls, reset)\n"
}

async fn get_faults(State(mock): State<Mock>) -> Json<Faults> {
    Json(mock.faults())
}

async fn put_faults(State(mock): State<Mock>, Json(faults): Json<Faults>) -> Json<Faults> {
    mock.set_faults(faults.clone());
    Json(faults)
}

async fn get_calls(State(mock): State<Mock>) -> Json<Calls> {
    Json(mock.calls())
}

async fn post_reset(State(mock): State<Mock>) -> axum::http::StatusCode {
    let mut state = mock.lock();
    state.calls = Calls::default();
    state.faults = Faults::default();
    state.last_token_request = None;
    axum::http::StatusCode::NO_CONTENT
}

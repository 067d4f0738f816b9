//! Test harness: the real server and the mock Xiaomi on loopback port 0, a scripted browser with
//! its own cookie jar that follows redirects by hand, and token verification with a standard JWT
//! library against the published JWKS.

/// Real-browser harness (chromedriver + headless Chromium).
pub mod browser;

use milogin_server::config::Config;
use milogin_server::mock_xiaomi::{Mock, MockConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use milogin_server::state::{AppState, ManualClock};
use milogin_shared::ResultMessage;
use std::sync::Arc;

/// The host page origin registered for the test app.
pub const ORIGIN: &str = "https://shop.example.com";
/// Pool, app, connection of the default set-up.
pub const POOL: &str = "pool-a";
/// App id.
pub const APP: &str = "app-a";
/// Connection Unique ID.
pub const CONN: &str = "xiaomi";

/// Rate limits high enough for the suite's bursts from one IP (without the per-client pending cap:
/// [`GENEROUS_LIMITS`] adds it).
pub const GENEROUS_RATES: &str =
    "authorize_per_minute = 100000\ncallback_per_minute = 100000\nbinding_per_minute = 100000";

/// Limits high enough for the suite's bursts from one IP (every test client is 127.0.0.1; a test
/// of 50 browsers holds more connections than one client may by default).
pub const GENEROUS_LIMITS: &str = "authorize_per_minute = 100000\ncallback_per_minute = 100000\nbinding_per_minute = 100000\nmax_pending_per_client = 100000\nmax_connections_per_client = 100000";

/// Knobs of a test environment.
#[derive(Clone)]
pub struct Options {
    /// `login_mode` of the connection.
    pub login_mode: &'static str,
    /// Extra origins for the app (browser tests register their host page).
    pub origins: Vec<String>,
    /// Extra redirect URIs for the app, after `{ORIGIN}/login/done` (redirect-mode browser tests
    /// register pages of their host origin).
    pub redirect_uris: Vec<String>,
    /// `return_uris` of the app (the lost-opener return pages).
    pub return_uris: Vec<String>,
    /// `xiaomi.timeout_ms`.
    pub timeout_ms: u64,
    /// The secret the server sends (defaults to the mock's).
    pub secret: String,
    /// `xiaomi.account_base` instead of the mock (unreachable hosts for fault tests).
    pub account_base: Option<String>,
    /// The `[limits]` table (tests default to generous rate limits: many logins come from 127.0.0.1).
    pub limits: String,
    /// `association` of the connection: `off`, `field_match`, `query_binding`.
    pub association: &'static str,
    /// `match_fields` of the connection (written only when not empty).
    pub match_fields: Vec<&'static str>,
    /// `trust_xiaomi_email` (written only when true).
    pub trust_xiaomi_email: bool,
    /// `trust_xiaomi_phone` (written only when true).
    pub trust_xiaomi_phone: bool,
    /// `scopes` of the connection (4 = phone, 6 = email for field matching).
    pub scopes: Vec<u32>,
    /// `server.admin_token` (experience-login page), read from a file; `None` disables the page.
    pub admin_token: Option<String>,
    /// Extra lines of the `[server]` table (e.g. `trusted_proxies = ["127.0.0.1/32"]`).
    pub server_extra: String,
    /// `client_secret` of the app (an OpenID Connect confidential client), read from a file;
    /// `None`: a public client.
    pub client_secret: Option<String>,
    /// More connections of the app, after `xiaomi` (`"xiaomi-2"` is defined in the pool).
    pub more_connections: Vec<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            login_mode: "login_and_register",
            origins: vec![],
            redirect_uris: vec![],
            return_uris: vec![],
            timeout_ms: 3000,
            secret: DEMO_CLIENT_SECRET.into(),
            account_base: None,
            limits: GENEROUS_LIMITS.into(),
            association: "off",
            match_fields: vec![],
            trust_xiaomi_email: false,
            trust_xiaomi_phone: false,
            scopes: vec![1, 3],
            admin_token: None,
            server_extra: String::new(),
            client_secret: None,
            more_connections: vec![],
        }
    }
}

/// A running server + mock.
pub struct Env {
    /// `http://127.0.0.1:port` of the server.
    pub base: String,
    /// The mock Xiaomi (faults, call counters).
    pub mock: Mock,
    /// `http://127.0.0.1:port` of the mock.
    pub mock_base: String,
    /// The server's state (store, clock, keys).
    pub state: AppState,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for t in &self._tasks {
            t.abort();
        }
    }
}

/// Starts the mock and the server with the default options.
pub async fn spawn() -> Env {
    spawn_with(Options::default()).await
}

/// The configuration text the tests use (also exercised by `milogin check` tests).
pub fn config_text(o: &Options, server_port: u16, mock_base: &str, db: &str) -> String {
    let mut origins = vec![ORIGIN.to_string()];
    origins.extend(o.origins.iter().cloned());
    let origins = origins
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let redirect_uris = std::iter::once(format!("{ORIGIN}/login/done"))
        .chain(o.redirect_uris.iter().cloned())
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Written only when asked for (older servers refuse the key: a test can run against them).
    let return_uris = match o.return_uris.is_empty() {
        true => String::new(),
        false => format!(
            "\n  return_uris = [{}]",
            o.return_uris
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        r#"
[server]
listen = "127.0.0.1:{server_port}"
public_url = "http://127.0.0.1:{server_port}"
database_url = "{db}"
widget_dir = "{widget}"
{admin}
{server_extra}

[xiaomi]
account_base = "{account_base}"
open_base = "{mock_base}"
allow_insecure_endpoints = true
timeout_ms = {timeout}
connect_timeout_ms = 1000

[limits]
{limits}

[[pools]]
id = "{POOL}"
  [[pools.apps]]
  id = "{APP}"
  origins = [{origins}]
  redirect_uris = [{redirect_uris}]{return_uris}{client_secret}
  connections = ["{CONN}"{more_connections}]
  [[pools.apps]]
  id = "app-no-conn"
  origins = ["{ORIGIN}"]
  connections = []
  [[pools.connections]]
  unique_id = "{CONN}"
  display_name = {{ en = "Sign in with Xiaomi", zh-CN = "用小米账号登录（测试）" }}
  app_id = "{DEMO_CLIENT_ID}"
  app_secret = {{ file = "secret.txt" }}
  scopes = [{scopes}]
  login_mode = "{mode}"
  association = "{association}"{association_extra}
  [[pools.connections]]
  unique_id = "xiaomi-2"
  display_name = "Xiaomi (second app)"
  app_id = "{DEMO_CLIENT_ID}"
  app_secret = {{ file = "secret.txt" }}

[[pools]]
id = "pool-b"
  [[pools.apps]]
  id = "{APP}"
  origins = ["{ORIGIN}"]
  connections = ["{CONN}"]
  [[pools.connections]]
  unique_id = "{CONN}"
  app_id = "{DEMO_CLIENT_ID}"
  app_secret = {{ file = "secret.txt" }}
"#,
        widget = widget_dir().display(),
        admin = if o.admin_token.is_some() {
            "admin_token = { file = \"admin.txt\" }"
        } else {
            ""
        },
        timeout = o.timeout_ms,
        mode = o.login_mode,
        scopes = o
            .scopes
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        association = o.association,
        association_extra = association_extra(o),
        account_base = o.account_base.as_deref().unwrap_or(mock_base),
        limits = o.limits,
        server_extra = o.server_extra,
        more_connections = o
            .more_connections
            .iter()
            .map(|c| format!(", {c:?}"))
            .collect::<String>(),
        client_secret = match o.client_secret {
            Some(_) => "\n  client_secret = { file = \"client-secret.txt\" }",
            None => "",
        },
    )
}

fn association_extra(o: &Options) -> String {
    let mut out = String::new();
    if !o.match_fields.is_empty() {
        out.push_str(&format!("\n  match_fields = {:?}", o.match_fields));
    }
    if o.trust_xiaomi_email {
        out.push_str("\n  trust_xiaomi_email = true");
    }
    if o.trust_xiaomi_phone {
        out.push_str("\n  trust_xiaomi_phone = true");
    }
    out
}

/// A local account for a test, created by the same code as `milogin user create`.
#[derive(Debug, Clone, Default)]
pub struct Local {
    /// `--username`.
    pub username: Option<&'static str>,
    /// `--email`.
    pub email: Option<&'static str>,
    /// `--email-verified`.
    pub email_verified: bool,
    /// `--phone`.
    pub phone: Option<&'static str>,
    /// `--phone-verified`.
    pub phone_verified: bool,
    /// The password (none: the account cannot be proven in the binding step).
    pub password: Option<&'static str>,
}

/// Creates a local account in the default pool.
pub async fn create_local(env: &Env, l: Local) -> milogin_server::store::User {
    let account = milogin_server::accounts::NewAccount {
        username: l.username.map(str::to_owned),
        email: l.email.map(str::to_owned),
        email_verified: l.email_verified,
        phone: l.phone.map(str::to_owned),
        phone_verified: l.phone_verified,
        display_name: None,
        password: l.password.map(|p| p.to_owned().into()),
    };
    let now = milogin_server::state::Clock::now(env.clock.as_ref());
    milogin_server::accounts::create_account(env.state.store.as_ref(), POOL, account, now)
        .await
        .unwrap_or_else(|e| panic!("create {l:?}: {e}"))
}

/// The users of the default pool with their identities (what `milogin user list --json` prints).
pub async fn users(env: &Env) -> Vec<milogin_server::store::UserWithIdentities> {
    env.state.store.list_users(POOL).await.unwrap()
}

/// The built widget folder of the checkout.
pub fn widget_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("public")
        .join("widget")
}

/// Starts the mock and the server.
pub async fn spawn_with(o: Options) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let mock = Mock::new(MockConfig::default());
    let mock_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mock_base = format!("http://{}", mock_l.local_addr().unwrap());
    let server_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server_l.local_addr().unwrap().port();
    std::fs::write(dir.path().join("secret.txt"), &o.secret).unwrap();
    if let Some(t) = &o.admin_token {
        std::fs::write(dir.path().join("admin.txt"), t).unwrap();
    }
    if let Some(s) = &o.client_secret {
        std::fs::write(dir.path().join("client-secret.txt"), s).unwrap();
    }
    let db = database_url(dir.path()).await;
    let text = config_text(&o, port, &mock_base, &db);
    let config = Config::from_toml(&text, Vec::new(), dir.path())
        .unwrap_or_else(|e| panic!("test config: {e}"));
    let clock = Arc::new(ManualClock::new());
    let state = AppState::build(config, clock.clone())
        .await
        .expect("server state");
    let m = mock.clone();
    let t1 = tokio::spawn(async move {
        let _ = m.serve(mock_l).await;
    });
    let s = state.clone();
    let t2 = tokio::spawn(async move {
        let _ = milogin_server::serve(server_l, s, std::future::pending()).await;
    });
    Env {
        base: format!("http://127.0.0.1:{port}"),
        mock,
        mock_base,
        state,
        clock,
        _dir: dir,
        _tasks: vec![t1, t2],
    }
}

/// Which store the suite runs on: `MILOGIN_TEST_STORE=postgres` (with `MILOGIN_TEST_PG_URL`, an
/// admin URL of a scratch cluster that `cargo xtask test` starts) or SQLite (default).
pub fn on_postgres() -> bool {
    std::env::var("MILOGIN_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// A fresh database for one test: a new PostgreSQL database in the scratch cluster, or a SQLite
/// file in the test's temporary folder.
pub async fn database_url(dir: &std::path::Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("milogin.db").display());
    }
    let admin = std::env::var("MILOGIN_TEST_PG_URL")
        .expect("MILOGIN_TEST_STORE=postgres needs MILOGIN_TEST_PG_URL (run `cargo xtask test`)");
    let name = format!("t_{}", attempt_id().to_ascii_lowercase().replace('-', "_"));
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("scratch PostgreSQL reachable");
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').expect("admin URL ends in /dbname").0;
    format!("{base}/{name}")
}

/// A scripted browser: its own cookie jar, redirects followed by hand.
pub struct Browser {
    /// The HTTP client.
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh random attempt id.
pub fn attempt_id() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("att{n:x}{:x}{seq}", std::process::id())
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// GET without following redirects.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    /// The authorize URL of the default app for `attempt`.
    pub fn authorize_url(env: &Env, attempt: &str) -> String {
        format!(
            "{}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&origin={}&attempt={attempt}&mode=popup",
            env.base,
            enc(ORIGIN)
        )
    }

    /// Authorize → consent page; returns the consent page's `req` id.
    pub async fn start(&self, env: &Env, authorize_url: &str) -> String {
        let r = self.get(authorize_url).await;
        assert_eq!(
            r.status(),
            302,
            "authorize: {}",
            r.text().await.unwrap_or_default()
        );
        let xiaomi = location(&r);
        assert!(xiaomi.starts_with(&env.mock_base), "{xiaomi}");
        let page = self.get(&xiaomi).await.text().await.unwrap();
        between(&page, "name=\"req\" value=\"", "\"").expect("consent page has a req id")
    }

    /// Consent: `account` approves, `None` denies. Returns the callback URL Xiaomi redirects to.
    pub async fn decide(&self, env: &Env, req: &str, account: Option<&str>) -> String {
        let form: Vec<(&str, &str)> = match account {
            Some(a) => vec![("req", req), ("account", a)],
            None => vec![("req", req), ("decision", "deny")],
        };
        let r = self
            .http
            .post(format!("{}/oauth2/authorize/decision", env.mock_base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        location(&r)
    }

    /// A whole popup login as `account`: returns the callback response.
    pub async fn login(&self, env: &Env, account: &str) -> reqwest::Response {
        let req = self
            .start(env, &Self::authorize_url(env, &attempt_id()))
            .await;
        let callback = self.decide(env, &req, Some(account)).await;
        self.get(&callback).await
    }
}

/// Starts a flow (authorize only) and makes the code directly at the mock, as if `account`
/// approved: returns (browser, callback URL). For tests where Xiaomi's token host is unreachable.
pub async fn approved_directly(env: &Env, account: &str) -> (Browser, String) {
    let b = Browser::new();
    let r = b.get(&Browser::authorize_url(env, &attempt_id())).await;
    assert_eq!(r.status(), 302);
    let xiaomi = url::Url::parse(&location(&r)).unwrap();
    let q: std::collections::HashMap<String, String> = xiaomi.query_pairs().into_owned().collect();
    let code = env
        .mock
        .issue_code(account, &q["client_id"], &q["redirect_uri"])
        .expect("mock issues a code");
    let cb = format!(
        "{}?code={}&state={}",
        q["redirect_uri"],
        enc(&code),
        enc(&q["state"])
    );
    (b, cb)
}

/// The `Location` header.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The text between `start` and the next `end`.
pub fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_string())
}

/// The result message embedded in a popup result page.
pub fn result_of(page: &str) -> ResultMessage {
    let json = between(
        page,
        "<script type=\"application/json\" id=\"milogin-result\">",
        "</script>",
    )
    .expect("result JSON in the page");
    serde_json::from_str(&json).expect("a valid result message")
}

/// The target origin embedded in a popup result page.
pub fn target_of(page: &str) -> String {
    let json = between(
        page,
        "<script type=\"application/json\" id=\"milogin-target\">",
        "</script>",
    )
    .expect("target JSON");
    serde_json::from_str(&json).unwrap()
}

/// Verifies an id_token with `jsonwebtoken` against the pool's published JWKS.
pub async fn verify(env: &Env, pool: &str, token: &str, aud: &str) -> serde_json::Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(format!("{}/pools/{pool}/.well-known/jwks.json", env.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid in header"))
        .expect("kid published in the JWKS");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[aud]);
    v.set_issuer(&[format!("{}/pools/{pool}", env.base)]);
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .unwrap_or_else(|e| panic!("token does not verify: {e}"))
    .claims
}

/// `(users, identities, attempts)` rows.
pub async fn counts(env: &Env) -> (i64, i64, i64) {
    env.state.store.counts().await.unwrap()
}

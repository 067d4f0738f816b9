//! Test harness: the real server and the mock Xiaomi on loopback port 0, a scripted browser with
//! its own cookie jar that follows redirects by hand, and token verification with a standard JWT
//! library against the published JWKS.

/// Real-browser harness (chromedriver + headless Chromium).
pub mod browser;

pub use milogin_server::config::fixture::{generous_limits, generous_rates};
use milogin_server::config::fixture::{
    AppBuilder, ConfigBuilder, ConnectionBuilder, DisplayName, PoolBuilder, Secret,
};
use milogin_server::config::Config;
pub use milogin_server::config::{Association, Limits, LoginMode, MatchField};
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

/// Knobs of a test environment.
#[derive(Clone)]
pub struct Options {
    /// `login_mode` of the connection.
    pub login_mode: LoginMode,
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
    /// The `[limits]` table (tests default to [`generous_limits`]: many logins come from
    /// 127.0.0.1).
    pub limits: Limits,
    /// `association` of the connection.
    pub association: Association,
    /// `match_fields` of the connection.
    pub match_fields: Vec<MatchField>,
    /// `trust_xiaomi_email`.
    pub trust_xiaomi_email: bool,
    /// `trust_xiaomi_phone`.
    pub trust_xiaomi_phone: bool,
    /// `scopes` of the connection (4 = phone, 6 = email for field matching).
    pub scopes: Vec<u32>,
    /// `server.admin_token` (experience-login page), read from a file; `None` disables the page.
    pub admin_token: Option<String>,
    /// `server.trusted_proxies` (the suite connects from 127.0.0.1: `["127.0.0.1/32"]` puts it
    /// behind a proxy).
    pub trusted_proxies: Vec<String>,
    /// `server.designer`.
    pub designer: bool,
    /// `client_secret` of the app (an OpenID Connect confidential client), read from a file;
    /// `None`: a public client.
    pub client_secret: Option<String>,
    /// More connections of the app, after `xiaomi` (`"xiaomi-2"` is defined in the pool).
    pub more_connections: Vec<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            login_mode: LoginMode::LoginAndRegister,
            origins: vec![],
            redirect_uris: vec![],
            return_uris: vec![],
            timeout_ms: 3000,
            secret: DEMO_CLIENT_SECRET.into(),
            account_base: None,
            limits: generous_limits(),
            association: Association::Off,
            match_fields: vec![],
            trust_xiaomi_email: false,
            trust_xiaomi_phone: false,
            scopes: vec![1, 3],
            admin_token: None,
            trusted_proxies: vec![],
            designer: true,
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

/// The configuration the tests use (also exercised by `milogin check` tests): pool `pool-a` with
/// app `app-a` (connection `xiaomi`, shaped by `o`), app `app-no-conn` and a second connection
/// `xiaomi-2`; pool `pool-b` with the same app and connection ids.
pub fn config(o: &Options, server_port: u16, mock_base: &str, db: &str) -> ConfigBuilder {
    let secret = || Secret::File("secret.txt".into());
    let mut file = ConfigBuilder::on_loopback(server_port, db)
        .mock_xiaomi(mock_base)
        .limits(o.limits.clone());
    file.server.widget_dir = Some(widget_dir().display().to_string());
    file.server.admin_token = o
        .admin_token
        .as_ref()
        .map(|_| Secret::File("admin.txt".into()));
    file.server.trusted_proxies = o.trusted_proxies.clone();
    file.server.designer = (!o.designer).then_some(false);
    file.xiaomi.account_base = Some(o.account_base.as_deref().unwrap_or(mock_base).to_owned());
    file.xiaomi.timeout_ms = Some(o.timeout_ms);
    file.xiaomi.connect_timeout_ms = Some(1000);
    let mut app = AppBuilder::new(APP, ORIGIN, &[CONN]);
    app.origins.extend(o.origins.iter().cloned());
    app.redirect_uris = std::iter::once(format!("{ORIGIN}/login/done"))
        .chain(o.redirect_uris.iter().cloned())
        .collect();
    app.return_uris = o.return_uris.clone();
    app.connections
        .extend(o.more_connections.iter().map(|&c| c.to_owned()));
    app.client_secret = o
        .client_secret
        .as_ref()
        .map(|_| Secret::File("client-secret.txt".into()));
    let mut connection = ConnectionBuilder::xiaomi(CONN, DEMO_CLIENT_ID, secret());
    connection.display_name = Some(DisplayName::en_zh(
        "Sign in with Xiaomi",
        "用小米账号登录（测试）",
    ));
    connection.scopes = Some(o.scopes.clone());
    connection.login_mode = o.login_mode;
    connection.association = o.association;
    connection.match_fields = o.match_fields.clone();
    connection.trust_xiaomi_email = o.trust_xiaomi_email;
    connection.trust_xiaomi_phone = o.trust_xiaomi_phone;
    let mut second = ConnectionBuilder::xiaomi("xiaomi-2", DEMO_CLIENT_ID, secret());
    second.display_name = Some(DisplayName::One("Xiaomi (second app)".into()));
    file.pool(
        PoolBuilder::new(POOL)
            .app(app)
            .app(AppBuilder::new("app-no-conn", ORIGIN, &[]))
            .connection(connection)
            .connection(second),
    )
    .pool(
        PoolBuilder::new("pool-b")
            .app(AppBuilder::new(APP, ORIGIN, &[CONN]))
            .connection(ConnectionBuilder::xiaomi(CONN, DEMO_CLIENT_ID, secret())),
    )
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
    let text = config(&o, port, &mock_base, &db).render();
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

/// Starts the mock and the server with these `[limits]` and the default options otherwise.
pub async fn spawn_with_limits(limits: Limits) -> Env {
    spawn_with(Options {
        limits,
        ..Options::default()
    })
    .await
}

/// A whole popup login as `account` in a fresh browser: the result message of its page.
pub async fn login_message(env: &Env, account: &str) -> ResultMessage {
    let page = Browser::new()
        .login(env, account)
        .await
        .text()
        .await
        .unwrap();
    result_of(&page)
}

/// The default pool's OpenID Connect discovery document.
pub async fn discovery(env: &Env) -> serde_json::Value {
    reqwest::get(format!(
        "{}/pools/{POOL}/.well-known/openid-configuration",
        env.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// A page's `Content-Security-Policy` and its body.
pub async fn csp_and_text(r: reqwest::Response) -> (String, String) {
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    (csp, r.text().await.unwrap())
}

/// The `Retry-After` seconds of a refusal.
pub fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
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

    /// The redirect-mode authorize URL of the default app for `attempt`, coming back to
    /// `redirect_uri` (append `&code_challenge=…`).
    pub fn redirect_url(env: &Env, attempt: &str, redirect_uri: &str) -> String {
        format!(
            "{}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&attempt={attempt}&mode=redirect&redirect_uri={}",
            env.base,
            enc(redirect_uri)
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
        self.login_at(env, &Self::authorize_url(env, &attempt_id()), account)
            .await
    }

    /// A whole login from `authorize_url` as `account`: returns the callback response.
    pub async fn login_at(
        &self,
        env: &Env,
        authorize_url: &str,
        account: &str,
    ) -> reqwest::Response {
        let req = self.start(env, authorize_url).await;
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

/// [`redeem_widget_code`] that must succeed: the result message it answers.
pub async fn redeemed_message(
    env: &Env,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> serde_json::Value {
    let r = redeem_widget_code(env, code, verifier, redirect_uri).await;
    assert_eq!(r.status(), 200, "the widget's code redeems");
    r.json().await.unwrap()
}

/// The widget's redeem of the one-time `code` that came back to `redirect_uri` (redirect mode,
/// the return page): the app's id without a secret and the attempt's PKCE `verifier`, sent from
/// the app's origin as the widget's tab sends it.
pub async fn redeem_widget_code(
    env: &Env,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", APP),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", redirect_uri),
    ];
    reqwest::Client::new()
        .post(format!("{}/pools/{POOL}/oidc/token", env.base))
        .header("origin", ORIGIN)
        .form(&form)
        .send()
        .await
        .unwrap()
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

/// A redirect-mode answer: a 302 to `redirect_uri` with the result in the fragment. Returns the
/// whole `Location` and the fragment's fields.
pub fn redirected_to(
    r: &reqwest::Response,
    redirect_uri: &str,
) -> (String, std::collections::HashMap<String, String>) {
    assert_eq!(r.status(), 302);
    let loc = location(r);
    let (before, _) = loc.split_once('#').expect("a fragment");
    assert_eq!(before, redirect_uri);
    let fields = fragment_fields(&loc);
    (loc, fields)
}

/// The fields of the fragment of `url`.
pub fn fragment_fields(url: &str) -> std::collections::HashMap<String, String> {
    let (_, fragment) = url.split_once('#').expect("a fragment");
    form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
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

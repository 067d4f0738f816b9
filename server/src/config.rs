//! Typed configuration (design.md §3): defaults → TOML file → `MILOGIN_…` environment overrides
//! (`__` separates levels, a number indexes an array: `MILOGIN_POOLS__0__APPS__0__ORIGINS`), then
//! validated into [`Config`]. Every problem is collected with its key and how to fix it, so
//! `milogin check` can list them all at once.
//!
//! Secrets are `{ env = "NAME" }` or `{ file = "path" }` and live in [`secrecy::SecretString`].

use milogin_shared as wire;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

/// One configuration problem: where and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `pools[0].apps[1].origins[0]`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// All problems found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<Problem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} configuration problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[xiaomi]`.
    pub xiaomi: XiaomiConfig,
    /// `[[pools]]`.
    pub pools: Vec<Pool>,
    /// `[limits]`: abuse protection.
    pub limits: Limits,
}

/// `[limits]`: per-IP rate limits and other bounds (X-87…X-90). Rate limits are per replica.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Authorize requests per client IP per minute (burst = the same number).
    pub authorize_per_minute: u32,
    /// Callback requests per client IP per minute.
    pub callback_per_minute: u32,
    /// Binding-form submissions per client IP per minute.
    pub binding_per_minute: u32,
    /// Unfinished, unexpired attempts beyond which new logins are refused (503).
    pub max_pending_attempts: i64,
    /// Pending attempts one client (IPv4 address, IPv6 /64) may hold, per replica (503 beyond).
    pub max_pending_per_client: u32,
    /// `/pools/{pool}/userinfo` requests per client per minute.
    pub userinfo_per_minute: u32,
    /// A client must send its request headers within this time, milliseconds (slowloris).
    pub header_read_timeout_ms: u64,
    /// Consecutive Xiaomi outages after which calls fail fast.
    pub breaker_failures: u32,
    /// How long calls fail fast before one is tried again, milliseconds.
    pub breaker_cooldown_ms: u64,
    /// A request body must arrive whole within this time, milliseconds (slow bodies: 408).
    pub body_read_timeout_ms: u64,
    /// A request must be answered within this time, milliseconds (408 otherwise); more than the
    /// four Xiaomi calls a callback may make in a row.
    pub request_timeout_ms: u64,
    /// Largest request body accepted, bytes (413 beyond); the largest form is 8 KiB.
    pub max_body_bytes: usize,
    /// Open connections per replica; connections beyond are closed at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            authorize_per_minute: 60,
            callback_per_minute: 60,
            binding_per_minute: 30,
            max_pending_attempts: 100_000,
            max_pending_per_client: 20,
            userinfo_per_minute: 120,
            header_read_timeout_ms: 10_000,
            breaker_failures: 5,
            breaker_cooldown_ms: 5_000,
            body_read_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            max_body_bytes: 8 * 1024,
            max_connections: 512,
        }
    }
}

/// Most Xiaomi calls one callback makes in a row (token, profile, openId, phone/email).
const XIAOMI_CALLS_PER_CALLBACK: u64 = 4;

impl Limits {
    /// Problems with the HTTP-edge bounds (body, request, connections); `xiaomi_timeout_ms`
    /// bounds one Xiaomi call, and a callback must be able to finish its calls in time.
    fn edge_problems(&self, xiaomi_timeout_ms: u64) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(100..=120_000).contains(&self.body_read_timeout_ms) {
            out.push((
                "limits.body_read_timeout_ms",
                "must be between 100 and 120000 milliseconds (default 10000)".into(),
            ));
        }
        let least = XIAOMI_CALLS_PER_CALLBACK * xiaomi_timeout_ms;
        if !(1_000..=600_000).contains(&self.request_timeout_ms) {
            out.push((
                "limits.request_timeout_ms",
                "must be between 1000 and 600000 milliseconds (default 60000)".into(),
            ));
        } else if self.request_timeout_ms <= least {
            out.push((
                "limits.request_timeout_ms",
                format!(
                    "{} is too short: a callback makes up to {XIAOMI_CALLS_PER_CALLBACK} Xiaomi calls in a row of up to xiaomi.timeout_ms ({xiaomi_timeout_ms}) each; set it above {least} or lower xiaomi.timeout_ms",
                    self.request_timeout_ms
                ),
            ));
        } else if self.body_read_timeout_ms >= self.request_timeout_ms {
            out.push((
                "limits.body_read_timeout_ms",
                "must be shorter than limits.request_timeout_ms (the body is read inside the request)".into(),
            ));
        }
        if !(1024..=1024 * 1024).contains(&self.max_body_bytes) {
            out.push((
                "limits.max_body_bytes",
                "must be between 1024 and 1048576 bytes (default 8192; the largest form is 8 KiB)"
                    .into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            out.push((
                "limits.max_connections",
                "must be between 1 and 1000000 (default 512; keep it below the process's open-file limit, `ulimit -n`)".into(),
            ));
        }
        out
    }
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Public base URL (no trailing slash): callback URLs and the token issuer are built from it.
    pub public_url: Url,
    /// `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// Folder holding the built widget (served at `/widget/`).
    pub widget_dir: PathBuf,
    /// Lifetime of issued id_tokens, seconds.
    pub token_ttl_secs: u64,
    /// After `milogin keys rotate`, seconds the new key is published before it signs (so relying
    /// parties that cache the JWKS fetch it first).
    pub key_publish_secs: u64,
    /// Lifetime of a login attempt (state), seconds.
    pub attempt_ttl_secs: u64,
    /// Operator token for the experience-login page (HTTP Basic password); `None` disables it.
    pub admin_token: Option<SecretString>,
    /// Reverse proxies whose forwarding header names the client (`trusted_proxies`,
    /// `forwarded_header`); empty: the TCP peer is the client.
    pub trusted_proxies: crate::domain::client_addr::TrustedProxies,
}

/// Default of `server.key_publish_secs`: an hour covers the JWKS caches of common JWT libraries.
pub const KEY_PUBLISH_DEFAULT_SECS: u64 = 3600;

/// The JWKS is served with `Cache-Control: max-age` this long (`routes/oidc.rs`).
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// The app id of the experience-login page (`/connection/social/{uid}/{pool}/try`): present in
/// every pool when `server.admin_token` is set, with the server's own origin.
pub const TRY_APP: &str = "__try__";

impl ServerConfig {
    /// True when cookies must carry `Secure` (public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// `public_url` without a trailing slash.
    pub fn base(&self) -> &str {
        self.public_url.as_str().trim_end_matches('/')
    }

    /// The exact callback URL of a connection: paste it into the Xiaomi console.
    pub fn callback_url(&self, pool: &str, unique_id: &str) -> String {
        format!(
            "{}/connection/social/{unique_id}/{pool}/callback",
            self.base()
        )
    }

    /// The issuer of a pool's tokens.
    pub fn issuer(&self, pool: &str) -> String {
        format!("{}/pools/{pool}", self.base())
    }
}

/// `[xiaomi]`: where Xiaomi is and how we talk to it.
#[derive(Debug, Clone)]
pub struct XiaomiConfig {
    /// Base of `/oauth2/authorize` and `/oauth2/token`.
    pub account_base: Url,
    /// Base of `/user/profile`, `/user/openidV2`, `/user/phoneAndEmail`.
    pub open_base: Url,
    /// Total time for one call to Xiaomi, milliseconds.
    pub timeout_ms: u64,
    /// Connect timeout, milliseconds.
    pub connect_timeout_ms: u64,
    /// Largest response body accepted from Xiaomi, bytes.
    pub max_body_bytes: usize,
}

/// A user pool: its apps and connections.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Pool id (in URLs and the issuer).
    pub id: String,
    /// Apps (web sites) of the pool.
    pub apps: Vec<App>,
    /// Identity-source connections of the pool.
    pub connections: Vec<Connection>,
}

impl Pool {
    /// The app with this id.
    pub fn app(&self, id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.id == id)
    }

    /// The connection with this Unique ID.
    pub fn connection(&self, unique_id: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.unique_id == unique_id)
    }
}

/// A web site that embeds the button.
#[derive(Debug, Clone)]
pub struct App {
    /// App id (the token's `aud`).
    pub id: String,
    /// Exact origins allowed to receive results (`scheme://host[:port]`, normalised).
    pub origins: Vec<String>,
    /// Exact redirect URIs for redirect mode.
    pub redirect_uris: Vec<String>,
    /// Return pages for a lost opener, at most one per origin: a page of the app's own origin
    /// that loads the widget, where the login window ends when it cannot reach the page that
    /// opened it (a `Cross-Origin-Opener-Policy` cut it off). Only the browser can open it on
    /// that origin, so the result stays with documents of the registered origin.
    pub return_uris: Vec<String>,
    /// Unique IDs of the connections enabled for this app.
    pub connections: Vec<String>,
}

impl App {
    /// True when `origin` (any spelling) is registered, after normalisation.
    pub fn allows_origin(&self, origin: &str) -> bool {
        normalize_origin(origin).is_ok_and(|o| self.origins.contains(&o))
    }

    /// True when `uri` is registered, byte for byte.
    pub fn allows_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    /// The return page registered for `origin` (normalised), if any.
    pub fn return_uri(&self, origin: &str) -> Option<&str> {
        self.return_uris
            .iter()
            .find(|u| uri_origin(u).is_some_and(|o| o == origin))
            .map(String::as_str)
    }

    /// True when the connection is enabled for this app.
    pub fn enables(&self, unique_id: &str) -> bool {
        self.connections.iter().any(|c| c == unique_id)
    }
}

/// Login mode of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    /// Log in existing users and create new ones.
    LoginAndRegister,
    /// Log in existing users only; an unknown Xiaomi user gets `user_not_found`.
    LoginOnly,
}

/// Account identity association of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Association {
    /// A new Xiaomi identity always gets a new user.
    Off,
    /// Match an existing user by field (email, phone).
    FieldMatch,
    /// The user proves ownership of an existing account.
    QueryBinding,
}

/// A field that `association = "field_match"` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchField {
    /// Xiaomi's bound email (scope 6) against the user's email.
    Email,
    /// Xiaomi's bound phone number (scope 4) against the user's phone.
    Phone,
}

impl MatchField {
    /// The Xiaomi scope that releases this field through `/user/phoneAndEmail`.
    pub const fn scope(self) -> u32 {
        match self {
            Self::Email => 6,
            Self::Phone => 4,
        }
    }

    /// The key's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }
}

/// A Xiaomi connection (identity source).
#[derive(Clone)]
pub struct Connection {
    /// Unique ID, `^[a-z0-9-]{1,31}$`; identities bind to it.
    pub unique_id: String,
    /// Shown on the button by default.
    pub display_name: String,
    /// Xiaomi APP ID, a decimal string.
    pub app_id: String,
    /// Xiaomi APP Secret.
    pub app_secret: SecretString,
    /// Numeric Xiaomi scopes.
    pub scopes: Vec<u32>,
    /// `skip_confirm` sent to Xiaomi.
    pub skip_confirm: bool,
    /// Login mode.
    pub login_mode: LoginMode,
    /// Account association policy.
    pub association: Association,
    /// Fields compared when `association` is `field_match` (empty otherwise).
    pub match_fields: Vec<MatchField>,
    /// The operator trusts Xiaomi's email to belong to the person logging in: a match with a
    /// verified local email links automatically. Off by default (pre-account takeover, T-13).
    pub trust_xiaomi_email: bool,
    /// Same for the phone number.
    pub trust_xiaomi_phone: bool,
}

impl Connection {
    /// True when `field` is compared by this connection's field matching.
    pub fn matches_on(&self, field: MatchField) -> bool {
        self.association == Association::FieldMatch && self.match_fields.contains(&field)
    }

    /// True when an operator declared Xiaomi's value of `field` trustworthy.
    pub fn trusts(&self, field: MatchField) -> bool {
        match field {
            MatchField::Email => self.trust_xiaomi_email,
            MatchField::Phone => self.trust_xiaomi_phone,
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("unique_id", &self.unique_id)
            .field("display_name", &self.display_name)
            .field("app_id", &self.app_id)
            .field("app_secret", &"[REDACTED]")
            .field("scopes", &self.scopes)
            .field("login_mode", &self.login_mode)
            .field("association", &self.association)
            .field("match_fields", &self.match_fields)
            .field("trust_xiaomi_email", &self.trust_xiaomi_email)
            .field("trust_xiaomi_phone", &self.trust_xiaomi_phone)
            .finish()
    }
}

impl Config {
    /// The pool with this id.
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }

    /// Loads `path`, applies `MILOGIN_…` overrides from the process environment, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            one(
                "(file)",
                format!(
                    "cannot read {}: {e}; pass an existing file with --config",
                    path.display()
                ),
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, std::env::vars(), base)
    }

    /// Parses TOML text with the given environment; relative secret files resolve from `base_dir`.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        base_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let mut value: toml::Value = toml::from_str(text)
            .map_err(|e| one("(file)", format!("not valid TOML: {}", e.message())))?;
        apply_env(&mut value, env)?;
        let raw: RawConfig = value.try_into().map_err(|e: toml::de::Error| {
            one(
                "(file)",
                format!(
                    "{}; see milogin.example.toml for every key",
                    e.message().trim()
                ),
            )
        })?;
        raw.validate(&|name| std::env::var(name).ok(), base_dir)
    }
}

fn one(key: &str, message: String) -> ConfigError {
    ConfigError(vec![Problem {
        key: key.into(),
        message,
    }])
}

const SECTIONS: [&str; 4] = ["server", "xiaomi", "pools", "limits"];

/// Applies `MILOGIN_A__B__0__C=value` overrides. Values are read as TOML (`5000`, `true`,
/// `["a","b"]`) and fall back to a plain string. Variables outside the known sections are ignored.
fn apply_env(
    root: &mut toml::Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("MILOGIN_"))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name["MILOGIN_".len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if !SECTIONS.contains(&path[0].as_str()) {
            continue;
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        if let Err(msg) = set_path(root, &path, value) {
            problems.push(Problem {
                key: name,
                message: msg,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError(problems))
    }
}

fn set_path(node: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    let (head, rest) = path.split_first().ok_or("empty key")?;
    let child = match node {
        toml::Value::Table(t) => {
            if rest.is_empty() {
                t.insert(head.clone(), value);
                return Ok(());
            }
            let next_is_index = rest[0].parse::<usize>().is_ok();
            t.entry(head.clone()).or_insert_with(|| {
                if next_is_index {
                    toml::Value::Array(Vec::new())
                } else {
                    toml::Value::Table(Default::default())
                }
            })
        }
        toml::Value::Array(a) => {
            let i: usize = head
                .parse()
                .map_err(|_| format!("{head:?} is not an array index"))?;
            if i > a.len() {
                return Err(format!(
                    "index {i} skips entries; the array has {} entries",
                    a.len()
                ));
            }
            if i == a.len() {
                a.push(toml::Value::Table(Default::default()));
            }
            if rest.is_empty() {
                a[i] = value;
                return Ok(());
            }
            &mut a[i]
        }
        _ => return Err(format!("cannot set {head:?} inside a plain value")),
    };
    set_path(child, rest, value)
}

// ---------------------------------------------------------------------------------------------
// Raw (file) shape.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    server: RawServer,
    xiaomi: RawXiaomi,
    pools: Vec<RawPool>,
    limits: Limits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    listen: String,
    public_url: Option<String>,
    database_url: String,
    widget_dir: String,
    token_ttl_secs: u64,
    key_publish_secs: u64,
    attempt_ttl_secs: u64,
    admin_token: Option<RawSecret>,
    trusted_proxies: Vec<String>,
    forwarded_header: String,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: "sqlite://data/milogin.db".into(),
            widget_dir: "public/widget".into(),
            token_ttl_secs: 3600,
            key_publish_secs: KEY_PUBLISH_DEFAULT_SECS,
            attempt_ttl_secs: 600,
            admin_token: None,
            trusted_proxies: Vec::new(),
            forwarded_header: "x-forwarded-for".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawXiaomi {
    account_base: String,
    open_base: String,
    allow_insecure_endpoints: bool,
    timeout_ms: u64,
    connect_timeout_ms: u64,
    max_body_bytes: usize,
}

impl Default for RawXiaomi {
    fn default() -> Self {
        Self {
            account_base: "https://account.xiaomi.com".into(),
            open_base: "https://open.account.xiaomi.com".into(),
            allow_insecure_endpoints: false,
            timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            max_body_bytes: 64 * 1024,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    id: String,
    #[serde(default)]
    apps: Vec<RawApp>,
    #[serde(default)]
    connections: Vec<RawConnection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    id: String,
    #[serde(default)]
    origins: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    return_uris: Vec<String>,
    #[serde(default)]
    connections: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    unique_id: String,
    #[serde(default = "xiaomi_kind")]
    kind: String,
    #[serde(default)]
    display_name: Option<String>,
    app_id: toml::Value,
    app_secret: RawSecret,
    #[serde(default = "default_scopes")]
    scopes: Vec<u32>,
    #[serde(default)]
    skip_confirm: bool,
    #[serde(default = "default_login_mode")]
    login_mode: LoginMode,
    #[serde(default = "default_association")]
    association: Association,
    #[serde(default)]
    match_fields: Vec<MatchField>,
    #[serde(default)]
    trust_xiaomi_email: bool,
    #[serde(default)]
    trust_xiaomi_phone: bool,
}

fn xiaomi_kind() -> String {
    "xiaomi".into()
}
fn default_scopes() -> Vec<u32> {
    vec![1, 3]
}
fn default_login_mode() -> LoginMode {
    LoginMode::LoginAndRegister
}
fn default_association() -> Association {
    Association::Off
}

/// `server.trusted_proxies` and `server.forwarded_header`, parsed into networks once.
fn trusted_proxies(p: &mut Problems, s: &RawServer) -> crate::domain::client_addr::TrustedProxies {
    use crate::domain::client_addr::{ForwardedHeader, TrustedProxies};
    let mut nets = Vec::new();
    for (i, n) in s.trusted_proxies.iter().enumerate() {
        match TrustedProxies::parse_net(n) {
            Ok(net) => nets.push(net),
            Err(e) => p.add(format!("server.trusted_proxies[{i}]"), e),
        }
    }
    let header = match s.forwarded_header.to_ascii_lowercase().as_str() {
        "x-forwarded-for" => ForwardedHeader::XForwardedFor,
        "forwarded" => ForwardedHeader::Forwarded,
        other => {
            p.add(
                "server.forwarded_header",
                format!("{other:?} is not supported; write \"x-forwarded-for\" (default) or \"forwarded\" (RFC 7239), whichever your proxy sets"),
            );
            ForwardedHeader::default()
        }
    };
    TrustedProxies { nets, header }
}

/// Where a secret comes from.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawSecret {
    Env { env: String },
    File { file: String },
    Inline(#[allow(dead_code)] String),
}

impl RawConfig {
    fn validate(
        mut self,
        getenv: &dyn Fn(&str) -> Option<String>,
        base_dir: &Path,
    ) -> Result<Config, ConfigError> {
        let mut p = Problems::default();

        let listen = self
            .server
            .listen
            .parse::<SocketAddr>()
            .unwrap_or_else(|_| {
                p.add(
                    "server.listen",
                    format!(
                        "{:?} is not an address; write e.g. \"127.0.0.1:8080\"",
                        self.server.listen
                    ),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            });
        let public_url = match &self.server.public_url {
            None => {
                p.add("server.public_url", "is required: the URL browsers use to reach this server, e.g. \"https://login.example.com\"");
                Url::parse("http://127.0.0.1:8080").expect("static url")
            }
            Some(s) => match Url::parse(s) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.query().is_none()
                        && u.fragment().is_none()
                        && u.host().is_some() =>
                {
                    u
                }
                _ => {
                    p.add(
                        "server.public_url",
                        format!("{s:?} must be an absolute http(s) URL without query or fragment"),
                    );
                    Url::parse("http://127.0.0.1:8080").expect("static url")
                }
            },
        };
        let db = &self.server.database_url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            p.add(
                "server.database_url",
                format!("{db:?} must start with sqlite:// or postgres://"),
            );
        }
        if self.server.token_ttl_secs == 0 || self.server.token_ttl_secs > 86_400 {
            p.add(
                "server.token_ttl_secs",
                "must be between 1 and 86400 seconds",
            );
        }
        if self.server.key_publish_secs > 7 * 86_400 {
            p.add(
                "server.key_publish_secs",
                format!("must be at most 604800 seconds (7 days); the default {KEY_PUBLISH_DEFAULT_SECS} suits relying parties that cache the JWKS up to an hour"),
            );
        }
        if !(60..=3600).contains(&self.server.attempt_ttl_secs) {
            p.add(
                "server.attempt_ttl_secs",
                "must be between 60 and 3600 seconds (default 600)",
            );
        }

        let x = &self.xiaomi;
        let mut base = |key: &str, s: &str| -> Url {
            match Url::parse(s) {
                Ok(u) if u.scheme() == "https" && u.host().is_some() => u,
                Ok(u) if u.scheme() == "http" && u.host().is_some() => {
                    if !x.allow_insecure_endpoints {
                        p.add(key, format!("{s:?} is http://; Xiaomi is only reached over https. For a local mock set xiaomi.allow_insecure_endpoints = true"));
                    }
                    u
                }
                _ => {
                    p.add(key, format!("{s:?} must be an absolute https URL"));
                    Url::parse("https://invalid.invalid").expect("static url")
                }
            }
        };
        let account_base = base("xiaomi.account_base", &x.account_base);
        let open_base = base("xiaomi.open_base", &x.open_base);
        if !(100..=60_000).contains(&x.timeout_ms) {
            p.add(
                "xiaomi.timeout_ms",
                "must be between 100 and 60000 milliseconds (default 10000)",
            );
        }
        if !(50..=30_000).contains(&x.connect_timeout_ms) {
            p.add(
                "xiaomi.connect_timeout_ms",
                "must be between 50 and 30000 milliseconds (default 3000)",
            );
        }
        if !(1024..=16 * 1024 * 1024).contains(&x.max_body_bytes) {
            p.add(
                "xiaomi.max_body_bytes",
                "must be between 1024 and 16777216 (default 65536)",
            );
        }

        let l = &self.limits;
        for (key, v) in [
            ("limits.authorize_per_minute", l.authorize_per_minute),
            ("limits.callback_per_minute", l.callback_per_minute),
            ("limits.binding_per_minute", l.binding_per_minute),
            ("limits.breaker_failures", l.breaker_failures),
            ("limits.max_pending_per_client", l.max_pending_per_client),
            ("limits.userinfo_per_minute", l.userinfo_per_minute),
        ] {
            if v == 0 {
                p.add(key, "must be at least 1");
            }
        }
        if l.max_pending_attempts < 1 {
            p.add(
                "limits.max_pending_attempts",
                "must be at least 1 (default 100000)",
            );
        }
        if !(100..=120_000).contains(&l.header_read_timeout_ms) {
            p.add(
                "limits.header_read_timeout_ms",
                "must be between 100 and 120000 milliseconds (default 10000)",
            );
        }
        for (key, message) in l.edge_problems(x.timeout_ms) {
            p.add(key, message);
        }

        let trusted_proxies = trusted_proxies(&mut p, &self.server);
        let admin_token = self.server.admin_token.take().map(|raw| {
            let t = resolve_secret(&mut p, "server.admin_token", raw, getenv, base_dir);
            if secrecy::ExposeSecret::expose_secret(&t).len() < 16 {
                p.add(
                    "server.admin_token",
                    "must be at least 16 characters (it guards the experience-login page)",
                );
            }
            t
        });

        if self.pools.is_empty() {
            p.add(
                "pools",
                "no pool is configured; add a [[pools]] table (see milogin.example.toml)",
            );
        }
        let mut pool_ids = HashSet::new();
        let mut pools = Vec::new();
        for (pi, rp) in self.pools.into_iter().enumerate() {
            let pk = format!("pools[{pi}]");
            check_id(&mut p, &format!("{pk}.id"), &rp.id);
            if !pool_ids.insert(rp.id.clone()) {
                p.add(
                    format!("{pk}.id"),
                    format!("pool {:?} is defined twice; pool ids must be unique", rp.id),
                );
            }
            let mut conns = Vec::new();
            let mut uids = HashSet::new();
            for (ci, rc) in rp.connections.into_iter().enumerate() {
                let ck = format!("{pk}.connections[{ci}]");
                if let Err(e) = wire::validate_unique_id(&rc.unique_id) {
                    p.add(
                        format!("{ck}.unique_id"),
                        format!("{:?} {e} (1–31 of a-z, 0-9, '-')", rc.unique_id),
                    );
                }
                if !uids.insert(rc.unique_id.clone()) {
                    p.add(
                        format!("{ck}.unique_id"),
                        format!("{:?} is used twice in this pool", rc.unique_id),
                    );
                }
                if rc.kind != "xiaomi" {
                    p.add(
                        format!("{ck}.kind"),
                        format!(
                            "{:?} is not supported; the only kind is \"xiaomi\"",
                            rc.kind
                        ),
                    );
                }
                let app_id = match &rc.app_id {
                    toml::Value::String(s)
                        if !s.is_empty()
                            && s.len() <= 20
                            && s.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        s.clone()
                    }
                    toml::Value::String(s) => {
                        p.add(
                            format!("{ck}.app_id"),
                            format!("{s:?} must be the decimal APP ID from the Xiaomi console"),
                        );
                        String::new()
                    }
                    _ => {
                        p.add(format!("{ck}.app_id"), "must be a quoted decimal string, e.g. app_id = \"2882303761520000000\" (large numbers lose precision otherwise)");
                        String::new()
                    }
                };
                check_association(&mut p, &ck, &rc);
                let secret = resolve_secret(
                    &mut p,
                    &format!("{ck}.app_secret"),
                    rc.app_secret,
                    getenv,
                    base_dir,
                );
                if rc.scopes.is_empty() {
                    p.add(
                        format!("{ck}.scopes"),
                        "is empty; use at least [1] (profile)",
                    );
                }
                if !rc.scopes.contains(&1) {
                    p.add(
                        format!("{ck}.scopes"),
                        "must contain 1 (user profile): the login reads the nickname and avatar",
                    );
                }
                conns.push(Connection {
                    display_name: rc
                        .display_name
                        .filter(|d| !d.trim().is_empty())
                        .unwrap_or_else(|| "Sign in with Xiaomi".into()),
                    unique_id: rc.unique_id,
                    app_id,
                    app_secret: secret,
                    scopes: rc.scopes,
                    skip_confirm: rc.skip_confirm,
                    login_mode: rc.login_mode,
                    association: rc.association,
                    match_fields: rc.match_fields,
                    trust_xiaomi_email: rc.trust_xiaomi_email,
                    trust_xiaomi_phone: rc.trust_xiaomi_phone,
                });
            }
            let mut apps = Vec::new();
            let mut app_ids = HashSet::new();
            for (ai, ra) in rp.apps.into_iter().enumerate() {
                let ak = format!("{pk}.apps[{ai}]");
                check_id(&mut p, &format!("{ak}.id"), &ra.id);
                if !app_ids.insert(ra.id.clone()) {
                    p.add(
                        format!("{ak}.id"),
                        format!("app {:?} is defined twice in this pool", ra.id),
                    );
                }
                let mut origins = Vec::new();
                for (oi, o) in ra.origins.iter().enumerate() {
                    match normalize_origin(o) {
                        Ok(n) => origins.push(n),
                        Err(e) => p.add(format!("{ak}.origins[{oi}]"), format!("{o:?} {e}")),
                    }
                }
                if ra.origins.is_empty() && ra.redirect_uris.is_empty() {
                    p.add(format!("{ak}.origins"), "is empty; add the exact origin of the site, e.g. \"https://shop.example.com\"");
                }
                for (ri, r) in ra.redirect_uris.iter().enumerate() {
                    if let Err(e) = check_redirect_uri(r) {
                        p.add(format!("{ak}.redirect_uris[{ri}]"), format!("{r:?} {e}"));
                    }
                }
                check_return_uris(&mut p, &ak, &ra.return_uris, &origins);
                for (ci, c) in ra.connections.iter().enumerate() {
                    if !conns.iter().any(|k| &k.unique_id == c) {
                        p.add(format!("{ak}.connections[{ci}]"), format!("{c:?} is not a connection of this pool; define it under [[pools.connections]] or remove it"));
                    }
                }
                if ra.id == TRY_APP {
                    p.add(format!("{ak}.id"), format!("{TRY_APP:?} is reserved for the experience-login page; choose another app id"));
                }
                apps.push(App {
                    id: ra.id,
                    origins,
                    redirect_uris: ra.redirect_uris,
                    return_uris: ra.return_uris,
                    connections: ra.connections,
                });
            }
            if admin_token.is_some() {
                apps.push(App {
                    id: TRY_APP.into(),
                    origins: vec![public_url.origin().ascii_serialization()],
                    redirect_uris: vec![],
                    return_uris: vec![],
                    connections: conns.iter().map(|c| c.unique_id.clone()).collect(),
                });
            }
            pools.push(Pool {
                id: rp.id,
                apps,
                connections: conns,
            });
        }

        p.finish(Config {
            server: ServerConfig {
                listen,
                public_url,
                database_url: self.server.database_url,
                widget_dir: PathBuf::from(self.server.widget_dir),
                token_ttl_secs: self.server.token_ttl_secs,
                key_publish_secs: self.server.key_publish_secs,
                attempt_ttl_secs: self.server.attempt_ttl_secs,
                admin_token,
                trusted_proxies,
            },
            xiaomi: XiaomiConfig {
                account_base,
                open_base,
                timeout_ms: self.xiaomi.timeout_ms,
                connect_timeout_ms: self.xiaomi.connect_timeout_ms,
                max_body_bytes: self.xiaomi.max_body_bytes,
            },
            pools,
            limits: self.limits,
        })
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
    fn finish(self, c: Config) -> Result<Config, ConfigError> {
        if self.0.is_empty() {
            Ok(c)
        } else {
            Err(ConfigError(self.0))
        }
    }
}

/// `association`, `match_fields` and the trust flags must make sense together.
fn check_association(p: &mut Problems, ck: &str, rc: &RawConnection) {
    let mut seen = HashSet::new();
    for (i, f) in rc.match_fields.iter().enumerate() {
        if !seen.insert(*f) {
            p.add(
                format!("{ck}.match_fields[{i}]"),
                format!("{:?} is listed twice", f.as_str()),
            );
        }
    }
    if rc.association == Association::FieldMatch {
        if rc.match_fields.is_empty() {
            p.add(format!("{ck}.match_fields"), "is empty; association = \"field_match\" needs match_fields = [\"email\"], [\"phone\"] or both");
        }
    } else if !rc.match_fields.is_empty() {
        p.add(
            format!("{ck}.match_fields"),
            "only applies to association = \"field_match\"; remove it or change association",
        );
    }
    for (key, on, field) in [
        (
            "trust_xiaomi_email",
            rc.trust_xiaomi_email,
            MatchField::Email,
        ),
        (
            "trust_xiaomi_phone",
            rc.trust_xiaomi_phone,
            MatchField::Phone,
        ),
    ] {
        if on && !(rc.association == Association::FieldMatch && rc.match_fields.contains(&field)) {
            p.add(
                format!("{ck}.{key}"),
                format!("has no effect unless association = \"field_match\" and match_fields contains {:?}; remove it", field.as_str()),
            );
        }
    }
}

impl Config {
    /// Advice that is not an error: field matching on a field whose Xiaomi scope is not
    /// requested (that field is then never compared). Printed by `milogin check`.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.server.key_publish_secs < JWKS_MAX_AGE_SECS {
            out.push(Problem {
                key: "server.key_publish_secs".into(),
                message: format!(
                    "{} s is shorter than the JWKS cache time ({JWKS_MAX_AGE_SECS} s): after `milogin keys rotate` relying parties may see tokens signed by a key they have not fetched yet",
                    self.server.key_publish_secs
                ),
            });
        }
        for (pi, pool) in self.pools.iter().enumerate() {
            for (ci, c) in pool.connections.iter().enumerate() {
                for f in &c.match_fields {
                    if c.association == Association::FieldMatch && !c.scopes.contains(&f.scope()) {
                        out.push(Problem {
                            key: format!("pools[{pi}].connections[{ci}].scopes"),
                            message: format!(
                                "matching on {} needs Xiaomi scope {} (approved for your app by Xiaomi); without it that field is never compared",
                                f.as_str(),
                                f.scope()
                            ),
                        });
                    }
                }
            }
        }
        out
    }
}

fn check_id(p: &mut Problems, key: &str, id: &str) {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        p.add(
            key,
            format!("{id:?} must be 1–64 characters of A-Z, a-z, 0-9, '-', '_'"),
        );
    }
}

fn resolve_secret(
    p: &mut Problems,
    key: &str,
    raw: RawSecret,
    getenv: &dyn Fn(&str) -> Option<String>,
    base_dir: &Path,
) -> SecretString {
    let value = match raw {
        RawSecret::Env { env } => getenv(&env).or_else(|| {
            p.add(key, format!("environment variable {env} is not set; export it, or use {{ file = \"path\" }}"));
            None
        }),
        RawSecret::File { file } => {
            let path = base_dir.join(&file);
            match std::fs::read_to_string(&path) {
                Ok(s) => Some(s.trim_end_matches(['\n', '\r']).to_string()),
                Err(e) => {
                    p.add(key, format!("cannot read secret file {}: {e}", path.display()));
                    None
                }
            }
        }
        RawSecret::Inline(_) => {
            p.add(key, "secrets are never written inline; use { env = \"XIAOMI_APP_SECRET\" } or { file = \"secret.txt\" }");
            None
        }
    };
    match value {
        Some(v) if v.is_empty() => {
            p.add(
                key,
                "the secret is empty; paste the APP Secret from the Xiaomi console",
            );
            SecretString::from(String::new())
        }
        Some(v) => SecretString::from(v),
        None => SecretString::from(String::new()),
    }
}

/// Normalises an origin to `scheme://host[:port]` (default ports dropped, host lowercased).
/// Refuses paths, queries, fragments, credentials, non-http(s) schemes and odd hosts.
pub fn normalize_origin(s: &str) -> Result<String, &'static str> {
    if s.is_empty()
        || s.len() > 512
        || s.bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b == b'%')
    {
        return Err("is not an origin: write scheme://host[:port]");
    }
    let u = Url::parse(s).map_err(|_| "is not an origin: write scheme://host[:port]")?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("must use http or https");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials");
    }
    if u.path() != "/"
        || u.query().is_some()
        || u.fragment().is_some()
        || s.ends_with('/')
        || s.contains('?')
        || s.contains('#')
    {
        return Err("must be an origin only (no path, query or fragment)");
    }
    match u.host_str() {
        Some(h) if !h.is_empty() && !h.ends_with('.') => {}
        _ => return Err("has no valid host"),
    }
    Ok(u.origin().ascii_serialization())
}

fn check_redirect_uri(s: &str) -> Result<(), &'static str> {
    if s.bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
    {
        return Err("contains whitespace, control characters or backslashes");
    }
    let u = Url::parse(s).map_err(|_| "is not an absolute URL")?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("must be an absolute http(s) URL");
    }
    if u.fragment().is_some() {
        return Err("must not have a fragment (the result is delivered in the fragment)");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials");
    }
    Ok(())
}

/// The normalised origin of an absolute URL.
fn uri_origin(uri: &str) -> Option<String> {
    Url::parse(uri)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// `return_uris`: each a redirect-URI-shaped URL on one of the app's origins, one per origin.
fn check_return_uris(p: &mut Problems, ak: &str, uris: &[String], origins: &[String]) {
    let mut seen = HashSet::new();
    for (i, u) in uris.iter().enumerate() {
        let key = format!("{ak}.return_uris[{i}]");
        if let Err(e) = check_redirect_uri(u) {
            p.add(key, format!("{u:?} {e}"));
            continue;
        }
        let origin = uri_origin(u).unwrap_or_default();
        if !origins.contains(&origin) {
            p.add(key, format!("{u:?} is not on one of the app's origins: a return page must be on the origin that opens the login window; add {origin:?} to origins or fix the URL"));
        } else if !seen.insert(origin.clone()) {
            p.add(
                key,
                format!("{u:?}: {origin:?} already has a return page; keep one per origin"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const GOOD: &str = r#"
[server]
public_url = "https://login.example.com"
[xiaomi]
[[pools]]
id = "demo-pool"
  [[pools.apps]]
  id = "demo-app"
  origins = ["https://shop.example.com"]
  connections = ["xiaomi"]
  [[pools.connections]]
  unique_id = "xiaomi"
  app_id = "2882303761520000000"
  app_secret = { env = "XIAOMI_SECRET_FOR_TEST" }
"#;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mut value: toml::Value =
            toml::from_str(text).map_err(|e| one("(file)", e.to_string()))?;
        apply_env(&mut value, env.clone())?;
        let raw: RawConfig = value
            .try_into()
            .map_err(|e: toml::de::Error| one("(file)", e.to_string()))?;
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        raw.validate(&lookup, Path::new("."))
    }

    #[test]
    fn a_good_config_loads_with_defaults() {
        let c = parse(GOOD, &[("XIAOMI_SECRET_FOR_TEST", "s+/=")]).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.xiaomi.timeout_ms, 10_000);
        let conn = &c.pools[0].connections[0];
        assert_eq!(conn.app_secret.expose_secret(), "s+/=");
        assert_eq!(conn.scopes, vec![1, 3]);
        assert_eq!(conn.login_mode, LoginMode::LoginAndRegister);
        assert_eq!(
            c.server.callback_url("demo-pool", "xiaomi"),
            "https://login.example.com/connection/social/xiaomi/demo-pool/callback"
        );
        assert!(
            !format!("{conn:?}").contains("s+/="),
            "Debug must redact the secret"
        );
    }

    #[test]
    fn return_pages_must_be_on_the_apps_origins_one_per_origin() {
        let with = |uris: &str| {
            GOOD.replace(
                "  connections = [\"xiaomi\"]\n  [[pools.connections]]",
                &format!("  return_uris = [{uris}]\n  connections = [\"xiaomi\"]\n  [[pools.connections]]"),
            )
        };
        let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
        let c = parse(&with(r#""https://shop.example.com/milogin-return""#), &env).unwrap();
        let app = &c.pools[0].apps[0];
        assert_eq!(
            app.return_uri("https://shop.example.com"),
            Some("https://shop.example.com/milogin-return")
        );
        assert_eq!(app.return_uri("https://other.example.com"), None);
        let ConfigError(problems) = parse(
            &with(
                r#""https://evil.example/r", "https://shop.example.com/a", "https://shop.example.com/b", "https://shop.example.com/r#x""#,
            ),
            &env,
        )
        .unwrap_err();
        let keys: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(keys[0].0, "pools[0].apps[0].return_uris[0]");
        assert!(
            keys[0].1.contains("not on one of the app's origins"),
            "{keys:?}"
        );
        assert_eq!(keys[1].0, "pools[0].apps[0].return_uris[2]");
        assert!(keys[1].1.contains("one per origin"), "{keys:?}");
        assert_eq!(keys[2].0, "pools[0].apps[0].return_uris[3]");
        assert!(keys[2].1.contains("fragment"), "{keys:?}");
    }

    #[test]
    fn edge_limits_default_and_the_request_timeout_must_outlast_the_xiaomi_calls() {
        let c = parse(GOOD, &[("XIAOMI_SECRET_FOR_TEST", "x")]).unwrap();
        assert_eq!(
            (
                c.limits.body_read_timeout_ms,
                c.limits.request_timeout_ms,
                c.limits.max_body_bytes,
                c.limits.max_connections
            ),
            (10_000, 60_000, 8192, 512)
        );
        let short = [
            ("XIAOMI_SECRET_FOR_TEST", "x"),
            ("MILOGIN_XIAOMI__TIMEOUT_MS", "20000"),
        ];
        let e = parse(GOOD, &short).unwrap_err().to_string();
        assert!(
            e.contains("limits.request_timeout_ms") && e.contains("set it above 80000"),
            "{e}"
        );
        let bad = [
            ("XIAOMI_SECRET_FOR_TEST", "x"),
            ("MILOGIN_LIMITS__MAX_BODY_BYTES", "10"),
            ("MILOGIN_LIMITS__MAX_CONNECTIONS", "0"),
            ("MILOGIN_LIMITS__BODY_READ_TIMEOUT_MS", "60000"),
        ];
        let e = parse(GOOD, &bad).unwrap_err().to_string();
        for key in [
            "limits.max_body_bytes",
            "limits.max_connections",
            "limits.body_read_timeout_ms",
        ] {
            assert!(e.contains(key), "{key} missing from {e}");
        }
    }

    #[test]
    fn env_overrides_nested_keys_and_array_entries() {
        let c = parse(
            GOOD,
            &[
                ("XIAOMI_SECRET_FOR_TEST", "x"),
                ("MILOGIN_XIAOMI__TIMEOUT_MS", "2500"),
                ("MILOGIN_SERVER__LISTEN", "0.0.0.0:9000"),
                (
                    "MILOGIN_POOLS__0__APPS__0__ORIGINS",
                    r#"["https://a.example", "https://b.example:8443"]"#,
                ),
                ("MILOGIN_TEST_SOMETHING", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(c.xiaomi.timeout_ms, 2500);
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(
            c.pools[0].apps[0].origins,
            vec!["https://a.example", "https://b.example:8443"]
        );
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let bad = r#"
[server]
listen = "nowhere"
[xiaomi]
account_base = "http://127.0.0.1:1"
[[pools]]
id = "p"
  [[pools.apps]]
  id = "a"
  origins = ["https://shop.example.com/path", "javascript:alert(1)"]
  connections = ["nope"]
  [[pools.connections]]
  unique_id = "Bad_ID"
  app_id = 2882303761520000000
  app_secret = "inline"
  scopes = [3]
"#;
        let err = parse(bad, &[]).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for k in [
            "server.listen",
            "server.public_url",
            "xiaomi.account_base",
            "pools[0].connections[0].unique_id",
            "pools[0].connections[0].app_id",
            "pools[0].connections[0].app_secret",
            "pools[0].connections[0].scopes",
            "pools[0].apps[0].origins[0]",
            "pools[0].apps[0].origins[1]",
            "pools[0].apps[0].connections[0]",
        ] {
            assert!(keys.contains(&k), "missing {k} in {keys:?}");
        }
        assert!(err.to_string().contains("allow_insecure_endpoints"));
    }

    #[test]
    fn trusted_proxies_parse_at_load_and_bad_entries_are_named() {
        let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
        let c = parse(GOOD, &env).unwrap();
        assert!(
            c.server.trusted_proxies.nets.is_empty(),
            "default: trust no proxy"
        );
        let ok = GOOD.replace(
            "[server]",
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nforwarded_header = \"forwarded\"",
        );
        let c = parse(&ok, &env).unwrap();
        assert_eq!(c.server.trusted_proxies.nets.len(), 2);
        let bad = GOOD.replace(
            "[server]",
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\nforwarded_header = \"x-real-ip\"",
        );
        let err = parse(&bad, &env).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["server.trusted_proxies[1]", "server.forwarded_header"],
            "{err}"
        );
        assert!(err.to_string().contains("127.0.0.1/32"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = parse(
            &GOOD.replace("[xiaomi]", "[xiaomi]\ntimeout = 5"),
            &[("XIAOMI_SECRET_FOR_TEST", "x")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("timeout"), "{err}");
    }

    #[test]
    fn http_bases_need_the_insecure_switch() {
        let text = GOOD.replace(
            "[xiaomi]",
            "[xiaomi]\naccount_base = \"http://127.0.0.1:9\"\nopen_base = \"http://127.0.0.1:9\"\nallow_insecure_endpoints = true",
        );
        assert!(parse(&text, &[("XIAOMI_SECRET_FOR_TEST", "x")]).is_ok());
    }

    #[test]
    fn field_matching_keys_load_with_safe_defaults() {
        let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
        let c = parse(GOOD, &env).unwrap();
        let conn = &c.pools[0].connections[0];
        assert_eq!(
            (conn.association, conn.match_fields.len()),
            (Association::Off, 0)
        );
        assert!(
            !conn.trust_xiaomi_email && !conn.trust_xiaomi_phone,
            "Xiaomi's values are untrusted by default"
        );

        let text = GOOD.replace(
            "app_secret = { env = \"XIAOMI_SECRET_FOR_TEST\" }",
            "app_secret = { env = \"XIAOMI_SECRET_FOR_TEST\" }\n  scopes = [1, 3, 6]\n  association = \"field_match\"\n  match_fields = [\"email\", \"phone\"]\n  trust_xiaomi_email = true",
        );
        let c = parse(&text, &env).unwrap();
        let conn = &c.pools[0].connections[0];
        assert_eq!(
            conn.match_fields,
            vec![MatchField::Email, MatchField::Phone]
        );
        assert!(conn.trusts(MatchField::Email) && !conn.trusts(MatchField::Phone));
        assert!(conn.matches_on(MatchField::Phone));
        let w = c.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.contains("scope 4"), "{w:?}");
        assert!(format!("{conn:?}").contains("trust_xiaomi_email: true"));
    }

    #[test]
    fn inconsistent_association_keys_are_refused_by_key() {
        let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
        let with = |extra: &str| {
            GOOD.replace(
                "app_secret = { env = \"XIAOMI_SECRET_FOR_TEST\" }",
                &format!("app_secret = {{ env = \"XIAOMI_SECRET_FOR_TEST\" }}\n  {extra}"),
            )
        };
        for (extra, key) in [
            ("association = \"field_match\"", "pools[0].connections[0].match_fields"),
            ("match_fields = [\"email\"]", "pools[0].connections[0].match_fields"),
            ("association = \"field_match\"\n  match_fields = [\"email\", \"email\"]", "pools[0].connections[0].match_fields[1]"),
            ("association = \"query_binding\"\n  trust_xiaomi_email = true", "pools[0].connections[0].trust_xiaomi_email"),
            ("association = \"field_match\"\n  match_fields = [\"email\"]\n  trust_xiaomi_phone = true", "pools[0].connections[0].trust_xiaomi_phone"),
        ] {
            let err = parse(&with(extra), &env).unwrap_err();
            assert!(err.0.iter().any(|p| p.key == key), "{extra}: {err}");
        }
        let err = parse(
            &with("association = \"field_match\"\n  match_fields = [\"address\"]"),
            &env,
        )
        .unwrap_err();
        assert!(err.to_string().contains("address"), "{err}");
        assert!(parse(
            &with("association = \"query_binding\"\n  login_mode = \"login_only\""),
            &env
        )
        .is_ok());
    }

    #[test]
    fn origins_normalise_and_refuse_spoofs() {
        assert_eq!(
            normalize_origin("HTTPS://Shop.Example.COM").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            normalize_origin("https://shop.example.com:443").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "https://shop.example.com/",
            "https://shop.example.com/x",
            "https://user@shop.example.com",
            "https://shop.example.com#x",
            "https://shop.example.com?x",
            "https://shop.example.com.",
            "null",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://shop.example.com%00.evil",
            "https://shop.example.com\t",
            "",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad:?} accepted");
        }
    }
}

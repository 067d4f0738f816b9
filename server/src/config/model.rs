//! The validated configuration every other module reads: typed, parsed once, secrets redacted.

use super::connection::Connection;
use crate::domain::{AppId, Origin, PoolId, UniqueId};
use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
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
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
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
    /// Pending attempts of all clients of one IPv6 /56, per replica (503 beyond).
    pub max_pending_per_56: u32,
    /// Pending attempts of all clients of one IPv6 /48, per replica (503 beyond).
    pub max_pending_per_48: u32,
    /// `/pools/{pool}/userinfo` requests per client per minute.
    pub userinfo_per_minute: u32,
    /// `/pools/{pool}/oidc/token` requests per client per minute: a relying party's backend
    /// redeems all its users' codes from one address.
    pub token_per_minute: u32,
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
    /// Open connections of one client (IPv4 address, IPv6 /64) per replica; its connections
    /// beyond are closed at once. Peers in `server.trusted_proxies` are exempt.
    pub max_connections_per_client: usize,
    /// A new connection must send the head of its first request within this time, milliseconds
    /// (the shorter of this and `header_read_timeout_ms` applies).
    pub first_request_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            authorize_per_minute: 60,
            callback_per_minute: 60,
            binding_per_minute: 30,
            max_pending_attempts: 100_000,
            max_pending_per_client: 20,
            max_pending_per_56: 200,
            max_pending_per_48: 1_000,
            userinfo_per_minute: 120,
            token_per_minute: 600,
            header_read_timeout_ms: 10_000,
            breaker_failures: 5,
            breaker_cooldown_ms: 5_000,
            body_read_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            max_body_bytes: 8 * 1024,
            max_connections: 512,
            max_connections_per_client: 32,
            first_request_timeout_ms: 5_000,
        }
    }
}

/// Most Xiaomi calls one callback makes in a row (token, profile, openId, phone/email).
const XIAOMI_CALLS_PER_CALLBACK: u64 = 4;

impl Limits {
    /// Problems with the HTTP-edge bounds (body, request, connections); `xiaomi_timeout_ms`
    /// bounds one Xiaomi call, and a callback must be able to finish its calls in time.
    pub(super) fn edge_problems(&self, xiaomi_timeout_ms: u64) -> Vec<(&'static str, String)> {
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
        if self.max_connections_per_client == 0 {
            out.push((
                "limits.max_connections_per_client",
                "must be at least 1 (default 32; above limits.max_connections it changes nothing)"
                    .into(),
            ));
        }
        if !(100..=120_000).contains(&self.first_request_timeout_ms) {
            out.push((
                "limits.first_request_timeout_ms",
                "must be between 100 and 120000 milliseconds (default 5000)".into(),
            ));
        }
        out
    }
}

/// Where the database is: `server.database_url` and, for PostgreSQL, the password kept out of the
/// URL (`server.database_password`).
#[derive(Clone)]
pub struct Database<'a> {
    /// `sqlite://…` or `postgres://…`.
    pub url: &'a str,
    /// PostgreSQL's password, when not in the URL.
    pub password: Option<&'a SecretString>,
}

impl<'a> Database<'a> {
    /// A database named by its URL alone.
    pub fn url(url: &'a str) -> Self {
        Self {
            url,
            password: None,
        }
    }

    /// True for a PostgreSQL URL.
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
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
    /// PostgreSQL's password, kept out of `database_url`.
    pub database_password: Option<SecretString>,
    /// Folder holding the built widget (served at `/widget/`); `None`: the copy built into the
    /// binary.
    pub widget_dir: Option<PathBuf>,
    /// Serve the button designer at `/designer` (default); `false`: 404.
    pub designer: bool,
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
    /// A separate address for `/metrics` (then not served on `listen`); `None`: on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Wraps the signing keys at rest (`key_encryption_key`); `None`: stored as PEM.
    pub key_encryption_key: Option<crate::crypto::Kek>,
}

/// Default of `server.key_publish_secs`: an hour covers the JWKS caches of common JWT libraries.
pub const KEY_PUBLISH_DEFAULT_SECS: u64 = 3600;

/// The JWKS is served with `Cache-Control: max-age` this long (`http/oidc.rs`).
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// The app id of the experience-login page (`/connection/social/{uid}/{pool}/try`): present in
/// every pool when `server.admin_token` is set, with the server's own origin.
pub const TRY_APP: &str = "__try__";

impl ServerConfig {
    /// The database: its URL and PostgreSQL's password.
    pub fn database(&self) -> Database<'_> {
        Database {
            url: &self.database_url,
            password: self.database_password.as_ref(),
        }
    }

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
    pub id: PoolId,
    /// Apps (web sites) of the pool.
    pub apps: Vec<App>,
    /// Identity-source connections of the pool.
    pub connections: Vec<Connection>,
}

impl Pool {
    /// The app with this id.
    pub fn app(&self, id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.id.as_str() == id)
    }

    /// The connection with this Unique ID.
    pub fn connection(&self, unique_id: &str) -> Option<&Connection> {
        self.connections
            .iter()
            .find(|c| c.unique_id.as_str() == unique_id)
    }
}

/// A web site that embeds the button.
#[derive(Debug, Clone)]
pub struct App {
    /// App id (the token's `aud`).
    pub id: AppId,
    /// The site's name as people know it (the hosted login page shows it).
    pub name: Option<String>,
    /// Exact origins allowed to receive results (`scheme://host[:port]`, normalised).
    pub origins: Vec<Origin>,
    /// Exact redirect URIs for redirect mode.
    pub redirect_uris: Vec<String>,
    /// Return pages for a lost opener, at most one per origin: a page of the app's own origin
    /// that loads the widget, where the login window ends when it cannot reach the page that
    /// opened it (a `Cross-Origin-Opener-Policy` cut it off). Only the browser can open it on
    /// that origin, so the result stays with documents of the registered origin.
    pub return_uris: Vec<String>,
    /// Unique IDs of the connections enabled for this app.
    pub connections: Vec<UniqueId>,
    /// The app's secret as an OpenID Connect client (`client_secret_basic` or
    /// `client_secret_post` at `/pools/{pool}/oidc/token`): with one the app is a confidential
    /// client, without one a public client that must use PKCE.
    pub client_secret: Option<SecretString>,
}

impl App {
    /// True when `origin` is registered.
    pub fn allows_origin(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }

    /// True when the app has a `client_secret` (a confidential OpenID Connect client).
    pub fn is_confidential(&self) -> bool {
        self.client_secret.is_some()
    }

    /// True when `uri` is registered, byte for byte.
    pub fn allows_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    /// The return page registered for `origin`, if any.
    pub fn return_uri(&self, origin: &Origin) -> Option<&str> {
        self.return_uris
            .iter()
            .find(|u| Origin::of_url(u).as_ref() == Some(origin))
            .map(String::as_str)
    }

    /// What the hosted login page calls the app: its `name`, else the host of its first origin
    /// (or redirect URI), which people recognise; never the raw id, which is the operator's.
    pub fn shown_name(&self) -> Option<String> {
        if let Some(name) = &self.name {
            return Some(name.clone());
        }
        let url = self
            .origins
            .first()
            .map(|o| o.as_str().to_owned())
            .or_else(|| self.redirect_uris.first().cloned())?;
        Url::parse(&url).ok()?.host_str().map(str::to_owned)
    }

    /// True when the connection is enabled for this app.
    pub fn enables(&self, unique_id: &str) -> bool {
        self.connections.iter().any(|c| c.as_str() == unique_id)
    }
}

impl Config {
    /// The pool with this id.
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id.as_str() == id)
    }
}

impl Config {
    /// Advice that is not an error (a password in the database URL, a short key publication,
    /// a provider's settings that make part of a connection useless). Printed by `milogin check`.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if has_inline_password(&self.server.database_url) {
            out.push(Problem {
                key: "server.database_url".into(),
                message: "holds a password: anyone who sees the file (or a process listing of a command given the URL) sees it. Move it to server.database_password = { file = \"…\" } or { env = \"…\" } and write the URL without it".into(),
            });
        }
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
                out.extend(
                    c.provider
                        .warnings(c)
                        .into_iter()
                        .map(|(key, message)| Problem {
                            key: format!("pools[{pi}].connections[{ci}].{key}"),
                            message,
                        }),
                );
            }
        }
        out
    }
}

/// True when a PostgreSQL URL carries a password (`postgres://user:password@…`).
pub(super) fn has_inline_password(url: &str) -> bool {
    (url.starts_with("postgres://") || url.starts_with("postgresql://"))
        && Url::parse(url).is_ok_and(|u| u.password().is_some())
}

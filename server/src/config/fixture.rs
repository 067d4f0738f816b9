//! A typed builder of configuration files, shared by the test suite, the process tests, the
//! benchmark and `milogin demo`: server keys, pools, apps and connections as Rust values (modes
//! as their enums, limits as [`Limits`]), rendered through serde as TOML of the file's own shape
//! (`milogin.example.toml` describes every key). Fields left at their default are not written,
//! so the server's defaults apply.

use super::{Association, Limits, LoginMode, MatchField};
use serde::Serialize;
use std::collections::BTreeMap;

/// A whole configuration file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigBuilder {
    /// `[server]`.
    pub server: ServerKeys,
    /// `[xiaomi]`.
    pub xiaomi: XiaomiKeys,
    /// `[limits]` (every key written).
    pub limits: Limits,
    /// `[[pools]]`.
    pub pools: Vec<PoolBuilder>,
}

impl ConfigBuilder {
    /// Listening on `127.0.0.1:port` (also the public URL), with this database and no pools.
    pub fn on_loopback(port: u16, database_url: impl Into<String>) -> Self {
        Self {
            server: ServerKeys {
                listen: Some(format!("127.0.0.1:{port}")),
                public_url: Some(format!("http://127.0.0.1:{port}")),
                database_url: Some(database_url.into()),
                ..ServerKeys::default()
            },
            ..Self::default()
        }
    }

    /// Xiaomi's endpoints at a mock on plain HTTP (`account_base` and `open_base`).
    pub fn mock_xiaomi(mut self, base: &str) -> Self {
        self.xiaomi.account_base = Some(base.to_owned());
        self.xiaomi.open_base = Some(base.to_owned());
        self.xiaomi.allow_insecure_endpoints = true;
        self
    }

    /// With these limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// With one more pool.
    pub fn pool(mut self, pool: PoolBuilder) -> Self {
        self.pools.push(pool);
        self
    }

    /// Only `server.database_url` and these pools (the offline commands need no more).
    pub fn database(database_url: impl Into<String>) -> Self {
        let mut file = Self::default();
        file.server.database_url = Some(database_url.into());
        file
    }

    /// The file's text.
    pub fn render(&self) -> String {
        toml::to_string(self).expect("a configuration renders as TOML")
    }

    /// The file as a TOML table, for a test that breaks it on purpose (an unknown key, a value
    /// of the wrong kind, a missing one) where the typed fields cannot.
    pub fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("a configuration renders as TOML")
    }
}

/// Limits high enough for bursts from one address (every test and benchmark client is
/// 127.0.0.1): the login routes' rates, the per-client pending cap and connection cap.
pub fn generous_limits() -> Limits {
    Limits {
        max_pending_per_client: 100_000,
        max_connections_per_client: 100_000,
        ..generous_rates()
    }
}

/// [`Limits`] with only the login routes' rates raised (authorize, callback, binding).
pub fn generous_rates() -> Limits {
    Limits {
        authorize_per_minute: 100_000,
        callback_per_minute: 100_000,
        binding_per_minute: 100_000,
        ..Limits::default()
    }
}

/// `[server]`; `None`, `false` and empty lists are left out (the server's default).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerKeys {
    /// `listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `public_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `database_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `database_password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_password: Option<Secret>,
    /// `widget_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_dir: Option<String>,
    /// `designer` (the server's default is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub designer: Option<bool>,
    /// `token_ttl_secs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ttl_secs: Option<u64>,
    /// `key_publish_secs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_publish_secs: Option<u64>,
    /// `attempt_ttl_secs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_ttl_secs: Option<u64>,
    /// `admin_token` (the experience-login page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// `trusted_proxies`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// `forwarded_header`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_header: Option<String>,
    /// `allow_plain_http_apps`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_plain_http_apps: bool,
    /// `metrics_listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// `key_encryption_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_encryption_key: Option<Secret>,
}

/// `[xiaomi]`; unset keys keep the real endpoints and the server's timeouts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct XiaomiKeys {
    /// `account_base`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_base: Option<String>,
    /// `open_base`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_base: Option<String>,
    /// `allow_insecure_endpoints` (a mock on plain HTTP).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_endpoints: bool,
    /// `timeout_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// `connect_timeout_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
}

/// A secret's source: `{ env = "NAME" }` or `{ file = "path" }` (relative to the file).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Secret {
    /// An environment variable.
    Env(String),
    /// A file.
    File(String),
}

/// One `[[pools]]`.
#[derive(Debug, Clone, Serialize)]
pub struct PoolBuilder {
    /// `id`.
    pub id: String,
    /// `[[pools.apps]]`.
    pub apps: Vec<AppBuilder>,
    /// `[[pools.connections]]`.
    pub connections: Vec<ConnectionBuilder>,
}

impl PoolBuilder {
    /// A pool without apps or connections.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            apps: Vec::new(),
            connections: Vec::new(),
        }
    }

    /// With one more app.
    pub fn app(mut self, app: AppBuilder) -> Self {
        self.apps.push(app);
        self
    }

    /// With one more connection.
    pub fn connection(mut self, connection: ConnectionBuilder) -> Self {
        self.connections.push(connection);
        self
    }
}

/// One `[[pools.apps]]`; empty lists are left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppBuilder {
    /// `id`.
    pub id: String,
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `origins`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// `redirect_uris`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// `return_uris`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub return_uris: Vec<String>,
    /// `connections` (always written: an app may have none).
    pub connections: Vec<String>,
    /// `client_secret` (an OpenID Connect confidential client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
}

impl AppBuilder {
    /// An app with one origin and these connections.
    pub fn new(id: &str, origin: &str, connections: &[&str]) -> Self {
        Self {
            id: id.to_owned(),
            origins: vec![origin.to_owned()],
            connections: connections.iter().map(|&c| c.to_owned()).collect(),
            ..Self::default()
        }
    }
}

/// One `[[pools.connections]]` (a Xiaomi app); options at their default are left out.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionBuilder {
    /// `unique_id`.
    pub unique_id: String,
    /// `display_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayName>,
    /// `app_id` (the Xiaomi AppID).
    pub app_id: String,
    /// `app_secret`.
    pub app_secret: Secret,
    /// `scopes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<u32>>,
    /// `skip_confirm`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_confirm: bool,
    /// `login_mode`.
    pub login_mode: LoginMode,
    /// `association`.
    pub association: Association,
    /// `match_fields`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_fields: Vec<MatchField>,
    /// `trust_xiaomi_email`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub trust_xiaomi_email: bool,
    /// `trust_xiaomi_phone`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub trust_xiaomi_phone: bool,
}

impl ConnectionBuilder {
    /// A connection to Xiaomi app `app_id` with the server's defaults (log in and register, no
    /// association).
    pub fn xiaomi(unique_id: &str, app_id: &str, app_secret: Secret) -> Self {
        Self {
            unique_id: unique_id.to_owned(),
            display_name: None,
            app_id: app_id.to_owned(),
            app_secret,
            scopes: None,
            skip_confirm: false,
            login_mode: LoginMode::LoginAndRegister,
            association: Association::Off,
            match_fields: Vec::new(),
            trust_xiaomi_email: false,
            trust_xiaomi_phone: false,
        }
    }
}

/// `display_name = "…"` or `display_name = { en = "…", zh-CN = "…" }`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DisplayName {
    /// One name for every language.
    One(String),
    /// A name per language tag.
    PerLanguage(BTreeMap<String, String>),
}

impl DisplayName {
    /// An English and a Chinese name.
    pub fn en_zh(en: &str, zh: &str) -> Self {
        Self::PerLanguage(BTreeMap::from([
            ("en".to_owned(), en.to_owned()),
            ("zh-CN".to_owned(), zh.to_owned()),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_file_loads_as_the_configuration_it_describes() {
        let mut connection =
            ConnectionBuilder::xiaomi("mi", "2882303761520000000", Secret::File("s.txt".into()));
        connection.login_mode = LoginMode::LoginOnly;
        connection.association = Association::FieldMatch;
        connection.match_fields = vec![MatchField::Email];
        connection.scopes = Some(vec![1, 3, 6]);
        connection.display_name = Some(DisplayName::en_zh("Xiaomi", "小米"));
        let mut file = ConfigBuilder::on_loopback(8080, "sqlite://x.db")
            .mock_xiaomi("http://127.0.0.1:9")
            .limits(generous_limits())
            .pool(
                PoolBuilder::new("p1")
                    .app(AppBuilder::new("web", "https://shop.example.com", &["mi"]))
                    .connection(connection),
            );
        file.server.trusted_proxies = vec!["10.0.0.0/8".into()];
        let text = file.render();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.txt"), "secret").unwrap();
        let c = crate::config::Config::from_toml(&text, Vec::new(), dir.path())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let pool = c.pool("p1").unwrap();
        let conn = pool.connection("mi").unwrap();
        assert_eq!(
            (conn.login_mode, conn.association, conn.match_fields.clone()),
            (
                LoginMode::LoginOnly,
                Association::FieldMatch,
                vec![MatchField::Email]
            )
        );
        assert_eq!(conn.display_name.for_locale("zh-CN"), "小米");
        assert!(pool.app("web").is_some());
        assert_eq!(c.limits.authorize_per_minute, 100_000);
        assert_eq!(c.server.base(), "http://127.0.0.1:8080");
    }
}

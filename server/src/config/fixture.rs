//! A typed builder of configuration files, shared by the test suite, the process tests, the
//! benchmark and `milogin demo`: server keys, pools, apps and connections as Rust values (modes
//! as their enums, limits as [`Limits`]), rendered through serde as TOML of the file's own shape
//! (`milogin.example.toml` describes every key). Fields left at their default are not written,
//! so the server's defaults apply.

use super::{Association, Limits, LoginMode, MatchField};
use serde::Serialize;
use std::collections::BTreeMap;

/// A whole configuration file, a field per table (`[limits]` has every key written).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigBuilder {
    pub server: ServerKeys,
    pub xiaomi: XiaomiKeys,
    pub limits: Limits,
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

/// [`Limits`] with only the login routes' rates raised (authorize, callback, binding, token).
pub fn generous_rates() -> Limits {
    Limits {
        authorize_per_minute: 100_000,
        callback_per_minute: 100_000,
        binding_per_minute: 100_000,
        token_per_minute: 100_000,
        ..Limits::default()
    }
}

/// `[server]`, a field per key (`designer` unset: on); `None`, `false` and empty lists are left
/// out (the server's default).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerKeys {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_password: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub designer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_publish_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_header: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_plain_http_apps: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_encryption_key: Option<Secret>,
}

/// `[xiaomi]`, a field per key; unset keys keep the real endpoints and the server's timeouts
/// (`allow_insecure_endpoints`: a mock on plain HTTP).
#[derive(Debug, Clone, Default, Serialize)]
pub struct XiaomiKeys {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_base: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_endpoints: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
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

/// One `[[pools]]`, a field per key.
#[derive(Debug, Clone, Serialize)]
pub struct PoolBuilder {
    pub id: String,
    pub apps: Vec<AppBuilder>,
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

/// One `[[pools.apps]]`, a field per key; empty lists are left out (`connections` is always
/// written: an app may have none).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppBuilder {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub return_uris: Vec<String>,
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

/// One `[[pools.connections]]` (a Xiaomi app), a field per key (`kind` unset: `xiaomi`;
/// `app_id`: the Xiaomi AppID); options at their default are left out.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionBuilder {
    pub unique_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayName>,
    pub app_id: String,
    pub app_secret: Secret,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_confirm: bool,
    pub login_mode: LoginMode,
    pub association: Association,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_fields: Vec<MatchField>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub trust_xiaomi_email: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub trust_xiaomi_phone: bool,
}

impl ConnectionBuilder {
    /// A connection to Xiaomi app `app_id` with the server's defaults (log in and register, no
    /// association).
    pub fn xiaomi(unique_id: &str, app_id: &str, app_secret: Secret) -> Self {
        Self {
            unique_id: unique_id.to_owned(),
            kind: None,
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
    use std::collections::BTreeSet;

    /// The key paths of a file (`server.listen`, `pools.apps.id`): through the top-level tables
    /// and every array of tables; a table below the top level (`display_name`, a secret's
    /// `{ file = … }`) is one value.
    fn key_paths(table: &toml::Table) -> BTreeSet<String> {
        fn walk(table: &toml::Table, prefix: &str, top: bool, out: &mut BTreeSet<String>) {
            for (key, value) in table {
                let path = format!("{prefix}{key}");
                match value {
                    toml::Value::Table(t) if top => walk(t, &format!("{path}."), false, out),
                    toml::Value::Array(a)
                        if a.iter().all(toml::Value::is_table) && !a.is_empty() =>
                    {
                        for t in a.iter().filter_map(toml::Value::as_table) {
                            walk(t, &format!("{path}."), false, out);
                        }
                    }
                    _ => {
                        out.insert(path);
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(table, "", true, &mut out);
        out
    }

    /// A builder with every field set away from its default (so every key is written).
    fn every_key() -> ConfigBuilder {
        let secret = |name: &str| Some(Secret::File(name.into()));
        let mut file =
            ConfigBuilder::on_loopback(8080, "sqlite://x.db").mock_xiaomi("http://127.0.0.1:9");
        let server = &mut file.server;
        server.database_password = secret("db-password");
        server.widget_dir = Some("widget".into());
        server.designer = Some(false);
        (server.token_ttl_secs, server.key_publish_secs) = (Some(60), Some(60));
        server.attempt_ttl_secs = Some(60);
        server.admin_token = secret("admin");
        server.trusted_proxies = vec!["10.0.0.0/8".into()];
        server.forwarded_header = Some("forwarded".into());
        server.allow_plain_http_apps = true;
        server.metrics_listen = Some("127.0.0.1:9090".into());
        server.key_encryption_key = secret("kek");
        (file.xiaomi.timeout_ms, file.xiaomi.connect_timeout_ms) = (Some(1000), Some(500));
        file.xiaomi.max_body_bytes = Some(1 << 16);
        let mut app = AppBuilder::new("web", "https://shop.example.com", &["mi"]);
        app.name = Some("Shop".into());
        app.redirect_uris = vec!["https://shop.example.com/done".into()];
        app.return_uris = vec!["https://shop.example.com/return.html".into()];
        let mut connection =
            ConnectionBuilder::xiaomi("mi", "2882303761520000000", Secret::Env("S".into()));
        connection.kind = Some("xiaomi".into());
        connection.display_name = Some(DisplayName::One("Xiaomi".into()));
        connection.scopes = Some(vec![1, 3, 6]);
        connection.skip_confirm = true;
        connection.match_fields = vec![MatchField::Email];
        (connection.trust_xiaomi_email, connection.trust_xiaomi_phone) = (true, true);
        file.pool(PoolBuilder::new("p1").app(app).connection(connection))
    }

    #[test]
    fn the_builder_writes_every_key_of_the_example_file_and_none_the_reader_refuses() {
        // The builder repeats the file's shape (`raw.rs` reads it): this keeps the two together.
        let example: toml::Table = include_str!("../../../milogin.example.toml")
            .parse()
            .unwrap();
        let every = every_key();
        let written = key_paths(&every.to_table());
        let missing: Vec<_> = key_paths(&example).difference(&written).cloned().collect();
        assert!(
            missing.is_empty(),
            "keys of milogin.example.toml the builder cannot write: {missing:?}"
        );
        let text = every.render();
        if let Err(e) = toml::from_str::<super::super::raw::RawConfig>(&text) {
            panic!("{e}\n{text}");
        }
    }

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
        assert_eq!(conn.label("zh-CN"), "小米");
        assert!(pool.app("web").is_some());
        assert_eq!(c.limits.authorize_per_minute, 100_000);
        assert_eq!(c.server.base(), "http://127.0.0.1:8080");
    }
}

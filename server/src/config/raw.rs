//! The file's shape as serde reads it (unknown keys refused), before validation turns it into
//! the typed [`super::Config`]. Nothing outside `config` sees these types. Required keys are
//! optional here: validation names each missing one, with every other problem (serde would stop
//! at the first).

use super::{Association, Limits, LoginMode, MatchField, KEY_PUBLISH_DEFAULT_SECS};
use serde::Deserialize;

/// Keys whose values are text even when they look like numbers or booleans: an environment
/// override of one is never read as TOML (`load::apply_env`).
pub(super) const TEXT_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "database_url",
    "widget_dir",
    "forwarded_header",
    "metrics_listen",
    "account_base",
    "open_base",
    "id",
    "name",
    "unique_id",
    "kind",
    "display_name",
    "app_id",
    "login_mode",
    "association",
    "env",
    "file",
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConfig {
    pub(super) server: RawServer,
    pub(super) xiaomi: RawXiaomi,
    pub(super) pools: Vec<RawPool>,
    pub(super) limits: Limits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawServer {
    pub(super) listen: String,
    pub(super) public_url: Option<String>,
    pub(super) database_url: String,
    pub(super) database_password: Option<RawSecret>,
    pub(super) widget_dir: Option<String>,
    pub(super) designer: bool,
    pub(super) token_ttl_secs: u64,
    pub(super) key_publish_secs: u64,
    pub(super) attempt_ttl_secs: u64,
    pub(super) admin_token: Option<RawSecret>,
    pub(super) trusted_proxies: Vec<String>,
    pub(super) forwarded_header: String,
    pub(super) allow_plain_http_apps: bool,
    pub(super) metrics_listen: Option<String>,
    pub(super) key_encryption_key: Option<RawSecret>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: "sqlite://data/milogin.db".into(),
            database_password: None,
            widget_dir: None,
            designer: true,
            token_ttl_secs: 3600,
            key_publish_secs: KEY_PUBLISH_DEFAULT_SECS,
            attempt_ttl_secs: 600,
            admin_token: None,
            trusted_proxies: Vec::new(),
            forwarded_header: "x-forwarded-for".into(),
            allow_plain_http_apps: false,
            metrics_listen: None,
            key_encryption_key: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawXiaomi {
    pub(super) account_base: String,
    pub(super) open_base: String,
    pub(super) allow_insecure_endpoints: bool,
    pub(super) timeout_ms: u64,
    pub(super) connect_timeout_ms: u64,
    pub(super) max_body_bytes: usize,
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
pub(super) struct RawPool {
    #[serde(default)]
    pub(super) id: String,
    #[serde(default)]
    pub(super) apps: Vec<RawApp>,
    #[serde(default)]
    pub(super) connections: Vec<RawConnection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
    #[serde(default)]
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) origins: Vec<String>,
    #[serde(default)]
    pub(super) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(super) return_uris: Vec<String>,
    #[serde(default)]
    pub(super) connections: Vec<String>,
    #[serde(default)]
    pub(super) client_secret: Option<RawSecret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    #[serde(default)]
    pub(super) unique_id: String,
    #[serde(default = "xiaomi_kind")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) display_name: Option<RawDisplayName>,
    #[serde(default)]
    pub(super) app_id: Option<toml::Value>,
    #[serde(default)]
    pub(super) app_secret: Option<RawSecret>,
    #[serde(default = "default_scopes")]
    pub(super) scopes: Vec<u32>,
    #[serde(default)]
    pub(super) skip_confirm: bool,
    #[serde(default = "default_login_mode")]
    pub(super) login_mode: LoginMode,
    #[serde(default = "default_association")]
    pub(super) association: Association,
    #[serde(default)]
    pub(super) match_fields: Vec<MatchField>,
    #[serde(default)]
    pub(super) trust_xiaomi_email: bool,
    #[serde(default)]
    pub(super) trust_xiaomi_phone: bool,
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

/// Where a secret comes from.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawSecret {
    Env { env: String },
    File { file: String },
    Inline(#[allow(dead_code)] String),
}

/// `display_name = "…"` (every language) or `display_name = { en = "…", zh-CN = "…" }`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawDisplayName {
    /// One name for every language.
    One(String),
    /// A name per language.
    PerLanguage(std::collections::BTreeMap<String, String>),
}

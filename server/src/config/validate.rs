//! Validation: the raw file shape into the typed [`Config`], every problem collected with its key
//! and how to fix it (so `milogin check` lists them all at once). One function per section
//! (`pools` has its own module); the order of the checks is the order problems are listed in.

use super::check::{Problems, Secrets};
use super::load::DatabaseSettings;
use super::pools::pools;
use super::raw::{RawConfig, RawServer, RawXiaomi};
use super::{Config, ConfigError, Limits, ServerConfig, XiaomiConfig, KEY_PUBLISH_DEFAULT_SECS};
use crate::domain::Origin;
use std::net::SocketAddr;
use std::path::Path;
use url::Url;

impl RawConfig {
    pub(super) fn validate(
        mut self,
        getenv: &dyn Fn(&str) -> Option<String>,
        base_dir: &Path,
    ) -> Result<Config, ConfigError> {
        let mut p = Problems::default();
        let secrets = Secrets { getenv, base_dir };
        let (listen, public_url) = server_urls(&mut p, &self.server);
        let metrics_listen = metrics_listen(&mut p, &self.server, listen);
        check_server_numbers(&mut p, &self.server);
        let (account_base, open_base) = xiaomi_bases(&mut p, &self.xiaomi);
        check_xiaomi_numbers(&mut p, &self.xiaomi);
        check_limits(&mut p, &self.limits, self.xiaomi.timeout_ms);
        let trusted_proxies = trusted_proxies(&mut p, &self.server);
        let database_password = database_password(&mut p, &mut self.server, &secrets);
        let admin_token = self.server.admin_token.take().map(|raw| {
            let t = secrets.resolve(&mut p, "server.admin_token", raw);
            let len = secrecy::ExposeSecret::expose_secret(&t).len();
            // An unreadable or empty token is already reported: one message per setting.
            if (1..16).contains(&len) {
                p.add(
                    "server.admin_token",
                    "must be at least 16 characters (it guards the experience-login page)",
                );
            }
            t
        });
        let key_encryption_key = self.server.key_encryption_key.take().and_then(|raw| {
            let key = "server.key_encryption_key";
            let text = secrets.resolve(&mut p, key, raw);
            let text = secrecy::ExposeSecret::expose_secret(&text);
            // An unreadable or empty secret is already reported.
            match text.is_empty() {
                true => None,
                false => crate::crypto::Kek::from_base64(text)
                    .map_err(|e| p.add(key, e))
                    .ok(),
            }
        });
        // With an admin token, every pool gets the experience-login app on our own origin.
        let try_origin = admin_token
            .is_some()
            .then(|| Origin::of_url(public_url.as_str()))
            .flatten();
        if public_url.scheme() == "https" && !self.server.allow_plain_http_apps {
            super::origin::check_plain_http(&mut p, &self.pools);
        }
        let pools = pools(&mut p, self.pools, &secrets, try_origin);
        p.finish(Config {
            server: ServerConfig {
                listen,
                public_url,
                database_url: resolve_database_url(&self.server.database_url, base_dir),
                database_password,
                widget_dir: self.server.widget_dir.map(|d| base_dir.join(d)),
                designer: self.server.designer,
                token_ttl_secs: self.server.token_ttl_secs,
                key_publish_secs: self.server.key_publish_secs,
                attempt_ttl_secs: self.server.attempt_ttl_secs,
                admin_token,
                trusted_proxies,
                metrics_listen,
                key_encryption_key,
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

impl RawConfig {
    /// Only what the offline commands need (see [`DatabaseSettings`]).
    pub(super) fn validate_database(
        mut self,
        getenv: &dyn Fn(&str) -> Option<String>,
        base_dir: &Path,
    ) -> Result<DatabaseSettings, ConfigError> {
        let mut p = Problems::default();
        check_database_url(&mut p, &self.server.database_url);
        let secrets = Secrets { getenv, base_dir };
        let database_password = database_password(&mut p, &mut self.server, &secrets);
        let settings = DatabaseSettings {
            database_url: resolve_database_url(&self.server.database_url, base_dir),
            database_password,
            pool_ids: self.pools.into_iter().map(|pool| pool.id).collect(),
        };
        p.finish(settings)
    }
}

/// `server.listen` and `server.public_url` (with stand-ins after a problem, so checking goes on).
fn server_urls(p: &mut Problems, s: &RawServer) -> (SocketAddr, Url) {
    let listen = s.listen.parse::<SocketAddr>().unwrap_or_else(|_| {
        p.add(
            "server.listen",
            format!(
                "{:?} is not an address; write e.g. \"127.0.0.1:8080\"",
                s.listen
            ),
        );
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let public_url = match &s.public_url {
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
    (listen, public_url)
}

/// `server.metrics_listen`: an address other than `listen`.
fn metrics_listen(p: &mut Problems, s: &RawServer, listen: SocketAddr) -> Option<SocketAddr> {
    let raw = s.metrics_listen.as_deref()?;
    match raw.parse::<SocketAddr>() {
        Ok(a) if a == listen => {
            p.add(
                "server.metrics_listen",
                format!("{raw:?} is server.listen; give /metrics another address (e.g. \"127.0.0.1:9090\"), or remove the key to serve it on server.listen"),
            );
            None
        }
        Ok(a) => Some(a),
        Err(_) => {
            p.add(
                "server.metrics_listen",
                format!("{raw:?} is not an address; write e.g. \"127.0.0.1:9090\""),
            );
            None
        }
    }
}

/// `server.database_url` and the server's lifetimes.
fn check_server_numbers(p: &mut Problems, s: &RawServer) {
    check_database_url(p, &s.database_url);
    if s.token_ttl_secs == 0 || s.token_ttl_secs > 86_400 {
        p.add(
            "server.token_ttl_secs",
            "must be between 1 and 86400 seconds",
        );
    }
    if s.key_publish_secs > 7 * 86_400 {
        p.add(
            "server.key_publish_secs",
            format!("must be at most 604800 seconds (7 days); the default {KEY_PUBLISH_DEFAULT_SECS} suits relying parties that cache the JWKS up to an hour"),
        );
    }
    if !(60..=3600).contains(&s.attempt_ttl_secs) {
        p.add(
            "server.attempt_ttl_secs",
            "must be between 60 and 3600 seconds (default 600)",
        );
    }
}

/// `server.database_url`: SQLite or PostgreSQL.
fn check_database_url(p: &mut Problems, db: &str) {
    if db.starts_with("sqlite:") {
        if let Err(e) = crate::domain::sqlite_url::sqlite_target(db) {
            p.add("server.database_url", e);
        }
    } else if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
        p.add(
            "server.database_url",
            format!("{db:?} must start with sqlite:// or postgres://"),
        );
    }
}

/// `server.database_password`: PostgreSQL's password as a secret, for a URL that has none.
fn database_password(
    p: &mut Problems,
    s: &mut RawServer,
    secrets: &Secrets,
) -> Option<secrecy::SecretString> {
    let raw = s.database_password.take()?;
    let password = secrets.resolve(p, "server.database_password", raw);
    let key = "server.database_password";
    if !(s.database_url.starts_with("postgres://") || s.database_url.starts_with("postgresql://")) {
        p.add(
            key,
            "is for a PostgreSQL database_url only (SQLite has no password); remove it",
        );
    } else if super::model::has_inline_password(&s.database_url) {
        p.add(key, "server.database_url holds a password too: write the URL without it (postgres://user@host/db), so that the password lives only in this secret");
    }
    Some(password)
}

/// A SQLite URL's relative path joined to `base_dir` (the config file's folder), so the
/// database does not depend on the working directory; other URLs as written.
fn resolve_database_url(url: &str, base_dir: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_string();
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (file, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    if file.is_empty()
        || file.starts_with(':')
        || file.starts_with("file:")
        || Path::new(file).is_absolute()
    {
        return url.to_string();
    }
    format!("sqlite://{}{query}", base_dir.join(file).display())
}

/// `xiaomi.account_base` and `xiaomi.open_base`: https, or http behind the explicit switch.
fn xiaomi_bases(p: &mut Problems, x: &RawXiaomi) -> (Url, Url) {
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
    (account_base, open_base)
}

/// The Xiaomi client's timeouts and body cap.
fn check_xiaomi_numbers(p: &mut Problems, x: &RawXiaomi) {
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
}

/// `[limits]`: rates at least 1, caps and timeouts in range, the edge bounds consistent.
fn check_limits(p: &mut Problems, l: &Limits, xiaomi_timeout_ms: u64) {
    for (key, v) in [
        ("limits.authorize_per_minute", l.authorize_per_minute),
        ("limits.callback_per_minute", l.callback_per_minute),
        ("limits.binding_per_minute", l.binding_per_minute),
        ("limits.breaker_failures", l.breaker_failures),
        ("limits.max_pending_per_client", l.max_pending_per_client),
        ("limits.max_pending_per_56", l.max_pending_per_56),
        ("limits.max_pending_per_48", l.max_pending_per_48),
        ("limits.userinfo_per_minute", l.userinfo_per_minute),
        ("limits.token_per_minute", l.token_per_minute),
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
    for (key, message) in l.edge_problems(xiaomi_timeout_ms) {
        p.add(key, message);
    }
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

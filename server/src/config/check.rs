//! What every validation step shares: the list of problems it adds to, where secrets are read
//! from, how a bad id is reported.

use super::raw::RawSecret;
use super::{ConfigError, Problem};
use secrecy::SecretString;
use std::path::Path;

#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
    pub(super) fn finish<T>(self, c: T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(c)
        } else {
            Err(ConfigError(self.0))
        }
    }
}

/// Where `{ env = … }` and `{ file = … }` secrets are read from.
pub(super) struct Secrets<'a> {
    pub(super) getenv: &'a dyn Fn(&str) -> Option<String>,
    pub(super) base_dir: &'a Path,
}

impl Secrets<'_> {
    pub(super) fn resolve(&self, p: &mut Problems, key: &str, raw: RawSecret) -> SecretString {
        resolve_secret(p, key, raw, self.getenv, self.base_dir)
    }
}

/// Parses a pool or app id (`PoolId::parse`, `AppId::parse`: one rule), reporting a bad one.
pub(super) fn parse_id<T, E>(
    p: &mut Problems,
    key: &str,
    id: &str,
    parse: fn(&str) -> Result<T, E>,
) -> Option<T> {
    let parsed = parse(id).ok();
    if parsed.is_none() {
        p.add(
            key,
            format!("{id:?} must be 1–64 characters of A-Z, a-z, 0-9, '-', '_'"),
        );
    }
    parsed
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
            let hint = if key.ends_with(".client_secret") {
                "the secret is empty; generate one with `openssl rand -base64 32` and give the same value to the app"
            } else {
                "the secret is empty; paste the APP Secret from the Xiaomi console"
            };
            p.add(key, hint);
            SecretString::from(String::new())
        }
        Some(v) => SecretString::from(v),
        None => SecretString::from(String::new()),
    }
}

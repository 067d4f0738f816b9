//! What every validation step shares: the list of problems it adds to, where secrets are read
//! from, how a bad id is reported and Xiaomi's scope ids.

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

/// Xiaomi's scope ids (xiaomi-oauth.md §2.5) and whether they are only in the legacy list (the
/// HyperOS list dropped them: they may be refused for new apps).
const XIAOMI_SCOPES: [(u32, bool); 22] = [
    (1, false),
    (2, true),
    (3, false),
    (4, true),
    (6, true),
    (1000, false),
    (1001, false),
    (2000, true),
    (2001, false),
    (2002, false),
    (6000, false),
    (6002, false),
    (6003, false),
    (6004, false),
    (7000, false),
    (11000, false),
    (12001, false),
    (12005, false),
    (13002, true),
    (16000, false),
    (20000, false),
    (40000, false),
];

/// `scopes` of the connection at `ck`: known Xiaomi ids, 1 (profile) among them.
pub(super) fn check_scopes(p: &mut Problems, ck: &str, scopes: &[u32]) {
    if scopes.is_empty() {
        p.add(
            format!("{ck}.scopes"),
            "is empty; use at least [1] (profile)",
        );
        return;
    }
    for (i, s) in scopes.iter().enumerate() {
        if !XIAOMI_SCOPES.iter().any(|(id, _)| id == s) {
            let known: Vec<String> = XIAOMI_SCOPES
                .iter()
                .map(|(id, legacy)| match legacy {
                    true => format!("{id} (legacy only)"),
                    false => id.to_string(),
                })
                .collect();
            p.add(
                format!("{ck}.scopes[{i}]"),
                format!("{s} is not a Xiaomi scope id; known: {} (\"legacy only\": not in the HyperOS list, may be refused for new apps)", known.join(", ")),
            );
        }
    }
    if !scopes.contains(&1) {
        p.add(
            format!("{ck}.scopes"),
            "must contain 1 (user profile): the login reads the nickname and avatar",
        );
    }
}

//! Reading the configuration: the TOML file, then `MILOGIN_…` environment overrides applied to
//! the TOML tree (so an override is checked exactly like the file), then [`super::validate`].

use super::raw::{RawConfig, TEXT_KEYS};
use super::{Config, ConfigError, Problem};
use serde_path_to_error::Segment;
use std::path::Path;

impl Config {
    /// Loads `path`, applies `MILOGIN_…` overrides from the process environment, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read(path)?;
        Self::from_toml(&text, std::env::vars(), &folder_of(path))
    }

    /// Parses TOML text with the given environment; relative secret files resolve from `base_dir`.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        base_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let (raw, mut problems) = raw(text, env)?;
        match raw.validate(&|name| std::env::var(name).ok(), base_dir) {
            Ok(c) if problems.is_empty() => Ok(c),
            Ok(_) => Err(ConfigError(problems)),
            Err(ConfigError(more)) => {
                problems.extend(more);
                Err(ConfigError(problems))
            }
        }
    }
}

/// What the offline commands (`milogin user …`) need: the database and the pool ids. Nothing
/// else is validated, so a host without the Xiaomi secret or the admin token can manage users.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `server.database_url`, validated.
    pub database_url: String,
    /// `server.database_password` (PostgreSQL).
    pub database_password: Option<secrecy::SecretString>,
    /// The ids of the `[[pools]]`.
    pub pool_ids: Vec<String>,
}

impl DatabaseSettings {
    /// The database: its URL and PostgreSQL's password.
    pub fn database(&self) -> super::Database<'_> {
        super::Database {
            url: &self.database_url,
            password: self.database_password.as_ref(),
        }
    }

    /// Loads `path` and the `MILOGIN_…` overrides like [`Config::load`], checking only
    /// `server.database_url` (the file must still be well-formed).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read(path)?;
        let (raw, problems) = raw(&text, std::env::vars())?;
        // Only shape problems in what these commands read stop them.
        let mut relevant: Vec<Problem> = problems
            .into_iter()
            .filter(|p| p.key.starts_with("server.database_") || is_pool_id(&p.key))
            .collect();
        match raw.validate_database(&|name| std::env::var(name).ok(), &folder_of(path)) {
            Ok(s) if relevant.is_empty() => Ok(s),
            Ok(_) => Err(ConfigError(relevant)),
            Err(ConfigError(more)) => {
                relevant.extend(more);
                Err(ConfigError(relevant))
            }
        }
    }
}

/// The folder relative paths in the file resolve against: the file's own, made absolute (so the
/// resolved paths name the same files whatever the working directory later is).
fn folder_of(path: &Path) -> std::path::PathBuf {
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    file.parent().map_or_else(|| ".".into(), Path::to_path_buf)
}

/// `pools[N].id`.
fn is_pool_id(key: &str) -> bool {
    key.strip_prefix("pools[")
        .and_then(|k| k.split_once("].id"))
        .is_some_and(|(n, rest)| rest.is_empty() && n.parse::<usize>().is_ok())
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        one(
            "(file)",
            format!(
                "cannot read {}: {e}; pass an existing file with --config",
                path.display()
            ),
        )
    })
}

/// The file's text with the environment applied, in its serde shape, with the shape problems
/// found on the way (see [`deserialize`]).
fn raw(
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(RawConfig, Vec<Problem>), ConfigError> {
    let mut value: toml::Value = toml::from_str(text)
        .map_err(|e| one("(file)", format!("not valid TOML: {}", e.message())))?;
    apply_env(&mut value, env)?;
    deserialize(value)
}

/// Shape problems reported in one run at most (each costs one more pass over the tree).
const MAX_SHAPE_PROBLEMS: usize = 64;

/// Deserializes the tree. serde stops at the first unknown key or wrongly typed value, which
/// would hide every other mistake: each one is reported at its full path and removed from the
/// tree (its default takes its place), and deserializing starts again.
fn deserialize(mut value: toml::Value) -> Result<(RawConfig, Vec<Problem>), ConfigError> {
    let mut problems = Vec::new();
    loop {
        let err = match serde_path_to_error::deserialize::<_, RawConfig>(value.clone()) {
            Ok(raw) => return Ok((raw, problems)),
            Err(e) => e,
        };
        let message = err.inner().message().trim().to_string();
        let mut path: Vec<String> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                Segment::Seq { index } => Some(index.to_string()),
                Segment::Map { key } => Some(key.clone()),
                Segment::Enum { .. } | Segment::Unknown => None,
            })
            .collect();
        // An unknown key's path ends at its table: the key is named in the message.
        if let Some(field) = quoted_after(&message, "unknown field ") {
            if path.last() != Some(&field) {
                path.push(field);
            }
        }
        problems.push(Problem {
            key: dotted(&path),
            message: explain(&message),
        });
        if problems.len() >= MAX_SHAPE_PROBLEMS || !remove(&mut value, &path) {
            return Err(ConfigError(problems));
        }
    }
}

/// The text between the backticks after `prefix` in a serde message.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name.to_string())
}

/// serde's message in the file's words, with where to look.
fn explain(message: &str) -> String {
    let expected = message.split_once(", expected ").map_or("", |(_, e)| e);
    if let Some(field) = quoted_after(message, "unknown field ") {
        return format!("{field:?} is an unknown key here (expected {expected}); see milogin.example.toml for every key");
    }
    if let Some(variant) = quoted_after(message, "unknown variant ") {
        return format!("{variant:?} is not one of the allowed values: {expected}");
    }
    format!("{message}; see milogin.example.toml")
}

/// `pools[0].connections[1].login_mode` from its segments (numbers index arrays).
fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    if out.is_empty() {
        "(file)".into()
    } else {
        out
    }
}

/// Removes the node at `path`; false when there is none (no progress can be made).
fn remove(root: &mut toml::Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = root;
    for k in parents {
        let next = match node {
            toml::Value::Table(t) => t.get_mut(k),
            toml::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match node {
        toml::Value::Table(t) => t.remove(last).is_some(),
        toml::Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

pub(super) fn one(key: &str, message: String) -> ConfigError {
    ConfigError(vec![Problem {
        key: key.into(),
        message,
    }])
}

const SECTIONS: [&str; 4] = ["server", "xiaomi", "pools", "limits"];

/// Applies `MILOGIN_A__B__0__C=value` overrides. Values are read as TOML (`5000`, `true`,
/// `["a","b"]`) and fall back to a plain string, except where the key holds text (a
/// [`TEXT_KEYS`] name, or a string in the file): there the value is kept as written, so
/// `…__APP_ID=2882303761520000001` stays Xiaomi's APP ID rather than becoming a refused integer.
/// Variables outside the known sections (`MILOGIN_CONFIG`, `MILOGIN_LOG_FORMAT`) are ignored.
pub(super) fn apply_env(
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
        let value = if is_text(root, &path) {
            toml::Value::String(raw)
        } else {
            toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(raw))
        };
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

/// True when the key at `path` holds text: its name says so, or the file has a string there.
fn is_text(root: &toml::Value, path: &[String]) -> bool {
    let named = path.last().is_some_and(|k| TEXT_KEYS.contains(&k.as_str()));
    let mut node = Some(root);
    for k in path {
        node = node.and_then(|n| match n {
            toml::Value::Table(t) => t.get(k),
            toml::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        });
    }
    named || matches!(node, Some(toml::Value::String(_)))
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

//! Reading the configuration: the TOML file, then `MILOGIN_…` environment overrides applied to
//! the TOML tree (so an override is checked exactly like the file), then [`super::validate`].

use super::raw::{RawConfig, TEXT_KEYS};
use super::{Config, ConfigError, Problem};
use std::path::Path;

impl Config {
    /// Loads `path`, applies `MILOGIN_…` overrides from the process environment, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, std::env::vars(), base)
    }

    /// Parses TOML text with the given environment; relative secret files resolve from `base_dir`.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        base_dir: &Path,
    ) -> Result<Self, ConfigError> {
        raw(text, env)?.validate(&|name| std::env::var(name).ok(), base_dir)
    }
}

/// What the offline commands (`milogin user …`) need: the database and the pool ids. Nothing
/// else is validated, so a host without the Xiaomi secret or the admin token can manage users.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `server.database_url`, validated.
    pub database_url: String,
    /// The ids of the `[[pools]]`.
    pub pool_ids: Vec<String>,
}

impl DatabaseSettings {
    /// Loads `path` and the `MILOGIN_…` overrides like [`Config::load`], checking only
    /// `server.database_url` (the file must still be well-formed).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read(path)?;
        raw(&text, std::env::vars())?.validate_database()
    }
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

/// The file's text with the environment applied, in its serde shape.
fn raw(
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<RawConfig, ConfigError> {
    let mut value: toml::Value = toml::from_str(text)
        .map_err(|e| one("(file)", format!("not valid TOML: {}", e.message())))?;
    apply_env(&mut value, env)?;
    value.try_into().map_err(|e: toml::de::Error| {
        one(
            "(file)",
            format!(
                "{}; see milogin.example.toml for every key",
                e.message().trim()
            ),
        )
    })
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

//! Xiaomi's bodies, parsed strictly: one optional `&&&START&&&`, duplicate keys refused, `error`
//! at any HTTP status a failure, ids as numbers or strings, nicknames cleaned and avatars limited
//! to `https:` DNS hosts. Pure functions, each with fixture tests in `super::tests`.

use crate::provider::{Contact, ProviderError};
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

/// The `&&&START&&&` prefix of token responses.
pub const PREFIX: &str = "&&&START&&&";
const NICKNAME_MAX_CHARS: usize = 64;
const AVATAR_MAX_BYTES: usize = 1024;

/// A parsed token response. `Debug` redacts the secrets.
pub struct TokenResponse {
    /// The access token (secret).
    pub access_token: SecretString,
    /// `openId`: per-app user id, when present.
    pub open_id: Option<String>,
    /// `union_id`: per-developer user id, when present.
    pub union_id: Option<String>,
    /// `mac_key` (secret), when present.
    pub mac_key: Option<SecretString>,
    /// Granted scopes (space- or comma-separated in the body).
    pub scopes: Vec<u32>,
    /// `expires_in`, seconds (number or numeric string).
    pub expires_in: Option<u64>,
}

crate::crypto::redacting_debug!(TokenResponse {
    open_id, union_id, scopes, expires_in
} redacts { access_token, mac_key });

/// A parsed `/user/profile` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Cleaned nickname.
    pub nickname: String,
    /// Safe avatar URL, if any.
    pub avatar: Option<String>,
    /// `unionId`, if present.
    pub union_id: Option<String>,
}

/// Extracts `phone` and `email` from `/user/phoneAndEmail`'s `data`. Xiaomi sends `""` when the
/// account has none; that, a non-string, a list or anything else that does not normalise is
/// absent — never a value to match on.
pub fn parse_phone_and_email(data: &Map<String, Value>) -> Contact {
    let text = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .filter(|s| s.len() <= 320)
    };
    Contact {
        email: text("email").and_then(crate::domain::contact::normalize_email),
        phone: text("phone").and_then(crate::domain::contact::normalize_phone),
    }
}

/// Trims, strips one optional `&&&START&&&` and parses a JSON object. Keys are trimmed (the doc
/// typos `"token_type "`, `"mac_key "`); a key present twice (even after trimming) is refused.
pub fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, ProviderError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ProviderError::Malformed("body is not UTF-8".into()))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let text = text.strip_prefix(PREFIX).unwrap_or(text).trim_start();
    if text.is_empty() {
        return Err(ProviderError::Malformed("empty body".into()));
    }
    let value: UniqueKeys = serde_json::from_str(text)
        .map_err(|_| ProviderError::Malformed("body is not JSON".into()))?;
    match value.0 {
        Value::Object(m) => Ok(m),
        _ => Err(ProviderError::Malformed("body is not a JSON object".into())),
    }
}

/// A JSON value whose objects have unique (trimmed) keys.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(
                    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
                ))
            }
            fn visit_str<E>(self, v: &str) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut v = Vec::new();
                while let Some(UniqueKeys(x)) = s.next_element()? {
                    v.push(x);
                }
                Ok(UniqueKeys(Value::Array(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut out = Map::new();
                while let Some((k, UniqueKeys(v))) = m.next_entry::<String, UniqueKeys>()? {
                    if out.insert(k.trim().to_owned(), v).is_some() {
                        return Err(serde::de::Error::custom("duplicate key"));
                    }
                }
                Ok(UniqueKeys(Value::Object(out)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number, or a string of digits (Xiaomi's docs print both).
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-empty string id; numbers are accepted and kept exact (`userId` may exceed 2^53).
fn as_id(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic())).then_some(s)
}

/// Xiaomi's numeric error (`-1` when it sent none or a non-number) as a refusal.
fn xiaomi_error(m: &Map<String, Value>, code_key: &str, desc_key: &str) -> ProviderError {
    let code = m.get(code_key).and_then(as_int).unwrap_or(-1);
    let description = m
        .get(desc_key)
        .and_then(Value::as_str)
        .map(clean_text)
        .unwrap_or_default();
    ProviderError::Refused {
        code: code.to_string(),
        description: description.chars().take(200).collect(),
    }
}

/// Parses a token endpoint body (any HTTP status).
pub fn parse_token(body: &[u8]) -> Result<TokenResponse, ProviderError> {
    let m = parse_json_object(body)?;
    if m.contains_key("error") {
        return Err(xiaomi_error(&m, "error", "error_description"));
    }
    let access_token = match m.get("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => SecretString::from(s.trim().to_owned()),
        _ => {
            return Err(ProviderError::Malformed(
                "access_token missing or empty".into(),
            ))
        }
    };
    let open_id = match m.get("openId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            as_id(v).ok_or_else(|| ProviderError::Malformed("openId is not a usable id".into()))?,
        ),
    };
    let union_id = m.get("union_id").and_then(as_id);
    let mac_key = m
        .get("mac_key")
        .and_then(Value::as_str)
        .map(|s| SecretString::from(s.trim().to_owned()));
    let scopes = m
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| {
            s.split([' ', ',', '+'])
                .filter_map(|p| p.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let expires_in = m
        .get("expires_in")
        .and_then(as_int)
        .and_then(|n| u64::try_from(n).ok());
    Ok(TokenResponse {
        access_token,
        open_id,
        union_id,
        mac_key,
        scopes,
        expires_in,
    })
}

/// Parses the open-API envelope and returns `data` on success.
pub fn parse_envelope(body: &[u8]) -> Result<Map<String, Value>, ProviderError> {
    let m = parse_json_object(body)?;
    let result_ok = m
        .get("result")
        .and_then(Value::as_str)
        .map(|r| r.eq_ignore_ascii_case("ok"));
    let code = m.get("code").map(as_int);
    let ok = match (result_ok, code) {
        (_, Some(None)) => return Err(ProviderError::Malformed("code is not a number".into())),
        (None, None) => {
            return Err(ProviderError::Malformed(
                "no result or code in the answer".into(),
            ))
        }
        (Some(false), _) => false,
        (_, Some(Some(c))) => c == 0,
        (Some(true), None) => true,
    };
    if !ok {
        return Err(xiaomi_error(&m, "code", "description"));
    }
    match m.get("data") {
        Some(Value::Object(d)) => Ok(d.clone()),
        _ => Err(ProviderError::Malformed("data missing".into())),
    }
}

/// Extracts the profile from `data`.
pub fn parse_profile(data: Map<String, Value>) -> Result<Profile, ProviderError> {
    let nickname = match data.get("miliaoNick") {
        Some(Value::String(s)) => clean_nickname(s),
        None | Some(Value::Null) => clean_nickname(""),
        Some(_) => {
            return Err(ProviderError::Malformed(
                "miliaoNick is not a string".into(),
            ))
        }
    };
    let avatar = ["miliaoIcon_orig", "miliaoIcon_320", "miliaoIcon"]
        .iter()
        .filter_map(|k| data.get(*k).and_then(Value::as_str))
        .find_map(safe_avatar);
    let union_id = data.get("unionId").and_then(as_id);
    Ok(Profile {
        nickname,
        avatar,
        union_id,
    })
}

/// Extracts the openId from `/user/openidV2`'s `data` (`openId` or legacy `openid`).
pub fn parse_open_id(data: &Map<String, Value>) -> Result<String, ProviderError> {
    match (data.get("openId"), data.get("openid")) {
        (Some(a), Some(b)) if a != b => Err(ProviderError::Malformed(
            "openId and openid disagree".into(),
        )),
        (Some(v), _) | (None, Some(v)) => {
            as_id(v).ok_or_else(|| ProviderError::Malformed("openId is not a usable id".into()))
        }
        (None, None) => Err(ProviderError::Malformed("openId missing".into())),
    }
}

/// Drops control and bidi-override characters, collapses whitespace runs.
fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bad = c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}');
        if c.is_whitespace() || bad {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim_end().to_owned()
}

/// A nickname fit to store and show: cleaned, at most 64 characters, never empty.
pub fn clean_nickname(s: &str) -> String {
    let s: String = clean_text(s).chars().take(NICKNAME_MAX_CHARS).collect();
    let s = s.trim().to_owned();
    if s.is_empty() {
        "Xiaomi user".into()
    } else {
        s
    }
}

/// An avatar URL we are willing to hand to browsers: absolute `https:` to a DNS name, no
/// credentials, no IP literal or local host, at most 1 KiB. We never fetch it ourselves.
pub fn safe_avatar(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > AVATAR_MAX_BYTES
        || s.bytes().any(|b| b.is_ascii_control() || b == b' ')
    {
        return None;
    }
    let u = Url::parse(s).ok()?;
    let host = match u.host()? {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => return None,
    };
    if u.scheme() != "https"
        || !u.username().is_empty()
        || u.password().is_some()
        || host == "localhost"
        || host.ends_with(".localhost")
        || !host.contains('.')
    {
        return None;
    }
    Some(u.into())
}

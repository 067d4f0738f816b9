//! Xiaomi Account OAuth 2.0: every quirk of `xiaomi-oauth.md` lives here and nowhere else.
//!
//! - authorize: `client_id` as a decimal string, `response_type=code`, numeric scopes joined by
//!   spaces, `state`, explicit `skip_confirm` (§2.1);
//! - token: POST form (secret URL-encoded, never in a URL), `token_type=mac`; the body may start
//!   with `&&&START&&&` (with or without whitespace); errors are `{"error":<number or numeric
//!   string>,"error_description":…}` at **any** HTTP status, HTTP 200 included (§3);
//!   the doc typos `"token_type "` / `"mac_key "` are tolerated by trimming keys;
//! - open API: `clientId` + `token` in the query, envelope `{result, code, description, data}`,
//!   `miliaoNick`, `miliaoIcon`(`_orig`/`_320`), `unionId`; `openidV2` answers `openId` or `openid` (§5);
//!   `phoneAndEmail` answers `phone`/`email`, `""` when absent, refused (96005) without scope 4/6;
//! - one shared client: no redirects, connect + total timeout, body cap; a code exchange is never
//!   retried, an open-API GET at most once.
//!
//! Request URLs are never logged or put in errors: the open API carries the access token in its query.

pub mod breaker;

use super::{AccessToken, Contact, Provider, ProviderError, ProviderIdentity};
use crate::config::{Connection, Limits, MatchField, XiaomiConfig};
use crate::metrics::Metrics;
use async_trait::async_trait;
use breaker::Breaker;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The `&&&START&&&` prefix of token responses.
pub const PREFIX: &str = "&&&START&&&";
const NICKNAME_MAX_CHARS: usize = 64;
const AVATAR_MAX_BYTES: usize = 1024;

/// The Xiaomi provider: one shared HTTP client for the process.
pub struct Xiaomi {
    http: reqwest::Client,
    account_base: Url,
    open_base: Url,
    max_body: usize,
    breaker: Breaker,
    metrics: Arc<Metrics>,
}

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

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("open_id", &self.open_id)
            .field("union_id", &self.union_id)
            .field("mac_key", &self.mac_key.as_ref().map(|_| "[REDACTED]"))
            .field("scopes", &self.scopes)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

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

impl Xiaomi {
    /// Builds the provider and its one HTTP client.
    pub fn new(
        cfg: &XiaomiConfig,
        limits: &Limits,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("milogin/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            account_base: cfg.account_base.clone(),
            open_base: cfg.open_base.clone(),
            max_body: cfg.max_body_bytes,
            breaker: Breaker::new(
                limits.breaker_failures,
                Duration::from_millis(limits.breaker_cooldown_ms),
            ),
            metrics,
        })
    }

    fn endpoint(base: &Url, path: &str) -> String {
        format!("{}{path}", base.as_str().trim_end_matches('/'))
    }

    /// POSTs the code exchange. Never retried: a code is single use (xiaomi-oauth.md §10).
    pub async fn exchange(
        &self,
        c: &Connection,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, ProviderError> {
        let form = [
            ("client_id", c.app_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("client_secret", c.app_secret.expose_secret()),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("token_type", "mac"),
        ];
        let body = serde_urlencoded::to_string(form)
            .map_err(|_| ProviderError::Invalid("cannot encode form".into()))?;
        let req = self
            .http
            .post(Self::endpoint(&self.account_base, "/oauth2/token"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json, text/plain, */*")
            .body(body);
        let (status, bytes) = self.send(req, "token").await?;
        if status.is_server_error() || status.as_u16() == 429 {
            // Xiaomi's JSON errors are read at any status; a 5xx/429 without one is an outage.
            return Err(match parse_token(&bytes) {
                Err(e @ ProviderError::Xiaomi { .. }) => e,
                _ => unavailable_status(status),
            });
        }
        parse_token(&bytes).map_err(|e| match e {
            ProviderError::Invalid(m) if status.is_redirection() => {
                ProviderError::Invalid(format!("unexpected redirect ({status}); {m}"))
            }
            other => other,
        })
    }

    /// GETs an open-API endpoint, retrying once with jitter when Xiaomi is unavailable.
    async fn open_api(
        &self,
        c: &Connection,
        path: &'static str,
        token: &SecretString,
    ) -> Result<Map<String, Value>, ProviderError> {
        let url = Self::endpoint(&self.open_base, path);
        let mut last = None;
        for attempt in 0..2 {
            if attempt == 1 {
                tokio::time::sleep(Duration::from_millis(50 + jitter_ms(100))).await;
            }
            let req = self.http.get(&url).query(&[
                ("clientId", c.app_id.as_str()),
                ("token", token.expose_secret()),
            ]);
            match self.send(req, path).await {
                Ok((status, bytes)) if status.is_server_error() || status.as_u16() == 429 => {
                    last = Some(unavailable_status(status));
                    let _ = bytes;
                }
                Ok((_, bytes)) => return parse_envelope(&bytes),
                Err(e @ ProviderError::Unavailable(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ProviderError::Unavailable("no answer".into())))
    }

    /// Reads `/user/profile`.
    pub async fn profile(
        &self,
        c: &Connection,
        token: &SecretString,
    ) -> Result<Profile, ProviderError> {
        parse_profile(self.open_api(c, "/user/profile", token).await?)
    }

    /// Reads `/user/openidV2`.
    pub async fn open_id(
        &self,
        c: &Connection,
        token: &SecretString,
    ) -> Result<String, ProviderError> {
        parse_open_id(&self.open_api(c, "/user/openidV2", token).await?)
    }

    /// Sends a request and reads at most `max_body` bytes of the answer.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), ProviderError> {
        let started = std::time::Instant::now();
        let result = self.read(req).await;
        let status = result.as_ref().map_or(0, |(s, _)| s.as_u16());
        self.metrics.xiaomi_call(what, status, started.elapsed());
        tracing::debug!(
            endpoint = what,
            status,
            ms = started.elapsed().as_millis() as u64,
            "xiaomi call"
        );
        result
    }

    async fn read(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), ProviderError> {
        let mut resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(ProviderError::Invalid(format!(
                    "response larger than {} bytes",
                    self.max_body
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    /// Runs a call through the circuit breaker.
    async fn guarded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        if !self.breaker.allow() {
            return Err(ProviderError::Unavailable(
                "Xiaomi is failing; failing fast for a few seconds".into(),
            ));
        }
        let r = call.await;
        match &r {
            Err(ProviderError::Unavailable(_)) => self.breaker.failure(),
            _ => self.breaker.success(),
        }
        r
    }
}

#[async_trait]
impl Provider for Xiaomi {
    fn authorize_url(&self, c: &Connection, redirect_uri: &str, state: &str) -> String {
        let scope = c
            .scopes
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let mut url = Url::parse(&Self::endpoint(&self.account_base, "/oauth2/authorize"))
            .expect("validated base");
        url.query_pairs_mut()
            .append_pair("client_id", &c.app_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &scope)
            .append_pair("state", state)
            .append_pair(
                "skip_confirm",
                if c.skip_confirm { "true" } else { "false" },
            );
        url.into()
    }

    async fn identity(
        &self,
        c: &Connection,
        code: &str,
        redirect_uri: &str,
    ) -> Result<ProviderIdentity, ProviderError> {
        let token = self.guarded(self.exchange(c, code, redirect_uri)).await?;
        let profile = self.guarded(self.profile(c, &token.access_token)).await?;
        let subject = match token.open_id {
            Some(id) => id,
            None => self.guarded(self.open_id(c, &token.access_token)).await?,
        };
        Ok(ProviderIdentity {
            subject,
            union_id: token.union_id.or(profile.union_id),
            nickname: profile.nickname,
            avatar: profile.avatar,
            scopes: token.scopes,
            access: Some(AccessToken::new(token.access_token)),
        })
    }

    async fn contact(
        &self,
        c: &Connection,
        id: &ProviderIdentity,
    ) -> Result<Contact, ProviderError> {
        // Ask only for what the connection matches on, with its scope configured and — when the
        // token response listed scopes — granted; otherwise Xiaomi would refuse anyway (96005).
        let wanted = |f: MatchField| {
            c.matches_on(f)
                && c.scopes.contains(&f.scope())
                && (id.scopes.is_empty() || id.scopes.contains(&f.scope()))
        };
        let (email, phone) = (wanted(MatchField::Email), wanted(MatchField::Phone));
        let Some(access) = id.access.as_ref().filter(|_| email || phone) else {
            return Ok(Contact::default());
        };
        let data = self
            .guarded(self.open_api(c, "/user/phoneAndEmail", access.secret()))
            .await?;
        let found = parse_phone_and_email(&data);
        Ok(Contact {
            email: found.email.filter(|_| email),
            phone: found.phone.filter(|_| phone),
        })
    }
}

/// Extracts `phone` and `email` from `/user/phoneAndEmail`'s `data`. Xiaomi sends `""` when the
/// account has none; that, a non-string, a list or anything else that does not normalise is
/// absent — never a value to match on (X-50, X-51).
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

fn transport(e: &reqwest::Error) -> ProviderError {
    // `without_url`: the open-API URL carries the access token.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request failed"
    };
    ProviderError::Unavailable(kind.into())
}

fn unavailable_status(status: reqwest::StatusCode) -> ProviderError {
    ProviderError::Unavailable(format!("HTTP {}", status.as_u16()))
}

fn jitter_ms(max: u64) -> u64 {
    let mut b = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    u64::from_le_bytes(b) % max.max(1)
}

/// Trims, strips one optional `&&&START&&&` and parses a JSON object. Keys are trimmed (the doc
/// typos `"token_type "`, `"mac_key "`); a key present twice (even after trimming) is refused.
pub fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, ProviderError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ProviderError::Invalid("body is not UTF-8".into()))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let text = text.strip_prefix(PREFIX).unwrap_or(text).trim_start();
    if text.is_empty() {
        return Err(ProviderError::Invalid("empty body".into()));
    }
    let value: UniqueKeys = serde_json::from_str(text)
        .map_err(|_| ProviderError::Invalid("body is not JSON".into()))?;
    match value.0 {
        Value::Object(m) => Ok(m),
        _ => Err(ProviderError::Invalid("body is not a JSON object".into())),
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

fn xiaomi_error(m: &Map<String, Value>, code_key: &str, desc_key: &str) -> ProviderError {
    let code = m.get(code_key).and_then(as_int).unwrap_or(-1);
    let description = m
        .get(desc_key)
        .and_then(Value::as_str)
        .map(clean_text)
        .unwrap_or_default();
    ProviderError::Xiaomi {
        code,
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
            return Err(ProviderError::Invalid(
                "access_token missing or empty".into(),
            ))
        }
    };
    let open_id = match m.get("openId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            as_id(v).ok_or_else(|| ProviderError::Invalid("openId is not a usable id".into()))?,
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
        (_, Some(None)) => return Err(ProviderError::Invalid("code is not a number".into())),
        (None, None) => {
            return Err(ProviderError::Invalid(
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
        _ => Err(ProviderError::Invalid("data missing".into())),
    }
}

/// Extracts the profile from `data`.
pub fn parse_profile(data: Map<String, Value>) -> Result<Profile, ProviderError> {
    let nickname = match data.get("miliaoNick") {
        Some(Value::String(s)) => clean_nickname(s),
        None | Some(Value::Null) => clean_nickname(""),
        Some(_) => return Err(ProviderError::Invalid("miliaoNick is not a string".into())),
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
        (Some(a), Some(b)) if a != b => {
            Err(ProviderError::Invalid("openId and openid disagree".into()))
        }
        (Some(v), _) | (None, Some(v)) => {
            as_id(v).ok_or_else(|| ProviderError::Invalid("openId is not a usable id".into()))
        }
        (None, None) => Err(ProviderError::Invalid("openId missing".into())),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(body: &str) -> Result<TokenResponse, ProviderError> {
        parse_token(body.as_bytes())
    }

    const OK: &str = r#"{"access_token":"AT","expires_in":7776000,"refresh_token":"RT","scope":"1 3","token_type":"mac","mac_key":"MK","mac_algorithm":"HmacSha1","openId":"2.0abc","union_id":"U1"}"#;

    #[test]
    fn token_with_prefix_with_and_without_whitespace() {
        for body in [
            format!("{PREFIX}{OK}"),
            format!("{PREFIX} {OK}"),
            format!("{PREFIX}\n{OK}"),
            format!("  {PREFIX}{OK}\n"),
            format!("\u{feff}{PREFIX}{OK}"),
            OK.to_string(),
        ] {
            let t = tok(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(t.access_token.expose_secret(), "AT");
            assert_eq!(t.open_id.as_deref(), Some("2.0abc"));
            assert_eq!(t.union_id.as_deref(), Some("U1"));
            assert_eq!(t.scopes, vec![1, 3]);
            assert_eq!(t.expires_in, Some(7_776_000));
            assert_eq!(t.mac_key.as_ref().unwrap().expose_secret(), "MK");
        }
    }

    #[test]
    fn token_doc_typos_and_string_numbers() {
        // The docs print "token_type " and "mac_key " with a trailing space and " HmacSha1".
        let body = r#"&&&START&&&{"access_token":"AT","expires_in":"300","refresh_token":"RT","scope":"1,3","token_type ":"mac","mac_key ":"MK","mac_algorithm":" HmacSha1","openId":"2.0x"}"#;
        let t = tok(body).unwrap();
        assert_eq!(t.mac_key.unwrap().expose_secret(), "MK");
        assert_eq!(t.expires_in, Some(300));
        assert_eq!(t.scopes, vec![1, 3]);
        assert_eq!(t.union_id, None);
    }

    #[test]
    fn token_errors_numeric_or_string_at_any_status() {
        for body in [
            r#"&&&START&&&{"error":96013,"error_description":"invalid code"}"#,
            r#"&&&START&&& {"error":"96013","error_description":"invalid code"}"#,
            r#"{"error":96013,"error_description":"invalid code"}"#,
        ] {
            assert_eq!(
                tok(body).unwrap_err(),
                ProviderError::Xiaomi {
                    code: 96013,
                    description: "invalid code".into()
                }
            );
        }
        assert!(matches!(
            tok(r#"{"error":"invalid_client"}"#),
            Err(ProviderError::Xiaomi { code: -1, .. })
        ));
        assert_eq!(
            tok(r#"{"error":96012,"error_description":"x"}"#)
                .unwrap_err()
                .code(),
            milogin_shared::ErrorCode::ProviderError,
            "96012 from the token endpoint is a mismatch, not the user's refusal"
        );
    }

    #[test]
    fn token_malformed_shapes_are_invalid_not_panics() {
        for body in [
            "",
            PREFIX,
            "&&&START&&&&&&START&&&{}",
            "<html>502 Bad Gateway</html>",
            "{\"access_token\":",
            "[]",
            "null",
            "{}",
            r#"{"access_token":""}"#,
            r#"{"access_token":42}"#,
            r#"{"access_token":"AT","openId":{"x":1}}"#,
            r#"{"access_token":"AT","openId":"a","openId":"b"}"#,
            r#"{"access_token":"AT","mac_key":"a","mac_key ":"b"}"#,
        ] {
            assert!(
                matches!(tok(body), Err(ProviderError::Invalid(_))),
                "{body:?}"
            );
        }
        assert!(matches!(
            parse_token(&[0xff, 0xfe]),
            Err(ProviderError::Invalid(_))
        ));
    }

    #[test]
    fn token_without_open_id_is_accepted_for_the_openid_fallback() {
        let t = tok(r#"{"access_token":"AT"}"#).unwrap();
        assert_eq!(t.open_id, None);
    }

    #[test]
    fn token_debug_redacts_secrets() {
        let t = tok(OK).unwrap();
        let d = format!("{t:?}");
        assert!(!d.contains("AT\"") && !d.contains("MK"), "{d}");
    }

    #[test]
    fn profile_envelope_shapes() {
        let ok = br#"{"result":"ok","description":"no error","data":{"miliaoNick":"Ann","miliaoIcon":"https://cdn.cnbj1.fds.api.mi-img.com/a.jpg","miliaoIcon_orig":"https://cdn.cnbj1.fds.api.mi-img.com/a_orig.jpg","unionId":"UU"},"code":0}"#;
        let p = parse_profile(parse_envelope(ok).unwrap()).unwrap();
        assert_eq!(p.nickname, "Ann");
        assert_eq!(
            p.avatar.as_deref(),
            Some("https://cdn.cnbj1.fds.api.mi-img.com/a_orig.jpg")
        );
        assert_eq!(p.union_id.as_deref(), Some("UU"));
        // "OK" in any case, code as a string, only code.
        for body in [
            r#"{"result":"OK","data":{"miliaoNick":"A"},"code":"0"}"#,
            r#"{"code":0,"data":{"miliaoNick":"A"}}"#,
            r#"{"result":"ok","description":"成功","data":{"miliaoNick":"A"}}"#,
        ] {
            assert!(parse_envelope(body.as_bytes()).is_ok(), "{body}");
        }
    }

    #[test]
    fn open_api_errors_and_contradictions() {
        assert_eq!(
            parse_envelope(br#"{"result":"error","description":"invalid token","code":96008}"#)
                .unwrap_err(),
            ProviderError::Xiaomi {
                code: 96008,
                description: "invalid token".into()
            }
        );
        assert!(matches!(
            parse_envelope(br#"{"result":"error","code":"96012"}"#),
            Err(ProviderError::Xiaomi { code: 96012, .. })
        ));
        assert!(matches!(
            parse_envelope(br#"{"result":"ok","code":96008,"data":{}}"#),
            Err(ProviderError::Xiaomi { .. })
        ));
        for body in [
            r#"{"result":"ok","code":0}"#,
            r#"{"result":"ok","data":[]}"#,
            r#"{"description":"x"}"#,
            r#"{"code":"zero","data":{}}"#,
        ] {
            assert!(
                matches!(
                    parse_envelope(body.as_bytes()),
                    Err(ProviderError::Invalid(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn open_id_key_spellings() {
        let d = |s: &str| parse_envelope(s.as_bytes()).unwrap();
        assert_eq!(
            parse_open_id(&d(r#"{"result":"ok","code":0,"data":{"openId":"2.0a"}}"#)).unwrap(),
            "2.0a"
        );
        assert_eq!(
            parse_open_id(&d(r#"{"result":"ok","code":0,"data":{"openid":"2.0a"}}"#)).unwrap(),
            "2.0a"
        );
        assert_eq!(
            parse_open_id(&d(
                r#"{"result":"ok","code":0,"data":{"openid":18446744073709551615}}"#
            ))
            .unwrap(),
            "18446744073709551615"
        );
        assert!(parse_open_id(&d(
            r#"{"result":"ok","code":0,"data":{"openId":"a","openid":"b"}}"#
        ))
        .is_err());
        assert!(parse_open_id(&d(r#"{"result":"ok","code":0,"data":{"openId":""}}"#)).is_err());
        assert!(parse_open_id(&d(r#"{"result":"ok","code":0,"data":{}}"#)).is_err());
    }

    #[test]
    fn phone_and_email_fixtures() {
        let d = |s: &str| parse_envelope(s.as_bytes()).unwrap();
        // As documented: both present.
        let c = parse_phone_and_email(&d(
            r#"{"result":"ok","description":"成功","data":{"phone":"13800138000","email":" Alice@Example.com "},"code":0}"#,
        ));
        assert_eq!(
            c,
            Contact {
                email: Some("alice@example.com".into()),
                phone: Some("+8613800138000".into())
            }
        );
        // Empty when absent (X-50), missing keys, wrong types.
        for body in [
            r#"{"result":"ok","code":0,"data":{"phone":"","email":""}}"#,
            r#"{"result":"ok","code":0,"data":{}}"#,
            r#"{"result":"ok","code":0,"data":{"phone":13800138000,"email":null}}"#,
            r#"{"result":"ok","code":0,"data":{"phone":["13800138000"],"email":{"a":"b"}}}"#,
            r#"{"result":"ok","code":0,"data":{"phone":"   ","email":"  "}}"#,
        ] {
            assert_eq!(
                parse_phone_and_email(&d(body)),
                Contact::default(),
                "{body}"
            );
        }
        // Hostile values (X-51): lists, confusables, junk never become a value.
        let c = parse_phone_and_email(&d(
            r#"{"result":"ok","code":0,"data":{"phone":"13800138000,13900139000","email":"a@x.com,victim@y.com"}}"#,
        ));
        assert_eq!(c, Contact::default());
        let c = parse_phone_and_email(&d(
            r#"{"result":"ok","code":0,"data":{"phone":"+86 139-0013-9000","email":"\u0430lice@example.com"}}"#,
        ));
        assert_eq!(
            c,
            Contact {
                email: None,
                phone: Some("+8613900139000".into())
            }
        );
        // Refused without the scope (96005): an error, which the flow treats as "no values".
        assert!(matches!(
            parse_envelope(br#"{"result":"error","description":"no permission","code":96005}"#),
            Err(ProviderError::Xiaomi { code: 96005, .. })
        ));
    }

    #[test]
    fn hostile_profile_values_are_neutralised() {
        assert_eq!(clean_nickname("a\r\nb\u{202e}c\u{0}d"), "a b c d");
        assert_eq!(clean_nickname("   "), "Xiaomi user");
        assert_eq!(clean_nickname(&"x".repeat(10_000)).chars().count(), 64);
        assert_eq!(
            clean_nickname("<script>alert(1)</script>"),
            "<script>alert(1)</script>",
            "escaping happens at output"
        );
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "http://cdn.example.com/a.jpg",
            "https://169.254.169.254/latest",
            "https://[::1]/a",
            "https://localhost/a",
            "https://user:pw@cdn.example.com/a",
            "https://intranet/a",
        ] {
            assert_eq!(safe_avatar(bad), None, "{bad}");
        }
        assert_eq!(
            safe_avatar(&format!("https://cdn.example.com/{}", "a".repeat(2000))),
            None
        );
        assert!(safe_avatar("https://s1.mi-img.com/a_75.jpg").is_some());
    }
}

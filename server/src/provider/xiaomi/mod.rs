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
mod parse;
#[cfg(test)]
mod tests;

use super::{AccessToken, Contact, Provider, ProviderError, ProviderIdentity};
use crate::config::{
    Connection, Limits, MatchField, ProviderSettings, XiaomiConfig, XiaomiSettings,
};
use crate::metrics::Metrics;
use async_trait::async_trait;
use breaker::Breaker;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub use parse::{
    clean_nickname, parse_envelope, parse_json_object, parse_open_id, parse_phone_and_email,
    parse_profile, parse_token, safe_avatar, Profile, TokenResponse, PREFIX,
};

/// The Xiaomi provider: one shared HTTP client for the process.
pub struct Xiaomi {
    http: reqwest::Client,
    account_base: Url,
    open_base: Url,
    max_body: usize,
    breaker: Breaker,
    metrics: Arc<Metrics>,
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

    /// The Xiaomi settings of a connection (the registry routes only Xiaomi connections here;
    /// a second kind makes this match refuse to compile until it says what happens).
    fn settings(c: &Connection) -> &XiaomiSettings {
        match &c.provider {
            ProviderSettings::Xiaomi(x) => x,
        }
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
        let c = Self::settings(c);
        let form = [
            ("client_id", c.app_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("client_secret", c.app_secret.expose_secret()),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("token_type", "mac"),
        ];
        let body = serde_urlencoded::to_string(form)
            .map_err(|_| ProviderError::Malformed("cannot encode form".into()))?;
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
                Err(e @ ProviderError::Refused { .. }) => e,
                _ => unavailable_status(status),
            });
        }
        parse_token(&bytes).map_err(|e| match e {
            ProviderError::Malformed(m) if status.is_redirection() => {
                ProviderError::Malformed(format!("unexpected redirect ({status}); {m}"))
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
        let c = Self::settings(c);
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
                Err(e) if e.is_outage() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ProviderError::Transport("no answer".into())))
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
                return Err(ProviderError::Malformed(format!(
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
            return Err(ProviderError::FailingFast);
        }
        let r = call.await;
        match &r {
            Err(e) if e.is_outage() => self.breaker.failure(),
            _ => self.breaker.success(),
        }
        r
    }
}

#[async_trait]
impl Provider for Xiaomi {
    fn authorize_url(&self, c: &Connection, redirect_uri: &str, state: &str) -> String {
        let c = Self::settings(c);
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

    /// Xiaomi says 96012 when the person refuses at its consent page (xiaomi-oauth.md §2.3).
    fn declined(&self, error: &str) -> bool {
        error == "96012" || error == "access_denied"
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
        let x = Self::settings(c);
        let wanted = |f: MatchField| {
            let scope = XiaomiSettings::scope_of(f);
            c.matches_on(f) && x.requests(f) && (id.scopes.is_empty() || id.scopes.contains(&scope))
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
    ProviderError::Transport(kind.into())
}

fn unavailable_status(status: reqwest::StatusCode) -> ProviderError {
    ProviderError::Overloaded {
        status: status.as_u16(),
    }
}

fn jitter_ms(max: u64) -> u64 {
    let mut b = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    u64::from_le_bytes(b) % max.max(1)
}

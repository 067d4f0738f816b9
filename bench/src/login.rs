//! One complete popup login, as a browser does it: authorize → the mock's consent page and
//! decision form → callback → the result page's JSON → the id_token verified against the JWKS.
//!
//! The same flow drives milogin and a peer (`bench/peers/<name>/`): only the first URL, the JWKS
//! address and the token's issuer differ ([`Kind`]); the peer renders the same result JSON.

use std::time::Duration;

/// Every request gives up after this long, so every flow (and so every level) ends.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The pool, app and connection the benchmark configures.
pub const POOL: &str = "bench";
/// App id (the token's `aud`).
pub const APP: &str = "web";
/// Connection Unique ID.
pub const CONN: &str = "mi";
/// The host page origin registered for the app.
pub const ORIGIN: &str = "https://shop.example.com";

/// Which server a flow drives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `milogin serve`: the pool's connection routes.
    Milogin,
    /// A peer app: `GET /login?attempt=…`, `/callback`, `/jwks.json`, issuer = its base URL.
    Peer,
}

impl Kind {
    /// The JWKS address of a server at `base`.
    fn jwks_url(self, base: &str) -> String {
        match self {
            Kind::Milogin => format!("{base}/pools/{POOL}/.well-known/jwks.json"),
            Kind::Peer => format!("{base}/jwks.json"),
        }
    }

    /// The `iss` of the server's tokens.
    fn issuer(self, base: &str) -> String {
        match self {
            Kind::Milogin => format!("{base}/pools/{POOL}"),
            Kind::Peer => base.to_owned(),
        }
    }

    /// The first request of a login for `attempt`.
    fn authorize_url(self, base: &str, attempt: &str) -> String {
        match self {
            Kind::Milogin => {
                let origin: String = form_urlencoded::byte_serialize(ORIGIN.as_bytes()).collect();
                format!("{base}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&origin={origin}&attempt={attempt}&mode=popup")
            }
            Kind::Peer => format!("{base}/login?attempt={attempt}"),
        }
    }
}

/// What every flow needs: where the server is and the key its tokens verify with.
pub struct Target {
    /// Which server this is.
    pub kind: Kind,
    /// `http://127.0.0.1:port` of the server.
    pub base: String,
    /// `http://127.0.0.1:port` of the mock.
    pub mock_base: String,
    /// The pool's public key, from the published JWKS.
    pub key: jsonwebtoken::DecodingKey,
    /// Checks: ES256, `iss`, `aud`, `exp`.
    pub validation: jsonwebtoken::Validation,
}

impl Target {
    /// Fetches the pool's JWKS once and prepares the token validation.
    pub async fn new(kind: Kind, base: String, mock_base: String) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        let url = kind.jwks_url(&base);
        let jwks: jsonwebtoken::jwk::JwkSet = http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("GET {url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("JWKS: {e}"))?;
        let jwk = jwks.keys.first().ok_or("the JWKS has no key")?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| format!("JWK: {e}"))?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[APP]);
        validation.set_issuer(&[kind.issuer(&base)]);
        Ok(Self {
            kind,
            base,
            mock_base,
            key,
            validation,
        })
    }
}

/// Flows started by this process so far (numbers each flow's attempt id).
static FLOWS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A browser: its own cookie jar and connections (kept alive between its flows).
pub struct VirtualUser {
    http: reqwest::Client,
    id: usize,
}

impl VirtualUser {
    /// Virtual user number `id`.
    pub fn new(id: usize) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a default reqwest client builds");
        Self { http, id }
    }

    /// One login as the mock account `account`; `Err` says which step failed and how.
    pub async fn login(&self, t: &Target, account: &str) -> Result<(), String> {
        // Attempt ids are single-use on the server: number them across the whole run (warm-up
        // and every level start new virtual users with the same `id`s).
        let n = FLOWS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let attempt = format!("bench-{:05}-{n:012}", self.id);
        let r = self
            .send(
                self.http.get(t.kind.authorize_url(&t.base, &attempt)),
                "authorize",
            )
            .await?;
        let consent_url = redirect(&r, "authorize")?;
        if !consent_url.starts_with(&t.mock_base) {
            return Err(format!(
                "authorize: redirected to {consent_url}, not the mock"
            ));
        }

        let page = self
            .text(self.http.get(consent_url), "consent page", 200)
            .await?;
        let req =
            between(&page, "name=\"req\" value=\"", "\"").ok_or("consent page: no req field")?;
        let r = self
            .send(
                self.http
                    .post(format!("{}/oauth2/authorize/decision", t.mock_base))
                    .form(&[("req", req), ("account", account)]),
                "decision",
            )
            .await?;
        let callback = redirect(&r, "decision")?;
        if !callback.starts_with(&t.base) || !callback.contains("code=") {
            return Err(format!("decision: redirected to {callback}"));
        }

        let page = self.text(self.http.get(callback), "callback", 200).await?;
        let json = between(&page, "id=\"milogin-result\">", "</script>")
            .ok_or("callback: not a result page")?;
        let msg: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("result JSON: {e}"))?;
        if msg["ok"] != true {
            return Err(format!("login failed: {}", msg["error"]));
        }
        if msg["attempt"] != attempt.as_str() {
            return Err("result for another attempt".into());
        }
        let token = msg["id_token"].as_str().ok_or("result without id_token")?;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &t.key, &t.validation)
            .map_err(|e| format!("id_token does not verify: {e}"))?
            .claims;
        if claims["nonce"] != attempt.as_str() || claims["sub"] != msg["user"]["id"] {
            return Err("id_token claims do not match the result".into());
        }
        Ok(())
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        step: &str,
    ) -> Result<reqwest::Response, String> {
        req.send().await.map_err(|e| format!("{step}: {e}"))
    }

    async fn text(
        &self,
        req: reqwest::RequestBuilder,
        step: &str,
        status: u16,
    ) -> Result<String, String> {
        let r = self.send(req, step).await?;
        let got = r.status().as_u16();
        let body = r.text().await.map_err(|e| format!("{step}: {e}"))?;
        if got != status {
            return Err(format!(
                "{step}: HTTP {got}: {}",
                body.chars().take(300).collect::<String>()
            ));
        }
        Ok(body)
    }
}

/// The `Location` of a 302.
fn redirect(r: &reqwest::Response, step: &str) -> Result<String, String> {
    if r.status() != 302 {
        return Err(format!("{step}: HTTP {} instead of 302", r.status()));
    }
    r.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("{step}: 302 without Location"))
}

/// The text between `start` and the next `end`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

#[cfg(test)]
mod tests {
    #[test]
    fn between_finds_the_first_enclosed_text() {
        assert_eq!(
            super::between(
                "a name=\"req\" value=\"x1\" b",
                "name=\"req\" value=\"",
                "\""
            ),
            Some("x1")
        );
        assert_eq!(super::between("nothing", "<", ">"), None);
    }
}

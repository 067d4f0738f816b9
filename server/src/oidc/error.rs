//! The errors of the two endpoints. At authorize (RFC 6749 §4.1.2.1) an error is either a page
//! (no client we know, or a redirect URI not registered for it: redirecting there would make us an
//! open redirector) or a redirect back to the client's registered URI with `error`,
//! `error_description`, `state` and `iss` (RFC 9207, so a client talking to several servers
//! knows which one answered: mix-up). At the token endpoint (RFC 6749 §5.2) it is a JSON body,
//! `invalid_client` with 401 and `WWW-Authenticate`.

/// An `error` value of the authorization response (RFC 6749 §4.1.2.1, OpenID Connect Core
/// §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeCode {
    /// A parameter is missing, repeated, malformed or not allowed.
    InvalidRequest,
    /// The person declined (or Xiaomi refused).
    AccessDenied,
    /// `response_type` other than `code`.
    UnsupportedResponseType,
    /// `scope` without `openid`.
    InvalidScope,
    /// Something failed on our side.
    ServerError,
    /// Xiaomi could not be reached, or a limit was hit.
    TemporarilyUnavailable,
    /// `prompt=none`: milogin keeps no session, so it cannot log anyone in without a page.
    LoginRequired,
    /// A `request` object (not supported).
    RequestNotSupported,
    /// A `request_uri` (not supported).
    RequestUriNotSupported,
}

impl AuthorizeCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// Why an authorization request was refused, and where that is said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// An error page (no redirect): the client or its redirect URI cannot be trusted. The text
    /// says what is wrong and how to fix it.
    Page(String),
    /// A redirect to the client's registered URI.
    Redirect(ErrorRedirect),
}

/// An error sent back to a registered redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The registered redirect URI (already checked).
    pub redirect_uri: String,
    /// The client's `state`, echoed.
    pub state: Option<String>,
    /// The error.
    pub code: AuthorizeCode,
    /// What is wrong, for the developer.
    pub description: String,
}

impl ErrorRedirect {
    /// The URL to redirect to; `issuer` goes in `iss` (RFC 9207).
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs = vec![
            ("error", self.code.as_str()),
            ("error_description", self.description.as_str()),
        ];
        if let Some(s) = &self.state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", issuer));
        with_query(&self.redirect_uri, &pairs)
    }
}

/// `uri` with `pairs` added to its query (after any query it has; RFC 6749 §3.1.2: "MUST retain
/// the query component"). Registered redirect URIs are absolute URLs without a fragment
/// (`config::origin`); should one not parse, the pairs are appended as text.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(pairs);
            u.into()
        }
        Err(_) => {
            let q = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}{q}")
        }
    }
}

/// An `error` value of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCode {
    /// A parameter is missing, repeated or malformed, or two ways of client authentication.
    InvalidRequest,
    /// Unknown client, wrong secret, or no authentication for a confidential client.
    InvalidClient,
    /// The code is unknown, used, expired, of another client or redirect URI, or the verifier is
    /// wrong.
    InvalidGrant,
    /// `grant_type` other than `authorization_code`.
    UnsupportedGrantType,
}

impl TokenCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
        }
    }
}

/// A refused token request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct TokenError {
    /// The error.
    pub code: TokenCode,
    /// What is wrong, for the developer (never a secret or a code).
    pub description: String,
}

impl TokenError {
    /// An error with its description.
    pub fn new(code: TokenCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// The HTTP status: 401 for `invalid_client`, 400 otherwise.
    pub fn status(&self) -> u16 {
        if self.code == TokenCode::InvalidClient {
            401
        } else {
            400
        }
    }

    /// The `WWW-Authenticate` value that goes with a 401.
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        (self.code == TokenCode::InvalidClient).then(|| {
            let realm = realm.replace(['"', '\\'], "");
            format!("Basic realm=\"{realm}\"")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_redirect_keeps_the_uris_query_and_carries_state_and_iss() {
        let e = ErrorRedirect {
            redirect_uri: "https://app.example/cb?tenant=a".into(),
            state: Some("s&t=1".into()),
            code: AuthorizeCode::LoginRequired,
            description: "no session".into(),
        };
        let loc = url::Url::parse(&e.location("https://id.example/pools/p")).unwrap();
        let pairs: Vec<(String, String)> = loc.query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("tenant"), Some("a"));
        assert_eq!(get("error"), Some("login_required"));
        assert_eq!(get("error_description"), Some("no session"));
        assert_eq!(get("state"), Some("s&t=1"));
        assert_eq!(get("iss"), Some("https://id.example/pools/p"));
        assert_eq!(loc.fragment(), None);
    }

    #[test]
    fn invalid_client_is_401_with_a_basic_challenge_and_the_rest_400() {
        let e = TokenError::new(TokenCode::InvalidClient, "wrong secret");
        assert_eq!(e.status(), 401);
        assert_eq!(
            e.www_authenticate("milogin \"p\"").as_deref(),
            Some("Basic realm=\"milogin p\"")
        );
        let g = TokenError::new(TokenCode::InvalidGrant, "used");
        assert_eq!(g.status(), 400);
        assert_eq!(g.www_authenticate("x"), None);
    }
}

//! [`CodeError`]: why a step of the OpenID Connect code flow failed — the one error of the code
//! flow's boundary. The database's errors and a login's refusal travel inside it as its
//! `source()`. It has the two error spellings of RFC 6749: the authorization response's
//! ([`CodeError::authorize_error`], §4.1.2.1) and the token endpoint's
//! ([`CodeError::token_error`], §5.2). Once the client and its redirect URI are trusted, an error
//! goes back there ([`Returned`]).

use super::super::LoginError;
use crate::oidc::error::{AuthorizeCode, ErrorRedirect, TokenCode, TokenError};
use crate::store::StoreError;
use milogin_shared::ErrorCode;

/// Why a step of the code flow failed.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The database failed.
    #[error("the database failed")]
    Store(#[from] StoreError),
    /// The authorization request could not be recorded (the database failed).
    #[error("the oidc request could not be recorded")]
    NotRecorded(#[source] StoreError),
    /// The ordinary login under the request could not start.
    #[error("the oidc login could not start")]
    NotStarted(#[source] LoginError),
    /// The connection the request names is not configured.
    #[error("the app's connection is not configured")]
    NoConnection,
    /// The login's request is gone (expired, already taken) or is another redirect URI's.
    #[error("the oidc request of this login is gone")]
    RequestGone,
    /// The login ended in a failure, sent back to the client.
    #[error("the login failed: {message}")]
    LoginFailed {
        /// The login's public code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// The login's result names no connection.
    #[error("the login ended without its connection")]
    NoConnectionInResult,
    /// A token request refused by the checks (`crate::oidc`).
    #[error("token request refused: {0}")]
    Token(#[from] TokenError),
    /// The code's user is gone or disabled.
    #[error("the user no longer exists or is disabled")]
    UserGone,
    /// The pool has no key that may sign now.
    #[error("no signing key for pool {0}")]
    NoSigningKey(String),
}

impl CodeError {
    /// The authorization response's `error` and `error_description`.
    pub fn authorize_error(&self) -> (AuthorizeCode, String) {
        let server = |d: &str| (AuthorizeCode::ServerError, d.to_owned());
        match self {
            Self::NotRecorded(_) => server("the login could not be recorded; try again"),
            Self::NotStarted(_) => (
                AuthorizeCode::TemporarilyUnavailable,
                "too many logins are in progress; try again in a minute".to_owned(),
            ),
            Self::NoConnection => server("the app's connection is not configured"),
            Self::LoginFailed { code, message } => (authorize_code(*code), message.clone()),
            Self::NoConnectionInResult => server("the login ended without its connection"),
            _ => server("the login could not be finished; try again"),
        }
    }

    /// The token endpoint's answer.
    pub fn token_error(&self) -> TokenError {
        let (code, d) = match self {
            Self::Token(e) => return e.clone(),
            Self::UserGone => (
                TokenCode::InvalidGrant,
                "the user no longer exists or is disabled",
            ),
            Self::NoSigningKey(_) => (TokenCode::InvalidRequest, "no signing key; try again"),
            _ => (
                TokenCode::InvalidRequest,
                "the code could not be checked; try again",
            ),
        };
        TokenError::new(code, d)
    }

    /// True when something of ours broke (the database, the keys), not a decision: the cause
    /// is logged as an error chain, at `error`.
    pub fn is_failure(&self) -> bool {
        match self {
            Self::Store(_) | Self::NotRecorded(_) | Self::NoSigningKey(_) => true,
            Self::NotStarted(e) => e.is_failure(),
            _ => false,
        }
    }
}

/// The authorization response's `error` for a failed login.
fn authorize_code(code: ErrorCode) -> AuthorizeCode {
    match code {
        ErrorCode::AccessDenied
        | ErrorCode::UserNotFound
        | ErrorCode::UserDisabled
        | ErrorCode::BindingRequired => AuthorizeCode::AccessDenied,
        ErrorCode::ProviderUnavailable => AuthorizeCode::TemporarilyUnavailable,
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidState
        | ErrorCode::StateExpired
        | ErrorCode::OriginNotAllowed
        | ErrorCode::ConnectionNotEnabled => AuthorizeCode::InvalidRequest,
        _ => AuthorizeCode::ServerError,
    }
}

/// Where the errors of a trusted authorization request go: its registered redirect URI, with
/// its `state` and the pool's issuer (`iss`, RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// The pool's issuer.
    pub issuer: String,
}

/// An error sent back to the client.
#[derive(Debug)]
pub struct Returned {
    /// Where it goes.
    pub to: ReturnTo,
    /// What went wrong.
    pub error: CodeError,
}

impl ReturnTo {
    /// `error` addressed here.
    pub fn returned(&self, error: impl Into<CodeError>) -> Returned {
        Returned {
            to: self.clone(),
            error: error.into(),
        }
    }
}

impl Returned {
    /// The redirect URI with `error`, `error_description`, `state` and `iss`.
    pub fn location(&self) -> String {
        let (code, description) = self.error.authorize_error();
        let e = ErrorRedirect {
            redirect_uri: self.to.redirect_uri.clone(),
            state: self.to.state.clone(),
            code,
            description,
        };
        e.location(&self.to.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_login_goes_back_with_its_rfc_6749_error() {
        let e = CodeError::LoginFailed {
            code: ErrorCode::UserNotFound,
            message: "no user".into(),
        };
        assert_eq!(
            e.authorize_error(),
            (AuthorizeCode::AccessDenied, "no user".into())
        );
        assert!(!e.is_failure());
        let store = CodeError::from(StoreError::Closed);
        assert!(store.is_failure());
        assert_eq!(store.token_error().code, TokenCode::InvalidRequest);
        assert_eq!(
            CodeError::UserGone.token_error().code,
            TokenCode::InvalidGrant
        );
    }
}

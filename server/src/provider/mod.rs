//! Identity providers. The login flow only sees [`Provider`]: it turns an authorization code into
//! a [`ProviderIdentity`]. Every Xiaomi quirk lives in [`xiaomi`].

pub mod xiaomi;

use crate::config::Connection;
use async_trait::async_trait;
use milogin_shared::ErrorCode;
use secrecy::SecretString;

/// The provider's access token of one login, kept in memory only for the follow-up calls of that
/// same login ([`Provider::contact`]); never stored, and `Debug` redacts it.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }

    /// The token.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

crate::crypto::redacting_debug!(AccessToken(..));

/// Who logged in, as the provider says.
#[derive(Debug, Clone)]
pub struct ProviderIdentity {
    /// Stable subject: Xiaomi `openId` (unique per Xiaomi app).
    pub subject: String,
    /// Xiaomi `unionId` (unique per developer), when given.
    pub union_id: Option<String>,
    /// Display name, cleaned (no control characters, length-capped). Still untrusted text.
    pub nickname: String,
    /// Avatar URL, `https:` only.
    pub avatar: Option<String>,
    /// Scopes Xiaomi granted (empty when the token response did not say).
    pub scopes: Vec<u32>,
    /// For [`Provider::contact`] during the same login.
    pub access: Option<AccessToken>,
}

/// The email and phone number the provider holds for the user, in our normal forms
/// (`accounts::normalize_email`, `accounts::normalize_phone`). `None` when absent, empty, not
/// one plain value, or not asked for. They are **claims**: Xiaomi documents no "verified" flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Normalised email.
    pub email: Option<String>,
    /// E.164 phone number.
    pub phone: Option<String>,
}

/// Why the provider step failed. Messages never contain secrets, codes or tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Xiaomi answered with a numeric error (960xx).
    #[error("Xiaomi error {code}: {description}")]
    Xiaomi {
        /// The 960xx code (or the code Xiaomi sent).
        code: i64,
        /// Xiaomi's description, cleaned and capped.
        description: String,
    },
    /// Xiaomi answered something we cannot use (malformed, missing fields, too large).
    #[error("invalid response from Xiaomi: {0}")]
    Invalid(String),
    /// Xiaomi did not answer usefully in time (timeout, connect error, 5xx, 429).
    #[error("Xiaomi unavailable: {0}")]
    Unavailable(String),
}

impl ProviderError {
    /// The result code the user's page receives. (A 96012 here means a token/app mismatch or a
    /// MAC failure, not the user's refusal: that arrives as the callback's `error` parameter.)
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unavailable(_) => ErrorCode::ProviderUnavailable,
            Self::Xiaomi { .. } | Self::Invalid(_) => ErrorCode::ProviderError,
        }
    }
}

/// An identity provider as the login flow uses it.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The URL to send the browser to.
    fn authorize_url(&self, connection: &Connection, redirect_uri: &str, state: &str) -> String;

    /// Exchanges `code` (never retried) and reads the profile.
    async fn identity(
        &self,
        connection: &Connection,
        code: &str,
        redirect_uri: &str,
    ) -> Result<ProviderIdentity, ProviderError>;

    /// The email and phone of an identity this login just produced, for field matching: only the
    /// fields the connection matches on whose scope (4 phone, 6 email) is configured (and granted,
    /// when the token response lists scopes); no call at all when there is none.
    async fn contact(
        &self,
        connection: &Connection,
        identity: &ProviderIdentity,
    ) -> Result<Contact, ProviderError>;
}

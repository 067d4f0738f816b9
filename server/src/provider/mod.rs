//! Identity providers. The login flow only sees [`Provider`] (it turns an authorization code into
//! a [`ProviderIdentity`]), picked per connection from the [`Providers`] registry, and the neutral
//! [`ProviderError`]. One module per kind ([`crate::config::ProviderKind`]); every Xiaomi quirk
//! lives in [`xiaomi`].

pub mod xiaomi;

use crate::config::{Connection, ProviderKind};
use async_trait::async_trait;
use milogin_shared::ErrorCode;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// Stable subject at the provider (Xiaomi: `openId`, unique per Xiaomi app).
    pub subject: String,
    /// An id across the developer's apps (Xiaomi: `unionId`), when given.
    pub union_id: Option<String>,
    /// Display name, cleaned (no control characters, length-capped). Still untrusted text.
    pub nickname: String,
    /// Avatar URL, `https:` only.
    pub avatar: Option<String>,
    /// Scopes the provider granted, as it numbers them (empty when it did not say).
    pub scopes: Vec<u32>,
    /// For [`Provider::contact`] during the same login.
    pub access: Option<AccessToken>,
}

/// The email and phone number the provider holds for the user, in our normal forms
/// (`accounts::normalize_email`, `accounts::normalize_phone`). `None` when absent, empty, not
/// one plain value, or not asked for. They are **claims** (Xiaomi documents no "verified" flag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Normalised email.
    pub email: Option<String>,
    /// E.164 phone number.
    pub phone: Option<String>,
}

/// Why a provider call failed, said for any provider. Messages never contain secrets, codes,
/// tokens or request URLs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No answer came back: timed out, connection failed, the body broke off (`what`).
    #[error("provider unreachable: {0}")]
    Transport(String),
    /// The provider answered with an outage status (5xx, 429) and no error of its own.
    #[error("provider unavailable: HTTP {status}")]
    Overloaded {
        /// The HTTP status.
        status: u16,
    },
    /// Recent calls failed; calls fail fast for a while (the circuit breaker).
    #[error("provider failing; failing fast for a few seconds")]
    FailingFast,
    /// The provider refused the request with an error of its own.
    #[error("provider refused: error {code}: {description}")]
    Refused {
        /// The provider's error code as it sent it (Xiaomi: a 960xx number, `-1` when absent).
        code: String,
        /// The provider's description, cleaned and capped.
        description: String,
    },
    /// The answer cannot be used: malformed, missing fields, too large.
    #[error("malformed answer from the provider: {0}")]
    Malformed(String),
    /// No client of this kind was built (the registry is built from the configuration).
    #[error("no {} client is configured", .0.as_str())]
    NotConfigured(ProviderKind),
}

impl ProviderError {
    /// True when the provider did not answer usefully in time (an outage, not an error of its
    /// own): the login may be tried again later, and the circuit breaker counts it.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            Self::Transport(_) | Self::Overloaded { .. } | Self::FailingFast
        )
    }

    /// The result code the user's page receives. (A refusal here is the provider's error at a
    /// call of ours — e.g. Xiaomi's 96012 for a token/app mismatch — not the user's refusal:
    /// that arrives as the callback's `error` parameter.)
    pub fn code(&self) -> ErrorCode {
        match self {
            e if e.is_outage() => ErrorCode::ProviderUnavailable,
            Self::NotConfigured(_) => ErrorCode::Internal,
            _ => ErrorCode::ProviderError,
        }
    }
}

/// The provider clients of this process, one per configured kind (built in `crate::startup`):
/// the login asks it for the client of a connection.
#[derive(Clone, Default)]
pub struct Providers {
    clients: BTreeMap<ProviderKind, Arc<dyn Provider>>,
}

impl Providers {
    /// Adds (or replaces) the client of `kind`.
    pub fn with(mut self, kind: ProviderKind, client: Arc<dyn Provider>) -> Self {
        self.clients.insert(kind, client);
        self
    }

    /// The client that serves `connection` (by its kind).
    pub fn of(&self, connection: &Connection) -> Result<&dyn Provider, ProviderError> {
        let kind = connection.provider.kind();
        self.clients
            .get(&kind)
            .map(AsRef::as_ref)
            .ok_or(ProviderError::NotConfigured(kind))
    }

    /// The kinds with a client.
    pub fn kinds(&self) -> impl Iterator<Item = ProviderKind> + '_ {
        self.clients.keys().copied()
    }
}

/// An identity provider as the login flow uses it.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The URL to send the browser to.
    fn authorize_url(&self, connection: &Connection, redirect_uri: &str, state: &str) -> String;

    /// True when the callback's `error` parameter says the person declined (rather than the
    /// provider failing): OAuth 2.0's `access_denied`, plus whatever code the provider uses.
    fn declined(&self, error: &str) -> bool {
        error == "access_denied"
    }

    /// Exchanges `code` (never retried) and reads the profile.
    async fn identity(
        &self,
        connection: &Connection,
        code: &str,
        redirect_uri: &str,
    ) -> Result<ProviderIdentity, ProviderError>;

    /// The email and phone of an identity this login just produced, for field matching: only the
    /// fields the connection matches on that the provider may release (Xiaomi: whose scope is
    /// configured, and granted when the token response lists scopes); no call when there is none.
    async fn contact(
        &self,
        connection: &Connection,
        identity: &ProviderIdentity,
    ) -> Result<Contact, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Association, DisplayName, LoginMode, ProviderSettings, XiaomiSettings};

    /// A provider that only says who it is.
    struct Named(&'static str);

    #[async_trait]
    impl Provider for Named {
        fn authorize_url(&self, _: &Connection, _: &str, _: &str) -> String {
            self.0.into()
        }
        async fn identity(
            &self,
            _: &Connection,
            _: &str,
            _: &str,
        ) -> Result<ProviderIdentity, ProviderError> {
            Err(ProviderError::FailingFast)
        }
        async fn contact(
            &self,
            _: &Connection,
            _: &ProviderIdentity,
        ) -> Result<Contact, ProviderError> {
            Ok(Contact::default())
        }
    }

    fn xiaomi_connection() -> Connection {
        Connection {
            unique_id: crate::domain::UniqueId::parse("mi").unwrap(),
            display_name: DisplayName::default(),
            login_mode: LoginMode::LoginAndRegister,
            association: Association::Off,
            match_fields: vec![],
            provider: ProviderSettings::Xiaomi(XiaomiSettings {
                app_id: "1".into(),
                app_secret: SecretString::from("s"),
                scopes: vec![1],
                skip_confirm: false,
                trust_xiaomi_email: false,
                trust_xiaomi_phone: false,
            }),
        }
    }

    #[test]
    fn the_registry_picks_the_client_by_the_connections_kind() {
        let conn = xiaomi_connection();
        let none = Providers::default();
        assert_eq!(
            none.of(&conn).err(),
            Some(ProviderError::NotConfigured(ProviderKind::Xiaomi))
        );
        assert_eq!(
            ProviderError::NotConfigured(ProviderKind::Xiaomi).code(),
            ErrorCode::Internal
        );
        let providers = none.with(ProviderKind::Xiaomi, Arc::new(Named("the xiaomi client")));
        let client = providers.of(&conn).unwrap();
        assert_eq!(client.authorize_url(&conn, "", ""), "the xiaomi client");
        assert_eq!(
            providers.kinds().collect::<Vec<_>>(),
            [ProviderKind::Xiaomi]
        );
    }

    #[test]
    fn outages_and_refusals_get_their_codes() {
        for e in [
            ProviderError::Transport("timed out".into()),
            ProviderError::Overloaded { status: 503 },
            ProviderError::FailingFast,
        ] {
            assert!(e.is_outage(), "{e}");
            assert_eq!(e.code(), ErrorCode::ProviderUnavailable);
        }
        for e in [
            ProviderError::Refused {
                code: "96008".into(),
                description: "invalid token".into(),
            },
            ProviderError::Malformed("body is not JSON".into()),
        ] {
            assert!(!e.is_outage(), "{e}");
            assert_eq!(e.code(), ErrorCode::ProviderError);
        }
    }
}

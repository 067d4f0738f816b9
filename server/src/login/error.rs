//! [`LoginError`]: why a login step failed — the one error of the login boundary. The database's
//! and the provider's errors travel inside it as its `source()`; the HTTP layer turns it into
//! the popup's result or an error page ([`LoginError::code`], [`LoginError::refusal_text`]) and
//! logs the cause once, as a chain (`crate::telemetry::Chain`).

use crate::provider::ProviderError;
use crate::store::StoreError;
use milogin_shared::ErrorCode;

/// Why a login (authorize, callback, binding step) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The database failed.
    #[error("the database failed")]
    Store(#[from] StoreError),
    /// The identity provider failed (unreachable, refused, a malformed answer).
    #[error("the identity provider failed")]
    Provider(#[from] ProviderError),
    /// The pool has no key that may sign now.
    #[error("no signing key for pool {0}")]
    NoSigningKey(String),
    /// Too many logins are in progress (`limits.max_pending_attempts`).
    #[error("too many logins in progress")]
    Busy,
    /// Too many logins are in progress from this client's network (`limits.max_pending_per_client`,
    /// `…_per_56`, `…_per_48`).
    #[error("too many logins in progress from this client")]
    BusyClient,
    /// This attempt id was used before (ids are single use).
    #[error("attempt id already used")]
    AttemptTaken,
    /// The callback carries no state.
    #[error("callback without a state")]
    StateMissing,
    /// The state was consumed before (a replayed callback).
    #[error("state already used")]
    StateUsed,
    /// No attempt has this state.
    #[error("unknown state")]
    StateUnknown,
    /// The state belongs to another pool or connection than the callback's path.
    #[error("state presented at another connection's callback")]
    StateElsewhere,
    /// The attempt expired before its callback.
    #[error("the attempt expired")]
    StateExpired,
    /// The callback came without this attempt's binding cookie (another browser).
    #[error("callback without the attempt's binding cookie")]
    NotBound,
    /// The person declined at the provider (the callback's `error`).
    #[error("the person declined at the provider")]
    Declined,
    /// The callback's `error` is the provider's, not a denial.
    #[error("the provider's callback carried an error")]
    CallbackError,
    /// The callback has no usable code.
    #[error("callback without a usable code")]
    BadCode,
    /// The pool, app or connection is not configured, or the connection not enabled for the app.
    #[error("connection not enabled for the app")]
    NotEnabled,
    /// The user is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// No user has this identity, and the connection does not register new ones.
    #[error("no user for this identity (login_only)")]
    UserNotFound,
    /// The identity must be linked to an account first, and no matched account can prove it.
    #[error("binding required")]
    BindingRequired,
    /// The binding page's ticket is not in this browser, or belongs to another page.
    #[error("no usable binding ticket")]
    TicketGone,
    /// The binding page's ticket was used before.
    #[error("binding ticket already used")]
    TicketUsed,
    /// The identity was bound to another user while the binding page was open.
    #[error("identity bound to another user meanwhile")]
    LinkedElsewhere,
}

impl LoginError {
    /// The public result code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Store(_) | Self::NoSigningKey(_) | Self::Busy | Self::BusyClient => {
                ErrorCode::Internal
            }
            Self::Provider(e) => e.code(),
            Self::AttemptTaken | Self::BadCode => ErrorCode::InvalidRequest,
            Self::StateMissing
            | Self::StateUsed
            | Self::StateUnknown
            | Self::StateElsewhere
            | Self::NotBound
            | Self::TicketGone
            | Self::TicketUsed
            | Self::LinkedElsewhere => ErrorCode::InvalidState,
            Self::StateExpired => ErrorCode::StateExpired,
            Self::Declined => ErrorCode::AccessDenied,
            Self::CallbackError => ErrorCode::ProviderError,
            Self::NotEnabled => ErrorCode::ConnectionNotEnabled,
            Self::UserDisabled => ErrorCode::UserDisabled,
            Self::UserNotFound => ErrorCode::UserNotFound,
            Self::BindingRequired => ErrorCode::BindingRequired,
        }
    }

    /// True when the browser's request is at fault (the popup page answers 400, not 200).
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::StateExpired | Self::NotBound | Self::BadCode)
    }

    /// True when something of ours or upstream broke (the database, the provider, the keys), not
    /// a decision: the cause is logged as an error chain.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Provider(_) | Self::NoSigningKey(_)
        )
    }

    /// The sentence of the plain error page shown when no destination is trusted yet.
    pub fn refusal_text(&self) -> &'static str {
        match self {
            Self::StateMissing => "The login link has no state. Please start again from the site.",
            Self::StateUsed => "This login link was already used. Please start again from the site.",
            Self::StateUnknown => "This login link is not valid. Please start again from the site.",
            Self::StateElsewhere => {
                "This login link belongs to another login. Please start again from the site."
            }
            Self::TicketGone => "This account-linking page is no longer valid in this browser. Please start the login again from the site.",
            Self::TicketUsed => "This account-linking page was already used. Please start the login again from the site.",
            Self::Store(_) => "The login service could not read its database. Please try again.",
            e => e.code().default_message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_travel_as_sources() {
        let e = LoginError::from(ProviderError::Transport("timed out".into()));
        assert_eq!(e.code(), ErrorCode::ProviderUnavailable);
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("provider unreachable: timed out"));
        assert!(e.is_failure() && !LoginError::UserDisabled.is_failure());
    }
}

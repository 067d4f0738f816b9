//! The login, between the HTTP edge and the parts: [`start`] records an attempt (state + browser
//! binding), [`finish`] ends Xiaomi's callback (consume the state first, check every binding, call
//! Xiaomi), [`resolve`] finds or creates the user, [`bind`] is the "link your Xiaomi account"
//! step, and [`issue`] signs the token — the one way both the callback and the binding step end.
//! Every step fails with [`LoginError`] (its [`error`] module). [`code`] is OpenID Connect's code
//! flow around such a login (begin, deliver a code, exchange it), with its own error,
//! [`code::CodeError`]. It sees the world through
//! `AppState`; it never builds HTTP responses (that is `crate::http`).

pub mod bind;
pub mod code;
pub mod error;
pub mod finish;
pub mod issue;
pub mod resolve;
pub mod start;

pub use error::LoginError;

use crate::config::App;
use crate::domain::mode::Mode;
use crate::domain::Origin;
use crate::state::AppState;
use crate::store::Destination;

/// The name of the per-attempt binding cookie (derived from the state, so parallel logins in
/// one browser never overwrite each other). `__Host-` when served over https.
pub fn cookie_name(state_hash: &str, secure: bool) -> String {
    let prefix = if secure { "__Host-" } else { "" };
    format!("{prefix}milogin-{}", &state_hash[..16])
}

/// Where the result of an attempt goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The popup page posts to `origin` (its opener); when it has no opener left, it goes on to
    /// the app's return page for that origin, if one is registered.
    Popup {
        /// The registered origin recorded at authorize (`None` only for a record without one,
        /// which this server never writes in popup mode: the page then posts nothing).
        origin: Option<Origin>,
        /// `pools.apps.return_uris` entry on `origin`.
        return_uri: Option<String>,
    },
    /// 302 to this registered URI with the result in the fragment.
    Redirect(String),
    /// An OpenID Connect login: 302 to this registered URI with a one-time code (or an error) in
    /// the query, with the client's state ([`code`]).
    Oidc(String),
}

impl Target {
    /// The popup target for `origin` of `app` (with its return page, if registered).
    pub fn popup(app: Option<&App>, origin: Origin) -> Self {
        let return_uri = app.and_then(|a| a.return_uri(&origin)).map(str::to_owned);
        Self::Popup {
            origin: Some(origin),
            return_uri,
        }
    }

    /// The page of the app a result comes back to through its address (redirect mode's URI, the
    /// popup's return page): it gets a one-time code, never the token (`code::widget`).
    pub fn address(&self) -> Option<&str> {
        match self {
            Self::Redirect(u)
            | Self::Popup {
                return_uri: Some(u),
                ..
            } => Some(u),
            Self::Popup { .. } | Self::Oidc(_) => None,
        }
    }

    /// The target an attempt or a binding ticket recorded (with the app's return page for its
    /// origin, if registered).
    pub fn recorded(st: &AppState, d: &Destination) -> Self {
        match (&d.redirect_uri, &d.origin) {
            (Some(u), _) if d.mode == Mode::Redirect => Self::Redirect(u.clone()),
            (Some(u), _) if d.mode == Mode::Oidc => Self::Oidc(u.clone()),
            (_, Some(o)) => Self::popup(
                st.config.pool(&d.pool).and_then(|p| p.app(&d.app)),
                o.clone(),
            ),
            (_, None) => Self::Popup {
                origin: None,
                return_uri: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sha256_hex;

    #[test]
    fn cookie_names_are_per_attempt() {
        let h = sha256_hex("state");
        assert_eq!(
            cookie_name(&h, true),
            format!("__Host-milogin-{}", &h[..16])
        );
        assert_ne!(
            cookie_name(&sha256_hex("other"), false),
            cookie_name(&h, false)
        );
    }
}

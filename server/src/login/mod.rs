//! The login, between the HTTP edge and the parts: [`start`] records an attempt (state + browser
//! binding), [`finish`] ends Xiaomi's callback (consume the state first, check every binding, call
//! Xiaomi), [`resolve`] finds or creates the user, [`bind`] is the "link your Xiaomi account"
//! step, and [`issue`] signs the token — the one way both the callback and the binding step end.
//! Every step fails with [`LoginError`] (its [`error`] module). It sees the world through
//! `AppState`; it never builds HTTP responses (that is `crate::http`).

pub mod bind;
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

    /// The target recorded with an attempt or a binding ticket. The store keeps the origin as
    /// text; it was an [`Origin`] when written, so it parses back to the same value.
    pub fn recorded(
        st: &AppState,
        (pool, app): (&str, &str),
        mode: &str,
        origin: Option<&String>,
        redirect_uri: Option<&String>,
    ) -> Self {
        match (redirect_uri, origin) {
            (Some(u), _) if Mode::parse(mode) == Some(Mode::Redirect) => Self::Redirect(u.clone()),
            (_, o) => match o.and_then(|o| Origin::parse(o).ok()) {
                Some(o) => Self::popup(st.config.pool(pool).and_then(|p| p.app(app)), o),
                None => Self::Popup {
                    origin: None,
                    return_uri: None,
                },
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

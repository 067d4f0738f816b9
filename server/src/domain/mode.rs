//! How a login's result reaches the page: a popup that posts to its opener, a redirect of the
//! whole window, or (for an OpenID Connect client) a one-time code on its redirect URI. Parsed
//! once from the widget's `mode` parameter ([`Mode::parse`]: popup or redirect only); stored with
//! an attempt as [`Mode::as_str`] and read back by [`Mode::from_stored`].

/// The delivery mode of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The popup page posts the result to its opener (or goes on to the return page).
    Popup,
    /// 302 to a registered `redirect_uri` with the result in the fragment.
    Redirect,
    /// OpenID Connect (`/pools/{pool}/oidc/authorize`): 302 to the client's registered
    /// `redirect_uri` with a one-time code (`?code=…&state=…&iss=…`). Never from the widget's query.
    Oidc,
}

impl Mode {
    /// Reads `popup` or `redirect`; anything else is `None` (the caller says what is allowed).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "popup" => Some(Self::Popup),
            "redirect" => Some(Self::Redirect),
            _ => None,
        }
    }

    /// Reads a stored mode: the widget's two and `oidc`.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "oidc" => Some(Self::Oidc),
            s => Self::parse(s),
        }
    }

    /// The spelling on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Popup => "popup",
            Self::Redirect => "redirect",
            Self::Oidc => "oidc",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_nothing_else_parses() {
        for m in [Mode::Popup, Mode::Redirect] {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mode::parse("Popup"), None);
        assert_eq!(
            Mode::parse("oidc"),
            None,
            "the widget's query cannot ask for oidc"
        );
        for m in [Mode::Popup, Mode::Redirect, Mode::Oidc] {
            assert_eq!(Mode::from_stored(m.as_str()), Some(m));
        }
        assert_eq!(Mode::parse(""), None);
    }
}

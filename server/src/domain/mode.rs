//! How a login's result reaches the page: a popup that posts to its opener, or a redirect of the
//! whole window. Parsed once from the `mode` parameter; stored with an attempt as [`Mode::as_str`].

/// The delivery mode of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The popup page posts the result to its opener (or goes on to the return page).
    Popup,
    /// 302 to a registered `redirect_uri` with the result in the fragment.
    Redirect,
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

    /// The spelling on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Popup => "popup",
            Self::Redirect => "redirect",
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
        assert_eq!(Mode::parse(""), None);
    }
}

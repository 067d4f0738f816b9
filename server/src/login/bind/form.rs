//! What the binding page shows and what its form sends back: [`Form`] (rendered by
//! `crate::http::pages::binding`), the callback's [`Offer`], and the [`Submission`] (read from
//! the form body by `crate::http::binding`).

use secrecy::SecretString;

/// Why the form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// Identifier or password left empty.
    Missing,
    /// Wrong identifier or password, unknown account, or locked account: one text for all.
    Wrong,
    /// The proven account already has another Xiaomi account on this connection.
    AccountHasOther,
}

/// What the binding page shows.
#[derive(Clone)]
pub struct Form {
    /// Absolute URL the form posts to.
    pub action: String,
    /// The CSRF token (hidden field).
    pub csrf: String,
    /// The Xiaomi nickname (attacker-controlled text; escaped by the page).
    pub nickname: String,
    /// Offer "Create a new account" (login_and_register only).
    pub can_create: bool,
    /// A field match led here: say that an account may already exist.
    pub matched: bool,
    /// The error to show, if any.
    pub error: Option<FormError>,
    /// The identifier typed before (refilled after an error).
    pub identifier: String,
    /// Origin of the redirect-mode target (the form's CSP must allow the final redirect).
    pub redirect_origin: Option<String>,
}

crate::crypto::redacting_debug!(Form {
    action, can_create, matched, error, redirect_origin
} redacts { csrf, nickname, identifier });

/// The callback's answer when binding is needed: the page and its ticket cookie.
pub struct Offer {
    /// The ticket cookie's name.
    pub cookie_name: String,
    /// The ticket (the cookie's value).
    pub ticket: SecretString,
    /// The page.
    pub form: Form,
}

crate::crypto::redacting_debug!(Offer { cookie_name, form } redacts { ticket });

/// What the person chose on the page (the form's `action`: `bind`, the default, `create` or
/// `cancel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Prove an existing account and bind the Xiaomi account to it.
    #[default]
    Bind,
    /// Create a new account (login_and_register only).
    Create,
    /// Do neither.
    Cancel,
}

/// A parsed form submission. `Debug` redacts the token and the password.
pub struct Submission {
    /// The CSRF token from the hidden field.
    pub csrf: String,
    /// The button pressed.
    pub action: Action,
    /// Username, email or phone as typed.
    pub identifier: String,
    /// The password.
    pub password: SecretString,
}

crate::crypto::redacting_debug!(Submission { action } redacts { csrf, identifier, password });

impl<'de> serde::Deserialize<'de> for Action {
    /// Any other value is refused with a fixed message that never repeats it: the form is read
    /// before its CSRF check, so an echo would put a stranger's text on milogin's page (serde's
    /// derived "unknown variant `…`" does).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "bind" => Ok(Self::Bind),
            "create" => Ok(Self::Create),
            "cancel" => Ok(Self::Cancel),
            _ => Err(serde::de::Error::custom(
                "unknown form action (expected bind, create or cancel)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::cookie_name;

    #[test]
    fn ticket_cookies_are_named_per_page() {
        assert_ne!(cookie_name("a", false), cookie_name("b", false));
        assert!(cookie_name("a", true).starts_with("__Host-milogin-bind-"));
    }
}

//! What the binding page shows and what its form sends back: [`Form`] (rendered by
//! `crate::http::pages::binding`), the callback's [`Offer`], and the strictly parsed
//! [`Submission`].

use secrecy::SecretString;

const MAX_FORM_BYTES: usize = 8192;
const MAX_FIELD_BYTES: usize = 1024;

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

/// What the person chose on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Prove an existing account and bind the Xiaomi account to it.
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

/// Parses an `application/x-www-form-urlencoded` body: known fields once each, bounded sizes.
pub fn parse_submission(body: &[u8]) -> Result<Submission, &'static str> {
    if body.len() > MAX_FORM_BYTES {
        return Err("The form is too large.");
    }
    let (mut csrf, mut action, mut identifier, mut password) = (None, None, None, None);
    for (k, v) in form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "csrf" => &mut csrf,
            "action" => &mut action,
            "identifier" => &mut identifier,
            "password" => &mut password,
            _ => continue,
        };
        if slot.is_some() {
            return Err("A form field appears twice.");
        }
        if v.len() > MAX_FIELD_BYTES {
            return Err("A form field is too long.");
        }
        *slot = Some(v.into_owned());
    }
    let action = match action.as_deref() {
        None | Some("bind") => Action::Bind,
        Some("create") => Action::Create,
        Some("cancel") => Action::Cancel,
        Some(_) => return Err("Unknown form action."),
    };
    Ok(Submission {
        csrf: csrf.unwrap_or_default(),
        action,
        identifier: identifier.unwrap_or_default(),
        password: SecretString::from(password.unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::cookie_name;
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn submissions_parse_strictly_and_redact() {
        let s = parse_submission(
            b"csrf=abc&identifier=alice%40example.com&password=p%26ss+word&action=bind",
        )
        .unwrap();
        assert_eq!(
            (s.csrf.as_str(), s.action, s.identifier.as_str()),
            ("abc", Action::Bind, "alice@example.com")
        );
        assert_eq!(s.password.expose_secret(), "p&ss word");
        let d = format!("{s:?}");
        assert!(!d.contains("abc") && !d.contains("p&ss"), "{d}");
        assert_eq!(
            parse_submission(b"csrf=a&action=create").unwrap().action,
            Action::Create
        );
        assert_eq!(
            parse_submission(b"csrf=a&action=cancel").unwrap().action,
            Action::Cancel
        );
        assert!(parse_submission(b"csrf=a&csrf=b").is_err());
        assert!(parse_submission(b"csrf=a&action=delete").is_err());
        assert!(
            parse_submission(format!("csrf=a&password={}", "x".repeat(2000)).as_bytes()).is_err()
        );
        assert!(parse_submission(&vec![b'a'; 9000]).is_err());
        assert_eq!(parse_submission(b"").unwrap().csrf, "");
    }

    #[test]
    fn ticket_cookies_are_named_per_page() {
        assert_ne!(cookie_name("a", false), cookie_name("b", false));
        assert!(cookie_name("a", true).starts_with("__Host-milogin-bind-"));
    }
}

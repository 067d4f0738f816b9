//! Local pool accounts: the normal forms of email, phone and username (used when an account is
//! created, when the binding form names one, and when Xiaomi's values are compared with ours),
//! argon2id password hashing (with a dummy hash so unknown accounts cost the same time), and
//! account creation shared by `milogin user create` and the tests.
//!
//! Normal forms (security.md T-13, X-50, X-51):
//! - email: trimmed, ASCII only, exactly one `@`, lowercased; lists (`a@x.com,b@y.com`), spaces,
//!   quotes and angle brackets are refused; empty is absent, never a value;
//! - phone: E.164 (`+` and 8–15 digits) after removing spaces, dashes and parentheses; `00` is
//!   read as `+`; an 11-digit number starting with `1` is a mainland China mobile (`+86`);
//! - username: trimmed, lowercased, `[a-z][a-z0-9._-]{0,63}` (it can never look like an email or a
//!   phone number, so a sign-in identifier is unambiguous).

use crate::store::{NewLocalUser, Store, StoreError, User};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in bytes (argon2 itself would take more; nobody needs it).
pub const PASSWORD_MAX_BYTES: usize = 1024;
const EMAIL_MAX: usize = 254;
const DISPLAY_NAME_MAX_CHARS: usize = 64;

/// Why an account could not be created (messages are for the operator at the command line).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not one plain email address.
    #[error("invalid email {0:?}: write one address such as name@example.com (ASCII, no lists, no spaces)")]
    InvalidEmail(String),
    /// Not a phone number we can write in E.164.
    #[error("invalid phone {0:?}: write it in E.164 such as +8613800138000, or as an 11-digit mainland China mobile number")]
    InvalidPhone(String),
    /// Not a valid username.
    #[error("invalid username {0:?}: 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter")]
    InvalidUsername(String),
    /// Not a valid display name.
    #[error("invalid display name: it must not be empty or contain control characters")]
    InvalidDisplayName,
    /// No way to find the account.
    #[error("give at least one of --username, --email, --phone")]
    NoIdentifier,
    /// `--email-verified` / `--phone-verified` without the value.
    #[error("--{0}-verified needs --{0}")]
    VerifiedWithoutValue(&'static str),
    /// Password too short.
    #[error("the password must have at least {PASSWORD_MIN_CHARS} characters")]
    PasswordTooShort,
    /// Password too long.
    #[error("the password must be at most {PASSWORD_MAX_BYTES} bytes")]
    PasswordTooLong,
    /// A unique value is taken.
    #[error("the {0} is already used by another user of this pool")]
    Taken(&'static str),
    /// Hashing failed (should not happen).
    #[error("password hashing failed")]
    Hash,
    /// The database failed.
    #[error("{0}")]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Taken(what) => Self::Taken(what),
            other => Self::Store(other),
        }
    }
}

/// The normal form of an email address, or `None` when `s` is not exactly one plain address.
pub fn normalize_email(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t.len() > EMAIL_MAX || !t.is_ascii() {
        return None;
    }
    let (local, domain) = t.split_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return None;
    }
    let local_ok = local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2);
    (local_ok && domain_ok).then(|| t.to_ascii_lowercase())
}

/// The E.164 form of a phone number, or `None` when `s` is not one number we can read.
pub fn normalize_phone(s: &str) -> Option<String> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let t = match t.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => t,
    };
    let digits_ok = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if let Some(d) = t.strip_prefix('+') {
        return (digits_ok(d) && (8..=15).contains(&d.len()) && !d.starts_with('0'))
            .then(|| t.clone());
    }
    (digits_ok(&t) && t.len() == 11 && t.starts_with('1')).then(|| format!("+86{t}"))
}

/// The normal form of a username, or `None` when it is not valid.
pub fn normalize_username(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_lowercase();
    let mut b = t.bytes();
    let first_ok = b.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'));
    (first_ok && rest_ok && t.len() <= 64).then_some(t)
}

/// What a sign-in identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginId {
    /// A normalised email.
    Email(String),
    /// An E.164 phone number.
    Phone(String),
    /// A normalised username.
    Username(String),
}

/// Reads a sign-in identifier: with `@` an email, starting with `+` or a digit a phone number,
/// otherwise a username. `None` when it is none of them (treated like an unknown account).
pub fn parse_login_id(s: &str) -> Option<LoginId> {
    let t = s.trim();
    if t.len() > EMAIL_MAX {
        return None;
    }
    if t.contains('@') {
        normalize_email(t).map(LoginId::Email)
    } else if t.starts_with('+') || t.starts_with(|c: char| c.is_ascii_digit()) {
        normalize_phone(t).map(LoginId::Phone)
    } else {
        normalize_username(t).map(LoginId::Username)
    }
}

/// Checks a new password's length.
pub fn check_password(p: &SecretString) -> Result<(), AccountError> {
    let p = p.expose_secret();
    if p.len() > PASSWORD_MAX_BYTES {
        Err(AccountError::PasswordTooLong)
    } else if p.chars().count() < PASSWORD_MIN_CHARS {
        Err(AccountError::PasswordTooShort)
    } else {
        Ok(())
    }
}

/// An argon2id PHC string of `p` (the crate's default parameters: 19 MiB, 2 passes, 1 lane).
/// CPU-heavy: call it from a blocking thread.
pub fn hash_password(p: &SecretString) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| AccountError::Hash)?;
    Argon2::default()
        .hash_password(p.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AccountError::Hash)
}

/// A hash of a random password with the same parameters, verified when the account is unknown
/// or has no password, so those answers take as long as a real wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut b = [0u8; 24];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
        let random = SecretString::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>());
        hash_password(&random).unwrap_or_default()
    })
}

/// True when `p` matches the PHC string `hash`. With `None`, a dummy hash is verified (same
/// cost) and the answer is `false`. CPU-heavy: use [`verify_password_blocking`] from async code.
pub fn verify_password(p: &SecretString, hash: Option<&str>) -> bool {
    let (phc, real) = match hash {
        Some(h) => (h, true),
        None => (dummy_hash(), false),
    };
    let ok = PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(p.expose_secret().as_bytes(), &parsed)
            .is_ok()
    });
    ok && real
}

/// [`verify_password`] on a blocking thread.
pub async fn verify_password_blocking(p: SecretString, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&p, hash.as_deref()))
        .await
        .unwrap_or(false)
}

/// A local account to create (the fields of `milogin user create`).
#[derive(Debug, Default)]
pub struct NewAccount {
    /// Username (normalised here).
    pub username: Option<String>,
    /// Email (normalised here).
    pub email: Option<String>,
    /// The operator vouches for the email.
    pub email_verified: bool,
    /// Phone (normalised to E.164 here).
    pub phone: Option<String>,
    /// The operator vouches for the phone.
    pub phone_verified: bool,
    /// Display name (the token's `name`); defaults to the username, email or phone.
    pub display_name: Option<String>,
    /// Password, hashed with argon2id; without one, the account cannot be proven in the binding step.
    pub password: Option<SecretString>,
}

/// Validates, normalises, hashes and stores a local account.
#[tracing::instrument(skip_all, fields(pool = %pool))]
pub async fn create_account(
    store: &dyn Store,
    pool: &str,
    a: NewAccount,
    now: i64,
) -> Result<User, AccountError> {
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let (username, email, phone) = (present(a.username), present(a.email), present(a.phone));
    if username.is_none() && email.is_none() && phone.is_none() {
        return Err(AccountError::NoIdentifier);
    }
    if a.email_verified && email.is_none() {
        return Err(AccountError::VerifiedWithoutValue("email"));
    }
    if a.phone_verified && phone.is_none() {
        return Err(AccountError::VerifiedWithoutValue("phone"));
    }
    let username = username
        .map(|u| normalize_username(&u).ok_or(AccountError::InvalidUsername(u)))
        .transpose()?;
    let email = email
        .map(|e| normalize_email(&e).ok_or(AccountError::InvalidEmail(e)))
        .transpose()?;
    let phone = phone
        .map(|p| normalize_phone(&p).ok_or(AccountError::InvalidPhone(p)))
        .transpose()?;
    let nickname = match a.display_name {
        Some(d) => {
            let d = d.trim();
            if d.is_empty() || d.chars().any(char::is_control) {
                return Err(AccountError::InvalidDisplayName);
            }
            d.chars().take(DISPLAY_NAME_MAX_CHARS).collect()
        }
        None => username
            .clone()
            .or_else(|| email.clone())
            .or_else(|| phone.clone())
            .unwrap_or_default(),
    };
    let password_hash = match a.password {
        Some(p) => {
            check_password(&p)?;
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|_| AccountError::Hash)??,
            )
        }
        None => None,
    };
    let user = NewLocalUser {
        id: crate::flow::new_user_id(),
        pool: pool.to_owned(),
        nickname,
        username,
        email,
        email_verified: a.email_verified,
        phone,
        phone_verified: a.phone_verified,
        password_hash,
    };
    Ok(store.create_local_user(&user, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise_and_lists_or_junk_are_refused() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            normalize_email("a.b+tag@sub.example.cn").as_deref(),
            Some("a.b+tag@sub.example.cn")
        );
        for bad in [
            "",
            "   ",
            "a@x.com,victim@y.com",
            "a@x.com;b@y.com",
            "a@x.com b@y.com",
            "a@@x.com",
            "a@b@x.com",
            "@x.com",
            "a@",
            "a@x",
            "a@x.c",
            "a@-x.com",
            ".a@x.com",
            "a..b@x.com",
            "\"a\"@x.com",
            "<a@x.com>",
            "аlice@example.com", // Cyrillic а
            "a@exam\u{0}ple.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        for (input, want) in [
            ("+8613800138000", "+8613800138000"),
            ("+86 138-0013-8000", "+8613800138000"),
            ("13800138000", "+8613800138000"),
            ("138 0013 8000", "+8613800138000"),
            ("008613800138000", "+8613800138000"),
            ("+1 (415) 555-0100", "+14155550100"),
        ] {
            assert_eq!(normalize_phone(input).as_deref(), Some(want), "{input}");
        }
        for bad in [
            "",
            "+",
            "12345",
            "23800138000",
            "+0123456789",
            "+86138001380001234",
            "13800138000,13900139000",
            "+86 138x",
            "１３８００１３８０００",
        ] {
            assert_eq!(normalize_phone(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn usernames_and_login_ids_are_unambiguous() {
        assert_eq!(normalize_username(" Alice.W ").as_deref(), Some("alice.w"));
        for bad in ["", "1abc", "+abc", "a b", "a@b", &"a".repeat(65)] {
            assert_eq!(normalize_username(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_login_id("Alice@Example.com"),
            Some(LoginId::Email("alice@example.com".into()))
        );
        assert_eq!(
            parse_login_id("138 0013 8000"),
            Some(LoginId::Phone("+8613800138000".into()))
        );
        assert_eq!(
            parse_login_id("alice"),
            Some(LoginId::Username("alice".into()))
        );
        assert_eq!(parse_login_id("a,b@x.com"), None);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let p = SecretString::from("correct horse".to_string());
        let h = hash_password(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password(&p, Some(&h)));
        assert!(!verify_password(
            &SecretString::from("wrong horse".to_string()),
            Some(&h)
        ));
        assert!(!verify_password(&p, None), "no hash never verifies");
        assert!(!verify_password(&p, Some("not a phc string")));
        assert!(check_password(&SecretString::from("short".to_string())).is_err());
        assert!(check_password(&SecretString::from("x".repeat(2000))).is_err());
    }
}

//! Local pool accounts: argon2id password hashing (with a dummy hash so unknown accounts cost the
//! same time), user ids, and account creation shared by `milogin user create` and the tests. The
//! normal forms of email, phone and username live in `crate::domain::contact` (re-exported here).

pub use crate::domain::contact::{
    normalize_email, normalize_phone, normalize_username, parse_login_id, LoginId,
};
use crate::domain::{IdError, PoolId};
use crate::store::{NewLocalUser, Store, StoreError, User};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in bytes (argon2 itself would take more; nobody needs it).
pub const PASSWORD_MAX_BYTES: usize = 1024;
const DISPLAY_NAME_MAX_CHARS: usize = 64;

/// Why an account could not be created (messages are for the operator at the command line).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not a pool id.
    #[error("invalid pool id {0:?}: it {1}")]
    InvalidPool(String, IdError),
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

/// A fresh user id: `u_` and 22 random base64url characters (132 bits).
pub fn new_user_id() -> String {
    format!("u_{}", &crate::crypto::random_token()[..22])
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
    let pool = PoolId::parse(pool).map_err(|e| AccountError::InvalidPool(pool.to_owned(), e))?;
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
        id: new_user_id(),
        pool,
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

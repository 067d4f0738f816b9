//! The database behind the [`Store`] trait: users, identities unique on
//! `(pool, connection, subject)`, login attempts (single use, expiring) and per-pool signing keys
//! (several per pool while a rotation is under way).
//!
//! One SQL text ([`queries`]) serves both backends: PostgreSQL through sqlx's pool ([`pg`]), SQLite
//! in-process through rusqlite on the store's own thread with group commit ([`sqlite`]).
//! Migrations are embedded (`server/migrations/`): the same SQL files serve both databases.

pub mod files;
mod pg;
mod queries;
pub mod schema;
mod sqlite;

use async_trait::async_trait;
use serde::Serialize;

pub use pg::PgStore;
pub use sqlite::SqliteStore;

/// A database failure. The message is for logs; users see `internal`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// PostgreSQL refused or could not be reached.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// SQLite refused a statement.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value is already taken.
    #[error("{0} is already taken in this pool")]
    Taken(&'static str),
    /// The transaction a call ran in was not committed: nothing it wrote was kept.
    #[error("database transaction lost: {0}")]
    Lost(String),
    /// The store was closed (shutdown).
    #[error("the database is closed")]
    Closed,
    /// The database holds, or was asked for, something it should not (a bad URL, an unreadable
    /// stored value, a row that should exist and does not).
    #[error("database: {0}")]
    Invalid(String),
}

/// Statements run and transactions committed since start (SQLite only; `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCounters {
    /// Statements, transaction control included.
    pub statements: u64,
    /// Commits.
    pub commits: u64,
}

/// Expired rows are swept at most this often, not on every insert: a `DELETE` is a write of its
/// own, and `insert_attempt` runs on every login.
const SWEEP_EVERY_SECS: i64 = 60;

/// When expired rows were last swept (Unix seconds; 0 = never).
#[derive(Default)]
struct Sweep(std::sync::atomic::AtomicI64);

impl Sweep {
    /// True for exactly one caller once [`SWEEP_EVERY_SECS`] have passed since the last sweep.
    fn due(&self, now: i64) -> bool {
        use std::sync::atomic::Ordering::{AcqRel, Acquire};
        let last = self.0.load(Acquire);
        now.saturating_sub(last) >= SWEEP_EVERY_SECS
            && self.0.compare_exchange(last, now, AcqRel, Acquire).is_ok()
    }
}

/// The column a unique-constraint message names (both databases name the index or column).
fn taken_field(message: &str) -> &'static str {
    if message.contains("email") {
        "email"
    } else if message.contains("phone") {
        "phone"
    } else if message.contains("username") {
        "username"
    } else {
        "value"
    }
}

/// Users with their identities (`(user_id, identity)` rows in any order).
fn with_identities(users: Vec<User>, ids: Vec<(String, Identity)>) -> Vec<UserWithIdentities> {
    users
        .into_iter()
        .map(|user| {
            let identities = ids
                .iter()
                .filter(|(uid, _)| *uid == user.id)
                .map(|(_, i)| i.clone())
                .collect();
            UserWithIdentities { user, identities }
        })
        .collect()
}

/// How a login attempt was started (fields are server-side truth at callback time).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attempt {
    /// SHA-256 (hex) of the state; the state itself is never stored.
    pub state_hash: String,
    /// SHA-256 (hex) of the browser-binding cookie value.
    pub binding_hash: String,
    /// Pool id.
    pub pool: String,
    /// Connection Unique ID.
    pub connection: String,
    /// App id.
    pub app: String,
    /// Popup mode: the origin that receives the result.
    pub origin: Option<String>,
    /// `popup` or `redirect`.
    pub mode: String,
    /// Redirect mode: where the result goes.
    pub redirect_uri: Option<String>,
    /// The widget's attempt id.
    pub attempt: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What consuming a state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    /// First use, within its lifetime: proceed.
    Fresh(Attempt),
    /// First use, but too late.
    Expired(Attempt),
    /// Already used before.
    Replayed,
    /// No such state.
    Unknown,
}

/// A pool user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    /// Our id (token `sub`).
    pub id: String,
    /// Pool id.
    pub pool: String,
    /// Display name.
    pub nickname: String,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// Username (local accounts).
    pub username: Option<String>,
    /// Email (normalised, lowercase).
    pub email: Option<String>,
    /// Email verified by the operator.
    pub email_verified: bool,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// Phone verified by the operator.
    pub phone_verified: bool,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// An identity bound to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Identity {
    /// Connection Unique ID.
    pub connection: String,
    /// Xiaomi openId.
    pub subject: String,
    /// Xiaomi APP ID the openId belongs to.
    pub client_id: String,
    /// Xiaomi unionId.
    pub union_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A user with its identities (what `milogin user list --json` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserWithIdentities {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// Its identities.
    pub identities: Vec<Identity>,
}

/// A new user with its first identity, written in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Our id.
    pub id: String,
    /// Pool id.
    pub pool: String,
    /// Display name.
    pub nickname: String,
    /// Avatar URL.
    pub avatar: Option<String>,
}

/// A stored signing key of a pool and its place in the rotation (`crate::keys`).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredKey {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// PKCS#8 PEM of the private key, or that PEM wrapped with the key-encryption key
    /// (`crate::keys::AtRest`).
    pub private_pem: String,
    /// Its number in the pool's rotation: 1 for the first key, +1 per `milogin keys rotate`.
    pub seq: i64,
    /// When it was created (and published), Unix seconds.
    pub created_at: i64,
    /// When it starts signing, Unix seconds (until the next key's `activates_at`).
    pub activates_at: i64,
}

crate::crypto::redacting_debug!(StoredKey {
    kid, seq, created_at, activates_at
} redacts { private_pem });

/// A local account to insert (`milogin user create`): values already normalised and validated.
#[derive(Clone)]
pub struct NewLocalUser {
    /// Our id.
    pub id: String,
    /// Pool id.
    pub pool: String,
    /// Display name.
    pub nickname: String,
    /// Normalised username.
    pub username: Option<String>,
    /// Normalised email.
    pub email: Option<String>,
    /// The operator vouches for the email.
    pub email_verified: bool,
    /// E.164 phone.
    pub phone: Option<String>,
    /// The operator vouches for the phone.
    pub phone_verified: bool,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
}

crate::crypto::redacting_debug!(NewLocalUser {
    id, pool, username, email_verified, phone_verified
} redacts { nickname, email, phone, password_hash });

/// A user found by a field-matching lookup, with what the association rules need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The user.
    pub user: User,
    /// The user has a password (can prove ownership in the binding step).
    pub has_password: bool,
    /// The user already has an identity on the connection asked about.
    pub bound_here: bool,
}

/// A pending "link your Xiaomi account" step (security.md T-14): single use, expiring, bound to
/// one Xiaomi identity and to the browser holding the ticket cookie. Only hashes of the ticket and
/// of the CSRF token are stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Ticket {
    /// SHA-256 (hex) of the ticket (the cookie value).
    pub ticket_hash: String,
    /// SHA-256 (hex) of the form's CSRF token.
    pub csrf_hash: String,
    /// Pool id.
    pub pool: String,
    /// Connection Unique ID.
    pub connection: String,
    /// The Xiaomi openId this ticket may bind, and nothing else.
    pub subject: String,
    /// Xiaomi APP ID the openId belongs to.
    pub client_id: String,
    /// Xiaomi unionId.
    pub union_id: Option<String>,
    /// Nickname from Xiaomi (for the page and a new account).
    pub nickname: String,
    /// Avatar from Xiaomi.
    pub avatar: Option<String>,
    /// App id (the token's `aud`).
    pub app: String,
    /// The widget's attempt id.
    pub attempt: String,
    /// Popup mode: the origin that receives the result.
    pub origin: Option<String>,
    /// `popup` or `redirect`.
    pub mode: String,
    /// Redirect mode: where the result goes.
    pub redirect_uri: Option<String>,
    /// A field match led here (the page says an account may already exist).
    pub matched: bool,
    /// Password tries so far (counted before each verification).
    pub failures: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Set once used (bound, new account, cancelled, exhausted or expired).
    pub consumed_at: Option<i64>,
}

/// What binding an identity to an existing user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Bound now.
    Linked,
    /// It already was bound to this user (nothing changed).
    AlreadyLinked,
    /// The identity is bound to another user: refused.
    LinkedToOther,
    /// The user already has another identity on this connection: refused.
    UserHasOther,
    /// The ticket was used meanwhile: nothing done.
    TicketGone,
}

/// The database.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Records a new attempt; at most once a minute also deletes attempts that expired more than
    /// an hour ago. An attempt id already recorded is `StoreError::Taken("attempt")`: ids are
    /// single use, so nobody can run a second attempt under an id that leaked.
    async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError>;

    /// Marks the attempt used, atomically; a second call never returns `Fresh`.
    async fn consume_attempt(&self, state_hash: &str, now: i64) -> Result<Consumed, StoreError>;

    /// The user bound to this identity.
    async fn user_by_identity(
        &self,
        pool: &str,
        connection: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError>;

    /// Creates the user and binds the identity in one transaction. When the identity was bound
    /// concurrently, nothing is created and the existing user is returned with `false`.
    async fn create_user_with_identity(
        &self,
        user: &NewUser,
        identity: &Identity,
        now: i64,
    ) -> Result<(User, bool), StoreError>;

    /// Refreshes nickname and avatar from the provider.
    async fn update_profile(
        &self,
        user_id: &str,
        nickname: &str,
        avatar: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError>;

    /// A user by id.
    async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError>;

    /// All users of a pool with their identities, oldest first.
    async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError>;

    /// Distinct `(pool, connection)` pairs that have identities.
    async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Stores `first` as the pool's key number 1 when the pool has no key yet (first writer wins
    /// across replicas; a pool whose old keys were deleted after a rotation keeps its newer ones).
    async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError>;

    /// Every stored key of a pool, oldest (lowest `seq`) first.
    async fn signing_keys(&self, pool: &str) -> Result<Vec<StoredKey>, StoreError>;

    /// Adds a key with its `seq`; `false` when that number is taken (a concurrent rotation won).
    async fn add_signing_key(&self, pool: &str, key: &StoredKey) -> Result<bool, StoreError>;

    /// Deletes one key of a pool (one that is no longer published); `false` when it was gone.
    async fn delete_signing_key(&self, pool: &str, kid: &str) -> Result<bool, StoreError>;

    /// Replaces the stored form of a key's private part (`milogin keys wrap`) when it is still
    /// `old`; `false` when it changed or the key is gone.
    async fn replace_signing_key_pem(
        &self,
        pool: &str,
        kid: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// Closes the connection pool (graceful shutdown); every later call fails.
    async fn close(&self);

    /// Attempts neither consumed nor expired.
    async fn pending_attempts(&self, now: i64) -> Result<i64, StoreError>;

    /// Creates a local account. A taken username, email or phone is `StoreError::Taken(field)`.
    async fn create_local_user(&self, user: &NewLocalUser, now: i64) -> Result<User, StoreError>;

    /// The user a sign-in identifier names, with its password hash.
    async fn user_for_login(
        &self,
        pool: &str,
        id: &crate::domain::contact::LoginId,
    ) -> Result<Option<(User, Option<String>)>, StoreError>;

    /// Users whose email equals `email` or whose phone equals `phone` (normalised values; `None`
    /// matches nothing), each with whether it has a password and an identity on `connection`.
    async fn match_candidates(
        &self,
        pool: &str,
        connection: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// Binds `identity` to the existing user `user_id`, in one transaction; with `ticket_hash`, the
    /// ticket is consumed in the same transaction (and nothing is bound when it already was).
    async fn link_identity(
        &self,
        pool: &str,
        user_id: &str,
        identity: &Identity,
        ticket_hash: Option<&str>,
        now: i64,
    ) -> Result<Link, StoreError>;

    /// Stores a binding ticket; also deletes tickets that expired more than an hour ago.
    async fn insert_ticket(&self, t: &Ticket, now: i64) -> Result<(), StoreError>;

    /// Stores a ticket of the experience-login page for `pool`/`connection`; also deletes
    /// expired ones.
    async fn insert_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Deletes a live ticket of the experience-login page for `pool`/`connection`; `false` when
    /// there is none (unknown, expired, already redeemed, or another connection's).
    async fn redeem_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// A binding ticket by the hash of its value.
    async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError>;

    /// Counts one password try on a live ticket, atomically, and returns the new count; `None`
    /// when the ticket is used, expired or already has `max` tries.
    async fn ticket_try(
        &self,
        ticket_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Marks a ticket used; `false` when it already was.
    async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError>;

    /// Failed sign-ins of an account since `since` (Unix seconds; the current window only).
    async fn account_failures(&self, user_id: &str, since: i64) -> Result<i64, StoreError>;

    /// Records a failed sign-in; a window older than `window_secs` starts over. Returns the count.
    async fn record_account_failure(
        &self,
        user_id: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<i64, StoreError>;

    /// Forgets an account's failed sign-ins (after a successful one).
    async fn clear_account_failures(&self, user_id: &str) -> Result<(), StoreError>;

    /// The identities of one user.
    async fn identities_of(&self, pool: &str, user_id: &str) -> Result<Vec<Identity>, StoreError>;

    /// Disables or enables a user; `false` when there is no such user.
    async fn set_disabled(
        &self,
        pool: &str,
        user_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Deletes a user and its identities; `false` when there is no such user.
    async fn delete_user(&self, pool: &str, user_id: &str) -> Result<bool, StoreError>;

    /// Removes the user's identity on `connection`; the number of identities removed.
    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        connection: &str,
    ) -> Result<u64, StoreError>;

    /// Row counts `(users, identities, attempts)`, for tests and diagnostics.
    async fn counts(&self) -> Result<(i64, i64, i64), StoreError>;

    /// Statements and commits so far, where the backend counts them (SQLite).
    fn counters(&self) -> Option<StoreCounters> {
        None
    }
}

/// Opens the store named by `database_url` and runs migrations.
pub async fn open(database_url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    open_with(&schema::Database::url(database_url)).await
}

/// Opens the store (with PostgreSQL's password, when kept out of the URL) and runs migrations:
/// what `serve`, `migrate` and the user and key commands do; `check` only reads
/// ([`schema::inspect`]).
pub async fn open_with(db: &schema::Database<'_>) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if db.is_postgres() {
        Ok(std::sync::Arc::new(PgStore::connect(db).await?))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::connect(db.url).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_rows_are_swept_once_a_minute_at_most() {
        let s = Sweep::default();
        assert!(s.due(1_000_000));
        assert!(!s.due(1_000_000 + SWEEP_EVERY_SECS - 1));
        assert!(s.due(1_000_000 + SWEEP_EVERY_SECS));
    }
}

//! The database behind the [`Store`] trait: users, identities unique on
//! `(pool, connection, subject)`, login attempts (single use, expiring) and per-pool signing keys.
//!
//! One SQL text serves SQLite and PostgreSQL (`$n` placeholders, `ON CONFLICT`, `RETURNING`);
//! [`sql::SqlStore`] is instantiated for both pools by a macro, so the two backends cannot drift.
//! Migrations are embedded (`migrations/sqlite`, `migrations/postgres`).

mod sql;

use async_trait::async_trait;
use serde::Serialize;

pub use sql::{PgStore, SqliteStore};

/// A database failure. The message is for logs; users see `internal`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value is already taken.
    #[error("{0} is already taken in this pool")]
    Taken(&'static str),
}

/// How a login attempt was started (fields are server-side truth at callback time).
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// A stored signing key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// PKCS#8 PEM of the private key.
    pub private_pem: String,
}

/// The database.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Records a new attempt; also deletes attempts that expired more than an hour ago.
    async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError>;

    /// Marks the attempt used, atomically; a second call never returns `Fresh`.
    async fn consume_attempt(&self, state_hash: &str, now: i64) -> Result<Consumed, StoreError>;

    /// The user bound to this identity.
    async fn user_by_identity(&self, pool: &str, connection: &str, subject: &str) -> Result<Option<User>, StoreError>;

    /// Creates the user and binds the identity in one transaction. When the identity was bound
    /// concurrently, nothing is created and the existing user is returned with `false`.
    async fn create_user_with_identity(&self, user: &NewUser, identity: &Identity, now: i64) -> Result<(User, bool), StoreError>;

    /// Refreshes nickname and avatar from the provider.
    async fn update_profile(&self, user_id: &str, nickname: &str, avatar: Option<&str>, now: i64) -> Result<(), StoreError>;

    /// A user by id.
    async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError>;

    /// All users of a pool with their identities, oldest first.
    async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError>;

    /// Distinct `(pool, connection)` pairs that have identities.
    async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// The pool's signing key; stores `candidate` when there is none yet (first writer wins).
    async fn signing_key(&self, pool: &str, candidate: &StoredKey, now: i64) -> Result<StoredKey, StoreError>;

    /// Row counts `(users, identities, attempts)`, for tests and diagnostics.
    async fn counts(&self) -> Result<(i64, i64, i64), StoreError>;
}

/// Opens the store named by `database_url` and runs migrations.
pub async fn open(database_url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PgStore::connect(database_url).await?))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::connect(database_url).await?))
    }
}

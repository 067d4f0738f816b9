//! The database, one trait per role (as lldap splits its backend handler): [`Attempts`] (login
//! attempts), [`Codes`] (OpenID Connect authorization codes), [`Users`] (users, their identities and failed sign-ins), [`Tickets`] (binding and
//! experience-login tickets), [`SigningKeys`] (per-pool keys) and [`Lifecycle`] (ping, counts,
//! close). [`Store`] is all of them together: what `AppState` holds, what both backends are.
//! Records carry the domain's types (`PoolId`, `Mode`, `Origin`…), converted once in [`columns`].
//!
//! One SQL text ([`queries`]) serves both backends: PostgreSQL through sqlx's pool ([`pg`]), SQLite
//! in-process through rusqlite on the store's own thread with group commit ([`sqlite`]).
//! Migrations are embedded (`server/migrations/`): the same SQL files serve both databases.

mod attempts;
mod codes;
mod columns;
pub mod files;
mod keys;
mod pg;
mod queries;
pub mod schema;
mod sqlite;
mod tickets;
mod users;

use crate::domain::PoolId;
use async_trait::async_trait;

pub use attempts::{Attempt, Attempts, Consumed, Destination};
pub use codes::{Code, Codes, OidcRequest, Redeemed, Redeemer};
pub use keys::SigningKeys;
pub use pg::PgStore;
pub use sqlite::SqliteStore;
pub use tickets::{Ticket, Tickets};
pub use users::{Candidate, Identity, Link, NewUser, User, UserWithIdentities, Users};

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
    /// The database holds, or was asked for, something it should not (a bad URL, a row that
    /// should exist and does not).
    #[error("database: {0}")]
    Invalid(String),
    /// A stored value its type refuses: the row was changed outside milogin.
    #[error("database: {table}.{column} holds {why}; the row was not written by milogin: correct or delete it")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The value and the rule it breaks.
        why: String,
    },
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

/// A stored signing key of a pool and its place in the rotation (`crate::keys`).
#[derive(Clone, PartialEq, Eq)]
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
    /// Its pool.
    pub pool: PoolId,
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

/// The database as a whole.
#[async_trait]
pub trait Lifecycle: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Row counts `(users, identities, attempts)`, for tests and diagnostics.
    async fn counts(&self) -> Result<(i64, i64, i64), StoreError>;

    /// Statements and commits so far, where the backend counts them (SQLite).
    fn counters(&self) -> Option<StoreCounters> {
        None
    }

    /// Closes the connection pool (graceful shutdown); every later call fails.
    async fn close(&self);
}

/// The database: every role. Both backends are one; callers that need one role may take it alone.
pub trait Store: Attempts + Codes + Users + Tickets + SigningKeys + Lifecycle {}

impl<T: Attempts + Codes + Users + Tickets + SigningKeys + Lifecycle> Store for T {}

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

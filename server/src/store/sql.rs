//! The SQL implementation of [`Store`], written once and instantiated for SQLite and PostgreSQL.

use super::*;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

/// Attempts are kept this long after they expire (so a late replay reads "already used").
const ATTEMPT_GRACE_SECS: i64 = 3600;

const USER_COLUMNS: &str =
    "u.id, u.pool, u.nickname, u.avatar, u.username, u.email, u.email_verified, u.phone, u.phone_verified, u.disabled, u.created_at";

/// SQLite (the default): a file under the data dir, WAL, embedded migrations.
pub struct SqliteStore {
    pool: SqlitePool,
}

/// PostgreSQL: several replicas share one database.
pub struct PgStore {
    pool: PgPool,
}

impl SqliteStore {
    /// Opens (creating the file and its folder) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = opts.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(10)).connect_with(opts).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

impl PgStore {
    /// Connects and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn unique_violation(e: &sqlx::Error) -> Option<&'static str> {
    let db = e.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    let m = db.message();
    Some(if m.contains("email") {
        "email"
    } else if m.contains("phone") {
        "phone"
    } else if m.contains("username") {
        "username"
    } else {
        "value"
    })
}

macro_rules! sql_store {
    ($store:ty, $row:ty) => {
        impl $store {
            fn user_from(r: &$row) -> Result<User, sqlx::Error> {
                Ok(User {
                    id: r.try_get("id")?,
                    pool: r.try_get("pool")?,
                    nickname: r.try_get("nickname")?,
                    avatar: r.try_get("avatar")?,
                    username: r.try_get("username")?,
                    email: r.try_get("email")?,
                    email_verified: r.try_get("email_verified")?,
                    phone: r.try_get("phone")?,
                    phone_verified: r.try_get("phone_verified")?,
                    disabled: r.try_get("disabled")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn attempt_from(r: &$row) -> Result<Attempt, sqlx::Error> {
                Ok(Attempt {
                    state_hash: r.try_get("state_hash")?,
                    binding_hash: r.try_get("binding_hash")?,
                    pool: r.try_get("pool")?,
                    connection: r.try_get("connection")?,
                    app: r.try_get("app")?,
                    origin: r.try_get("origin")?,
                    mode: r.try_get("mode")?,
                    redirect_uri: r.try_get("redirect_uri")?,
                    attempt: r.try_get("attempt")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                })
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM attempts WHERE expires_at < $1").bind(now - ATTEMPT_GRACE_SECS).execute(&self.pool).await?;
                sqlx::query(
                    "INSERT INTO attempts (state_hash, binding_hash, pool, connection, app, origin, mode, redirect_uri, attempt, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&a.state_hash)
                .bind(&a.binding_hash)
                .bind(&a.pool)
                .bind(&a.connection)
                .bind(&a.app)
                .bind(&a.origin)
                .bind(&a.mode)
                .bind(&a.redirect_uri)
                .bind(&a.attempt)
                .bind(a.created_at)
                .bind(a.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn consume_attempt(&self, state_hash: &str, now: i64) -> Result<Consumed, StoreError> {
                let row = sqlx::query(
                    "UPDATE attempts SET consumed_at = $2 WHERE state_hash = $1 AND consumed_at IS NULL
                     RETURNING state_hash, binding_hash, pool, connection, app, origin, mode, redirect_uri, attempt, created_at, expires_at",
                )
                .bind(state_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(r) = row {
                    let a = Self::attempt_from(&r)?;
                    return Ok(if now > a.expires_at { Consumed::Expired(a) } else { Consumed::Fresh(a) });
                }
                let seen = sqlx::query("SELECT 1 FROM attempts WHERE state_hash = $1").bind(state_hash).fetch_optional(&self.pool).await?;
                Ok(if seen.is_some() { Consumed::Replayed } else { Consumed::Unknown })
            }

            async fn user_by_identity(&self, pool: &str, connection: &str, subject: &str) -> Result<Option<User>, StoreError> {
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM identities i JOIN users u ON u.id = i.user_id
                     WHERE i.pool = $1 AND i.connection = $2 AND i.subject = $3"
                );
                let row = sqlx::query(&sql).bind(pool).bind(connection).bind(subject).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(Self::user_from).transpose()?)
            }

            async fn create_user_with_identity(&self, u: &NewUser, i: &Identity, now: i64) -> Result<(User, bool), StoreError> {
                let mut tx = self.pool.begin().await?;
                // Write first: the transaction takes the write lock at once (no read→write upgrade).
                sqlx::query("INSERT INTO users (id, pool, nickname, avatar, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
                    .bind(&u.id)
                    .bind(&u.pool)
                    .bind(&u.nickname)
                    .bind(&u.avatar)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let bound = sqlx::query(
                    "INSERT INTO identities (pool, connection, subject, user_id, client_id, union_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pool, connection, subject) DO NOTHING",
                )
                .bind(&u.pool)
                .bind(&i.connection)
                .bind(&i.subject)
                .bind(&u.id)
                .bind(&i.client_id)
                .bind(&i.union_id)
                .bind(i.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if bound == 0 {
                    tx.rollback().await?;
                    let existing = self.user_by_identity(&u.pool, &i.connection, &i.subject).await?;
                    return existing.map(|e| (e, false)).ok_or(StoreError::Db(sqlx::Error::RowNotFound));
                }
                tx.commit().await?;
                let user = self.user(&u.pool, &u.id).await?.ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
                Ok((user, true))
            }

            async fn update_profile(&self, user_id: &str, nickname: &str, avatar: Option<&str>, now: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE users SET nickname = $2, avatar = $3, updated_at = $4
                     WHERE id = $1 AND (nickname <> $2 OR avatar IS DISTINCT FROM $3)",
                )
                .bind(user_id)
                .bind(nickname)
                .bind(avatar)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(|e| match unique_violation(&e) {
                    Some(what) => StoreError::Taken(what),
                    None => StoreError::Db(e),
                })?;
                Ok(())
            }

            async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.pool = $1 AND u.id = $2");
                let row = sqlx::query(&sql).bind(pool).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(Self::user_from).transpose()?)
            }

            async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.pool = $1 ORDER BY u.created_at, u.id");
                let users = sqlx::query(&sql).bind(pool).fetch_all(&self.pool).await?;
                let ids = sqlx::query(
                    "SELECT user_id, connection, subject, client_id, union_id, created_at FROM identities WHERE pool = $1 ORDER BY created_at",
                )
                .bind(pool)
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(users.len());
                for r in &users {
                    let user = Self::user_from(r)?;
                    let mut identities = Vec::new();
                    for i in &ids {
                        let uid: String = i.try_get("user_id")?;
                        if uid == user.id {
                            identities.push(Identity {
                                connection: i.try_get("connection")?,
                                subject: i.try_get("subject")?,
                                client_id: i.try_get("client_id")?,
                                union_id: i.try_get("union_id")?,
                                created_at: i.try_get("created_at")?,
                            });
                        }
                    }
                    out.push(UserWithIdentities { user, identities });
                }
                Ok(out)
            }

            async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError> {
                let rows = sqlx::query("SELECT DISTINCT pool, connection FROM identities").fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get("pool")?, r.try_get("connection")?))).collect()
            }

            async fn signing_key(&self, pool: &str, candidate: &StoredKey, now: i64) -> Result<StoredKey, StoreError> {
                sqlx::query("INSERT INTO signing_keys (pool, kid, private_pem, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (pool) DO NOTHING")
                    .bind(pool)
                    .bind(&candidate.kid)
                    .bind(&candidate.private_pem)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                let r = sqlx::query("SELECT kid, private_pem FROM signing_keys WHERE pool = $1").bind(pool).fetch_one(&self.pool).await?;
                Ok(StoredKey { kid: r.try_get("kid")?, private_pem: r.try_get("private_pem")? })
            }

            async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
                let r = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM identities) AS i, (SELECT COUNT(*) FROM attempts) AS a",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok((r.try_get("u")?, r.try_get("i")?, r.try_get("a")?))
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::sqlite::SqliteRow);
sql_store!(PgStore, sqlx::postgres::PgRow);

//! The SQL implementation of [`Store`], written once and instantiated for SQLite and PostgreSQL.

use super::*;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{FromRow, Row};
use std::str::FromStr;
use std::time::Duration;

/// Attempts are kept this long after they expire (so a late replay reads "already used").
const ATTEMPT_GRACE_SECS: i64 = 3600;

/// Binding tickets are kept this long after they expire (so a late replay reads "already used").
const TICKET_GRACE_SECS: i64 = 3600;

const TICKET_COLUMNS: &str = "ticket_hash, csrf_hash, pool, connection, subject, client_id, union_id, nickname, avatar, app, attempt, origin, mode, redirect_uri, matched, failures, created_at, expires_at, consumed_at";

const USER_COLUMNS: &str =
    "u.id, u.pool, u.nickname, u.avatar, u.username, u.email, u.email_verified, u.phone, u.phone_verified, u.disabled, u.created_at";

/// [`USER_COLUMNS`] unqualified, for `INSERT … RETURNING` (SQLite refuses qualified names there).
const USER_RETURNING: &str =
    "id, pool, nickname, avatar, username, email, email_verified, phone, phone_verified, disabled, created_at";

/// Expired attempts are swept at most this often, not on every insert: a `DELETE`
/// is a write transaction of its own, and `insert_attempt` runs on every login.
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

/// SQLite (the default): a file under the data dir, WAL, embedded migrations, **one** connection
/// behind an async mutex, no connection pool (docs/performance.md):
///
/// - SQLite runs one writer at a time: a second connection that wants to write meanwhile gets
///   `SQLITE_BUSY` and sleeps in SQLite's busy handler (1, 2, 5, 10… ms), which put p99 latency
///   above 100 ms under 32 concurrent logins. One connection queues statements instead, keeps its
///   page cache valid (no re-reads after another connection's writes) and runs one worker thread.
/// - sqlx's pool pings a connection when it is acquired and again when it is released: two extra
///   trips to the connection's worker thread for every statement, more than the statement costs.
///
/// A method never calls another store method while it holds the connection (that would wait on
/// itself); `create_user_with_identity` lets go before it re-reads.
pub struct SqliteStore {
    conn: tokio::sync::Mutex<Option<sqlx::SqliteConnection>>,
    sweep: Sweep,
}

/// PostgreSQL: several replicas share one database.
pub struct PgStore {
    pool: PgPool,
    sweep: Sweep,
}

impl SqliteStore {
    /// Opens (creating the file 0600 and its folder 0700, `files::prepare`) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        super::files::prepare(url).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        let mut conn = sqlx::ConnectOptions::connect(&opts).await?;
        sqlx::migrate!().run(&mut conn).await?;
        Ok(Self {
            conn: tokio::sync::Mutex::new(Some(conn)),
            sweep: Sweep::default(),
        })
    }

    /// The connection, for as long as the guard lives; an error once the store is closed.
    async fn db(
        &self,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, sqlx::SqliteConnection>, StoreError> {
        tokio::sync::MutexGuard::try_map(self.conn.lock().await, Option::as_mut)
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))
    }

    async fn shutdown(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            let _ = sqlx::Connection::close(conn).await;
        }
    }
}

impl PgStore {
    /// Connects and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!().run(&pool).await?;
        Ok(Self {
            pool,
            sweep: Sweep::default(),
        })
    }

    /// A connection from the pool, for as long as it lives.
    async fn db(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    async fn shutdown(&self) {
        self.pool.close().await;
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
    ($store:ty) => {
        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&mut *self.db().await?).await?;
                Ok(())
            }

            async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError> {
                if self.sweep.due(now) {
                    sqlx::query("DELETE FROM attempts WHERE expires_at < $1").bind(now - ATTEMPT_GRACE_SECS).execute(&mut *self.db().await?).await?;
                }
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
                .execute(&mut *self.db().await?)
                .await
                .map_err(|e| match e.as_database_error() {
                    Some(d) if d.is_unique_violation() => StoreError::Taken("attempt"),
                    _ => StoreError::Db(e),
                })?;
                Ok(())
            }

            async fn consume_attempt(&self, state_hash: &str, now: i64) -> Result<Consumed, StoreError> {
                let row = sqlx::query(
                    "UPDATE attempts SET consumed_at = $2 WHERE state_hash = $1 AND consumed_at IS NULL
                     RETURNING state_hash, binding_hash, pool, connection, app, origin, mode, redirect_uri, attempt, created_at, expires_at",
                )
                .bind(state_hash)
                .bind(now)
                .fetch_optional(&mut *self.db().await?)
                .await?;
                if let Some(r) = row {
                    let a = Attempt::from_row(&r)?;
                    return Ok(if now > a.expires_at { Consumed::Expired(a) } else { Consumed::Fresh(a) });
                }
                let seen = sqlx::query("SELECT 1 FROM attempts WHERE state_hash = $1").bind(state_hash).fetch_optional(&mut *self.db().await?).await?;
                Ok(if seen.is_some() { Consumed::Replayed } else { Consumed::Unknown })
            }

            async fn user_by_identity(&self, pool: &str, connection: &str, subject: &str) -> Result<Option<User>, StoreError> {
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM identities i JOIN users u ON u.id = i.user_id
                     WHERE i.pool = $1 AND i.connection = $2 AND i.subject = $3"
                );
                let row = sqlx::query(&sql).bind(pool).bind(connection).bind(subject).fetch_optional(&mut *self.db().await?).await?;
                Ok(row.as_ref().map(User::from_row).transpose()?)
            }

            async fn create_user_with_identity(&self, u: &NewUser, i: &Identity, now: i64) -> Result<(User, bool), StoreError> {
                let mut db = self.db().await?;
                let mut tx = sqlx::Connection::begin(&mut *db).await?;
                // Write first: the transaction takes the write lock at once (no read→write upgrade).
                // RETURNING hands back the new row: no second query after the commit.
                let sql = format!(
                    "INSERT INTO users (id, pool, nickname, avatar, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING {USER_RETURNING}"
                );
                let created = sqlx::query(&sql)
                    .bind(&u.id)
                    .bind(&u.pool)
                    .bind(&u.nickname)
                    .bind(&u.avatar)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                let user = User::from_row(&created)?;
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
                    drop(db);
                    let existing = self.user_by_identity(&u.pool, &i.connection, &i.subject).await?;
                    return existing.map(|e| (e, false)).ok_or(StoreError::Db(sqlx::Error::RowNotFound));
                }
                tx.commit().await?;
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
                .execute(&mut *self.db().await?)
                .await
                .map_err(|e| match unique_violation(&e) {
                    Some(what) => StoreError::Taken(what),
                    None => StoreError::Db(e),
                })?;
                Ok(())
            }

            async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.pool = $1 AND u.id = $2");
                let row = sqlx::query(&sql).bind(pool).bind(id).fetch_optional(&mut *self.db().await?).await?;
                Ok(row.as_ref().map(User::from_row).transpose()?)
            }

            async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.pool = $1 ORDER BY u.created_at, u.id");
                let users = sqlx::query(&sql).bind(pool).fetch_all(&mut *self.db().await?).await?;
                let ids = sqlx::query(
                    "SELECT user_id, connection, subject, client_id, union_id, created_at FROM identities WHERE pool = $1 ORDER BY created_at",
                )
                .bind(pool)
                .fetch_all(&mut *self.db().await?)
                .await?;
                let mut out = Vec::with_capacity(users.len());
                for r in &users {
                    let user = User::from_row(r)?;
                    let mut identities = Vec::new();
                    for i in &ids {
                        let uid: String = i.try_get("user_id")?;
                        if uid == user.id {
                            identities.push(Identity::from_row(i)?);
                        }
                    }
                    out.push(UserWithIdentities { user, identities });
                }
                Ok(out)
            }

            async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError> {
                let rows = sqlx::query("SELECT DISTINCT pool, connection FROM identities").fetch_all(&mut *self.db().await?).await?;
                rows.iter().map(|r| Ok((r.try_get("pool")?, r.try_get("connection")?))).collect()
            }

            async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError> {
                // Racing replicas on an empty table both insert number 1: the primary key keeps one.
                sqlx::query(
                    "INSERT INTO signing_keys (pool, seq, kid, private_pem, created_at, activates_at)
                     SELECT $1, 1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE pool = $1)
                     ON CONFLICT (pool, seq) DO NOTHING",
                )
                .bind(pool)
                .bind(&first.kid)
                .bind(&first.private_pem)
                .bind(first.created_at)
                .bind(first.activates_at)
                .execute(&mut *self.db().await?)
                .await?;
                Ok(())
            }

            async fn signing_keys(&self, pool: &str) -> Result<Vec<StoredKey>, StoreError> {
                let rows = sqlx::query("SELECT kid, private_pem, seq, created_at, activates_at FROM signing_keys WHERE pool = $1 ORDER BY seq")
                    .bind(pool)
                    .fetch_all(&mut *self.db().await?)
                    .await?;
                Ok(rows.iter().map(StoredKey::from_row).collect::<Result<_, _>>()?)
            }

            async fn add_signing_key(&self, pool: &str, k: &StoredKey) -> Result<bool, StoreError> {
                let n = sqlx::query(
                    "INSERT INTO signing_keys (pool, seq, kid, private_pem, created_at, activates_at) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (pool, seq) DO NOTHING",
                )
                .bind(pool)
                .bind(k.seq)
                .bind(&k.kid)
                .bind(&k.private_pem)
                .bind(k.created_at)
                .bind(k.activates_at)
                .execute(&mut *self.db().await?)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn delete_signing_key(&self, pool: &str, kid: &str) -> Result<bool, StoreError> {
                let n = sqlx::query("DELETE FROM signing_keys WHERE pool = $1 AND kid = $2")
                    .bind(pool)
                    .bind(kid)
                    .execute(&mut *self.db().await?)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn close(&self) {
                self.shutdown().await;
            }

            async fn pending_attempts(&self, now: i64) -> Result<i64, StoreError> {
                let r = sqlx::query("SELECT COUNT(*) AS n FROM attempts WHERE consumed_at IS NULL AND expires_at >= $1")
                    .bind(now)
                    .fetch_one(&mut *self.db().await?)
                    .await?;
                Ok(r.try_get("n")?)
            }

            async fn create_local_user(&self, u: &NewLocalUser, now: i64) -> Result<User, StoreError> {
                sqlx::query(
                    "INSERT INTO users (id, pool, nickname, username, email, email_verified, phone, phone_verified, password_hash, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                )
                .bind(&u.id)
                .bind(&u.pool)
                .bind(&u.nickname)
                .bind(&u.username)
                .bind(&u.email)
                .bind(u.email_verified)
                .bind(&u.phone)
                .bind(u.phone_verified)
                .bind(&u.password_hash)
                .bind(now)
                .execute(&mut *self.db().await?)
                .await
                .map_err(|e| match unique_violation(&e) {
                    Some(what) => StoreError::Taken(what),
                    None => StoreError::Db(e),
                })?;
                self.user(&u.pool, &u.id).await?.ok_or(StoreError::Db(sqlx::Error::RowNotFound))
            }

            async fn user_for_login(&self, pool: &str, id: &crate::domain::contact::LoginId) -> Result<Option<(User, Option<String>)>, StoreError> {
                use crate::domain::contact::LoginId;
                let (column, value) = match id {
                    LoginId::Email(v) => ("email", v),
                    LoginId::Phone(v) => ("phone", v),
                    LoginId::Username(v) => ("username", v),
                };
                let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.pool = $1 AND u.{column} = $2");
                let row = sqlx::query(&sql).bind(pool).bind(value).fetch_optional(&mut *self.db().await?).await?;
                match row {
                    Some(r) => Ok(Some((User::from_row(&r)?, r.try_get("password_hash")?))),
                    None => Ok(None),
                }
            }

            async fn match_candidates(&self, pool: &str, connection: &str, email: Option<&str>, phone: Option<&str>) -> Result<Vec<Candidate>, StoreError> {
                if email.is_none() && phone.is_none() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                     WHERE u.pool = $1 AND ((u.email IS NOT NULL AND u.email = $2) OR (u.phone IS NOT NULL AND u.phone = $3))
                     ORDER BY u.created_at, u.id"
                );
                let rows = sqlx::query(&sql).bind(pool).bind(email).bind(phone).fetch_all(&mut *self.db().await?).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let user = User::from_row(r)?;
                    let hash: Option<String> = r.try_get("password_hash")?;
                    let bound = sqlx::query("SELECT 1 FROM identities WHERE pool = $1 AND connection = $2 AND user_id = $3")
                        .bind(pool)
                        .bind(connection)
                        .bind(&user.id)
                        .fetch_optional(&mut *self.db().await?)
                        .await?;
                    out.push(Candidate { user, has_password: hash.is_some(), bound_here: bound.is_some() });
                }
                Ok(out)
            }

            async fn link_identity(&self, pool: &str, user_id: &str, i: &Identity, ticket_hash: Option<&str>, now: i64) -> Result<Link, StoreError> {
                let mut db = self.db().await?;
                let mut tx = sqlx::Connection::begin(&mut *db).await?;
                // Write first: the transaction takes the write lock at once (no read→write upgrade).
                if let Some(hash) = ticket_hash {
                    let used = sqlx::query("UPDATE binding_tickets SET consumed_at = $2 WHERE ticket_hash = $1 AND consumed_at IS NULL")
                        .bind(hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if used == 0 {
                        tx.rollback().await?;
                        return Ok(Link::TicketGone);
                    }
                }
                // No conflict target: the identity's key and "one identity per user and connection"
                // both make it a no-op, told apart below.
                let bound = sqlx::query(
                    "INSERT INTO identities (pool, connection, subject, user_id, client_id, union_id, created_at)
                     SELECT $1, $2, $3, u.id, $5, $6, $7 FROM users u WHERE u.id = $4 AND u.pool = $1
                     ON CONFLICT DO NOTHING",
                )
                .bind(pool)
                .bind(&i.connection)
                .bind(&i.subject)
                .bind(user_id)
                .bind(&i.client_id)
                .bind(&i.union_id)
                .bind(i.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let outcome = if bound == 1 {
                    Link::Linked
                } else {
                    let owner: Option<String> = sqlx::query("SELECT user_id FROM identities WHERE pool = $1 AND connection = $2 AND subject = $3")
                        .bind(pool)
                        .bind(&i.connection)
                        .bind(&i.subject)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get("user_id"))
                        .transpose()?;
                    match owner {
                        Some(o) if o == user_id => Link::AlreadyLinked,
                        Some(_) => Link::LinkedToOther,
                        None => {
                            let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1 AND pool = $2").bind(user_id).bind(pool).fetch_optional(&mut *tx).await?;
                            if exists.is_none() {
                                tx.rollback().await?;
                                return Err(StoreError::Db(sqlx::Error::RowNotFound));
                            }
                            // Nothing bound and the ticket stays usable: the person may prove another account.
                            tx.rollback().await?;
                            return Ok(Link::UserHasOther);
                        }
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn insert_ticket(&self, t: &Ticket, now: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM binding_tickets WHERE expires_at < $1").bind(now - TICKET_GRACE_SECS).execute(&mut *self.db().await?).await?;
                sqlx::query(
                    "INSERT INTO binding_tickets (ticket_hash, csrf_hash, pool, connection, subject, client_id, union_id, nickname, avatar, app, attempt, origin, mode, redirect_uri, matched, failures, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                )
                .bind(&t.ticket_hash)
                .bind(&t.csrf_hash)
                .bind(&t.pool)
                .bind(&t.connection)
                .bind(&t.subject)
                .bind(&t.client_id)
                .bind(&t.union_id)
                .bind(&t.nickname)
                .bind(&t.avatar)
                .bind(&t.app)
                .bind(&t.attempt)
                .bind(&t.origin)
                .bind(&t.mode)
                .bind(&t.redirect_uri)
                .bind(t.matched)
                .bind(t.failures)
                .bind(t.created_at)
                .bind(t.expires_at)
                .execute(&mut *self.db().await?)
                .await?;
                Ok(())
            }

            async fn insert_try_ticket(&self, ticket_hash: &str, pool: &str, connection: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM try_tickets WHERE expires_at < $1").bind(now).execute(&mut *self.db().await?).await?;
                sqlx::query("INSERT INTO try_tickets (ticket_hash, pool, connection, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(ticket_hash)
                    .bind(pool)
                    .bind(connection)
                    .bind(expires_at)
                    .execute(&mut *self.db().await?)
                    .await?;
                Ok(())
            }

            async fn redeem_try_ticket(&self, ticket_hash: &str, pool: &str, connection: &str, now: i64) -> Result<bool, StoreError> {
                // One DELETE: of two concurrent redeems (any replicas) only one sees the row.
                let n = sqlx::query("DELETE FROM try_tickets WHERE ticket_hash = $1 AND pool = $2 AND connection = $3 AND expires_at >= $4")
                    .bind(ticket_hash)
                    .bind(pool)
                    .bind(connection)
                    .bind(now)
                    .execute(&mut *self.db().await?)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError> {
                let sql = format!("SELECT {TICKET_COLUMNS} FROM binding_tickets WHERE ticket_hash = $1");
                let row = sqlx::query(&sql).bind(ticket_hash).fetch_optional(&mut *self.db().await?).await?;
                Ok(row.as_ref().map(Ticket::from_row).transpose()?)
            }

            async fn ticket_try(&self, ticket_hash: &str, max: i64, now: i64) -> Result<Option<i64>, StoreError> {
                let row = sqlx::query(
                    "UPDATE binding_tickets SET failures = failures + 1
                     WHERE ticket_hash = $1 AND consumed_at IS NULL AND failures < $2 AND expires_at >= $3
                     RETURNING failures",
                )
                .bind(ticket_hash)
                .bind(max)
                .bind(now)
                .fetch_optional(&mut *self.db().await?)
                .await?;
                Ok(row.map(|r| r.try_get("failures")).transpose()?)
            }

            async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError> {
                let n = sqlx::query("UPDATE binding_tickets SET consumed_at = $2 WHERE ticket_hash = $1 AND consumed_at IS NULL")
                    .bind(ticket_hash)
                    .bind(now)
                    .execute(&mut *self.db().await?)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn account_failures(&self, user_id: &str, since: i64) -> Result<i64, StoreError> {
                let row = sqlx::query("SELECT failures FROM account_failures WHERE user_id = $1 AND window_start > $2")
                    .bind(user_id)
                    .bind(since)
                    .fetch_optional(&mut *self.db().await?)
                    .await?;
                Ok(row.map(|r| r.try_get("failures")).transpose()?.unwrap_or(0))
            }

            async fn record_account_failure(&self, user_id: &str, now: i64, window_secs: i64) -> Result<i64, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO account_failures (user_id, window_start, failures) VALUES ($1, $2, 1)
                     ON CONFLICT (user_id) DO UPDATE SET
                       failures = CASE WHEN account_failures.window_start <= $3 THEN 1 ELSE account_failures.failures + 1 END,
                       window_start = CASE WHEN account_failures.window_start <= $3 THEN $2 ELSE account_failures.window_start END
                     RETURNING failures",
                )
                .bind(user_id)
                .bind(now)
                .bind(now - window_secs)
                .fetch_one(&mut *self.db().await?)
                .await?;
                Ok(r.try_get("failures")?)
            }

            async fn clear_account_failures(&self, user_id: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM account_failures WHERE user_id = $1").bind(user_id).execute(&mut *self.db().await?).await?;
                Ok(())
            }

            async fn identities_of(&self, pool: &str, user_id: &str) -> Result<Vec<Identity>, StoreError> {
                let rows = sqlx::query(
                    "SELECT connection, subject, client_id, union_id, created_at FROM identities WHERE pool = $1 AND user_id = $2 ORDER BY created_at, connection",
                )
                .bind(pool)
                .bind(user_id)
                .fetch_all(&mut *self.db().await?)
                .await?;
                Ok(rows.iter().map(Identity::from_row).collect::<Result<_, _>>()?)
            }

            async fn set_disabled(&self, pool: &str, user_id: &str, disabled: bool, now: i64) -> Result<bool, StoreError> {
                let n = sqlx::query("UPDATE users SET disabled = $3, updated_at = $4 WHERE pool = $1 AND id = $2")
                    .bind(pool)
                    .bind(user_id)
                    .bind(disabled)
                    .bind(now)
                    .execute(&mut *self.db().await?)
                    .await?
                    .rows_affected();
                Ok(n == 1)
            }

            async fn delete_user(&self, pool: &str, user_id: &str) -> Result<bool, StoreError> {
                let mut db = self.db().await?;
                let mut tx = sqlx::Connection::begin(&mut *db).await?;
                // The foreign keys cascade; deleting the children first makes it explicit.
                sqlx::query("DELETE FROM identities WHERE pool = $1 AND user_id = $2").bind(pool).bind(user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM account_failures WHERE user_id IN (SELECT id FROM users WHERE pool = $1 AND id = $2)")
                    .bind(pool)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM users WHERE pool = $1 AND id = $2").bind(pool).bind(user_id).execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn unlink_identity(&self, pool: &str, user_id: &str, connection: &str) -> Result<u64, StoreError> {
                let n = sqlx::query("DELETE FROM identities WHERE pool = $1 AND user_id = $2 AND connection = $3")
                    .bind(pool)
                    .bind(user_id)
                    .bind(connection)
                    .execute(&mut *self.db().await?)
                    .await?
                    .rows_affected();
                Ok(n)
            }

            async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
                let r = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM identities) AS i, (SELECT COUNT(*) FROM attempts) AS a",
                )
                .fetch_one(&mut *self.db().await?)
                .await?;
                Ok((r.try_get("u")?, r.try_get("i")?, r.try_get("a")?))
            }
        }
    };
}

sql_store!(SqliteStore);
sql_store!(PgStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returning_columns_are_the_user_columns_unqualified() {
        assert_eq!(USER_COLUMNS.replace("u.", ""), USER_RETURNING);
    }

    #[test]
    fn expired_rows_are_swept_once_a_minute_at_most() {
        let s = Sweep::default();
        assert!(s.due(1_000_000));
        assert!(!s.due(1_000_000 + SWEEP_EVERY_SECS - 1));
        assert!(s.due(1_000_000 + SWEEP_EVERY_SECS));
    }
}

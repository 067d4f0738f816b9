//! PostgreSQL: several replicas share one database through sqlx's connection pool. The SQL text
//! is [`super::queries`], the same as SQLite's.

use super::queries as q;
use super::*;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{FromRow, Row};
use std::time::Duration;

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    sweep: Sweep,
}

impl PgStore {
    /// Connects and migrates (a database a newer milogin migrated is refused, untouched).
    pub async fn connect(db: &schema::Database<'_>) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(schema::connect_options(db)?)
            .await?;
        match sqlx::migrate!().run(&pool).await {
            Err(sqlx::migrate::MigrateError::VersionMissing(v)) => {
                let newer = schema::Schema {
                    unknown: vec![v],
                    ..Default::default()
                };
                return Err(StoreError::Invalid(newer.refusal().unwrap_or_default()));
            }
            other => other?,
        }
        Ok(Self {
            pool,
            sweep: Sweep::default(),
        })
    }

    /// A connection from the pool, for as long as it lives.
    async fn db(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
        Ok(self.pool.acquire().await?)
    }
}

/// A unique-constraint failure, named by the column it is about.
fn taken(e: sqlx::Error) -> StoreError {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Taken(taken_field(db.message())),
        _ => StoreError::Db(e),
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(q::PING).execute(&mut *self.db().await?).await?;
        Ok(())
    }

    async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError> {
        if self.sweep.due(now) {
            sqlx::query(q::SWEEP_ATTEMPTS)
                .bind(now - q::ATTEMPT_GRACE_SECS)
                .execute(&mut *self.db().await?)
                .await?;
        }
        sqlx::query(q::INSERT_ATTEMPT)
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
        let row = sqlx::query(q::CONSUME_ATTEMPT)
            .bind(state_hash)
            .bind(now)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        if let Some(r) = row {
            let a = Attempt::from_row(&r)?;
            return Ok(if now > a.expires_at {
                Consumed::Expired(a)
            } else {
                Consumed::Fresh(a)
            });
        }
        let seen = sqlx::query(q::ATTEMPT_SEEN)
            .bind(state_hash)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(if seen.is_some() {
            Consumed::Replayed
        } else {
            Consumed::Unknown
        })
    }

    async fn user_by_identity(
        &self,
        pool: &str,
        connection: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(q::USER_BY_IDENTITY)
            .bind(pool)
            .bind(connection)
            .bind(subject)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.as_ref().map(User::from_row).transpose()?)
    }

    async fn create_user_with_identity(
        &self,
        u: &NewUser,
        i: &Identity,
        now: i64,
    ) -> Result<(User, bool), StoreError> {
        let mut db = self.db().await?;
        let mut tx = sqlx::Connection::begin(&mut *db).await?;
        // Write first: the transaction takes the write lock at once (no read→write upgrade).
        // RETURNING hands back the new row: no second query after the commit.
        let created = sqlx::query(q::INSERT_USER)
            .bind(&u.id)
            .bind(&u.pool)
            .bind(&u.nickname)
            .bind(&u.avatar)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let user = User::from_row(&created)?;
        let bound = sqlx::query(q::INSERT_IDENTITY)
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
            let existing = self
                .user_by_identity(&u.pool, &i.connection, &i.subject)
                .await?;
            return existing.map(|e| (e, false)).ok_or(StoreError::Invalid(
                "a row that was just written is missing".into(),
            ));
        }
        tx.commit().await?;
        Ok((user, true))
    }

    async fn update_profile(
        &self,
        user_id: &str,
        nickname: &str,
        avatar: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(q::UPDATE_PROFILE)
            .bind(user_id)
            .bind(nickname)
            .bind(avatar)
            .bind(now)
            .execute(&mut *self.db().await?)
            .await
            .map_err(taken)?;
        Ok(())
    }

    async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(q::USER)
            .bind(pool)
            .bind(id)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.as_ref().map(User::from_row).transpose()?)
    }

    async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError> {
        let users = sqlx::query(q::USERS_OF_POOL)
            .bind(pool)
            .fetch_all(&mut *self.db().await?)
            .await?;
        let ids = sqlx::query(q::IDENTITIES_OF_POOL)
            .bind(pool)
            .fetch_all(&mut *self.db().await?)
            .await?;
        let users = users.iter().map(User::from_row).collect::<Result<_, _>>()?;
        let ids = ids
            .iter()
            .map(|r| Ok((r.try_get("user_id")?, Identity::from_row(r)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(with_identities(users, ids))
    }

    async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(q::BOUND_CONNECTIONS)
            .fetch_all(&mut *self.db().await?)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("pool")?, r.try_get("connection")?)))
            .collect()
    }

    async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError> {
        // Racing replicas on an empty table both insert number 1: the primary key keeps one.
        sqlx::query(q::ENSURE_SIGNING_KEY)
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
        let rows = sqlx::query(q::SIGNING_KEYS)
            .bind(pool)
            .fetch_all(&mut *self.db().await?)
            .await?;
        Ok(rows
            .iter()
            .map(StoredKey::from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn add_signing_key(&self, pool: &str, k: &StoredKey) -> Result<bool, StoreError> {
        let n = sqlx::query(q::ADD_SIGNING_KEY)
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
        let n = sqlx::query(q::DELETE_SIGNING_KEY)
            .bind(pool)
            .bind(kid)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn replace_signing_key_pem(
        &self,
        pool: &str,
        kid: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(q::REPLACE_SIGNING_KEY_PEM)
            .bind(pool)
            .bind(kid)
            .bind(old)
            .bind(new)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn pending_attempts(&self, now: i64) -> Result<i64, StoreError> {
        let r = sqlx::query(q::PENDING_ATTEMPTS)
            .bind(now)
            .fetch_one(&mut *self.db().await?)
            .await?;
        Ok(r.try_get("n")?)
    }

    async fn create_local_user(&self, u: &NewLocalUser, now: i64) -> Result<User, StoreError> {
        sqlx::query(q::INSERT_LOCAL_USER)
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
            .map_err(taken)?;
        self.user(&u.pool, &u.id).await?.ok_or(StoreError::Invalid(
            "a row that was just written is missing".into(),
        ))
    }

    async fn user_for_login(
        &self,
        pool: &str,
        id: &crate::domain::contact::LoginId,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let (sql, value) = q::user_for_login(id);
        let row = sqlx::query(sql)
            .bind(pool)
            .bind(value)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        match row {
            Some(r) => Ok(Some((User::from_row(&r)?, r.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    async fn match_candidates(
        &self,
        pool: &str,
        connection: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Vec<Candidate>, StoreError> {
        if email.is_none() && phone.is_none() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(q::MATCH_CANDIDATES)
            .bind(pool)
            .bind(email)
            .bind(phone)
            .fetch_all(&mut *self.db().await?)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let user = User::from_row(r)?;
            let hash: Option<String> = r.try_get("password_hash")?;
            let bound = sqlx::query(q::BOUND_HERE)
                .bind(pool)
                .bind(connection)
                .bind(&user.id)
                .fetch_optional(&mut *self.db().await?)
                .await?;
            out.push(Candidate {
                user,
                has_password: hash.is_some(),
                bound_here: bound.is_some(),
            });
        }
        Ok(out)
    }

    async fn link_identity(
        &self,
        pool: &str,
        user_id: &str,
        i: &Identity,
        ticket_hash: Option<&str>,
        now: i64,
    ) -> Result<Link, StoreError> {
        let mut db = self.db().await?;
        let mut tx = sqlx::Connection::begin(&mut *db).await?;
        // Write first: the transaction takes the write lock at once (no read→write upgrade).
        if let Some(hash) = ticket_hash {
            let used = sqlx::query(q::CONSUME_TICKET)
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
        let bound = sqlx::query(q::LINK_IDENTITY)
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
            let owner: Option<String> = sqlx::query(q::IDENTITY_OWNER)
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
                    let exists = sqlx::query(q::USER_EXISTS)
                        .bind(user_id)
                        .bind(pool)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if exists.is_none() {
                        tx.rollback().await?;
                        return Err(StoreError::Invalid(
                            "a row that was just written is missing".into(),
                        ));
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
        sqlx::query(q::SWEEP_TICKETS)
            .bind(now - q::TICKET_GRACE_SECS)
            .execute(&mut *self.db().await?)
            .await?;
        sqlx::query(q::INSERT_TICKET)
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

    async fn insert_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(q::SWEEP_TRY_TICKETS)
            .bind(now)
            .execute(&mut *self.db().await?)
            .await?;
        sqlx::query(q::INSERT_TRY_TICKET)
            .bind(ticket_hash)
            .bind(pool)
            .bind(connection)
            .bind(expires_at)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn redeem_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        // One DELETE: of two concurrent redeems (any replicas) only one sees the row.
        let n = sqlx::query(q::REDEEM_TRY_TICKET)
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
        let row = sqlx::query(q::TICKET)
            .bind(ticket_hash)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.as_ref().map(Ticket::from_row).transpose()?)
    }

    async fn ticket_try(
        &self,
        ticket_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(q::TICKET_TRY)
            .bind(ticket_hash)
            .bind(max)
            .bind(now)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.map(|r| r.try_get("failures")).transpose()?)
    }

    async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError> {
        let n = sqlx::query(q::CONSUME_TICKET)
            .bind(ticket_hash)
            .bind(now)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn account_failures(&self, user_id: &str, since: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(q::ACCOUNT_FAILURES)
            .bind(user_id)
            .bind(since)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.map(|r| r.try_get("failures")).transpose()?.unwrap_or(0))
    }

    async fn record_account_failure(
        &self,
        user_id: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query(q::RECORD_ACCOUNT_FAILURE)
            .bind(user_id)
            .bind(now)
            .bind(now - window_secs)
            .fetch_one(&mut *self.db().await?)
            .await?;
        Ok(r.try_get("failures")?)
    }

    async fn clear_account_failures(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query(q::CLEAR_ACCOUNT_FAILURES)
            .bind(user_id)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn identities_of(&self, pool: &str, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let rows = sqlx::query(q::IDENTITIES_OF_USER)
            .bind(pool)
            .bind(user_id)
            .fetch_all(&mut *self.db().await?)
            .await?;
        Ok(rows
            .iter()
            .map(Identity::from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn set_disabled(
        &self,
        pool: &str,
        user_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(q::SET_DISABLED)
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
        sqlx::query(q::DELETE_IDENTITIES_OF_USER)
            .bind(pool)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(q::DELETE_FAILURES_OF_USER)
            .bind(pool)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query(q::DELETE_USER)
            .bind(pool)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        connection: &str,
    ) -> Result<u64, StoreError> {
        let n = sqlx::query(q::UNLINK_IDENTITY)
            .bind(pool)
            .bind(user_id)
            .bind(connection)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n)
    }

    async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let r = sqlx::query(q::COUNTS)
            .fetch_one(&mut *self.db().await?)
            .await?;
        Ok((r.try_get("u")?, r.try_get("i")?, r.try_get("a")?))
    }
}

//! PostgreSQL's [`Users`]: users, identities (each write of two rows in one transaction) and
//! failed sign-ins.

use super::*;

#[async_trait]
impl Users for PgStore {
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
        row.as_ref().map(User::read).transpose()
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
        let user = User::read(&created)?;
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
        row.as_ref().map(User::read).transpose()
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
        let users = users.iter().map(User::read).collect::<Result<_, _>>()?;
        let ids = ids
            .iter()
            .map(Identity::read_with_owner)
            .collect::<Result<_, _>>()?;
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
        row.as_ref().map(User::read_with_hash).transpose()
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
            let (user, hash) = User::read_with_hash(r)?;
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

    async fn identities_of(&self, pool: &str, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let rows = sqlx::query(q::IDENTITIES_OF_USER)
            .bind(pool)
            .bind(user_id)
            .fetch_all(&mut *self.db().await?)
            .await?;
        rows.iter().map(Identity::read).collect()
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
}

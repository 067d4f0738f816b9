//! SQLite's [`Users`]: users, identities (a write of two rows runs in a savepoint) and failed
//! sign-ins; each call one job on the store's thread.

use super::*;

#[async_trait]
impl Users for SqliteStore {
    async fn user_by_identity(
        &self,
        pool: &str,
        connection: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        let (p, c, s) = (
            pool.to_string(),
            connection.to_string(),
            subject.to_string(),
        );
        self.call(move |db| db.row(q::USER_BY_IDENTITY, &[&p, &c, &s], |r| User::read(r)))
            .await
    }

    async fn create_user_with_identity(
        &self,
        u: &NewUser,
        i: &Identity,
        now: i64,
    ) -> Result<(User, bool), StoreError> {
        let (u, i) = (u.clone(), i.clone());
        self.call(move |db| {
            db.atomic(|db| {
                let created = db
                    .row(
                        q::INSERT_USER,
                        &[&u.id, &u.pool, &u.nickname, &u.avatar, &now],
                        |r| User::read(r),
                    )?
                    .ok_or_else(|| StoreError::Invalid("INSERT … RETURNING gave no row".into()))?;
                let bound = db.exec(
                    q::INSERT_IDENTITY,
                    &[
                        &u.pool,
                        &i.connection,
                        &i.subject,
                        &u.id,
                        &i.client_id,
                        &i.union_id,
                        &i.created_at,
                    ],
                )?;
                if bound == 1 {
                    return Ok((created, true));
                }
                // Bound meanwhile (another replica's connection, or the CLI): that user wins.
                db.undo();
                db.row(
                    q::USER_BY_IDENTITY,
                    &[&u.pool, &i.connection, &i.subject],
                    |r| User::read(r),
                )?
                .map(|e| (e, false))
                .ok_or_else(|| StoreError::Invalid("identity vanished while binding".into()))
            })
        })
        .await
    }

    async fn update_profile(
        &self,
        user_id: &str,
        nickname: &str,
        avatar: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (id, n, a) = (
            user_id.to_string(),
            nickname.to_string(),
            avatar.map(str::to_string),
        );
        self.call(move |db| {
            db.exec(q::UPDATE_PROFILE, &[&id, &n, &a, &now])
                .map_err(taken)?;
            Ok(())
        })
        .await
    }

    async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError> {
        let (p, id) = (pool.to_string(), id.to_string());
        self.call(move |db| db.row(q::USER, &[&p, &id], |r| User::read(r)))
            .await
    }

    async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError> {
        let p = pool.to_string();
        self.call(move |db| {
            let users = db.rows(q::USERS_OF_POOL, &[&p], |r| User::read(r))?;
            let ids = db.rows(q::IDENTITIES_OF_POOL, &[&p], |r| {
                Identity::read_with_owner(r)
            })?;
            Ok(with_identities(users, ids))
        })
        .await
    }

    async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.call(|db| {
            db.rows(q::BOUND_CONNECTIONS, &[], |r| {
                Ok((r.get("pool")?, r.get("connection")?))
            })
        })
        .await
    }

    async fn create_local_user(&self, u: &NewLocalUser, now: i64) -> Result<User, StoreError> {
        let u = u.clone();
        self.call(move |db| {
            db.exec(
                q::INSERT_LOCAL_USER,
                &[
                    &u.id,
                    &u.pool,
                    &u.nickname,
                    &u.username,
                    &u.email,
                    &u.email_verified,
                    &u.phone,
                    &u.phone_verified,
                    &u.password_hash,
                    &now,
                ],
            )
            .map_err(taken)?;
            db.row(q::USER, &[&u.pool, &u.id], |r| User::read(r))?
                .ok_or_else(|| StoreError::Invalid("the new user vanished".into()))
        })
        .await
    }

    async fn user_for_login(
        &self,
        pool: &str,
        id: &crate::domain::contact::LoginId,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let (sql, value) = q::user_for_login(id);
        let (p, v) = (pool.to_string(), value.to_string());
        self.call(move |db| db.row(sql, &[&p, &v], |r| User::read_with_hash(r)))
            .await
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
        let (p, c) = (pool.to_string(), connection.to_string());
        let (e, ph) = (email.map(str::to_string), phone.map(str::to_string));
        self.call(move |db| {
            let found = db.rows(q::MATCH_CANDIDATES, &[&p, &e, &ph], |r| {
                User::read_with_hash(r)
            })?;
            let mut out = Vec::with_capacity(found.len());
            for (user, hash) in found {
                let bound = db.row(q::BOUND_HERE, &[&p, &c, &user.id], one)?;
                out.push(Candidate {
                    user,
                    has_password: hash.is_some(),
                    bound_here: bound.is_some(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn link_identity(
        &self,
        pool: &str,
        user_id: &str,
        i: &Identity,
        ticket_hash: Option<&str>,
        now: i64,
    ) -> Result<Link, StoreError> {
        let (p, uid, i) = (pool.to_string(), user_id.to_string(), i.clone());
        let ticket_hash = ticket_hash.map(str::to_string);
        self.call(move |db| {
            db.atomic(|db| {
                if let Some(hash) = &ticket_hash {
                    if db.exec(q::CONSUME_TICKET, &[hash, &now])? == 0 {
                        return Ok(Link::TicketGone);
                    }
                }
                let bound = db.exec(
                    q::LINK_IDENTITY,
                    &[
                        &p,
                        &i.connection,
                        &i.subject,
                        &uid,
                        &i.client_id,
                        &i.union_id,
                        &i.created_at,
                    ],
                )?;
                if bound == 1 {
                    return Ok(Link::Linked);
                }
                let owner: Option<String> =
                    db.row(q::IDENTITY_OWNER, &[&p, &i.connection, &i.subject], |r| {
                        Ok(r.get(0)?)
                    })?;
                match owner {
                    Some(o) if o == uid => Ok(Link::AlreadyLinked),
                    Some(_) => Ok(Link::LinkedToOther),
                    None => {
                        let exists = db.row(q::USER_EXISTS, &[&uid, &p], one)?;
                        db.undo();
                        match exists {
                            // Nothing bound and the ticket stays usable: the person may prove
                            // another account.
                            Some(()) => Ok(Link::UserHasOther),
                            None => Err(StoreError::Invalid(format!("no user {uid} in pool {p}"))),
                        }
                    }
                }
            })
        })
        .await
    }

    async fn identities_of(&self, pool: &str, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let (p, id) = (pool.to_string(), user_id.to_string());
        self.call(move |db| db.rows(q::IDENTITIES_OF_USER, &[&p, &id], |r| Identity::read(r)))
            .await
    }

    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        connection: &str,
    ) -> Result<u64, StoreError> {
        let (p, id, c) = (
            pool.to_string(),
            user_id.to_string(),
            connection.to_string(),
        );
        self.call(move |db| Ok(db.exec(q::UNLINK_IDENTITY, &[&p, &id, &c])? as u64))
            .await
    }

    async fn set_disabled(
        &self,
        pool: &str,
        user_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (p, id) = (pool.to_string(), user_id.to_string());
        self.call(move |db| Ok(db.exec(q::SET_DISABLED, &[&p, &id, &disabled, &now])? == 1))
            .await
    }

    async fn delete_user(&self, pool: &str, user_id: &str) -> Result<bool, StoreError> {
        let (p, id) = (pool.to_string(), user_id.to_string());
        self.call(move |db| {
            db.atomic(|db| {
                db.exec(q::DELETE_IDENTITIES_OF_USER, &[&p, &id])?;
                db.exec(q::DELETE_FAILURES_OF_USER, &[&p, &id])?;
                Ok(db.exec(q::DELETE_USER, &[&p, &id])? == 1)
            })
        })
        .await
    }

    async fn account_failures(&self, user_id: &str, since: i64) -> Result<i64, StoreError> {
        let id = user_id.to_string();
        self.call(move |db| {
            Ok(db
                .row(q::ACCOUNT_FAILURES, &[&id, &since], int)?
                .unwrap_or(0))
        })
        .await
    }

    async fn record_account_failure(
        &self,
        user_id: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<i64, StoreError> {
        let id = user_id.to_string();
        self.call(move |db| {
            db.row(
                q::RECORD_ACCOUNT_FAILURE,
                &[&id, &now, &(now - window_secs)],
                int,
            )?
            .ok_or_else(|| StoreError::Invalid("upsert … RETURNING gave no row".into()))
        })
        .await
    }

    async fn clear_account_failures(&self, user_id: &str) -> Result<(), StoreError> {
        let id = user_id.to_string();
        self.call(move |db| db.exec(q::CLEAR_ACCOUNT_FAILURES, &[&id]).map(drop))
            .await
    }
}

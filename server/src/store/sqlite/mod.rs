//! SQLite (the default): a file under the data dir, WAL, one connection owned by the store's own
//! thread ([`worker`]), statements run in that thread through rusqlite with the SQL text of
//! [`super::queries`] (the same as PostgreSQL's) and the same migrations ([`migrate`]).
//!
//! One connection is what SQLite wants from one process: it runs one writer at a time, and a
//! second connection that wants to write meanwhile gets `SQLITE_BUSY` and sleeps in SQLite's busy
//! handler (1, 2, 5, 10… ms). Queueing in the process instead, and committing what queued up
//! together, is what took a login's store cost from ~0.3 ms to tens of µs (docs/performance.md).
//! Other processes (the CLI while `serve` runs) still share the file safely: every batch starts
//! with `BEGIN IMMEDIATE` and waits for their lock for up to 10 s.

mod migrate;
mod worker;

use super::queries as q;
use super::users::with_identities;
use super::*;
use rusqlite::{Connection, Row};
use worker::{Db, Worker};

/// The SQLite store.
pub struct SqliteStore {
    worker: Worker,
    sweep: Sweep,
}

impl SqliteStore {
    /// Opens (creating the file 0600 and its folder 0700, `files::prepare`), migrates and starts
    /// the store's thread.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target = files::sqlite_target(url).map_err(StoreError::Invalid)?;
        files::prepare(url).map_err(|e| StoreError::Invalid(format!("{url}: {e}")))?;
        let mut conn = match target {
            files::SqliteTarget::Memory => Connection::open_in_memory()?,
            files::SqliteTarget::File(path) => Connection::open(path)?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(96);
        migrate::run(&mut conn)?;
        let worker = Worker::start(conn).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(Self {
            worker,
            sweep: Sweep::default(),
        })
    }

    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.worker.call(f).await
    }
}

fn one(_: &Row) -> Result<(), StoreError> {
    Ok(())
}

fn int(r: &Row) -> Result<i64, StoreError> {
    Ok(r.get(0)?)
}

/// A unique-constraint failure, named by the column it is about. Other constraint failures
/// (NOT NULL, foreign key) are not a taken value and stay what they are, as on PostgreSQL.
fn taken(e: StoreError) -> StoreError {
    match &e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, Some(m)))
            if matches!(
                f.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            StoreError::Taken(taken_field(m))
        }
        _ => e,
    }
}

#[async_trait]
impl Attempts for SqliteStore {
    async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError> {
        let sweep = self.sweep.due(now);
        let a = a.clone();
        self.call(move |db| {
            if sweep {
                db.exec(q::SWEEP_ATTEMPTS, &[&(now - q::ATTEMPT_GRACE_SECS)])?;
            }
            db.exec(
                q::INSERT_ATTEMPT,
                &[
                    &a.state_hash,
                    &a.binding_hash,
                    &a.dest.pool,
                    &a.connection,
                    &a.dest.app,
                    &a.dest.origin,
                    &a.dest.mode,
                    &a.dest.redirect_uri,
                    &a.dest.attempt,
                    &a.created_at,
                    &a.expires_at,
                ],
            )
            .map_err(|e| match taken(e) {
                StoreError::Taken(_) => StoreError::Taken("attempt"),
                e => e,
            })?;
            Ok(())
        })
        .await
    }

    async fn consume_attempt(&self, state_hash: &str, now: i64) -> Result<Consumed, StoreError> {
        let hash = state_hash.to_string();
        self.call(move |db| {
            if let Some(a) = db.row(q::CONSUME_ATTEMPT, &[&hash, &now], |r| Attempt::read(r))? {
                return Ok(a.consumed(now));
            }
            Ok(match db.row(q::ATTEMPT_SEEN, &[&hash], one)? {
                Some(()) => Consumed::Replayed,
                None => Consumed::Unknown,
            })
        })
        .await
    }

    async fn pending_attempts(&self, now: i64) -> Result<i64, StoreError> {
        self.call(move |db| Ok(db.row(q::PENDING_ATTEMPTS, &[&now], int)?.unwrap_or(0)))
            .await
    }
}

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

#[async_trait]
impl Tickets for SqliteStore {
    async fn insert_ticket(&self, t: &Ticket, now: i64) -> Result<(), StoreError> {
        let t = t.clone();
        self.call(move |db| {
            db.exec(q::SWEEP_TICKETS, &[&(now - q::TICKET_GRACE_SECS)])?;
            db.exec(
                q::INSERT_TICKET,
                &[
                    &t.ticket_hash,
                    &t.csrf_hash,
                    &t.dest.pool,
                    &t.connection,
                    &t.subject,
                    &t.client_id,
                    &t.union_id,
                    &t.nickname,
                    &t.avatar,
                    &t.dest.app,
                    &t.dest.attempt,
                    &t.dest.origin,
                    &t.dest.mode,
                    &t.dest.redirect_uri,
                    &t.matched,
                    &t.failures,
                    &t.created_at,
                    &t.expires_at,
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError> {
        let h = ticket_hash.to_string();
        self.call(move |db| db.row(q::TICKET, &[&h], |r| Ticket::read(r)))
            .await
    }

    async fn ticket_try(
        &self,
        ticket_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let h = ticket_hash.to_string();
        self.call(move |db| db.row(q::TICKET_TRY, &[&h, &max, &now], int))
            .await
    }

    async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError> {
        let h = ticket_hash.to_string();
        self.call(move |db| Ok(db.exec(q::CONSUME_TICKET, &[&h, &now])? == 1))
            .await
    }

    async fn insert_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (h, p, c) = (
            ticket_hash.to_string(),
            pool.to_string(),
            connection.to_string(),
        );
        self.call(move |db| {
            db.exec(q::SWEEP_TRY_TICKETS, &[&now])?;
            db.exec(q::INSERT_TRY_TICKET, &[&h, &p, &c, &expires_at])
                .map(drop)
        })
        .await
    }

    async fn redeem_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (h, p, c) = (
            ticket_hash.to_string(),
            pool.to_string(),
            connection.to_string(),
        );
        self.call(move |db| Ok(db.exec(q::REDEEM_TRY_TICKET, &[&h, &p, &c, &now])? == 1))
            .await
    }
}

#[async_trait]
impl SigningKeys for SqliteStore {
    async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError> {
        let (p, k) = (pool.to_string(), first.clone());
        self.call(move |db| {
            db.exec(
                q::ENSURE_SIGNING_KEY,
                &[&p, &k.kid, &k.private_pem, &k.created_at, &k.activates_at],
            )
            .map(drop)
        })
        .await
    }

    async fn signing_keys(&self, pool: &str) -> Result<Vec<StoredKey>, StoreError> {
        let p = pool.to_string();
        self.call(move |db| db.rows(q::SIGNING_KEYS, &[&p], |r| StoredKey::read(r)))
            .await
    }

    async fn add_signing_key(&self, pool: &str, k: &StoredKey) -> Result<bool, StoreError> {
        let (p, k) = (pool.to_string(), k.clone());
        self.call(move |db| {
            let n = db.exec(
                q::ADD_SIGNING_KEY,
                &[
                    &p,
                    &k.seq,
                    &k.kid,
                    &k.private_pem,
                    &k.created_at,
                    &k.activates_at,
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_signing_key(&self, pool: &str, kid: &str) -> Result<bool, StoreError> {
        let (p, kid) = (pool.to_string(), kid.to_string());
        self.call(move |db| Ok(db.exec(q::DELETE_SIGNING_KEY, &[&p, &kid])? == 1))
            .await
    }

    async fn replace_signing_key_pem(
        &self,
        pool: &str,
        kid: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let args = [pool, kid, old, new].map(str::to_owned);
        self.call(move |db| {
            let [p, k, o, n] = &args;
            Ok(db.exec(q::REPLACE_SIGNING_KEY_PEM, &[p, k, o, n])? == 1)
        })
        .await
    }
}

#[async_trait]
impl Lifecycle for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.call(|db| db.row(q::PING, &[], one).map(drop)).await
    }

    async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        self.call(|db| {
            db.row(q::COUNTS, &[], |r| {
                Ok((r.get("u")?, r.get("i")?, r.get("a")?))
            })?
            .ok_or_else(|| StoreError::Invalid("COUNT gave no row".into()))
        })
        .await
    }

    fn counters(&self) -> Option<StoreCounters> {
        let c = &self.worker.counters;
        Some(StoreCounters {
            statements: c.statements.load(std::sync::atomic::Ordering::Relaxed),
            commits: c.commits.load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    async fn close(&self) {
        self.worker.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_unique_or_primary_key_failure_is_a_taken_value() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE u (id TEXT PRIMARY KEY, email TEXT UNIQUE, nickname TEXT NOT NULL)",
        )
        .unwrap();
        let insert = |id: &str, email: &str, nickname: Option<&str>| {
            conn.execute(
                "INSERT INTO u (id, email, nickname) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, email, nickname],
            )
            .map_err(StoreError::from)
        };
        insert("a", "a@x.com", Some("A")).unwrap();
        let taken_err = |e: Result<usize, StoreError>| taken(e.unwrap_err());
        assert!(matches!(
            taken_err(insert("b", "a@x.com", Some("B"))),
            StoreError::Taken("email")
        ));
        assert!(matches!(
            taken_err(insert("a", "c@x.com", Some("C"))),
            StoreError::Taken(_)
        ));
        let not_null = taken_err(insert("d", "d@x.com", None));
        assert!(matches!(not_null, StoreError::Sqlite(_)), "{not_null:?}");
    }
}

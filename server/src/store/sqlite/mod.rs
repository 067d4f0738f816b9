//! SQLite (the default): a file under the data dir, WAL, one connection owned by the store's own
//! thread ([`worker`]), statements run in that thread through rusqlite with the SQL text of
//! [`super::queries`] (the same as PostgreSQL's) and the same migrations ([`migrate`]). One file
//! per role trait ([`attempts`], [`codes`], [`users`], [`tickets`], [`keys`]); opening, and [`Lifecycle`], here.
//!
//! One connection is what SQLite wants from one process: it runs one writer at a time, and a
//! second connection that wants to write meanwhile gets `SQLITE_BUSY` and sleeps in SQLite's busy
//! handler (1, 2, 5, 10… ms). Queueing in the process instead, and committing what queued up
//! together, is what took a login's store cost from ~0.3 ms to tens of µs (docs/performance.md).
//! Other processes (the CLI while `serve` runs) still share the file safely: every batch starts
//! with `BEGIN IMMEDIATE` and waits for their lock for up to 10 s.

mod attempts;
mod codes;
mod keys;
mod migrate;
mod tickets;
mod users;
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
    /// The sweep of expired codes and OpenID Connect requests (`codes`).
    code_sweep: Sweep,
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
            code_sweep: Sweep::default(),
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

//! The database's schema against this binary's migrations, and who may change it. `milogin check`
//! only reads ([`inspect`]: a read-only connection, nothing created, nothing migrated), so a new
//! version's `check` before an upgrade, or a unit's `ExecStartPre`, never migrates a database that
//! older replicas still use. `milogin migrate` ([`migrate`]) and `serve` (through [`super::open`])
//! apply what is missing.

use super::files::{sqlite_target, SqliteTarget};
use super::{queries as q, StoreError};
pub use crate::config::Database;
use std::collections::BTreeMap;
use std::path::Path;

/// One migration of this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its number (`0007_try_tickets.sql` → 7).
    pub version: i64,
    /// Its name (`try tickets`).
    pub description: String,
}

impl std::fmt::Display for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.version, self.description)
    }
}

/// The schema a database has, compared with the migrations built into this binary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// How many migrations the database records as applied.
    pub applied: usize,
    /// This binary's migrations the database does not have yet, oldest first.
    pub pending: Vec<Migration>,
    /// Applied migrations this binary does not know: a newer milogin migrated the database.
    pub unknown: Vec<i64>,
    /// A migration that failed half-way, or one changed after it was applied.
    pub broken: Vec<String>,
}

/// The newest migration built into this binary (the schema it writes).
pub fn latest() -> i64 {
    sqlx::migrate!()
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default()
}

impl Schema {
    /// Compares `(version, checksum, success)` rows of `_sqlx_migrations` with this binary's.
    fn compare(rows: &[(i64, Vec<u8>, bool)]) -> Self {
        let migrator = sqlx::migrate!();
        let ours: BTreeMap<i64, &sqlx::migrate::Migration> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| (m.version, m))
            .collect();
        let mut s = Self {
            applied: rows.iter().filter(|(_, _, ok)| *ok).count(),
            ..Self::default()
        };
        for (version, checksum, success) in rows {
            match ours.get(version) {
                None => s.unknown.push(*version),
                Some(_) if !success => s.broken.push(format!(
                    "migration {version} failed half-way (the database is \"dirty\"): restore the backup taken before the upgrade"
                )),
                Some(m) if m.checksum.as_ref() != checksum.as_slice() => s.broken.push(format!(
                    "migration {version} was changed after it was applied: this binary's copy differs from the one the database ran; use the milogin release that applied it"
                )),
                Some(_) => {}
            }
        }
        s.pending = ours
            .values()
            .filter(|m| !rows.iter().any(|(v, _, _)| *v == m.version))
            .map(|m| Migration {
                version: m.version,
                description: m.description.to_string(),
            })
            .collect();
        s
    }

    /// True when the database has no table of ours yet (a new database).
    pub fn is_empty(&self) -> bool {
        self.applied == 0 && self.unknown.is_empty() && self.broken.is_empty()
    }

    /// What stops this binary from using the database as it is, with what to do; `None` when it
    /// can be used (up to date, or missing migrations that `migrate` applies).
    pub fn refusal(&self) -> Option<String> {
        if let Some(v) = self.unknown.first() {
            return Some(format!(
                "this database was migrated by a newer milogin (migration {v} is unknown to this one, which knows up to {}): run that version, or restore a backup from before it",
                latest()
            ));
        }
        self.broken.first().cloned()
    }
}

/// The schema and the `(pool, connection)` pairs users are bound to, read through a read-only
/// connection: nothing is created or written (a SQLite file that does not exist is not created:
/// `Ok(None)`).
pub async fn inspect(
    db: &Database<'_>,
) -> Result<Option<(Schema, Vec<(String, String)>)>, StoreError> {
    if db.is_postgres() {
        return pg_inspect(db).await.map(Some);
    }
    let target = sqlite_target(db.url).map_err(StoreError::Invalid)?;
    let SqliteTarget::File(path) = target else {
        // An in-memory database is always new.
        return Ok(Some((Schema::compare(&[]), Vec::new())));
    };
    if !path.is_file() {
        return Ok(None);
    }
    tokio::task::spawn_blocking(move || sqlite_inspect(&path))
        .await
        .map_err(|e| StoreError::Invalid(e.to_string()))?
        .map(Some)
}

fn sqlite_inspect(path: &Path) -> Result<(Schema, Vec<(String, String)>), StoreError> {
    use rusqlite::OpenFlags;
    // A read-only connection still creates the `-wal` and `-shm` files of a WAL database (and
    // cannot remove them). Without them, no connection has the file open and everything is in
    // the main file: read it as immutable, which creates nothing. (A server starting meanwhile
    // writes its WAL beside it: at worst this read misses what it just wrote.)
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    let idle = !Path::new(&name).exists();
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if idle {
        const URI: &percent_encoding::AsciiSet =
            &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');
        let path = path.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{}: the path is not UTF-8", path.display()))
        })?;
        let uri = format!(
            "file:{}?immutable=1",
            percent_encoding::utf8_percent_encode(path, URI)
        );
        rusqlite::Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)?
    } else {
        rusqlite::Connection::open_with_flags(path, flags)?
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let has = |table: &str| -> Result<bool, rusqlite::Error> {
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |r| r.get(0),
        )
    };
    let rows: Vec<(i64, Vec<u8>, bool)> = if has("_sqlx_migrations")? {
        conn.prepare("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let bound = if has("identities")? {
        conn.prepare(q::BOUND_CONNECTIONS)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    Ok((Schema::compare(&rows), bound))
}

/// The connection settings of `db`: its URL, the password kept out of it, and
/// `client_min_messages = warning` (sqlx creates its bookkeeping table with `IF NOT EXISTS`
/// before every migration run, and PostgreSQL answers each with a NOTICE that would land in
/// every command's log: `relation "_sqlx_migrations" already exists`).
pub(super) fn connect_options(
    db: &Database<'_>,
) -> Result<sqlx::postgres::PgConnectOptions, StoreError> {
    use secrecy::ExposeSecret;
    let mut options: sqlx::postgres::PgConnectOptions = db.url.parse()?;
    if let Some(password) = db.password {
        options = options.password(password.expose_secret());
    }
    Ok(options.options([("client_min_messages", "warning")]))
}

async fn pg_inspect(db: &Database<'_>) -> Result<(Schema, Vec<(String, String)>), StoreError> {
    use sqlx::{Connection, Row};
    // Every transaction of this session is read-only: PostgreSQL itself refuses a write.
    let options = connect_options(db)?.options([("default_transaction_read_only", "on")]);
    let mut conn = sqlx::PgConnection::connect_with(&options).await?;
    let has = |table: &'static str| format!("SELECT to_regclass('{table}') IS NOT NULL AS has");
    let migrations: bool = sqlx::query(&has("_sqlx_migrations"))
        .fetch_one(&mut conn)
        .await?
        .try_get("has")?;
    let rows: Vec<(i64, Vec<u8>, bool)> = if migrations {
        sqlx::query("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()?
    } else {
        Vec::new()
    };
    let identities: bool = sqlx::query(&has("identities"))
        .fetch_one(&mut conn)
        .await?
        .try_get("has")?;
    let bound = if identities {
        sqlx::query(q::BOUND_CONNECTIONS)
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("pool")?, r.try_get("connection")?)))
            .collect::<Result<_, sqlx::Error>>()?
    } else {
        Vec::new()
    };
    conn.close().await?;
    Ok((Schema::compare(&rows), bound))
}

/// Applies the migrations the database does not have yet (`milogin migrate`) and returns them;
/// refuses a database a newer milogin migrated, or one with a broken migration, before writing.
pub async fn migrate(db: &Database<'_>) -> Result<Vec<Migration>, StoreError> {
    let before = inspect(db).await?.map(|(s, _)| s);
    if let Some(refusal) = before.as_ref().and_then(Schema::refusal) {
        return Err(StoreError::Invalid(refusal));
    }
    let store = super::open_with(db).await?;
    store.close().await;
    Ok(before.map_or_else(|| Schema::compare(&[]).pending, |s| s.pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<(i64, Vec<u8>, bool)> {
        sqlx::migrate!()
            .iter()
            .map(|m| (m.version, m.checksum.to_vec(), true))
            .collect()
    }

    #[test]
    fn a_schema_is_new_pending_current_newer_or_broken() {
        let new = Schema::compare(&[]);
        assert!(new.is_empty() && new.refusal().is_none());
        assert_eq!(new.pending.len(), ours().len());
        assert_eq!(new.pending.last().map(|m| m.version), Some(latest()));

        let current = Schema::compare(&ours());
        assert!(current.pending.is_empty() && current.refusal().is_none());

        let mut older = ours();
        older.pop();
        let s = Schema::compare(&older);
        assert_eq!(s.pending.len(), 1);
        assert_eq!(s.pending[0].version, latest());
        assert!(s.refusal().is_none() && !s.is_empty());

        let mut newer = ours();
        newer.push((latest() + 1, vec![0], true));
        let e = Schema::compare(&newer).refusal().unwrap();
        assert!(e.contains("newer milogin") && e.contains("backup"), "{e}");

        let mut edited = ours();
        edited[0].1 = vec![1, 2, 3];
        let e = Schema::compare(&edited).refusal().unwrap();
        assert!(e.contains("changed after it was applied"), "{e}");

        let mut dirty = ours();
        dirty.last_mut().unwrap().2 = false;
        let e = Schema::compare(&dirty).refusal().unwrap();
        assert!(e.contains("dirty"), "{e}");
    }
}

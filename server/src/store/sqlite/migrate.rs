//! Migrations for SQLite: the same embedded files as PostgreSQL's (`server/migrations/`, through
//! `sqlx::migrate!`), applied by rusqlite and recorded in sqlx's own `_sqlx_migrations` table with
//! sqlx's checksums, so a database written by an earlier milogin (which migrated SQLite through
//! sqlx) carries on, and the same refusals apply: a half-applied migration, an applied one that
//! was edited, or one this binary does not know (a newer milogin migrated the file).

use super::super::StoreError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use sqlx::migrate::MigrateError;

/// sqlx's bookkeeping table, as sqlx-sqlite creates it.
const TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// Applies every migration not applied yet, each in its own transaction.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let migrator = sqlx::migrate!();
    conn.execute_batch(TABLE)?;
    let dirty: Option<i64> = conn
        .query_row(
            "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(v) = dirty {
        return Err(MigrateError::Dirty(v).into());
    }
    let applied: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (version, checksum) in &applied {
        match migrator.iter().find(|m| m.version == *version) {
            None => {
                return Err(StoreError::Invalid(format!(
                    "this database was migrated by a newer milogin (migration {version} is unknown to this one): run that version, or restore a backup from before it"
                )))
            }
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(MigrateError::VersionMismatch(*version).into())
            }
            Some(_) => {}
        }
    }
    for m in migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        if applied.iter().any(|(v, _)| *v == m.version) {
            continue;
        }
        if m.no_tx {
            return Err(StoreError::Invalid(format!(
                "migration {} ({}) asks to run outside a transaction, which the SQLite store does not do",
                m.version, m.description
            )));
        }
        let started = std::time::Instant::now();
        // Immediate: the write lock first, then a second look, so a `milogin` command started
        // with the server does not apply the same migration twice.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = ?1)",
            [m.version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        tx.execute_batch(&m.sql).map_err(|e| {
            StoreError::Invalid(format!(
                "migration {} ({}) failed and was not applied, the database is as it was: {e}",
                m.version, m.description
            ))
        })?;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![
                m.version,
                m.description.as_ref(),
                m.checksum.as_ref(),
                i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)
            ],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_again_is_a_no_op_and_a_newer_schema_is_refused_with_what_to_do() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM _sqlx_migrations", [], |r| r.get(0))
                .unwrap()
        };
        let applied = count(&conn);
        assert_eq!(applied, sqlx::migrate!().iter().count() as i64);
        run(&mut conn).unwrap();
        assert_eq!(count(&conn), applied);

        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (99990101000000, 'from the future', TRUE, x'00', 0)",
            [],
        )
        .unwrap();
        let e = run(&mut conn).unwrap_err().to_string();
        assert!(
            e.contains("newer milogin") && e.contains("99990101000000") && e.contains("backup"),
            "{e}"
        );
    }
}

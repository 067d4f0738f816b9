//! The benchmark's database, empty at the start of every run: a SQLite file in the run's
//! temporary folder, or a scratch PostgreSQL database (`milogin_bench_<pid>`) created on the
//! server of `--database-url` and dropped at the end. Also the `--users N` pre-population (after
//! the server's migrations created the schema) and the row counts of the report.
//!
//! SQLite is reached through rusqlite (the bench links no sqlx SQLite driver), PostgreSQL through
//! sqlx.

use crate::login::{CONN, POOL};
use base64::Engine as _;
use clap::ValueEnum;
use milogin_server::mock_xiaomi::DEMO_CLIENT_ID;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Pre-populated rows per transaction (SQLite) or per `INSERT … SELECT` (PostgreSQL): progress
/// every batch, bounded WAL growth.
const BATCH: u64 = 100_000;

/// Which database `milogin serve` runs on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// A SQLite file in the run's temporary folder.
    Sqlite,
    /// A scratch database on the PostgreSQL server of `--database-url`.
    Postgres,
}

impl StoreKind {
    /// The name in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// The run's database.
pub enum Db {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A scratch PostgreSQL database, dropped on drop unless kept.
    Postgres(Scratch),
}

impl Db {
    /// A SQLite file at `path` (created by the server's migrations).
    pub fn sqlite(path: PathBuf) -> Self {
        Db::Sqlite(path)
    }

    /// Creates the empty database `milogin_bench_<pid>` on the server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> Result<Self, String> {
        let name = format!("milogin_bench_{}", std::process::id());
        let url = database_url(admin_url, &name)?;
        let mut c = pg_connect(admin_url).await?;
        // Left over by a run of a process with the same pid that was killed: not ours to keep.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(&sql)
                .execute(&mut c)
                .await
                .map_err(|e| format!("PostgreSQL: `{sql}`: {e}"))?;
        }
        let _ = sqlx::Connection::close(c).await;
        eprintln!("PostgreSQL: created the scratch database {name}");
        Ok(Db::Postgres(Scratch {
            admin_url: admin_url.to_owned(),
            name,
            url,
            keep: false,
        }))
    }

    /// The `database_url` of the server's configuration.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres(s) => s.url.clone(),
        }
    }

    /// Leaves a PostgreSQL database in place (`--keep`); says where it is.
    pub fn keep(&mut self) {
        if let Db::Postgres(s) = self {
            s.keep = true;
            eprintln!("kept the PostgreSQL database {}", s.name);
        }
    }

    /// Creates the schema with the server's own migrations, then writes `n` users, each with a
    /// Xiaomi identity on the benchmark's connection. Runs before the server starts.
    pub async fn prepopulate(&self, n: u64) -> Result<(), String> {
        let store = milogin_server::store::open(&self.url())
            .await
            .map_err(|e| format!("opening the store (migrations): {e}"))?;
        store.close().await;
        let started = Instant::now();
        match self {
            Db::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || sqlite_prepopulate(&path, n))
                    .await
                    .map_err(|e| format!("pre-populating users: {e}"))??;
            }
            Db::Postgres(s) => pg_prepopulate(&s.url, n).await?,
        }
        eprintln!(
            "pre-populated {n} users in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The PostgreSQL cluster's postmaster, when it runs on this machine and the bench may see
    /// it (`SHOW data_directory` needs a superuser or `pg_read_all_settings`): its process tree's
    /// CPU is the store's cost, outside the server's process. `None` for SQLite (in-process).
    pub async fn cluster_pid(&self) -> Option<u32> {
        let Db::Postgres(s) = self else { return None };
        let mut c = pg_connect(&s.url).await.ok()?;
        let dir: Result<String, _> = sqlx::query_scalar("SHOW data_directory")
            .fetch_one(&mut c)
            .await;
        let _ = sqlx::Connection::close(c).await;
        let pidfile = std::fs::read_to_string(Path::new(&dir.ok()?).join("postmaster.pid")).ok()?;
        let pid: u32 = pidfile.lines().next()?.trim().parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "postgres").then_some(pid)
    }

    /// `(users, identities)` in the database now; `(-1, -1)` when it cannot be read.
    pub async fn rows(&self) -> (i64, i64) {
        const COUNT: &str =
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM identities)";
        match self {
            Db::Sqlite(path) => {
                let path = path.clone();
                let read = move || {
                    let c = rusqlite::Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )?;
                    c.query_row(COUNT, [], |r| Ok((r.get(0)?, r.get(1)?)))
                };
                tokio::task::spawn_blocking(read)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or((-1, -1))
            }
            Db::Postgres(s) => {
                let Ok(mut c) = pg_connect(&s.url).await else {
                    return (-1, -1);
                };
                let r = sqlx::query_as::<_, (i64, i64)>(COUNT)
                    .fetch_one(&mut c)
                    .await;
                let _ = sqlx::Connection::close(c).await;
                r.unwrap_or((-1, -1))
            }
        }
    }
}

/// A scratch PostgreSQL database; dropped (`WITH (FORCE)`) when this is, unless kept.
pub struct Scratch {
    admin_url: String,
    name: String,
    url: String,
    keep: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // Drop runs inside the async runtime: a thread with its own runtime does the round trip.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut c = pg_connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = sqlx::Connection::close(c).await;
                Ok::<(), String>(())
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_owned()) {
            eprintln!(
                "warning: could not drop the scratch database {}: {e}",
                self.name
            );
        }
    }
}

async fn pg_connect(url: &str) -> Result<sqlx::PgConnection, String> {
    <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .map_err(|e| format!("PostgreSQL at --database-url: {e}"))
}

/// `admin_url` with its database replaced by `name` (user, host, port and parameters kept).
pub fn database_url(admin_url: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(admin_url).map_err(|e| {
        format!(
            "--database-url is not a URL ({e}); e.g. postgres://postgres@127.0.0.1:5432/postgres"
        )
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") || url.host().is_none() {
        return Err("--database-url must be postgres://USER@HOST:PORT/DATABASE (the bench creates and drops its own database on that server)".into());
    }
    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

/// The id of pre-populated user `i`: shaped like the server's (`u_` + 22 base64url characters,
/// scattered over the key space like random ids), distinct from every id the server draws.
/// `pg_prepopulate` computes the same in SQL.
pub fn prepopulated_user_id(i: u64) -> String {
    let digest = Sha256::digest(format!("pre{i}"));
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("u_{}", &b64[..22])
}

/// The Xiaomi openId of pre-populated user `i`: never one of the mock's accounts
/// (`2.0bench…`), so the measured flows never log in as a pre-populated user.
pub fn prepopulated_subject(i: u64) -> String {
    format!("2.0pre{i:012}")
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// rusqlite: prepared statements, one transaction per [`BATCH`] users.
fn sqlite_prepopulate(path: &Path, n: u64) -> Result<(), String> {
    let e = |e: rusqlite::Error| format!("pre-populating users: {e}");
    let mut c = rusqlite::Connection::open(path).map_err(e)?;
    c.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;")
        .map_err(e)?;
    let now = unix_now();
    for start in (0..n).step_by(BATCH as usize) {
        let tx = c.transaction().map_err(e)?;
        {
            let mut user = tx.prepare("INSERT INTO users (id, pool, nickname, avatar, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)").map_err(e)?;
            let mut identity = tx.prepare("INSERT INTO identities (pool, connection, subject, user_id, client_id, union_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)").map_err(e)?;
            for i in start..(start + BATCH).min(n) {
                let id = prepopulated_user_id(i);
                user.execute(rusqlite::params![
                    id,
                    POOL,
                    format!("Existing User {i}"),
                    format!("https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/pre{i}.jpg"),
                    now
                ])
                .map_err(e)?;
                identity
                    .execute(rusqlite::params![
                        POOL,
                        CONN,
                        prepopulated_subject(i),
                        id,
                        DEMO_CLIENT_ID,
                        format!("upre{i:012}"),
                        now
                    ])
                    .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
    }
    Ok(())
}

/// The user id of row `i` in SQL: the same value as [`prepopulated_user_id`].
const PG_USER_ID: &str = "'u_' || translate(left(encode(sha256(convert_to('pre' || i, 'UTF8')), 'base64'), 22), '+/', '-_')";

/// sqlx: one `INSERT … SELECT … FROM generate_series` per table and [`BATCH`] users, in one
/// transaction; then `VACUUM ANALYZE`, so autovacuum does not start during a level and the planner
/// knows the tables' size, as on a database that grew to this size.
async fn pg_prepopulate(url: &str, n: u64) -> Result<(), String> {
    let e = |e: sqlx::Error| format!("pre-populating users: {e}");
    let mut c = pg_connect(url).await?;
    let users = format!(
        "INSERT INTO users (id, pool, nickname, avatar, created_at, updated_at) \
         SELECT {PG_USER_ID}, $1, 'Existing User ' || i, \
                'https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/pre' || i || '.jpg', $2, $2 \
         FROM generate_series($3::bigint, $4::bigint) AS i"
    );
    let identities = format!(
        "INSERT INTO identities (pool, connection, subject, user_id, client_id, union_id, created_at) \
         SELECT $1, $5, '2.0pre' || lpad(i::text, 12, '0'), {PG_USER_ID}, $6, \
                'upre' || lpad(i::text, 12, '0'), $2 \
         FROM generate_series($3::bigint, $4::bigint) AS i"
    );
    let now = unix_now();
    let mut tx = sqlx::Connection::begin(&mut c).await.map_err(e)?;
    for start in (0..n).step_by(BATCH as usize) {
        let last = ((start + BATCH).min(n) - 1) as i64;
        sqlx::query(&users)
            .bind(POOL)
            .bind(now)
            .bind(start as i64)
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
        sqlx::query(&identities)
            .bind(POOL)
            .bind(now)
            .bind(start as i64)
            .bind(last)
            .bind(CONN)
            .bind(DEMO_CLIENT_ID)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
    }
    tx.commit().await.map_err(e)?;
    sqlx::query("VACUUM ANALYZE users, identities")
        .execute(&mut c)
        .await
        .map_err(e)?;
    let _ = sqlx::Connection::close(c).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{database_url, prepopulated_subject, prepopulated_user_id};

    #[test]
    fn the_scratch_database_replaces_only_the_database_name() {
        assert_eq!(
            database_url(
                "postgres://postgres@127.0.0.1:5432/postgres",
                "milogin_bench_7"
            )
            .unwrap(),
            "postgres://postgres@127.0.0.1:5432/milogin_bench_7"
        );
        assert_eq!(
            database_url("postgresql://u:p%40ss@db:6543?sslmode=disable", "b").unwrap(),
            "postgresql://u:p%40ss@db:6543/b?sslmode=disable"
        );
        for bad in ["sqlite:///tmp/x.db", "not a url", "postgres:///postgres"] {
            let e = database_url(bad, "b").unwrap_err();
            assert!(e.contains("--database-url"), "{bad}: {e}");
        }
    }

    #[test]
    fn prepopulated_rows_look_like_real_ones_and_never_collide_with_the_flows() {
        let id = prepopulated_user_id(0);
        assert_eq!(id.len(), 24, "{id}");
        assert!(id.starts_with("u_"));
        assert!(id[2..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(prepopulated_user_id(1), id);
        // The mock's accounts (what the flows log in as) are `2.0bench…`.
        assert_eq!(prepopulated_subject(42), "2.0pre000000000042");
        assert!(!prepopulated_subject(42).starts_with("2.0bench"));
    }
}

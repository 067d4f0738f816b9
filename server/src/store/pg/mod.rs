//! PostgreSQL: several replicas share one database through sqlx's connection pool. The SQL text
//! is [`super::queries`], the same as SQLite's. One file per role trait ([`attempts`], [`codes`], [`users`],
//! [`tickets`], [`keys`]); the connection, and [`Lifecycle`], here.

mod attempts;
mod codes;
mod keys;
mod tickets;
mod users;

use super::queries as q;
use super::users::with_identities;
use super::*;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::time::Duration;

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    sweep: Sweep,
    /// The sweep of expired codes and OpenID Connect requests (`codes`).
    code_sweep: Sweep,
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
            code_sweep: Sweep::default(),
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
impl Lifecycle for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(q::PING).execute(&mut *self.db().await?).await?;
        Ok(())
    }

    async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let r = sqlx::query(q::COUNTS)
            .fetch_one(&mut *self.db().await?)
            .await?;
        Ok((r.try_get("u")?, r.try_get("i")?, r.try_get("a")?))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

//! PostgreSQL's [`Attempts`]: record, consume (one `UPDATE … RETURNING`), count pending.

use super::*;

#[async_trait]
impl Attempts for PgStore {
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
            .bind(&a.dest.pool)
            .bind(&a.connection)
            .bind(&a.dest.app)
            .bind(&a.dest.origin)
            .bind(a.dest.mode)
            .bind(&a.dest.redirect_uri)
            .bind(&a.dest.attempt)
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
            return Ok(Attempt::read(&r)?.consumed(now));
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

    async fn pending_attempts(&self, now: i64) -> Result<i64, StoreError> {
        let r = sqlx::query(q::PENDING_ATTEMPTS)
            .bind(now)
            .fetch_one(&mut *self.db().await?)
            .await?;
        Ok(r.try_get("n")?)
    }
}

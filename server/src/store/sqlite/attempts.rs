//! SQLite's [`Attempts`]: record, consume (one `UPDATE … RETURNING`), count pending; each call
//! one job on the store's thread.

use super::*;

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

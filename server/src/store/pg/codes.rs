//! PostgreSQL's [`Codes`]: record, redeem (one `UPDATE … RETURNING`).

use super::*;
use crate::domain::AttemptId;

#[async_trait]
impl Codes for PgStore {
    async fn insert_code(&self, c: &Code) -> Result<(), StoreError> {
        sqlx::query(q::INSERT_CODE)
            .bind(&c.code_hash)
            .bind(&c.pool)
            .bind(&c.client)
            .bind(&c.redirect_uri)
            .bind(&c.challenge)
            .bind(&c.nonce)
            .bind(&c.scope)
            .bind(&c.user_id)
            .bind(&c.connection)
            .bind(c.auth_time)
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(c.redeemer.columns().0)
            .bind(c.redeemer.columns().1)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn find_code(&self, code_hash: &str) -> Result<Option<Code>, StoreError> {
        let row = sqlx::query(q::CODE)
            .bind(code_hash)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.map(|r| Code::read(&r)).transpose()?)
    }

    async fn redeem_code(&self, code_hash: &str, now: i64) -> Result<Redeemed, StoreError> {
        let row = sqlx::query(q::REDEEM_CODE)
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        if let Some(r) = row {
            return Ok(Code::read(&r)?.redeemed(now));
        }
        let seen = sqlx::query(q::CODE)
            .bind(code_hash)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(match seen {
            Some(r) => Redeemed::Reused(Code::read(&r)?),
            None => Redeemed::Unknown,
        })
    }

    async fn insert_oidc_request(&self, r: &OidcRequest, now: i64) -> Result<(), StoreError> {
        if self.code_sweep.due(now) {
            let grace = now - q::ATTEMPT_GRACE_SECS;
            for (sweep, before) in [(q::SWEEP_CODES, grace), (q::SWEEP_OIDC_REQUESTS, now)] {
                sqlx::query(sweep)
                    .bind(before)
                    .execute(&mut *self.db().await?)
                    .await?;
            }
        }
        sqlx::query(q::INSERT_OIDC_REQUEST)
            .bind(&r.attempt)
            .bind(&r.pool)
            .bind(&r.client)
            .bind(&r.redirect_uri)
            .bind(&r.state)
            .bind(&r.nonce)
            .bind(&r.challenge)
            .bind(&r.scope)
            .bind(r.expires_at)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn take_oidc_request(
        &self,
        attempt: &AttemptId,
        now: i64,
    ) -> Result<Option<OidcRequest>, StoreError> {
        let row = sqlx::query(q::TAKE_OIDC_REQUEST)
            .bind(attempt)
            .bind(now)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        row.map(|r| OidcRequest::read(&r)).transpose()
    }
}

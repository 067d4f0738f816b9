//! SQLite's [`Codes`]: record, redeem (one `UPDATE … RETURNING`); each call one job on the
//! store's thread.

use super::*;
use crate::domain::AttemptId;

#[async_trait]
impl Codes for SqliteStore {
    async fn insert_code(&self, c: &Code) -> Result<(), StoreError> {
        let c = c.clone();
        let (widget, new_user) = c.redeemer.columns();
        self.call(move |db| {
            db.exec(
                q::INSERT_CODE,
                &[
                    &c.code_hash,
                    &c.pool,
                    &c.client,
                    &c.redirect_uri,
                    &c.challenge,
                    &c.nonce,
                    &c.scope,
                    &c.user_id,
                    &c.connection,
                    &c.auth_time,
                    &c.created_at,
                    &c.expires_at,
                    &widget,
                    &new_user,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_code(&self, code_hash: &str) -> Result<Option<Code>, StoreError> {
        let hash = code_hash.to_string();
        self.call(move |db| db.row(q::CODE, &[&hash], |r| Code::read(r)))
            .await
    }

    async fn redeem_code(&self, code_hash: &str, now: i64) -> Result<Redeemed, StoreError> {
        let hash = code_hash.to_string();
        self.call(move |db| {
            if let Some(c) = db.row(q::REDEEM_CODE, &[&hash, &now], |r| Code::read(r))? {
                return Ok(c.redeemed(now));
            }
            Ok(match db.row(q::CODE, &[&hash], |r| Code::read(r))? {
                Some(c) => Redeemed::Reused(c),
                None => Redeemed::Unknown,
            })
        })
        .await
    }

    async fn insert_oidc_request(&self, r: &OidcRequest, now: i64) -> Result<(), StoreError> {
        let sweep = self.code_sweep.due(now);
        let r = r.clone();
        self.call(move |db| {
            if sweep {
                db.exec(q::SWEEP_CODES, &[&(now - q::ATTEMPT_GRACE_SECS)])?;
                db.exec(q::SWEEP_OIDC_REQUESTS, &[&now])?;
            }
            db.exec(
                q::INSERT_OIDC_REQUEST,
                &[
                    &r.attempt,
                    &r.pool,
                    &r.client,
                    &r.redirect_uri,
                    &r.state,
                    &r.nonce,
                    &r.challenge,
                    &r.scope,
                    &r.expires_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_oidc_request(
        &self,
        attempt: &AttemptId,
        now: i64,
    ) -> Result<Option<OidcRequest>, StoreError> {
        let attempt = attempt.clone();
        self.call(move |db| {
            db.row(q::TAKE_OIDC_REQUEST, &[&attempt, &now], |r| {
                OidcRequest::read(r)
            })
        })
        .await
    }
}

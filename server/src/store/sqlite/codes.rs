//! SQLite's [`Codes`]: record, redeem (one `UPDATE … RETURNING`); each call one job on the
//! store's thread.

use super::*;

#[async_trait]
impl Codes for SqliteStore {
    async fn insert_code(&self, c: &Code) -> Result<(), StoreError> {
        let c = c.clone();
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
                ],
            )?;
            Ok(())
        })
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
}

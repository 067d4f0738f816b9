//! SQLite's [`SigningKeys`]: each pool's keys; each call one job on the store's thread.

use super::*;

#[async_trait]
impl SigningKeys for SqliteStore {
    async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError> {
        let (p, k) = (pool.to_string(), first.clone());
        self.call(move |db| {
            db.exec(
                q::ENSURE_SIGNING_KEY,
                &[&p, &k.kid, &k.private_pem, &k.created_at, &k.activates_at],
            )
            .map(drop)
        })
        .await
    }

    async fn signing_keys(&self, pool: &str) -> Result<Vec<StoredKey>, StoreError> {
        let p = pool.to_string();
        self.call(move |db| db.rows(q::SIGNING_KEYS, &[&p], |r| StoredKey::read(r)))
            .await
    }

    async fn add_signing_key(&self, pool: &str, k: &StoredKey) -> Result<bool, StoreError> {
        let (p, k) = (pool.to_string(), k.clone());
        self.call(move |db| {
            let n = db.exec(
                q::ADD_SIGNING_KEY,
                &[
                    &p,
                    &k.seq,
                    &k.kid,
                    &k.private_pem,
                    &k.created_at,
                    &k.activates_at,
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_signing_key(&self, pool: &str, kid: &str) -> Result<bool, StoreError> {
        let (p, kid) = (pool.to_string(), kid.to_string());
        self.call(move |db| Ok(db.exec(q::DELETE_SIGNING_KEY, &[&p, &kid])? == 1))
            .await
    }

    async fn replace_signing_key_pem(
        &self,
        pool: &str,
        kid: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let args = [pool, kid, old, new].map(str::to_owned);
        self.call(move |db| {
            let [p, k, o, n] = &args;
            Ok(db.exec(q::REPLACE_SIGNING_KEY_PEM, &[p, k, o, n])? == 1)
        })
        .await
    }
}

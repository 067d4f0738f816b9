//! PostgreSQL's [`SigningKeys`]: each pool's keys, written so racing replicas keep one.

use super::*;

#[async_trait]
impl SigningKeys for PgStore {
    async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError> {
        // Racing replicas on an empty table both insert number 1: the primary key keeps one.
        sqlx::query(q::ENSURE_SIGNING_KEY)
            .bind(pool)
            .bind(&first.kid)
            .bind(&first.private_pem)
            .bind(first.created_at)
            .bind(first.activates_at)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn signing_keys(&self, pool: &str) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(q::SIGNING_KEYS)
            .bind(pool)
            .fetch_all(&mut *self.db().await?)
            .await?;
        rows.iter().map(StoredKey::read).collect()
    }

    async fn add_signing_key(&self, pool: &str, k: &StoredKey) -> Result<bool, StoreError> {
        let n = sqlx::query(q::ADD_SIGNING_KEY)
            .bind(pool)
            .bind(k.seq)
            .bind(&k.kid)
            .bind(&k.private_pem)
            .bind(k.created_at)
            .bind(k.activates_at)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn delete_signing_key(&self, pool: &str, kid: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(q::DELETE_SIGNING_KEY)
            .bind(pool)
            .bind(kid)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn replace_signing_key_pem(
        &self,
        pool: &str,
        kid: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(q::REPLACE_SIGNING_KEY_PEM)
            .bind(pool)
            .bind(kid)
            .bind(old)
            .bind(new)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }
}

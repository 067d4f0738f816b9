//! The signing-keys role: each pool's ES256 keys, several while a rotation is under way
//! (`crate::keys` decides which one signs and which are published).

use super::columns::{AnyRow, Cols};
use super::{StoreError, StoredKey};
use async_trait::async_trait;

impl StoredKey {
    /// A `signing_keys` row.
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "signing_keys");
        Ok(Self {
            kid: r.get("kid")?,
            private_pem: r.get("private_pem")?,
            seq: r.get("seq")?,
            created_at: r.get("created_at")?,
            activates_at: r.get("activates_at")?,
        })
    }
}

/// Per-pool signing keys.
#[async_trait]
pub trait SigningKeys: Send + Sync {
    /// Stores `first` as the pool's key number 1 when the pool has no key yet (first writer wins
    /// across replicas; a pool whose old keys were deleted after a rotation keeps its newer ones).
    async fn ensure_signing_key(&self, pool: &str, first: &StoredKey) -> Result<(), StoreError>;

    /// Every stored key of a pool, oldest (lowest `seq`) first.
    async fn signing_keys(&self, pool: &str) -> Result<Vec<StoredKey>, StoreError>;

    /// Adds a key with its `seq`; `false` when that number is taken (a concurrent rotation won).
    async fn add_signing_key(&self, pool: &str, key: &StoredKey) -> Result<bool, StoreError>;

    /// Deletes one key of a pool (one that is no longer published); `false` when it was gone.
    async fn delete_signing_key(&self, pool: &str, kid: &str) -> Result<bool, StoreError>;

    /// Replaces the stored form of a key's private part (`milogin keys wrap`) when it is still
    /// `old`; `false` when it changed or the key is gone.
    async fn replace_signing_key_pem(
        &self,
        pool: &str,
        kid: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;
}

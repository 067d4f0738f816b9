//! Signing-key rotation (security.md X-96): the keys of each pool, which one signs, which are
//! published, `milogin keys rotate`, `milogin keys revoke` for a compromised key, and the
//! private keys at rest ([`AtRest`]: wrapped with `server.key_encryption_key`, `milogin keys wrap`).
//!
//! A pool's keys live in the database (table `signing_keys`, numbered by `seq`), so every replica
//! sees the same ones. Who signs is a function of the clock, not of a write: a key created by
//! `rotate` is published at once ("next") and signs from its `activates_at` on ("active"), which is
//! `server.key_publish_secs` later, so relying parties that cached the JWKS fetch it before the
//! first token carries its `kid`. The key it replaces ("retired" from that moment) stays in the
//! JWKS until every token it signed has expired: `retired_at + server.token_ttl_secs +`
//! [`RETIRE_GRACE_SECS`].
//!
//! Each replica caches the keys and re-reads them from the database when its copy is older than
//! [`REFRESH_SECS`] (one query per pool every few seconds, never one per login), and at once, at
//! most once a second, when a token names a `kid` it does not know (a rotation by another process).

use crate::crypto::Kek;
use crate::store::{Store, StoreError, StoredKey};
use crate::token::{Claims, PoolKey, VerifyError};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

/// A replica's cached keys are re-read from the database when older than this.
pub const REFRESH_SECS: i64 = 5;

/// A retired key stays published this much longer than the tokens it signed live: a replica may
/// sign with it until its next refresh ([`REFRESH_SECS`]), and replicas' clocks differ.
pub const RETIRE_GRACE_SECS: i64 = 60;

/// Where a key stands in its pool's rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not signing yet (created by `rotate`, waiting for `activates_at`).
    Next,
    /// Signs every new token.
    Active,
    /// Replaced; published until the tokens it signed have expired.
    Retired,
}

impl KeyState {
    /// The word `keys list` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

/// A key's schedule: what the database says about it, without the private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTimes {
    /// Key id.
    pub kid: String,
    /// Its number in the pool's rotation.
    pub seq: i64,
    /// Created and published, Unix seconds.
    pub created_at: i64,
    /// Signs from, Unix seconds.
    pub activates_at: i64,
}

impl From<&StoredKey> for KeyTimes {
    fn from(k: &StoredKey) -> Self {
        Self {
            kid: k.kid.clone(),
            seq: k.seq,
            created_at: k.created_at,
            activates_at: k.activates_at,
        }
    }
}

/// One key's place in the rotation at a given time (`milogin keys list --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    /// Key id (the tokens' `kid`).
    pub kid: String,
    /// Its number in the pool's rotation.
    pub seq: i64,
    /// Next, active or retired.
    pub state: KeyState,
    /// Created and published, Unix seconds.
    pub created_at: i64,
    /// Signs (or signed) from, Unix seconds.
    pub activates_at: i64,
    /// Stopped signing (the next key's activation), Unix seconds.
    pub retired_at: Option<i64>,
    /// Leaves the JWKS, Unix seconds; `None` while it is next or active.
    pub published_until: Option<i64>,
}

impl KeyStatus {
    /// In the JWKS at `now`.
    pub fn published(&self, now: i64) -> bool {
        self.published_until.is_none_or(|t| now < t)
    }
}

/// The signing key among keys ordered by `seq`: the newest whose activation has come (the first
/// one when none has, e.g. on a replica whose clock is behind the one that created it).
fn active_index(keys: &[KeyTimes], now: i64) -> usize {
    keys.iter()
        .rposition(|k| k.activates_at <= now)
        .unwrap_or(0)
}

/// Every key's state at `now`, for keys ordered by `seq` and tokens living `token_ttl` seconds.
pub fn schedule(keys: &[KeyTimes], now: i64, token_ttl: i64) -> Vec<KeyStatus> {
    let active = active_index(keys, now);
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let state = match i.cmp(&active) {
                std::cmp::Ordering::Less => KeyState::Retired,
                std::cmp::Ordering::Equal => KeyState::Active,
                std::cmp::Ordering::Greater => KeyState::Next,
            };
            // A retired key stopped signing when its successor started.
            let retired_at = (state == KeyState::Retired).then(|| keys[i + 1].activates_at);
            KeyStatus {
                kid: k.kid.clone(),
                seq: k.seq,
                state,
                created_at: k.created_at,
                activates_at: k.activates_at,
                retired_at,
                published_until: retired_at.map(|t| t + token_ttl + RETIRE_GRACE_SECS),
            }
        })
        .collect()
}

/// How private keys are kept in the database: PKCS#8 PEM, or that PEM wrapped with the
/// key-encryption key (`server.key_encryption_key`, [`Kek`]) and bound to the key's `kid`, so a
/// copy of the database alone signs nothing. Keys stored in the clear still load with a KEK set
/// (a database from before it: `milogin keys wrap` wraps them); a wrapped key without the KEK,
/// or with another one, does not, and the error says which setting to fix.
#[derive(Clone, Debug, Default)]
pub struct AtRest(Option<Kek>);

impl AtRest {
    /// Keys wrapped with `kek`, or kept as PEM when `None`.
    pub fn new(kek: Option<Kek>) -> Self {
        Self(kek)
    }

    fn aad(kid: &str) -> String {
        format!("milogin signing key {kid}")
    }

    /// True when a key-encryption key is set.
    pub fn wraps(&self) -> bool {
        self.0.is_some()
    }

    /// `k` as the database keeps it: wrapped when a KEK is set.
    pub fn seal(&self, mut k: StoredKey) -> StoredKey {
        if let Some(kek) = &self.0 {
            if !Kek::is_wrapped(&k.private_pem) {
                k.private_pem = kek.wrap(k.private_pem.as_bytes(), &Self::aad(&k.kid));
            }
        }
        k
    }

    /// `k` with its private key as PEM.
    pub fn open(&self, k: &StoredKey) -> Result<StoredKey, String> {
        if !Kek::is_wrapped(&k.private_pem) {
            return Ok(k.clone());
        }
        let Some(kek) = &self.0 else {
            return Err(format!("signing key {} is wrapped with a key-encryption key, but server.key_encryption_key is not set: set it to the key that wrapped it", k.kid));
        };
        let pem = kek
            .unwrap(&k.private_pem, &Self::aad(&k.kid))
            .map_err(|e| format!("signing key {} does not open with server.key_encryption_key: {e}; set it to the key that wrapped it", k.kid))?;
        Ok(StoredKey {
            private_pem: String::from_utf8(pem)
                .map_err(|_| format!("signing key {} unwrapped to no PEM", k.kid))?,
            ..k.clone()
        })
    }
}

/// Wraps every key of `pool` still stored in the clear (`milogin keys wrap`); the kids it wrapped.
/// Without a KEK it does nothing. A key changed meanwhile (another `wrap`) is left as it is.
pub async fn wrap_all(
    store: &dyn Store,
    at_rest: &AtRest,
    pool: &str,
) -> Result<Vec<String>, StoreError> {
    let mut wrapped = Vec::new();
    for k in store.signing_keys(pool).await? {
        if !at_rest.wraps() || Kek::is_wrapped(&k.private_pem) {
            continue;
        }
        PoolKey::from_stored(&k)
            .map_err(|e| StoreError::Invalid(format!("signing key {}: {e}", k.kid)))?;
        let sealed = at_rest.seal(k.clone());
        if store
            .replace_signing_key_pem(pool, &k.kid, &k.private_pem, &sealed.private_pem)
            .await?
        {
            wrapped.push(k.kid);
        }
    }
    Ok(wrapped)
}

/// A pool's keys as one replica last read them.
struct Ring {
    times: Vec<KeyTimes>,
    /// The parsed keys, in the order of `times`.
    keys: Vec<Arc<PoolKey>>,
}

impl Ring {
    /// Parses the stored keys, reusing the ones `old` already parsed.
    fn parse(
        stored: &[StoredKey],
        old: Option<&Ring>,
        at_rest: &AtRest,
    ) -> Result<Self, StoreError> {
        let mut keys = Vec::with_capacity(stored.len());
        for s in stored {
            let known = old.and_then(|o| o.keys.iter().find(|k| k.kid() == s.kid));
            keys.push(match known {
                Some(k) => k.clone(),
                None => Arc::new(
                    PoolKey::from_stored(&at_rest.open(s).map_err(StoreError::Invalid)?)
                        .map_err(|e| StoreError::Invalid(format!("signing key {}: {e}", s.kid)))?,
                ),
            });
        }
        if keys.is_empty() {
            return Err(StoreError::Invalid("the pool has no signing key".into()));
        }
        Ok(Self {
            times: stored.iter().map(KeyTimes::from).collect(),
            keys,
        })
    }

    /// The published keys at `now`, the signing one first (for clients that take the first key).
    fn published(&self, now: i64, token_ttl: i64) -> Vec<&Arc<PoolKey>> {
        let statuses = schedule(&self.times, now, token_ttl);
        let mut out: Vec<(KeyState, &Arc<PoolKey>)> = statuses
            .iter()
            .zip(&self.keys)
            .filter(|(s, _)| s.published(now))
            .map(|(s, k)| (s.state, k))
            .collect();
        out.sort_by_key(|(state, _)| *state != KeyState::Active);
        out.into_iter().map(|(_, k)| k).collect()
    }
}

/// One pool's cache.
struct Slot {
    ring: RwLock<Arc<Ring>>,
    /// When the cache was last re-read on schedule (Unix seconds).
    checked_at: AtomicI64,
    /// When an unknown `kid` last caused a re-read (Unix seconds).
    missed_at: AtomicI64,
}

impl Slot {
    fn ring(&self) -> Arc<Ring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// True for exactly one caller once `every` seconds have passed since `at` (or the clock went back).
fn claim(at: &AtomicI64, now: i64, every: i64) -> bool {
    let last = at.load(Ordering::Acquire);
    (now.saturating_sub(last) >= every || now < last)
        && at
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
}

/// The signing keys of every configured pool, cached per replica, the database being the truth.
pub struct Keys {
    store: Arc<dyn Store>,
    at_rest: AtRest,
    token_ttl: i64,
    pools: HashMap<String, Slot>,
}

impl Keys {
    /// Loads the keys of each pool, creating a pool's first key when it has none (first writer
    /// wins across replicas).
    pub async fn load(
        store: Arc<dyn Store>,
        at_rest: AtRest,
        pools: impl IntoIterator<Item = &str>,
        now: i64,
        token_ttl_secs: u64,
    ) -> Result<Self, StoreError> {
        let mut slots = HashMap::new();
        for pool in pools {
            let first = at_rest.seal(PoolKey::generate().to_stored(1, now, now));
            store.ensure_signing_key(pool, &first).await?;
            let stored = store.signing_keys(pool).await?;
            if at_rest.wraps() && stored.iter().any(|k| !Kek::is_wrapped(&k.private_pem)) {
                tracing::warn!(pool, "signing keys stored in the clear: run `milogin keys wrap` to wrap them with server.key_encryption_key");
            }
            let ring = Ring::parse(&stored, None, &at_rest)?;
            let slot = Slot {
                ring: RwLock::new(Arc::new(ring)),
                checked_at: AtomicI64::new(now),
                missed_at: AtomicI64::new(i64::MIN),
            };
            slots.insert(pool.to_owned(), slot);
        }
        Ok(Self {
            store,
            at_rest,
            token_ttl: token_ttl_secs as i64,
            pools: slots,
        })
    }

    /// Re-reads a pool's keys; on failure the cached ones stay (and the failure is logged).
    async fn reload(&self, pool: &str, slot: &Slot) {
        let old = slot.ring();
        let read = match self.store.signing_keys(pool).await {
            Ok(stored) => Ring::parse(&stored, Some(&old), &self.at_rest),
            Err(e) => Err(e),
        };
        match read {
            Ok(ring) => *slot.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring),
            Err(e) => {
                tracing::warn!(pool, error = %e, "signing keys not re-read; using the cached ones")
            }
        }
    }

    /// A pool's keys, re-read first when the cached copy is [`REFRESH_SECS`] old.
    async fn ring(&self, pool: &str, now: i64) -> Option<(&Slot, Arc<Ring>)> {
        let slot = self.pools.get(pool)?;
        if claim(&slot.checked_at, now, REFRESH_SECS) {
            self.reload(pool, slot).await;
        }
        Some((slot, slot.ring()))
    }

    /// The key that signs the pool's tokens now.
    pub async fn signer(&self, pool: &str, now: i64) -> Option<Arc<PoolKey>> {
        let (_, ring) = self.ring(pool, now).await?;
        Some(ring.keys[active_index(&ring.times, now)].clone())
    }

    /// The pool's JWKS document: every published key, the signing one first.
    pub async fn jwks(&self, pool: &str, now: i64) -> Option<Value> {
        let (_, ring) = self.ring(pool, now).await?;
        let keys: Vec<&Value> = ring
            .published(now, self.token_ttl)
            .into_iter()
            .map(|k| k.jwk())
            .collect();
        Some(json!({ "keys": keys }))
    }

    /// Verifies one of our tokens for `pool` with whichever published key its `kid` names.
    pub async fn verify(
        &self,
        pool: &str,
        issuer: &str,
        token: &str,
        now: i64,
    ) -> Result<Claims, VerifyError> {
        let kid = crate::token::header_kid(token)?;
        let (slot, mut ring) = self.ring(pool, now).await.ok_or(VerifyError::Invalid)?;
        let find = |ring: &Ring| {
            ring.published(now, self.token_ttl)
                .into_iter()
                .find(|k| k.kid() == kid)
                .cloned()
        };
        let mut key = find(&ring);
        if key.is_none() && claim(&slot.missed_at, now, 1) {
            // A key another process just created (`keys rotate`, another replica).
            self.reload(pool, slot).await;
            ring = slot.ring();
            key = find(&ring);
        }
        key.ok_or(VerifyError::Invalid)?.verify(issuer, token, now)
    }
}

/// Why `keys rotate` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// A key created by an earlier rotation is not signing yet.
    #[error("pool {pool:?} already has a next key {kid} waiting: it becomes the signing key at {} (in {wait} s). Rotate again after that (`milogin keys list` shows the keys)", utc(*.activates_at))]
    Waiting {
        /// Pool id.
        pool: String,
        /// The waiting key.
        kid: String,
        /// When it starts signing.
        activates_at: i64,
        /// Seconds until then.
        wait: i64,
    },
    /// Another rotation of the same pool committed first.
    #[error("another rotation of pool {0:?} happened at the same time; run `milogin keys list` to see the keys")]
    Concurrent(String),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotated {
    /// The new key (next, or already active when the delay was 0).
    pub new: KeyStatus,
    /// The key it replaces, with its retirement and how long it stays published.
    pub previous: KeyStatus,
    /// Keys deleted because no token they signed can still be valid.
    pub deleted: Vec<String>,
}

/// Creates a pool's next key, published now and signing `delay` seconds from `now`. Refused while
/// an earlier next key is still waiting. Deletes keys no longer published (their private keys
/// have no use left).
pub async fn rotate(
    store: &dyn Store,
    at_rest: &AtRest,
    pool: &str,
    now: i64,
    delay: i64,
    token_ttl: i64,
) -> Result<Rotated, RotateError> {
    // A pool that never served has no key yet: create it as `serve` would.
    store
        .ensure_signing_key(
            pool,
            &at_rest.seal(PoolKey::generate().to_stored(1, now, now)),
        )
        .await?;
    let stored = store.signing_keys(pool).await?;
    let times: Vec<KeyTimes> = stored.iter().map(KeyTimes::from).collect();
    let before = schedule(&times, now, token_ttl);
    if let Some(next) = before.iter().find(|s| s.state == KeyState::Next) {
        return Err(RotateError::Waiting {
            pool: pool.to_owned(),
            kid: next.kid.clone(),
            activates_at: next.activates_at,
            wait: next.activates_at - now,
        });
    }
    let mut deleted = Vec::new();
    for old in before.iter().filter(|s| !s.published(now)) {
        if store.delete_signing_key(pool, &old.kid).await? {
            deleted.push(old.kid.clone());
        }
    }
    let seq = times.last().map_or(1, |t| t.seq + 1);
    let key = at_rest.seal(PoolKey::generate().to_stored(seq, now, now + delay.max(0)));
    if !store.add_signing_key(pool, &key).await? {
        return Err(RotateError::Concurrent(pool.to_owned()));
    }
    let mut times: Vec<KeyTimes> = times
        .into_iter()
        .filter(|t| !deleted.contains(&t.kid))
        .collect();
    times.push(KeyTimes::from(&key));
    // Seen from the new key's activation: the replaced key is retired then.
    let after = schedule(&times, key.activates_at, token_ttl);
    let previous = after[after.len() - 2].clone();
    let new = schedule(&times, now, token_ttl).pop().expect("the new key");
    Ok(Rotated {
        new,
        previous,
        deleted,
    })
}

/// Why `keys revoke` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The pool has no such key.
    #[error("pool {pool:?} has no key {kid:?}; `milogin keys list --pool {pool}` shows its keys")]
    Unknown {
        /// Pool id.
        pool: String,
        /// The kid asked for.
        kid: String,
    },
    /// Another change to the pool's keys committed first.
    #[error("another change to the keys of pool {0:?} happened at the same time; run `milogin keys list` and revoke again")]
    Concurrent(String),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What a revocation did.
#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    /// The revoked key as it stood (next, active or retired).
    pub revoked: KeyStatus,
    /// The key that signs from now on, when the revoked one was signing.
    pub signer: Option<String>,
    /// True when that key was created by the revocation (no next key was waiting).
    pub created: bool,
    /// Keys deleted besides it because no token they signed can still be valid.
    pub deleted: Vec<String>,
}

/// Revokes key `kid` of `pool` at once (a compromised private key): deleted from the database,
/// so it leaves the JWKS and no token it signed verifies any more. When it was the signing key,
/// the waiting next key signs from `now` on, or a new key does when none waits. Keys that are no
/// longer published are deleted too (as [`rotate`] does), so that none comes back into the JWKS
/// when its successor is gone.
pub async fn revoke(
    store: &dyn Store,
    at_rest: &AtRest,
    pool: &str,
    kid: &str,
    now: i64,
    token_ttl: i64,
) -> Result<Revoked, RevokeError> {
    let stored = store.signing_keys(pool).await?;
    let times: Vec<KeyTimes> = stored.iter().map(KeyTimes::from).collect();
    let before = schedule(&times, now, token_ttl);
    let revoked = before
        .iter()
        .find(|s| s.kid == kid)
        .cloned()
        .ok_or_else(|| RevokeError::Unknown {
            pool: pool.to_owned(),
            kid: kid.to_owned(),
        })?;
    let mut deleted = Vec::new();
    for old in before.iter().filter(|s| !s.published(now) && s.kid != kid) {
        if store.delete_signing_key(pool, &old.kid).await? {
            deleted.push(old.kid.clone());
        }
    }
    let (mut signer, mut created) = (None, false);
    if revoked.state == KeyState::Active {
        let waiting = stored
            .iter()
            .zip(&before)
            .find(|(_, s)| s.state == KeyState::Next)
            .map(|(k, _)| k);
        let key = match waiting {
            Some(k) => {
                // The same key and number, signing from now: re-stored with the new time.
                store.delete_signing_key(pool, &k.kid).await?;
                StoredKey {
                    activates_at: now,
                    ..k.clone()
                }
            }
            None => {
                created = true;
                let seq = times.last().map_or(1, |t| t.seq + 1);
                at_rest.seal(PoolKey::generate().to_stored(seq, now, now))
            }
        };
        if !store.add_signing_key(pool, &key).await? {
            return Err(RevokeError::Concurrent(pool.to_owned()));
        }
        signer = Some(key.kid);
    }
    store.delete_signing_key(pool, kid).await?;
    Ok(Revoked {
        revoked,
        signer,
        created,
        deleted,
    })
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), for the operator.
pub fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seq: i64, created_at: i64, activates_at: i64) -> KeyTimes {
        KeyTimes {
            kid: format!("k{seq}"),
            seq,
            created_at,
            activates_at,
        }
    }

    fn states(keys: &[KeyTimes], now: i64) -> Vec<(KeyState, bool)> {
        schedule(keys, now, 100)
            .iter()
            .map(|s| (s.state, s.published(now)))
            .collect()
    }

    #[test]
    fn a_new_key_is_published_before_it_signs_and_the_old_one_until_its_tokens_expire() {
        use KeyState::*;
        let keys = [t(1, 0, 0), t(2, 1000, 1500)];
        assert_eq!(states(&keys, 1000), [(Active, true), (Next, true)]);
        assert_eq!(states(&keys, 1499), [(Active, true), (Next, true)]);
        assert_eq!(states(&keys, 1500), [(Retired, true), (Active, true)]);
        let until = 1500 + 100 + RETIRE_GRACE_SECS;
        assert_eq!(schedule(&keys, 1500, 100)[0].published_until, Some(until));
        assert_eq!(states(&keys, until - 1), [(Retired, true), (Active, true)]);
        assert_eq!(states(&keys, until), [(Retired, false), (Active, true)]);
    }

    #[test]
    fn the_first_key_signs_even_on_a_clock_behind_its_creation() {
        assert_eq!(states(&[t(1, 50, 50)], 10), [(KeyState::Active, true)]);
    }

    #[test]
    fn refreshes_are_claimed_once_per_interval() {
        let at = AtomicI64::new(100);
        assert!(!claim(&at, 104, 5));
        assert!(claim(&at, 105, 5));
        assert!(!claim(&at, 105, 5));
        assert!(claim(&at, 90, 5), "a clock that went back re-reads");
    }

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_735_689_599), "2024-12-31T23:59:59Z");
    }
}

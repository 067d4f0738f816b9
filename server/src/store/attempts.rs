//! The attempts role: a login attempt recorded at authorize (single use, expiring) and consumed at
//! the callback; and the [`Destination`] it records — where its result goes — which a binding
//! ticket carries on unchanged (`super::tickets`).

use super::columns::{AnyRow, Cols};
use super::StoreError;
use crate::domain::mode::Mode;
use crate::domain::{AppId, AttemptId, Origin, PoolId, UniqueId};
use async_trait::async_trait;

/// Where the result of a login goes, as authorize checked it: the same columns in `attempts` and
/// `binding_tickets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The pool.
    pub pool: PoolId,
    /// The app (the token's `aud`; its return page, in popup mode).
    pub app: AppId,
    /// The widget's attempt id (the result names it).
    pub attempt: AttemptId,
    /// Popup or redirect.
    pub mode: Mode,
    /// Popup mode: the registered origin that receives the result.
    pub origin: Option<Origin>,
    /// Redirect mode: the registered URI the result goes to.
    pub redirect_uri: Option<String>,
}

impl Destination {
    /// The destination columns of a row.
    pub(super) fn read<R: AnyRow + ?Sized>(r: &Cols<'_, R>) -> Result<Self, StoreError> {
        Ok(Self {
            pool: r.get("pool")?,
            app: r.get("app")?,
            attempt: r.get("attempt")?,
            mode: r.get("mode")?,
            origin: r.get("origin")?,
            redirect_uri: r.get("redirect_uri")?,
        })
    }
}

/// How a login attempt was started (fields are server-side truth at callback time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// SHA-256 (hex) of the state; the state itself is never stored.
    pub state_hash: String,
    /// SHA-256 (hex) of the browser-binding cookie value.
    pub binding_hash: String,
    /// The connection the login runs through.
    pub connection: UniqueId,
    /// Where its result goes.
    pub dest: Destination,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Attempt {
    /// An `attempts` row.
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "attempts");
        Ok(Self {
            state_hash: r.get("state_hash")?,
            binding_hash: r.get("binding_hash")?,
            connection: r.get("connection")?,
            dest: Destination::read(&r)?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
        })
    }

    /// What consuming it at `now` found: fresh, or too late.
    pub(super) fn consumed(self, now: i64) -> Consumed {
        if now > self.expires_at {
            Consumed::Expired(self)
        } else {
            Consumed::Fresh(self)
        }
    }
}

/// What consuming a state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    /// First use, within its lifetime: proceed.
    Fresh(Attempt),
    /// First use, but too late.
    Expired(Attempt),
    /// Already used before.
    Replayed,
    /// No such state.
    Unknown,
}

/// Login attempts.
#[async_trait]
pub trait Attempts: Send + Sync {
    /// Records a new attempt; at most once a minute also deletes attempts that expired more than
    /// an hour ago. An attempt id already recorded is `StoreError::Taken("attempt")`: ids are
    /// single use, so nobody can run a second attempt under an id that leaked.
    async fn insert_attempt(&self, a: &Attempt, now: i64) -> Result<(), StoreError>;

    /// Marks the attempt used, atomically; a second call never returns `Fresh`.
    async fn consume_attempt(&self, state_hash: &str, now: i64) -> Result<Consumed, StoreError>;

    /// Attempts neither consumed nor expired.
    async fn pending_attempts(&self, now: i64) -> Result<i64, StoreError>;
}

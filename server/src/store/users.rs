//! The users role: a pool's users (signed in with Xiaomi, or local accounts the operator created),
//! the identities bound to them (unique on `(pool, connection, subject)`, one per user and
//! connection), and the failed sign-ins that lock an account for a while.

use super::columns::{AnyRow, Cols};
use super::{NewLocalUser, StoreError};
use crate::domain::{PoolId, UniqueId};
use async_trait::async_trait;
use serde::Serialize;

/// A pool user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Our id (token `sub`).
    pub id: String,
    /// Its pool.
    pub pool: PoolId,
    /// Display name.
    pub nickname: String,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// Username (local accounts).
    pub username: Option<String>,
    /// Email (normalised, lowercase).
    pub email: Option<String>,
    /// Email verified by the operator.
    pub email_verified: bool,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// Phone verified by the operator.
    pub phone_verified: bool,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl User {
    /// The user columns of a row (`users`, maybe joined).
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "users");
        Ok(Self {
            id: r.get("id")?,
            pool: r.get("pool")?,
            nickname: r.get("nickname")?,
            avatar: r.get("avatar")?,
            username: r.get("username")?,
            email: r.get("email")?,
            email_verified: r.get("email_verified")?,
            phone: r.get("phone")?,
            phone_verified: r.get("phone_verified")?,
            disabled: r.get("disabled")?,
            created_at: r.get("created_at")?,
        })
    }

    /// The user columns and the password hash.
    pub(super) fn read_with_hash<R: AnyRow + ?Sized>(
        row: &R,
    ) -> Result<(Self, Option<String>), StoreError> {
        Ok((
            Self::read(row)?,
            Cols::new(row, "users").get("password_hash")?,
        ))
    }
}

/// An identity bound to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The connection's Unique ID.
    pub connection: UniqueId,
    /// Xiaomi openId.
    pub subject: String,
    /// Xiaomi APP ID the openId belongs to.
    pub client_id: String,
    /// Xiaomi unionId.
    pub union_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl Identity {
    /// An `identities` row.
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "identities");
        Ok(Self {
            connection: r.get("connection")?,
            subject: r.get("subject")?,
            client_id: r.get("client_id")?,
            union_id: r.get("union_id")?,
            created_at: r.get("created_at")?,
        })
    }

    /// An `identities` row with the id of its user.
    pub(super) fn read_with_owner<R: AnyRow + ?Sized>(
        row: &R,
    ) -> Result<(String, Self), StoreError> {
        Ok((
            Cols::new(row, "identities").get("user_id")?,
            Self::read(row)?,
        ))
    }
}

/// A user with its identities (what `milogin user list --json` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserWithIdentities {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// Its identities.
    pub identities: Vec<Identity>,
}

/// Users with their identities (`(user_id, identity)` rows in any order).
pub(super) fn with_identities(
    users: Vec<User>,
    ids: Vec<(String, Identity)>,
) -> Vec<UserWithIdentities> {
    users
        .into_iter()
        .map(|user| {
            let identities = ids
                .iter()
                .filter(|(uid, _)| *uid == user.id)
                .map(|(_, i)| i.clone())
                .collect();
            UserWithIdentities { user, identities }
        })
        .collect()
}

/// A new user with its first identity, written in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Our id.
    pub id: String,
    /// Its pool.
    pub pool: PoolId,
    /// Display name.
    pub nickname: String,
    /// Avatar URL.
    pub avatar: Option<String>,
}

/// A user found by a field-matching lookup, with what the association rules need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The user.
    pub user: User,
    /// The user has a password (can prove ownership in the binding step).
    pub has_password: bool,
    /// The user already has an identity on the connection asked about.
    pub bound_here: bool,
}

/// What binding an identity to an existing user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Bound now.
    Linked,
    /// It already was bound to this user (nothing changed).
    AlreadyLinked,
    /// The identity is bound to another user: refused.
    LinkedToOther,
    /// The user already has another identity on this connection: refused.
    UserHasOther,
    /// The ticket was used meanwhile: nothing done.
    TicketGone,
}

/// Users, their identities and their failed sign-ins.
#[async_trait]
pub trait Users: Send + Sync {
    /// The user bound to this identity.
    async fn user_by_identity(
        &self,
        pool: &str,
        connection: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError>;

    /// Creates the user and binds the identity in one transaction. When the identity was bound
    /// concurrently, nothing is created and the existing user is returned with `false`.
    async fn create_user_with_identity(
        &self,
        user: &NewUser,
        identity: &Identity,
        now: i64,
    ) -> Result<(User, bool), StoreError>;

    /// Refreshes nickname and avatar from the provider.
    async fn update_profile(
        &self,
        user_id: &str,
        nickname: &str,
        avatar: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError>;

    /// A user by id.
    async fn user(&self, pool: &str, id: &str) -> Result<Option<User>, StoreError>;

    /// All users of a pool with their identities, oldest first.
    async fn list_users(&self, pool: &str) -> Result<Vec<UserWithIdentities>, StoreError>;

    /// Distinct `(pool, connection)` pairs that have identities, as stored (the orphan check
    /// names whatever it finds, so these stay text).
    async fn bound_connections(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Creates a local account. A taken username, email or phone is `StoreError::Taken(field)`.
    async fn create_local_user(&self, user: &NewLocalUser, now: i64) -> Result<User, StoreError>;

    /// The user a sign-in identifier names, with its password hash.
    async fn user_for_login(
        &self,
        pool: &str,
        id: &crate::domain::contact::LoginId,
    ) -> Result<Option<(User, Option<String>)>, StoreError>;

    /// Users whose email equals `email` or whose phone equals `phone` (normalised values; `None`
    /// matches nothing), each with whether it has a password and an identity on `connection`.
    async fn match_candidates(
        &self,
        pool: &str,
        connection: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// Binds `identity` to the existing user `user_id`, in one transaction; with `ticket_hash`, the
    /// binding ticket is consumed in the same transaction (and nothing is bound when it already
    /// was): the one call that writes across two roles, because it must be atomic.
    async fn link_identity(
        &self,
        pool: &str,
        user_id: &str,
        identity: &Identity,
        ticket_hash: Option<&str>,
        now: i64,
    ) -> Result<Link, StoreError>;

    /// The identities of one user.
    async fn identities_of(&self, pool: &str, user_id: &str) -> Result<Vec<Identity>, StoreError>;

    /// Removes the user's identity on `connection`; the number of identities removed.
    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        connection: &str,
    ) -> Result<u64, StoreError>;

    /// Disables or enables a user; `false` when there is no such user.
    async fn set_disabled(
        &self,
        pool: &str,
        user_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Deletes a user and its identities; `false` when there is no such user.
    async fn delete_user(&self, pool: &str, user_id: &str) -> Result<bool, StoreError>;

    /// Failed sign-ins of an account since `since` (Unix seconds; the current window only).
    async fn account_failures(&self, user_id: &str, since: i64) -> Result<i64, StoreError>;

    /// Records a failed sign-in; a window older than `window_secs` starts over. Returns the count.
    async fn record_account_failure(
        &self,
        user_id: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<i64, StoreError>;

    /// Forgets an account's failed sign-ins (after a successful one).
    async fn clear_account_failures(&self, user_id: &str) -> Result<(), StoreError>;
}

//! The codes role: one-time authorization codes of the OpenID Connect flow (`crate::oidc`), and
//! the [`OidcRequest`] a login carries from authorize to the code.
//! Issued when a login of an `oidc` attempt succeeds, redeemed once at the token endpoint by any
//! replica: the redeem is one `UPDATE … WHERE consumed_at IS NULL RETURNING`, so of two racing
//! redeems exactly one gets the code.

use super::columns::{AnyRow, Cols};
use super::StoreError;
use crate::domain::{AppId, AttemptId, PoolId, UniqueId};
use async_trait::async_trait;

/// An issued authorization code: what it was bound to, and who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// SHA-256 (hex) of the code; the code itself is never stored.
    pub code_hash: String,
    /// The pool.
    pub pool: PoolId,
    /// The client (app) the code was issued to.
    pub client: AppId,
    /// The redirect URI of the authorization request (the token request must repeat it).
    pub redirect_uri: String,
    /// The PKCE challenge (`S256`) of the authorization request, if it had one.
    pub challenge: Option<String>,
    /// The client's nonce, for the id_token.
    pub nonce: Option<String>,
    /// The scopes granted.
    pub scope: String,
    /// The user who logged in.
    pub user_id: String,
    /// The connection they logged in with (the id_token's `idp`).
    pub connection: UniqueId,
    /// When they logged in (the id_token's `auth_time`), Unix seconds.
    pub auth_time: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Who redeems it, and so what the token endpoint answers.
    pub redeemer: Redeemer,
}

/// Who a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeemer {
    /// An OpenID Connect client: the token response (`crate::login::code::exchange`).
    Client,
    /// The widget's tab that started the login (redirect mode, the return page): it proves itself
    /// with the PKCE verifier alone and gets the result message; `new_user` as the login found.
    Widget {
        /// The login created the user.
        new_user: bool,
    },
}

impl Redeemer {
    /// The `(widget, new_user)` columns.
    pub(super) fn columns(self) -> (bool, bool) {
        match self {
            Self::Client => (false, false),
            Self::Widget { new_user } => (true, new_user),
        }
    }

    fn from_columns(widget: bool, new_user: bool) -> Self {
        if widget {
            Self::Widget { new_user }
        } else {
            Self::Client
        }
    }
}

impl Code {
    /// An `oidc_codes` row.
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "oidc_codes");
        Ok(Self {
            code_hash: r.get("code_hash")?,
            pool: r.get("pool")?,
            client: r.get("client_id")?,
            redirect_uri: r.get("redirect_uri")?,
            challenge: r.get("code_challenge")?,
            nonce: r.get("nonce")?,
            scope: r.get("scope")?,
            user_id: r.get("user_id")?,
            connection: r.get("connection")?,
            auth_time: r.get("auth_time")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
            redeemer: Redeemer::from_columns(r.get("widget")?, r.get("new_user")?),
        })
    }

    /// What redeeming it at `now` found: fresh, or too late.
    pub(super) fn redeemed(self, now: i64) -> Redeemed {
        if now > self.expires_at {
            Redeemed::Expired(self)
        } else {
            Redeemed::Fresh(self)
        }
    }
}

/// An OpenID Connect authorization request on its way through a login (mode `oidc`): recorded at
/// authorize under the attempt's id, taken when the login ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcRequest {
    /// The attempt's id (the login's `Destination::attempt`).
    pub attempt: AttemptId,
    /// The pool.
    pub pool: PoolId,
    /// The client.
    pub client: AppId,
    /// The registered redirect URI it asked for.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// The client's `nonce`.
    pub nonce: Option<String>,
    /// The PKCE challenge.
    pub challenge: Option<String>,
    /// The scopes granted.
    pub scope: String,
    /// Unix seconds (the attempt's and a binding step's lifetimes together).
    pub expires_at: i64,
}

impl OidcRequest {
    /// An `oidc_requests` row.
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "oidc_requests");
        Ok(Self {
            attempt: r.get("attempt")?,
            pool: r.get("pool")?,
            client: r.get("client_id")?,
            redirect_uri: r.get("redirect_uri")?,
            state: r.get("state")?,
            nonce: r.get("nonce")?,
            challenge: r.get("code_challenge")?,
            scope: r.get("scope")?,
            expires_at: r.get("expires_at")?,
        })
    }
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// First use, within its lifetime.
    Fresh(Code),
    /// First use, but too late.
    Expired(Code),
    /// Used before: a replay (RFC 6749 §4.1.2 "MUST deny the request").
    Reused(Code),
    /// No such code.
    Unknown,
}

/// Authorization codes.
#[async_trait]
pub trait Codes: Send + Sync {
    /// Records an issued code.
    async fn insert_code(&self, code: &Code) -> Result<(), StoreError>;

    /// The code, used or not, without redeeming it (a caller that may redeem only the widget's
    /// codes looks first, so it never spends a client's code).
    async fn find_code(&self, code_hash: &str) -> Result<Option<Code>, StoreError>;

    /// Marks the code used, atomically; a second call never returns `Fresh`.
    async fn redeem_code(&self, code_hash: &str, now: i64) -> Result<Redeemed, StoreError>;

    /// Records the OpenID Connect request of a login; at most once a minute also deletes expired
    /// requests and codes that expired more than an hour ago (only OpenID Connect logins pay for
    /// it: the widget's logins sweep attempts alone).
    async fn insert_oidc_request(&self, r: &OidcRequest, now: i64) -> Result<(), StoreError>;

    /// Takes (deletes and returns) the request of the login `attempt`, if recorded and not
    /// expired at `now`; a second call finds nothing.
    async fn take_oidc_request(
        &self,
        attempt: &AttemptId,
        now: i64,
    ) -> Result<Option<OidcRequest>, StoreError>;
}

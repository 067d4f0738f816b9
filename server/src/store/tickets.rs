//! The tickets role: the one-time tickets of the "link your Xiaomi account" step (security.md
//! T-14), which carry the attempt's [`Destination`] on to the binding form, and the tickets of the
//! experience-login page.

use super::attempts::Destination;
use super::columns::{AnyRow, Cols};
use super::StoreError;
use crate::domain::UniqueId;
use async_trait::async_trait;

/// A pending "link your Xiaomi account" step (security.md T-14): single use, expiring, bound to
/// one Xiaomi identity and to the browser holding the ticket cookie. Only hashes of the ticket and
/// of the CSRF token are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// SHA-256 (hex) of the ticket (the cookie value).
    pub ticket_hash: String,
    /// SHA-256 (hex) of the form's CSRF token.
    pub csrf_hash: String,
    /// The connection the Xiaomi identity came through.
    pub connection: UniqueId,
    /// The Xiaomi openId this ticket may bind, and nothing else.
    pub subject: String,
    /// Xiaomi APP ID the openId belongs to.
    pub client_id: String,
    /// Xiaomi unionId.
    pub union_id: Option<String>,
    /// Nickname from Xiaomi (for the page and a new account).
    pub nickname: String,
    /// Avatar from Xiaomi.
    pub avatar: Option<String>,
    /// Where the result goes: the attempt's, unchanged.
    pub dest: Destination,
    /// A field match led here (the page says an account may already exist).
    pub matched: bool,
    /// Password tries so far (counted before each verification).
    pub failures: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Set once used (bound, new account, cancelled, exhausted or expired).
    pub consumed_at: Option<i64>,
}

impl Ticket {
    /// A `binding_tickets` row.
    pub(super) fn read<R: AnyRow + ?Sized>(row: &R) -> Result<Self, StoreError> {
        let r = Cols::new(row, "binding_tickets");
        Ok(Self {
            ticket_hash: r.get("ticket_hash")?,
            csrf_hash: r.get("csrf_hash")?,
            connection: r.get("connection")?,
            subject: r.get("subject")?,
            client_id: r.get("client_id")?,
            union_id: r.get("union_id")?,
            nickname: r.get("nickname")?,
            avatar: r.get("avatar")?,
            dest: Destination::read(&r)?,
            matched: r.get("matched")?,
            failures: r.get("failures")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
            consumed_at: r.get("consumed_at")?,
        })
    }
}

/// Binding tickets and experience-login tickets.
#[async_trait]
pub trait Tickets: Send + Sync {
    /// Stores a binding ticket; also deletes tickets that expired more than an hour ago.
    async fn insert_ticket(&self, t: &Ticket, now: i64) -> Result<(), StoreError>;

    /// A binding ticket by the hash of its value.
    async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError>;

    /// Counts one password try on a live ticket, atomically, and returns the new count; `None`
    /// when the ticket is used, expired or already has `max` tries.
    async fn ticket_try(
        &self,
        ticket_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Marks a ticket used; `false` when it already was.
    async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError>;

    /// Stores a ticket of the experience-login page for `pool`/`connection`; also deletes
    /// expired ones.
    async fn insert_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Deletes a live ticket of the experience-login page for `pool`/`connection`; `false` when
    /// there is none (unknown, expired, already redeemed, or another connection's).
    async fn redeem_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
}

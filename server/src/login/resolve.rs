//! Who a provider identity is: an existing user, a user linked by a verified and trusted field, a
//! new user, or the binding step — decided by the connection's login mode and association.

use super::LoginError;
use crate::config::{Association, Connection, LoginMode, MatchField, Pool};
use crate::provider::{Contact, ProviderIdentity};
use crate::state::AppState;
use crate::store::{Identity, Link, NewUser, User};
use crate::telemetry::Chain;

/// What logging in a provider identity leads to.
#[derive(Debug)]
pub enum Resolved {
    /// Logged in as this user; `true` when this login created it.
    User(User, bool),
    /// Not bound yet, and the association asks the person to prove an existing account (or, when
    /// the login mode allows, to choose a new one). `matched`: a field match led here.
    Bind {
        /// A field match (not trusted or not verified enough to link) led here.
        matched: bool,
    },
}

/// The outcome of field matching (association = "field_match").
enum FieldMatch {
    /// No local user has the provider's email or phone (or it gave none).
    None,
    /// Exactly one user matches on a field that is verified locally **and** trusted by the
    /// operator, is enabled and has no other identity on this connection: link automatically.
    Link(User),
    /// A match that may not link automatically (unverified or untrusted field, several users,
    /// disabled user…). `provable`: some matched user could prove ownership with a password.
    Bind {
        /// Some matched user has a password, is enabled and has no identity here.
        provable: bool,
    },
}

/// Finds, links or creates the user of a provider identity according to the connection's login mode
/// and account association. Decisions come before any write: a refused login writes nothing
/// (T-15), and nothing here binds an identity to an account whose owner did not prove it (a
/// verified-and-trusted field; passwords are proven in `binding`).
///
/// | association | identity unknown, `login_and_register` | identity unknown, `login_only` |
/// |---|---|---|
/// | `off` | new user | `user_not_found` |
/// | `field_match`, no match | new user | `user_not_found` |
/// | `field_match`, verified + trusted single match | link | link |
/// | `field_match`, other match | binding page (link or new) | binding page (link only); `binding_required` when no matched user can prove it |
/// | `query_binding` | binding page (link or new) | binding page (link only) |
pub async fn resolve_user(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    id: &ProviderIdentity,
) -> Result<Resolved, LoginError> {
    let now = st.clock.now();
    if let Some(user) = st
        .store
        .user_by_identity(&pool.id, &conn.unique_id, &id.subject)
        .await?
    {
        if user.disabled {
            return Err(LoginError::UserDisabled);
        }
        if user.nickname != id.nickname || user.avatar != id.avatar {
            st.store
                .update_profile(&user.id, &id.nickname, id.avatar.as_deref(), now)
                .await?;
        }
        return Ok(Resolved::User(
            User {
                nickname: id.nickname.clone(),
                avatar: id.avatar.clone(),
                ..user
            },
            false,
        ));
    }
    match conn.association {
        Association::Off => {}
        Association::QueryBinding => return Ok(Resolved::Bind { matched: false }),
        Association::FieldMatch => match field_match(st, pool, conn, id).await? {
            FieldMatch::None => {}
            FieldMatch::Link(user) => {
                let identity = identity_of(conn, id, now);
                match st
                    .store
                    .link_identity(&pool.id, &user.id, &identity, None, now)
                    .await?
                {
                    Link::Linked | Link::AlreadyLinked => {
                        tracing::info!(pool = %pool.id, connection = %conn.unique_id, user = %user.id, "identity linked by a verified and trusted field");
                        return Ok(Resolved::User(user, false));
                    }
                    // Bound meanwhile by a concurrent login: log in as whoever holds it now.
                    Link::LinkedToOther => return Box::pin(resolve_user(st, pool, conn, id)).await,
                    Link::UserHasOther | Link::TicketGone => {
                        return Ok(Resolved::Bind { matched: true })
                    }
                }
            }
            FieldMatch::Bind { provable } => {
                if provable || conn.login_mode == LoginMode::LoginAndRegister {
                    return Ok(Resolved::Bind { matched: true });
                }
                return Err(LoginError::BindingRequired);
            }
        },
    }
    if conn.login_mode == LoginMode::LoginOnly {
        return Err(LoginError::UserNotFound);
    }
    let (user, created) = create_user(st, pool, conn, id).await?;
    Ok(Resolved::User(user, created))
}

/// The identity row of a provider identity.
pub fn identity_of(conn: &Connection, id: &ProviderIdentity, now: i64) -> Identity {
    Identity {
        connection: conn.unique_id.clone(),
        subject: id.subject.clone(),
        client_id: conn.provider.client_id().to_owned(),
        union_id: id.union_id.clone(),
        created_at: now,
    }
}

/// Creates user + identity in one transaction (racing logins converge on one user).
pub async fn create_user(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    id: &ProviderIdentity,
) -> Result<(User, bool), LoginError> {
    let now = st.clock.now();
    let new = NewUser {
        id: crate::accounts::new_user_id(),
        pool: pool.id.clone(),
        nickname: id.nickname.clone(),
        avatar: id.avatar.clone(),
    };
    let (user, created) = st
        .store
        .create_user_with_identity(&new, &identity_of(conn, id, now), now)
        .await?;
    if user.disabled {
        return Err(LoginError::UserDisabled);
    }
    Ok((user, created))
}

/// Compares the provider's email and phone with the pool's users (T-13, X-50…X-59). Empty or
/// invalid values never match (they are `None` after normalisation); the provider refusing the
/// call (Xiaomi: scope not granted) skips matching; the provider being unreachable fails the
/// login, rather than silently registering a second account for someone who has one.
async fn field_match(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    id: &ProviderIdentity,
) -> Result<FieldMatch, LoginError> {
    let contact = match st.providers.of(conn)?.contact(conn, id).await {
        Ok(c) => c,
        Err(e) if e.is_outage() => return Err(e.into()),
        Err(e) => {
            tracing::info!(error = %Chain(&e), connection = %conn.unique_id, "contact refused; field matching skipped");
            Contact::default()
        }
    };
    let email = contact.email.filter(|_| conn.matches_on(MatchField::Email));
    let phone = contact.phone.filter(|_| conn.matches_on(MatchField::Phone));
    if email.is_none() && phone.is_none() {
        return Ok(FieldMatch::None);
    }
    let candidates = st
        .store
        .match_candidates(
            &pool.id,
            &conn.unique_id,
            email.as_deref(),
            phone.as_deref(),
        )
        .await?;
    let provable = candidates
        .iter()
        .any(|c| c.has_password && !c.user.disabled && !c.bound_here);
    let [c] = candidates.as_slice() else {
        if !candidates.is_empty() {
            tracing::info!(pool = %pool.id, matches = candidates.len(), "field match is ambiguous; no automatic link");
            return Ok(FieldMatch::Bind { provable });
        }
        return Ok(FieldMatch::None);
    };
    let on = |field: MatchField, ours: &Option<String>, theirs: &Option<String>, verified: bool| {
        theirs.is_some() && ours == theirs && verified && conn.trusts(field)
    };
    let trusted = on(
        MatchField::Email,
        &c.user.email,
        &email,
        c.user.email_verified,
    ) || on(
        MatchField::Phone,
        &c.user.phone,
        &phone,
        c.user.phone_verified,
    );
    if trusted && !c.user.disabled && !c.bound_here {
        Ok(FieldMatch::Link(c.user.clone()))
    } else {
        tracing::info!(pool = %pool.id, trusted, disabled = c.user.disabled, bound_here = c.bound_here, "field match may not link automatically");
        Ok(FieldMatch::Bind { provable })
    }
}

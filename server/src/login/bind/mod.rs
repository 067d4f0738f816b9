//! The binding step — "Link your Xiaomi account" / "关联小米账号" (security.md T-14, X-60…X-67).
//!
//! When the association asks a Xiaomi identity that is not bound yet to prove an existing account
//! (`query_binding`, or a `field_match` that may not link automatically), the callback stores a
//! one-time **ticket** and answers with a form instead of a result ([`offer`]). The form's POST
//! ([`submit`]) proves a pool account with its password and binds the identity to it — or, when
//! the login mode allows, creates a new account, or cancels — and then ends exactly like the
//! callback: one result delivered to the target recorded at authorize.
//!
//! - The ticket (256 bits) lives only in an `HttpOnly; SameSite=Strict` cookie of the browser that
//!   ran the callback; the database keeps its SHA-256. The cookie's name is derived from the
//!   form's CSRF token, so a POST without this page's token finds no ticket at all, and
//!   parallel bindings in one browser do not overwrite each other.
//! - A ticket binds only the Xiaomi openId it was issued for: the subject is read from the ticket
//!   row, never from the form. It expires after [`TICKET_TTL_SECS`] and is consumed by
//!   whatever ends it — a bound account (in the same transaction as the binding), a new account,
//!   cancel, the last wrong password, expiry — so it can never be replayed.
//! - Brute force: [`MAX_TRIES_PER_TICKET`] password tries per ticket, counted atomically
//!   *before* each verification so parallel posts cannot exceed it, and
//!   [`MAX_FAILURES_PER_ACCOUNT`] failures per account per [`ACCOUNT_WINDOW_SECS`], stored in the
//!   database so every replica sees them. A wrong password, an unknown identifier and a locked
//!   account get the same answer, and argon2 runs in every case (a dummy hash when there is no
//!   account or no password), so neither the text nor the time tells them apart.
//! - Only the account whose password was proven is bound; an identity bound to someone else
//!   meanwhile is refused; a login-only connection never creates an account here (T-15).

mod form;
mod prove;

pub use form::{Action, Form, FormError, Offer, Submission};

use super::issue::issue;
use super::resolve::create_user;
use super::{LoginError, Target};
use crate::config::{Connection, LoginMode, Pool};
use crate::crypto::{ct_eq, random_token, sha256_hex};
use crate::provider::ProviderIdentity;
use crate::state::AppState;
use crate::store::{Attempt, Ticket};
use milogin_shared::{ErrorCode, ResultMessage};
use secrecy::SecretString;

/// Lifetime of a binding ticket, seconds.
pub const TICKET_TTL_SECS: i64 = 600;
/// Password tries per ticket; the last wrong one ends the login.
pub const MAX_TRIES_PER_TICKET: i64 = 5;
/// Failed sign-ins per account and window; beyond it every try fails (without saying so).
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
/// The per-account window, seconds.
pub const ACCOUNT_WINDOW_SECS: i64 = 900;

const TOO_MANY: &str = "Too many wrong passwords. Please start the login again from the site.";
const LINKED_ELSEWHERE: &str =
    "This Xiaomi account is already linked to another account. Please start the login again.";
const DECLINED: &str = "The Xiaomi account was not linked to an account.";

/// The name of a ticket cookie: derived from the page's CSRF token (`__Host-` over https).
pub fn cookie_name(csrf: &str, secure: bool) -> String {
    let prefix = if secure { "__Host-" } else { "" };
    format!("{prefix}milogin-bind-{}", &sha256_hex(csrf)[..16])
}

fn form_action(st: &AppState, pool: &str, connection: &str) -> String {
    format!(
        "{}/connection/social/{connection}/{pool}/bind",
        st.config.server.base()
    )
}

fn redirect_origin(redirect_uri: Option<&String>) -> Option<String> {
    redirect_uri
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
}

/// Stores a ticket for this identity and attempt, and builds the page that offers the binding.
#[tracing::instrument(skip_all, fields(pool = %a.dest.pool, connection = %conn.unique_id))]
pub async fn offer(
    st: &AppState,
    a: &Attempt,
    conn: &Connection,
    id: &ProviderIdentity,
    matched: bool,
) -> Result<Offer, LoginError> {
    let (ticket, csrf) = (random_token(), random_token());
    let now = st.clock.now();
    let t = Ticket {
        ticket_hash: sha256_hex(&ticket),
        csrf_hash: sha256_hex(&csrf),
        connection: conn.unique_id.clone(),
        subject: id.subject.clone(),
        client_id: conn.provider.client_id().to_owned(),
        union_id: id.union_id.clone(),
        nickname: id.nickname.clone(),
        avatar: id.avatar.clone(),
        dest: a.dest.clone(),
        matched,
        failures: 0,
        created_at: now,
        expires_at: now + TICKET_TTL_SECS,
        consumed_at: None,
    };
    st.store.insert_ticket(&t, now).await?;
    tracing::info!(matched, "binding step offered");
    Ok(Offer {
        cookie_name: cookie_name(&csrf, st.config.server.secure_cookies()),
        ticket: SecretString::from(ticket),
        form: Form {
            action: form_action(st, &a.dest.pool, &conn.unique_id),
            csrf,
            nickname: id.nickname.clone(),
            can_create: conn.login_mode == LoginMode::LoginAndRegister,
            matched,
            error: None,
            identifier: String::new(),
            redirect_origin: redirect_origin(a.dest.redirect_uri.as_ref()),
        },
    })
}

/// How a submission is answered.
#[derive(Debug)]
pub enum Answer {
    /// Show the form again.
    Form(Form),
    /// The login is over: deliver this result to the ticket's target (and drop the cookie).
    Deliver {
        /// Where.
        target: Target,
        /// What.
        message: ResultMessage,
    },
    /// The login failed after its destination was trusted: deliver `error`'s code to the
    /// ticket's target.
    Fail {
        /// Where.
        target: Target,
        /// The widget's attempt id.
        attempt: String,
        /// Why.
        error: LoginError,
    },
    /// No usable ticket (no cookie, wrong CSRF token, unknown or used ticket) or no database: a
    /// plain error page, nothing posted.
    Refuse(LoginError),
}

/// Ends the login with `why`'s code and this step's own sentence.
fn end(st: &AppState, t: &Ticket, why: LoginError, message: &str) -> Answer {
    Answer::Deliver {
        target: Target::recorded(st, &t.dest),
        message: ResultMessage::failure_with(&t.dest.attempt, why.code(), message),
    }
}

/// The login failed after the destination was trusted (the database, the keys…).
fn failed(st: &AppState, t: &Ticket, error: impl Into<LoginError>) -> Answer {
    Answer::Fail {
        target: Target::recorded(st, &t.dest),
        attempt: t.dest.attempt.to_string(),
        error: error.into(),
    }
}

/// Ends the login with `why`: the ticket is consumed first, so only one end is delivered.
async fn consume_then_end(
    st: &AppState,
    t: &Ticket,
    now: i64,
    why: LoginError,
    message: &str,
) -> Answer {
    match st.store.consume_ticket(&t.ticket_hash, now).await {
        Ok(true) => end(st, t, why, message),
        Ok(false) => Answer::Refuse(LoginError::TicketUsed),
        Err(e) => failed(st, t, e),
    }
}

/// Handles a POST of the binding form. `cookie` reads the request's cookies.
#[tracing::instrument(skip_all, fields(pool = %path_pool, connection = %path_connection, action = ?sub.action))]
pub async fn submit(
    st: &AppState,
    path_pool: &str,
    path_connection: &str,
    sub: Submission,
    cookie: impl Fn(&str) -> Option<String>,
) -> Answer {
    let now = st.clock.now();
    let ticket = (!sub.csrf.is_empty())
        .then(|| cookie(&cookie_name(&sub.csrf, st.config.server.secure_cookies())))
        .flatten();
    let Some(ticket) = ticket else {
        tracing::warn!("binding form without its ticket cookie (other browser, or no CSRF token)");
        return Answer::Refuse(LoginError::TicketGone);
    };
    let hash = sha256_hex(&ticket);
    let t = match st.store.ticket(&hash).await {
        Ok(Some(t)) => t,
        Ok(None) => return Answer::Refuse(LoginError::TicketGone),
        Err(e) => return Answer::Refuse(e.into()),
    };
    if !ct_eq(&sha256_hex(&sub.csrf), &t.csrf_hash)
        || t.dest.pool != *path_pool
        || t.connection != *path_connection
    {
        tracing::warn!("binding form with a ticket of another page or connection");
        return Answer::Refuse(LoginError::TicketGone);
    }
    if t.consumed_at.is_some() {
        return Answer::Refuse(LoginError::TicketUsed);
    }
    // From here the destination is trusted: every end of the login is a delivered result.
    let consume =
        |why: LoginError, message: &'static str| consume_then_end(st, &t, now, why, message);
    if now > t.expires_at {
        return consume(
            LoginError::StateExpired,
            "The account-linking page expired. Please start the login again.",
        )
        .await;
    }
    let Some((pool, conn)) = st
        .config
        .pool(&t.dest.pool)
        .and_then(|p| Some((p, p.connection(&t.connection)?)))
        .filter(|(p, c)| p.app(&t.dest.app).is_some_and(|a| a.enables(&c.unique_id)))
    else {
        let why = LoginError::NotEnabled;
        return consume(why, ErrorCode::ConnectionNotEnabled.default_message()).await;
    };
    let declined = if conn.login_mode == LoginMode::LoginOnly {
        LoginError::UserNotFound
    } else {
        LoginError::BindingRequired
    };
    match sub.action {
        Action::Cancel => consume(declined, DECLINED).await,
        Action::Create if conn.login_mode == LoginMode::LoginOnly => {
            let why = LoginError::UserNotFound;
            consume(why, ErrorCode::UserNotFound.default_message()).await
        }
        Action::Create => create(st, pool, conn, &t, now).await,
        Action::Bind => prove::prove(st, pool, conn, &t, sub, now).await,
    }
}

/// "Create a new account": consume the ticket, then create user + identity as the callback would.
async fn create(st: &AppState, pool: &Pool, conn: &Connection, t: &Ticket, now: i64) -> Answer {
    match st.store.consume_ticket(&t.ticket_hash, now).await {
        Ok(true) => {}
        Ok(false) => return Answer::Refuse(LoginError::TicketUsed),
        Err(e) => return failed(st, t, e),
    }
    let id = identity_of(t);
    let result = match create_user(st, pool, conn, &id).await {
        Ok((user, created)) => {
            issue(st, pool, conn, &t.dest.app, &t.dest.attempt, user, created).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(message) => Answer::Deliver {
            target: Target::recorded(st, &t.dest),
            message,
        },
        Err(e) => failed(st, t, e),
    }
}

/// The provider identity the ticket stands for (its subject is the only one it may bind).
fn identity_of(t: &Ticket) -> ProviderIdentity {
    ProviderIdentity {
        subject: t.subject.clone(),
        union_id: t.union_id.clone(),
        nickname: t.nickname.clone(),
        avatar: t.avatar.clone(),
        scopes: Vec::new(),
        access: None,
    }
}

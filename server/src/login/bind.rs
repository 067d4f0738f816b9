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

use super::issue::issue;
use super::resolve::{create_user, identity_of as identity_row};
use super::Target;
use crate::accounts::{parse_login_id, verify_password_blocking};
use crate::config::{Connection, LoginMode, Pool};
use crate::crypto::{ct_eq, random_token, sha256_hex};
use crate::provider::ProviderIdentity;
use crate::state::AppState;
use crate::store::{Attempt, Link, StoreError, Ticket};
use milogin_shared::{ErrorCode, ResultMessage};
use secrecy::{ExposeSecret, SecretString};

/// Lifetime of a binding ticket, seconds.
pub const TICKET_TTL_SECS: i64 = 600;
/// Password tries per ticket; the last wrong one ends the login.
pub const MAX_TRIES_PER_TICKET: i64 = 5;
/// Failed sign-ins per account and window; beyond it every try fails (without saying so).
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
/// The per-account window, seconds.
pub const ACCOUNT_WINDOW_SECS: i64 = 900;

const MAX_FORM_BYTES: usize = 8192;
const MAX_FIELD_BYTES: usize = 1024;

const GONE: &str = "This account-linking page is no longer valid in this browser. Please start the login again from the site.";
const USED: &str =
    "This account-linking page was already used. Please start the login again from the site.";
const TOO_MANY: &str = "Too many wrong passwords. Please start the login again from the site.";
const LINKED_ELSEWHERE: &str =
    "This Xiaomi account is already linked to another account. Please start the login again.";
const DECLINED: &str = "The Xiaomi account was not linked to an account.";

/// The name of a ticket cookie: derived from the page's CSRF token (`__Host-` over https).
pub fn cookie_name(csrf: &str, secure: bool) -> String {
    let prefix = if secure { "__Host-" } else { "" };
    format!("{prefix}milogin-bind-{}", &sha256_hex(csrf)[..16])
}

/// Why the form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// Identifier or password left empty.
    Missing,
    /// Wrong identifier or password, unknown account, or locked account: one text for all.
    Wrong,
    /// The proven account already has another Xiaomi account on this connection.
    AccountHasOther,
}

/// What the binding page shows.
#[derive(Clone)]
pub struct Form {
    /// Absolute URL the form posts to.
    pub action: String,
    /// The CSRF token (hidden field).
    pub csrf: String,
    /// The Xiaomi nickname (attacker-controlled text; escaped by the page).
    pub nickname: String,
    /// Offer "Create a new account" (login_and_register only).
    pub can_create: bool,
    /// A field match led here: say that an account may already exist.
    pub matched: bool,
    /// The error to show, if any.
    pub error: Option<FormError>,
    /// The identifier typed before (refilled after an error).
    pub identifier: String,
    /// Origin of the redirect-mode target (the form's CSP must allow the final redirect).
    pub redirect_origin: Option<String>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("action", &self.action)
            .field("csrf", &"[REDACTED]")
            .field("can_create", &self.can_create)
            .field("matched", &self.matched)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// The callback's answer when binding is needed: the page and its ticket cookie.
pub struct Offer {
    /// The ticket cookie's name.
    pub cookie_name: String,
    /// The ticket (the cookie's value).
    pub ticket: SecretString,
    /// The page.
    pub form: Form,
}

impl std::fmt::Debug for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offer")
            .field("cookie_name", &self.cookie_name)
            .field("ticket", &"[REDACTED]")
            .field("form", &self.form)
            .finish()
    }
}

fn internal(e: StoreError) -> ErrorCode {
    tracing::error!(error = %e, "store failed during account binding");
    ErrorCode::Internal
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
#[tracing::instrument(skip_all, fields(pool = %a.pool, connection = %conn.unique_id))]
pub async fn offer(
    st: &AppState,
    a: &Attempt,
    conn: &Connection,
    id: &ProviderIdentity,
    matched: bool,
) -> Result<Offer, ErrorCode> {
    let (ticket, csrf) = (random_token(), random_token());
    let now = st.clock.now();
    let t = Ticket {
        ticket_hash: sha256_hex(&ticket),
        csrf_hash: sha256_hex(&csrf),
        pool: a.pool.clone(),
        connection: conn.unique_id.clone(),
        subject: id.subject.clone(),
        client_id: conn.app_id.clone(),
        union_id: id.union_id.clone(),
        nickname: id.nickname.clone(),
        avatar: id.avatar.clone(),
        app: a.app.clone(),
        attempt: a.attempt.clone(),
        origin: a.origin.clone(),
        mode: a.mode.clone(),
        redirect_uri: a.redirect_uri.clone(),
        matched,
        failures: 0,
        created_at: now,
        expires_at: now + TICKET_TTL_SECS,
        consumed_at: None,
    };
    st.store.insert_ticket(&t, now).await.map_err(internal)?;
    tracing::info!(matched, "binding step offered");
    Ok(Offer {
        cookie_name: cookie_name(&csrf, st.config.server.secure_cookies()),
        ticket: SecretString::from(ticket),
        form: Form {
            action: form_action(st, &a.pool, &conn.unique_id),
            csrf,
            nickname: id.nickname.clone(),
            can_create: conn.login_mode == LoginMode::LoginAndRegister,
            matched,
            error: None,
            identifier: String::new(),
            redirect_origin: redirect_origin(a.redirect_uri.as_ref()),
        },
    })
}

/// What the person chose on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Prove an existing account and bind the Xiaomi account to it.
    Bind,
    /// Create a new account (login_and_register only).
    Create,
    /// Do neither.
    Cancel,
}

/// A parsed form submission. `Debug` redacts the token and the password.
pub struct Submission {
    /// The CSRF token from the hidden field.
    pub csrf: String,
    /// The button pressed.
    pub action: Action,
    /// Username, email or phone as typed.
    pub identifier: String,
    /// The password.
    pub password: SecretString,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("action", &self.action)
            .field("csrf", &"[REDACTED]")
            .field("password", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// Parses an `application/x-www-form-urlencoded` body: known fields once each, bounded sizes.
pub fn parse_submission(body: &[u8]) -> Result<Submission, &'static str> {
    if body.len() > MAX_FORM_BYTES {
        return Err("The form is too large.");
    }
    let (mut csrf, mut action, mut identifier, mut password) = (None, None, None, None);
    for (k, v) in form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "csrf" => &mut csrf,
            "action" => &mut action,
            "identifier" => &mut identifier,
            "password" => &mut password,
            _ => continue,
        };
        if slot.is_some() {
            return Err("A form field appears twice.");
        }
        if v.len() > MAX_FIELD_BYTES {
            return Err("A form field is too long.");
        }
        *slot = Some(v.into_owned());
    }
    let action = match action.as_deref() {
        None | Some("bind") => Action::Bind,
        Some("create") => Action::Create,
        Some("cancel") => Action::Cancel,
        Some(_) => return Err("Unknown form action."),
    };
    Ok(Submission {
        csrf: csrf.unwrap_or_default(),
        action,
        identifier: identifier.unwrap_or_default(),
        password: SecretString::from(password.unwrap_or_default()),
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
    /// No usable ticket (no cookie, wrong CSRF token, unknown or used ticket): a plain error
    /// page, nothing posted.
    Refuse(ErrorCode, &'static str),
}

fn target_of(st: &AppState, t: &Ticket) -> Target {
    Target::recorded(
        st,
        (&t.pool, &t.app),
        &t.mode,
        t.origin.as_ref(),
        t.redirect_uri.as_ref(),
    )
}

fn end(st: &AppState, t: &Ticket, code: ErrorCode, message: &str) -> Answer {
    Answer::Deliver {
        target: target_of(st, t),
        message: ResultMessage::failure_with(&t.attempt, code, message),
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
        return Answer::Refuse(ErrorCode::InvalidState, GONE);
    };
    let hash = sha256_hex(&ticket);
    let t = match st.store.ticket(&hash).await {
        Ok(Some(t)) => t,
        Ok(None) => return Answer::Refuse(ErrorCode::InvalidState, GONE),
        Err(e) => {
            return Answer::Refuse(
                internal(e),
                "The login service could not read its database. Please try again.",
            )
        }
    };
    if !ct_eq(&sha256_hex(&sub.csrf), &t.csrf_hash)
        || t.pool != path_pool
        || t.connection != path_connection
    {
        tracing::warn!("binding form with a ticket of another page or connection");
        return Answer::Refuse(ErrorCode::InvalidState, GONE);
    }
    if t.consumed_at.is_some() {
        return Answer::Refuse(ErrorCode::InvalidState, USED);
    }
    // From here the destination is trusted: every end of the login is a delivered result.
    let consume = |code: ErrorCode, message: &'static str| {
        let (st, hash, t) = (st, hash.clone(), &t);
        async move {
            match st.store.consume_ticket(&hash, now).await {
                Ok(true) => end(st, t, code, message),
                Ok(false) => Answer::Refuse(ErrorCode::InvalidState, USED),
                Err(e) => end(st, t, internal(e), ErrorCode::Internal.default_message()),
            }
        }
    };
    if now > t.expires_at {
        return consume(
            ErrorCode::StateExpired,
            "The account-linking page expired. Please start the login again.",
        )
        .await;
    }
    let Some((pool, conn)) = st
        .config
        .pool(&t.pool)
        .and_then(|p| Some((p, p.connection(&t.connection)?)))
        .filter(|(p, c)| p.app(&t.app).is_some_and(|a| a.enables(&c.unique_id)))
    else {
        return consume(
            ErrorCode::ConnectionNotEnabled,
            ErrorCode::ConnectionNotEnabled.default_message(),
        )
        .await;
    };
    let declined = if conn.login_mode == LoginMode::LoginOnly {
        ErrorCode::UserNotFound
    } else {
        ErrorCode::BindingRequired
    };
    match sub.action {
        Action::Cancel => consume(declined, DECLINED).await,
        Action::Create if conn.login_mode == LoginMode::LoginOnly => {
            consume(
                ErrorCode::UserNotFound,
                ErrorCode::UserNotFound.default_message(),
            )
            .await
        }
        Action::Create => create(st, pool, conn, &t, now).await,
        Action::Bind => prove(st, pool, conn, &t, sub, now).await,
    }
}

/// "Create a new account": consume the ticket, then create user + identity as the callback would.
async fn create(st: &AppState, pool: &Pool, conn: &Connection, t: &Ticket, now: i64) -> Answer {
    match st.store.consume_ticket(&t.ticket_hash, now).await {
        Ok(true) => {}
        Ok(false) => return Answer::Refuse(ErrorCode::InvalidState, USED),
        Err(e) => return end(st, t, internal(e), ErrorCode::Internal.default_message()),
    }
    let id = identity_of(t);
    let result = match create_user(st, pool, conn, &id).await {
        Ok((user, created)) => issue(st, pool, conn, &t.app, &t.attempt, user, created).await,
        Err(code) => Err(code),
    };
    match result {
        Ok(message) => Answer::Deliver {
            target: target_of(st, t),
            message,
        },
        Err(code) => end(st, t, code, code.default_message()),
    }
}

/// The Xiaomi identity the ticket stands for (its subject is the only one it may bind).
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

/// "Link account": count the try, find the account, verify the password (always), bind.
async fn prove(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    t: &Ticket,
    sub: Submission,
    now: i64,
) -> Answer {
    let mut form = Form {
        action: form_action(st, &t.pool, &t.connection),
        csrf: sub.csrf.clone(),
        nickname: t.nickname.clone(),
        can_create: conn.login_mode == LoginMode::LoginAndRegister,
        matched: t.matched,
        error: Some(FormError::Missing),
        identifier: sub.identifier.chars().take(254).collect(),
        redirect_origin: redirect_origin(t.redirect_uri.as_ref()),
    };
    if sub.identifier.trim().is_empty() || sub.password.expose_secret().is_empty() {
        return Answer::Form(form);
    }
    let tries = match st
        .store
        .ticket_try(&t.ticket_hash, MAX_TRIES_PER_TICKET, now)
        .await
    {
        Ok(Some(n)) => n,
        // Used up (or consumed by a parallel post): the ticket is dead.
        Ok(None) => {
            return match st.store.consume_ticket(&t.ticket_hash, now).await {
                Ok(true) => end(st, t, ErrorCode::BindingRequired, TOO_MANY),
                Ok(false) => Answer::Refuse(ErrorCode::InvalidState, USED),
                Err(e) => end(st, t, internal(e), ErrorCode::Internal.default_message()),
            }
        }
        Err(e) => return end(st, t, internal(e), ErrorCode::Internal.default_message()),
    };
    let found = match parse_login_id(&sub.identifier) {
        Some(id) => match st.store.user_for_login(&pool.id, &id).await {
            Ok(f) => f,
            Err(e) => return end(st, t, internal(e), ErrorCode::Internal.default_message()),
        },
        None => None,
    };
    let (user, phc) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    // The same queries and the same argon2 work whether or not the account exists.
    let probe = user.as_ref().map_or("-", |u| u.id.as_str());
    let locked = match st
        .store
        .account_failures(probe, now - ACCOUNT_WINDOW_SECS)
        .await
    {
        Ok(n) => user.is_some() && n >= MAX_FAILURES_PER_ACCOUNT,
        Err(e) => return end(st, t, internal(e), ErrorCode::Internal.default_message()),
    };
    // argon2 runs whatever we know by now (dummy hash without an account or a password).
    let password_ok = verify_password_blocking(sub.password, phc).await;
    let user = match user {
        Some(u) if password_ok && !locked => u,
        user => {
            if let Some(u) = &user {
                if let Err(e) = st
                    .store
                    .record_account_failure(&u.id, now, ACCOUNT_WINDOW_SECS)
                    .await
                {
                    tracing::error!(error = %e, "cannot record a failed sign-in");
                }
            }
            tracing::info!(
                tries,
                known = user.is_some(),
                locked,
                "binding sign-in failed"
            );
            if tries >= MAX_TRIES_PER_TICKET {
                return match st.store.consume_ticket(&t.ticket_hash, now).await {
                    Ok(true) => end(st, t, ErrorCode::BindingRequired, TOO_MANY),
                    Ok(false) => Answer::Refuse(ErrorCode::InvalidState, USED),
                    Err(e) => end(st, t, internal(e), ErrorCode::Internal.default_message()),
                };
            }
            form.error = Some(FormError::Wrong);
            return Answer::Form(form);
        }
    };
    if let Err(e) = st.store.clear_account_failures(&user.id).await {
        tracing::error!(error = %e, "cannot clear failed sign-ins");
    }
    if user.disabled {
        return match st.store.consume_ticket(&t.ticket_hash, now).await {
            Ok(true) => end(
                st,
                t,
                ErrorCode::UserDisabled,
                ErrorCode::UserDisabled.default_message(),
            ),
            Ok(false) => Answer::Refuse(ErrorCode::InvalidState, USED),
            Err(e) => end(st, t, internal(e), ErrorCode::Internal.default_message()),
        };
    }
    let identity = identity_row(conn, &identity_of(t), now);
    match st
        .store
        .link_identity(&pool.id, &user.id, &identity, Some(&t.ticket_hash), now)
        .await
    {
        Ok(Link::Linked | Link::AlreadyLinked) => {
            tracing::info!(user = %user.id, "identity linked by password");
            match issue(st, pool, conn, &t.app, &t.attempt, user, false).await {
                Ok(message) => Answer::Deliver {
                    target: target_of(st, t),
                    message,
                },
                Err(code) => end(st, t, code, code.default_message()),
            }
        }
        Ok(Link::LinkedToOther) => {
            tracing::warn!(user = %user.id, "identity was bound to another user meanwhile; binding refused");
            end(st, t, ErrorCode::InvalidState, LINKED_ELSEWHERE)
        }
        Ok(Link::UserHasOther) => {
            form.error = Some(FormError::AccountHasOther);
            Answer::Form(form)
        }
        Ok(Link::TicketGone) => Answer::Refuse(ErrorCode::InvalidState, USED),
        Err(e) => end(st, t, internal(e), ErrorCode::Internal.default_message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_parse_strictly_and_redact() {
        let s = parse_submission(
            b"csrf=abc&identifier=alice%40example.com&password=p%26ss+word&action=bind",
        )
        .unwrap();
        assert_eq!(
            (s.csrf.as_str(), s.action, s.identifier.as_str()),
            ("abc", Action::Bind, "alice@example.com")
        );
        assert_eq!(s.password.expose_secret(), "p&ss word");
        let d = format!("{s:?}");
        assert!(!d.contains("abc") && !d.contains("p&ss"), "{d}");
        assert_eq!(
            parse_submission(b"csrf=a&action=create").unwrap().action,
            Action::Create
        );
        assert_eq!(
            parse_submission(b"csrf=a&action=cancel").unwrap().action,
            Action::Cancel
        );
        assert!(parse_submission(b"csrf=a&csrf=b").is_err());
        assert!(parse_submission(b"csrf=a&action=delete").is_err());
        assert!(
            parse_submission(format!("csrf=a&password={}", "x".repeat(2000)).as_bytes()).is_err()
        );
        assert!(parse_submission(&vec![b'a'; 9000]).is_err());
        assert_eq!(parse_submission(b"").unwrap().csrf, "");
    }

    #[test]
    fn ticket_cookies_are_named_per_page() {
        assert_ne!(cookie_name("a", false), cookie_name("b", false));
        assert!(cookie_name("a", true).starts_with("__Host-milogin-bind-"));
    }
}

//! "Link account": the password proof of the binding step — counted per ticket and per account,
//! argon2 on every path so time tells nothing — then the binding itself.

use super::Answer;
use super::{
    consume_then_end, end, failed, form_action, identity_of, redirect_origin, Form, FormError,
    Submission, ACCOUNT_WINDOW_SECS, LINKED_ELSEWHERE, MAX_FAILURES_PER_ACCOUNT,
    MAX_TRIES_PER_TICKET, TOO_MANY,
};
use crate::accounts::{parse_login_id, verify_password_blocking};
use crate::config::{Connection, LoginMode, Pool};
use crate::login::issue::issue;
use crate::login::resolve::identity_of as identity_row;
use crate::login::{LoginError, Target};
use crate::state::AppState;
use crate::store::{Link, Ticket, User};
use crate::telemetry::Chain;
use milogin_shared::ErrorCode;
use secrecy::ExposeSecret;

/// "Link account": the sign-in (counted, argon2 always), then the binding.
pub(super) async fn prove(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    t: &Ticket,
    sub: Submission,
    now: i64,
) -> Answer {
    let mut form = Form {
        action: form_action(st, &t.dest.pool, &t.connection),
        csrf: sub.csrf.clone(),
        nickname: t.nickname.clone(),
        can_create: conn.login_mode == LoginMode::LoginAndRegister,
        matched: t.matched,
        error: Some(FormError::Missing),
        identifier: sub.identifier.chars().take(254).collect(),
        redirect_origin: redirect_origin(t.dest.redirect_uri.as_ref()),
    };
    if sub.identifier.trim().is_empty() || sub.password.expose_secret().is_empty() {
        return Answer::Form(form);
    }
    let user = match sign_in(st, pool, t, sub, now).await {
        Ok(u) => u,
        Err(SignIn::Wrong) => {
            form.error = Some(FormError::Wrong);
            return Answer::Form(form);
        }
        Err(SignIn::End(answer)) => return answer,
    };
    if let Err(e) = st.store.clear_account_failures(&user.id).await {
        tracing::error!(error = %Chain(&e), "cannot clear failed sign-ins");
    }
    if user.disabled {
        let message = ErrorCode::UserDisabled.default_message();
        return consume_then_end(st, t, now, LoginError::UserDisabled, message).await;
    }
    link(st, pool, conn, t, user, form, now).await
}

/// Why a sign-in gave no user.
enum SignIn {
    /// Wrong identifier or password, unknown or locked account: the form again, one text for all.
    Wrong,
    /// The login ends here (tries used up, database failure).
    End(Answer),
}

/// Counts the try on the ticket, finds the account and verifies the password. The same queries
/// and the same argon2 work run whether or not the account exists (a dummy hash without one).
async fn sign_in(
    st: &AppState,
    pool: &Pool,
    t: &Ticket,
    sub: Submission,
    now: i64,
) -> Result<User, SignIn> {
    let failed = |e| SignIn::End(failed(st, t, e));
    let tries = match st
        .store
        .ticket_try(&t.ticket_hash, MAX_TRIES_PER_TICKET, now)
        .await
    {
        Ok(Some(n)) => n,
        // Used up (or consumed by a parallel post): the ticket is dead.
        Ok(None) => {
            let why = LoginError::BindingRequired;
            return Err(SignIn::End(
                consume_then_end(st, t, now, why, TOO_MANY).await,
            ));
        }
        Err(e) => return Err(failed(e)),
    };
    let found = match parse_login_id(&sub.identifier) {
        Some(id) => st
            .store
            .user_for_login(&pool.id, &id)
            .await
            .map_err(failed)?,
        None => None,
    };
    let (user, phc) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    let probe = user.as_ref().map_or("-", |u| u.id.as_str());
    let failures = st
        .store
        .account_failures(probe, now - ACCOUNT_WINDOW_SECS)
        .await
        .map_err(failed)?;
    let locked = user.is_some() && failures >= MAX_FAILURES_PER_ACCOUNT;
    // argon2 runs whatever we know by now.
    let password_ok = verify_password_blocking(sub.password, phc).await;
    match user {
        Some(u) if password_ok && !locked => Ok(u),
        user => {
            if let Some(u) = &user {
                let recorded = st
                    .store
                    .record_account_failure(&u.id, now, ACCOUNT_WINDOW_SECS);
                if let Err(e) = recorded.await {
                    tracing::error!(error = %Chain(&e), "cannot record a failed sign-in");
                }
            }
            let known = user.is_some();
            tracing::info!(tries, known, locked, "binding sign-in failed");
            if tries >= MAX_TRIES_PER_TICKET {
                let why = LoginError::BindingRequired;
                return Err(SignIn::End(
                    consume_then_end(st, t, now, why, TOO_MANY).await,
                ));
            }
            Err(SignIn::Wrong)
        }
    }
}

/// Binds the ticket's identity to the proven `user` (consuming the ticket in the same
/// transaction) and issues the token; `form` is shown again if the account has another identity.
async fn link(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    t: &Ticket,
    user: User,
    mut form: Form,
    now: i64,
) -> Answer {
    let identity = identity_row(conn, &identity_of(t), now);
    match st
        .store
        .link_identity(&pool.id, &user.id, &identity, Some(&t.ticket_hash), now)
        .await
    {
        Ok(Link::Linked | Link::AlreadyLinked) => {
            tracing::info!(user = %user.id, "identity linked by password");
            match issue(st, pool, conn, &t.dest.app, &t.dest.attempt, user, false).await {
                Ok(message) => Answer::Deliver {
                    target: Target::recorded(st, &t.dest),
                    message,
                },
                Err(e) => failed(st, t, e),
            }
        }
        Ok(Link::LinkedToOther) => {
            tracing::warn!(user = %user.id, "identity was bound to another user meanwhile; binding refused");
            end(st, t, LoginError::LinkedElsewhere, LINKED_ELSEWHERE)
        }
        Ok(Link::UserHasOther) => {
            form.error = Some(FormError::AccountHasOther);
            Answer::Form(form)
        }
        Ok(Link::TicketGone) => Answer::Refuse(LoginError::TicketUsed),
        Err(e) => failed(st, t, e),
    }
}

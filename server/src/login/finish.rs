//! Finishing a login at Xiaomi's callback: the state is consumed first, then the attempt's
//! bindings (path, browser cookie) are checked, and only then is Xiaomi called; the user is
//! resolved (`super::resolve`) and the token issued (`super::issue`) — or the binding step offered.

use super::{bind, cookie_name, issue::issue, resolve, Target};
use crate::crypto::{ct_eq, sha256_hex};
use crate::domain::Origin;
use crate::state::AppState;
use crate::store::{Attempt, Consumed};
use milogin_shared::{ErrorCode, ResultMessage};

/// The only callback parameters we read (X-05, X-23: everything else is ignored).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// Authorization code.
    pub code: Option<String>,
    /// Our state.
    pub state: Option<String>,
    /// Xiaomi's error (a 960xx code).
    pub error: Option<String>,
    /// Xiaomi's error text (attacker-controllable; never reflected).
    pub error_description: Option<String>,
}

/// How a finished callback answers.
#[derive(Debug)]
pub enum Finish {
    /// Deliver this result to the attempt's target.
    Deliver {
        /// Where.
        target: Target,
        /// What.
        message: ResultMessage,
        /// HTTP status of the popup page (400 for state problems).
        client_error: bool,
    },
    /// No trusted destination: a plain error page, nothing posted.
    Refuse(ErrorCode, &'static str),
    /// The Xiaomi identity is not bound yet: the "link your Xiaomi account" page (item 4 of the
    /// accounts design), with its ticket cookie.
    Bind(Box<bind::Offer>),
}

/// Finishes a login. The state is consumed before anything else (and stays consumed on any
/// failure); Xiaomi is called only after every local check passed.
pub async fn finish(
    st: &AppState,
    path_pool: &str,
    path_connection: &str,
    params: CallbackParams,
    cookie: impl Fn(&str) -> Option<String>,
) -> Finish {
    let Some(state) = params.state.filter(|s| !s.is_empty()) else {
        return Finish::Refuse(
            ErrorCode::InvalidState,
            "The login link has no state. Please start again from the site.",
        );
    };
    let state_hash = sha256_hex(&state);
    let now = st.clock.now();
    let consumed = st.store.consume_attempt(&state_hash, now).await;
    // Whatever the outcome, this state is no longer pending for its client's cap.
    st.limiters.pending_per_client.release(&state_hash);
    let attempt = match consumed {
        Ok(Consumed::Fresh(a)) => a,
        Ok(Consumed::Expired(a)) => return deliver_error(st, &a, ErrorCode::StateExpired, true),
        Ok(Consumed::Replayed) => {
            return Finish::Refuse(
                ErrorCode::InvalidState,
                "This login link was already used. Please start again from the site.",
            )
        }
        Ok(Consumed::Unknown) => {
            return Finish::Refuse(
                ErrorCode::InvalidState,
                "This login link is not valid. Please start again from the site.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "consume attempt failed");
            return Finish::Refuse(
                ErrorCode::Internal,
                "The login service could not read its database. Please try again.",
            );
        }
    };
    if attempt.dest.pool != *path_pool || attempt.connection != *path_connection {
        tracing::warn!(
            pool = path_pool,
            connection = path_connection,
            "state presented at another connection's callback"
        );
        return Finish::Refuse(
            ErrorCode::InvalidState,
            "This login link belongs to another login. Please start again from the site.",
        );
    }
    let name = cookie_name(&state_hash, st.config.server.secure_cookies());
    let bound = cookie(&name).is_some_and(|v| ct_eq(&sha256_hex(&v), &attempt.binding_hash));
    if !bound {
        tracing::warn!("callback without this attempt's binding cookie");
        return deliver_error(st, &attempt, ErrorCode::InvalidState, true);
    }
    let message = match complete(st, &attempt, params.code, params.error).await {
        Ok(Step::Done(m)) => m,
        Ok(Step::Bind(offer)) => return Finish::Bind(offer),
        Err(code) => return deliver_error(st, &attempt, code, code == ErrorCode::InvalidRequest),
    };
    Finish::Deliver {
        target: Target::recorded(st, &attempt.dest),
        message,
        client_error: false,
    }
}

fn deliver_error(st: &AppState, a: &Attempt, code: ErrorCode, client_error: bool) -> Finish {
    // The recorded origin (checked at authorize) names the site whose login failed.
    let d = &a.dest;
    tracing::info!(reason = code.as_str(), origin = d.origin.as_ref().map(Origin::as_str), pool = %d.pool, app = %d.app, "login refused");
    Finish::Deliver {
        target: Target::recorded(st, d),
        message: ResultMessage::failure(&d.attempt, code),
        client_error,
    }
}

/// What the callback's work led to.
enum Step {
    /// A result to deliver.
    Done(ResultMessage),
    /// The binding page.
    Bind(Box<bind::Offer>),
}

/// After the state checks: Xiaomi, the user, the token.
async fn complete(
    st: &AppState,
    a: &Attempt,
    code: Option<String>,
    error: Option<String>,
) -> Result<Step, ErrorCode> {
    if let Some(e) = error {
        tracing::info!(xiaomi_error = %e.chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>(), "xiaomi returned an error");
        return Err(if e == "96012" || e == "access_denied" {
            ErrorCode::AccessDenied
        } else {
            ErrorCode::ProviderError
        });
    }
    let code = code
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(ErrorCode::InvalidRequest)?;
    let pool = st
        .config
        .pool(&a.dest.pool)
        .ok_or(ErrorCode::ConnectionNotEnabled)?;
    let conn = pool
        .connection(&a.connection)
        .ok_or(ErrorCode::ConnectionNotEnabled)?;
    if !pool
        .app(&a.dest.app)
        .is_some_and(|app| app.enables(&conn.unique_id))
    {
        return Err(ErrorCode::ConnectionNotEnabled);
    }
    let callback = st.config.server.callback_url(&pool.id, &conn.unique_id);
    let identity = st
        .provider
        .identity(conn, &code, &callback)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, connection = %conn.unique_id, "xiaomi step failed");
            e.code()
        })?;
    let (user, new_user) = match resolve::resolve_user(st, pool, conn, &identity).await? {
        resolve::Resolved::User(user, new_user) => (user, new_user),
        resolve::Resolved::Bind { matched } => {
            return bind::offer(st, a, conn, &identity, matched)
                .await
                .map(|o| Step::Bind(Box::new(o)))
        }
    };
    issue(st, pool, conn, &a.dest.app, &a.dest.attempt, user, new_user)
        .await
        .map(Step::Done)
}

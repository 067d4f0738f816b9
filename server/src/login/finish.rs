//! Finishing a login at the provider's callback: the state is consumed first, then the attempt's
//! bindings (path, browser cookie) are checked, and only then is the provider called; the user is
//! resolved (`super::resolve`) and the token issued (`super::issue`) — or the binding step offered.

use super::{bind, cookie_name, issue::issue, resolve, LoginError, Target};
use crate::crypto::{ct_eq, sha256_hex};
use crate::domain::Origin;
use crate::state::AppState;
use crate::store::{Attempt, Consumed};
use milogin_shared::ResultMessage;

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
    },
    /// The login failed after its destination was trusted: deliver `error`'s code to the target
    /// (its page answers 400 when [`LoginError::is_client_error`]).
    Fail {
        /// Where.
        target: Target,
        /// The widget's attempt id.
        attempt: String,
        /// Why.
        error: LoginError,
    },
    /// No trusted destination: a plain error page, nothing posted.
    Refuse(LoginError),
    /// The provider identity is not bound yet: the "link your Xiaomi account" page (item 4 of
    /// the accounts design), with its ticket cookie.
    Bind(Box<bind::Offer>),
}

/// Finishes a login. The state is consumed before anything else (and stays consumed on any
/// failure); the provider is called only after every local check passed.
pub async fn finish(
    st: &AppState,
    path_pool: &str,
    path_connection: &str,
    params: CallbackParams,
    cookie: impl Fn(&str) -> Option<String>,
) -> Finish {
    let Some(state) = params.state.filter(|s| !s.is_empty()) else {
        return Finish::Refuse(LoginError::StateMissing);
    };
    let state_hash = sha256_hex(&state);
    let now = st.clock.now();
    let consumed = st.store.consume_attempt(&state_hash, now).await;
    // Whatever the outcome, this state is no longer pending for its client's cap.
    st.limiters.pending_per_client.release(&state_hash);
    let attempt = match consumed {
        Ok(Consumed::Fresh(a)) => a,
        Ok(Consumed::Expired(a)) => return fail(st, &a, LoginError::StateExpired),
        Ok(Consumed::Replayed) => return Finish::Refuse(LoginError::StateUsed),
        Ok(Consumed::Unknown) => return Finish::Refuse(LoginError::StateUnknown),
        Err(e) => return Finish::Refuse(e.into()),
    };
    if attempt.dest.pool != *path_pool || attempt.connection != *path_connection {
        tracing::warn!(
            pool = path_pool,
            connection = path_connection,
            "state presented at another connection's callback"
        );
        return Finish::Refuse(LoginError::StateElsewhere);
    }
    let name = cookie_name(&state_hash, st.config.server.secure_cookies());
    let bound = cookie(&name).is_some_and(|v| ct_eq(&sha256_hex(&v), &attempt.binding_hash));
    if !bound {
        tracing::warn!("callback without this attempt's binding cookie");
        return fail(st, &attempt, LoginError::NotBound);
    }
    match complete(st, &attempt, params.code, params.error).await {
        Ok(Step::Done(message)) => Finish::Deliver {
            target: Target::recorded(st, &attempt.dest),
            message,
        },
        Ok(Step::Bind(offer)) => Finish::Bind(offer),
        Err(e) => fail(st, &attempt, e),
    }
}

fn fail(st: &AppState, a: &Attempt, error: LoginError) -> Finish {
    // The recorded origin (checked at authorize) names the site whose login failed.
    let d = &a.dest;
    tracing::info!(reason = error.code().as_str(), origin = d.origin.as_ref().map(Origin::as_str), pool = %d.pool, app = %d.app, "login refused");
    Finish::Fail {
        target: Target::recorded(st, d),
        attempt: d.attempt.to_string(),
        error,
    }
}

/// What the callback's work led to.
enum Step {
    /// A result to deliver.
    Done(ResultMessage),
    /// The binding page.
    Bind(Box<bind::Offer>),
}

/// After the state checks: the provider, the user, the token.
async fn complete(
    st: &AppState,
    a: &Attempt,
    code: Option<String>,
    error: Option<String>,
) -> Result<Step, LoginError> {
    if let Some(e) = error {
        tracing::info!(provider_error = %e.chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>(), "the provider returned an error");
        // The attempt's provider reads its own error codes (any provider: OAuth's `access_denied`).
        let declined = match st
            .config
            .pool(&a.dest.pool)
            .and_then(|p| p.connection(&a.connection))
        {
            Some(conn) => st.providers.of(conn)?.declined(&e),
            None => e == "access_denied",
        };
        return Err(match declined {
            true => LoginError::Declined,
            false => LoginError::CallbackError,
        });
    }
    let code = code
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(LoginError::BadCode)?;
    let pool = st.config.pool(&a.dest.pool).ok_or(LoginError::NotEnabled)?;
    let conn = pool
        .connection(&a.connection)
        .ok_or(LoginError::NotEnabled)?;
    if !pool
        .app(&a.dest.app)
        .is_some_and(|app| app.enables(&conn.unique_id))
    {
        return Err(LoginError::NotEnabled);
    }
    let callback = st.config.server.callback_url(&pool.id, &conn.unique_id);
    let provider = st.providers.of(conn)?;
    let identity = provider.identity(conn, &code, &callback).await?;
    let (user, new_user) = match resolve::resolve_user(st, pool, conn, &identity).await? {
        resolve::Resolved::User(user, new_user) => (user, new_user),
        resolve::Resolved::Bind { matched } => {
            let offer = bind::offer(st, a, conn, &identity, matched).await?;
            return Ok(Step::Bind(Box::new(offer)));
        }
    };
    let message = issue(st, pool, conn, &a.dest.app, &a.dest.attempt, user, new_user).await?;
    Ok(Step::Done(message))
}

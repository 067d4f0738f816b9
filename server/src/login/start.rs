//! Starting a login: the authorize request checked against the configuration
//! ([`validate_start`]), then the attempt recorded and the Xiaomi redirect built ([`start`]).

use super::{cookie_name, Target};
use crate::config::{App, Connection, Pool};
use crate::crypto::{random_token, sha256_hex};
use crate::domain::mode::Mode;
use crate::domain::{AppId, AttemptId, IdError, Origin, PoolId, UniqueId};
use crate::state::AppState;
use crate::store::Attempt;
use milogin_shared::ErrorCode;

/// The authorize query (each key at most once), its values parsed at the HTTP edge. A value that
/// does not parse is kept as its error, so [`validate_start`] refuses it in its usual order
/// (unknown pool and app first, then the origin, then the attempt).
#[derive(Debug, Default)]
pub struct AuthorizeQuery {
    /// App id (an id that breaks the rule names no app, like a missing one).
    pub app_id: Option<AppId>,
    /// Origin of the host page (popup mode).
    pub origin: Option<Result<Origin, &'static str>>,
    /// The widget's attempt id.
    pub attempt: Option<Result<AttemptId, IdError>>,
    /// `popup` (default) or `redirect`.
    pub mode: Option<String>,
    /// Redirect mode target.
    pub redirect_uri: Option<String>,
}

/// Why an authorize request is refused: code, message, and the target once it is trusted.
pub type StartRefusal = (ErrorCode, &'static str, Option<(Target, AttemptId)>);

/// The answer to an unknown pool, app or connection (also to a path id that cannot be one).
pub const UNKNOWN: &str =
    "Unknown pool, app or connection. Check the button's pool, app and connection attributes.";

/// Validates an authorize request against the configuration. `Err` carries the code, a message,
/// and — once the destination is trusted — the target to deliver the error to.
pub fn validate_start<'a>(
    st: &'a AppState,
    pool_id: &PoolId,
    uid: &UniqueId,
    q: &AuthorizeQuery,
) -> Result<Start<'a>, StartRefusal> {
    let not_found = (ErrorCode::ConnectionNotEnabled, UNKNOWN, None);
    let pool = st.config.pool(pool_id).ok_or(not_found.clone())?;
    let connection = pool.connection(uid).ok_or(not_found.clone())?;
    let app = q
        .app_id
        .as_ref()
        .and_then(|id| pool.app(id.as_str()))
        .ok_or(not_found)?;
    let target = target(app, q)?;
    let Some(Ok(attempt)) = q.attempt.clone() else {
        return Err((
            ErrorCode::InvalidRequest,
            "The attempt parameter must be 16–128 characters of A-Z, a-z, 0-9, '-', '_'.",
            None,
        ));
    };
    if !app.enables(uid) {
        return Err((
            ErrorCode::ConnectionNotEnabled,
            "This connection is not enabled for the app.",
            Some((target, attempt)),
        ));
    }
    Ok(Start {
        pool,
        app,
        connection,
        target,
        attempt,
    })
}

/// Where the result goes: the popup's registered origin, or a registered redirect URI.
fn target(app: &App, q: &AuthorizeQuery) -> Result<Target, StartRefusal> {
    let target =
        match q.mode.as_deref().map_or(Some(Mode::Popup), Mode::parse) {
            Some(Mode::Popup) => {
                let origin = q.origin.as_ref().ok_or((
                    ErrorCode::InvalidRequest,
                    "The origin parameter is required in popup mode.",
                    None,
                ))?;
                match origin {
                    Ok(o) if app.allows_origin(o) => Target::popup(Some(app), o.clone()),
                    // Not an origin at all, or not a registered one: the same answer.
                    _ => return Err((
                        ErrorCode::OriginNotAllowed,
                        "This site's origin is not registered for the app (pools.apps.origins).",
                        None,
                    )),
                }
            }
            Some(Mode::Redirect) => {
                let uri = q.redirect_uri.as_deref().ok_or((
                    ErrorCode::InvalidRequest,
                    "The redirect_uri parameter is required in redirect mode.",
                    None,
                ))?;
                if !app.allows_redirect_uri(uri) {
                    return Err((
                    ErrorCode::OriginNotAllowed,
                    "This redirect_uri is not registered for the app (pools.apps.redirect_uris).",
                    None,
                ));
                }
                Target::Redirect(uri.to_owned())
            }
            None => {
                return Err((
                    ErrorCode::InvalidRequest,
                    "mode must be popup or redirect.",
                    None,
                ))
            }
        };
    Ok(target)
}

/// A validated authorize request.
pub struct Start<'a> {
    /// The pool.
    pub pool: &'a Pool,
    /// The app.
    pub app: &'a App,
    /// The connection.
    pub connection: &'a Connection,
    /// Where the result goes.
    pub target: Target,
    /// The widget's attempt id.
    pub attempt: AttemptId,
}

/// What `start` hands back to the route: the cookie and where to send the browser.
pub struct Started {
    /// Cookie name.
    pub cookie_name: String,
    /// Cookie value (the binding secret).
    pub cookie_value: String,
    /// The Xiaomi authorize URL.
    pub location: String,
}

/// Why an attempt could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Too many logins are in progress (`limits.max_pending_attempts`).
    #[error("too many logins in progress")]
    Busy,
    /// Too many logins are in progress from this client's network (`limits.max_pending_per_client`).
    #[error("too many logins in progress from this client")]
    BusyClient,
    /// This attempt id was used before (ids are single use).
    #[error("attempt id already used")]
    Taken,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Records the attempt of `client` and builds the Xiaomi redirect.
pub async fn start(
    st: &AppState,
    s: &Start<'_>,
    client: std::net::IpAddr,
) -> Result<Started, StartError> {
    let state = random_token();
    let binding = random_token();
    let state_hash = sha256_hex(&state);
    let now = st.clock.now();
    let expires_at = now + st.config.server.attempt_ttl_secs as i64;
    // The client's own cap first: one network must not fill the global one.
    let per_client = &st.limiters.pending_per_client;
    if !per_client.admit(client, &state_hash, now, expires_at) {
        tracing::warn!(%client, "pending-attempt cap of this client reached");
        return Err(StartError::BusyClient);
    }
    if !st.limiters.pending.admit(st.store.as_ref(), now).await {
        per_client.release(&state_hash);
        return Err(StartError::Busy);
    }
    let (origin, mode, redirect_uri) = match &s.target {
        Target::Popup { origin, .. } => (origin.as_ref().map(Origin::to_string), Mode::Popup, None),
        Target::Redirect(u) => (None, Mode::Redirect, Some(u.clone())),
    };
    let attempt = Attempt {
        state_hash: state_hash.clone(),
        binding_hash: sha256_hex(&binding),
        pool: s.pool.id.to_string(),
        connection: s.connection.unique_id.to_string(),
        app: s.app.id.to_string(),
        origin,
        mode: mode.as_str().into(),
        redirect_uri,
        attempt: s.attempt.to_string(),
        created_at: now,
        expires_at,
    };
    if let Err(e) = st.store.insert_attempt(&attempt, now).await {
        per_client.release(&state_hash);
        return Err(match e {
            crate::store::StoreError::Taken(_) => StartError::Taken,
            e => e.into(),
        });
    }
    let callback = st
        .config
        .server
        .callback_url(&s.pool.id, &s.connection.unique_id);
    Ok(Started {
        cookie_name: cookie_name(&state_hash, st.config.server.secure_cookies()),
        cookie_value: binding,
        location: st.provider.authorize_url(s.connection, &callback, &state),
    })
}

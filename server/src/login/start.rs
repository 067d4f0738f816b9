//! Starting a login: the authorize request checked against the configuration
//! ([`validate_start`]), then the attempt recorded and the Xiaomi redirect built ([`start`]).

use super::{cookie_name, Target};
use crate::config::{App, Connection, Pool};
use crate::crypto::{random_token, sha256_hex};
use crate::domain::mode::Mode;
use crate::domain::{AppId, AttemptId, IdError, Origin, PoolId, UniqueId};
use crate::state::AppState;
use crate::store::{Attempt, Destination};
use milogin_shared::ErrorCode;

/// The authorize query (each key at most once), its values parsed at the HTTP edge. A value that
/// does not parse is kept as its error (the origin as the raw text, for the error page to name
/// it), so [`validate_start`] refuses it in its usual order (unknown pool and app first, then the
/// origin, then the attempt).
#[derive(Debug, Default)]
pub struct AuthorizeQuery {
    /// App id; `Err` holds the raw value of one that breaks the rule (it names no app, and the
    /// error page shows it).
    pub app_id: Option<Result<AppId, String>>,
    /// Origin of the host page (popup mode); `Err` holds the raw value.
    pub origin: Option<Result<Origin, String>>,
    /// The widget's attempt id.
    pub attempt: Option<Result<AttemptId, IdError>>,
    /// `popup` (default) or `redirect`.
    pub mode: Option<String>,
    /// Redirect mode target.
    pub redirect_uri: Option<String>,
    /// The widget's PKCE challenge (`S256`): the result comes back to a fragment (redirect mode,
    /// the return page) only as a one-time code that the tab holding the verifier redeems.
    pub code_challenge: Option<String>,
}

/// Why an authorize request is refused, with what the developer must fix (the popup's error
/// page names it: the refused origin and the key to add it to, the unknown pool, app or
/// connection). Values are as the request gave them: the page escapes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No pool with this id (`pools.id`).
    UnknownPool { pool: String },
    /// No connection with this Unique ID in the pool (`pools.connections.unique_id`).
    UnknownConnection { pool: String, connection: String },
    /// No app with this id in the pool (`pools.apps.id`); `None` when `app_id` is missing.
    UnknownApp { pool: String, app: Option<String> },
    /// Popup mode without `origin`.
    MissingOrigin,
    /// The origin is not in the app's `origins`.
    OriginNotAllowed {
        origin: String,
        pool: String,
        app: String,
    },
    /// Redirect mode without `redirect_uri`.
    MissingRedirectUri,
    /// The redirect URI is not in the app's `redirect_uris`.
    RedirectUriNotAllowed {
        uri: String,
        pool: String,
        app: String,
    },
    /// `mode` is neither `popup` nor `redirect`.
    BadMode,
    /// The attempt id is missing or malformed.
    BadAttempt,
    /// The connection exists but the app does not list it (`pools.apps.connections`).
    NotEnabled,
}

impl Refusal {
    /// The wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownPool { .. }
            | Self::UnknownConnection { .. }
            | Self::UnknownApp { .. }
            | Self::NotEnabled => ErrorCode::ConnectionNotEnabled,
            Self::OriginNotAllowed { .. } | Self::RedirectUriNotAllowed { .. } => {
                ErrorCode::OriginNotAllowed
            }
            Self::MissingOrigin | Self::MissingRedirectUri | Self::BadMode | Self::BadAttempt => {
                ErrorCode::InvalidRequest
            }
        }
    }

    /// The English sentence for the result message and the logs (no request values in it).
    pub fn message(&self) -> &'static str {
        match self {
            Self::UnknownPool { .. } | Self::UnknownConnection { .. } | Self::UnknownApp { .. } => {
                "Unknown pool, app or connection. Check the button's pool, app and connection attributes."
            }
            Self::MissingOrigin => "The origin parameter is required in popup mode.",
            Self::OriginNotAllowed { .. } => {
                "This site's origin is not registered for the app (pools.apps.origins)."
            }
            Self::MissingRedirectUri => "The redirect_uri parameter is required in redirect mode: add redirect_uri=… (one of the app's pools.apps.redirect_uris), or register one there.",
            Self::RedirectUriNotAllowed { .. } => {
                "This redirect_uri is not registered for the app (pools.apps.redirect_uris)."
            }
            Self::BadMode => "mode must be popup or redirect.",
            Self::BadAttempt => {
                "The attempt parameter must be 16–128 characters of A-Z, a-z, 0-9, '-', '_'."
            }
            Self::NotEnabled => "This connection is not enabled for the app.",
        }
    }
}

/// Why an authorize request is refused, and the target once it is trusted (boxed: the rare
/// path should not size every `Result`).
pub type StartRefusal = Box<(Refusal, Option<(Target, AttemptId)>)>;

/// Validates an authorize request against the configuration. `Err` carries the refusal and —
/// once the destination is trusted — the target to deliver the error to.
pub fn validate_start<'a>(
    st: &'a AppState,
    pool_id: &PoolId,
    uid: &UniqueId,
    q: &AuthorizeQuery,
) -> Result<Start<'a>, StartRefusal> {
    let pool = st.config.pool(pool_id).ok_or_else(|| {
        let pool = pool_id.to_string();
        Box::new((Refusal::UnknownPool { pool }, None))
    })?;
    let connection = pool.connection(uid).ok_or_else(|| {
        let (pool, connection) = (pool.id.to_string(), uid.to_string());
        Box::new((Refusal::UnknownConnection { pool, connection }, None))
    })?;
    let app = q
        .app_id
        .as_ref()
        .and_then(|id| pool.app(id.as_ref().ok()?.as_str()))
        .ok_or_else(|| {
            let app = q.app_id.as_ref().map(|a| match a {
                Ok(id) => id.to_string(),
                Err(raw) => raw.clone(),
            });
            let pool = pool.id.to_string();
            Box::new((Refusal::UnknownApp { pool, app }, None))
        })?;
    let target = target(pool, app, q).map_err(|r| Box::new((r, None)))?;
    let Some(Ok(attempt)) = q.attempt.clone() else {
        return Err(Box::new((Refusal::BadAttempt, None)));
    };
    if !app.enables(uid) {
        return Err(Box::new((Refusal::NotEnabled, Some((target, attempt)))));
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
fn target(pool: &Pool, app: &App, q: &AuthorizeQuery) -> Result<Target, Refusal> {
    let names = || (pool.id.to_string(), app.id.to_string());
    let target = match q.mode.as_deref().map_or(Some(Mode::Popup), Mode::parse) {
        Some(Mode::Popup) => match q.origin.as_ref().ok_or(Refusal::MissingOrigin)? {
            Ok(o) if app.allows_origin(o) => Target::popup(Some(app), o.clone()),
            // Not an origin at all, or not a registered one: the same answer.
            other => {
                let (pool, app) = names();
                let origin = match other {
                    Ok(o) => o.to_string(),
                    Err(raw) => raw.clone(),
                };
                return Err(Refusal::OriginNotAllowed { origin, pool, app });
            }
        },
        Some(Mode::Redirect) => {
            let uri = q
                .redirect_uri
                .as_deref()
                .ok_or(Refusal::MissingRedirectUri)?;
            if !app.allows_redirect_uri(uri) {
                let (pool, app) = names();
                let uri = uri.to_owned();
                return Err(Refusal::RedirectUriNotAllowed { uri, pool, app });
            }
            Target::Redirect(uri.to_owned())
        }
        Some(Mode::Oidc) | None => return Err(Refusal::BadMode),
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
    /// Too many logins are in progress from this client's network (`limits.max_pending_per_client`,
    /// `…_per_56`, `…_per_48`).
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
        Target::Popup { origin, .. } => (origin.clone(), Mode::Popup, None),
        Target::Redirect(u) => (None, Mode::Redirect, Some(u.clone())),
        Target::Oidc(u) => (None, Mode::Oidc, Some(u.clone())),
    };
    let attempt = Attempt {
        state_hash: state_hash.clone(),
        binding_hash: sha256_hex(&binding),
        connection: s.connection.unique_id.clone(),
        dest: Destination {
            pool: s.pool.id.clone(),
            app: s.app.id.clone(),
            attempt: s.attempt.clone(),
            mode,
            origin,
            redirect_uri,
        },
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

//! Starting a login: the authorize request checked against the configuration
//! ([`validate_start`]), then the attempt recorded and the provider's redirect built ([`start`]).

use super::{cookie_name, LoginError, Target};
use crate::config::{App, Connection, Pool};
use crate::crypto::{random_token, sha256_hex};
use crate::domain::mode::Mode;
use crate::domain::{AppId, AttemptId, IdError, Origin, PoolId, UniqueId};
use crate::oidc::pkce::Challenge;
use crate::state::AppState;
use crate::store::{Attempt, Destination, OidcRequest};
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
    /// Redirect mode without `code_challenge`: its result comes back through the page's address,
    /// so only as a one-time code that the tab holding the PKCE verifier redeems.
    MissingChallenge,
    /// `code_challenge` is not an `S256` challenge (43 characters of base64url).
    BadChallenge,
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
            Self::MissingOrigin
            | Self::MissingRedirectUri
            | Self::BadMode
            | Self::BadAttempt
            | Self::MissingChallenge
            | Self::BadChallenge => ErrorCode::InvalidRequest,
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
            Self::MissingChallenge => "Redirect mode needs code_challenge (PKCE S256): the result comes back as a one-time code that only the tab holding the verifier can redeem. Load milogin.js from this server on a secure page (https, or http://localhost: its button and loginPage() make the challenge with the browser's crypto.subtle, which other pages lack), or send an S256 code_challenge yourself and redeem the code at the pool's token endpoint.",
            Self::BadChallenge => "code_challenge must be a PKCE S256 challenge: 43 characters of A-Z, a-z, 0-9, '-', '_'.",
        }
    }
}

/// Validates an authorize request against the configuration: the pool, connection and app
/// exist, the origin or redirect URI is registered, the attempt id is well formed. (Whether the
/// app enables the connection is [`start`]'s first check: its refusal goes to the target.)
pub fn validate_start<'a>(
    st: &'a AppState,
    pool_id: &PoolId,
    uid: &UniqueId,
    q: &AuthorizeQuery,
) -> Result<Start<'a>, Refusal> {
    let pool = st
        .config
        .pool(pool_id)
        .ok_or_else(|| Refusal::UnknownPool {
            pool: pool_id.to_string(),
        })?;
    let connection = pool
        .connection(uid)
        .ok_or_else(|| Refusal::UnknownConnection {
            pool: pool.id.to_string(),
            connection: uid.to_string(),
        })?;
    let app = q
        .app_id
        .as_ref()
        .and_then(|id| pool.app(id.as_ref().ok()?.as_str()))
        .ok_or_else(|| Refusal::UnknownApp {
            pool: pool.id.to_string(),
            app: q.app_id.as_ref().map(|a| match a {
                Ok(id) => id.to_string(),
                Err(raw) => raw.clone(),
            }),
        })?;
    let target = target(pool, app, q)?;
    let Some(Ok(attempt)) = q.attempt.clone() else {
        return Err(Refusal::BadAttempt);
    };
    let challenge = challenge(&target, q.code_challenge.as_deref())?;
    Ok(Start {
        pool,
        app,
        connection,
        target,
        attempt,
        challenge,
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

/// The widget's PKCE challenge, kept when the result may come back through a page's address
/// (redirect mode: required; a popup with a return page: when sent). A popup without a return
/// page has no use for it.
fn challenge(target: &Target, sent: Option<&str>) -> Result<Option<Challenge>, Refusal> {
    // Empty is absent (RFC 6749 §3.1): a page without `crypto.subtle` (not a secure context)
    // sends `code_challenge=`, and its popup logins must still work.
    let parsed = sent
        .filter(|c| !c.is_empty())
        .map(Challenge::parse)
        .transpose();
    let challenge = parsed.map_err(|_| Refusal::BadChallenge)?;
    match target {
        Target::Redirect(_) => challenge.map(Some).ok_or(Refusal::MissingChallenge),
        Target::Popup {
            return_uri: Some(_),
            ..
        } => Ok(challenge),
        Target::Popup { .. } | Target::Oidc(_) => Ok(None),
    }
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
    /// The widget's PKCE challenge, for a result that comes back through a page's address
    /// (`crate::login::code::widget`).
    pub challenge: Option<Challenge>,
}

/// What `start` hands back to the route: the cookie and where to send the browser.
pub struct Started {
    /// Cookie name.
    pub cookie_name: String,
    /// Cookie value (the binding secret).
    pub cookie_value: String,
    /// The provider's authorize URL.
    pub location: String,
}

/// Records the attempt of `client` and builds the provider's redirect — when the app enables
/// the connection ([`LoginError::NotEnabled`] otherwise, before anything is counted).
pub async fn start(
    st: &AppState,
    s: &Start<'_>,
    client: std::net::IpAddr,
) -> Result<Started, LoginError> {
    if !s.app.enables(&s.connection.unique_id) {
        return Err(LoginError::NotEnabled);
    }
    let provider = st.providers.of(s.connection)?;
    let state = random_token();
    let binding = random_token();
    let state_hash = sha256_hex(&state);
    let now = st.clock.now();
    let expires_at = now + st.config.server.attempt_ttl_secs as i64;
    // The client's own cap first: one network must not fill the global one.
    let per_client = &st.limiters.pending_per_client;
    if !per_client.admit(client, &state_hash, now, expires_at) {
        tracing::warn!(%client, "pending-attempt cap of this client reached");
        return Err(LoginError::BusyClient);
    }
    if !st.limiters.pending.admit(st.store.as_ref(), now).await {
        per_client.release(&state_hash);
        return Err(LoginError::Busy);
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
            crate::store::StoreError::Taken(_) => LoginError::AttemptTaken,
            e => e.into(),
        });
    }
    if let Some(request) = widget_request(s, now) {
        if let Err(e) = st.store.insert_oidc_request(&request, now).await {
            per_client.release(&state_hash);
            return Err(e.into());
        }
    }
    let callback = st
        .config
        .server
        .callback_url(&s.pool.id, &s.connection.unique_id);
    Ok(Started {
        cookie_name: cookie_name(&state_hash, st.config.server.secure_cookies()),
        cookie_value: binding,
        location: provider.authorize_url(s.connection, &callback, &state),
    })
}

/// The request a widget login whose result comes back through a page's address carries to its
/// one-time code (`super::code::widget`): bound to that page, the attempt (as the nonce) and the
/// PKCE challenge.
fn widget_request(s: &Start<'_>, now: i64) -> Option<OidcRequest> {
    let (back, challenge) = (s.target.address()?, s.challenge.as_ref()?);
    Some(OidcRequest {
        attempt: s.attempt.clone(),
        pool: s.pool.id.clone(),
        client: s.app.id.clone(),
        redirect_uri: back.to_owned(),
        state: None,
        nonce: Some(s.attempt.as_str().to_owned()),
        challenge: Some(challenge.as_str().to_owned()),
        scope: "openid".to_owned(),
        expires_at: now + crate::oidc::REQUEST_LIFETIME_SECS,
    })
}

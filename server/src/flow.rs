//! The login flow between the HTTP edge and the parts: starting an attempt (state + browser
//! binding) and finishing it (consume state first, check every binding, call Xiaomi, resolve the
//! user, sign the token). Routes only translate HTTP in and out.

use crate::config::{App, Association, Connection, LoginMode, MatchField, Pool};
use crate::provider::{Contact, ProviderError, ProviderIdentity};
use crate::state::AppState;
use crate::store::{Attempt, Consumed, Identity, Link, NewUser, User};
use crate::token::Claims;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use milogin_shared::{self as wire, ErrorCode, Outcome, ResultMessage, UserInfo};
use sha2::{Digest, Sha256};

/// Longest accepted `code`, `state`, `error`, `error_description`.
pub const MAX_CODE: usize = 512;
const MAX_STATE: usize = 128;
const MAX_ERROR: usize = 128;
const MAX_ERROR_DESCRIPTION: usize = 1024;

/// A fresh user id: `u_` and 22 random base64url characters (132 bits).
pub fn new_user_id() -> String {
    format!("u_{}", &random_token()[..22])
}

/// 32 bytes from the OS CSPRNG, base64url (256 bits).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64.encode(b)
}

/// SHA-256, hex.
pub fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in d {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Constant-time comparison of two equal-length strings.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The name of the per-attempt binding cookie (derived from the state, so parallel logins in
/// one browser never overwrite each other). `__Host-` when served over https.
pub fn cookie_name(state_hash: &str, secure: bool) -> String {
    let prefix = if secure { "__Host-" } else { "" };
    format!("{prefix}milogin-{}", &state_hash[..16])
}

/// Where the result of an attempt goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The popup page posts to `origin` (its opener); when it has no opener left, it goes on to
    /// the app's return page for that origin, if one is registered.
    Popup {
        /// The registered origin recorded at authorize.
        origin: String,
        /// `pools.apps.return_uris` entry on `origin`.
        return_uri: Option<String>,
    },
    /// 302 to this registered URI with the result in the fragment.
    Redirect(String),
}

impl Target {
    /// The popup target for `origin` of `app` (with its return page, if registered).
    pub fn popup(app: Option<&App>, origin: String) -> Self {
        let return_uri = app.and_then(|a| a.return_uri(&origin)).map(str::to_owned);
        Self::Popup { origin, return_uri }
    }

    /// The target recorded with an attempt or a binding ticket.
    pub fn recorded(
        st: &AppState,
        (pool, app): (&str, &str),
        mode: &str,
        origin: Option<&String>,
        redirect_uri: Option<&String>,
    ) -> Self {
        match (redirect_uri, origin) {
            (Some(u), _) if mode == "redirect" => Self::Redirect(u.clone()),
            (_, o) => {
                let app = st.config.pool(pool).and_then(|p| p.app(app));
                Self::popup(app, o.cloned().unwrap_or_default())
            }
        }
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
    pub attempt: String,
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
        Target::Popup { origin, .. } => (Some(origin.clone()), "popup", None),
        Target::Redirect(u) => (None, "redirect", Some(u.clone())),
    };
    let attempt = Attempt {
        state_hash: state_hash.clone(),
        binding_hash: sha256_hex(&binding),
        pool: s.pool.id.clone(),
        connection: s.connection.unique_id.clone(),
        app: s.app.id.clone(),
        origin,
        mode: mode.into(),
        redirect_uri,
        attempt: s.attempt.clone(),
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

/// Parses the raw callback query: duplicates of a trusted parameter and oversized values are
/// refused; invalid percent-encoding decodes lossily and then fails validation.
pub fn parse_callback_query(raw: Option<&str>) -> Result<CallbackParams, &'static str> {
    let mut p = CallbackParams::default();
    let raw = raw.unwrap_or("");
    if raw.len() > 8192 {
        return Err("query too long");
    }
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let (slot, max) = match k.as_ref() {
            "code" => (&mut p.code, MAX_CODE),
            "state" => (&mut p.state, MAX_STATE),
            "error" => (&mut p.error, MAX_ERROR),
            "error_description" => (&mut p.error_description, MAX_ERROR_DESCRIPTION),
            _ => continue,
        };
        if slot.is_some() {
            return Err("a parameter appears twice");
        }
        if v.len() > max {
            return Err("a parameter is too long");
        }
        *slot = Some(v.into_owned());
    }
    Ok(p)
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
    Bind(Box<crate::binding::Offer>),
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
    if attempt.pool != path_pool || attempt.connection != path_connection {
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
        target: target_of(st, &attempt),
        message,
        client_error: false,
    }
}

fn target_of(st: &AppState, a: &Attempt) -> Target {
    Target::recorded(
        st,
        (&a.pool, &a.app),
        &a.mode,
        a.origin.as_ref(),
        a.redirect_uri.as_ref(),
    )
}

fn deliver_error(st: &AppState, a: &Attempt, code: ErrorCode, client_error: bool) -> Finish {
    Finish::Deliver {
        target: target_of(st, a),
        message: ResultMessage::failure(&a.attempt, code),
        client_error,
    }
}

/// What the callback's work led to.
enum Step {
    /// A result to deliver.
    Done(ResultMessage),
    /// The binding page.
    Bind(Box<crate::binding::Offer>),
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
        .pool(&a.pool)
        .ok_or(ErrorCode::ConnectionNotEnabled)?;
    let conn = pool
        .connection(&a.connection)
        .ok_or(ErrorCode::ConnectionNotEnabled)?;
    if !pool
        .app(&a.app)
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
    let (user, new_user) = match resolve_user(st, pool, conn, &identity).await? {
        Resolved::User(user, new_user) => (user, new_user),
        Resolved::Bind { matched } => {
            return crate::binding::offer(st, a, conn, &identity, matched)
                .await
                .map(|o| Step::Bind(Box::new(o)))
        }
    };
    success(st, pool, conn, &a.app, &a.attempt, user, new_user)
        .await
        .map(Step::Done)
}

/// Signs the id_token of a logged-in user and builds the success result (the callback and the
/// binding step end the same way).
pub(crate) async fn success(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    app: &str,
    attempt: &str,
    user: User,
    new_user: bool,
) -> Result<ResultMessage, ErrorCode> {
    let claims = Claims {
        iss: st.config.server.issuer(&pool.id),
        sub: user.id.clone(),
        aud: app.to_owned(),
        iat: st.clock.now(),
        exp: st.clock.now() + st.config.server.token_ttl_secs as i64,
        nonce: attempt.to_owned(),
        name: user.nickname.clone(),
        picture: user.avatar.clone(),
        idp: conn.unique_id.clone(),
    };
    let key = st
        .keys
        .signer(&pool.id, claims.iat)
        .await
        .ok_or(ErrorCode::Internal)?;
    tracing::info!(pool = %pool.id, connection = %conn.unique_id, user = %user.id, new_user, "login succeeded");
    Ok(ResultMessage {
        attempt: attempt.to_owned(),
        outcome: Outcome::Success {
            id_token: key.sign(&claims),
            user: UserInfo {
                id: user.id,
                nickname: user.nickname,
                avatar: user.avatar,
                connection: conn.unique_id.clone(),
                new_user,
            },
        },
    })
}

/// What logging in a Xiaomi identity leads to.
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
    /// No local user has Xiaomi's email or phone (or Xiaomi gave none).
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

/// Finds, links or creates the user of a Xiaomi identity according to the connection's login mode
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
) -> Result<Resolved, ErrorCode> {
    let now = st.clock.now();
    let internal = |e: crate::store::StoreError| {
        tracing::error!(error = %e, "store failed during login");
        ErrorCode::Internal
    };
    if let Some(user) = st
        .store
        .user_by_identity(&pool.id, &conn.unique_id, &id.subject)
        .await
        .map_err(internal)?
    {
        if user.disabled {
            return Err(ErrorCode::UserDisabled);
        }
        if user.nickname != id.nickname || user.avatar != id.avatar {
            st.store
                .update_profile(&user.id, &id.nickname, id.avatar.as_deref(), now)
                .await
                .map_err(internal)?;
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
                    .await
                    .map_err(internal)?
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
                return Err(ErrorCode::BindingRequired);
            }
        },
    }
    if conn.login_mode == LoginMode::LoginOnly {
        return Err(ErrorCode::UserNotFound);
    }
    let (user, created) = create_user(st, pool, conn, id).await?;
    Ok(Resolved::User(user, created))
}

/// The identity row of a provider identity.
pub(crate) fn identity_of(conn: &Connection, id: &ProviderIdentity, now: i64) -> Identity {
    Identity {
        connection: conn.unique_id.clone(),
        subject: id.subject.clone(),
        client_id: conn.app_id.clone(),
        union_id: id.union_id.clone(),
        created_at: now,
    }
}

/// Creates user + identity in one transaction (racing logins converge on one user).
pub(crate) async fn create_user(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    id: &ProviderIdentity,
) -> Result<(User, bool), ErrorCode> {
    let now = st.clock.now();
    let new = NewUser {
        id: new_user_id(),
        pool: pool.id.clone(),
        nickname: id.nickname.clone(),
        avatar: id.avatar.clone(),
    };
    let (user, created) = st
        .store
        .create_user_with_identity(&new, &identity_of(conn, id, now), now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "store failed during login");
            ErrorCode::Internal
        })?;
    if user.disabled {
        return Err(ErrorCode::UserDisabled);
    }
    Ok((user, created))
}

/// Compares Xiaomi's email and phone with the pool's users (T-13, X-50…X-59). Empty or invalid
/// values never match (they are `None` after normalisation); Xiaomi refusing the call (scope
/// not granted) skips matching; Xiaomi being unreachable fails the login, rather than silently
/// registering a second account for someone who has one.
async fn field_match(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    id: &ProviderIdentity,
) -> Result<FieldMatch, ErrorCode> {
    let contact = match st.provider.contact(conn, id).await {
        Ok(c) => c,
        Err(e @ ProviderError::Unavailable(_)) => {
            tracing::warn!(error = %e, connection = %conn.unique_id, "phoneAndEmail unavailable");
            return Err(e.code());
        }
        Err(e) => {
            tracing::info!(error = %e, connection = %conn.unique_id, "phoneAndEmail refused; field matching skipped");
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
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "store failed during field matching");
            ErrorCode::Internal
        })?;
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

/// Why an authorize request is refused: code, message, and the target once it is trusted.
pub type StartRefusal = (ErrorCode, &'static str, Option<(Target, String)>);

/// Validates an authorize request against the configuration. `Err` carries the code, a message,
/// and — once the destination is trusted — the target to deliver the error to.
pub fn validate_start<'a>(
    st: &'a AppState,
    pool_id: &str,
    uid: &str,
    q: &AuthorizeQuery,
) -> Result<Start<'a>, StartRefusal> {
    let not_found = (
        ErrorCode::ConnectionNotEnabled,
        "Unknown pool, app or connection. Check the button's pool, app and connection attributes.",
        None,
    );
    let pool = st.config.pool(pool_id).ok_or(not_found.clone())?;
    let connection = pool.connection(uid).ok_or(not_found.clone())?;
    let app = q
        .app_id
        .as_deref()
        .and_then(|id| pool.app(id))
        .ok_or(not_found)?;
    let target = match q.mode.as_deref().unwrap_or("popup") {
        "popup" => {
            let origin = q.origin.as_deref().ok_or((
                ErrorCode::InvalidRequest,
                "The origin parameter is required in popup mode.",
                None,
            ))?;
            if !app.allows_origin(origin) {
                return Err((
                    ErrorCode::OriginNotAllowed,
                    "This site's origin is not registered for the app (pools.apps.origins).",
                    None,
                ));
            }
            Target::popup(
                Some(app),
                crate::config::normalize_origin(origin).expect("allowed origins normalise"),
            )
        }
        "redirect" => {
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
        _ => {
            return Err((
                ErrorCode::InvalidRequest,
                "mode must be popup or redirect.",
                None,
            ))
        }
    };
    let attempt = q.attempt.clone().unwrap_or_default();
    if wire::validate_attempt(&attempt).is_err() {
        return Err((
            ErrorCode::InvalidRequest,
            "The attempt parameter must be 16–128 characters of A-Z, a-z, 0-9, '-', '_'.",
            None,
        ));
    }
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

/// The authorize query (each key at most once).
#[derive(Debug, Default)]
pub struct AuthorizeQuery {
    /// App id.
    pub app_id: Option<String>,
    /// Origin of the host page (popup mode).
    pub origin: Option<String>,
    /// The widget's attempt id.
    pub attempt: Option<String>,
    /// `popup` (default) or `redirect`.
    pub mode: Option<String>,
    /// Redirect mode target.
    pub redirect_uri: Option<String>,
}

/// Parses the authorize query; a repeated key or an oversized query is refused.
pub fn parse_authorize_query(raw: Option<&str>) -> Result<AuthorizeQuery, &'static str> {
    let raw = raw.unwrap_or("");
    if raw.len() > 4096 {
        return Err("query too long");
    }
    let mut q = AuthorizeQuery::default();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let slot = match k.as_ref() {
            "app_id" => &mut q.app_id,
            "origin" => &mut q.origin,
            "attempt" => &mut q.attempt,
            "mode" => &mut q.mode,
            "redirect_uri" => &mut q.redirect_uri,
            _ => continue,
        };
        if slot.is_some() {
            return Err("a parameter appears twice");
        }
        *slot = Some(v.into_owned());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_query_keeps_only_trusted_parameters() {
        let p = parse_callback_query(Some(
            "code=c&state=s&origin=https://evil&redirect_uri=x&mode=redirect",
        ))
        .unwrap();
        assert_eq!(
            p,
            CallbackParams {
                code: Some("c".into()),
                state: Some("s".into()),
                error: None,
                error_description: None
            }
        );
        assert!(parse_callback_query(Some("code=a&code=b&state=s")).is_err());
        assert!(parse_callback_query(Some("state=a&state=a")).is_err());
        assert!(
            parse_callback_query(Some(&format!("code={}&state=s", "a".repeat(MAX_CODE + 1))))
                .is_err()
        );
        assert!(parse_callback_query(Some(&"x".repeat(9000))).is_err());
        assert_eq!(
            parse_callback_query(Some("state=%ZZ"))
                .unwrap()
                .state
                .as_deref(),
            Some("%ZZ")
        );
        assert_eq!(
            parse_callback_query(None).unwrap(),
            CallbackParams::default()
        );
    }

    #[test]
    fn random_tokens_are_256_bit_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        let set: std::collections::HashSet<String> = (0..10_000).map(|_| random_token()).collect();
        assert_eq!(set.len(), 10_000);
    }

    #[test]
    fn cookie_names_are_per_attempt() {
        let h = sha256_hex("state");
        assert_eq!(
            cookie_name(&h, true),
            format!("__Host-milogin-{}", &h[..16])
        );
        assert_ne!(
            cookie_name(&sha256_hex("other"), false),
            cookie_name(&h, false)
        );
    }
}

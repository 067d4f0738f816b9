//! Application state shared by every handler (cheap to clone) and the injectable clock.

use crate::config::Config;
use crate::keys::Keys;
use crate::provider::Provider;
use crate::store::Store;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Everything a request needs. Clone is a few `Arc` bumps.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Arc<dyn Store>,
    /// The identity provider (Xiaomi).
    pub provider: Arc<dyn Provider>,
    /// Per-pool signing keys (cached; the database is the truth, see `crate::keys`).
    pub keys: Arc<Keys>,
    /// Wall clock (tests inject a fixed one).
    pub clock: Arc<dyn Clock>,
    /// Prometheus counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Per-client rate limits and caps.
    pub limiters: Arc<Limiters>,
}

/// One rate limiter per protected route.
pub struct Limiters {
    /// `/authorize`.
    pub authorize: crate::limits::RateLimiter,
    /// `/callback`.
    pub callback: crate::limits::RateLimiter,
    /// The binding form.
    pub binding: crate::limits::RateLimiter,
    /// The bound on pending attempts.
    pub pending: crate::limits::PendingCap,
    /// The bound on pending attempts per client prefix.
    pub pending_per_client: crate::limits::ClientPending,
    /// `/pools/{pool}/userinfo`.
    pub userinfo: crate::limits::RateLimiter,
    /// The experience-login pages (`…/try`, `…/try/identity`), at the authorize rate.
    pub try_pages: crate::limits::RateLimiter,
    /// Wrong admin passwords: 10 per client per 15 minutes, then 429 (guessing the token).
    pub admin_failures: crate::limits::RateLimiter,
}

/// A source of "now", in Unix seconds.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that tests move by hand; starts at the real time.
#[derive(Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starts at the current real time.
    pub fn new() -> Self {
        Self(AtomicI64::new(SystemClock.now()))
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// The configuration would orphan bound users.
    #[error("{0}")]
    Orphans(String),
}

impl AppState {
    /// Opens the store, loads the signing keys, builds the Xiaomi client.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let store = crate::store::open(&config.server.database_url).await?;
        Self::with_store(config, store, clock).await
    }

    /// Same as [`AppState::build`] with a given store.
    pub async fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        let orphans: Vec<String> = store
            .bound_connections()
            .await?
            .into_iter()
            .filter(|(p, c)| config.pool(p).and_then(|pool| pool.connection(c)).is_none())
            .map(|(p, c)| format!("{p}/{c}"))
            .collect();
        if !orphans.is_empty() {
            return Err(StartError::Orphans(format!(
                "users are bound to connection(s) {} that the configuration no longer defines. A Unique ID cannot be renamed or removed once identities use it: put the connection back (same pool and unique_id), or delete those users first with `milogin user delete`.",
                orphans.join(", ")
            )));
        }
        let keys = Keys::load(
            store.clone(),
            config.pools.iter().map(|p| p.id.as_str()),
            clock.now(),
            config.server.token_ttl_secs,
        )
        .await?;
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let provider = Arc::new(crate::provider::xiaomi::Xiaomi::new(
            &config.xiaomi,
            &config.limits,
            metrics.clone(),
        )?);
        let l = &config.limits;
        let limiters = Arc::new(Limiters {
            authorize: crate::limits::RateLimiter::new(l.authorize_per_minute),
            callback: crate::limits::RateLimiter::new(l.callback_per_minute),
            binding: crate::limits::RateLimiter::new(l.binding_per_minute),
            pending: crate::limits::PendingCap::new(l.max_pending_attempts),
            pending_per_client: crate::limits::ClientPending::new(l.max_pending_per_client),
            userinfo: crate::limits::RateLimiter::new(l.userinfo_per_minute),
            try_pages: crate::limits::RateLimiter::new(l.authorize_per_minute),
            admin_failures: crate::limits::RateLimiter::per_window(
                10,
                std::time::Duration::from_secs(15 * 60),
            ),
        });
        Ok(Self {
            config: Arc::new(config),
            store,
            provider,
            keys: Arc::new(keys),
            clock,
            metrics,
            limiters,
        })
    }
}

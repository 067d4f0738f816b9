//! Application state shared by every handler (cheap to clone) and the injectable clock. Built
//! only in `crate::startup`.

use crate::config::Config;
use crate::keys::Keys;
use crate::provider::Providers;
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
    /// The identity-provider clients, one per configured kind (`providers.of(connection)`).
    pub providers: Providers,
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
    /// `/pools/{pool}/oidc/token`.
    pub token: crate::limits::RateLimiter,
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

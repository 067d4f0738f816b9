//! Abuse protection that lives in one process: per-IP token buckets for the login routes, and a
//! circuit breaker that makes logins fail fast while Xiaomi is down (X-87…X-90).
//!
//! Both are per replica on purpose: a limit per replica still bounds every client, and neither
//! holds state another replica needs to finish a login.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

/// A token bucket per client IP: `per_minute` tokens, refilled continuously.
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per IP per minute (and bursts of that size).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; `Err(wait)` when the bucket is empty.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let rate = self.per_minute / 60.0;
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_BUCKETS {
            let cap = self.per_minute;
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
        }
        let (tokens, at) = map.entry(ip).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

/// Opens after `threshold` consecutive outages; while open, callers fail fast; after the
/// cool-down one call goes through (half-open) and its outcome closes or re-opens it.
pub struct Breaker {
    threshold: u32,
    cooldown_ms: i64,
    failures: AtomicU32,
    open_until_ms: AtomicI64,
    epoch: Instant,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown_ms: cooldown.as_millis() as i64,
            failures: AtomicU32::new(0),
            open_until_ms: AtomicI64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.epoch.elapsed().as_millis() as i64
    }

    /// True when a call may go out now. In the half-open state only the first caller gets through.
    pub fn allow(&self) -> bool {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now_ms();
        // Half-open: one caller moves the deadline forward and tries.
        now >= until
            && self
                .open_until_ms
                .compare_exchange(
                    until,
                    now + self.cooldown_ms,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// Xiaomi answered (even with an error body): close.
    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until_ms.store(0, Ordering::Release);
    }

    /// Xiaomi was unavailable: count, and open at the threshold.
    pub fn failure(&self) {
        let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if n >= self.threshold {
            self.open_until_ms
                .store(self.now_ms() + self.cooldown_ms, Ordering::Release);
        }
    }
}

/// Bounds the attempt store: new logins are refused while more than `max` attempts are
/// pending. The count is read from the database at most every 2 seconds and counted up locally
/// in between, so the check costs nothing on the hot path.
pub struct PendingCap {
    max: i64,
    cached: AtomicI64,
    read_at: AtomicI64,
}

impl PendingCap {
    /// A cap of `max` pending attempts.
    pub fn new(max: i64) -> Self {
        Self {
            max,
            cached: AtomicI64::new(0),
            read_at: AtomicI64::new(0),
        }
    }

    /// True when one more attempt may start (and counts it).
    pub async fn admit(&self, store: &dyn crate::store::Store, now: i64) -> bool {
        let read_at = self.read_at.load(Ordering::Acquire);
        if now.saturating_sub(read_at) >= 2
            && self
                .read_at
                .compare_exchange(read_at, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            if let Ok(n) = store.pending_attempts(now).await {
                self.cached.store(n, Ordering::Release);
            }
        }
        self.cached.fetch_add(1, Ordering::AcqRel) < self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_a_burst_then_refill() {
        let l = RateLimiter::new(3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(ip, t0).is_ok());
        }
        let wait = l.check_at(ip, t0).unwrap_err();
        assert!(
            wait <= Duration::from_secs(20) && wait > Duration::from_secs(19),
            "{wait:?}"
        );
        assert!(
            l.check_at("192.0.2.2".parse().unwrap(), t0).is_ok(),
            "other IPs are not affected"
        );
        assert!(l.check_at(ip, t0 + Duration::from_secs(21)).is_ok());
    }

    #[test]
    fn breaker_opens_fails_fast_and_half_opens_once() {
        let b = Breaker::new(2, Duration::from_millis(40));
        assert!(b.allow());
        b.failure();
        assert!(b.allow());
        b.failure();
        assert!(!b.allow(), "open after two outages");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow(), "half-open: one probe");
        assert!(!b.allow(), "only one probe at a time");
        b.success();
        assert!(b.allow());
    }
}

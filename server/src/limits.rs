//! Abuse protection that lives in one process: per-client token buckets for the login routes and
//! the caps on pending attempts (X-87…X-90). The circuit breaker for Xiaomi is the provider's
//! (`crate::provider::xiaomi::breaker`).
//!
//! All are per replica on purpose: a limit per replica still bounds every client, and none
//! holds state another replica needs to finish a login. A client is its
//! [`crate::domain::client_addr::bucket_key`] (an IPv4 address, an IPv6 /64).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

/// A token bucket per client: `capacity` tokens, refilled continuously over `window`.
pub struct RateLimiter {
    capacity: f64,
    /// Tokens per second.
    rate: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per client per minute (and bursts of that size).
    pub fn new(per_minute: u32) -> Self {
        Self::per_window(per_minute, Duration::from_secs(60))
    }

    /// A limiter allowing `n` requests per client per `window` (and bursts of that size).
    pub fn per_window(n: u32, window: Duration) -> Self {
        let capacity = f64::from(n.max(1));
        Self {
            capacity,
            rate: capacity / window.as_secs_f64().max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`'s client key; `Err(wait)` when the bucket is empty.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    /// `Some(wait)` when `ip`'s bucket is empty, without taking a token (a throttle that counts
    /// only failures asks this first, then [`RateLimiter::check`]s on each failure).
    pub fn exhausted(&self, ip: IpAddr) -> Option<Duration> {
        let (tokens, wait) = self.peek(ip, Instant::now());
        (tokens < 1.0).then_some(wait)
    }

    fn peek(&self, ip: IpAddr, now: Instant) -> (f64, Duration) {
        let map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = map
            .get(&crate::domain::client_addr::bucket_key(ip))
            .map_or(self.capacity, |(t, at)| {
                (t + now.duration_since(*at).as_secs_f64() * self.rate).min(self.capacity)
            });
        (tokens, self.wait(tokens))
    }

    fn wait(&self, tokens: f64) -> Duration {
        Duration::from_secs_f64((1.0 - tokens).max(0.0) / self.rate)
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let (cap, rate) = (self.capacity, self.rate);
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_BUCKETS {
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
        }
        let key = crate::domain::client_addr::bucket_key(ip);
        let (tokens, at) = map.entry(key).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(self.wait(*tokens))
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

/// Caps pending attempts per client: without it a few hundred addresses could fill
/// [`PendingCap`] and lock everyone out. Per replica and in memory (a client spread over `n`
/// replicas may hold `n × max` attempts, still bounded). An attempt counts until its state is
/// consumed on this replica ([`ClientPending::release`]) or it expires.
pub struct ClientPending {
    max: usize,
    inner: Mutex<ClientPendingInner>,
}

#[derive(Default)]
struct ClientPendingInner {
    /// Client key → (expiry, state hash) of its pending attempts.
    by_client: HashMap<IpAddr, Vec<(i64, String)>>,
    /// State hash → client key, to release an attempt when its callback arrives.
    owner: HashMap<String, IpAddr>,
}

impl ClientPendingInner {
    /// Drops the expired attempts of `key` (all clients when `key` is `None`).
    fn sweep(&mut self, key: Option<IpAddr>, now: i64) {
        let owner = &mut self.owner;
        let mut prune = |list: &mut Vec<(i64, String)>| {
            list.retain(|(exp, hash)| {
                let live = *exp > now;
                if !live {
                    owner.remove(hash);
                }
                live
            });
            !list.is_empty()
        };
        match key {
            Some(k) => {
                if let Some(list) = self.by_client.get_mut(&k) {
                    if !prune(list) {
                        self.by_client.remove(&k);
                    }
                }
            }
            None => self.by_client.retain(|_, list| prune(list)),
        }
    }
}

impl ClientPending {
    /// At most `max` pending attempts per client.
    pub fn new(max: u32) -> Self {
        Self {
            max: max.max(1) as usize,
            inner: Mutex::default(),
        }
    }

    /// Records the attempt `state_hash` (pending until `expires`) for `ip`'s client; `false`
    /// (nothing recorded) when that client already has `max` pending attempts.
    pub fn admit(&self, ip: IpAddr, state_hash: &str, now: i64, expires: i64) -> bool {
        let key = crate::domain::client_addr::bucket_key(ip);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.by_client.len() >= MAX_BUCKETS {
            inner.sweep(None, now);
        }
        inner.sweep(Some(key), now);
        let list = inner.by_client.entry(key).or_default();
        if list.len() >= self.max {
            return false;
        }
        list.push((expires, state_hash.to_owned()));
        inner.owner.insert(state_hash.to_owned(), key);
        true
    }

    /// The attempt is no longer pending (consumed, or never stored).
    pub fn release(&self, state_hash: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = inner.owner.remove(state_hash) {
            if let Some(list) = inner.by_client.get_mut(&key) {
                list.retain(|(_, h)| h != state_hash);
                if list.is_empty() {
                    inner.by_client.remove(&key);
                }
            }
        }
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
    fn buckets_key_ipv6_by_64_and_count_only_what_is_checked() {
        let l = RateLimiter::per_window(2, Duration::from_secs(900));
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2::99".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.check_at(a, t0).is_ok());
        assert!(l.check_at(same_64, t0).is_ok());
        assert!(l.check_at(a, t0).is_err(), "one /64 shares a bucket");
        assert!(l.check_at(other_64, t0).is_ok(), "another /64 does not");
        assert!(l.exhausted(same_64).is_some());
        assert!(l.exhausted("192.0.2.1".parse().unwrap()).is_none());
    }

    #[test]
    fn pending_attempts_are_capped_per_client_and_released() {
        let c = ClientPending::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(c.admit(a, "h1", 100, 700));
        assert!(c.admit(a, "h2", 100, 700));
        assert!(!c.admit(a, "h3", 100, 700), "a's network is full");
        assert!(c.admit(b, "h4", 100, 700), "b is not affected");
        c.release("h1");
        assert!(
            c.admit(a, "h5", 100, 700),
            "a consumed attempt frees its slot"
        );
        assert!(!c.admit(a, "h6", 100, 700));
        assert!(
            c.admit(a, "h7", 700, 1300),
            "expired attempts no longer count"
        );
    }
}

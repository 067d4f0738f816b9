//! Abuse protection that lives in one process: per-client token buckets for the login routes and
//! the caps on pending attempts (X-87…X-90). The circuit breaker for Xiaomi is the provider's
//! (`crate::provider::xiaomi::breaker`).
//!
//! All are per replica on purpose: a limit per replica still bounds every client, and none
//! holds state another replica needs to finish a login. A client is its
//! [`crate::domain::client_addr::bucket_key`] (an IPv4 address, an IPv6 /64); pending attempts
//! are also capped per IPv6 /56 and /48.

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

/// Caps pending attempts per client and, for IPv6, per enclosing network (issue 18):
/// without it a few hundred addresses could fill [`PendingCap`] and lock everyone out, and one
/// IPv6 allocation holds thousands of /64 "clients" (a /48 has 65,536). So an IPv6 attempt
/// counts against its /64, its /56 and its /48, each with its own cap; an IPv4 attempt against
/// its address. Per replica and in memory (a client spread over `n` replicas may hold `n × max`
/// attempts, still bounded). An attempt counts until its state is consumed on this replica
/// ([`ClientPending::release`]) or it expires.
pub struct ClientPending {
    caps: PendingCaps,
    inner: Mutex<ClientPendingInner>,
}

/// The per-network caps of [`ClientPending`] (`limits.max_pending_per_client`, `…_per_56`,
/// `…_per_48`).
#[derive(Debug, Clone, Copy)]
pub struct PendingCaps {
    /// Per IPv4 address / IPv6 /64.
    pub client: u32,
    /// Per IPv6 /56.
    pub v6_56: u32,
    /// Per IPv6 /48.
    pub v6_48: u32,
}

/// A network an attempt counts against: its prefix length and its address with the host bits
/// cleared.
type Net = (u8, IpAddr);

#[derive(Default)]
struct ClientPendingInner {
    /// Network → (expiry, state hash) of its pending attempts.
    by_net: HashMap<Net, Vec<(i64, String)>>,
    /// State hash → the networks it counts against, to release an attempt when its callback
    /// arrives.
    owner: HashMap<String, Vec<Net>>,
}

impl ClientPendingInner {
    /// Drops the expired attempts of `net` (all networks when `net` is `None`).
    fn sweep(&mut self, net: Option<Net>, now: i64) {
        let prune = |list: &mut Vec<(i64, String)>| {
            list.retain(|(exp, _)| *exp > now);
            !list.is_empty()
        };
        match net {
            Some(k) => {
                if let Some(list) = self.by_net.get_mut(&k) {
                    if !prune(list) {
                        self.by_net.remove(&k);
                    }
                }
            }
            None => {
                self.by_net.retain(|_, list| prune(list));
                let live: std::collections::HashSet<&String> =
                    self.by_net.values().flatten().map(|(_, h)| h).collect();
                self.owner.retain(|h, _| live.contains(h));
            }
        }
    }
}

/// `ip` with all but its first `bits` bits cleared.
fn prefix(ip: std::net::Ipv6Addr, bits: u8) -> IpAddr {
    let mask = !(u128::MAX >> bits);
    IpAddr::V6(std::net::Ipv6Addr::from(u128::from(ip) & mask))
}

impl ClientPending {
    /// At most `caps.client` pending attempts per client, and per IPv6 /56 and /48 the others.
    pub fn new(caps: PendingCaps) -> Self {
        Self {
            caps,
            inner: Mutex::default(),
        }
    }

    /// The networks `ip` counts against, each with its cap.
    fn nets(&self, ip: IpAddr) -> Vec<(Net, usize)> {
        let client = (crate::domain::client_addr::bucket_key(ip), self.caps.client);
        match client.0 {
            IpAddr::V4(_) => vec![((32, client.0), client.1 as usize)],
            IpAddr::V6(v6) => vec![
                ((64, client.0), client.1 as usize),
                ((56, prefix(v6, 56)), self.caps.v6_56 as usize),
                ((48, prefix(v6, 48)), self.caps.v6_48 as usize),
            ],
        }
    }

    /// Records the attempt `state_hash` (pending until `expires`) for `ip`'s client; `false`
    /// (nothing recorded) when that client, or an IPv6 network around it, is at its cap.
    pub fn admit(&self, ip: IpAddr, state_hash: &str, now: i64, expires: i64) -> bool {
        let nets = self.nets(ip);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.by_net.len() >= MAX_BUCKETS {
            inner.sweep(None, now);
        }
        for (net, max) in &nets {
            inner.sweep(Some(*net), now);
            if inner.by_net.get(net).map_or(0, Vec::len) >= (*max).max(1) {
                return false;
            }
        }
        for (net, _) in &nets {
            inner
                .by_net
                .entry(*net)
                .or_default()
                .push((expires, state_hash.to_owned()));
        }
        inner.owner.insert(
            state_hash.to_owned(),
            nets.into_iter().map(|(n, _)| n).collect(),
        );
        true
    }

    /// The attempt is no longer pending (consumed, or never stored).
    pub fn release(&self, state_hash: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for net in inner.owner.remove(state_hash).unwrap_or_default() {
            if let Some(list) = inner.by_net.get_mut(&net) {
                list.retain(|(_, h)| h != state_hash);
                if list.is_empty() {
                    inner.by_net.remove(&net);
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

    fn caps(client: u32, v6_56: u32, v6_48: u32) -> PendingCaps {
        PendingCaps {
            client,
            v6_56,
            v6_48,
        }
    }

    #[test]
    fn ipv6_attempts_count_against_their_64_56_and_48() {
        let c = ClientPending::new(caps(1, 2, 3));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(c.admit(ip("2001:db8:1:1::1"), "a", 100, 700));
        assert!(
            !c.admit(ip("2001:db8:1:1::2"), "b", 100, 700),
            "the /64 is full"
        );
        assert!(c.admit(ip("2001:db8:1:2::1"), "c", 100, 700));
        assert!(
            !c.admit(ip("2001:db8:1:3::1"), "d", 100, 700),
            "the /56 is full"
        );
        assert!(
            c.admit(ip("2001:db8:1:100::1"), "e", 100, 700),
            "another /56"
        );
        assert!(
            !c.admit(ip("2001:db8:1:200::1"), "f", 100, 700),
            "the /48 is full"
        );
        assert!(c.admit(ip("2001:db8:2::1"), "g", 100, 700), "another /48");
        c.release("a");
        assert!(
            c.admit(ip("2001:db8:1:200::1"), "h", 100, 700),
            "released everywhere"
        );
        assert!(
            c.admit(ip("2001:db8:1:200::1"), "i", 700, 1300),
            "expired ones no longer count"
        );
    }

    #[test]
    fn pending_attempts_are_capped_per_client_and_released() {
        let c = ClientPending::new(caps(2, 1, 1));
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

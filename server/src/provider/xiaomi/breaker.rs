//! The circuit breaker in front of Xiaomi: while Xiaomi is down, logins fail fast instead of
//! piling up on timeouts. Part of the provider because only the provider knows what an
//! outage is (a transport error or a 5xx, not an error body).

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, Instant};

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

#[cfg(test)]
mod tests {
    use super::*;

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

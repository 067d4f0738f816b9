//! Prometheus metrics, rendered by hand in the text exposition format (no extra dependency):
//! logins by outcome and error code, Xiaomi call latency by endpoint and status, rate-limited
//! requests, and (computed at scrape time) pending attempts.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Process-wide counters (per replica; Prometheus sums them).
#[derive(Default)]
pub struct Metrics {
    logins: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    xiaomi: Mutex<BTreeMap<(&'static str, u16), Histogram>>,
    limited: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one finished login: `code` is `"none"` on success.
    pub fn login(&self, ok: bool, code: &'static str) {
        let key = (if ok { "success" } else { "error" }, code);
        *self
            .logins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    /// Records one call to Xiaomi; `status` 0 means no HTTP answer (timeout, connect error).
    pub fn xiaomi_call(&self, endpoint: &'static str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut map = self.xiaomi.lock().unwrap_or_else(|e| e.into_inner());
        let h = map.entry((endpoint, status)).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Counts a request refused by a rate limit.
    pub fn limited(&self, route: &'static str) {
        *self
            .limited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(route)
            .or_default() += 1;
    }

    /// The exposition text. `store`: statements run and transactions committed by the store,
    /// where it counts them (SQLite).
    pub fn render(&self, pending_attempts: Option<i64>, store: Option<(u64, u64)>) -> String {
        let mut out = String::new();
        out.push_str("# HELP milogin_logins_total Finished logins by outcome and error code.\n# TYPE milogin_logins_total counter\n");
        for ((outcome, code), n) in self.logins.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "milogin_logins_total{{outcome=\"{outcome}\",code=\"{code}\"}} {n}"
            );
        }
        out.push_str("# HELP milogin_xiaomi_request_duration_seconds Calls to Xiaomi by endpoint and HTTP status (0 = no answer).\n# TYPE milogin_xiaomi_request_duration_seconds histogram\n");
        for ((endpoint, status), h) in self.xiaomi.lock().unwrap_or_else(|e| e.into_inner()).iter()
        {
            let labels = format!("endpoint=\"{endpoint}\",status=\"{status}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "milogin_xiaomi_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "milogin_xiaomi_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "milogin_xiaomi_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "milogin_xiaomi_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP milogin_rate_limited_total Requests refused by a per-IP rate limit.\n# TYPE milogin_rate_limited_total counter\n");
        for (route, n) in self
            .limited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "milogin_rate_limited_total{{route=\"{route}\"}} {n}");
        }
        if let Some(p) = pending_attempts {
            out.push_str("# HELP milogin_attempts_pending Login attempts started and not yet finished or expired.\n# TYPE milogin_attempts_pending gauge\n");
            let _ = writeln!(out, "milogin_attempts_pending {p}");
        }
        if let Some((statements, commits)) = store {
            out.push_str("# HELP milogin_store_statements_total SQL statements run by the store (transaction control included).\n# TYPE milogin_store_statements_total counter\n");
            let _ = writeln!(out, "milogin_store_statements_total {statements}");
            out.push_str("# HELP milogin_store_commits_total Transactions the store committed (one per batch of calls).\n# TYPE milogin_store_commits_total counter\n");
            let _ = writeln!(out, "milogin_store_commits_total {commits}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.login(true, "none");
        m.login(false, "access_denied");
        m.login(false, "access_denied");
        m.xiaomi_call("token", 200, Duration::from_millis(30));
        m.xiaomi_call("token", 200, Duration::from_millis(3));
        let t = m.render(Some(7), Some((12, 3)));
        assert!(
            t.contains("milogin_logins_total{outcome=\"error\",code=\"access_denied\"} 2"),
            "{t}"
        );
        assert!(t.contains("milogin_xiaomi_request_duration_seconds_bucket{endpoint=\"token\",status=\"200\",le=\"0.005\"} 1"));
        assert!(t.contains("milogin_xiaomi_request_duration_seconds_bucket{endpoint=\"token\",status=\"200\",le=\"0.05\"} 2"));
        assert!(t.contains(
            "milogin_xiaomi_request_duration_seconds_count{endpoint=\"token\",status=\"200\"} 2"
        ));
        assert!(t.contains("milogin_attempts_pending 7"));
        assert!(t.contains("milogin_store_statements_total 12\n"));
        assert!(t.contains("milogin_store_commits_total 3\n"));
    }
}

//! The server's store counters, read from its `/metrics` (Prometheus text) at level boundaries
//! only, so the load generator's cost per flow does not change: `milogin_store_statements_total`
//! and `milogin_store_commits_total`. A server without them (or a peer) gives `None`, which the
//! report prints as `-` / `null`.

use std::time::Duration;

/// The statement counter.
pub const STATEMENTS: &str = "milogin_store_statements_total";
/// The commit counter.
pub const COMMITS: &str = "milogin_store_commits_total";

/// The store counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StoreCounters {
    /// Statements run so far (every label set summed).
    pub statements: Option<f64>,
    /// Transactions committed so far (every label set summed).
    pub commits: Option<f64>,
}

impl StoreCounters {
    /// Per flow between `before` and `self`; `None` where either side lacks the counter.
    pub fn per_flow_since(&self, before: &Self, flows: u64) -> (Option<f64>, Option<f64>) {
        let per = |a: Option<f64>, b: Option<f64>| Some((a? - b?) / flows.max(1) as f64);
        (
            per(self.statements, before.statements),
            per(self.commits, before.commits),
        )
    }
}

/// The sum of every sample of counter `name` in Prometheus text, `None` when it has none.
pub fn sample_sum(text: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // `name value`, `name{labels} value`; not `name_other …`.
        let rest = match rest.chars().next() {
            Some('{') => rest.split_once('}').map_or("", |(_, v)| v),
            Some(' ' | '\t') => rest,
            _ => continue,
        };
        // An optional timestamp may follow the value.
        if let Some(v) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *sum.get_or_insert(0.0) += v;
        }
    }
    sum
}

/// Parses a `/metrics` body.
pub fn parse(text: &str) -> StoreCounters {
    StoreCounters {
        statements: sample_sum(text, STATEMENTS),
        commits: sample_sum(text, COMMITS),
    }
}

/// Reads `base/metrics`; any failure reads as "no counters" (the figures print as `-`).
pub async fn scrape(http: &reqwest::Client, base: &str) -> StoreCounters {
    let response = http
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => r.text().await.map(|t| parse(&t)).unwrap_or_default(),
        Ok(r) => {
            eprintln!(
                "note: {base}/metrics answered {}; statements per login not measured",
                r.status()
            );
            StoreCounters::default()
        }
        Err(e) => {
            eprintln!("note: {base}/metrics: {e}; statements per login not measured");
            StoreCounters::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, sample_sum, StoreCounters};

    const TEXT: &str = "# HELP milogin_store_statements_total Statements run.
# TYPE milogin_store_statements_total counter
milogin_store_statements_total{store=\"sqlite\",kind=\"read\"} 120
milogin_store_statements_total{store=\"sqlite\",kind=\"write\"} 30 1700000000000
milogin_store_statements_total_extra 999
milogin_store_commits_total 40
milogin_logins_total{outcome=\"success\",code=\"none\"} 10
";

    #[test]
    fn counters_sum_every_label_set_and_skip_other_metrics() {
        assert_eq!(
            sample_sum(TEXT, "milogin_store_statements_total"),
            Some(150.0)
        );
        assert_eq!(sample_sum(TEXT, "milogin_store_commits_total"), Some(40.0));
        assert_eq!(sample_sum(TEXT, "milogin_attempts_pending"), None);
    }

    #[test]
    fn per_flow_figures_need_both_readings() {
        let before = StoreCounters {
            statements: Some(100.0),
            commits: Some(10.0),
        };
        let after = parse(TEXT);
        assert_eq!(after.per_flow_since(&before, 10), (Some(5.0), Some(3.0)));
        // Today's server has no store counters.
        let none = parse("milogin_logins_total{outcome=\"success\",code=\"none\"} 10\n");
        assert_eq!(none.per_flow_since(&none, 10), (None, None));
        assert_eq!(after.per_flow_since(&none, 10), (None, None));
    }
}

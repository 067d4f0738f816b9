//! The figures of a run: per level, then one table and one JSON line for the whole run; with a
//! peer, both runs side by side and their ratios.

use crate::LevelRun;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The figures of one concurrency level.
pub struct Level {
    /// Virtual users.
    pub concurrency: usize,
    /// Flows completed (successful or not).
    pub flows: u64,
    /// Failed flows.
    pub errors: u64,
    /// The first failure.
    pub first_error: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Successful flows per second.
    pub flows_per_s: f64,
    /// Whole-flow latency percentiles of successful flows, milliseconds: p50, p90, p99, max.
    pub latency_ms: [f64; 4],
    /// Server CPU (user + system) during the level, milliseconds.
    pub server_cpu_ms: f64,
    /// Load generator + mock CPU during the level, milliseconds.
    pub client_cpu_ms: f64,
    /// Peak resident set size of the server during the level, KiB.
    pub server_peak_rss_kib: u64,
    /// CPU of the database's processes during the level (PostgreSQL), milliseconds.
    pub database_cpu_ms: Option<f64>,
    /// Store statements per flow (`/metrics`), when the server counts them.
    pub statements_per_flow: Option<f64>,
    /// Store commits per flow (`/metrics`), when the server counts them.
    pub commits_per_flow: Option<f64>,
}

/// `v` with `decimals`, or `-` when not measured.
fn or_dash(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

/// The value at quantile `q` of sorted values (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Level {
    /// Summarises a level.
    pub fn new(
        concurrency: usize,
        mut r: LevelRun,
        server_cpu_ms: f64,
        client_cpu_ms: f64,
        server_peak_rss_kib: u64,
    ) -> Self {
        r.latencies_us.sort_unstable();
        let ms = |q: f64| quantile(&r.latencies_us, q) as f64 / 1000.0;
        let seconds = r.wall.as_secs_f64();
        Self {
            concurrency,
            flows: r.flows,
            errors: r.errors,
            first_error: r.first_error,
            seconds,
            flows_per_s: r.latencies_us.len() as f64 / seconds.max(1e-9),
            latency_ms: [ms(0.50), ms(0.90), ms(0.99), ms(1.0)],
            server_cpu_ms,
            client_cpu_ms,
            server_peak_rss_kib,
            database_cpu_ms: None,
            statements_per_flow: None,
            commits_per_flow: None,
        }
    }

    /// Adds the database's CPU during the level (`None`: in the server's process, or not seen).
    pub fn with_database_cpu_ms(mut self, ms: Option<f64>) -> Self {
        self.database_cpu_ms = ms;
        self
    }

    /// Database CPU per flow, milliseconds.
    pub fn database_cpu_ms_per_flow(&self) -> Option<f64> {
        self.database_cpu_ms.map(|ms| ms / self.flows.max(1) as f64)
    }

    /// Adds the store's statements and commits per flow (`None`: not counted by the server).
    pub fn with_store_counters(
        mut self,
        (statements, commits): (Option<f64>, Option<f64>),
    ) -> Self {
        self.statements_per_flow = statements;
        self.commits_per_flow = commits;
        self
    }

    /// Server CPU per flow, milliseconds.
    pub fn server_cpu_ms_per_flow(&self) -> f64 {
        self.server_cpu_ms / self.flows.max(1) as f64
    }

    /// Load generator CPU per flow, milliseconds.
    pub fn client_cpu_ms_per_flow(&self) -> f64 {
        self.client_cpu_ms / self.flows.max(1) as f64
    }

    /// One progress line for standard error.
    pub fn progress(&self) -> String {
        format!(
            "c={}: {} flows in {:.1} s, {:.0}/s, p99 {:.2} ms, server {:.3} ms CPU/flow, {} errors{}",
            self.concurrency,
            self.flows,
            self.seconds,
            self.flows_per_s,
            self.latency_ms[2],
            self.server_cpu_ms_per_flow(),
            self.errors,
            self.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default()
        )
    }

    fn json(&self) -> Value {
        let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
        json!({
            "concurrency": self.concurrency,
            "flows": self.flows,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": r3(self.seconds),
            "flows_per_s": r3(self.flows_per_s),
            "p50_ms": r3(self.latency_ms[0]),
            "p90_ms": r3(self.latency_ms[1]),
            "p99_ms": r3(self.latency_ms[2]),
            "max_ms": r3(self.latency_ms[3]),
            "server_cpu_ms_per_flow": r3(self.server_cpu_ms_per_flow()),
            "client_cpu_ms_per_flow": r3(self.client_cpu_ms_per_flow()),
            "database_cpu_ms_per_flow": self.database_cpu_ms_per_flow().map(r3),
            "server_peak_rss_mib": r3(self.server_peak_rss_kib as f64 / 1024.0),
            "statements_per_login": self.statements_per_flow.map(r3),
            "commits_per_login": self.commits_per_flow.map(r3),
        })
    }
}

/// A whole run against one server.
pub struct Run {
    /// `milogin` or `peer <name>`.
    pub server: String,
    /// The server's store: `sqlite` or `postgres`.
    pub store: &'static str,
    /// `new` or `returning`.
    pub mix: &'static str,
    /// Mock Xiaomi accounts.
    pub accounts: u64,
    /// Users written before the server started.
    pub users_prepopulated: u64,
    /// Users in the store at the end.
    pub users_after: i64,
    /// Identities in the store at the end.
    pub identities_after: i64,
    /// Server on CPU 0, load generator on CPU 1.
    pub pinned: bool,
    /// `--seconds`.
    pub seconds: u64,
    /// `--max-flows`.
    pub max_flows: u64,
    /// The server's `RUST_LOG`.
    pub server_log: String,
    /// The machine: CPUs, CPU model, memory, and the load average when the run started (other
    /// work on the machine skews every figure).
    pub machine: crate::procfs::Machine,
    /// Every level, in order.
    pub levels: Vec<Level>,
}

impl Run {
    /// The human table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} full-login benchmark: store {}, mix {}, {} accounts, {} pre-populated users ({} users at the end), {}, RUST_LOG={}",
            self.server,
            self.store,
            self.mix,
            self.accounts,
            self.users_prepopulated,
            self.users_after,
            if self.pinned { "server pinned to CPU 0, load to CPU 1" } else { "unpinned" },
            self.server_log
        );
        let m = &self.machine;
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), {} MiB; load average at start {}",
            m.cpus, m.cpu_model, m.mem_mib, m.loadavg_at_start
        );
        let _ = writeln!(
            out,
            "{:>5} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>13} {:>12} {:>13} {:>10} {:>11} {:>13} {:>6}",
            "conc",
            "flows",
            "flows/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "srv CPU ms/fl",
            "db CPU ms/fl",
            "gen CPU ms/fl",
            "peak MiB",
            "stmts/login",
            "commits/login",
            "errors"
        );
        for l in &self.levels {
            let _ = writeln!(
                out,
                "{:>5} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>13.3} {:>12} {:>13.3} {:>10.1} {:>11} {:>13} {:>6}",
                l.concurrency,
                l.flows,
                l.flows_per_s,
                l.latency_ms[0],
                l.latency_ms[1],
                l.latency_ms[2],
                l.latency_ms[3],
                l.server_cpu_ms_per_flow(),
                or_dash(l.database_cpu_ms_per_flow(), 3),
                l.client_cpu_ms_per_flow(),
                l.server_peak_rss_kib as f64 / 1024.0,
                or_dash(l.statements_per_flow, 2),
                or_dash(l.commits_per_flow, 2),
                l.errors
            );
        }
        for l in self.levels.iter().filter(|l| l.errors > 0) {
            let _ = writeln!(
                out,
                "c={}: first error: {}",
                l.concurrency,
                l.first_error.as_deref().unwrap_or("?")
            );
        }
        out
    }

    /// The whole run on one line of JSON.
    pub fn json(&self) -> String {
        self.value().to_string()
    }

    fn value(&self) -> Value {
        json!({
            "bench": "milogin-full-login",
            "server": self.server,
            "store": self.store,
            "mix": self.mix,
            "accounts": self.accounts,
            "users_prepopulated": self.users_prepopulated,
            "users_after": self.users_after,
            "identities_after": self.identities_after,
            "pinned": self.pinned,
            "seconds": self.seconds,
            "max_flows": self.max_flows,
            "server_log": self.server_log,
            "machine": {
                "cpus": self.machine.cpus,
                "cpu_model": self.machine.cpu_model,
                "mem_mib": self.machine.mem_mib,
                "loadavg_at_start": self.machine.loadavg_at_start,
            },
            "levels": self.levels.iter().map(Level::json).collect::<Vec<_>>(),
        })
    }
}

/// How many times better milogin is than the peer at one level: CPU per login, logins/s, p99
/// and peak RSS (each > 1 when milogin is better).
struct Ratio {
    concurrency: usize,
    cpu: f64,
    throughput: f64,
    p99: f64,
    rss: f64,
}

fn ratios(milogin: &Run, peer: &Run) -> Vec<Ratio> {
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    milogin
        .levels
        .iter()
        .filter_map(|m| {
            let p = peer
                .levels
                .iter()
                .find(|p| p.concurrency == m.concurrency)?;
            Some(Ratio {
                concurrency: m.concurrency,
                cpu: div(p.server_cpu_ms_per_flow(), m.server_cpu_ms_per_flow()),
                throughput: div(m.flows_per_s, p.flows_per_s),
                p99: div(p.latency_ms[2], m.latency_ms[2]),
                rss: div(p.server_peak_rss_kib as f64, m.server_peak_rss_kib as f64),
            })
        })
        .collect()
}

/// Both servers per level, and the ratio (peer ÷ milogin for costs, milogin ÷ peer for
/// logins/s).
pub fn comparison(peer_name: &str, milogin: &Run, peer: &Run) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "side by side (same mock, load generator and {}):",
        if milogin.pinned {
            "core: each server alone on CPU 0"
        } else {
            "machine, unpinned"
        }
    );
    let _ = writeln!(
        out,
        "{:>5} {:<18} {:>13} {:>9} {:>8} {:>10} {:>6}",
        "conc", "server", "CPU ms/login", "logins/s", "p99 ms", "peak MiB", "errors"
    );
    for m in &milogin.levels {
        let rows = std::iter::once(("milogin", m)).chain(
            peer.levels
                .iter()
                .filter(|p| p.concurrency == m.concurrency)
                .map(|p| (peer_name, p)),
        );
        for (name, l) in rows {
            let _ = writeln!(
                out,
                "{:>5} {:<18} {:>13.3} {:>9.0} {:>8.2} {:>10.1} {:>6}",
                l.concurrency,
                name,
                l.server_cpu_ms_per_flow(),
                l.flows_per_s,
                l.latency_ms[2],
                l.server_peak_rss_kib as f64 / 1024.0,
                l.errors
            );
        }
    }
    for r in ratios(milogin, peer) {
        let _ = writeln!(
            out,
            "c={}: milogin uses {:.1}× less CPU per login, serves {:.1}× the logins/s, {:.1}× lower p99, {:.1}× less peak RSS",
            r.concurrency, r.cpu, r.throughput, r.p99, r.rss
        );
    }
    out
}

/// Both runs and the ratios on one line of JSON.
pub fn comparison_json(peer_name: &str, milogin: &Run, peer: &Run) -> String {
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    json!({
        "bench": "milogin-vs-peer",
        "peer": peer_name,
        "milogin": milogin.value(),
        "peer_run": peer.value(),
        "ratios": ratios(milogin, peer).iter().map(|r| json!({
            "concurrency": r.concurrency,
            "cpu_per_login_peer_over_milogin": r2(r.cpu),
            "logins_per_s_milogin_over_peer": r2(r.throughput),
            "p99_peer_over_milogin": r2(r.p99),
            "peak_rss_peer_over_milogin": r2(r.rss),
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::{or_dash, quantile, ratios, Level, Run};

    #[test]
    fn unmeasured_store_counters_print_as_a_dash() {
        assert_eq!(or_dash(None, 2), "-");
        assert_eq!(or_dash(Some(7.0), 2), "7.00");
    }
    use crate::procfs::Machine;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), 50);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 1.0), 100);
        assert_eq!(quantile(&[7], 0.01), 7);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    fn run(server: &str, cpu_ms: f64, flows_per_s: f64, p99: f64, rss_kib: u64) -> Run {
        let level = Level {
            concurrency: 32,
            flows: 1000,
            errors: 0,
            first_error: None,
            seconds: 1000.0 / flows_per_s,
            flows_per_s,
            latency_ms: [1.0, 2.0, p99, p99],
            server_cpu_ms: cpu_ms * 1000.0,
            client_cpu_ms: 0.0,
            server_peak_rss_kib: rss_kib,
            database_cpu_ms: None,
            statements_per_flow: None,
            commits_per_flow: None,
        };
        Run {
            server: server.into(),
            store: "sqlite",
            mix: "new",
            accounts: 1,
            users_prepopulated: 0,
            users_after: 0,
            identities_after: 0,
            pinned: true,
            seconds: 1,
            max_flows: 1,
            server_log: "info".into(),
            machine: Machine {
                cpus: 2,
                cpu_model: String::new(),
                mem_mib: 0,
                loadavg_at_start: String::new(),
            },
            levels: vec![level],
        }
    }

    #[test]
    fn ratios_say_how_many_times_better_milogin_is() {
        let r = ratios(
            &run("milogin", 0.5, 1000.0, 40.0, 16 * 1024),
            &run("peer", 2.0, 400.0, 120.0, 160 * 1024),
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].concurrency, 32);
        assert!((r[0].cpu - 4.0).abs() < 1e-9);
        assert!((r[0].throughput - 2.5).abs() < 1e-9);
        assert!((r[0].p99 - 3.0).abs() < 1e-9);
        assert!((r[0].rss - 10.0).abs() < 1e-9);
    }
}

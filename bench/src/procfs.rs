//! What Linux says about a process: CPU time (`/proc/<pid>/stat`; of a process tree, for the
//! PostgreSQL cluster), peak resident memory
//! (`VmHWM` in `/proc/<pid>/status`, reset through `clear_refs`), and CPU pinning with `taskset`.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The fields of `/proc/<pid>/stat` after the command name: index 0 is the state (field 3),
/// 1 the parent pid, 11 utime, 12 stime, 13 cutime, 14 cstime.
fn stat_fields(pid: u32) -> Result<Vec<u64>, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    parse_stat(&stat).ok_or_else(|| format!("malformed /proc/{pid}/stat"))
}

/// The first 15 [`stat_fields`] of a `stat` line (the state letter and negative numbers, such
/// as a missing terminal's -1, read as 0).
fn parse_stat(stat: &str) -> Option<Vec<u64>> {
    // The command name (field 2) may hold spaces and parentheses; the fields after the last ")"
    // are space-separated numbers.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<u64> = rest
        .split_whitespace()
        .take(15)
        .enumerate()
        .map(|(i, v)| match i {
            0 => Some(0),
            _ => v.parse::<i64>().ok().map(|n| n.max(0) as u64),
        })
        .collect::<Option<_>>()?;
    (fields.len() == 15).then_some(fields)
}

/// utime + stime of the whole process (every thread, live or exited), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let f = stat_fields(pid)?;
    Ok(f[11] + f[12])
}

/// CPU of `pid` and every child it started, live or exited (and reaped), in clock ticks: for a
/// PostgreSQL cluster, the postmaster's pid gives every backend and background process.
pub fn tree_cpu_ticks(pid: u32) -> Result<u64, String> {
    let f = stat_fields(pid)?;
    let mut ticks = f[11] + f[12] + f[13] + f[14];
    let procs = std::fs::read_dir("/proc").map_err(|e| format!("cannot list /proc: {e}"))?;
    for child in procs.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        // A process may exit between the listing and the read; it is then in the reaped sum.
        if let Ok(c) = stat_fields(child) {
            if c[1] == u64::from(pid) {
                ticks += c[11] + c[12] + c[13] + c[14];
            }
        }
    }
    Ok(ticks)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every common Linux).
fn clk_tck() -> u64 {
    static TCK: OnceLock<u64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// Clock ticks as milliseconds.
pub fn ticks_to_ms(ticks: u64) -> f64 {
    ticks as f64 * 1000.0 / clk_tck() as f64
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Peak resident set size since start or the last [`reset_peak_rss`], KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0; silently nothing when refused).
pub fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// True when `taskset` exists and this machine has `cpu`.
pub fn can_pin(cpu: usize) -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > cpu)
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Pins this process's main thread (and so every thread it starts afterwards) to `cpu`.
pub fn pin_self(cpu: usize) -> bool {
    can_pin(cpu)
        && Command::new("taskset")
            .args([
                "-p",
                "-c",
                &cpu.to_string(),
                &std::process::id().to_string(),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// What the report says about the machine.
pub struct Machine {
    /// CPUs in `/proc/cpuinfo`.
    pub cpus: usize,
    /// `model name` of the first CPU in `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `MemTotal`, MiB.
    pub mem_mib: u64,
    /// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
    pub loadavg_at_start: String,
}

impl Machine {
    /// Reads `/proc`; unknown values stay empty or zero.
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        Self {
            // Not `available_parallelism`: that is 1 once this process is pinned.
            cpus: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count(),
            cpu_model,
            mem_mib: mem_kib / 1024,
            loadavg_at_start: load
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stat_lines_parse_after_the_last_parenthesis() {
        let line = "4242 (postgres: a (b) c) S 4000 4242 4242 0 -1 4194560 100 0 0 0 7 3 5 2 20 0 1 0 1000 1000000 100 18446744073709551615";
        let f = super::parse_stat(line).unwrap();
        assert_eq!(f[1], 4000, "parent pid");
        assert_eq!((f[11], f[12], f[13], f[14]), (7, 3, 5, 2));
        assert!(super::parse_stat("4242 (x) S 1 2").is_none());
    }
}

//! A throw-away PostgreSQL for the test suite and the benchmark: installed with apt when missing (as root), a
//! cluster in a temporary folder, trust auth, on a free loopback port; stopped and deleted on drop.
//! PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running temporary cluster.
pub struct TempPostgres {
    dir: PathBuf,
    bin: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The folder holding `initdb`, `pg_ctl`, `postgres` (Debian keeps them off PATH).
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .collect();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .find(|b| b.join("initdb").is_file())
}

/// True when PostgreSQL's server programs are installed.
pub fn installed() -> bool {
    bin_dir().is_some()
}

/// Installs PostgreSQL with apt when absent (root only), else explains what to install.
pub fn ensure_installed() -> Result<PathBuf, String> {
    if let Some(b) = bin_dir() {
        return Ok(b);
    }
    if !is_root() {
        return Err("PostgreSQL is not installed; run `sudo apt-get install -y postgresql` (the tests start their own temporary cluster)".into());
    }
    crate::process::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    bin_dir().ok_or_else(|| {
        "apt installed postgresql but no initdb was found under /usr/lib/postgresql".into()
    })
}

fn as_postgres(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// The test suite's settings: nothing written to disk is waited for (fast, not durable).
const TEST_SETTINGS: &str = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";

/// The benchmark's settings: commits are not waited for (like milogin's SQLite with
/// `synchronous = NORMAL` in WAL mode), but checkpoints and the WAL writer do `fsync`, as in
/// production.
const BENCH_SETTINGS: &str = "-c synchronous_commit=off";

impl TempPostgres {
    /// Creates and starts a cluster with the test suite's settings.
    pub fn start() -> Result<Self, String> {
        Self::start_with(TEST_SETTINGS)
    }

    /// Creates and starts a cluster with the benchmark's settings.
    pub fn start_for_bench() -> Result<Self, String> {
        Self::start_with(BENCH_SETTINGS)
    }

    fn start_with(settings: &str) -> Result<Self, String> {
        let bin = ensure_installed()?;
        let dir = std::env::temp_dir().join(format!("milogin-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if is_root() {
            crate::process::run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
            )?;
        }
        let data = dir.join("data");
        crate::process::run(
            as_postgres(&bin, "initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "-D",
                ])
                .arg(&data)
                .stdout(std::process::Stdio::null()),
        )?;
        let port = free_port()?;
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} {settings} -c max_connections=300",
            dir.display()
        );
        crate::process::run(
            as_postgres(&bin, "pg_ctl")
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .args(["-l"])
                .arg(dir.join("log"))
                .args(["-o", &opts, "start"])
                .stdout(std::process::Stdio::null()),
        )?;
        Ok(Self {
            dir,
            bin,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        })
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .args(["-D"])
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

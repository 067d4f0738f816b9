//! The benchmark's world: the in-process mock Xiaomi with generated accounts, a configuration
//! in a temporary folder with the run's empty database (a SQLite file there, or a scratch
//! PostgreSQL database: `db.rs`; optionally pre-populated with users), and the server as a child process (optionally pinned to CPU 0): `milogin serve`, or a peer app from
//! `bench/peers/<name>/` run with Node against the same mock.

use crate::db::{Db, StoreKind};
use crate::login::{Kind, Target, APP, CONN, ORIGIN, POOL};
use crate::Args;
use milogin_server::config::fixture::{
    AppBuilder, ConfigBuilder, ConnectionBuilder, PoolBuilder, Secret,
};
use milogin_server::config::Limits;
use milogin_server::mock_xiaomi::{
    Mock, MockAccount, MockConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `--store postgres` without a database to run on.
pub const NO_DATABASE_URL: &str =
    "--store postgres needs --database-url postgres://USER@HOST:PORT/DB \
     (the bench creates and drops its own database on that server); \
     `cargo xtask bench --store postgres` starts a throw-away PostgreSQL and passes it";

/// How long the server may take to answer `/readyz` after it started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The id of mock account number `n` (what the consent form posts).
pub fn account_id(n: u64) -> String {
    format!("a{n:08}")
}

/// `n` generated Xiaomi accounts, each with its own openId and unionId.
fn accounts(n: u64) -> Vec<MockAccount> {
    (0..n)
        .map(|i| MockAccount {
            id: account_id(i),
            open_id: format!("2.0bench{i:012}"),
            union_id: format!("ubench{i:012}"),
            nickname: format!("Bench User {i}"),
            avatar: format!("https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/bench{i}.jpg"),
            email: String::new(),
            phone: String::new(),
        })
        .collect()
}

/// The mock Xiaomi, serving in this process until dropped.
pub struct MockXiaomi {
    /// `http://127.0.0.1:port` of the mock.
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockXiaomi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the mock with `accounts_n` generated accounts (and the demo client, any redirect URI).
pub async fn start_mock(accounts_n: u64) -> Result<MockXiaomi, String> {
    let mock = Mock::new(MockConfig {
        accounts: accounts(accounts_n),
        ..MockConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("mock listener: {e}"))?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let task = tokio::spawn(async move {
        let _ = mock.serve(listener).await;
    });
    Ok(MockXiaomi { base, task })
}

/// A running server under test; it is killed and its folder removed on drop.
pub struct Env {
    /// Which server this is.
    pub kind: Kind,
    /// `http://127.0.0.1:port` of the server.
    pub base: String,
    mock_base: String,
    log: PathBuf,
    server: Child,
    /// Dropped after the server is killed (a PostgreSQL scratch database is dropped then).
    db: Db,
    dir: Option<tempfile::TempDir>,
}

impl Env {
    /// The server's process id (the same process when started through `taskset`, which execs).
    pub fn server_pid(&self) -> u32 {
        self.server.id()
    }

    /// The temporary folder.
    pub fn dir_path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new(""), tempfile::TempDir::path)
    }

    /// What the flows need (fetches the JWKS).
    pub async fn target(&self) -> Result<Target, String> {
        Target::new(self.kind, self.base.clone(), self.mock_base.clone()).await
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The PostgreSQL cluster's postmaster on this machine (see [`Db::cluster_pid`]).
    pub async fn database_pid(&self) -> Option<u32> {
        self.db.cluster_pid().await
    }

    /// `(users, identities)` in the database now.
    pub async fn rows(&self) -> (i64, i64) {
        self.db.rows().await
    }

    /// Stops the server and the mock; with `keep`, leaves the folder in place.
    pub fn stop(mut self, keep: bool) {
        if keep {
            if let Some(d) = self.dir.take() {
                let _ = d.keep();
            }
            self.db.keep();
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Finds the server binary: as given, else relative to the workspace this bench was built in.
fn server_bin(given: &Path) -> Result<PathBuf, String> {
    if given.is_file() {
        return Ok(given.to_owned());
    }
    let in_workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(given);
    if given.is_relative() && in_workspace.is_file() {
        return Ok(in_workspace);
    }
    Err(format!("no server binary at {}: build it with `cargo build --release -p milogin-server` or pass --server-bin", given.display()))
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The configuration: one pool, app and connection against the mock; limits out of the way.
fn config_text(port: u16, mock_base: &str, database_url: &str, widget_dir: &Path) -> String {
    let mut file = ConfigBuilder::on_loopback(port, database_url).mock_xiaomi(mock_base);
    file.server.widget_dir = Some(widget_dir.display().to_string());
    file.xiaomi.timeout_ms = Some(10_000);
    let secret = Secret::File("secret.txt".into());
    let limits = Limits {
        authorize_per_minute: 1_000_000_000,
        callback_per_minute: 1_000_000_000,
        binding_per_minute: 1_000_000_000,
        max_pending_attempts: 1_000_000_000,
        max_pending_per_client: 1_000_000_000,
        max_connections_per_client: 1_000_000,
        ..Limits::default()
    };
    file.limits(limits)
        .pool(
            PoolBuilder::new(POOL)
                .app(AppBuilder::new(APP, ORIGIN, &[CONN]))
                .connection(ConnectionBuilder::xiaomi(CONN, DEMO_CLIENT_ID, secret)),
        )
        .render()
}

/// Starts `milogin serve` against the mock at `mock_base` and waits until it is ready.
pub async fn start(args: &Args, mock_base: &str, pinned: bool) -> Result<Env, String> {
    let bin = server_bin(&args.server_bin)?;
    let dir = temp_dir("milogin-bench-")?;
    let port = free_port()?;
    let db = match (args.store, &args.database_url) {
        (StoreKind::Sqlite, _) => Db::sqlite(dir.path().join("milogin.db")),
        (StoreKind::Postgres, Some(url)) => Db::postgres(url).await?,
        (StoreKind::Postgres, None) => return Err(NO_DATABASE_URL.into()),
    };
    let database_url = db.url();
    std::fs::write(dir.path().join("secret.txt"), DEMO_CLIENT_SECRET).map_err(|e| e.to_string())?;
    let config = dir.path().join("milogin.toml");
    std::fs::write(
        &config,
        config_text(port, mock_base, &database_url, &dir.path().join("widget")),
    )
    .map_err(|e| e.to_string())?;
    // Migrations, then the users, then the server (which finds its schema up to date).
    if args.users > 0 {
        db.prepopulate(args.users).await?;
    }

    let log = dir.path().join("server.log");
    let mut cmd = pinned_command(&bin, pinned);
    cmd.args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", &args.server_log);
    let server = spawn(cmd, &log, &bin.display().to_string())?;
    let env = Env {
        kind: Kind::Milogin,
        base: format!("http://127.0.0.1:{port}"),
        mock_base: mock_base.to_owned(),
        log,
        server,
        db,
        dir: Some(dir),
    };
    wait_ready(env).await
}

/// The folder of peer `name`: `bench/peers/<name>` under the current folder, else beside this
/// crate's sources; it must hold `server.js` and its installed `node_modules`.
pub fn peer_dir(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "--peer {name:?}: a peer is a folder name under bench/peers/ (e.g. express-passport)"
        ));
    }
    let candidates = [
        Path::new("bench/peers").join(name),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("peers")
            .join(name),
    ];
    let dir = candidates
        .iter()
        .find(|d| d.join("server.js").is_file())
        .ok_or_else(|| {
            format!("--peer {name}: no bench/peers/{name}/server.js (run from the repository root)")
        })?;
    if !dir.join("node_modules").is_dir() {
        return Err(format!(
            "--peer {name}: {} has no node_modules: run `npm ci` there (`cargo xtask bench --peer {name}` does)",
            dir.display()
        ));
    }
    Ok(dir.clone())
}

/// Starts the peer app in `peer` (`node server.js`, `NODE_ENV=production`) against the mock at
/// `mock_base`, with its own SQLite file, and waits until it is ready.
pub async fn start_peer(
    args: &Args,
    peer: &Path,
    mock_base: &str,
    pinned: bool,
) -> Result<Env, String> {
    let dir = temp_dir("milogin-bench-peer-")?;
    let port = free_port()?;
    let database = dir.path().join("peer.db");
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.path().join("server.log");
    let mut cmd = pinned_command(Path::new(&args.node), pinned);
    cmd.arg("server.js")
        .current_dir(peer)
        .env("NODE_ENV", "production")
        .env("PORT", port.to_string())
        .env("PUBLIC_URL", &base)
        .env("APP_ID", APP)
        .env("XIAOMI_ACCOUNT_BASE", mock_base)
        .env("XIAOMI_OPEN_BASE", mock_base)
        .env("XIAOMI_CLIENT_ID", DEMO_CLIENT_ID)
        .env("XIAOMI_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .env("DATABASE", &database);
    let server = spawn(cmd, &log, &args.node)?;
    let env = Env {
        kind: Kind::Peer,
        base,
        mock_base: mock_base.to_owned(),
        log,
        server,
        db: Db::sqlite(database),
        dir: Some(dir),
    };
    wait_ready(env).await
}

fn temp_dir(prefix: &str) -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))
}

/// `program`, through `taskset -c 0` when pinned (taskset execs: the child's pid is the
/// program's).
fn pinned_command(program: &Path, pinned: bool) -> Command {
    if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Spawns `cmd` with standard output and error into `log`.
fn spawn(mut cmd: Command, log: &Path, what: &str) -> Result<Child, String> {
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    cmd.spawn().map_err(|e| format!("cannot start {what}: {e}"))
}

/// Polls `/readyz` (bounded by [`START_TIMEOUT`]); a server that exits or never answers is an
/// error with its log's tail.
async fn wait_ready(mut env: Env) -> Result<Env, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = env.server.try_wait() {
            return Err(format!("the server exited ({status}):\n{}", env.log_tail()));
        }
        if http
            .get(format!("{}/readyz", env.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(env);
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!(
                "the server did not become ready in {START_TIMEOUT:?}:\n{}",
                env.log_tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_are_written_as_toml_strings() {
        // A password in a database URL may hold `"`, `\` or a control character.
        for url in ["sqlite:///tmp/a.db", "postgres://u:a\"b\\c@h/d\n"] {
            let text = super::config_text(1, "http://127.0.0.1:2", url, std::path::Path::new("w"));
            let file: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(file["server"]["database_url"].as_str(), Some(url), "{text}");
        }
    }

    #[test]
    fn a_peer_is_a_plain_folder_name_under_bench_peers() {
        for bad in ["", "../etc", "a/b", "x y"] {
            let e = super::peer_dir(bad).unwrap_err();
            assert!(e.contains("folder name under bench/peers/"), "{bad:?}: {e}");
        }
        let e = super::peer_dir("no-such-peer").unwrap_err();
        assert!(e.contains("no bench/peers/no-such-peer/server.js"), "{e}");
    }
}

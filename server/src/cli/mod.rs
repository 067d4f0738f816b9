//! The command line, one file per command: `serve`, `check`, `demo` (in `crate::demo`),
//! `mock-xiaomi`, `user …`, `keys …`. This module parses the arguments, starts the runtime and
//! holds what several commands share (loading the configuration, opening a pool's database).

mod check;
mod keys;
mod migrate;
mod mock;
mod serve;
mod user;

use crate::config::{Config, DatabaseSettings};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// `milogin --version`: the release and the database schema it writes (the newest migration),
/// so a build with migrations of its own is told apart from the release it started from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (database schema ",
    env!("MILOGIN_SCHEMA"),
    ")"
);

/// milogin: "Log in with Xiaomi" for any website.
#[derive(Parser)]
#[command(name = "milogin", version = VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Validate the configuration and the database's schema (read-only) and print each
    /// connection's callback URL.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Apply the database migrations this version brings (`serve` also applies them).
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Server + mock Xiaomi + demo page on another origin, all on 127.0.0.1.
    Demo {
        /// Port of the login server (the demo page uses port+1, the mock port+2).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Folder for the demo's configuration and SQLite database.
        #[arg(long, default_value = "data/demo")]
        data_dir: PathBuf,
    },
    /// The standalone mock Xiaomi (account + open API on one port).
    MockXiaomi {
        /// Port (0 = any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Registered client as CLIENT_ID:SECRET (repeatable); default: the demo client.
        #[arg(long = "client")]
        clients: Vec<String>,
    },
    /// Pool users.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// A pool's id_token signing keys: list, rotate, revoke, wrap.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
}

/// The configuration file: `--config`, or the `MILOGIN_CONFIG` variable (containers and
/// service units set it once instead of repeating it in every command).
#[derive(clap::Args)]
struct ConfigArg {
    /// The configuration file.
    #[arg(long, short, env = "MILOGIN_CONFIG", hide_env_values = true)]
    config: Option<PathBuf>,
}

impl ConfigArg {
    /// The file, or how to name one.
    fn path(&self) -> Result<&Path, String> {
        self.config.as_deref().ok_or_else(|| {
            "no configuration file: pass --config milogin.toml or set MILOGIN_CONFIG".into()
        })
    }
}

/// Where a user command acts: the configuration (for the database) and the pool.
#[derive(clap::Args)]
struct PoolArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Pool id.
    #[arg(long)]
    pool: String,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &std::path::Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| {
        format!(
            "{e}Run `milogin check --config {}` after fixing.",
            path.display()
        )
    })
}

async fn run(cmd: Command) -> Result<ExitCode, String> {
    match cmd {
        Command::Serve { config } => serve::run(config.path()?).await,
        Command::Check { config } => Ok(check::run(config.path()?).await),
        Command::Migrate { config } => migrate::run(config.path()?).await,
        Command::Demo { port, data_dir } => crate::demo::run(port, &data_dir)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::MockXiaomi { port, clients } => mock::run(port, &clients).await,
        Command::User { command } => user::run(command).await,
        Command::Keys { command } => keys::run(command).await,
    }
}

/// Opens the database of `at.config` after checking that the pool exists; reads only the
/// database settings (a host without the Xiaomi secret or the admin token can manage users).
async fn open_pool(at: &PoolArgs) -> Result<Arc<dyn crate::store::Store>, String> {
    let path = at.config.path()?;
    let db = DatabaseSettings::load(path).map_err(|e| {
        format!(
            "{e}Run `milogin check --config {}` after fixing.",
            path.display()
        )
    })?;
    known_pool(&at.pool, &db.pool_ids)?;
    open_store(&db.database()).await
}

/// `pool` is one of `ids`, or the error lists them.
fn known_pool(pool: &str, ids: &[String]) -> Result<(), String> {
    if ids.iter().any(|id| id == pool) {
        return Ok(());
    }
    Err(format!(
        "pool {pool:?} is not in the configuration (pools: {})",
        ids.join(", ")
    ))
}

/// Opens the database for a user or key command. Only `migrate` and `serve` upgrade a schema:
/// an older version's database is refused with what to run (a new one is created here).
async fn open_store(
    db: &crate::store::schema::Database<'_>,
) -> Result<Arc<dyn crate::store::Store>, String> {
    use crate::store::schema;
    // The URL is not echoed: a PostgreSQL URL may carry a password.
    let cannot = |e| format!("cannot open the database of server.database_url: {e}");
    if let Some((s, _)) = schema::inspect(db).await.map_err(cannot)? {
        if let Some(refusal) = s.refusal() {
            return Err(format!("database: {refusal}"));
        }
        if !s.is_empty() && !s.pending.is_empty() {
            return Err(format!(
                "database: {} migration(s) of this version are not applied yet; run `milogin migrate` first (README \"Upgrade and back up\")",
                s.pending.len()
            ));
        }
    }
    crate::store::open_with(db)
        .await
        .map_err(|e| format!("cannot open the database of server.database_url: {e}"))
}

/// [`open_pool`], also returning the configuration.
async fn open_pool_config(at: &PoolArgs) -> Result<(Config, Arc<dyn crate::store::Store>), String> {
    let config = load(at.config.path()?)?;
    let ids: Vec<String> = config.pools.iter().map(|p| p.id.to_string()).collect();
    known_pool(&at.pool, &ids)?;
    let store = open_store(&config.server.database()).await?;
    Ok((config, store))
}

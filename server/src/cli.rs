//! The command line (design.md §2): `serve`, `check`, `demo`, `mock-xiaomi`, `user`.

use crate::config::Config;
use crate::state::{AppState, SystemClock};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// milogin: "Log in with Xiaomi" for any website.
#[derive(Parser)]
#[command(name = "milogin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate the configuration and print each connection's callback URL.
    Check {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
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
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// List the users of a pool with their identities.
    List {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Pool id.
        #[arg(long)]
        pool: String,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
    Config::load(path).map_err(|e| format!("{e}Run `milogin check --config {}` after fixing.", path.display()))
}

async fn run(cmd: Command) -> Result<ExitCode, String> {
    match cmd {
        Command::Serve { config } => {
            let config = load(&config)?;
            let listen = config.server.listen;
            let state = AppState::build(config, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            tracing::info!(%listen, public_url = %state.config.server.public_url, "milogin serving");
            crate::serve(listener, state, shutdown_signal()).await.map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => Ok(check(&config)),
        Command::Demo { port, data_dir } => crate::demo::run(port, &data_dir).await.map(|()| ExitCode::SUCCESS),
        Command::MockXiaomi { port, clients } => {
            let mut cfg = crate::mock_xiaomi::MockConfig::default();
            if !clients.is_empty() {
                cfg.clients = clients
                    .iter()
                    .map(|c| {
                        let (id, secret) = c.split_once(':').ok_or(format!("--client {c:?}: write CLIENT_ID:SECRET"))?;
                        Ok(crate::mock_xiaomi::MockClient { client_id: id.into(), client_secret: secret.into(), redirect_uris: vec![] })
                    })
                    .collect::<Result<_, String>>()?;
            }
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| format!("cannot listen on port {port}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!("mock Xiaomi listening on http://{addr}");
            for c in &cfg.clients {
                println!("  client_id {}  (secret configured)", c.client_id);
            }
            crate::mock_xiaomi::Mock::new(cfg).serve(listener).await.map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command: UserCommand::List { config, pool, json } } => {
            let config = load(&config)?;
            if config.pool(&pool).is_none() {
                return Err(format!("pool {pool:?} is not in the configuration"));
            }
            let store = crate::store::open(&config.server.database_url).await.map_err(|e| e.to_string())?;
            let users = store.list_users(&pool).await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users).map_err(|e| e.to_string())?);
            } else {
                println!("{:<26} {:<24} {:<8} identities", "id", "nickname", "disabled");
                for u in &users {
                    let ids: Vec<String> = u.identities.iter().map(|i| format!("{}:{}", i.connection, i.subject)).collect();
                    println!("{:<26} {:<24} {:<8} {}", u.user.id, u.user.nickname, u.user.disabled, ids.join(", "));
                }
                println!("{} user(s)", users.len());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `milogin check`: every problem with its key, then the callback URLs.
fn check(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Err(e) => {
            eprint!("{e}");
            ExitCode::FAILURE
        }
        Ok(c) => {
            println!("{}: configuration is valid.", path.display());
            println!("Callback URLs to paste into the Xiaomi console (one per connection):");
            for p in &c.pools {
                for conn in &p.connections {
                    println!("  pool {:<16} connection {:<16} {}", p.id, conn.unique_id, c.server.callback_url(&p.id, &conn.unique_id));
                }
            }
            ExitCode::SUCCESS
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

//! The command line (design.md §2): `serve`, `check`, `demo`, `mock-xiaomi`, `user`, `keys`.

use crate::config::Config;
use crate::state::{AppState, Clock, SystemClock};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
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
    /// A pool's id_token signing keys: list, rotate.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Show the pool's keys: kid, state (next, active, retired) and their times.
    List {
        #[command(flatten)]
        at: PoolArgs,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a new signing key. It is published in the JWKS at once and signs from
    /// `server.key_publish_secs` later; the old key stays published until its tokens expired.
    Rotate {
        #[command(flatten)]
        at: PoolArgs,
        /// Seconds until the new key signs, instead of `server.key_publish_secs`.
        #[arg(long, value_name = "SECS")]
        activate_after: Option<u64>,
    },
}

/// Where a user command acts: the configuration (for the database) and the pool.
#[derive(clap::Args)]
struct PoolArgs {
    /// The configuration file.
    #[arg(long, short)]
    config: PathBuf,
    /// Pool id.
    #[arg(long)]
    pool: String,
}

/// One user of the pool.
#[derive(clap::Args)]
struct UserArgs {
    #[command(flatten)]
    at: PoolArgs,
    /// The user: its id, or its username, email or phone.
    #[arg(long)]
    user: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// List the users of a pool with their identities.
    List {
        #[command(flatten)]
        at: PoolArgs,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a local user (for login-only mode and query binding). The password comes from
    /// --password-file, --password-stdin or the MILOGIN_USER_PASSWORD variable, never from an
    /// argument (other users could read it in the process list).
    Create {
        #[command(flatten)]
        at: PoolArgs,
        /// Username: a-z, 0-9, '.', '_', '-', starting with a letter.
        #[arg(long)]
        username: Option<String>,
        /// Email address (stored lowercase).
        #[arg(long)]
        email: Option<String>,
        /// The email is verified: field matching may link to it when Xiaomi's email is trusted.
        #[arg(long)]
        email_verified: bool,
        /// Phone number, E.164 (+8613800138000) or an 11-digit mainland China mobile number.
        #[arg(long)]
        phone: Option<String>,
        /// The phone number is verified (see --email-verified).
        #[arg(long)]
        phone_verified: bool,
        /// Display name (the token's `name`); default: username, email or phone.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from this file (a trailing newline is dropped).
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        /// Read the password from standard input (no prompt; a trailing newline is dropped).
        #[arg(long)]
        password_stdin: bool,
        /// Print the new user as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one user with its identities.
    Show {
        #[command(flatten)]
        who: UserArgs,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: its logins end in `user_disabled`.
    Disable {
        #[command(flatten)]
        who: UserArgs,
    },
    /// Enable a disabled user again.
    Enable {
        #[command(flatten)]
        who: UserArgs,
    },
    /// Delete a user and its identities.
    Delete {
        #[command(flatten)]
        who: UserArgs,
    },
    /// Remove the user's Xiaomi identity on a connection (its next Xiaomi login is a new one).
    Unlink {
        #[command(flatten)]
        who: UserArgs,
        /// The connection's Unique ID.
        #[arg(long)]
        connection: String,
    },
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
        Command::Serve { config } => {
            let config = load(&config)?;
            for w in crate::store::files::warnings(&config.server.database_url) {
                tracing::warn!("{w}");
            }
            let listen = config.server.listen;
            let state = AppState::build(config, Arc::new(SystemClock))
                .await
                .map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            tracing::info!(%listen, public_url = %state.config.server.public_url, "milogin serving");
            let store = state.store.clone();
            crate::startup::serve(listener, state, shutdown_signal())
                .await
                .map_err(|e| e.to_string())?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => Ok(check(&config)),
        Command::Demo { port, data_dir } => crate::demo::run(port, &data_dir)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::MockXiaomi { port, clients } => {
            let mut cfg = crate::mock_xiaomi::MockConfig::default();
            if !clients.is_empty() {
                cfg.clients = clients
                    .iter()
                    .map(|c| {
                        let (id, secret) = c
                            .split_once(':')
                            .ok_or(format!("--client {c:?}: write CLIENT_ID:SECRET"))?;
                        Ok(crate::mock_xiaomi::MockClient {
                            client_id: id.into(),
                            client_secret: secret.into(),
                            redirect_uris: vec![],
                        })
                    })
                    .collect::<Result<_, String>>()?;
            }
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!("mock Xiaomi listening on http://{addr}");
            for c in &cfg.clients {
                println!("  client_id {}  (secret configured)", c.client_id);
            }
            crate::mock_xiaomi::Mock::new(cfg)
                .serve(listener)
                .await
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => user(command).await,
        Command::Keys { command } => keys(command).await,
    }
}

/// The password of `user create`: file, stdin, or `MILOGIN_USER_PASSWORD`; none is fine.
fn read_password(
    file: Option<&std::path::Path>,
    stdin: bool,
) -> Result<Option<SecretString>, String> {
    let raw = if let Some(f) = file {
        Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read --password-file {}: {e}", f.display()))?,
        )
    } else if stdin {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        Some(s)
    } else {
        std::env::var("MILOGIN_USER_PASSWORD").ok()
    };
    Ok(raw.map(|s| SecretString::from(s.trim_end_matches(['\n', '\r']).to_owned())))
}

/// Opens the database of `at.config` after checking that the pool exists.
async fn open_pool(at: &PoolArgs) -> Result<Arc<dyn crate::store::Store>, String> {
    Ok(open_pool_config(at).await?.1)
}

/// [`open_pool`], also returning the configuration.
async fn open_pool_config(at: &PoolArgs) -> Result<(Config, Arc<dyn crate::store::Store>), String> {
    let config = load(&at.config)?;
    if config.pool(&at.pool).is_none() {
        let known: Vec<&str> = config.pools.iter().map(|p| p.id.as_str()).collect();
        return Err(format!(
            "pool {:?} is not in the configuration (pools: {})",
            at.pool,
            known.join(", ")
        ));
    }
    // The URL is not echoed: a PostgreSQL URL may carry a password.
    let store = crate::store::open(&config.server.database_url)
        .await
        .map_err(|e| format!("cannot open the database of server.database_url: {e}"))?;
    Ok((config, store))
}

/// The user named by `--user`: an id, or a username, email or phone.
async fn find_user(
    store: &dyn crate::store::Store,
    who: &UserArgs,
) -> Result<crate::store::User, String> {
    let e = |e: crate::store::StoreError| e.to_string();
    if let Some(u) = store.user(&who.at.pool, &who.user).await.map_err(e)? {
        return Ok(u);
    }
    if let Some(id) = crate::accounts::parse_login_id(&who.user) {
        if let Some((u, _)) = store.user_for_login(&who.at.pool, &id).await.map_err(e)? {
            return Ok(u);
        }
    }
    Err(format!(
        "no user {:?} in pool {:?} (give its id, username, email or phone)",
        who.user, who.at.pool
    ))
}

async fn user(cmd: UserCommand) -> Result<ExitCode, String> {
    let now = SystemClock.now();
    match cmd {
        UserCommand::List { at, json } => {
            let store = open_pool(&at).await?;
            let users = store
                .list_users(&at.pool)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&users).map_err(|e| e.to_string())?
                );
            } else {
                println!(
                    "{:<26} {:<24} {:<8} identities",
                    "id", "nickname", "disabled"
                );
                for u in &users {
                    let ids: Vec<String> = u
                        .identities
                        .iter()
                        .map(|i| format!("{}:{}", i.connection, i.subject))
                        .collect();
                    println!(
                        "{:<26} {:<24} {:<8} {}",
                        u.user.id,
                        u.user.nickname,
                        u.user.disabled,
                        ids.join(", ")
                    );
                }
                println!("{} user(s)", users.len());
            }
        }
        UserCommand::Create {
            at,
            username,
            email,
            email_verified,
            phone,
            phone_verified,
            display_name,
            password_file,
            password_stdin,
            json,
        } => {
            let password = read_password(password_file.as_deref(), password_stdin)?;
            let store = open_pool(&at).await?;
            let has_password = password.is_some();
            let account = crate::accounts::NewAccount {
                username,
                email,
                email_verified,
                phone,
                phone_verified,
                display_name,
                password,
            };
            let u = crate::accounts::create_account(store.as_ref(), &at.pool, account, now)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&u).map_err(|e| e.to_string())?
                );
            } else {
                println!("created user {} in pool {}", u.id, at.pool);
                if !has_password {
                    println!(
                        "no password set: this user cannot prove the account in the binding step"
                    );
                }
            }
        }
        UserCommand::Show { who, json } => {
            let store = open_pool(&who.at).await?;
            let user = find_user(store.as_ref(), &who).await?;
            let identities = store
                .identities_of(&who.at.pool, &user.id)
                .await
                .map_err(|e| e.to_string())?;
            let u = crate::store::UserWithIdentities { user, identities };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&u).map_err(|e| e.to_string())?
                );
            } else {
                let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                let user = &u.user;
                println!(
                    "id        {}\npool      {}\nname      {}",
                    user.id, user.pool, user.nickname
                );
                println!("username  {}", opt(&user.username));
                println!(
                    "email     {} (verified: {})",
                    opt(&user.email),
                    user.email_verified
                );
                println!(
                    "phone     {} (verified: {})",
                    opt(&user.phone),
                    user.phone_verified
                );
                println!("disabled  {}", user.disabled);
                for i in &u.identities {
                    println!(
                        "identity  {}:{} (app {})",
                        i.connection, i.subject, i.client_id
                    );
                }
            }
        }
        UserCommand::Disable { who } => set_disabled(&who, true, now).await?,
        UserCommand::Enable { who } => set_disabled(&who, false, now).await?,
        UserCommand::Delete { who } => {
            let store = open_pool(&who.at).await?;
            let user = find_user(store.as_ref(), &who).await?;
            store
                .delete_user(&who.at.pool, &user.id)
                .await
                .map_err(|e| e.to_string())?;
            println!("deleted user {} and its identities", user.id);
        }
        UserCommand::Unlink { who, connection } => {
            let store = open_pool(&who.at).await?;
            let user = find_user(store.as_ref(), &who).await?;
            let n = store
                .unlink_identity(&who.at.pool, &user.id, &connection)
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!(
                    "user {} has no identity on connection {connection:?}",
                    user.id
                ));
            }
            println!("unlinked connection {connection} from user {}", user.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn keys(cmd: KeysCommand) -> Result<ExitCode, String> {
    let now = SystemClock.now();
    match cmd {
        KeysCommand::List { at, json } => {
            let (config, store) = open_pool_config(&at).await?;
            let stored = store
                .signing_keys(&at.pool)
                .await
                .map_err(|e| e.to_string())?;
            let times: Vec<crate::keys::KeyTimes> = stored.iter().map(Into::into).collect();
            let ttl = config.server.token_ttl_secs as i64;
            let list = crate::keys::schedule(&times, now, ttl);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
                );
            } else {
                print_keys(&list, now);
            }
        }
        KeysCommand::Rotate { at, activate_after } => {
            let (config, store) = open_pool_config(&at).await?;
            let delay = activate_after.unwrap_or(config.server.key_publish_secs) as i64;
            let ttl = config.server.token_ttl_secs as i64;
            let r = crate::keys::rotate(store.as_ref(), &at.pool, now, delay, ttl)
                .await
                .map_err(|e| e.to_string())?;
            print_rotated(&at.pool, &r);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `keys list` table.
fn print_keys(list: &[crate::keys::KeyStatus], now: i64) {
    let t = |v: Option<i64>| v.map_or_else(|| "-".into(), crate::keys::utc);
    println!(
        "{:<44} {:<8} {:<20} {:<20} {:<20} published until",
        "kid", "state", "created", "activated", "retired"
    );
    if list.is_empty() {
        println!("no keys yet: `milogin serve` (or `milogin keys rotate`) creates the first");
    }
    for k in list {
        let until = match k.published_until {
            None => "-".to_owned(),
            Some(u) if u <= now => format!("{} (no longer published)", crate::keys::utc(u)),
            Some(u) => crate::keys::utc(u),
        };
        println!(
            "{:<44} {:<8} {:<20} {:<20} {:<20} {until}",
            k.kid,
            k.state.as_str(),
            crate::keys::utc(k.created_at),
            crate::keys::utc(k.activates_at),
            t(k.retired_at),
        );
    }
}

/// What `keys rotate` tells the operator.
fn print_rotated(pool: &str, r: &crate::keys::Rotated) {
    let utc = crate::keys::utc;
    println!(
        "pool {pool}: new key {} is published in the JWKS now and signs from {}.",
        r.new.kid,
        utc(r.new.activates_at)
    );
    println!(
        "the previous key {} signs until then and stays published until {} (its last tokens have expired).",
        r.previous.kid,
        utc(r.previous.published_until.unwrap_or(r.new.activates_at))
    );
    for kid in &r.deleted {
        println!("deleted key {kid}: no token it signed is still valid.");
    }
    println!("Running servers pick the new key up within a few seconds; no restart is needed.");
}

async fn set_disabled(who: &UserArgs, disabled: bool, now: i64) -> Result<(), String> {
    let store = open_pool(&who.at).await?;
    let user = find_user(store.as_ref(), who).await?;
    store
        .set_disabled(&who.at.pool, &user.id, disabled, now)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "user {} {}",
        user.id,
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
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
            for w in c.warnings() {
                println!("warning: {w}");
            }
            for w in crate::store::files::warnings(&c.server.database_url) {
                println!("warning: {w}");
            }
            println!("Callback URLs to paste into the Xiaomi console (one per connection):");
            for p in &c.pools {
                for conn in &p.connections {
                    println!(
                        "  pool {:<16} connection {:<16} {}",
                        p.id,
                        conn.unique_id,
                        c.server.callback_url(&p.id, &conn.unique_id)
                    );
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
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

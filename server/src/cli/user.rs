//! `milogin user list|create|show|disable|enable|delete|unlink`: a pool's users.

use super::{open_pool, PoolArgs};
use crate::state::{Clock, SystemClock};
use clap::Subcommand;
use secrecy::SecretString;
use std::path::PathBuf;
use std::process::ExitCode;

/// One user of the pool.
#[derive(clap::Args)]
pub(super) struct UserArgs {
    #[command(flatten)]
    at: PoolArgs,
    /// The user: its id, or its username, email or phone.
    #[arg(long)]
    user: String,
}

#[derive(Subcommand)]
pub(super) enum UserCommand {
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
    Create(CreateArgs),
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

/// The arguments of `user create`.
#[derive(clap::Args)]
pub(super) struct CreateArgs {
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
}

/// Runs one `user` subcommand.
pub(super) async fn run(cmd: UserCommand) -> Result<ExitCode, String> {
    let now = SystemClock.now();
    match cmd {
        UserCommand::List { at, json } => list(&at, json).await?,
        UserCommand::Create(args) => create(args, now).await?,
        UserCommand::Show { who, json } => show(&who, json).await?,
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
        UserCommand::Unlink { who, connection } => unlink(&who, &connection).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v).map_err(|e| e.to_string())
}

/// `user list`: a table, or JSON.
async fn list(at: &PoolArgs, json: bool) -> Result<(), String> {
    let store = open_pool(at).await?;
    let users = store
        .list_users(&at.pool)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        println!("{}", to_json(&users)?);
        return Ok(());
    }
    println!(
        "{} {} {} identities",
        column("id", 26),
        column("nickname", 24),
        column("disabled", 8)
    );
    for u in &users {
        let ids: Vec<String> = u
            .identities
            .iter()
            .map(|i| format!("{}:{}", i.connection, i.subject))
            .collect();
        println!(
            "{} {} {} {}",
            column(&u.user.id, 26),
            column(&u.user.nickname, 24),
            column(&u.user.disabled.to_string(), 8),
            printable(&ids.join(", "))
        );
    }
    println!("{} user(s)", users.len());
    Ok(())
}

/// `text` for a terminal table: control characters (a nickname comes from Xiaomi and could hold
/// escape sequences) shown as `\u{…}`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// [`printable`] `text` padded to `width` terminal columns: a Chinese character takes two
/// (`format!`'s `{:<N}` counts characters, which misaligns every column after a Chinese name).
/// Longer text is kept whole.
fn column(text: &str, width: usize) -> String {
    let text = printable(text);
    let used = unicode_width::UnicodeWidthStr::width(text.as_str());
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

/// `user create`: validated, normalised and hashed by `crate::accounts`.
async fn create(a: CreateArgs, now: i64) -> Result<(), String> {
    let password = read_password(a.password_file.as_deref(), a.password_stdin)?;
    let store = open_pool(&a.at).await?;
    let has_password = password.is_some();
    let account = crate::accounts::NewAccount {
        username: a.username,
        email: a.email,
        email_verified: a.email_verified,
        phone: a.phone,
        phone_verified: a.phone_verified,
        display_name: a.display_name,
        password,
    };
    let u = crate::accounts::create_account(store.as_ref(), &a.at.pool, account, now)
        .await
        .map_err(|e| e.to_string())?;
    if a.json {
        println!("{}", to_json(&u)?);
    } else {
        println!("created user {} in pool {}", u.id, a.at.pool);
        if !has_password {
            println!("no password set: this user cannot prove the account in the binding step");
        }
    }
    Ok(())
}

/// `user show`: the user and its identities.
async fn show(who: &UserArgs, json: bool) -> Result<(), String> {
    let store = open_pool(&who.at).await?;
    let user = find_user(store.as_ref(), who).await?;
    let identities = store
        .identities_of(&who.at.pool, &user.id)
        .await
        .map_err(|e| e.to_string())?;
    let u = crate::store::UserWithIdentities { user, identities };
    if json {
        println!("{}", to_json(&u)?);
        return Ok(());
    }
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
    Ok(())
}

/// `user unlink`: removes the user's identity on `connection`.
async fn unlink(who: &UserArgs, connection: &str) -> Result<(), String> {
    let store = open_pool(&who.at).await?;
    let user = find_user(store.as_ref(), who).await?;
    let n = store
        .unlink_identity(&who.at.pool, &user.id, connection)
        .await
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err(format!(
            "user {} has no identity on connection {connection:?}",
            user.id
        ));
    }
    println!("unlinked connection {connection} from user {}", user.id);
    Ok(())
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

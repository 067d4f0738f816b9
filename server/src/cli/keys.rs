//! `milogin keys list|rotate|revoke|wrap`: a pool's id_token signing keys.

use super::{open_pool_config, PoolArgs};
use crate::keys::AtRest;
use crate::state::{Clock, SystemClock};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(super) enum KeysCommand {
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
    /// Revoke a compromised key at once: it leaves the JWKS and tokens it signed stop verifying;
    /// if it was signing, the waiting next key (or a new one) signs from now on.
    Revoke {
        #[command(flatten)]
        at: PoolArgs,
        /// The key's id (`milogin keys list` shows them).
        kid: String,
    },
    /// Wrap the pool's keys stored in the clear with `server.key_encryption_key`.
    Wrap {
        #[command(flatten)]
        at: PoolArgs,
    },
}

pub(super) async fn run(cmd: KeysCommand) -> Result<ExitCode, String> {
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
            let at_rest = AtRest::new(config.server.key_encryption_key.clone());
            let r = crate::keys::rotate(store.as_ref(), &at_rest, &at.pool, now, delay, ttl)
                .await
                .map_err(|e| e.to_string())?;
            print_rotated(&at.pool, &r);
        }
        KeysCommand::Revoke { at, kid } => {
            let (config, store) = open_pool_config(&at).await?;
            let ttl = config.server.token_ttl_secs as i64;
            let at_rest = AtRest::new(config.server.key_encryption_key.clone());
            let r = crate::keys::revoke(store.as_ref(), &at_rest, &at.pool, &kid, now, ttl)
                .await
                .map_err(|e| e.to_string())?;
            print_revoked(&at.pool, &r);
        }
        KeysCommand::Wrap { at } => wrap(&at).await?,
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

/// What `keys revoke` tells the operator.
fn print_revoked(pool: &str, r: &crate::keys::Revoked) {
    println!(
        "pool {pool}: key {} ({}) is revoked: it is gone from the JWKS and tokens it signed no longer verify here.",
        r.revoked.kid,
        r.revoked.state.as_str()
    );
    match (&r.signer, r.created) {
        (Some(kid), false) => println!("the waiting next key {kid} signs new tokens from now on."),
        (Some(kid), true) => println!(
            "no next key was waiting: new key {kid} signs new tokens from now on (relying parties fetch it when they meet its kid)."
        ),
        (None, _) => println!("the signing key is unchanged."),
    }
    for kid in &r.deleted {
        println!("deleted key {kid}: no token it signed is still valid.");
    }
    println!("Running servers pick this up within a few seconds; no restart is needed. Relying parties that cached the JWKS keep trusting the key until they fetch it again (our JWKS allows caching for 5 minutes).");
}

/// `keys wrap`: the pool's keys stored in the clear, wrapped in place.
async fn wrap(at: &PoolArgs) -> Result<(), String> {
    let (config, store) = open_pool_config(at).await?;
    let Some(kek) = config.server.key_encryption_key.clone() else {
        store.close().await;
        return Err("server.key_encryption_key is not set: set it (32 random bytes in base64, e.g. `head -c 32 /dev/urandom | base64 > kek` and key_encryption_key = { file = \"kek\" }), then run `milogin keys wrap` again".into());
    };
    let pool = &at.pool;
    let wrapped = crate::keys::wrap_all(store.as_ref(), &AtRest::new(Some(kek)), pool).await;
    store.close().await;
    let wrapped = wrapped.map_err(|e| format!("pool {pool}: {e}"))?;
    match wrapped.is_empty() {
        true => println!("pool {pool}: every key is already wrapped (or the pool has none yet)."),
        false => println!("pool {pool}: wrapped key(s) {}.", wrapped.join(", ")),
    }
    println!("Keep the key-encryption key apart from the database (and its backups): either alone signs nothing.");
    Ok(())
}

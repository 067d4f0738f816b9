//! `milogin migrate`: applies the database migrations this version brings, and says which. The
//! one command besides `serve` that changes the schema (`check` only reads it): run it once per
//! upgrade, after the backup and before the new version serves (README "Upgrade and back up").

use crate::config::DatabaseSettings;
use std::path::Path;
use std::process::ExitCode;

/// Loads only the database settings (a migration host needs no Xiaomi secret) and migrates.
pub(super) async fn run(path: &Path) -> Result<ExitCode, String> {
    let db = DatabaseSettings::load(path).map_err(|e| {
        format!(
            "{e}Run `milogin check --config {}` after fixing.",
            path.display()
        )
    })?;
    // The URL is not echoed: a PostgreSQL URL may carry a password.
    let applied = crate::store::schema::migrate(&db.database())
        .await
        .map_err(|e| format!("the database of server.database_url was not migrated: {e}"))?;
    let latest = crate::store::schema::latest();
    if applied.is_empty() {
        println!("database schema {latest}: up to date, nothing to apply.");
    } else {
        println!("applied {} migration(s):", applied.len());
        for m in &applied {
            println!("  {m}");
        }
        println!("database schema {latest}: up to date.");
    }
    Ok(ExitCode::SUCCESS)
}

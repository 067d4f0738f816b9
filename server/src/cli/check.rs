//! `milogin check`: validates the configuration, reads the database without changing it (its
//! schema against this version's migrations; bound connections that were renamed, which `serve`
//! would refuse) and prints the callback URLs. Only `migrate` and `serve` change the schema.

use crate::config::Config;
use std::process::ExitCode;
use std::time::Duration;

/// How long `check` waits for a PostgreSQL database before skipping the database checks.
const DATABASE_WAIT: Duration = Duration::from_secs(10);

/// `milogin check`: every problem with its key, then the callback URLs.
pub(super) async fn run(path: &std::path::Path) -> ExitCode {
    let c = match Config::load(path) {
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
        Ok(c) => c,
    };
    if let Some(w) = crate::http::widget::missing(c.server.widget_dir.as_deref()) {
        eprintln!("1 configuration problem(s):\n  - {w}");
        return ExitCode::FAILURE;
    }
    println!("{}: configuration is valid.", path.display());
    if let Err(e) = database(&c, path).await {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    for w in c.warnings() {
        println!("warning: {w}");
    }
    if let Some(w) = crate::http::designer::missing(c.server.designer) {
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

/// The database, read-only: its schema against this binary's migrations, then the check `serve`
/// makes before it starts (bound connections the file no longer defines). A database that does
/// not exist yet, or an unreachable PostgreSQL, is a note (`check` also runs where the database
/// is not reachable); pending migrations, a newer or broken schema and orphaned users are errors.
async fn database(c: &Config, path: &std::path::Path) -> Result<(), String> {
    let latest = crate::store::schema::latest();
    let inspected = tokio::time::timeout(
        DATABASE_WAIT,
        crate::store::schema::inspect(&c.server.database()),
    )
    .await;
    let (schema, bound) = match inspected {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => {
            println!("database: not created yet; `milogin migrate` or `milogin serve` creates it (schema {latest}).");
            return Ok(());
        }
        Ok(Err(e)) => {
            println!("warning: database not checked: cannot open the database of server.database_url: {e}");
            return Ok(());
        }
        Err(_) => {
            println!("warning: database not checked: the database of server.database_url did not answer within {}s", DATABASE_WAIT.as_secs());
            return Ok(());
        }
    };
    if let Some(refusal) = schema.refusal() {
        return Err(format!("error: database: {refusal}"));
    }
    if schema.is_empty() {
        println!("database: empty; `milogin migrate` or `milogin serve` creates its tables (schema {latest}).");
        return Ok(());
    }
    crate::startup::orphaned_connections(c, bound).map_err(|e| format!("error: {e}"))?;
    if !schema.pending.is_empty() {
        let list: Vec<String> = schema.pending.iter().map(ToString::to_string).collect();
        return Err(format!(
            "error: database: {} migration(s) of this version are not applied yet: {}. Nothing was changed. Back up the database, stop the replicas of the older version, then run `milogin migrate --config {}` (`milogin serve` applies them too); see README \"Upgrade and back up\".",
            list.len(),
            list.join(", "),
            path.display()
        ));
    }
    println!("database: schema {latest}, up to date.");
    Ok(())
}

//! `milogin check`: validates the configuration, refuses what `serve` would refuse (bound
//! connections that were renamed, when the database exists) and prints the callback URLs.

use crate::config::Config;
use std::process::ExitCode;
use std::time::Duration;

/// How long `check` waits for a PostgreSQL database before skipping the bound-connection check.
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
    if let Err(e) = bound_connections(&c).await {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    println!("{}: configuration is valid.", path.display());
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

/// The check `serve` makes before it starts, when there is a database to ask; an unreachable
/// PostgreSQL is a warning (`check` also runs where the database is not reachable).
async fn bound_connections(c: &Config) -> Result<(), String> {
    let url = &c.server.database_url;
    if !crate::store::files::may_exist(url) {
        return Ok(());
    }
    let store = match tokio::time::timeout(DATABASE_WAIT, crate::store::open(url)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            println!("warning: bound connections not checked: cannot open the database of server.database_url: {e}");
            return Ok(());
        }
        Err(_) => {
            println!("warning: bound connections not checked: the database of server.database_url did not answer within {}s", DATABASE_WAIT.as_secs());
            return Ok(());
        }
    };
    let checked = crate::startup::check_bound_connections(c, store.as_ref()).await;
    store.close().await;
    checked.map_err(|e| format!("error: {e}"))
}

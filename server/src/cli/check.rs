//! `milogin check`: validates the configuration and prints the callback URLs.

use crate::config::Config;
use std::process::ExitCode;

/// `milogin check`: every problem with its key, then the callback URLs.
pub(super) fn run(path: &std::path::Path) -> ExitCode {
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

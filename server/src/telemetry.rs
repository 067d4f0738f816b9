//! Logging: `tracing` to stderr, human format by default, JSON with `MILOGIN_LOG_FORMAT=json`;
//! level from `RUST_LOG` (default `info`). Secrets never reach a log line: they are held in
//! `SecretString` and handlers are instrumented with `skip_all`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("MILOGIN_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

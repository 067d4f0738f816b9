//! Logging: `tracing` to stderr, human format by default, JSON with `MILOGIN_LOG_FORMAT=json`;
//! level from `RUST_LOG` (default `info`); colours only when stderr is a terminal (and
//! `NO_COLOR` is unset). Secrets never reach a log line: they are held in
//! `SecretString` and handlers are instrumented with `skip_all`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("MILOGIN_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colour only for a person at a terminal: a file, a pipe or journald gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

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

/// An error and its causes on one line, outermost first (`a: b: c`), walking `source()`: what a
/// log line records of a failure. A cause whose text its parent already shows (errors that
/// print their source in their own message) is not repeated.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        // Bounded: a source chain is short, but a cyclic one must not hang a log line.
        for _ in 0..16 {
            let Some(e) = next else { break };
            let text = e.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Chain;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("the login failed")]
        Inner(#[source] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("database error: {0}")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause_once() {
        let e = Outer::Inner(Inner(std::io::Error::other("disk full")));
        assert_eq!(
            Chain(&e).to_string(),
            "the login failed: database error: disk full"
        );
    }
}

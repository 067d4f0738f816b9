//! `milogin serve`: the server until SIGINT/SIGTERM, then open requests finish.

use crate::state::AppState;
use crate::state::SystemClock;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Loads `config`, builds the state and serves.
pub(super) async fn run(config: &Path) -> Result<ExitCode, String> {
    let config = super::load(config)?;
    for w in crate::store::files::warnings(&config.server.database_url) {
        tracing::warn!("{w}");
    }
    if let Some(w) = crate::http::widget::missing(config.server.widget_dir.as_deref()) {
        tracing::warn!("{w}; /widget/milogin.js answers 404");
    }
    if let Some(w) = crate::http::designer::missing(config.server.designer) {
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
    let metrics = match state.config.server.metrics_listen {
        None => None,
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on server.metrics_listen {addr}: {e}"))?;
            tracing::info!(%addr, "/metrics served on server.metrics_listen");
            let st = state.clone();
            Some(tokio::spawn(crate::startup::serve_metrics(
                l,
                st,
                shutdown_signal(),
            )))
        }
    };
    let store = state.store.clone();
    crate::startup::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(task) = metrics {
        task.abort();
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
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

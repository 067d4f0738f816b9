//! Liveness and readiness.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// `/healthz`, `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(get_healthz)).route("/readyz", get(get_readyz))
}

async fn get_healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn get_readyz(State(st): State<AppState>) -> (StatusCode, &'static str) {
    match st.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

//! Liveness, readiness and Prometheus metrics (on the public address unless
//! `server.metrics_listen` gives them their own).

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// `/healthz`, `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(get_healthz))
        .route("/readyz", get(get_readyz))
}

/// `/metrics`: on the public address, or alone on `server.metrics_listen`.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(get_metrics))
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

/// Prometheus text format; `milogin_attempts_pending` is read from the database at scrape time.
async fn get_metrics(State(st): State<AppState>) -> impl axum::response::IntoResponse {
    let pending = st.store.pending_attempts(st.clock.now()).await.ok();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        st.metrics.render(
            pending,
            st.store.counters().map(|c| (c.statements, c.commits)),
        ),
    )
}

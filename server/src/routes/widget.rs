//! Placeholder until the widget route lands: serves the built widget folder.

use crate::state::AppState;
use axum::Router;

/// Serves `dir` at the nest point.
pub fn router(dir: std::path::PathBuf) -> Router<AppState> {
    Router::new().fallback_service(tower_http::services::ServeDir::new(dir))
}

//! HTTP routes, one module per resource; each exposes `router()`.

pub mod binding;
pub mod connections;
pub mod health;
pub mod hosted;
pub mod login;
pub mod oidc;
pub mod widget;

use crate::state::AppState;
use axum::Router;

/// Every route of the service.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(binding::router())
        .merge(connections::router())
        .merge(oidc::router())
        .merge(health::router())
        .merge(hosted::router())
        .nest(
            "/widget",
            widget::router(state.config.server.widget_dir.clone()),
        )
}

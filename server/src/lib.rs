//! milogin server: "Log in with Xiaomi" for any website.
//!
//! [`app`] builds the router that `milogin serve` runs and that the tests drive; everything it
//! needs travels in [`state::AppState`].

/// Command line: serve, check, demo, mock-xiaomi, user.
pub mod cli;
/// Typed configuration: TOML file, `MILOGIN_…` overrides, validation with fix hints.
pub mod config;
/// The demo: server, mock Xiaomi and a host page on another origin.
pub mod demo;
/// The error type of the HTTP boundary and its responses.
pub mod error;
/// The login flow itself: callback → provider → user → token → result.
pub mod flow;
/// The embedded mock Xiaomi (for development, the demo and tests).
pub mod mock_xiaomi;
/// HTML the server renders (popup result page, error page).
pub mod pages;
/// Identity providers: the `Provider` trait and Xiaomi.
pub mod provider;
/// HTTP routes, one module per resource.
pub mod routes;
/// Shared application state and the injectable clock.
pub mod state;
/// The database: users, identities, attempts, signing keys.
pub mod store;
/// Logging set-up.
pub mod telemetry;
/// Signing keys, id_token, JWKS.
pub mod token;

use axum::Router;

/// The whole HTTP application for one `AppState`.
pub fn app(state: state::AppState) -> Router {
    routes::router(&state).with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: state::AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

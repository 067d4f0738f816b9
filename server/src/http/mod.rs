//! The HTTP edge: one module per resource (each exposes `router()`), the extractors and responders
//! they share, the pages the server renders, and the bounds every request passes first (`edge`).
//! Handlers translate HTTP to calls of `crate::login` and back; nothing below imports this module.

pub mod binding;
pub mod code_delivery;
pub mod code_flow;
pub mod connections;
pub mod designer;
pub mod edge;
pub mod error;
pub mod extract;
pub mod health;
pub mod hosted;
pub mod login;
pub mod oidc;
pub mod pages;
pub mod params;
pub mod respond;
pub mod try_login;
pub mod widget;

use crate::state::AppState;
use axum::Router;

/// Every route of the service (`/metrics` only when `server.metrics_listen` is unset).
pub fn router(state: &AppState) -> Router<AppState> {
    let metrics = match state.config.server.metrics_listen {
        None => health::metrics_router(),
        Some(_) => Router::new(),
    };
    Router::new()
        .merge(metrics)
        .merge(login::router())
        .merge(binding::router())
        .merge(connections::router())
        .merge(oidc::router())
        .merge(code_flow::router())
        .merge(health::router())
        .merge(hosted::router())
        .merge(try_login::router())
        .merge(designer::router(state.config.server.designer))
        .nest(
            "/widget",
            widget::router(state.config.server.widget_dir.clone()),
        )
}

/// `/metrics` alone, for `server.metrics_listen`.
pub fn metrics_app(state: AppState) -> Router {
    health::metrics_router().with_state(state)
}

/// The whole HTTP application for one `AppState`: every request gets an `x-request-id` (the
/// proxy's when it is a plain token, `edge::request_id_ok`, else a new one) and a log span with
/// method, path (never the query: it carries codes and states) and that id; its body is read
/// under `limits.max_body_bytes` / `body_read_timeout_ms`, and the whole request is answered
/// within `limits.request_timeout_ms` (408 otherwise).
pub fn app(state: AppState) -> Router {
    use tower_http::request_id::{
        MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
    };

    #[derive(Clone, Copy)]
    struct NewId;
    impl MakeRequestId for NewId {
        fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
            axum::http::HeaderValue::from_str(&crate::crypto::random_token()[..16])
                .ok()
                .map(RequestId::new)
        }
    }
    let trace = tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
        let id = req.headers().get(edge::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    });
    let limits = &state.config.limits;
    let bounds = edge::BodyBounds {
        max_bytes: limits.max_body_bytes,
        read_timeout: std::time::Duration::from_millis(limits.body_read_timeout_ms),
    };
    let deadline = tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        std::time::Duration::from_millis(limits.request_timeout_ms),
    );
    let header = axum::http::HeaderName::from_static(edge::REQUEST_ID);
    router(&state)
        .layer(axum::middleware::from_fn(error::log_internal))
        .layer(axum::middleware::from_fn_with_state(
            bounds,
            edge::read_body,
        ))
        .layer(deadline)
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(header, NewId))
        .layer(tower::util::MapRequestLayer::new(edge::sanitize_request_id))
}

//! milogin server: "Log in with Xiaomi" for any website.
//!
//! [`app`] builds the router that `milogin serve` runs and that the tests drive; everything it
//! needs travels in [`state::AppState`].

/// Local accounts: email/phone/username normal forms, argon2id passwords, account creation.
pub mod accounts;
/// The "link your Xiaomi account" step: tickets, password proof, brute-force limits.
pub mod binding;
/// Command line: serve, check, demo, mock-xiaomi, user.
pub mod cli;
/// The client's address behind trusted proxies, and the prefix its limits count under.
pub mod client_ip;
/// Typed configuration: TOML file, `MILOGIN_…` overrides, validation with fix hints.
pub mod config;
/// The demo: server, mock Xiaomi and a host page on another origin.
pub mod demo;
/// Bounds at the HTTP edge: body size and deadline, request ids, the connection cap.
pub mod edge;
/// The error type of the HTTP boundary and its responses.
pub mod error;
/// The login flow itself: callback → provider → user → token → result.
pub mod flow;
/// Signing-key rotation: which keys a pool publishes and signs with, `milogin keys rotate`.
pub mod keys;
/// Per-client rate limits, pending-attempt caps and the Xiaomi circuit breaker.
pub mod limits;
/// Prometheus metrics.
pub mod metrics;
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
/// One signing key: id_token, its verification, the JWK.
pub mod token;

use axum::Router;

/// The whole HTTP application for one `AppState`: every request gets an `x-request-id` (the
/// proxy's when it is a plain token, `edge::request_id_ok`, else a new one) and a log span with
/// method, path (never the query: it carries codes and states) and that id; its body is read
/// under `limits.max_body_bytes` / `body_read_timeout_ms`, and the whole request is answered
/// within `limits.request_timeout_ms` (408 otherwise).
pub fn app(state: state::AppState) -> Router {
    use tower_http::request_id::{
        MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
    };

    #[derive(Clone, Copy)]
    struct NewId;
    impl MakeRequestId for NewId {
        fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
            axum::http::HeaderValue::from_str(&flow::random_token()[..16])
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
    routes::router(&state)
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

/// Serves `app(state)` on `listener` until `shutdown` resolves, then lets open requests finish.
///
/// A hand-rolled accept loop instead of `axum::serve`, for two bounds: a header-read
/// timeout (`limits.header_read_timeout_ms`; hyper restarts it after each response, so it also
/// ends idle keep-alive connections) and a connection cap (`limits.max_connections`, see
/// [`edge::ConnectionCap`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: state::AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let header_timeout =
        std::time::Duration::from_millis(state.config.limits.header_read_timeout_ms);
    let mut cap = edge::ConnectionCap::new(state.config.limits.max_connections);
    let app = app(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = cap.admit() else {
            drop(stream); // closed at once
            continue;
        };
        let app = app.clone();
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), req)
            });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

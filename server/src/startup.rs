//! Where the concrete parts are built and wired — the only place that does: the store, the
//! signing keys, the provider clients (one per configured kind) and the limiters into an [`AppState`], and the accept loop
//! that serves [`crate::http::app`].

use crate::config::{Config, ProviderKind};
use crate::keys::Keys;
use crate::limits::{ClientPending, PendingCap, RateLimiter};
use crate::metrics::Metrics;
use crate::provider::{Provider, Providers};
use crate::state::{AppState, Clock, Limiters};
use crate::store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// The configuration would orphan bound users.
    #[error("{0}")]
    Orphans(String),
}

impl AppState {
    /// Opens the store, loads the signing keys, builds the provider clients.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let store = crate::store::open_with(&config.server.database()).await?;
        Self::with_store(config, store, clock).await
    }

    /// Same as [`AppState::build`] with a given store.
    pub async fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        check_bound_connections(&config, store.as_ref()).await?;
        let keys = Keys::load(
            store.clone(),
            crate::keys::AtRest::new(config.server.key_encryption_key.clone()),
            config.pools.iter().map(|p| p.id.as_str()),
            clock.now(),
            config.server.token_ttl_secs,
        )
        .await?;
        let metrics = Arc::new(Metrics::default());
        let providers = providers(&config, &metrics)?;
        let l = &config.limits;
        let limiters = Arc::new(Limiters {
            authorize: RateLimiter::new(l.authorize_per_minute),
            callback: RateLimiter::new(l.callback_per_minute),
            binding: RateLimiter::new(l.binding_per_minute),
            pending: PendingCap::new(l.max_pending_attempts),
            pending_per_client: ClientPending::new(crate::limits::PendingCaps {
                client: l.max_pending_per_client,
                v6_56: l.max_pending_per_56,
                v6_48: l.max_pending_per_48,
            }),
            userinfo: RateLimiter::new(l.userinfo_per_minute),
            token: RateLimiter::new(l.token_per_minute),
            try_pages: RateLimiter::new(l.authorize_per_minute),
            admin_failures: RateLimiter::per_window(10, std::time::Duration::from_secs(15 * 60)),
        });
        Ok(Self {
            config: Arc::new(config),
            store,
            providers,
            keys: Arc::new(keys),
            clock,
            metrics,
            limiters,
        })
    }
}

/// One client per provider kind the configuration's connections use (a kind no connection uses
/// gets none: its client is never asked for).
fn providers(config: &Config, metrics: &Arc<Metrics>) -> Result<Providers, StartError> {
    let kinds: BTreeSet<ProviderKind> = config
        .pools
        .iter()
        .flat_map(|p| &p.connections)
        .map(|c| c.provider.kind())
        .collect();
    let mut providers = Providers::default();
    for kind in kinds {
        let client: Arc<dyn Provider> = match kind {
            ProviderKind::Xiaomi => Arc::new(crate::provider::xiaomi::Xiaomi::new(
                &config.xiaomi,
                &config.limits,
                metrics.clone(),
            )?),
        };
        providers = providers.with(kind, client);
    }
    Ok(providers)
}

/// Refuses a configuration that no longer defines a connection users are bound to (a renamed or
/// removed Unique ID). `serve` checks it before starting, `check` when the database exists.
pub async fn check_bound_connections(config: &Config, store: &dyn Store) -> Result<(), StartError> {
    orphaned_connections(config, store.bound_connections().await?)
}

/// [`check_bound_connections`] on the `(pool, connection)` pairs users are bound to.
pub fn orphaned_connections(
    config: &Config,
    bound: Vec<(String, String)>,
) -> Result<(), StartError> {
    let orphans: Vec<String> = bound
        .into_iter()
        .filter(|(p, c)| config.pool(p).and_then(|pool| pool.connection(c)).is_none())
        .map(|(p, c)| format!("{p}/{c}"))
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    Err(StartError::Orphans(format!(
        "users are bound to connection(s) {} that the configuration no longer defines. A Unique ID cannot be renamed or removed once identities use it: put the connection back (same pool and unique_id), or delete those users first with `milogin user delete`.",
        orphans.join(", ")
    )))
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then lets open requests finish.
///
/// A hand-rolled accept loop instead of `axum::serve`, for its bounds (X-89, issue 18): a
/// header-read timeout (`limits.header_read_timeout_ms`; hyper restarts it after each response,
/// so it also ends idle keep-alive connections), a shorter deadline for the first request's head
/// (`limits.first_request_timeout_ms`, [`crate::http::edge::FirstHead`]), a connection cap
/// (`limits.max_connections`, [`crate::http::edge::ConnectionCap`]) and a cap per client
/// (`limits.max_connections_per_client`, [`crate::http::edge::ClientConnections`]; trusted
/// proxies exempt).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let header_timeout =
        std::time::Duration::from_millis(state.config.limits.header_read_timeout_ms);
    let limits = &state.config.limits;
    let first_head = std::time::Duration::from_millis(
        limits
            .first_request_timeout_ms
            .min(limits.header_read_timeout_ms),
    );
    let mut cap = crate::http::edge::ConnectionCap::new(limits.max_connections);
    let mut per_client =
        crate::http::edge::ClientConnections::new(limits.max_connections_per_client);
    let proxies = state.config.server.trusted_proxies.clone();
    let app = crate::http::app(state);
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
        // The client's own cap first, so a client at it takes no global slot.
        let client_slot = match proxies.trusts(peer.ip().to_canonical()) {
            true => None,
            false => match per_client.admit(peer.ip()) {
                Some(s) => Some(s),
                None => {
                    drop(stream); // closed at once
                    continue;
                }
            },
        };
        let Some(slot) = cap.admit() else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), req)
            });
        let io = TokioIo::new(crate::http::edge::FirstHead::new(stream, first_head));
        let conn = graceful.watch(http.serve_connection(io, svc));
        tokio::spawn(async move {
            let _ = conn.await;
            drop((slot, client_slot));
        });
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

/// Serves `/metrics` alone on `listener` (`server.metrics_listen`) until `shutdown` resolves. An
/// operator's address (a scraper, not browsers): no per-client bounds beyond hyper's own.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crate::http::metrics_app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_built_for_each_kind_the_connections_use() {
        use crate::config::fixture::{AppBuilder, ConfigBuilder, ConnectionBuilder, PoolBuilder};
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        let secret = crate::config::fixture::Secret::File("secret".into());
        let file = ConfigBuilder::on_loopback(8080, "sqlite::memory:").pool(
            PoolBuilder::new("p")
                .app(AppBuilder::new("a", "https://shop.example.com", &["mi"]))
                .connection(ConnectionBuilder::xiaomi("mi", "1", secret)),
        );
        let config = Config::from_toml(&file.render(), Vec::new(), dir.path()).unwrap();
        let built = providers(&config, &Arc::new(Metrics::default())).unwrap();
        assert_eq!(built.kinds().collect::<Vec<_>>(), [ProviderKind::Xiaomi]);
        assert!(built.of(&config.pools[0].connections[0]).is_ok());
    }
}

//! milogin server: "Log in with Xiaomi" for any website.
//!
//! [`app`] builds the router that `milogin serve` runs and that the tests drive; everything it
//! needs travels in [`state::AppState`], built by [`startup`]. The modules form one-way layers
//! (ARCHITECTURE.md; `tests/layers/` fails on a new cycle or a wrong-way import):
//! `cli` → `demo` → `startup` → `http` → `login` → `state` → (`keys`, `provider`, `limits`,
//! `accounts`, `token`) → `store` → `config` → (`domain`, `crypto`, `metrics`).

/// Local accounts: argon2id passwords, user ids, account creation.
pub mod accounts;
/// Command line: serve, check, demo, mock-xiaomi, user, keys.
pub mod cli;
/// Typed configuration: TOML file, `MILOGIN_…` overrides, validation with fix hints.
pub mod config;
/// Random tokens, SHA-256 hex, constant-time comparison.
pub mod crypto;
/// The demo: server, mock Xiaomi and a host page on another origin.
pub mod demo;
/// Shared values: contact normal forms, sign-in identifiers, the client address behind proxies.
pub mod domain;
/// The HTTP edge: routes per resource, extractors, responders, pages, request bounds.
pub mod http;
/// Signing-key rotation: which keys a pool publishes and signs with, `milogin keys rotate`.
pub mod keys;
/// Per-client rate limits and pending-attempt caps.
pub mod limits;
/// The login: start, finish, resolve the user, the binding step, issue the token.
pub mod login;
/// Prometheus metrics.
pub mod metrics;
/// OpenID Connect's code flow as pure functions: authorize and token requests, PKCE, client authentication.
pub mod oidc;
/// Identity providers: the `Provider` trait and Xiaomi (with its circuit breaker).
pub mod provider;
/// Building the application state and serving it.
pub mod startup;
/// Shared application state and the injectable clock.
pub mod state;
/// The database: users, identities, attempts, signing keys.
pub mod store;
/// Logging set-up.
pub mod telemetry;
/// One signing key: id_token, its verification, the JWK.
pub mod token;

pub use http::app;
/// The mock Xiaomi, a crate of its own (`mock-xiaomi/`): `milogin mock-xiaomi` and `milogin demo`
/// run it, so the binary depends on it, but no module below `demo` uses it (`tests/layers/`).
/// Re-exported so tests and the benchmark keep one import path.
pub use milogin_mock_xiaomi as mock_xiaomi;
pub use startup::serve;

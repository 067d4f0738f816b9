//! `GET /designer`: the button designer (the `designer/` crate, a Leptos CSR app built by `cargo
//! xtask build-designer` into `public/designer/` and embedded by `build.rs`), its files at
//! `/designer/{file}`, and `GET /designer/check?pool=&app=&origin=`, which answers exactly what
//! the public connection list answers a page of that origin — except that the server's own
//! origin counts as any site's (it is the designer's, not an app's). So the designer shows
//! nothing the list does not already tell anyone who sends an `Origin` header.
//!
//! The page's CSP allows what it needs and nothing more: scripts, style sheets and fetches from
//! this origin (the designer, `/widget/milogin.js`, the connection list), `'wasm-unsafe-eval'`
//! to compile the two wasm modules; no inline script or style, no images, no frames, no form
//! posts. `server.designer = false` removes every route here (404).

use super::connections::{self, OwnOrigin};
use super::pages::secure_headers;
use super::widget::embedded_response;
use crate::domain::Origin;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use milogin_shared::ErrorCode;
use serde::Deserialize;

/// The designer's files built into the binary (name, bytes); empty when it was built before
/// `cargo xtask build-designer`.
static EMBEDDED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/designer_files.rs"));

/// The page, served only as `/designer` (with [`CSP`]), never as a file.
const INDEX: &str = "index.html";

/// The page's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const NOT_BUILT: &str = "the button designer is not built into this server: run `cargo xtask build-designer`, then rebuild the server (`cargo build --release -p milogin-server`)\n";

/// True when the binary carries the designer.
pub fn embedded() -> bool {
    EMBEDDED.iter().any(|(n, _)| *n == INDEX)
}

/// Why `/designer` would not show the designer although it is on, with the fix; `None` when it
/// would, or when it is off (`check` and `serve` warn).
pub fn missing(enabled: bool) -> Option<String> {
    missing_with(enabled, embedded())
}

fn missing_with(enabled: bool, embedded: bool) -> Option<String> {
    (enabled && !embedded).then(|| {
        "server.designer is on but this binary was built without the button designer (/designer answers 404): run `cargo xtask build-designer`, then rebuild, or set server.designer = false".to_owned()
    })
}

/// The designer's routes; none when `server.designer = false`.
pub fn router(enabled: bool) -> Router<AppState> {
    if !enabled {
        return Router::new();
    }
    Router::new()
        .route("/designer", get(get_designer))
        .route("/designer/check", get(get_check))
        .route("/designer/{file}", get(get_file))
}

async fn get_designer() -> Response {
    let Some(page) = embedded_response(EMBEDDED, INDEX, &HeaderMap::new()) else {
        return (StatusCode::NOT_FOUND, NOT_BUILT).into_response();
    };
    let mut r = page;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    secure_headers(h);
    r
}

/// The entry module, the glue, the wasm and the style sheet (precompressed when accepted).
async fn get_file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let listed = name != INDEX && !name.starts_with("index.html.");
    let Some(mut r) = listed
        .then(|| embedded_response(EMBEDDED, &name, &headers))
        .flatten()
    else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let h = r.headers_mut();
    // Content-hashed: never changes under its name.
    let cache = if name.starts_with("designer-") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `?pool=&app=&origin=`.
#[derive(Deserialize)]
struct CheckQuery {
    pool: Option<String>,
    app: Option<String>,
    origin: Option<String>,
}

/// Whether a site's origin may use the app: the connection list's answer to a page of that
/// origin (200 with `X-Milogin-Return-Page`, or the refusal `{code, message}` with its fix).
async fn get_check(State(st): State<AppState>, Query(q): Query<CheckQuery>) -> Response {
    let (Some(pool), Some(app), Some(origin)) = (q.pool, q.app, q.origin) else {
        return bad_request(
            "/designer/check needs pool, app and origin, e.g. ?pool=demo-pool&app=demo-app&origin=https://shop.example.com".into(),
        );
    };
    let origin = origin.trim();
    let parsed = match Origin::parse(origin) {
        Ok(o) => o,
        Err(why) => {
            return bad_request(format!(
                "The origin {origin:?} {why}, e.g. https://shop.example.com (scheme and host, a port if not the default, no path or trailing slash)."
            ))
        }
    };
    let mut r = connections::answer(
        &st,
        (pool.trim(), app.trim()),
        Some(parsed.as_str()),
        OwnOrigin::AsAnySite,
        "en",
    );
    // Asked by the designer on this origin: no cross-origin reads, no caching.
    let h = r.headers_mut();
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    h.remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
    h.remove(header::VARY);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn bad_request(message: String) -> Response {
    let body =
        serde_json::json!({ "code": ErrorCode::InvalidRequest.as_str(), "message": message });
    let mut r = (StatusCode::BAD_REQUEST, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::missing_with;

    #[test]
    fn a_missing_designer_is_named_with_the_fix_only_when_it_is_on() {
        let w = missing_with(true, false).unwrap();
        assert!(w.contains("cargo xtask build-designer") && w.contains("server.designer = false"));
        assert_eq!(missing_with(true, true), None);
        assert_eq!(missing_with(false, false), None);
    }
}

//! `GET /widget/…`: the built widget (loader, wasm-bindgen glue, wasm) for any site to embed.
//!
//! `Access-Control-Allow-Origin: *` (module scripts and the wasm fetch are CORS requests; no
//! credentials are involved), `Cross-Origin-Resource-Policy: cross-origin`, `nosniff`, correct
//! MIME types, precompressed `.br`/`.gz` when present. Content-hashed files are immutable for a
//! year; the loader `milogin.js` (a stable URL) is revalidated after 5 minutes.

use crate::state::AppState;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::services::ServeDir;

/// Serves `dir` at the nest point.
pub fn router(dir: std::path::PathBuf) -> Router<AppState> {
    let built = dir.join("milogin.js").is_file();
    let files = ServeDir::new(&dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(
            move |req: Request<axum::body::Body>, next: Next| async move {
                let path = req.uri().path().to_owned();
                if !built && path.ends_with("milogin.js") {
                    return (
                        StatusCode::NOT_FOUND,
                        "the widget is not built: run `cargo xtask build-widget`\n",
                    )
                        .into_response();
                }
                headers(next.run(req).await, &path)
            },
        ))
}

fn headers(mut r: Response, path: &str) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if r.status().is_success() {
        let hashed = path
            .rsplit('/')
            .next()
            .is_some_and(|f| f.starts_with("milogin-"));
        let cache = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=300"
        };
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    r
}

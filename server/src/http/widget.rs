//! `GET /widget/…`: the built widget (`cargo xtask build-widget`) for any site to embed:
//! `milogin.js` (the loader, with the wasm-bindgen glue inside) and `milogin-<hash>.wasm`.
//! Served from the copy built into the binary (`build.rs`), or from `server.widget_dir` when set
//! (a widget built after the binary, or a customised one).
//!
//! `Access-Control-Allow-Origin: *` (module scripts and the wasm fetch are CORS requests; no
//! credentials are involved), `Cross-Origin-Resource-Policy: cross-origin`, `nosniff`, correct
//! MIME types (`text/javascript`, `application/wasm`), precompressed `.br`/`.gz` when present
//! (`Vary: Accept-Encoding`). Content-hashed files are immutable for a year; the loader (a stable
//! URL) is revalidated after 5 minutes. Without a build, the loader's URL answers a plain-text 404
//! that says how to build it.

use crate::state::AppState;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::path::PathBuf;
use tower_http::services::ServeDir;

/// The widget's files built into the binary (name, bytes); empty when it was built before
/// `cargo xtask build-widget`.
static EMBEDDED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/widget_files.rs"));

/// True when the binary carries the widget (its loader).
pub fn embedded() -> bool {
    embedded_file("milogin.js").is_some()
}

fn embedded_file(name: &str) -> Option<&'static [u8]> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// Why no widget would be served, with the fix; `None` when one is (`check` fails on it,
/// `serve` and `demo` warn).
pub fn missing(widget_dir: Option<&std::path::Path>) -> Option<String> {
    missing_with(embedded(), widget_dir)
}

fn missing_with(embedded: bool, widget_dir: Option<&std::path::Path>) -> Option<String> {
    match widget_dir {
        Some(d) if !d.join("milogin.js").is_file() => Some(format!(
            "server.widget_dir: {} has no milogin.js; run `cargo xtask build-widget` (it writes public/widget/) and point widget_dir there, or remove widget_dir to serve the copy built into the binary",
            d.display()
        )),
        None if !embedded => Some(
            "no widget: this binary was built without it and server.widget_dir is not set; run `cargo xtask build-widget`, then rebuild (`cargo build --release -p milogin-server`), or set widget_dir to a built widget folder".into(),
        ),
        _ => None,
    }
}

const NOT_BUILT: &str = "the milogin widget is not built: run `cargo xtask build-widget`\n";

/// Serves `dir` at the nest point, or the embedded copy when `dir` is `None`.
pub fn router(dir: Option<PathBuf>) -> Router<AppState> {
    match dir {
        Some(dir) => files(dir),
        None => embedded_router(),
    }
}

/// The embedded copy, with the headers and precompression of [`files`].
fn embedded_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().fallback(|req: Request<axum::body::Body>| async move {
        let path = req.uri().path().to_owned();
        let name = path.rsplit('/').next().unwrap_or_default();
        let Some(r) = embedded_response(EMBEDDED, name, req.headers()) else {
            let body = if name == "milogin.js" {
                NOT_BUILT
            } else {
                "not found\n"
            };
            return with_headers((StatusCode::NOT_FOUND, body).into_response(), &path);
        };
        with_headers(r, &path)
    })
}

/// `name` from an embedded file list, 200 with its MIME type, as its `.br` or `.gz` sibling
/// when the request accepts that encoding (and the list has it); `None` when it is not listed.
pub(super) fn embedded_response(
    files: &'static [(&str, &[u8])],
    name: &str,
    headers: &axum::http::HeaderMap,
) -> Option<Response> {
    let file = |n: &str| files.iter().find(|(f, _)| *f == n).map(|(_, b)| *b);
    let identity = file(name)?;
    let accepts = |enc: &str| {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|e| e.trim() == enc)
    };
    let (body, encoding) = [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(enc, _)| accepts(enc))
        .find_map(|(enc, ext)| Some((file(&format!("{name}.{ext}"))?, Some(enc))))
        .unwrap_or((identity, None));
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    Some(r)
}

/// The MIME type by extension, as `ServeDir` gives it.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("html") => "text/html",
        _ => "application/octet-stream",
    }
}

/// The router, for any state (the tests use `()`).
fn files<S: Clone + Send + Sync + 'static>(dir: PathBuf) -> Router<S> {
    let serve = ServeDir::new(&dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(serve)
        .layer(axum::middleware::from_fn(
            move |req: Request<axum::body::Body>, next: Next| {
                let loader = dir.join("milogin.js");
                async move {
                    let path = req.uri().path().to_owned();
                    // Checked per request, so a build after the server started is picked up.
                    if path.ends_with("/milogin.js") && !loader.is_file() {
                        return with_headers(
                            (StatusCode::NOT_FOUND, NOT_BUILT).into_response(),
                            &path,
                        );
                    }
                    with_headers(next.run(req).await, &path)
                }
            },
        ))
}

fn with_headers(mut r: Response, path: &str) -> Response {
    let ok = r.status().is_success();
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
    if ok {
        let hashed = path
            .rsplit('/')
            .next()
            .is_some_and(|f| f.starts_with("milogin-"));
        let cache = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=300"
        };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn get(dir: &std::path::Path, path: &str, encoding: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(e) = encoding {
            req = req.header(header::ACCEPT_ENCODING, e);
        }
        let app: Router = Router::new().nest("/widget", files(dir.to_path_buf()));
        app.oneshot(req.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header<'a>(r: &'a Response, name: &str) -> &'a str {
        r.headers().get(name).map_or("", |v| v.to_str().unwrap())
    }

    async fn text(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn a_missing_widget_is_named_with_the_fix() {
        let empty = tempfile::tempdir().unwrap();
        let no_embedded = missing_with(false, None).unwrap();
        assert!(
            no_embedded.contains("cargo xtask build-widget"),
            "{no_embedded}"
        );
        assert_eq!(missing_with(true, None), None);
        let dir = missing_with(true, Some(empty.path())).unwrap();
        assert!(dir.starts_with("server.widget_dir: ") && dir.contains("cargo xtask build-widget"));
        std::fs::write(empty.path().join("milogin.js"), "//").unwrap();
        assert_eq!(missing_with(false, Some(empty.path())), None);
    }

    #[tokio::test]
    async fn an_unbuilt_widget_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let r = get(dir.path(), "/widget/milogin.js", None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&r, "access-control-allow-origin"), "*");
        assert!(text(r).await.contains("cargo xtask build-widget"));
    }

    #[tokio::test]
    async fn loader_and_wasm_with_cors_mime_cache_and_precompression() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("milogin.js"), "export const ready = 1;\n").unwrap();
        std::fs::write(dir.path().join("milogin.js.br"), b"brotli bytes").unwrap();
        std::fs::write(
            dir.path().join("milogin-0123456789ab.wasm"),
            b"\0asm\x01\0\0\0",
        )
        .unwrap();

        let r = get(dir.path(), "/widget/milogin.js", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "content-type"), "text/javascript");
        assert_eq!(header(&r, "access-control-allow-origin"), "*");
        assert_eq!(header(&r, "cross-origin-resource-policy"), "cross-origin");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        assert_eq!(header(&r, "cache-control"), "public, max-age=300");
        assert_eq!(header(&r, "vary"), "accept-encoding");
        assert_eq!(text(r).await, "export const ready = 1;\n");

        let r = get(dir.path(), "/widget/milogin.js", Some("gzip, br")).await;
        assert_eq!(header(&r, "content-encoding"), "br");
        assert_eq!(text(r).await, "brotli bytes");

        let r = get(dir.path(), "/widget/milogin-0123456789ab.wasm", Some("br")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "content-type"), "application/wasm");
        assert_eq!(
            header(&r, "content-encoding"),
            "",
            "no .br sibling: served as is"
        );
        assert_eq!(
            header(&r, "cache-control"),
            "public, max-age=31536000, immutable"
        );

        let r = get(dir.path(), "/widget/milogin-ffffffffffff.wasm", None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            header(&r, "cache-control"),
            "",
            "a 404 is not cached for a year"
        );
    }
}

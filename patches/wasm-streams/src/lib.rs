//! milogin's stand-in for `wasm-streams` 0.5 (see this folder's README.md).
//!
//! Leptos always links `server_fn` with its `browser` feature, whose streaming requests and
//! responses are the only users of `wasm-streams`. The real crate exports four JS classes
//! (`IntoUnderlyingSource`, …) through `#[wasm_bindgen]`; exports are roots, so their bodies and the
//! futures they drive stay in every Leptos wasm even where nothing streams. milogin's widget and
//! designer call no server function, so this crate keeps only the names `server_fn` compiles
//! against, and each call throws a JS error that says why instead of streaming.

use futures_util::stream::Empty;
use wasm_bindgen::JsValue;

/// What a call into streaming throws.
const UNSUPPORTED: &str = "milogin builds Leptos without streaming server functions \
     (patches/wasm-streams stands in for wasm-streams)";

/// A web `ReadableStream` as `server_fn` names it; never built here.
pub struct ReadableStream(web_sys::ReadableStream);

impl ReadableStream {
    /// A streaming request body: not supported, throws.
    pub fn from_stream<S>(_stream: S) -> Self
    where
        S: futures_util::Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        wasm_bindgen::throw_str(UNSUPPORTED)
    }

    /// A streaming response body: kept as is; reading it throws.
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        Self(raw)
    }

    /// The web stream it wraps.
    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.0
    }

    /// Reading a stream as a Rust `Stream`: not supported, throws.
    pub fn into_stream(self) -> Empty<Result<JsValue, JsValue>> {
        wasm_bindgen::throw_str(UNSUPPORTED)
    }
}

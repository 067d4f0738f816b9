//! Small browser helpers every wasm32 module uses: the page's globals, plain property access,
//! plain objects, console lines, attempt ids and the server's URLs.
//!
//! Size note: plain properties are read and written with `Reflect` ([`prop`], [`object`]) rather
//! than typed web-sys getters and dictionary setters; each typed accessor is one more import and
//! JS shim in the download, `Reflect` is one for all.

use crate::core::redirect;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, UrlSearchParams, Window};

/// What the loader tells the wasm once, at start ([`crate::start`]).
pub struct Page {
    /// The milogin server's origin (where the loader came from).
    pub server: String,
    /// The loader's `inApp()` verdict for this browser.
    pub in_app: bool,
    /// The Xiaomi mark (`widget/src/mark.svg`), which the loader carries for its first paint:
    /// one copy in the download.
    pub mark: String,
    /// The fragment the loader took out of the address bar as it evaluated (empty unless it was
    /// milogin's, or looked like it).
    pub hash: String,
    /// The loader's PKCE pair maker ([`take_pkce`]).
    pub pkce: Option<js_sys::Function>,
}

thread_local! {
    static PAGE: RefCell<Page> = const { RefCell::new(Page { server: String::new(), in_app: false, mark: String::new(), hash: String::new(), pkce: None }) };
}

/// Records what the loader said at start.
pub fn set_page(page: Page) {
    PAGE.with(|p| *p.borrow_mut() = page);
}

/// The server's origin.
pub fn server() -> String {
    PAGE.with(|p| p.borrow().server.clone())
}

/// The mark's SVG markup, from the loader.
pub fn mark() -> String {
    PAGE.with(|p| p.borrow().mark.clone())
}

/// Whether the loader's `inApp()` said this is an in-app browser or webview.
pub fn in_app() -> bool {
    PAGE.with(|p| p.borrow().in_app)
}

pub fn window() -> Window {
    web_sys::window().expect_throw("milogin: no window")
}

pub fn document() -> Document {
    window().document().expect_throw("milogin: no document")
}

/// `o[key]`, or `undefined`.
pub fn prop(o: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(o, &key.into()).unwrap_or_default()
}

/// `o[key]` as a string, when it is one.
pub fn prop_str(o: &JsValue, key: &str) -> Option<String> {
    prop(o, key).as_string()
}

/// A plain object `{k: v, …}`.
pub fn object(entries: &[(&str, JsValue)]) -> js_sys::Object {
    let o = js_sys::Object::new();
    for (k, v) in entries {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), v);
    }
    o
}

/// `location.<key>` of this page (`href`, `hash`, `origin`).
pub fn location(key: &str) -> String {
    prop_str(&window().location(), key).unwrap_or_default()
}

/// This page's URL without its fragment.
pub fn this_page() -> String {
    let href = location("href");
    href.split('#').next().unwrap_or_default().to_owned()
}

/// The fragment the loader took out of the address bar, as URL parameters (`#a=1&b=2`).
pub fn fragment() -> UrlSearchParams {
    let hash = PAGE.with(|p| p.borrow().hash.clone());
    UrlSearchParams::new_with_str(hash.strip_prefix('#').unwrap_or(&hash))
        .expect_throw("milogin: URLSearchParams")
}

/// `console.warn("milogin: …")`
pub fn warn(parts: &[&str]) {
    web_sys::console::warn_1(&prefixed(parts));
}

/// `console.error("milogin: …")`
pub fn error(parts: &[&str]) {
    web_sys::console::error_1(&prefixed(parts));
}

fn prefixed(parts: &[&str]) -> JsValue {
    let mut s = String::from("milogin: ");
    parts.iter().for_each(|p| s.push_str(p));
    JsValue::from(s)
}

/// A fresh attempt id: 24 random bytes (`crypto.getRandomValues`), base64url.
pub fn attempt_id() -> String {
    let mut bytes = [0u8; 24];
    let crypto = window().crypto().expect_throw("milogin: no crypto");
    crypto
        .get_random_values_with_u8_array(&mut bytes)
        .expect_throw("milogin: getRandomValues");
    redirect::b64url(&bytes)
}

/// The next attempt's PKCE pair `[verifier, challenge]` (`S256`), made by the loader ahead of
/// the click (`crypto.subtle.digest` answers with a promise; the popup must open inside the
/// click); empty, with a console line that says why, when there is none.
pub fn take_pkce() -> [String; 2] {
    let f = PAGE.with(|p| p.borrow().pkce.clone());
    let pair = f
        .map(|f| f.call0(&JsValue::NULL).unwrap_or_default())
        .unwrap_or_default();
    let pair = [0, 1].map(|i| {
        js_sys::Reflect::get_u32(&pair, i)
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    });
    if pair[1].is_empty() {
        warn(&[
            "no PKCE pair for this login: the page has no crypto.subtle (not a secure context: \
             use https or http://localhost), or it was not ready yet. Redirect mode and the \
             return page need one.",
        ]);
    }
    pair
}

/// `S/<path segments, each percent-encoded>?<query>`: the query form-encoded by
/// `URLSearchParams`, exactly as the server's parsers expect it.
pub fn server_url(segments: &[&str], query: &[(&str, &str)]) -> String {
    let mut url = server();
    for s in segments {
        url.push('/');
        url.push_str(&String::from(js_sys::encode_uri_component(s)));
    }
    if !query.is_empty() {
        url.push('?');
        url.push_str(&String::from(form(query).to_string()));
    }
    url
}

/// `query` as `URLSearchParams` (a fetch body sent as `application/x-www-form-urlencoded`).
pub fn form(query: &[(&str, &str)]) -> UrlSearchParams {
    let q = UrlSearchParams::new().expect_throw("milogin: URLSearchParams");
    for (k, v) in query {
        q.append(k, v);
    }
    q
}

/// Redirect mode: remember the attempt in this tab (only its result is accepted back), then go.
pub fn leave(pending: &redirect::Pending, url: &str) {
    if let Ok(Some(s)) = window().session_storage() {
        let _ = s.set_item(PENDING, &pending.encode());
    }
    let _ = window().location().assign(url);
}

/// The `sessionStorage` key of [`redirect::Pending`].
pub const PENDING: &str = "milogin:pending";

/// `<el>.shadowRoot.querySelector("button")`
pub fn inner_button(el: &Element) -> Option<web_sys::HtmlElement> {
    let root = el.shadow_root()?;
    root.query_selector("button").ok()??.dyn_into().ok()
}

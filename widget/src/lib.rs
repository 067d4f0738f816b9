//! milogin widget: the "Sign in with Xiaomi" button, Rust compiled to wasm32 (web-sys, no UI
//! framework: docs/widget-size.md says why).
//!
//! The element has one owner, this crate. `public/milogin.js` (the loader) only defines
//! `<milogin-button>`, attaches its open shadow root, instantiates the wasm, forwards the
//! element's lifecycle callbacks to [`mount`] / [`Button`], and keeps what must work before the
//! wasm has loaded (`inApp()`, and `login()`'s window opened inside the click). Everything else is
//! here: rendering (styles, label, live region), the connection list for the label, attempt ids
//! and URLs, `window.open`, redirect mode and its return, the return page's relay, the events.
//!
//! The boundary is typed (`#[wasm_bindgen]` functions and the [`Button`] class); events leave as
//! DOM `CustomEvent`s dispatched on the element.
//!
//! * [`protocol`] (pure): the attempt state machine, message validation — native tests.
//! * [`config`] (pure): attributes → settings, the two locales' texts — native tests.
//! * [`redirect`] (pure): base64url, the redirect-mode record, a token's claims — native tests.
//! * `popup` (wasm32): the click's window, listeners and timers, relayed results, diagnostics.
//! * `delivery` (wasm32): the events, the return page's relay, redirect mode's return.
//! * `preflight` (wasm32): the connection list: the label, a return page, or why a login cannot work.
//! * `web` (wasm32): page globals, `Reflect` helpers, attempt ids, the server's URLs.
//! * `button` (wasm32): the shadow DOM; it only shows what `popup` reports.

pub mod config;
pub mod protocol;
pub mod redirect;

#[cfg(target_arch = "wasm32")]
mod button;
#[cfg(target_arch = "wasm32")]
mod delivery;
#[cfg(target_arch = "wasm32")]
mod popup;
#[cfg(target_arch = "wasm32")]
mod preflight;
#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use entry::*;

/// The `#[wasm_bindgen]` boundary the loader calls.
#[cfg(target_arch = "wasm32")]
mod entry {
    use crate::button::{self, View};
    use crate::config::Config;
    use crate::delivery;
    use crate::popup::Login;
    use crate::redirect::Pending;
    use crate::web::{self, prop};
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use web_sys::{HtmlElement, ShadowRoot, Window};

    /// Once per page, when the wasm is ready: `server` is the milogin server's origin (where the
    /// loader came from), `in_app` the loader's `inApp()` for this browser. Opens the return
    /// page's relay (and relays, on the return page) and takes back a redirect-mode result.
    #[wasm_bindgen]
    pub fn start(server: String, in_app: bool) {
        web::set_page(web::Page { server, in_app });
        delivery::start();
    }

    /// One mounted button; `free()` (from `disconnectedCallback`) unmounts it and ends its attempt.
    #[wasm_bindgen]
    pub struct Button {
        login: Rc<Login>,
        _view: Rc<View>,
    }

    impl Drop for Button {
        fn drop(&mut self) {
            // First: ends the attempt and lets go of the view, which then leaves the shadow root.
            self.login.stop();
        }
    }

    /// Renders the button of `host` (a `<milogin-button>`) into `root`, its shadow root. `pre`:
    /// a window `login()` opened inside the click before the wasm was ready, for the first
    /// attempt (closed if unused).
    #[wasm_bindgen]
    pub fn mount(host: HtmlElement, root: ShadowRoot, pre: Option<Window>) -> Button {
        let parsed = Config::parse(&|name| host.get_attribute(name), &page_language());
        for p in &parsed.problems {
            let report = if parsed.usable { web::warn } else { web::error };
            report(&["<milogin-button>: ", p]);
        }
        let usable = parsed.usable;
        let cfg = Rc::new(parsed.config);
        let login = Login::new(cfg.clone(), host.clone(), pre);
        delivery::register(&login);
        let view = View::render(root, &cfg, usable, &login);
        button::follow(&login, &view, &cfg, host);
        Button { login, _view: view }
    }

    /// The hosted login page (every connection of the app) in redirect mode: sends this window
    /// there with an attempt it remembers, so that the widget on `redirect_uri` (default: this
    /// page; the same origin) takes the result.
    #[wasm_bindgen]
    pub fn login_page(
        pool: Option<String>,
        app: Option<String>,
        redirect_uri: Option<String>,
        lang: Option<String>,
    ) {
        let (pool, app) = (pool.unwrap_or_default(), app.unwrap_or_default());
        let attempt = web::attempt_id();
        let back = redirect_uri.unwrap_or_else(web::this_page);
        let mut q = vec![("app_id", app.as_str()), ("mode", "redirect")];
        q.extend([
            ("redirect_uri", back.as_str()),
            ("attempt", attempt.as_str()),
        ]);
        if let Some(lang) = &lang {
            q.push(("lang", lang));
        }
        let url = web::server_url(&["login", &pool], &q);
        let pending = Pending {
            attempt,
            element_id: String::new(),
            keys: [pool, app, String::new()],
        };
        web::leave(&pending, &url);
    }

    /// `<html lang>`, else `navigator.language`.
    fn page_language() -> String {
        let w = web::window();
        let html = web::document().document_element().map(JsValue::from);
        let lang = html.and_then(|h| prop(&h, "lang").as_string());
        lang.filter(|l| !l.is_empty())
            .or_else(|| prop(&prop(&w, "navigator"), "language").as_string())
            .unwrap_or_default()
    }
}

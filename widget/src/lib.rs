//! milogin widget: the "Sign in with Xiaomi" button — a Leptos component rendered inside the
//! `<milogin-button>` element's shadow root, compiled to wasm32.
//!
//! `public/milogin.js` (the loader) defines `<milogin-button>`, attaches its open shadow root and
//! adopts the one style sheet (`style.css`), paints a busy button at once (before the wasm), then
//! instantiates the wasm and forwards the element's lifecycle to [`mount`] / [`Button`]
//! (`update()` on every attribute change, `free()` when it leaves the page). It also keeps what
//! must work before the wasm has loaded: `inApp()`, `login()`'s window opened inside the click,
//! and a disabled button that says why when the wasm cannot start.
//!
//! Three layers, one way (`ui` and `io` use `core`; `io` reports to `ui`'s signals):
//!
//! * [`core`] (pure, native tests): attributes, the attempt state machine and message checks,
//!   redirect mode's record, the connection list's verdict, what the button shows.
//! * `ui` (Leptos, wasm32): [`ButtonState`](ui::state::ButtonState) — the attributes, what is
//!   shown and the connection list as signals; the label as a memo — and the
//!   `LoginButton` component.
//! * `io` (plain wasm-bindgen / web-sys, wasm32): `window.open` inside the click, the message
//!   listener, the poll and deadline, the return page's relay, redirect mode out and back, the
//!   `milogin:*` events, and the connection list over gloo-net.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod io;
#[cfg(target_arch = "wasm32")]
mod ui;

#[cfg(target_arch = "wasm32")]
pub use entry::*;

/// A free list with a (never contended) lock: safe code, and ~6 KB of wasm less than dlmalloc.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// The `#[wasm_bindgen]` boundary the loader calls.
#[cfg(target_arch = "wasm32")]
mod entry {
    use crate::core::attrs::{Config, Parsed};
    use crate::core::redirect::Pending;
    use crate::io::popup::Login;
    use crate::io::web::{self, prop};
    use crate::io::{api, delivery};
    use crate::ui::button::LoginButton;
    use crate::ui::state::ButtonState;
    use leptos::prelude::*;
    use std::any::Any;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use web_sys::{Element, HtmlElement, ShadowRoot, Window};

    /// Once per page, when the wasm is ready: `server` is the milogin server's origin (where the
    /// loader came from), `in_app` the loader's `inApp()` for this browser, `mark` the Xiaomi
    /// mark's SVG (the loader's copy), `hash` the milogin fragment the loader took out of the
    /// address bar (or ""). Opens the return page's relay (and relays, on the return page) and
    /// takes back a redirect-mode result.
    #[wasm_bindgen]
    pub fn start(server: String, in_app: bool, mark: String, hash: String, pkce: js_sys::Function) {
        web::set_page(web::Page {
            server,
            in_app,
            mark,
            hash,
            pkce: Some(pkce),
        });
        let _ = any_spawner::Executor::init_wasm_bindgen();
        delivery::start();
    }

    /// One mounted button; `update()` follows its attributes, `free()` (from
    /// `disconnectedCallback`) unmounts it and ends its attempt.
    #[wasm_bindgen]
    pub struct Button {
        login: Rc<Login>,
        state: ButtonState,
        host: HtmlElement,
        /// The mounted view (unmounted when dropped), then its reactive owner.
        _view: Box<dyn Any>,
        _owner: Owner,
    }

    impl Drop for Button {
        fn drop(&mut self) {
            // First: ends the attempt (its window and listeners); the view and signals follow.
            self.login.stop();
        }
    }

    #[wasm_bindgen]
    impl Button {
        /// An attribute changed: the button follows in place (same `<button>` node, and a login
        /// in progress goes on); the connection list is asked again only for another pool, app
        /// or language.
        pub fn update(&self) {
            let parsed = parse(&self.host);
            // A required attribute set after the mount counts too (a framework binding it late).
            let key = |p: &Parsed| (p.usable, list_url(&p.config));
            let before = self.state.attrs.with_untracked(key);
            let after = key(&parsed);
            let changed = self.state.attrs.try_update(|p| {
                if *p == parsed {
                    return false;
                }
                report_problems(&parsed, &p.problems);
                *p = parsed;
                true
            });
            if changed == Some(true) && before != after {
                self.state.listing.set(None);
                self.ask();
            }
        }

        fn ask(&self) {
            if !self.state.usable_now() {
                return;
            }
            let cfg = self.state.config();
            let url = list_url(&cfg);
            let state = self.state;
            let want = url.clone();
            api::ask(
                url,
                &cfg.app,
                Box::new(move |l| {
                    // Taken only while the settings still ask for this list (an answer on its way
                    // for an older pool, app or language is dropped).
                    let current = state
                        .attrs
                        .try_with_untracked(|p| p.usable && list_url(&p.config) == want);
                    if current == Some(true) {
                        let _ = state.listing.try_set(Some(l));
                    }
                }),
            );
        }
    }

    /// Renders the button of `host` (a `<milogin-button>`) into `root`, its shadow root (whose
    /// first paint the loader drew: it is replaced). `pre`: a window `login()` opened inside the
    /// click before the wasm was ready, for the first attempt (closed if unused).
    #[wasm_bindgen]
    pub fn mount(host: HtmlElement, root: ShadowRoot, pre: Option<Window>) -> Button {
        let parsed = parse(&host);
        report_problems(&parsed, &[]);
        let owner = Owner::new();
        let (state, login, view) = owner.with(|| {
            let state = ButtonState::new(parsed);
            let login = Login::new(state, host.clone(), pre);
            delivery::register(&login);
            // The shadow root is a node like an element for everything a mount does.
            let parent: &Element = root.unchecked_ref();
            let view =
                leptos::mount::mount_to_renderer(parent, move || view! { <LoginButton state/> });
            if let Ok(Some(button)) = root.query_selector("button") {
                login.listen_clicks(button);
            }
            (state, login, view)
        });
        let button = Button {
            login,
            state,
            host,
            _view: Box::new(view),
            _owner: owner,
        };
        button.ask();
        button
    }

    /// The element's attributes, parsed (the page's language as the default locale).
    fn parse(host: &HtmlElement) -> Parsed {
        Config::parse(&|name| host.get_attribute(name), &page_language())
    }

    /// The console lines for what `parsed` found wrong and `before` did not.
    fn report_problems(parsed: &Parsed, before: &[String]) {
        for p in parsed.problems.iter().filter(|p| !before.contains(p)) {
            let report = if parsed.usable { web::warn } else { web::error };
            report(&["<milogin-button>: ", p]);
        }
    }

    fn list_url(cfg: &Config) -> String {
        api::url(&cfg.pool, &cfg.app, cfg.locale.tag())
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
        let [verifier, challenge] = web::take_pkce();
        let back = redirect_uri.unwrap_or_else(web::this_page);
        let mut q = vec![("app_id", app.as_str()), ("mode", "redirect")];
        q.extend([
            ("redirect_uri", back.as_str()),
            ("attempt", attempt.as_str()),
            ("code_challenge", &challenge),
        ]);
        if let Some(lang) = &lang {
            q.push(("lang", lang));
        }
        let url = web::server_url(&["login", &pool], &q);
        let pending = Pending {
            attempt,
            element_id: String::new(),
            keys: [pool, app, String::new()],
            verifier,
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

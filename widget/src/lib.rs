//! milogin widget: the "Sign in with Xiaomi" button as Leptos CSR compiled to wasm32.
//!
//! `public/milogin.js` (the loader) defines `<milogin-button>`, creates its open shadow root and
//! calls `mount` once the wasm is ready. Its `login(options)` mounts a detached element and clicks
//! it, so both paths share all the code here. The loader also owns what is cheaper in JS than in
//! the download of the wasm: URLs, attempt ids, `window.open`, redirect mode (and the result that
//! comes back in the fragment), the return page's relay, the in-app browser check.
//!
//! * [`protocol`] (pure): the attempt state machine, message validation — native tests.
//! * [`config`] (pure): attributes → settings, the two locales' texts — native tests.
//! * `popup` (wasm32): listeners and timers, relayed results, diagnostics.
//! * `components` (wasm32): the button; it only wires signals.

pub mod config;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod popup;

#[cfg(target_arch = "wasm32")]
pub use entry::*;

/// The `#[wasm_bindgen]` entry points the loader calls.
#[cfg(target_arch = "wasm32")]
mod entry {
    use crate::components::LoginButton;
    use crate::config::Config;
    use crate::popup::{self, Login};
    use leptos::prelude::*;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use web_sys::{HtmlElement, ShadowRoot};

    /// One mounted button; `free()` (from `disconnectedCallback`) unmounts it and ends its attempt.
    #[wasm_bindgen]
    pub struct Mounted {
        login: Rc<Login>,
        _view: Box<dyn std::any::Any>,
    }

    #[wasm_bindgen]
    impl Mounted {
        /// A result the app's return page relayed (`BroadcastChannel` data): ends this button's
        /// attempt when it is that attempt's result, else is ignored.
        pub fn relayed(&self, data: JsValue) {
            self.login.relayed(&data);
        }
    }

    impl Drop for Mounted {
        fn drop(&mut self) {
            self.login.stop();
        }
    }

    /// Renders the button of `host` (a `<milogin-button>`) into `root`, its shadow root.
    ///
    /// `lang`: the page's language (`<html lang>` or `navigator.language`). `emit(kind, …)`: the
    /// loader's side of a login — starts it (`"start"`) and fires the element's events (see the
    /// `popup` module).
    #[wasm_bindgen]
    pub fn mount(
        host: HtmlElement,
        root: ShadowRoot,
        server: String,
        lang: String,
        emit: js_sys::Function,
    ) -> Mounted {
        let parsed = Config::parse(&|name| host.get_attribute(name), &lang);
        for p in &parsed.problems {
            let report = if parsed.usable {
                popup::warn
            } else {
                popup::error
            };
            report(&["<milogin-button>: ", p]);
        }
        let usable = parsed.usable;
        let cfg = Rc::new(parsed.config);
        let label = cfg
            .display_name
            .clone()
            .unwrap_or_else(|| cfg.locale.texts().label.into());
        let login = Login::new(cfg.clone(), server.into(), emit.clone());
        let l = login.clone();
        // Leptos only calls Node methods on the parent, which a ShadowRoot has.
        let view = leptos::mount::mount_to(root.unchecked_into(), move || {
            view! { <LoginButton cfg usable login=l label emit /> }
        });
        Mounted {
            login,
            _view: Box::new(view),
        }
    }
}

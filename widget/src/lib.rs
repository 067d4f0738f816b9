//! milogin widget: the "Sign in with Xiaomi" button as Leptos CSR compiled to wasm32.
//!
//! `public/milogin.js` (the loader) defines `<milogin-button>`, creates its open shadow root and
//! calls [`mount`] once the wasm is ready; its exported `login(options)` calls [`login`].
//!
//! * [`protocol`] (pure): the attempt state machine, message validation, URLs — native tests.
//! * [`config`] (pure): attributes → settings, the two locales' texts — native tests.
//! * `popup` (wasm32): `window.open`, listeners and timers, diagnostics.
//! * `connections` (wasm32): the label from the server's connection list.
//! * `components` (wasm32): the button; it only wires signals.

pub mod config;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod connections;
#[cfg(target_arch = "wasm32")]
mod popup;

#[cfg(target_arch = "wasm32")]
pub use entry::*;

/// The `#[wasm_bindgen]` entry points the loader calls.
#[cfg(target_arch = "wasm32")]
mod entry {
    use crate::components::LoginButton;
    use crate::config::Config;
    use crate::popup::{self, Change, Login};
    use crate::protocol::End;
    use js_sys::{Object, Promise, Reflect};
    use leptos::prelude::*;
    use milogin_shared as wire;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use web_sys::{HtmlElement, ShadowRoot, Window};

    /// One mounted button; `free()` (from `disconnectedCallback`) unmounts it and ends its attempt.
    #[wasm_bindgen]
    pub struct Mounted {
        login: Rc<Login>,
        _view: Box<dyn std::any::Any>,
    }

    impl Drop for Mounted {
        fn drop(&mut self) {
            self.login.stop();
        }
    }

    /// Renders the button of `host` (a `<milogin-button>`) into `root`, its shadow root.
    #[wasm_bindgen]
    pub fn mount(host: HtmlElement, root: ShadowRoot, server: String) -> Mounted {
        let parsed = Config::parse(|name| host.get_attribute(name), &page_language());
        for p in &parsed.problems {
            let report = if parsed.usable { popup::warn } else { popup::error };
            report(&["<milogin-button>: ", p]);
        }
        let usable = parsed.usable;
        let cfg = Rc::new(parsed.config);
        let server: Rc<str> = server.into();
        let login = Login::new(cfg.clone(), server.clone());
        let l = login.clone();
        // Leptos only calls Node methods on the parent, which a ShadowRoot has.
        let view = leptos::mount::mount_to(root.unchecked_into(), move || {
            view! { <LoginButton cfg usable login=l host server /> }
        });
        Mounted { login, _view: Box::new(view) }
    }

    thread_local! {
        static CURRENT: RefCell<Option<(Rc<Login>, Promise)>> = const { RefCell::new(None) };
    }

    /// `login(options)`: the same login without a button. Resolves with `{id_token, user}`;
    /// rejects with `{code, message}` — `code` is an error code, or `"cancelled"` when the popup
    /// was closed. A call while a popup is open focuses it and returns the pending promise.
    /// `pre`: a popup the loader opened synchronously because the wasm was not ready yet.
    #[wasm_bindgen]
    pub fn login(options: JsValue, server: String, pre: Option<Window>) -> Promise {
        if let Some((login, promise)) = CURRENT.with_borrow(Clone::clone) {
            if login.is_open() {
                if let Some(p) = pre {
                    let _ = p.close();
                }
                login.click(None);
                return promise;
            }
        }
        let parsed = Config::parse(
            |name| {
                let key = match name {
                    "display-name" => "displayName",
                    "redirect-uri" => "redirectUri",
                    other => other,
                };
                let v = Reflect::get(&options, &key.into()).ok()?;
                v.as_string().or_else(|| v.as_f64().map(|n| n.to_string()))
            },
            &page_language(),
        );
        for p in &parsed.problems {
            popup::warn(&["login(): ", p]);
        }
        if !parsed.usable {
            if let Some(p) = pre {
                let _ = p.close();
            }
            let message = parsed.problems.join("; ");
            return Promise::reject(&error_detail(&wire::ErrorBody {
                code: wire::ErrorCode::InvalidRequest,
                message,
            }));
        }
        let login = Login::new(Rc::new(parsed.config), server.into());
        let promise = Promise::new(&mut |resolve, reject| {
            login.set_on_change(Box::new(move |change| {
                let Change::Ended(end) = change else { return };
                let (settle, value) = match &end {
                    End::Outcome(wire::Outcome::Success { id_token, user }) => {
                        (&resolve, success_detail(id_token, user))
                    }
                    End::Cancelled { .. } => (&reject, object(&[
                        ("code", "cancelled".into()),
                        ("message", "The login window was closed.".into()),
                    ])),
                    _ => (&reject, end.error().map(|e| error_detail(&e)).unwrap_or_default()),
                };
                let _ = settle.call1(&JsValue::UNDEFINED, &value);
            }));
        });
        CURRENT.set(Some((login.clone(), promise.clone())));
        login.click(pre);
        promise
    }

    /// `document.documentElement.lang`, else `navigator.language`.
    fn page_language() -> String {
        let Some(w) = web_sys::window() else { return String::new() };
        w.document()
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
            .filter(|l| !l.is_empty())
            .or_else(|| w.navigator().language())
            .unwrap_or_default()
    }

    fn object(fields: &[(&str, JsValue)]) -> JsValue {
        let o = Object::new();
        for (k, v) in fields {
            let _ = Reflect::set(&o, &(*k).into(), v);
        }
        o.into()
    }

    /// `{id_token, user: {id, nickname, avatar, connection, new_user}}`
    pub(crate) fn success_detail(id_token: &str, user: &wire::UserInfo) -> JsValue {
        let avatar = user.avatar.as_deref().map_or(JsValue::NULL, JsValue::from);
        let user = object(&[
            ("id", user.id.as_str().into()),
            ("nickname", user.nickname.as_str().into()),
            ("avatar", avatar),
            ("connection", user.connection.as_str().into()),
            ("new_user", user.new_user.into()),
        ]);
        object(&[("id_token", id_token.into()), ("user", user)])
    }

    /// `{code, message}`
    pub(crate) fn error_detail(e: &wire::ErrorBody) -> JsValue {
        object(&[("code", e.code.as_str().into()), ("message", e.message.as_str().into())])
    }
}

//! How a result reaches the page, apart from the popup's own `postMessage` ([`crate::io::popup`]): the
//! element's `milogin:*` events, the return page's relay over a `BroadcastChannel`, and the
//! result that comes back in the fragment in redirect mode. [`start`] runs once per page, when
//! the wasm is ready.
//!
//! The lost-opener path: when a Cross-Origin-Opener-Policy (or anything else) cut the login window
//! off from this page, the server's result page cannot post to it; instead it sends the window on
//! to the app's return page (`return_uris` in the server config: a page of this same origin that
//! loads the widget), with the result in the fragment. There [`start`] hands it to the other tabs
//! of the origin over the channel and closes the window. Only documents of this origin ever see it
//! (the browser enforces both the navigation target and the channel's origin); each button takes
//! only the result of the attempt it is waiting for ([`crate::core::protocol::check`]). Nothing is
//! stored anywhere.

use crate::core::protocol::End;
use crate::core::redirect::{self, Pending};
use crate::io::popup::Login;
use crate::io::web::{self, object, prop};
use milogin_shared as wire;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, Element, EventTarget};

thread_local! {
    /// The mounted buttons' controllers, for relayed results.
    static WAITING: RefCell<Vec<Weak<Login>>> = const { RefCell::new(Vec::new()) };
}

/// Lets `login` hear relayed results while it lives.
pub fn register(login: &Rc<Login>) {
    WAITING.with(|w| w.borrow_mut().push(Rc::downgrade(login)));
}

fn relayed(data: &JsValue) {
    // Upgraded first: taking a result fires an event, whose listeners may mount or remove buttons.
    let live: Vec<Rc<Login>> = WAITING.with(|w| {
        let mut w = w.borrow_mut();
        w.retain(|l| l.strong_count() > 0);
        w.iter().filter_map(Weak::upgrade).collect()
    });
    live.iter().for_each(|l| l.relayed(data));
}

/// The page's share of the delivery, once: the relay channel (and, on the return page, the relay
/// itself), then redirect mode's return.
pub fn start() {
    relay();
    redirect_return();
}

fn relay() {
    if !js_sys::Reflect::has(&js_sys::global(), &"BroadcastChannel".into()).unwrap_or(false) {
        return;
    }
    let Ok(channel) = web_sys::BroadcastChannel::new("milogin") else {
        return;
    };
    let on = Closure::<dyn FnMut(JsValue)>::new(|e: JsValue| relayed(&prop(&e, "data")));
    let _ = channel.add_event_listener_with_callback("message", on.as_ref().unchecked_ref());
    on.forget(); // the page's one channel lives as long as the page
    if let Some(h) = web::fragment().get("milogin_result") {
        web::clean_address_bar();
        if let Ok(result) = js_sys::JSON::parse(&h) {
            let _ = channel.post_message(&result);
        }
        let _ = web::window().close();
    }
}

/// Redirect mode, back on the page: the result is in the fragment. It is accepted only for the
/// attempt this tab left with (`sessionStorage`), so a crafted link cannot log anyone in; anything
/// else is left alone. The fragment is removed at once; the event fires once the page has loaded
/// (its listeners are in place by then), on the button that started it (by id, else the first with
/// the same pool, app and connection: focus returns to it), else on the document. `user` is read
/// from the token's claims; `new_user` is not known there (undefined).
fn redirect_return() {
    let h = web::fragment();
    let Some(attempt) = h.get("attempt") else {
        return;
    };
    let Ok(Some(storage)) = web::window().session_storage() else {
        return;
    };
    let pending = storage.get_item(web::PENDING).ok().flatten();
    let Some(p) = pending.as_deref().and_then(Pending::decode) else {
        return;
    };
    if p.attempt != attempt {
        return;
    }
    let _ = storage.remove_item(web::PENDING);
    web::clean_address_bar();
    let go = Closure::once_into_js(move || {
        let (kind, detail) = match h.get("id_token") {
            Some(token) => match success_from_claims(&token) {
                Some(detail) => ("success", detail),
                None => return web::error(&["the id_token in the address bar is not a JWT"]),
            },
            None => {
                let code = h.get("error").map_or(JsValue::NULL, JsValue::from);
                let message = h.get("error_description").unwrap_or_default();
                ("error", error_detail(code, message.into()))
            }
        };
        fire(&returning_button(&p), kind, &detail);
    });
    after_load(go);
}

/// Runs `f` in a task after the page's `load` (now, if it has loaded).
fn after_load(f: JsValue) {
    let later = Closure::once_into_js(move || {
        let _ = web::window().set_timeout_with_callback(f.unchecked_ref());
    });
    if prop(&web::document(), "readyState") == "complete" {
        let _ = later
            .unchecked_ref::<js_sys::Function>()
            .call0(&JsValue::UNDEFINED);
    } else {
        let _ = web::window().add_event_listener_with_callback("load", later.unchecked_ref());
    }
}

/// The button that started the login (by id), else the first with its pool, app and connection,
/// else the document.
fn returning_button(p: &Pending) -> EventTarget {
    let doc = web::document();
    if let Some(el) = doc.get_element_by_id(&p.element_id) {
        return el.into();
    }
    let all = doc.get_elements_by_tag_name("milogin-button");
    (0..all.length())
        .filter_map(|i| all.item(i))
        .find(|b| p.matches(["pool", "app", "connection"].map(|k| b.get_attribute(k))))
        .map_or_else(|| doc.into(), Into::into)
}

/// `{id_token, user}` from the token's claims (`sub`, `name`, `picture`, `idp`).
fn success_from_claims(token: &str) -> Option<JsValue> {
    let claims = js_sys::JSON::parse(&redirect::jwt_payload(token)?).ok()?;
    let avatar = prop(&claims, "picture");
    let user = object(&[
        ("id", prop(&claims, "sub")),
        ("nickname", prop(&claims, "name")),
        (
            "avatar",
            if avatar.is_undefined() {
                JsValue::NULL
            } else {
                avatar
            },
        ),
        ("connection", prop(&claims, "idp")),
        ("new_user", JsValue::UNDEFINED),
    ]);
    Some(object(&[("id_token", token.into()), ("user", user.into())]).into())
}

fn error_detail(code: JsValue, message: JsValue) -> JsValue {
    object(&[("code", code), ("message", message)]).into()
}

/// Reports an attempt's ending on `host`: focus back to its button, then `milogin:success`
/// (detail `{id_token, user}`), `milogin:error` (`{code, message}`) or `milogin:cancel` (null).
pub fn report(host: &Element, end: &End) {
    let (kind, detail) = match end {
        End::Outcome(wire::Outcome::Success { id_token, user }) => {
            let user = object(&[
                ("id", user.id.as_str().into()),
                ("nickname", user.nickname.as_str().into()),
                (
                    "avatar",
                    user.avatar.as_deref().map_or(JsValue::NULL, JsValue::from),
                ),
                ("connection", user.connection.as_str().into()),
                ("new_user", user.new_user.into()),
            ]);
            let detail = object(&[
                ("id_token", id_token.as_str().into()),
                ("user", user.into()),
            ]);
            ("success", detail.into())
        }
        End::Cancelled => ("cancel", JsValue::NULL),
        _ => {
            let (code, message) = end.error().unwrap_or((wire::ErrorCode::Internal, ""));
            ("error", error_detail(code.as_str().into(), message.into()))
        }
    };
    fire(host, kind, &detail);
}

/// `milogin:<kind>` on `target` (bubbling, composed), after focusing its button.
fn fire(target: &EventTarget, kind: &str, detail: &JsValue) {
    if let Some(b) = target.dyn_ref::<Element>().and_then(web::inner_button) {
        let _ = b.focus();
    }
    let init = object(&[
        ("bubbles", true.into()),
        ("composed", true.into()),
        ("detail", detail.clone()),
    ]);
    let name = ["milogin:", kind].concat();
    if let Ok(e) = CustomEvent::new_with_event_init_dict(&name, init.unchecked_ref()) {
        let _ = target.dispatch_event(&e);
    }
}

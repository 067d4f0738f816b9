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

use crate::core::protocol::{self, End, MessageFields, Value, Verdict};
use crate::core::redirect::Pending;
use crate::io::api;
use crate::io::popup::{read_fields, Login};
use crate::io::web::{self, object, prop};
use milogin_shared as wire;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, Element, EventTarget, UrlSearchParams};

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

    // The return page: `#milogin_result=<code=…&attempt=…, or error=…&error_description=…&attempt=…>`,
    // passed on with the address it came back to (the code is bound to it).
    if let Some(h) = web::fragment().get("milogin_result") {
        if let Ok(q) = UrlSearchParams::new_with_str(&h) {
            q.append("redirect_uri", &web::this_page());
            let _ = channel.post_message(&q.to_string());
        }
        let _ = web::window().close();
    }
}

/// Redeems what a fragment (`h`) says about `attempt` and gives the verdict to `then`: an error
/// as it is, or the one-time code redeemed at the token endpoint with the attempt's PKCE
/// `verifier` (`keys` = pool, app; `back` = the address the code came back to). A fragment for
/// another attempt, a code that does not redeem (replayed, forged, someone else's) and a
/// malformed answer are ignored. The one future of both ways back (the relay and redirect
/// mode's return): each future type is its own poll function and drop glue in the wasm.
pub fn redeem(
    h: UrlSearchParams,
    attempt: String,
    keys: [String; 2],
    verifier: String,
    back: String,
    then: Box<dyn FnOnce(Verdict)>,
) {
    leptos::task::spawn_local(async move {
        let verdict = if h.get("attempt").as_deref() != Some(attempt.as_str()) {
            Verdict::Ignore("result of another login attempt")
        } else {
            let fields = match h.get("code") {
                Some(code) => {
                    read_fields(&api::redeem(&keys[0], &keys[1], &code, &verifier, &back).await)
                }
                None => MessageFields {
                    kind: Value::Str(wire::MESSAGE_TYPE.into()),
                    version: Value::Num(wire::MESSAGE_VERSION.into()),
                    attempt: Value::Str(attempt.clone()),
                    ok: Value::Bool(false),
                    error: Some(
                        [h.get("error"), h.get("error_description")]
                            .map(|v| v.map_or(Value::Nothing, Value::Str)),
                    ),
                    ..MessageFields::default()
                },
            };
            protocol::check(&attempt, fields)
        };
        then(verdict);
    });
}

/// Redirect mode, back on the page: the result is in the fragment (a one-time code, or an
/// error). It is taken only for the attempt this tab left with (`sessionStorage`), the code
/// redeemed with the verifier kept there, so a crafted or replayed link yields nothing (and a
/// code no attempt of this tab waits for is spent: [`spend`]); a code that does not redeem ends
/// the attempt as a `state_expired` error. The loader took the fragment out of the address bar
/// as it evaluated (before the page's later scripts), whoever it was for; the event fires once
/// the page has loaded (its listeners are in place by then), on the button that started it (by
/// id, else the first with the same pool, app and connection: focus returns to it), else on the
/// document.
fn redirect_return() {
    let h = web::fragment();
    let Some(attempt) = h.get("attempt") else {
        return;
    };
    let Ok(Some(storage)) = web::window().session_storage() else {
        return;
    };
    let pending = storage.get_item(web::PENDING).ok().flatten();
    let Some(p) = pending
        .as_deref()
        .and_then(Pending::decode)
        .filter(|p| p.attempt == attempt)
    else {
        return spend(&h);
    };
    let _ = storage.remove_item(web::PENDING);
    let [pool, app, _] = p.keys.clone();
    let (attempt, verifier) = (p.attempt.clone(), p.verifier.clone());
    let then = move |verdict| {
        // This tab's own login: a code that does not redeem (expired while the page loaded,
        // the server unreachable) still ends it, as an error the page hears.
        let o = match verdict {
            Verdict::Accept(o) => o,
            _ => wire::Outcome::Failure(wire::ErrorBody {
                code: wire::ErrorCode::StateExpired,
                message: NOT_REDEEMED.into(),
            }),
        };
        after_load(Closure::once_into_js(move || {
            report(&returning_button(&p), &End::Outcome(o));
        }));
    };
    redeem(
        h,
        attempt,
        [pool, app],
        verifier,
        web::this_page(),
        Box::new(then),
    );
}

/// The message of a redirect-mode login whose code did not redeem.
const NOT_REDEEMED: &str =
    "The login's one-time code could not be redeemed (it expired or the server could not be reached). Log in again.";

/// A code in the address that no attempt of this tab waits for — a login someone else started
/// and sent this browser through, bound to their verifier — is spent at once (redeemed with no
/// verifier: refused, and used up), so that whoever reads this address later (a script above the
/// widget's, the history) holds nothing. The token endpoint is any button's pool: a code is
/// spent wherever it is presented.
fn spend(h: &UrlSearchParams) {
    let button = web::document()
        .query_selector("milogin-button[pool][app]")
        .ok()
        .flatten();
    let (Some(code), Some(b)) = (h.get("code"), button) else {
        return;
    };
    let attr = |n: &str| b.get_attribute(n).unwrap_or_default();
    let (pool, app) = (attr("pool"), attr("app"));
    leptos::task::spawn_local(async move {
        api::redeem(&pool, &app, &code, "", &web::this_page()).await;
    });
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

fn error_detail(code: JsValue, message: JsValue) -> JsValue {
    object(&[("code", code), ("message", message)]).into()
}

/// Reports an attempt's ending on `host`: focus back to its button, then `milogin:success`
/// (detail `{id_token, user}`), `milogin:error` (`{code, message}`) or `milogin:cancel` (null).
pub fn report(host: &EventTarget, end: &End) {
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

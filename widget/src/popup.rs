//! The browser side of a login: `window.open` (synchronously, in the click), the `message`
//! listener, the 500 ms poll for a closed popup and the deadline, redirects, and the console
//! diagnostics. Every decision is made by [`protocol::Attempt`]; this module only carries it out.
//! Listeners and timers exist only while a popup is open and are removed when the attempt ends.

use crate::config::{Config, Mode};
use crate::protocol::{self, Effect, End, Event, MessageFields, Value, Verdict};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use js_sys::{Object, Reflect};
use milogin_shared as wire;
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, EventTarget, MessageEvent, Window};

/// What the UI (the button, or `login()`'s promise) hears about.
pub enum Change {
    /// The popup is open.
    Opened,
    /// The attempt ended.
    Ended(End),
}

/// The login controller of one button (or of `login()`): at most one attempt at a time.
pub struct Login {
    cfg: Rc<Config>,
    server: Rc<str>,
    state: RefCell<State>,
    on_change: RefCell<Box<dyn Fn(Change)>>,
    /// A popup `login()` opened before the wasm was ready; the first attempt navigates it.
    pre: RefCell<Option<Window>>,
}

#[derive(Default)]
struct State {
    machine: protocol::Attempt,
    popup: Option<Window>,
    listeners: Option<Listeners>,
}

struct Listeners {
    message: Closure<dyn FnMut(MessageEvent)>,
    // Kept alive for the interval; dropped with it.
    _tick: Closure<dyn FnMut()>,
    interval: i32,
}

fn window() -> Window {
    web_sys::window().expect_throw("milogin: no window")
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

impl Login {
    /// A controller that sends the user to `server` with the settings in `cfg`; `pre` is a
    /// popup already opened for it (by `login()`, synchronously in the click).
    pub fn new(cfg: Rc<Config>, server: Rc<str>, pre: Option<Window>) -> Rc<Self> {
        let on_change = RefCell::new(Box::new(|_| ()) as Box<dyn Fn(Change)>);
        Rc::new(Self { cfg, server, state: RefCell::default(), on_change, pre: RefCell::new(pre) })
    }

    /// Who hears about the attempt's changes.
    pub fn set_on_change(&self, f: Box<dyn Fn(Change)>) {
        *self.on_change.borrow_mut() = f;
    }

    /// The click: start an attempt, or focus the popup that is already open.
    pub fn click(self: &Rc<Self>) {
        let effect = self.state.borrow_mut().machine.on(Event::Click);
        match effect {
            Effect::Start => self.start(),
            Effect::Focus => {
                if let Some(p) = &self.state.borrow().popup {
                    let _ = p.focus();
                }
            }
            _ => {}
        }
    }

    /// Ends everything without a report (the element left the page).
    pub fn stop(&self) {
        let (popup, listeners) = self.take();
        drop(listeners);
        if let Some(p) = popup.or_else(|| self.pre.take()) {
            let _ = p.close();
        }
        *self.on_change.borrow_mut() = Box::new(|_| ());
    }

    fn start(self: &Rc<Self>) {
        let pre = self.pre.take();
        let w = window();
        let mut random = [0u8; 32];
        if let Err(e) = w.crypto().and_then(|c| c.get_random_values_with_u8_array(&mut random)) {
            web_sys::console::error_2(&"milogin: no crypto.getRandomValues".into(), &e);
            return;
        }
        let attempt = protocol::attempt_id(&random);
        let cfg = &self.cfg;
        if cfg.mode == Mode::Redirect {
            if let Some(p) = pre {
                let _ = p.close();
            }
            return self.redirect(&attempt);
        }
        let origin = w.location().origin().unwrap_or_default();
        let url = protocol::authorize_url(protocol::AuthorizeParams {
            server: &self.server,
            pool: &cfg.pool,
            app: &cfg.app,
            connection: &cfg.connection,
            attempt: &attempt,
            origin: Some(&origin),
            redirect_uri: None,
        });
        let num = |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        let popup = match pre {
            Some(p) => p.location().set_href(&url).ok().map(|_| p),
            None => {
                let features = protocol::popup_features(
                    num(w.screen_x()),
                    num(w.screen_y()),
                    num(w.outer_width()),
                    num(w.outer_height()),
                );
                w.open_with_url_and_target_and_features(&url, &["milogin-", &attempt].concat(), &features)
                    .ok()
                    .flatten()
            }
        };
        match popup {
            Some(p) => {
                self.state.borrow_mut().popup = Some(p);
                let timeout_ms = f64::from(cfg.timeout_s) * 1000.0;
                self.handle(Event::Opened { attempt, now: js_sys::Date::now(), timeout_ms });
            }
            None if cfg.redirect_fallback => {
                warn(&["the browser blocked the login popup; redirecting instead (fallback=\"redirect\")"]);
                self.redirect(&attempt);
            }
            None => self.handle(Event::Blocked),
        }
    }

    fn redirect(&self, attempt: &str) {
        let cfg = &self.cfg;
        let url = protocol::authorize_url(protocol::AuthorizeParams {
            server: &self.server,
            pool: &cfg.pool,
            app: &cfg.app,
            connection: &cfg.connection,
            attempt,
            origin: None,
            redirect_uri: cfg.redirect_uri.as_deref(),
        });
        let _ = window().location().assign(&url);
    }

    fn handle(self: &Rc<Self>, event: Event) {
        let effect = self.state.borrow_mut().machine.on(event);
        match effect {
            Effect::Listen => {
                self.listen();
                (self.on_change.borrow())(Change::Opened);
            }
            Effect::Finish { end, close_popup } => self.finish(end, close_popup),
            _ => {}
        }
    }

    fn listen(self: &Rc<Self>) {
        let w = window();
        let me = Rc::downgrade(self);
        let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| on_message(&me, &e));
        let me = Rc::downgrade(self);
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(me) = me.upgrade() {
                let closed = me.state.borrow().popup.as_ref().is_none_or(|p| p.closed().unwrap_or(true));
                let now = js_sys::Date::now();
                me.handle(if closed { Event::Closed { now } } else { Event::Tick { now } });
            }
        });
        let _ = w.add_event_listener_with_callback("message", message.as_ref().unchecked_ref());
        let interval = w
            .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 500)
            .unwrap_or_default();
        self.state.borrow_mut().listeners = Some(Listeners { message, _tick: tick, interval });
    }

    fn take(&self) -> (Option<Window>, Option<Listeners>) {
        let mut s = self.state.borrow_mut();
        (s.popup.take(), s.listeners.take())
    }

    fn finish(&self, end: End, close_popup: bool) {
        let (popup, listeners) = self.take();
        drop(listeners);
        if close_popup {
            if let Some(p) = popup {
                let _ = p.close();
            }
        }
        match &end {
            End::Blocked => warn(&[
                "the browser blocked the login popup. Open it from a click (call login() synchronously in the \
                 click handler, never after an await), or set fallback=\"redirect\" and a redirect-uri.",
            ]),
            End::Cancelled { suspect_coop: true } => warn(&[
                "the login window closed within a second without a result. If nobody closed it, a \
                 Cross-Origin-Opener-Policy cut it off from this page: serve this page with \
                 `Cross-Origin-Opener-Policy: same-origin-allow-popups` (not `same-origin`).",
            ]),
            _ => {}
        }
        (self.on_change.borrow())(Change::Ended(end));
    }
}

/// Fires the ending's event on `host`, bubbling and composed: `milogin:success` (detail
/// `{id_token, user}`), `milogin:error` (detail `{code, message}`) or `milogin:cancel`.
pub fn dispatch(host: &EventTarget, end: &End) {
    let (name, detail) = match end {
        End::Outcome(wire::Outcome::Success { id_token, user }) => {
            let avatar = user.avatar.as_deref().map_or(JsValue::NULL, JsValue::from);
            let user = object(&[
                ("id", user.id.as_str().into()),
                ("nickname", user.nickname.as_str().into()),
                ("avatar", avatar),
                ("connection", user.connection.as_str().into()),
                ("new_user", user.new_user.into()),
            ]);
            ("milogin:success", object(&[("id_token", id_token.as_str().into()), ("user", user)]))
        }
        End::Cancelled { .. } => ("milogin:cancel", JsValue::NULL),
        _ => {
            let e = end.error().unwrap_or_else(|| wire::ErrorBody {
                code: wire::ErrorCode::Internal,
                message: String::new(),
            });
            ("milogin:error", object(&[("code", e.code.as_str().into()), ("message", e.message.into())]))
        }
    };
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(&detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let w = window();
        let _ = w.remove_event_listener_with_callback("message", self.message.as_ref().unchecked_ref());
        w.clear_interval_with_handle(self.interval);
    }
}

fn on_message(me: &Weak<Login>, e: &MessageEvent) {
    let Some(me) = me.upgrade() else { return };
    let verdict = {
        let s = me.state.borrow();
        let (Some(attempt), Some(popup)) = (s.machine.current(), &s.popup) else { return };
        let popup: &JsValue = popup.as_ref();
        let from_popup = e.source().is_some_and(|src| JsValue::from(src) == *popup);
        protocol::validate(&me.server, &e.origin(), from_popup, attempt, || read_fields(&e.data()))
    };
    match verdict {
        Verdict::Accept(outcome) => me.handle(Event::Result(outcome)),
        Verdict::Ignore(why) => web_sys::console::debug_2(&"milogin: ignored a message:".into(), &why.into()),
    }
}

fn get(o: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(o, &key.into()).unwrap_or_default()
}

fn value(v: JsValue) -> Value {
    if let Some(s) = v.as_string() {
        Value::Str(s)
    } else if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Value::Num(n)
    } else if v.is_null() || v.is_undefined() {
        Value::Nothing
    } else {
        Value::Other
    }
}

fn read_object<const N: usize>(o: &JsValue, key: &str, keys: [&str; N]) -> Option<[Value; N]> {
    let v = get(o, key);
    (v.is_object() && !v.is_null()).then(|| keys.map(|k| value(get(&v, k))))
}

/// Reads the message's fields with `Reflect.get` (the data is a structured clone: plain values).
fn read_fields(data: &JsValue) -> MessageFields {
    if !data.is_object() {
        return MessageFields::default();
    }
    MessageFields {
        kind: value(get(data, "type")),
        version: value(get(data, "version")),
        attempt: value(get(data, "attempt")),
        ok: value(get(data, "ok")),
        id_token: value(get(data, "id_token")),
        user: read_object(data, "user", protocol::USER_KEYS),
        error: read_object(data, "error", protocol::ERROR_KEYS),
    }
}

//! The browser side of a login: the `message` listener, results relayed by the app's return page,
//! the 500 ms poll of the popup's `closed` flag and the deadline, and the console diagnostics. Every decision
//! is made by [`protocol::Attempt`]; this module only carries it out. Listeners and timers exist
//! only while an attempt runs and are removed when it ends.
//!
//! The loader (`public/milogin.js`) does the rest through its `emit` function, called
//! synchronously: `("start", redirect, fallback, in_app_popup)` opens the popup inside the click
//! (or leaves for redirect mode / the hosted page's authorize URL) and answers `{a, w, c}` —
//! the attempt id, the window (null when blocked), whether a relayed result can come back
//! (`BroadcastChannel`) — or `undefined` when the page is leaving. A result relayed by the return
//! page comes in through [`Login::relayed`] and is checked by [`protocol::check`].
//!
//! Size note: plain properties are read with `Reflect.get` ([`prop`]) rather than typed web-sys
//! getters; each typed getter is one more import and JS shim in the download.

use crate::config::{Config, Mode};
use crate::protocol::{self, Effect, End, Event, MessageFields, Value, Verdict};
use milogin_shared as wire;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::Window;

/// What the button hears about.
pub enum Change {
    /// The popup is open.
    Opened,
    /// The attempt ended.
    Ended(End),
}

/// The login controller of one button: at most one attempt at a time.
pub struct Login {
    cfg: Rc<Config>,
    server: Rc<str>,
    /// The loader's `emit(kind, …)` (see the module docs and [`emit`]).
    emit: js_sys::Function,
    state: RefCell<State>,
    on_change: RefCell<Box<dyn Fn(Change)>>,
}

#[derive(Default)]
struct State {
    machine: protocol::Attempt,
    popup: Option<Window>,
    listeners: Option<Listeners>,
}

/// The `message` listener and the poll; removed from the window when dropped.
struct Listeners {
    message: Closure<dyn FnMut(JsValue)>,
    _tick: Closure<dyn FnMut(JsValue)>,
    interval: i32,
}

fn window() -> Window {
    web_sys::window().expect_throw("milogin: no window")
}

/// `o[key]`, or `undefined`.
fn prop(o: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(o, &key.into()).unwrap_or_default()
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

/// `emit(a, b, c, d, …)`, padded with `undefined`; its return value.
fn call(emit: &js_sys::Function, args: [JsValue; 7]) -> JsValue {
    let [a, b, c, d, e, f, g] = args;
    emit.call7(&JsValue::UNDEFINED, &a, &b, &c, &d, &e, &f, &g)
        .unwrap_or_default()
}

impl Login {
    /// A controller that sends the user to `server` with the settings in `cfg`, through the
    /// loader's `emit`.
    pub fn new(cfg: Rc<Config>, server: Rc<str>, emit: js_sys::Function) -> Rc<Self> {
        let on_change = RefCell::new(Box::new(|_| ()) as Box<dyn Fn(Change)>);
        Rc::new(Self {
            cfg,
            server,
            emit,
            state: RefCell::default(),
            on_change,
        })
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
            other => self.apply(other),
        }
    }

    /// Ends everything without a report (the element left the page).
    pub fn stop(&self) {
        let (popup, listeners) = self.take();
        drop(listeners);
        if let Some(p) = popup {
            let _ = p.close();
        }
        // Busy when an event listener removed the element from inside `on_change`, which then
        // returns without touching anything: nothing to replace.
        if let Ok(mut f) = self.on_change.try_borrow_mut() {
            *f = Box::new(|_| ());
        }
    }

    fn start(self: &Rc<Self>) {
        let cfg = &self.cfg;
        let started = call(
            &self.emit,
            [
                "start".into(),
                (cfg.mode == Mode::Redirect).into(),
                cfg.redirect_fallback.into(),
                cfg.in_app_popup.into(),
                JsValue::UNDEFINED,
                JsValue::UNDEFINED,
                JsValue::UNDEFINED,
            ],
        );
        // `undefined`: the page is on its way to the authorize URL (redirect mode, in-app
        // fallback, or a hosted page continuing in its own window).
        let Some(attempt) = prop(&started, "a").as_string() else {
            return;
        };
        let popup = prop(&started, "w");
        if !popup.is_object() {
            return self.handle(Event::Blocked);
        }
        self.state.borrow_mut().popup = Some(popup.unchecked_into());
        self.handle(Event::Opened {
            attempt,
            now: js_sys::Date::now(),
            timeout_ms: f64::from(cfg.timeout_s) * 1000.0,
            relay: prop(&started, "r").is_truthy(),
        });
    }

    fn handle(self: &Rc<Self>, event: Event) {
        let effect = self.state.borrow_mut().machine.on(event);
        self.apply(effect);
    }

    fn apply(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Listen => {
                self.listen();
                (self.on_change.borrow())(Change::Opened);
            }
            Effect::Severed => {
                warn(&[
                    "the login window was cut off from this page as it opened (its `closed` reads true): \
                     a Cross-Origin-Opener-Policy? Waiting for the result through the app's return page \
                     (return_uris in the server config); serve this page with \
                     `Cross-Origin-Opener-Policy: same-origin-allow-popups` for the direct path.",
                ]);
            }
            Effect::Finish { end, close_popup } => self.finish(end, close_popup),
            _ => {}
        }
    }

    /// A result relayed by the app's return page (`data` as the `BroadcastChannel` gave it):
    /// taken when it is for this button's running attempt.
    pub fn relayed(self: &Rc<Self>, data: &JsValue) {
        let verdict = match self.state.borrow().machine.current() {
            Some(attempt) => protocol::check(attempt, read_fields(data)),
            None => return,
        };
        self.take_verdict(verdict);
    }

    fn take_verdict(self: &Rc<Self>, verdict: Verdict) {
        match verdict {
            Verdict::Accept(outcome) => self.handle(Event::Result(outcome)),
            Verdict::Ignore(why) => {
                web_sys::console::debug_2(&"milogin: ignored a message:".into(), &why.into())
            }
        }
    }

    fn listen(self: &Rc<Self>) {
        let w = window();
        let me = Rc::downgrade(self);
        let message = Closure::<dyn FnMut(JsValue)>::new(move |e| on_message(&me, &e));
        let me = Rc::downgrade(self);
        let tick = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(me) = me.upgrade() {
                let closed = me
                    .state
                    .borrow()
                    .popup
                    .as_ref()
                    .is_none_or(|p| prop(p, "closed") != false);
                me.handle(Event::Tick {
                    now: js_sys::Date::now(),
                    closed,
                });
            }
        });
        let _ = w.add_event_listener_with_callback("message", message.as_ref().unchecked_ref());
        let interval = w
            .set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                500,
            )
            .unwrap_or_default();
        self.state.borrow_mut().listeners = Some(Listeners {
            message,
            _tick: tick,
            interval,
        });
    }

    fn take(&self) -> (Option<Window>, Option<Listeners>) {
        let mut s = self.state.borrow_mut();
        (s.popup.take(), s.listeners.take())
    }

    fn finish(&self, end: End, close_popup: bool) {
        let (popup, listeners) = self.take();
        drop(listeners);
        if let (true, Some(p)) = (close_popup, popup) {
            let _ = p.close();
        }
        match &end {
            End::Blocked => warn(&[
                "the browser blocked the login popup: open it from a click (no await before login()), or \
                 set fallback=\"redirect\".",
            ]),
            End::Cancelled { suspect_coop: true } => warn(&[
                "the login window closed right after it opened, with no result. If nobody closed it, a \
                 Cross-Origin-Opener-Policy cut it off (and this browser has no BroadcastChannel for the \
                 return page's relay): serve this page with \
                 `Cross-Origin-Opener-Policy: same-origin-allow-popups`.",
            ]),
            _ => {}
        }
        (self.on_change.borrow())(Change::Ended(end));
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let w = window();
        let _ =
            w.remove_event_listener_with_callback("message", self.message.as_ref().unchecked_ref());
        w.clear_interval_with_handle(self.interval);
    }
}

/// Reports the ending through the loader's `emit(kind, …)`, which fires the element's event
/// (bubbling, composed): `("success", id_token, id, nickname, avatar, connection, new_user)` →
/// `milogin:success`, `("error", code, message)` → `milogin:error`, `("cancel")` → `milogin:cancel`.
pub fn emit(emit: &js_sys::Function, end: &End) {
    let u = JsValue::UNDEFINED;
    let s = |s: &str| JsValue::from(s);
    let args = match end {
        End::Outcome(wire::Outcome::Success { id_token, user }) => [
            s("success"),
            s(id_token),
            s(&user.id),
            s(&user.nickname),
            user.avatar.as_deref().map_or(JsValue::NULL, s),
            s(&user.connection),
            user.new_user.into(),
        ],
        End::Cancelled { .. } => [
            s("cancel"),
            u.clone(),
            u.clone(),
            u.clone(),
            u.clone(),
            u.clone(),
            u.clone(),
        ],
        _ => {
            let (code, message) = end.error().unwrap_or((wire::ErrorCode::Internal, ""));
            [
                s("error"),
                s(code.as_str()),
                s(message),
                u.clone(),
                u.clone(),
                u.clone(),
                u.clone(),
            ]
        }
    };
    call(emit, args);
}

fn on_message(me: &Weak<Login>, e: &JsValue) {
    let Some(me) = me.upgrade() else { return };
    let verdict = {
        let s = me.state.borrow();
        let (Some(attempt), Some(popup)) = (s.machine.current(), &s.popup) else {
            return;
        };
        let from_popup = prop(e, "source") == *AsRef::<JsValue>::as_ref(popup);
        let origin = prop(e, "origin").as_string().unwrap_or_default();
        protocol::validate(&me.server, &origin, from_popup, attempt, || {
            read_fields(&prop(e, "data"))
        })
    };
    me.take_verdict(verdict);
}

fn value(v: JsValue) -> Value {
    if let Some(s) = v.as_string() {
        Value::Str(s)
    } else if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Value::Num(n)
    } else if v.is_object() {
        Value::Other
    } else {
        Value::Nothing
    }
}

fn read_object<const N: usize>(o: &JsValue, key: &str, keys: [&str; N]) -> Option<[Value; N]> {
    let v = prop(o, key);
    v.is_object().then(|| keys.map(|k| value(prop(&v, k))))
}

/// Reads the message's fields with `Reflect.get` (the data is a structured clone: plain values).
fn read_fields(data: &JsValue) -> MessageFields {
    if !data.is_object() {
        return MessageFields::default();
    }
    MessageFields {
        kind: value(prop(data, "type")),
        version: value(prop(data, "version")),
        attempt: value(prop(data, "attempt")),
        ok: value(prop(data, "ok")),
        id_token: value(prop(data, "id_token")),
        user: read_object(data, "user", protocol::USER_KEYS),
        error: read_object(data, "error", protocol::ERROR_KEYS),
    }
}

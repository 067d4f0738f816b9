//! The browser side of a login: the click's window (`window.open` inside the click, or the whole
//! page for redirect mode), the `message` listener, results relayed by the app's return page, the
//! 500 ms poll of the popup's `closed` flag and the deadline, and the console diagnostics. Every
//! decision is made by [`protocol::Attempt`]; this module only carries it out and reports to the
//! button's signals ([`ButtonState::shown`]) and, at the end, to the page (`milogin:*` events).
//! Listeners and timers exist only while an attempt runs and are removed when it ends. The
//! settings are read from the button's attribute signal at each click, so an attribute changed
//! during a login leaves the running attempt alone.

use crate::core::attrs::Mode;
use crate::core::num::decimal;
use crate::core::protocol::{self, Effect, End, Event, MessageFields, Value, Verdict};
use crate::core::redirect::Pending;
use crate::core::shown::Shown;
use crate::io::web::{self, prop, warn, window};
use crate::io::{api, delivery};
use crate::ui::state::ButtonState;
use leptos::prelude::Set;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, Window};

/// The login controller of one button: at most one attempt at a time.
pub struct Login {
    /// The button's signals: its settings in, what it shows out.
    ui: ButtonState,
    /// The `<milogin-button>` (its attributes name the hosted page's origin and attempt).
    host: HtmlElement,
    /// The view's `<button>` and its click listener (removed on [`Login::stop`]).
    clicks: RefCell<Option<ClickListener>>,
    state: RefCell<State>,
    /// The element left the page: nothing more is shown or reported.
    stopped: Cell<bool>,
}

/// The view's `<button>` and the listener on it.
type ClickListener = (web_sys::Element, Closure<dyn FnMut()>);

#[derive(Default)]
struct State {
    machine: protocol::Attempt,
    popup: Option<Window>,
    /// `login()` before the wasm was ready: the window the loader opened inside the click, for
    /// the first attempt to navigate.
    pre: Option<Window>,
    listeners: Option<Listeners>,
    /// The running attempt's PKCE verifier: only this tab can redeem its return page's code.
    verifier: String,
}

/// The `message` listener and the poll; removed from the window when dropped.
struct Listeners {
    message: Closure<dyn FnMut(JsValue)>,
    _tick: Closure<dyn FnMut(JsValue)>,
    interval: i32,
}

impl Login {
    /// A controller for the button `host` showing on `ui`; `pre` is a window the loader already
    /// opened for it (see [`State`]).
    pub fn new(ui: ButtonState, host: HtmlElement, pre: Option<Window>) -> Rc<Self> {
        let state = RefCell::new(State {
            pre,
            ..State::default()
        });
        Rc::new(Self {
            ui,
            host,
            clicks: RefCell::default(),
            state,
            stopped: Cell::new(false),
        })
    }

    /// Clicks on the view's `button` start (or focus) a login, synchronously inside the click,
    /// unless the required attributes are missing.
    pub fn listen_clicks(self: &Rc<Self>, button: web_sys::Element) {
        let me = Rc::downgrade(self);
        let on = Closure::<dyn FnMut()>::new(move || {
            if let Some(me) = me.upgrade() {
                if me.ui.usable_now() {
                    me.click();
                }
            }
        });
        let _ = button.add_event_listener_with_callback("click", on.as_ref().unchecked_ref());
        *self.clicks.borrow_mut() = Some((button, on));
    }

    /// The click: start an attempt, or focus the popup that is already open.
    pub fn click(self: &Rc<Self>) {
        let effect = self.state.borrow_mut().machine.on(Event::Click);
        match effect {
            Effect::Start => self.start(),
            Effect::Focus => {
                // Not borrowed across `focus()`: its listeners may remove the element.
                let popup = self.state.borrow().popup.clone();
                if let Some(p) = popup {
                    let _ = p.focus();
                }
            }
            other => self.apply(other),
        }
    }

    /// Ends everything without a report (the element left the page).
    pub fn stop(&self) {
        self.stopped.set(true);
        if let Some((button, on)) = self.clicks.borrow_mut().take() {
            let _ =
                button.remove_event_listener_with_callback("click", on.as_ref().unchecked_ref());
        }
        // Busy when an event listener removed the element while the state machine was being
        // stepped (`handle`): nothing is open then.
        let Ok(mut s) = self.state.try_borrow_mut() else {
            return;
        };
        let (popup, pre, listeners) = (s.popup.take(), s.pre.take(), s.listeners.take());
        drop(s);
        drop(listeners);
        for p in [popup, pre].into_iter().flatten() {
            let _ = p.close();
        }
    }

    fn start(self: &Rc<Self>) {
        // The element left the page (a listener of the last attempt's ending removed it).
        if self.stopped.get() {
            return;
        }
        let preflight = self.ui.preflight_now();
        if let Some(body) = preflight.refusal {
            let pre = self.state.borrow_mut().pre.take();
            if let Some(p) = pre {
                let _ = p.close();
            }
            web::error(&[&body.message]);
            return self.handle(Event::Refused(body));
        }
        let return_page = preflight.return_page;
        let pre = self.state.borrow_mut().pre.take();
        let Some(attempt) = self.open(pre.clone()) else {
            // The page is on its way to the authorize URL (redirect mode, in-app fallback, or a
            // hosted page continuing in its own window).
            return;
        };
        let Some(popup) = attempt.1 else {
            return self.handle(Event::Blocked);
        };
        self.state.borrow_mut().popup = Some(popup);
        self.handle(Event::Opened {
            attempt: attempt.0,
            now: js_sys::Date::now(),
            timeout_ms: f64::from(self.ui.config().timeout_s) * 1000.0,
            // A cut-off window delivers only through a registered return page, heard on a
            // BroadcastChannel; without one, a closed window ends at once (cancel or cut off).
            relay: return_page
                && js_sys::Reflect::has(&js_sys::global(), &"BroadcastChannel".into())
                    .unwrap_or(false),
        });
    }

    /// Synchronously inside the click: opens the popup (or navigates `pre`, the window the loader
    /// opened) and answers the attempt id and the window (`None` when blocked); or sends this
    /// window away and answers `None`.
    fn open(&self, pre: Option<Window>) -> Option<(String, Option<Window>)> {
        let (cfg, attr) = (&self.ui.config(), |k| self.host.get_attribute(k));
        // A button of the hosted login page opened as a popup by a host page: continue in this
        // window with the host's origin and attempt; the result page then posts to this window's
        // opener, the host page, exactly as after a direct popup login.
        if let Some(origin) = attr("hosted-origin") {
            let attempt = attr("hosted-attempt").unwrap_or_default();
            let url = authorize(
                cfg,
                &[
                    ("origin", &origin),
                    ("attempt", &attempt),
                    ("mode", "popup"),
                ],
            );
            let _ = window().location().assign(&url);
            return None;
        }
        let attempt = web::attempt_id();
        let [verifier, challenge] = web::take_pkce();
        let pkce = ("code_challenge", challenge.as_str());
        let away = || {
            if let Some(p) = &pre {
                let _ = p.close();
            }
            // On the hosted page for `loginPage()`: the host tab's attempt and challenge; that
            // tab (on the app's origin) remembers them and holds the verifier, so this page keeps
            // no record of its own.
            let hosted = attr("hosted-attempt");
            let a = hosted.clone().unwrap_or_else(|| attempt.clone());
            let ch = attr("hosted-challenge").unwrap_or_else(|| challenge.clone());
            let back = attr("redirect-uri").unwrap_or_else(web::this_page);
            let url = authorize(
                cfg,
                &[
                    ("attempt", &a),
                    ("mode", "redirect"),
                    ("redirect_uri", &back),
                    ("code_challenge", &ch),
                ],
            );
            let pending = Pending {
                attempt: a,
                element_id: self.host.id(),
                keys: [cfg.pool.clone(), cfg.app.clone(), cfg.connection.clone()],
                verifier: verifier.clone(),
            };
            match hosted {
                Some(_) => drop(window().location().assign(&url)),
                None => web::leave(&pending, &url),
            }
            None
        };
        if cfg.mode == Mode::Redirect || (!cfg.in_app_popup && web::in_app()) {
            return away();
        }
        let origin = web::location("origin");
        let url = authorize(
            cfg,
            &[
                ("origin", &origin),
                ("attempt", &attempt),
                ("mode", "popup"),
                pkce,
            ],
        );
        self.state.borrow_mut().verifier = verifier.clone();
        let popup = match &pre {
            Some(p) => {
                let _ = p.location().set_href(&url);
                pre.clone()
            }
            None => window()
                .open_with_url_and_target_and_features(
                    &url,
                    // Not the attempt id: a window's name is readable by every page it shows.
                    &["milogin-", &web::attempt_id()].concat(),
                    &features(),
                )
                .ok()
                .flatten(),
        };
        if popup.is_none() && cfg.redirect_fallback {
            warn(&["popup blocked; redirecting (fallback=\"redirect\")"]);
            return away();
        }
        Some((attempt, popup))
    }

    fn handle(self: &Rc<Self>, event: Event) {
        let effect = self.state.borrow_mut().machine.on(event);
        self.apply(effect);
    }

    fn apply(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Listen => {
                self.listen();
                let _ = self.ui.shown.try_set(Shown::Open);
            }
            Effect::Probe => {
                let me = Rc::downgrade(self);
                leptos::task::spawn_local(async move {
                    let cut = protocol::cuts_popups(api::opener_policy().await.as_deref());
                    if let Some(me) = me.upgrade() {
                        me.handle(Event::Probed(cut));
                    }
                });
            }
            Effect::Severed => {
                warn(&[
                    "This page's Cross-Origin-Opener-Policy cut the login window off: waiting for the \
                     return page's relay. `Cross-Origin-Opener-Policy: same-origin-allow-popups` keeps \
                     the direct path.",
                ]);
            }
            Effect::Finish { end, close_popup } => self.finish(end, close_popup),
            Effect::Restart { end } => {
                self.finish(end, false);
                self.start();
            }
            _ => {}
        }
    }

    /// A result relayed by the app's return page (`data`: its fragment's parameters and
    /// `redirect_uri`, as the `BroadcastChannel` gave them): for this button's running attempt, its
    /// code is redeemed with the attempt's PKCE verifier (held only here), so a crafted relay —
    /// any document of the origin can send one, with the attempt id, which the popup's URL leaks —
    /// yields nothing.
    pub fn relayed(self: &Rc<Self>, data: &JsValue) {
        let Some(q) = data
            .as_string()
            .and_then(|d| web_sys::UrlSearchParams::new_with_str(&d).ok())
        else {
            return;
        };
        let (attempt, verifier) = {
            let s = self.state.borrow();
            match s.machine.current() {
                Some(a) => (a.to_owned(), s.verifier.clone()),
                None => return,
            }
        };
        let me = Rc::downgrade(self);
        let cfg = self.ui.config();
        let back = q.get("redirect_uri").unwrap_or_default();
        let ours = attempt.clone();
        let then = move |verdict| {
            // Still the same attempt (a posted result may have ended it meanwhile).
            if let Some(me) = me.upgrade() {
                if me.state.borrow().machine.current() == Some(ours.as_str()) {
                    me.take_verdict(verdict);
                }
            }
        };
        let keys = [cfg.pool.clone(), cfg.app.clone()];
        delivery::redeem(q, attempt, keys, verifier, back, Box::new(then));
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
            End::CutOff => web::error(&[wire_cut()]),
            _ => {}
        }
        if self.stopped.get() {
            return;
        }
        let _ = self.ui.shown.try_set(Shown::after(&end));
        // Last: focus goes back to the button and the event fires, whose listeners may remove
        // the element (and stop this controller).
        delivery::report(&self.host, &end);
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

fn on_message(me: &Weak<Login>, e: &JsValue) {
    let Some(me) = me.upgrade() else { return };
    let verdict = {
        let s = me.state.borrow();
        let (Some(attempt), Some(popup)) = (s.machine.current(), &s.popup) else {
            return;
        };
        let from_popup = prop(e, "source") == *AsRef::<JsValue>::as_ref(popup);
        let origin = prop(e, "origin").as_string().unwrap_or_default();
        protocol::validate(&web::server(), &origin, from_popup, attempt, || {
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
pub fn read_fields(data: &JsValue) -> MessageFields {
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

/// `S/connection/social/{connection}/{pool}/authorize?app_id=…&<query>`
fn authorize(cfg: &crate::core::attrs::Config, query: &[(&str, &str)]) -> String {
    let mut q = vec![("app_id", cfg.app.as_str())];
    q.extend_from_slice(query);
    web::server_url(
        &[
            "connection",
            "social",
            &cfg.connection,
            &cfg.pool,
            "authorize",
        ],
        &q,
    )
}

/// A 520×640 popup centred on this window.
fn features() -> String {
    let w = window();
    let n = |k| prop(&w, k).as_f64().unwrap_or_default();
    let left = n("screenX") + ((n("outerWidth") - 520.0) / 2.0).max(0.0);
    let top = n("screenY") + ((n("outerHeight") - 640.0) / 2.0).max(0.0);
    [
        "popup,width=520,height=640,left=",
        &decimal(left as i32),
        ",top=",
        &decimal(top as i32),
    ]
    .concat()
}

/// `popup_cut_off`'s message, for the console too.
fn wire_cut() -> &'static str {
    milogin_shared::ErrorCode::PopupCutOff.default_message()
}

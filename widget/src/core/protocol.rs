//! PURE: the login attempt state machine and the result-message validation (of a message the
//! popup posted, or one the app's return page relayed).
//!
//! No web-sys types here, so everything is tested natively (`cargo test -p milogin-widget`).
//! `popup.rs` feeds browser events in and carries out the [`Effect`]s that come back.

use milogin_shared as wire;

/// Closed without a result, on a page whose policy keeps the window in reach: wait this long for
/// a relayed result before calling it a cancel (the return page closes its window right after it
/// relayed). The page's policy is read within it ([`Effect::Probe`]).
pub const DRAIN_MS: f64 = 3000.0;

/// Whether a `Cross-Origin-Opener-Policy` header value cuts this page off from the cross-origin
/// windows it opens: `same-origin` does (the window's `closed` then reads true as soon as it
/// leaves for the server, while the person goes on in it); `same-origin-allow-popups`,
/// `unsafe-none`, `noopener-allow-popups`, none or an invalid value do not. Parameters
/// (`;report-to=…`, a structured header's: no space before the `;`) do not change it.
pub fn cuts_popups(coop: Option<&str>) -> bool {
    coop.is_some_and(|v| v == "same-origin" || v.starts_with("same-origin;"))
}

/// Where one button (or one `login()` call) is in its login.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Nothing started yet.
    Idle,
    /// A popup is open (or was, and a relayed result may still come) for `attempt`.
    Open {
        /// The attempt id sent to the server and expected back in the message.
        attempt: String,
        /// No result after this time (ms) means [`End::TimedOut`].
        deadline: f64,
        /// A result can come back through the return page's relay (the page has a
        /// `BroadcastChannel`).
        relay: bool,
        /// Once the popup reads closed: wait for a relayed result until then (ms), then give up.
        until: Option<f64>,
    },
    /// The last attempt ended; a click starts a new one.
    Done,
}

impl Phase {
    /// The `data-state` spelling: `idle`, `open` or `done`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Open { .. } => "open",
            Self::Done => "done",
        }
    }
}

/// Something that happened to the attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The button was clicked (or `login()` was called).
    Click,
    /// A popup opened for `attempt` at time `now`; it may stay open `timeout_ms`.
    Opened {
        /// The attempt id in the popup's URL.
        attempt: String,
        /// Current time (ms).
        now: f64,
        /// How long to wait for a result (ms).
        timeout_ms: f64,
        /// The page can hear the return page's relay (it has a `BroadcastChannel`).
        relay: bool,
    },
    /// `window.open` returned null.
    Blocked,
    /// The server said these settings cannot log anyone in (unknown pool or app, an
    /// unregistered origin, a connection not enabled): the click ends at once with this error.
    Refused(wire::ErrorBody),
    /// A result passed [`validate`] (posted by the popup) or [`check`] (relayed).
    Result(wire::Outcome),
    /// The poll ran at time `now` and read the popup's `closed` flag.
    Tick {
        /// Current time (ms).
        now: f64,
        /// `popup.closed`.
        closed: bool,
    },
    /// The page's own `Cross-Origin-Opener-Policy` was read ([`Effect::Probe`]): `true` when it
    /// cuts the page off from its popups ([`cuts_popups`]), so `closed` lies.
    Probed(bool),
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The server's result (success or an error code from the server).
    Outcome(wire::Outcome),
    /// The popup was closed without a result.
    Cancelled,
    /// The page's `Cross-Origin-Opener-Policy` cut the popup off and no return page can relay:
    /// nothing can ever arrive (`popup_cut_off`).
    CutOff,
    /// The browser blocked the popup.
    Blocked,
    /// No result before the deadline.
    TimedOut,
}

impl End {
    /// The `(code, message)` of an ending that is reported as `milogin:error`, else `None`.
    pub fn error(&self) -> Option<(wire::ErrorCode, &str)> {
        // Consts, so only these two default messages end up in the wasm.
        const BLOCKED: &str = wire::ErrorCode::PopupBlocked.default_message();
        const TIMEOUT: &str = wire::ErrorCode::Timeout.default_message();
        const CUT: &str = wire::ErrorCode::PopupCutOff.default_message();
        match self {
            Self::Outcome(wire::Outcome::Failure(e)) => Some((e.code, &e.message)),
            Self::Blocked => Some((wire::ErrorCode::PopupBlocked, BLOCKED)),
            Self::TimedOut => Some((wire::ErrorCode::Timeout, TIMEOUT)),
            Self::CutOff => Some((wire::ErrorCode::PopupCutOff, CUT)),
            _ => None,
        }
    }
}

/// What the browser layer must do after an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing (stale or duplicate event, or not yet time).
    None,
    /// Start an attempt (open the popup, or leave for redirect mode).
    Start,
    /// A popup is already open: focus it instead of starting a second attempt.
    Focus,
    /// The popup is open: announce it and start listening.
    Listen,
    /// The popup reads closed without a result: read this page's own
    /// `Cross-Origin-Opener-Policy` (a same-origin `HEAD` of its URL) and answer
    /// [`Event::Probed`]. `closed` is the truth unless that policy cut the window off.
    Probe,
    /// The page's policy cut the popup off (its `closed` lies): warn, and wait for the return
    /// page's relay until the deadline.
    Severed,
    /// The popup was gone and only a relay could still come: the click ends that wait (report
    /// `end`, a cancel) and starts a new attempt at once — a retry is one click.
    Restart {
        /// How the old attempt ended.
        end: End,
    },
    /// The attempt is over: stop listening, close the popup if `close_popup`, report `end`.
    Finish {
        /// How it ended.
        end: End,
        /// Close the popup (timeout) — after a result it closes itself.
        close_popup: bool,
    },
}

/// The state machine of one button: Idle → Open → Done (→ Open again on the next click).
///
/// Exactly one ending per attempt: whichever of the posted message and the relayed one comes
/// first moves it to `Done`, where every later event is ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    phase: Phase,
}

impl Default for Attempt {
    fn default() -> Self {
        Self { phase: Phase::Idle }
    }
}

impl Attempt {
    /// The current phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The attempt id a message must carry, while an attempt runs.
    pub fn current(&self) -> Option<&str> {
        match &self.phase {
            Phase::Open { attempt, .. } => Some(attempt),
            _ => None,
        }
    }

    /// Applies one event and says what to do.
    pub fn on(&mut self, event: Event) -> Effect {
        let Phase::Open {
            deadline,
            relay,
            until,
            ..
        } = &mut self.phase
        else {
            return match event {
                Event::Click => Effect::Start,
                Event::Opened {
                    attempt,
                    now,
                    timeout_ms,
                    relay,
                } => {
                    self.phase = Phase::Open {
                        attempt,
                        deadline: now + timeout_ms,
                        relay,
                        until: None,
                    };
                    Effect::Listen
                }
                Event::Blocked => self.end(End::Blocked, false),
                Event::Refused(body) => self.end(End::Outcome(wire::Outcome::Failure(body)), false),
                _ => Effect::None,
            };
        };
        let cancelled = End::Cancelled;
        match event {
            // The popup is gone and only a relay could still come: a click ends that wait and
            // starts afresh, rather than focusing a window that is not there.
            Event::Click if until.is_some() => {
                self.phase = Phase::Done;
                Effect::Restart { end: cancelled }
            }
            Event::Click => Effect::Focus,
            Event::Result(outcome) => self.end(End::Outcome(outcome), false),
            Event::Tick { now, closed: true } if until.is_none() => {
                *until = Some(now + DRAIN_MS);
                Effect::Probe
            }
            // Once per attempt: a relay waits until the deadline only from then on.
            Event::Probed(cut) if until.is_some_and(|u| u < *deadline) => match (cut, *relay) {
                (false, false) => self.end(cancelled, false),
                (true, false) => self.end(End::CutOff, false),
                (false, true) => Effect::None,
                (true, true) => {
                    *until = Some(*deadline);
                    Effect::Severed
                }
            },
            Event::Tick { now, .. } => match *until {
                Some(u) if now >= u && u < *deadline => self.end(cancelled, false),
                _ if now >= *deadline => {
                    let open = until.is_none();
                    self.end(End::TimedOut, open)
                }
                _ => Effect::None,
            },
            Event::Opened { .. } | Event::Blocked | Event::Refused(_) | Event::Probed(_) => {
                Effect::None
            }
        }
    }

    fn end(&mut self, end: End, close_popup: bool) -> Effect {
        self.phase = Phase::Done;
        Effect::Finish { end, close_popup }
    }
}

/// A JS value as the message reader saw it, for the fields where the type matters.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `undefined` (absent) or `null`.
    #[default]
    Nothing,
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// Anything else (object, array, …).
    Other,
}

impl Value {
    fn str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The fields of a posted message, read one by one from the JS object (no serde_json in the wasm).
///
/// `user` and `error` are `Some` when the message has an object there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFields {
    /// `type`
    pub kind: Value,
    /// `version`
    pub version: Value,
    /// `attempt`
    pub attempt: Value,
    /// `ok`
    pub ok: Value,
    /// `id_token`
    pub id_token: Value,
    /// `user.{id, nickname, avatar, connection, new_user}`
    pub user: Option<[Value; 5]>,
    /// `error.{code, message}`
    pub error: Option<[Value; 2]>,
}

/// The keys of `user`, in the order of [`MessageFields::user`].
pub const USER_KEYS: [&str; 5] = ["id", "nickname", "avatar", "connection", "new_user"];
/// The keys of `error`, in the order of [`MessageFields::error`].
pub const ERROR_KEYS: [&str; 2] = ["code", "message"];

/// What to do with a `message` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The result of the current attempt.
    Accept(wire::Outcome),
    /// Not for us, or malformed: ignore it, with the reason for `console.debug`.
    Ignore(&'static str),
}

/// Checks a `message` event: the sender first (`origin` exactly the server's, `from_popup` =
/// `event.source` is the window this attempt opened), then — only then — the data ([`check`]).
pub fn validate(
    server_origin: &str,
    origin: &str,
    from_popup: bool,
    attempt: &str,
    read: impl FnOnce() -> MessageFields,
) -> Verdict {
    if origin != server_origin {
        return Verdict::Ignore("message from another origin");
    }
    if !from_popup {
        return Verdict::Ignore("message not sent by this button's login window");
    }
    check(attempt, read())
}

/// Checks a result's data: a milogin result of this version, for `attempt`, well formed. A result
/// relayed by the app's return page goes through this alone: its sender is a document of this
/// page's own origin (a `BroadcastChannel` only connects same-origin documents), so the origin is
/// settled by the browser, and the attempt id (random, never in this origin's URLs) ties it to
/// this button's login.
pub fn check(attempt: &str, m: MessageFields) -> Verdict {
    if m.kind.str() != Some(wire::MESSAGE_TYPE) {
        return Verdict::Ignore("not a milogin result");
    }
    if m.version != Value::Num(wire::MESSAGE_VERSION.into()) {
        return Verdict::Ignore("unsupported message version");
    }
    if m.attempt.str() != Some(attempt) {
        return Verdict::Ignore("result of another login attempt");
    }
    match (&m.ok, m.id_token.str(), &m.user, &m.error) {
        (Value::Bool(true), Some(id_token), Some(user), None) if !id_token.is_empty() => {
            let [id, nickname, avatar, connection, new_user] = user;
            let avatar = match avatar {
                Value::Nothing => None,
                Value::Str(url) => Some(url.clone()),
                _ => return Verdict::Ignore("malformed user.avatar"),
            };
            match (id.str(), nickname.str(), connection.str(), new_user) {
                (Some(id), Some(nickname), Some(connection), Value::Bool(new_user)) => {
                    Verdict::Accept(wire::Outcome::Success {
                        id_token: id_token.into(),
                        user: wire::UserInfo {
                            id: id.into(),
                            nickname: nickname.into(),
                            avatar,
                            connection: connection.into(),
                            new_user: *new_user,
                        },
                    })
                }
                _ => Verdict::Ignore("malformed user"),
            }
        }
        (Value::Bool(false), None, None, Some([code, message])) => {
            match (code.str().and_then(wire::ErrorCode::parse), message.str()) {
                (Some(code), Some(message)) => {
                    Verdict::Accept(wire::Outcome::Failure(wire::ErrorBody {
                        code,
                        message: message.into(),
                    }))
                }
                _ => Verdict::Ignore("malformed or unknown error code"),
            }
        }
        _ => Verdict::Ignore("malformed result"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{ErrorCode, Outcome};

    const S: &str = "https://login.example.com";
    const A: &str = "abcdefghijklmnopqrstuvwxyz012345";

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn success() -> MessageFields {
        MessageFields {
            kind: s("milogin:result"),
            version: Value::Num(1.0),
            attempt: s(A),
            ok: Value::Bool(true),
            id_token: s("h.p.s"),
            user: Some([
                s("u1"),
                s("Ann <b>"),
                s("https://cdn/a.jpg"),
                s("xiaomi"),
                Value::Bool(true),
            ]),
            error: None,
        }
    }

    fn failure(code: &str) -> MessageFields {
        MessageFields {
            kind: s("milogin:result"),
            version: Value::Num(1.0),
            attempt: s(A),
            ok: Value::Bool(false),
            error: Some([s(code), s("human readable")]),
            ..Default::default()
        }
    }

    fn posted(m: MessageFields) -> Verdict {
        validate(S, S, true, A, || m)
    }

    #[test]
    fn accepts_a_well_formed_success() {
        let Verdict::Accept(Outcome::Success { id_token, user }) = posted(success()) else {
            panic!()
        };
        assert_eq!(id_token, "h.p.s");
        assert_eq!(user.nickname, "Ann <b>");
        assert_eq!(user.avatar.as_deref(), Some("https://cdn/a.jpg"));
        assert!(user.new_user);
    }

    #[test]
    fn accepts_a_null_avatar_and_a_known_error() {
        let mut m = success();
        m.user.as_mut().unwrap()[2] = Value::Nothing;
        assert!(
            matches!(posted(m), Verdict::Accept(Outcome::Success { user, .. }) if user.avatar.is_none())
        );
        assert_eq!(
            posted(failure("user_not_found")),
            Verdict::Accept(Outcome::Failure(wire::ErrorBody {
                code: ErrorCode::UserNotFound,
                message: "human readable".into()
            }))
        );
    }

    #[test]
    fn checks_the_sender_before_reading_the_data() {
        let unread = || -> MessageFields { panic!("data read before the sender was checked") };
        assert!(matches!(
            validate(S, "https://evil.example", true, A, unread),
            Verdict::Ignore(_)
        ));
        // Exact match only: no prefix, no trailing slash, no other scheme or port.
        for origin in [
            "https://login.example.com.evil",
            "https://login.example.com/",
            "http://login.example.com",
            "https://login.example.com:444",
            "null",
        ] {
            assert!(
                matches!(validate(S, origin, true, A, unread), Verdict::Ignore(_)),
                "{origin}"
            );
        }
        assert!(matches!(
            validate(S, S, false, A, unread),
            Verdict::Ignore(_)
        ));
    }

    #[test]
    fn ignores_foreign_stale_and_malformed_messages() {
        let mut bad = Vec::new();
        let mut m = success();
        m.kind = s("other");
        bad.push(m);
        let mut m = success();
        m.version = Value::Num(2.0);
        bad.push(m);
        let mut m = success();
        m.version = s("1");
        bad.push(m);
        let mut m = success();
        m.attempt = s("another-attempt-id-0000000000000");
        bad.push(m);
        let mut m = success();
        m.attempt = Value::Nothing;
        bad.push(m);
        let mut m = success();
        m.ok = s("true");
        bad.push(m);
        let mut m = success();
        m.id_token = Value::Nothing;
        bad.push(m);
        let mut m = success();
        m.id_token = s("");
        bad.push(m);
        let mut m = success();
        m.user = None;
        bad.push(m);
        let mut m = success();
        m.user.as_mut().unwrap()[0] = Value::Num(7.0);
        bad.push(m);
        let mut m = success();
        m.user.as_mut().unwrap()[2] = Value::Other;
        bad.push(m);
        let mut m = success();
        m.user.as_mut().unwrap()[4] = s("yes");
        bad.push(m);
        let mut m = success();
        m.error = failure("internal").error;
        bad.push(m);
        bad.push(failure("not_a_code"));
        bad.push(failure("Internal"));
        let mut m = failure("internal");
        m.error.as_mut().unwrap()[1] = Value::Nothing;
        bad.push(m);
        let mut m = failure("internal");
        m.id_token = s("h.p.s");
        bad.push(m);
        bad.push(MessageFields::default());
        for m in bad {
            assert!(matches!(posted(m.clone()), Verdict::Ignore(_)), "{m:?}");
        }
    }

    fn opened(a: &mut Attempt, at: f64, relay: bool) -> Effect {
        a.on(Event::Opened {
            attempt: A.into(),
            now: at,
            timeout_ms: 300_000.0,
            relay,
        })
    }

    fn tick(a: &mut Attempt, now: f64, closed: bool) -> Effect {
        a.on(Event::Tick { now, closed })
    }

    fn finish(end: End, close_popup: bool) -> Effect {
        Effect::Finish { end, close_popup }
    }

    #[test]
    fn click_open_result_done_and_again() {
        let mut a = Attempt::default();
        assert_eq!(a.phase().as_str(), "idle");
        assert_eq!(a.current(), None);
        assert_eq!(a.on(Event::Click), Effect::Start);
        assert_eq!(opened(&mut a, 1000.0, true), Effect::Listen);
        assert_eq!(a.phase().as_str(), "open");
        assert_eq!(a.current(), Some(A));
        let outcome = Outcome::Failure(wire::ErrorBody {
            code: ErrorCode::AccessDenied,
            message: "m".into(),
        });
        let end = End::Outcome(outcome.clone());
        assert_eq!(end.error().map(|e| e.0), Some(ErrorCode::AccessDenied));
        assert_eq!(a.on(Event::Result(outcome.clone())), finish(end, false));
        assert_eq!(a.phase(), &Phase::Done);
        // Late events for the finished attempt change nothing: exactly one ending, whichever of
        // the posted message and the relayed one came first.
        assert_eq!(a.on(Event::Result(outcome)), Effect::None);
        assert_eq!(tick(&mut a, 9e9, true), Effect::None);
        assert_eq!(tick(&mut a, 9e9, false), Effect::None);
        // A new click starts a new attempt.
        assert_eq!(a.on(Event::Click), Effect::Start);
        assert_eq!(opened(&mut a, 2000.0, false), Effect::Listen);
    }

    #[test]
    fn second_click_while_open_focuses() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        opened(&mut a, 0.0, true);
        assert_eq!(a.on(Event::Click), Effect::Focus);
        assert_eq!(a.on(Event::Click), Effect::Focus);
        assert_eq!(a.current(), Some(A));
        // And a second "Opened" cannot replace the running attempt.
        assert_eq!(
            a.on(Event::Opened {
                attempt: "x".repeat(32),
                now: 1.0,
                timeout_ms: 1.0,
                relay: false,
            }),
            Effect::None
        );
        assert_eq!(a.current(), Some(A));
    }

    #[test]
    fn refused_settings_end_the_click_at_once_with_the_servers_code() {
        let mut a = Attempt::default();
        assert_eq!(a.on(Event::Click), Effect::Start);
        let body = wire::ErrorBody {
            code: ErrorCode::UnknownApp,
            message: "Pool \"p\" has no app \"x\"".into(),
        };
        assert_eq!(
            a.on(Event::Refused(body.clone())),
            finish(End::Outcome(Outcome::Failure(body.clone())), false)
        );
        // Later, the same again (one event per click); never while a popup is open.
        assert_eq!(a.on(Event::Click), Effect::Start);
        opened(&mut a, 0.0, true);
        assert_eq!(a.on(Event::Refused(body)), Effect::None);
    }

    #[test]
    fn blocked_ends_at_once() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        let end = End::Blocked;
        assert_eq!(end.error().map(|e| e.0), Some(ErrorCode::PopupBlocked));
        assert_eq!(a.on(Event::Blocked), finish(end, false));
        assert_eq!(a.phase().as_str(), "done");
    }

    fn probed(a: &mut Attempt, cut: bool) -> Effect {
        a.on(Event::Probed(cut))
    }

    #[test]
    fn a_popup_policy_cuts_only_with_same_origin() {
        for v in ["same-origin", "same-origin;report-to=\"r\""] {
            assert!(cuts_popups(Some(v)), "{v}");
        }
        for v in [
            None,
            Some("same-origin-allow-popups"),
            Some("unsafe-none"),
            Some("noopener-allow-popups"),
            Some("Same-Origin"),
            Some(""),
        ] {
            assert!(!cuts_popups(v), "{v:?}");
        }
    }

    #[test]
    fn without_a_relay_closed_is_a_cancel_unless_the_pages_policy_cut_it_off() {
        let mut a = Attempt::default();
        opened(&mut a, 1000.0, false);
        assert_eq!(tick(&mut a, 1400.0, false), Effect::None);
        assert_eq!(
            tick(&mut a, 2400.0, false),
            Effect::None,
            "open: nothing to do"
        );
        // Closed, however soon: the page's policy decides, not the time.
        assert_eq!(tick(&mut a, 2450.0, true), Effect::Probe);
        assert_eq!(tick(&mut a, 2950.0, true), Effect::None, "one probe");
        assert_eq!(probed(&mut a, false), finish(End::Cancelled, false));
        assert_eq!(End::Cancelled.error(), None);
        // A policy that cuts popups off: nothing can ever come, an error that names the fixes.
        opened(&mut a, 1000.0, false);
        assert_eq!(tick(&mut a, 1500.0, true), Effect::Probe);
        assert_eq!(probed(&mut a, true), finish(End::CutOff, false));
        let (code, message) = End::CutOff.error().unwrap();
        assert_eq!(code, ErrorCode::PopupCutOff);
        assert!(message.contains("return_uris") && message.contains("same-origin-allow-popups"));
        // Late, and after the end: ignored.
        assert_eq!(probed(&mut a, true), Effect::None);
        opened(&mut a, 1000.0, false);
        assert_eq!(probed(&mut a, true), Effect::None, "no probe was asked for");
        assert_eq!(tick(&mut a, 20_000.0, true), Effect::Probe);
        assert_eq!(probed(&mut a, false), finish(End::Cancelled, false));
    }

    #[test]
    fn cut_off_by_the_pages_policy_a_relay_is_awaited_until_the_deadline() {
        let mut a = Attempt::default();
        opened(&mut a, 1000.0, true);
        assert_eq!(tick(&mut a, 1500.0, false), Effect::None);
        assert_eq!(tick(&mut a, 1500.0, true), Effect::Probe);
        assert_eq!(probed(&mut a, true), Effect::Severed);
        assert_eq!(tick(&mut a, 2000.0, true), Effect::None);
        // Far past the 3 s a closed popup gets: still waiting, the window is probably open.
        assert_eq!(tick(&mut a, 60_000.0, true), Effect::None);
        assert_eq!(a.phase().as_str(), "open");
        // The relay arrives: one ending.
        let ok = Outcome::Failure(wire::ErrorBody {
            code: ErrorCode::UserNotFound,
            message: "m".into(),
        });
        assert_eq!(
            a.on(Event::Result(ok.clone())),
            finish(End::Outcome(ok.clone()), false)
        );
        assert_eq!(a.on(Event::Result(ok)), Effect::None);
        // No answer at all: a timeout at the deadline (the window cannot be closed from here).
        opened(&mut a, 0.0, true);
        assert_eq!(tick(&mut a, 500.0, true), Effect::Probe);
        assert_eq!(probed(&mut a, true), Effect::Severed);
        assert_eq!(tick(&mut a, 299_999.0, true), Effect::None);
        assert_eq!(tick(&mut a, 300_000.0, true), finish(End::TimedOut, false));
        // A policy not read within the relay's 3 s (the page did not answer): `closed` is
        // believed, a cancel.
        opened(&mut a, 0.0, true);
        assert_eq!(tick(&mut a, 500.0, true), Effect::Probe);
        assert_eq!(tick(&mut a, 3500.0, true), finish(End::Cancelled, false));
        assert_eq!(probed(&mut a, true), Effect::None);
    }

    #[test]
    fn closed_on_a_page_that_keeps_its_popups_waits_three_seconds_for_a_relay_then_cancels() {
        // However soon it closed (issue 19.7: not the timeout's spinner).
        for closed_at in [500.0, 10_000.0] {
            let mut a = Attempt::default();
            opened(&mut a, 0.0, true);
            assert_eq!(tick(&mut a, closed_at, true), Effect::Probe);
            assert_eq!(probed(&mut a, false), Effect::None);
            assert_eq!(tick(&mut a, closed_at + 2000.0, true), Effect::None);
            assert_eq!(
                tick(&mut a, closed_at + 3000.0, true),
                finish(End::Cancelled, false)
            );
        }
        // The relay arrives in time: it wins, once.
        let mut a = Attempt::default();
        opened(&mut a, 0.0, true);
        tick(&mut a, 10_000.0, true);
        probed(&mut a, false);
        let outcome = Outcome::Success {
            id_token: "h.p.s".into(),
            user: wire::UserInfo {
                id: "u".into(),
                nickname: "n".into(),
                avatar: None,
                connection: "xiaomi".into(),
                new_user: false,
            },
        };
        assert_eq!(
            a.on(Event::Result(outcome.clone())),
            finish(End::Outcome(outcome), false)
        );
        assert_eq!(tick(&mut a, 13_000.0, true), Effect::None);
        // A click while only a relay could come (or while the policy is read) ends that wait and
        // starts afresh: one click.
        for probe in [false, true] {
            opened(&mut a, 0.0, true);
            tick(&mut a, 10_000.0, true);
            if probe {
                probed(&mut a, false);
            }
            assert_eq!(
                a.on(Event::Click),
                Effect::Restart {
                    end: End::Cancelled
                }
            );
            assert_eq!(a.phase(), &Phase::Done);
        }
    }

    #[test]
    fn a_relayed_result_is_checked_like_a_posted_one_without_a_sender() {
        assert!(matches!(check(A, success()), Verdict::Accept(_)));
        let mut m = success();
        m.attempt = s("another-attempt-id-0000000000000");
        assert!(matches!(check(A, m), Verdict::Ignore(_)));
        assert!(matches!(
            check(A, MessageFields::default()),
            Verdict::Ignore(_)
        ));
    }

    #[test]
    fn timeout_closes_the_popup() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        a.on(Event::Opened {
            attempt: A.into(),
            now: 0.0,
            timeout_ms: 5000.0,
            relay: false,
        });
        assert_eq!(tick(&mut a, 4999.0, false), Effect::None);
        assert_eq!(a.phase().as_str(), "open");
        let end = End::TimedOut;
        assert_eq!(end.error().map(|e| e.0), Some(ErrorCode::Timeout));
        assert_eq!(tick(&mut a, 5000.0, false), finish(end, true));
        // Closed within 3 s of the deadline: the deadline still wins.
        a.on(Event::Opened {
            attempt: A.into(),
            now: 0.0,
            timeout_ms: 5000.0,
            relay: true,
        });
        assert_eq!(tick(&mut a, 4000.0, true), Effect::Probe);
        assert_eq!(probed(&mut a, false), Effect::None);
        assert_eq!(tick(&mut a, 5000.0, true), finish(End::TimedOut, false));
    }
}

//! PURE: the login attempt state machine, result-message validation and URL building.
//!
//! No web-sys types here, so everything is tested natively (`cargo test -p milogin-widget`).
//! `popup.rs` feeds browser events in and carries out the [`Effect`]s that come back.

use milogin_shared as wire;

/// Closed within this many milliseconds of opening, with no message: probably not the user but a
/// `Cross-Origin-Opener-Policy` that cut the popup off from this page (`closed` then reads true).
pub const COOP_SUSPECT_MS: f64 = 1500.0;

/// Where one button (or one `login()` call) is in its login.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Nothing started yet.
    Idle,
    /// A popup is open and waiting for the result of `attempt`.
    Open {
        /// The attempt id sent to the server and expected back in the message.
        attempt: String,
        /// When the popup opened (ms, the caller's clock).
        opened_at: f64,
        /// No result after this time (ms) means [`End::TimedOut`].
        deadline: f64,
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
    /// `window.open` returned a window for `attempt` at time `now`, which may stay open `timeout_ms`.
    Opened {
        /// The attempt id in the popup's URL.
        attempt: String,
        /// Current time (ms).
        now: f64,
        /// How long to wait for a result (ms).
        timeout_ms: f64,
    },
    /// `window.open` returned null.
    Blocked,
    /// A message passed [`validate`].
    Result(wire::Outcome),
    /// The poll found the popup closed at time `now`.
    Closed {
        /// Current time (ms).
        now: f64,
    },
    /// The poll ran at time `now` (checks the deadline).
    Tick {
        /// Current time (ms).
        now: f64,
    },
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The server's result (success or an error code from the server).
    Outcome(wire::Outcome),
    /// The popup was closed without a result. `suspect_coop`: it closed suspiciously fast.
    Cancelled {
        /// True when it closed within [`COOP_SUSPECT_MS`].
        suspect_coop: bool,
    },
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
        match self {
            Self::Outcome(wire::Outcome::Failure(e)) => Some((e.code, &e.message)),
            Self::Blocked => Some((wire::ErrorCode::PopupBlocked, BLOCKED)),
            Self::TimedOut => Some((wire::ErrorCode::Timeout, TIMEOUT)),
            _ => None,
        }
    }
}

/// What the browser layer must do after an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing (stale or duplicate event).
    None,
    /// Start an attempt: choose an attempt id and open the popup (or redirect).
    Start,
    /// A popup is already open: focus it instead of starting a second attempt.
    Focus,
    /// The popup is open: announce it and start listening.
    Listen,
    /// The attempt is over: stop listening, close the popup if `close_popup`, report `end`.
    Finish {
        /// How it ended.
        end: End,
        /// Close the popup (timeout) — after a result it closes itself.
        close_popup: bool,
    },
}

/// The state machine of one button: Idle → Open → Done (→ Open again on the next click).
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

    /// The attempt id a message must carry, while a popup is open.
    pub fn current(&self) -> Option<&str> {
        match &self.phase {
            Phase::Open { attempt, .. } => Some(attempt),
            _ => None,
        }
    }

    /// Applies one event and says what to do.
    pub fn on(&mut self, event: Event) -> Effect {
        let open = matches!(self.phase, Phase::Open { .. });
        let (next, effect) = match (event, &self.phase) {
            (Event::Click, Phase::Open { .. }) => return Effect::Focus,
            (Event::Click, _) => return Effect::Start,
            (
                Event::Opened {
                    attempt,
                    now,
                    timeout_ms,
                },
                _,
            ) if !open => (
                Phase::Open {
                    attempt,
                    opened_at: now,
                    deadline: now + timeout_ms,
                },
                Effect::Listen,
            ),
            (Event::Blocked, _) if !open => (Phase::Done, finish(End::Blocked, false)),
            (Event::Result(outcome), Phase::Open { .. }) => {
                (Phase::Done, finish(End::Outcome(outcome), false))
            }
            (Event::Closed { now }, Phase::Open { opened_at, .. }) => {
                let suspect_coop = now - opened_at < COOP_SUSPECT_MS;
                (Phase::Done, finish(End::Cancelled { suspect_coop }, false))
            }
            (Event::Tick { now }, Phase::Open { deadline, .. }) if now >= *deadline => {
                (Phase::Done, finish(End::TimedOut, true))
            }
            _ => return Effect::None,
        };
        self.phase = next;
        effect
    }
}

fn finish(end: End, close_popup: bool) -> Effect {
    Effect::Finish { end, close_popup }
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
/// `event.source` is the window this attempt opened), then — only then — the data.
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
    let m = read();
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

const ID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// An attempt id from CSPRNG bytes: one `[A-Za-z0-9_-]` character per byte (6 bits each).
pub fn attempt_id(random: &[u8]) -> String {
    random
        .iter()
        .map(|b| ID_ALPHABET[usize::from(b & 63)] as char)
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters (like `encodeURIComponent`,
/// which also leaves `!'()*` alone; we encode those too, which every server accepts).
pub fn encode(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// What goes into an authorize URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeParams<'a> {
    /// The milogin server's origin, e.g. `https://login.example.com`.
    pub server: &'a str,
    /// Pool id.
    pub pool: &'a str,
    /// App id.
    pub app: &'a str,
    /// Connection Unique ID.
    pub connection: &'a str,
    /// The attempt id.
    pub attempt: &'a str,
    /// Popup mode: the page's origin. Redirect mode: `None`.
    pub origin: Option<&'a str>,
    /// Redirect mode: the registered redirect URI.
    pub redirect_uri: Option<&'a str>,
}

/// `{server}/connection/social/{connection}/{pool}/authorize?app_id=…&…&mode=popup|redirect`
/// (design.md §4). Popup mode when `origin` is set, else redirect mode.
pub fn authorize_url(p: AuthorizeParams<'_>) -> String {
    let mut u = String::with_capacity(256);
    u.push_str(p.server);
    u.push_str("/connection/social/");
    encode(p.connection, &mut u);
    u.push('/');
    encode(p.pool, &mut u);
    u.push_str("/authorize?app_id=");
    encode(p.app, &mut u);
    if let Some(origin) = p.origin {
        u.push_str("&origin=");
        encode(origin, &mut u);
    }
    u.push_str("&attempt=");
    encode(p.attempt, &mut u);
    match (p.origin, p.redirect_uri) {
        (Some(_), _) => u.push_str("&mode=popup"),
        (None, uri) => {
            u.push_str("&mode=redirect&redirect_uri=");
            encode(uri.unwrap_or_default(), &mut u);
        }
    }
    u
}

/// `{server}/api/v1/pools/{pool}/apps/{app}/connections`
pub fn connections_url(server: &str, pool: &str, app: &str) -> String {
    let mut u = String::with_capacity(96);
    u.push_str(server);
    u.push_str("/api/v1/pools/");
    encode(pool, &mut u);
    u.push_str("/apps/");
    encode(app, &mut u);
    u.push_str("/connections");
    u
}

/// Popup size in CSS pixels.
pub const POPUP_SIZE: (f64, f64) = (520.0, 640.0);

/// `window.open` features for a popup centred over the current window (given its screen position
/// and outer size).
pub fn popup_features(screen_x: f64, screen_y: f64, outer_w: f64, outer_h: f64) -> String {
    let (w, h) = POPUP_SIZE;
    let left = screen_x + ((outer_w - w) / 2.0).max(0.0);
    let top = screen_y + ((outer_h - h) / 2.0).max(0.0);
    let mut f = String::from("popup,width=520,height=640,left=");
    push_int(&mut f, left as i64);
    f.push_str(",top=");
    push_int(&mut f, top as i64);
    f
}

/// Appends `n` in decimal (without pulling `core::fmt`'s number formatting into the wasm).
pub fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[i..].iter().for_each(|&d| out.push(d as char));
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

    fn check(m: MessageFields) -> Verdict {
        validate(S, S, true, A, || m)
    }

    #[test]
    fn accepts_a_well_formed_success() {
        let Verdict::Accept(Outcome::Success { id_token, user }) = check(success()) else {
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
            matches!(check(m), Verdict::Accept(Outcome::Success { user, .. }) if user.avatar.is_none())
        );
        assert_eq!(
            check(failure("user_not_found")),
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
            assert!(matches!(check(m.clone()), Verdict::Ignore(_)), "{m:?}");
        }
    }

    fn opened(a: &mut Attempt, at: f64) -> Effect {
        a.on(Event::Opened {
            attempt: A.into(),
            now: at,
            timeout_ms: 300_000.0,
        })
    }

    #[test]
    fn click_open_result_done_and_again() {
        let mut a = Attempt::default();
        assert_eq!(a.phase().as_str(), "idle");
        assert_eq!(a.current(), None);
        assert_eq!(a.on(Event::Click), Effect::Start);
        assert_eq!(opened(&mut a, 1000.0), Effect::Listen);
        assert_eq!(a.phase().as_str(), "open");
        assert_eq!(a.current(), Some(A));
        let outcome = Outcome::Failure(wire::ErrorBody {
            code: ErrorCode::AccessDenied,
            message: "m".into(),
        });
        let end = End::Outcome(outcome.clone());
        assert_eq!(end.error().map(|e| e.0), Some(ErrorCode::AccessDenied));
        assert_eq!(
            a.on(Event::Result(outcome.clone())),
            Effect::Finish {
                end,
                close_popup: false
            }
        );
        assert_eq!(a.phase(), &Phase::Done);
        // Late events for the finished attempt change nothing.
        assert_eq!(a.on(Event::Result(outcome)), Effect::None);
        assert_eq!(a.on(Event::Closed { now: 9e9 }), Effect::None);
        assert_eq!(a.on(Event::Tick { now: 9e9 }), Effect::None);
        // A new click starts a new attempt.
        assert_eq!(a.on(Event::Click), Effect::Start);
        assert_eq!(opened(&mut a, 2000.0), Effect::Listen);
    }

    #[test]
    fn second_click_while_open_focuses() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        opened(&mut a, 0.0);
        assert_eq!(a.on(Event::Click), Effect::Focus);
        assert_eq!(a.on(Event::Click), Effect::Focus);
        assert_eq!(a.current(), Some(A));
        // And a second "Opened" cannot replace the running attempt.
        assert_eq!(
            a.on(Event::Opened {
                attempt: "x".repeat(32),
                now: 1.0,
                timeout_ms: 1.0
            }),
            Effect::None
        );
        assert_eq!(a.current(), Some(A));
    }

    #[test]
    fn blocked_ends_at_once() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        let end = End::Blocked;
        assert_eq!(end.error().map(|e| e.0), Some(ErrorCode::PopupBlocked));
        assert_eq!(
            a.on(Event::Blocked),
            Effect::Finish {
                end,
                close_popup: false
            }
        );
        assert_eq!(a.phase().as_str(), "done");
    }

    #[test]
    fn closed_is_a_cancel_and_fast_close_suggests_coop() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        opened(&mut a, 1000.0);
        assert_eq!(
            a.on(Event::Closed { now: 1500.0 }),
            Effect::Finish {
                end: End::Cancelled { suspect_coop: true },
                close_popup: false
            }
        );
        a.on(Event::Click);
        opened(&mut a, 1000.0);
        assert_eq!(
            a.on(Event::Closed { now: 20_000.0 }),
            Effect::Finish {
                end: End::Cancelled {
                    suspect_coop: false
                },
                close_popup: false
            }
        );
        assert_eq!(
            End::Cancelled {
                suspect_coop: false
            }
            .error(),
            None
        );
    }

    #[test]
    fn timeout_closes_the_popup() {
        let mut a = Attempt::default();
        a.on(Event::Click);
        a.on(Event::Opened {
            attempt: A.into(),
            now: 0.0,
            timeout_ms: 5000.0,
        });
        assert_eq!(a.on(Event::Tick { now: 4999.0 }), Effect::None);
        assert_eq!(a.phase().as_str(), "open");
        let end = End::TimedOut;
        assert_eq!(end.error().map(|e| e.0), Some(ErrorCode::Timeout));
        assert_eq!(
            a.on(Event::Tick { now: 5000.0 }),
            Effect::Finish {
                end,
                close_popup: true
            }
        );
    }

    #[test]
    fn attempt_ids_are_valid_for_the_server() {
        let bytes: Vec<u8> = (0..=255).collect();
        for chunk in bytes.chunks(32) {
            let id = attempt_id(chunk);
            assert_eq!(id.len(), 32);
            assert_eq!(wire::validate_attempt(&id), Ok(()), "{id}");
        }
        // Every alphabet character is reachable.
        let all = attempt_id(&bytes[..64]);
        assert_eq!(all.as_bytes(), ID_ALPHABET);
    }

    #[test]
    fn urls() {
        let p = AuthorizeParams {
            server: S,
            pool: "demo-pool",
            app: "demo app&x=1",
            connection: "xiaomi",
            attempt: A,
            origin: Some("http://localhost:3000"),
            redirect_uri: None,
        };
        assert_eq!(
            authorize_url(p),
            "https://login.example.com/connection/social/xiaomi/demo-pool/authorize?app_id=demo%20app%26x%3D1\
             &origin=http%3A%2F%2Flocalhost%3A3000&attempt=abcdefghijklmnopqrstuvwxyz012345&mode=popup"
        );
        let r = AuthorizeParams {
            origin: None,
            redirect_uri: Some("https://shop.example/done?a=1#x"),
            ..p
        };
        assert_eq!(
            authorize_url(r),
            "https://login.example.com/connection/social/xiaomi/demo-pool/authorize?app_id=demo%20app%26x%3D1\
             &attempt=abcdefghijklmnopqrstuvwxyz012345&mode=redirect\
             &redirect_uri=https%3A%2F%2Fshop.example%2Fdone%3Fa%3D1%23x"
        );
        assert_eq!(
            connections_url(S, "p/..", "a"),
            "https://login.example.com/api/v1/pools/p%2F../apps/a/connections"
        );
        let mut out = String::new();
        encode("小米 ~", &mut out);
        assert_eq!(out, "%E5%B0%8F%E7%B1%B3%20~");
    }

    #[test]
    fn integers() {
        for n in [0, 7, -7, 10, 404, -2147483648, i64::MAX, i64::MIN] {
            let mut s = String::new();
            push_int(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn popup_is_centred() {
        assert_eq!(
            popup_features(100.0, 50.0, 1520.0, 1040.0),
            "popup,width=520,height=640,left=600,top=250"
        );
        // A window smaller than the popup: align with its corner.
        assert_eq!(
            popup_features(-10.0, 0.0, 300.0, 300.0),
            "popup,width=520,height=640,left=-10,top=0"
        );
    }
}

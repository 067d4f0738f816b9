//! Wire types shared by the server and the widget (design.md §5).
//!
//! Only serde here: this crate builds for `wasm32-unknown-unknown` and native. The widget does not
//! link serde_json (it costs ~17 KB gzip); it reads messages with `JSON.parse` and uses the
//! constants and [`ErrorCode::parse`]. The server's typed ids check these limits
//! (`milogin_server::domain::ids`). The server serializes with serde_json.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The `type` field of every result message.
pub const MESSAGE_TYPE: &str = "milogin:result";
/// The `version` field of every result message.
pub const MESSAGE_VERSION: u32 = 1;
/// Longest connection Unique ID (source product: "shorter than 32 characters").
pub const UNIQUE_ID_MAX: usize = 31;
/// Shortest and longest attempt id the widget may choose.
pub const ATTEMPT_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// Closed set of error codes a result can carry (contract).
///
/// The first fourteen are produced by the server (`unknown_pool` and `unknown_app` by the
/// connections endpoint the widget asks before a login). `PopupBlocked`, `Timeout` and
/// `PopupCutOff` are produced by the widget only (the server never sends them); they share the
/// enum so a page handles one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The user declined at Xiaomi.
    AccessDenied,
    /// A required parameter was missing or malformed.
    InvalidRequest,
    /// The state is unknown, already used, tampered with or not bound to this browser.
    InvalidState,
    /// The login took longer than the attempt's lifetime (10 minutes).
    StateExpired,
    /// The page's origin (or redirect URI) is not registered for the app.
    OriginNotAllowed,
    /// The connection does not exist or is not enabled for the app.
    ConnectionNotEnabled,
    /// The button's `pool` names no pool of the server.
    UnknownPool,
    /// The button's `app` names no app of that pool.
    UnknownApp,
    /// Xiaomi answered with an error or something we could not understand.
    ProviderError,
    /// Xiaomi could not be reached in time.
    ProviderUnavailable,
    /// Login-only mode and no user exists for this Xiaomi account.
    UserNotFound,
    /// The Xiaomi account must first be bound to an existing account.
    BindingRequired,
    /// The user exists but is disabled.
    UserDisabled,
    /// Something failed on our side; nothing was written.
    Internal,
    /// Widget only: the browser blocked the popup.
    PopupBlocked,
    /// Widget only: no result within the widget's `timeout`.
    Timeout,
    /// Widget only: the page's `Cross-Origin-Opener-Policy` cut the login window off from it
    /// and the app registers no return page, so no result can ever reach the page.
    PopupCutOff,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 17] = [
        Self::AccessDenied,
        Self::InvalidRequest,
        Self::InvalidState,
        Self::StateExpired,
        Self::OriginNotAllowed,
        Self::ConnectionNotEnabled,
        Self::UnknownPool,
        Self::UnknownApp,
        Self::ProviderError,
        Self::ProviderUnavailable,
        Self::UserNotFound,
        Self::BindingRequired,
        Self::UserDisabled,
        Self::Internal,
        Self::PopupBlocked,
        Self::Timeout,
        Self::PopupCutOff,
    ];

    /// The wire spelling (`snake_case`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidState => "invalid_state",
            Self::StateExpired => "state_expired",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::ConnectionNotEnabled => "connection_not_enabled",
            Self::UnknownPool => "unknown_pool",
            Self::UnknownApp => "unknown_app",
            Self::ProviderError => "provider_error",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::UserNotFound => "user_not_found",
            Self::BindingRequired => "binding_required",
            Self::UserDisabled => "user_disabled",
            Self::Internal => "internal",
            Self::PopupBlocked => "popup_blocked",
            Self::Timeout => "timeout",
            Self::PopupCutOff => "popup_cut_off",
        }
    }

    /// Parses the wire spelling without serde_json (the widget's path).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// A default human-readable English message for the code.
    pub const fn default_message(self) -> &'static str {
        match self {
            Self::AccessDenied => "You declined the login at Xiaomi.",
            Self::InvalidRequest => "The login request was malformed.",
            Self::InvalidState => {
                "This login link is invalid or was already used. Please start again."
            }
            Self::StateExpired => "This login took too long and expired. Please start again.",
            Self::OriginNotAllowed => "This site is not registered for this login app.",
            Self::ConnectionNotEnabled => "This login method is not enabled for this app.",
            Self::UnknownPool => "The login button names a user pool the server does not have.",
            Self::UnknownApp => "The login button names an app the user pool does not have.",
            Self::ProviderError => "Xiaomi returned an error. Please try again.",
            Self::ProviderUnavailable => "Xiaomi could not be reached. Please try again later.",
            Self::UserNotFound => "No account exists for this Xiaomi user.",
            Self::BindingRequired => "Link your Xiaomi account to an existing account first.",
            Self::UserDisabled => "This account is disabled.",
            Self::Internal => "Something went wrong on our side. Please try again.",
            Self::PopupBlocked => "The browser blocked the login window. Allow popups and retry.",
            Self::Timeout => "The login window did not answer in time.",
            Self::PopupCutOff => {
                "This page's Cross-Origin-Opener-Policy cut the login window off: register a return \
                 page (return_uris) or send `Cross-Origin-Opener-Policy: same-origin-allow-popups`."
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user part of a successful result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Our user id (the token's `sub`).
    pub id: String,
    /// Display name from Xiaomi (`miliaoNick`); attacker-controlled text, render as text.
    pub nickname: String,
    /// Avatar URL, `https:` only, or null.
    pub avatar: Option<String>,
    /// The connection's Unique ID.
    pub connection: String,
    /// True when this login created the user.
    pub new_user: bool,
}

/// The error part of a failed result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable text (English or the page's locale).
    pub message: String,
}

/// What a login produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in.
    Success {
        /// ES256 JWT, verifiable with the pool's JWKS.
        id_token: String,
        /// The user.
        user: UserInfo,
    },
    /// Not logged in.
    Failure(ErrorBody),
}

/// The message the popup posts to the opener (design.md §5).
///
/// Serializes to `{"type":"milogin:result","version":1,"attempt":…,"ok":true,"id_token":…,"user":…}`
/// or `{…,"ok":false,"error":{"code":…,"message":…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultMessage {
    /// The attempt id the widget chose.
    pub attempt: String,
    /// Success or failure.
    pub outcome: Outcome,
}

impl ResultMessage {
    /// A failure with the code's default message.
    pub fn failure(attempt: impl Into<String>, code: ErrorCode) -> Self {
        Self::failure_with(attempt, code, code.default_message())
    }

    /// A failure with a custom message.
    pub fn failure_with(
        attempt: impl Into<String>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            attempt: attempt.into(),
            outcome: Outcome::Failure(ErrorBody {
                code,
                message: message.into(),
            }),
        }
    }

    /// True for a success.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Success { .. })
    }
}

#[derive(Serialize, Deserialize)]
struct RawMessage<'a> {
    #[serde(rename = "type")]
    kind: std::borrow::Cow<'a, str>,
    version: u32,
    attempt: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    user: Option<UserInfo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    error: Option<ErrorBody>,
}

impl Serialize for ResultMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ok, id_token, user, error) = match &self.outcome {
            Outcome::Success { id_token, user } => {
                (true, Some(id_token.clone()), Some(user.clone()), None)
            }
            Outcome::Failure(e) => (false, None, None, Some(e.clone())),
        };
        RawMessage {
            kind: MESSAGE_TYPE.into(),
            version: MESSAGE_VERSION,
            attempt: self.attempt.clone(),
            ok,
            id_token,
            user,
            error,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ResultMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = RawMessage::deserialize(d)?;
        if raw.kind != MESSAGE_TYPE {
            return Err(D::Error::custom(format!("type must be {MESSAGE_TYPE:?}")));
        }
        if raw.version != MESSAGE_VERSION {
            return Err(D::Error::custom(format!(
                "unsupported version {}",
                raw.version
            )));
        }
        let outcome = match (raw.ok, raw.id_token, raw.user, raw.error) {
            (true, Some(id_token), Some(user), None) => Outcome::Success { id_token, user },
            (false, None, None, Some(error)) => Outcome::Failure(error),
            _ => {
                return Err(D::Error::custom(
                    "ok=true needs id_token and user; ok=false needs error",
                ))
            }
        };
        Ok(Self {
            attempt: raw.attempt,
            outcome,
        })
    }
}

/// A connection as the public connections list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// The Unique ID (`^[a-z0-9-]{1,31}$`).
    pub unique_id: String,
    /// The provider kind; `"xiaomi"`.
    pub kind: String,
    /// What the button shows by default.
    pub display_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserInfo {
        UserInfo {
            id: "u1".into(),
            nickname: "Ann <b>".into(),
            avatar: Some("https://cdn.example/a.jpg".into()),
            connection: "xiaomi".into(),
            new_user: true,
        }
    }

    #[test]
    fn success_serializes_to_the_exact_contract_json() {
        let m = ResultMessage {
            attempt: "a".repeat(16),
            outcome: Outcome::Success {
                id_token: "h.p.s".into(),
                user: user(),
            },
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"milogin:result","version":1,"attempt":"aaaaaaaaaaaaaaaa","ok":true,"id_token":"h.p.s","user":{"id":"u1","nickname":"Ann <b>","avatar":"https://cdn.example/a.jpg","connection":"xiaomi","new_user":true}}"#
        );
    }

    #[test]
    fn failure_serializes_to_the_exact_contract_json() {
        let m = ResultMessage::failure_with("att", ErrorCode::UserNotFound, "human readable");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"milogin:result","version":1,"attempt":"att","ok":false,"error":{"code":"user_not_found","message":"human readable"}}"#
        );
    }

    #[test]
    fn messages_round_trip() {
        for m in [
            ResultMessage {
                attempt: "x".into(),
                outcome: Outcome::Success {
                    id_token: "t".into(),
                    user: user(),
                },
            },
            ResultMessage::failure("y", ErrorCode::AccessDenied),
        ] {
            let back: ResultMessage =
                serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }

    #[test]
    fn inconsistent_or_foreign_messages_are_refused() {
        for bad in [
            r#"{"type":"other","version":1,"attempt":"a","ok":false,"error":{"code":"internal","message":"m"}}"#,
            r#"{"type":"milogin:result","version":2,"attempt":"a","ok":false,"error":{"code":"internal","message":"m"}}"#,
            r#"{"type":"milogin:result","version":1,"attempt":"a","ok":true,"error":{"code":"internal","message":"m"}}"#,
            r#"{"type":"milogin:result","version":1,"attempt":"a","ok":false}"#,
            r#"{"type":"milogin:result","version":1,"attempt":"a","ok":false,"error":{"code":"nope","message":"m"}}"#,
        ] {
            assert!(serde_json::from_str::<ResultMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_codes_parse_their_own_spelling_and_match_serde() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(ErrorCode::parse("Access_Denied"), None);
    }
}

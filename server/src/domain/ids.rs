//! The ids a login names: pools and apps (configured), connections (their Unique ID) and the
//! attempt id the widget draws. Each type's `parse` is the only check of its rule; after it the
//! value is carried typed, and the store keeps it as text (`as_str`).

use milogin_shared::{ATTEMPT_LEN, UNIQUE_ID_MAX};
use std::fmt;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Empty string.
    Empty,
    /// Longer than allowed.
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Shorter than allowed.
    TooShort {
        /// The limit.
        min: usize,
    },
    /// A character outside the allowed set.
    BadChar {
        /// The first such character.
        c: char,
        /// The set, in words.
        allowed: &'static str,
    },
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::TooLong { max } => write!(f, "is longer than {max} characters"),
            Self::TooShort { min } => write!(f, "is shorter than {min} characters"),
            Self::BadChar { c, allowed } => write!(f, "contains {c:?}; allowed are {allowed}"),
        }
    }
}

impl std::error::Error for IdError {}

/// Checks `s` against a character set (`ok`, described as `allowed`) and a length range.
fn check(
    s: &str,
    ok: fn(char) -> bool,
    allowed: &'static str,
    len: std::ops::RangeInclusive<usize>,
) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if let Some(c) = s.chars().find(|c| !ok(*c)) {
        return Err(IdError::BadChar { c, allowed });
    }
    if s.len() < *len.start() {
        return Err(IdError::TooShort { min: *len.start() });
    }
    if s.len() > *len.end() {
        return Err(IdError::TooLong { max: *len.end() });
    }
    Ok(())
}

fn lower_digit_dash(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn word_dash(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A text id with one rule: `parse` (and `TryFrom<&str>`) check it, `as_str`/`Display`/`AsRef`
/// read it. No `Default` and no public field, so every value went through `parse`. `Deref` to
/// `str` (read-only, so the rule holds) lets an id go wherever text is read: URLs, claims, logs,
/// the store's text columns.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $ok:expr, $allowed:literal, $len:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks the rule; the error says what is wrong.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check(s, $ok, $allowed, $len).map(|()| Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        /// Serialised as its text (the settings JSON, the wire).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }
    };
}

id_type!(
    /// A connection's Unique ID: 1–31 of `a-z`, `0-9`, `-` (identities bind to it).
    UniqueId,
    lower_digit_dash,
    "lowercase letters, digits and '-'",
    1..=UNIQUE_ID_MAX
);

id_type!(
    /// The attempt id the widget draws: 16–128 of `A-Z`, `a-z`, `0-9`, `-`, `_` (single use).
    AttemptId,
    word_dash,
    "A-Z, a-z, 0-9, '-' and '_'",
    ATTEMPT_LEN
);

id_type!(
    /// A pool id (in URLs and the token issuer): 1–64 of `A-Z`, `a-z`, `0-9`, `-`, `_`.
    PoolId,
    word_dash,
    "A-Z, a-z, 0-9, '-' and '_'",
    1..=64
);

id_type!(
    /// An app id (the token's `aud`): 1–64 of `A-Z`, `a-z`, `0-9`, `-`, `_`.
    AppId,
    word_dash,
    "A-Z, a-z, 0-9, '-' and '_'",
    1..=64
);

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(c: char, allowed: &'static str) -> IdError {
        IdError::BadChar { c, allowed }
    }

    #[test]
    fn unique_ids() {
        for good in ["xiaomi", "mi-2", &"a".repeat(31)] {
            assert_eq!(UniqueId::parse(good).unwrap().as_str(), good);
        }
        let set = "lowercase letters, digits and '-'";
        for (s, e) in [
            (&"a".repeat(32)[..], IdError::TooLong { max: 31 }),
            ("", IdError::Empty),
            ("Xiaomi", bad('X', set)),
            ("mi_1", bad('_', set)),
            ("mi/..", bad('/', set)),
            ("小米", bad('小', set)),
        ] {
            assert_eq!(UniqueId::parse(s), Err(e), "{s:?}");
        }
        assert_eq!(
            UniqueId::parse("Mi").unwrap_err().to_string(),
            "contains 'M'; allowed are lowercase letters, digits and '-'"
        );
    }

    #[test]
    fn attempts() {
        for good in ["abcdefghijklmnop", &"A_-9".repeat(32)] {
            assert_eq!(AttemptId::try_from(good).unwrap().to_string(), good);
        }
        let set = "A-Z, a-z, 0-9, '-' and '_'";
        for (s, e) in [
            ("short", IdError::TooShort { min: 16 }),
            (&"a".repeat(129)[..], IdError::TooLong { max: 128 }),
            ("abcdefghijklmnop=", bad('=', set)),
            ("abcdefghijklmnop ", bad(' ', set)),
            ("abcdefghijklmnopé", bad('é', set)),
            ("", IdError::Empty),
        ] {
            assert_eq!(AttemptId::parse(s), Err(e), "{s:?}");
        }
    }

    #[test]
    fn pool_and_app_ids() {
        for good in ["main", "Shop_2", "a", &"x".repeat(64), "__try__"] {
            assert!(PoolId::parse(good).is_ok(), "{good:?}");
            assert!(AppId::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", "a b", "a/b", "a.b", &"x".repeat(65), "ünï"] {
            assert!(PoolId::parse(bad).is_err(), "{bad:?}");
            assert!(AppId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(PoolId::parse("main").unwrap(), *"main");
    }
}

//! Normal forms of the contact fields a pool account and a Xiaomi profile share, and of sign-in
//! identifiers. They live below both `accounts` (which stores them) and `provider` (which reads
//! Xiaomi's), so the two compare the same strings without depending on each other.
//!
//! Normal forms (security.md T-13, X-50, X-51):
//! - email: trimmed, ASCII only, exactly one `@`, lowercased; lists (`a@x.com,b@y.com`), spaces,
//!   quotes and angle brackets are refused; empty is absent, never a value;
//! - phone: E.164 (`+` and 8–15 digits) after removing spaces, dashes and parentheses; `00` is
//!   read as `+`; an 11-digit number starting with `1` is a mainland China mobile (`+86`);
//! - username: trimmed, lowercased, `[a-z][a-z0-9._-]{0,63}` (it can never look like an email or a
//!   phone number, so a sign-in identifier is unambiguous).

/// Longest accepted email address, in bytes (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;

/// The normal form of an email address, or `None` when `s` is not exactly one plain address.
pub fn normalize_email(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t.len() > EMAIL_MAX || !t.is_ascii() {
        return None;
    }
    let (local, domain) = t.split_once('@')?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return None;
    }
    let local_ok = local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2);
    (local_ok && domain_ok).then(|| t.to_ascii_lowercase())
}

/// The E.164 form of a phone number, or `None` when `s` is not one number we can read.
pub fn normalize_phone(s: &str) -> Option<String> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let t = match t.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => t,
    };
    let digits_ok = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if let Some(d) = t.strip_prefix('+') {
        return (digits_ok(d) && (8..=15).contains(&d.len()) && !d.starts_with('0'))
            .then(|| t.clone());
    }
    (digits_ok(&t) && t.len() == 11 && t.starts_with('1')).then(|| format!("+86{t}"))
}

/// The normal form of a username, or `None` when it is not valid.
pub fn normalize_username(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_lowercase();
    let mut b = t.bytes();
    let first_ok = b.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'));
    (first_ok && rest_ok && t.len() <= 64).then_some(t)
}

/// What a sign-in identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginId {
    /// A normalised email.
    Email(String),
    /// An E.164 phone number.
    Phone(String),
    /// A normalised username.
    Username(String),
}

/// Reads a sign-in identifier: with `@` an email, starting with `+` or a digit a phone number,
/// otherwise a username. `None` when it is none of them (treated like an unknown account).
pub fn parse_login_id(s: &str) -> Option<LoginId> {
    let t = s.trim();
    if t.len() > EMAIL_MAX {
        return None;
    }
    if t.contains('@') {
        normalize_email(t).map(LoginId::Email)
    } else if t.starts_with('+') || t.starts_with(|c: char| c.is_ascii_digit()) {
        normalize_phone(t).map(LoginId::Phone)
    } else {
        normalize_username(t).map(LoginId::Username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise_and_lists_or_junk_are_refused() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            normalize_email("a.b+tag@sub.example.cn").as_deref(),
            Some("a.b+tag@sub.example.cn")
        );
        for bad in [
            "",
            "   ",
            "a@x.com,victim@y.com",
            "a@x.com;b@y.com",
            "a@x.com b@y.com",
            "a@@x.com",
            "a@b@x.com",
            "@x.com",
            "a@",
            "a@x",
            "a@x.c",
            "a@-x.com",
            ".a@x.com",
            "a..b@x.com",
            "\"a\"@x.com",
            "<a@x.com>",
            "аlice@example.com", // Cyrillic а
            "a@exam\u{0}ple.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        for (input, want) in [
            ("+8613800138000", "+8613800138000"),
            ("+86 138-0013-8000", "+8613800138000"),
            ("13800138000", "+8613800138000"),
            ("138 0013 8000", "+8613800138000"),
            ("008613800138000", "+8613800138000"),
            ("+1 (415) 555-0100", "+14155550100"),
        ] {
            assert_eq!(normalize_phone(input).as_deref(), Some(want), "{input}");
        }
        for bad in [
            "",
            "+",
            "12345",
            "23800138000",
            "+0123456789",
            "+86138001380001234",
            "13800138000,13900139000",
            "+86 138x",
            "１３８００１３８０００",
        ] {
            assert_eq!(normalize_phone(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn usernames_and_login_ids_are_unambiguous() {
        assert_eq!(normalize_username(" Alice.W ").as_deref(), Some("alice.w"));
        for bad in ["", "1abc", "+abc", "a b", "a@b", &"a".repeat(65)] {
            assert_eq!(normalize_username(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_login_id("Alice@Example.com"),
            Some(LoginId::Email("alice@example.com".into()))
        );
        assert_eq!(
            parse_login_id("138 0013 8000"),
            Some(LoginId::Phone("+8613800138000".into()))
        );
        assert_eq!(
            parse_login_id("alice"),
            Some(LoginId::Username("alice".into()))
        );
        assert_eq!(parse_login_id("a,b@x.com"), None);
    }
}

//! PKCE (RFC 7636) with `S256` only. A challenge is `BASE64URL(SHA-256(verifier))` without padding:
//! exactly 43 characters. `plain` is refused (it protects nothing once the authorization request
//! leaks, and accepting it lets an attacker downgrade a client that asked for `S256`), and so is a
//! challenge without a method, which RFC 7636 §4.3 reads as `plain`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A code challenge as sent with `code_challenge_method=S256`: 43 base64url characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge(String);

/// Why the PKCE parameters of an authorization request were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// `code_challenge_method=plain`.
    #[error("code_challenge_method=plain is refused; send code_challenge_method=S256 with code_challenge=BASE64URL(SHA-256(code_verifier))")]
    Plain,
    /// A method other than `S256` and `plain`.
    #[error("code_challenge_method must be S256")]
    UnknownMethod,
    /// A challenge without a method (RFC 7636 would read it as `plain`).
    #[error("code_challenge needs code_challenge_method=S256 (without it the method is plain, which is refused)")]
    NoMethod,
    /// A method without a challenge.
    #[error("code_challenge_method was sent without code_challenge")]
    NoChallenge,
    /// Not 43 base64url characters.
    #[error("code_challenge must be 43 base64url characters: BASE64URL(SHA-256(code_verifier)) without padding")]
    Malformed,
}

impl Challenge {
    /// Reads `code_challenge` and `code_challenge_method` of an authorization request: `None`
    /// when neither is sent.
    pub fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Self>, PkceError> {
        match (challenge, method) {
            (None, None) => Ok(None),
            (_, Some("plain")) => Err(PkceError::Plain),
            (_, Some(m)) if m != "S256" => Err(PkceError::UnknownMethod),
            (None, Some(_)) => Err(PkceError::NoChallenge),
            (Some(_), None) => Err(PkceError::NoMethod),
            (Some(c), Some(_)) => Self::parse(c).map(Some),
        }
    }

    /// A stored challenge (or one read from a request).
    pub fn parse(c: &str) -> Result<Self, PkceError> {
        let ok = c.len() == 43
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(c.to_owned()))
        } else {
            Err(PkceError::Malformed)
        }
    }

    /// The challenge of a verifier (what a client computes).
    pub fn of(verifier: &str) -> Self {
        Self(B64.encode(Sha256::digest(verifier.as_bytes())))
    }

    /// The challenge as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `verifier` is well formed (43–128 characters of `[A-Za-z0-9-._~]`, RFC 7636
    /// §4.1) and hashes to this challenge (compared in constant time).
    pub fn verifies(&self, verifier: &str) -> bool {
        well_formed_verifier(verifier) && crate::crypto::ct_eq(Self::of(verifier).as_str(), &self.0)
    }
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
pub fn well_formed_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert_eq!(Challenge::of(VERIFIER).as_str(), CHALLENGE);
        let c = Challenge::from_request(Some(CHALLENGE), Some("S256"))
            .unwrap()
            .unwrap();
        assert!(c.verifies(VERIFIER));
    }

    #[test]
    fn a_wrong_or_malformed_verifier_does_not_verify() {
        let c = Challenge::parse(CHALLENGE).unwrap();
        let mut wrong = VERIFIER.to_owned();
        wrong.replace_range(0..1, "e");
        assert!(!c.verifies(&wrong));
        assert!(
            !c.verifies(CHALLENGE),
            "the challenge is not its own verifier"
        );
        // Short, or with a character outside the unreserved set, even when it hashes right.
        let short = "a".repeat(42);
        assert!(!Challenge::of(&short).verifies(&short));
        let odd = format!("{}+", "a".repeat(43));
        assert!(!Challenge::of(&odd).verifies(&odd));
        let longest = "~".repeat(128);
        assert!(Challenge::of(&longest).verifies(&longest));
        assert!(!Challenge::of(&"~".repeat(129)).verifies(&"~".repeat(129)));
    }

    #[test]
    fn plain_a_missing_method_and_odd_challenges_are_refused() {
        assert_eq!(Challenge::from_request(None, None), Ok(None));
        assert_eq!(
            Challenge::from_request(Some(VERIFIER), Some("plain")),
            Err(PkceError::Plain)
        );
        assert_eq!(
            Challenge::from_request(Some(CHALLENGE), None),
            Err(PkceError::NoMethod)
        );
        assert_eq!(
            Challenge::from_request(None, Some("S256")),
            Err(PkceError::NoChallenge)
        );
        assert_eq!(
            Challenge::from_request(Some(CHALLENGE), Some("s256")),
            Err(PkceError::UnknownMethod)
        );
        for bad in [
            &CHALLENGE[1..],
            &format!("{CHALLENGE}A"),
            &CHALLENGE.replace('-', "+"),
        ] {
            assert_eq!(
                Challenge::from_request(Some(bad), Some("S256")),
                Err(PkceError::Malformed),
                "{bad}"
            );
        }
    }
}

//! The few primitives the login needs, from standard crates: random tokens from the OS CSPRNG,
//! SHA-256 in hex (what the database keeps instead of a secret), and constant-time comparison
//! (`subtle`) for secrets presented by a browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 bytes from the OS CSPRNG, base64url (256 bits).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    B64.encode(b)
}

/// SHA-256, lowercase hex.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Constant-time comparison (the time depends on the lengths only, never on the contents).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_256_bit_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        let set: std::collections::HashSet<String> = (0..10_000).map(|_| random_token()).collect();
        assert_eq!(set.len(), 10_000);
    }

    #[test]
    fn sha256_is_lowercase_hex_and_ct_eq_compares() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}

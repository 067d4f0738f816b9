//! The few primitives the login needs, from standard crates: random tokens from the OS CSPRNG,
//! SHA-256 in hex (what the database keeps instead of a secret), constant-time comparison
//! (`subtle`) for secrets presented by a browser, and the key-encryption key that wraps the
//! signing keys at rest ([`Kek`], AES-256-GCM from `ring`).

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

/// What a redacting `Debug` prints in place of a secret: `[REDACTED]`.
pub struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// A `Debug` that prints [`Redacted`] for secrets, the one way this crate writes one.
/// `redacting_debug!(Name { shown, … } redacts { secret, … })` names every field: one left out
/// of both lists is a compile error, so a new field cannot slip into the logs unseen.
/// `redacting_debug!(Name(..))` is a tuple struct whose one field is the secret.
/// `tests/process/redaction.rs` checks every type that uses it.
macro_rules! redacting_debug {
    ($ty:ident { $($shown:ident),* $(,)? } redacts { $($hidden:ident),* $(,)? }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let Self { $($shown,)* $($hidden: _,)* } = self;
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), $shown))*
                    $(.field(stringify!($hidden), &$crate::crypto::Redacted))*
                    .finish()
            }
        }
    };
    ($ty:ident(..)) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($ty))
                    .field(&$crate::crypto::Redacted)
                    .finish()
            }
        }
    };
}
pub(crate) use redacting_debug;

/// What a wrapped value starts with (the format's version: a later one gets a new prefix).
const WRAPPED_PREFIX: &str = "milogin-kek-v1:";

/// A key-encryption key (`server.key_encryption_key`): 32 bytes for AES-256-GCM. Wraps a value
/// as `milogin-kek-v1:` + base64(nonce ‖ ciphertext ‖ tag) with a random 96-bit nonce; the
/// caller's `aad` (e.g. the key id) binds the ciphertext to its row, so a wrapped value moved to
/// another row does not open. `Debug` redacts.
#[derive(Clone)]
pub struct Kek(std::sync::Arc<ring::aead::LessSafeKey>);

redacting_debug!(Kek(..));

/// Why a wrapped value did not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    /// Not in the wrapped format.
    #[error("not a wrapped value")]
    Format,
    /// Another key wrapped it, or it was altered.
    #[error(
        "it does not open with this key-encryption key (another key wrapped it, or it was altered)"
    )]
    WrongKey,
}

impl Kek {
    /// From its text form: 32 bytes in standard base64 (44 characters), surrounding whitespace
    /// ignored. The error says how to make one.
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or("must be 32 random bytes in base64 (44 characters); make one with `head -c 32 /dev/urandom | base64`")?;
        let key = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &bytes)
            .map_err(|_| "AES-256-GCM refused the key")?;
        Ok(Self(std::sync::Arc::new(ring::aead::LessSafeKey::new(key))))
    }

    /// True when `s` is in the wrapped format.
    pub fn is_wrapped(s: &str) -> bool {
        s.starts_with(WRAPPED_PREFIX)
    }

    /// `plain` sealed under this key, bound to `aad`.
    pub fn wrap(&self, plain: &[u8], aad: &str) -> String {
        let mut nonce = [0u8; ring::aead::NONCE_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let mut data = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad.as_bytes()),
                &mut data,
            )
            .expect("AES-GCM seals any input of this size");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!(
            "{WRAPPED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// The plaintext of a value [`Kek::wrap`] made with this key and `aad`.
    pub fn unwrap(&self, wrapped: &str, aad: &str) -> Result<Vec<u8>, UnwrapError> {
        let b64 = wrapped
            .strip_prefix(WRAPPED_PREFIX)
            .ok_or(UnwrapError::Format)?;
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| UnwrapError::Format)?;
        if data.len() < ring::aead::NONCE_LEN {
            return Err(UnwrapError::Format);
        }
        let mut nonce = [0u8; ring::aead::NONCE_LEN];
        nonce.copy_from_slice(&data[..ring::aead::NONCE_LEN]);
        let sealed = &mut data[ring::aead::NONCE_LEN..];
        let plain = self
            .0
            .open_in_place(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad.as_bytes()),
                sealed,
            )
            .map_err(|_| UnwrapError::WrongKey)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_value_opens_only_with_its_key_and_its_aad() {
        use base64::engine::general_purpose::STANDARD;
        let k = Kek::from_base64(&STANDARD.encode([1u8; 32])).unwrap();
        let other = Kek::from_base64(&STANDARD.encode([2u8; 32])).unwrap();
        let w = k.wrap(b"secret pem", "kid-1");
        assert!(Kek::is_wrapped(&w) && !w.contains("secret"));
        assert_ne!(w, k.wrap(b"secret pem", "kid-1"), "a fresh nonce each time");
        assert_eq!(k.unwrap(&w, "kid-1").unwrap(), b"secret pem");
        assert_eq!(k.unwrap(&w, "kid-2"), Err(UnwrapError::WrongKey));
        assert_eq!(other.unwrap(&w, "kid-1"), Err(UnwrapError::WrongKey));
        let mut tampered = w.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(k.unwrap(&tampered, "kid-1"), Err(UnwrapError::WrongKey));
        assert_eq!(k.unwrap("-----BEGIN", "kid-1"), Err(UnwrapError::Format));
        for bad in ["", "short", &STANDARD.encode([1u8; 16])] {
            assert!(Kek::from_base64(bad)
                .unwrap_err()
                .contains("32 random bytes"));
        }
        assert_eq!(format!("{k:?}"), "Kek([REDACTED])");
    }

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

//! One ES256 signing key ([`PoolKey`]): the id_token it signs (a compact JWS with `kid`), the
//! verification of such a token for `/userinfo`, and the key's JWK. Which keys a pool has, which
//! one signs and which are published is `crate::keys` (rotation).
//!
//! Keys are parsed, stored (PKCS#8 PEM) and published with the `p256` crate; the signing itself
//! runs on `ring` (the same library `jsonwebtoken` verifies with): a P-256 signature costs about
//! 25 µs there against about 230 µs in pure-Rust `p256`, the largest single cost of a login
//! (docs/performance.md).

use crate::store::StoredKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The claims of an id_token (design.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `{public_url}/pools/{pool}`.
    pub iss: String,
    /// Our user id.
    pub sub: String,
    /// The app id.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// The widget's attempt id.
    pub nonce: String,
    /// Display name.
    pub name: String,
    /// Avatar URL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub picture: Option<String>,
    /// The connection that authenticated the user.
    pub idp: String,
}

/// A pool's key pair.
pub struct PoolKey {
    kid: String,
    signing: SigningKey,
    /// The same key, for signing (`ring`).
    fast: ring::signature::EcdsaKeyPair,
    /// The JWS header `{"alg":"ES256","typ":"JWT","kid":…}`, base64url: the same for every token.
    header: String,
    jwk: Value,
}

/// Why a token was refused by [`PoolKey::verify`] (and `crate::keys::Keys::verify`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Not a well-formed ES256 JWS of ours.
    #[error("malformed token")]
    Malformed,
    /// Signature, key id, issuer or pool do not match.
    #[error("invalid signature or issuer")]
    Invalid,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
}

impl PoolKey {
    fn from_signing(signing: SigningKey) -> Self {
        let point = signing.verifying_key().to_encoded_point(false);
        let x = B64.encode(point.x().expect("uncompressed point"));
        let y = B64.encode(point.y().expect("uncompressed point"));
        // RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = B64.encode(Sha256::digest(thumb.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"});
        let fast = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &signing.to_bytes(),
            point.as_bytes(),
            &ring::rand::SystemRandom::new(),
        )
        .expect("a valid P-256 key is accepted by ring");
        let header = B64.encode(json!({"alg": "ES256", "typ": "JWT", "kid": kid}).to_string());
        Self {
            kid,
            signing,
            fast,
            header,
            jwk,
        }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::random(&mut rand_core::OsRng))
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Serialised for the store, as key number `seq` of its pool, signing from `activates_at`.
    pub fn to_stored(&self, seq: i64, created_at: i64, activates_at: i64) -> StoredKey {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encodable key");
        StoredKey {
            kid: self.kid.clone(),
            private_pem: pem.to_string(),
            seq,
            created_at,
            activates_at,
        }
    }

    /// Parses a stored key.
    pub fn from_stored(k: &StoredKey) -> Result<Self, String> {
        let signing = SigningKey::from_pkcs8_pem(&k.private_pem)
            .map_err(|e| format!("stored signing key unreadable: {e}"))?;
        Ok(Self::from_signing(signing))
    }

    /// Signs claims into a compact JWS.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialise");
        let mut jws = String::with_capacity(self.header.len() + payload.len() * 4 / 3 + 100);
        jws.push_str(&self.header);
        jws.push('.');
        B64.encode_string(payload, &mut jws);
        // Fixed-size `r ‖ s`, as JWS ES256 requires (RFC 7518 §3.4).
        let sig = self
            .fast
            .sign(&ring::rand::SystemRandom::new(), jws.as_bytes())
            .expect("P-256 signing does not fail");
        jws.push('.');
        B64.encode_string(sig.as_ref(), &mut jws);
        jws
    }

    fn verifying(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }
}

/// The `kid` of a token's header, which must say `alg` ES256.
pub fn header_kid(token: &str) -> Result<String, VerifyError> {
    let h = token.split('.').next().unwrap_or_default();
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(VerifyError::Malformed)?;
    if header.get("alg") != Some(&json!("ES256")) {
        return Err(VerifyError::Invalid);
    }
    match header.get("kid") {
        Some(Value::String(kid)) => Ok(kid.clone()),
        _ => Err(VerifyError::Invalid),
    }
}

impl PoolKey {
    /// Verifies a token signed by this key: header `kid`, signature, `iss`, `exp`.
    pub fn verify(&self, issuer: &str, token: &str, now: i64) -> Result<Claims, VerifyError> {
        let mut parts = token.split('.');
        let (h, p, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(p), Some(s), None) => (h, p, s),
            _ => return Err(VerifyError::Malformed),
        };
        if header_kid(token)? != self.kid {
            return Err(VerifyError::Invalid);
        }
        let sig = B64
            .decode(s)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or(VerifyError::Malformed)?;
        self.verifying()
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| VerifyError::Invalid)?;
        let claims: Claims = B64
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(VerifyError::Malformed)?;
        if claims.iss != issuer {
            return Err(VerifyError::Invalid);
        }
        if claims.exp <= now {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }

    /// The public key as a JWK (`kid`, `use` = sig, `alg` = ES256).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "https://l.example/pools/p".into(),
            sub: "u1".into(),
            aud: "app".into(),
            exp,
            iat: 1,
            nonce: "n".into(),
            name: "Ann".into(),
            picture: None,
            idp: "xiaomi".into(),
        }
    }

    #[test]
    fn a_standard_jwt_library_verifies_our_token_with_our_jwk() {
        let k = PoolKey::generate();
        let token = k.sign(&claims(4_000_000_000));
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.jwk().clone()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), jwk.common.key_id.as_deref());
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_audience(&["app"]);
        v.set_issuer(&["https://l.example/pools/p"]);
        let data = jsonwebtoken::decode::<Claims>(
            &token,
            &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
            &v,
        )
        .unwrap();
        assert_eq!(data.claims.sub, "u1");
    }

    #[test]
    fn verify_refuses_tampering_other_keys_and_expiry() {
        let k = PoolKey::generate();
        let good = k.sign(&claims(100));
        let other = PoolKey::generate().sign(&claims(100));
        let iss = "https://l.example/pools/p";
        assert!(k.verify(iss, &good, 50).is_ok());
        assert_eq!(k.verify(iss, &good, 100), Err(VerifyError::Expired));
        assert_eq!(
            k.verify("https://other/pools/p", &good, 50),
            Err(VerifyError::Invalid)
        );
        assert_eq!(k.verify(iss, &other, 50), Err(VerifyError::Invalid));
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[1] = B64.encode(
            serde_json::to_vec(&Claims {
                sub: "admin".into(),
                ..claims(100)
            })
            .unwrap(),
        );
        assert_eq!(
            k.verify(iss, &parts.join("."), 50),
            Err(VerifyError::Invalid)
        );
        assert_eq!(k.verify(iss, "a.b", 50), Err(VerifyError::Malformed));
        assert_eq!(header_kid(&good).unwrap(), k.kid());
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none","kid":"x"}"#),
            parts[1]
        );
        assert_eq!(header_kid(&none), Err(VerifyError::Invalid));
    }

    #[test]
    fn stored_keys_round_trip_with_the_same_kid() {
        let k = PoolKey::generate();
        let stored = k.to_stored(1, 10, 10);
        let back = PoolKey::from_stored(&stored).unwrap();
        assert_eq!(back.kid(), k.kid());
        assert!(!format!("{stored:?}").contains("PRIVATE KEY"));
        assert!(PoolKey::from_stored(&StoredKey {
            private_pem: "junk".into(),
            ..stored
        })
        .is_err());
    }
}

//! One ES256 signing key ([`PoolKey`]): the id_token it signs (a compact JWS with `kid`), the
//! verification of such a token for `/userinfo`, and the key's JWK. Which keys a pool has, which
//! one signs and which are published is `crate::keys` (rotation).
//!
//! One crypto stack, `ring` (the library `jsonwebtoken` verifies with): it generates the key
//! (PKCS#8, stored as PEM), gives the public point for the JWK, signs (about 25 µs a P-256
//! signature against about 230 µs in pure-Rust `p256`, the largest single cost of a login;
//! docs/performance.md) and verifies. Keys stored by the earlier `p256` code are the same PKCS#8
//! form and load unchanged (a fixture test proves it).

use crate::store::StoredKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
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
    /// The widget's attempt id, or an OpenID Connect client's `nonce` (omitted when empty: a
    /// client that sent none, and access tokens).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub nonce: String,
    /// Display name.
    pub name: String,
    /// Avatar URL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub picture: Option<String>,
    /// The connection that authenticated the user.
    pub idp: String,
    /// What OpenID Connect's code flow adds (all absent from the widget's tokens).
    #[serde(flatten)]
    pub oidc: OidcClaims,
}

/// The claims of the code flow's tokens (`login::code::exchange`): none is set on the widget's id_token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcClaims {
    /// When the person logged in, Unix seconds (id_token).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub azp: Option<String>,
    /// The scopes granted (access token).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// `"access"` on an access token (its `aud` is the pool's userinfo endpoint, so no client
    /// takes it for an id_token).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_use: Option<String>,
}

impl Claims {
    /// An access token's claims (`token_use` = `access`), not an id_token's.
    pub fn is_access(&self) -> bool {
        self.oidc.token_use.as_deref() == Some("access")
    }
}

/// A pool's key pair.
pub struct PoolKey {
    kid: String,
    /// The key pair (signs; its public point verifies and is published).
    pair: EcdsaKeyPair,
    /// The PKCS#8 document the pair was read from (what the store keeps, as PEM).
    pkcs8: Vec<u8>,
    /// The JWS header `{"alg":"ES256","typ":"JWT","kid":…}`, base64url: the same for every
    /// id_token.
    header: String,
    /// The access tokens' header: `typ` `at+jwt` (RFC 9068 §2.1), so neither kind of token reads
    /// as the other even before its claims are looked at.
    access_header: String,
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

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

impl PoolKey {
    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Self, String> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| format!("stored signing key unreadable: {e}"))?;
        // Uncompressed SEC1 point: 0x04 ‖ x ‖ y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let x = B64.encode(&point[1..33]);
        let y = B64.encode(&point[33..65]);
        // RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = B64.encode(Sha256::digest(thumb.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"});
        let header =
            |typ: &str| B64.encode(json!({"alg": "ES256", "typ": typ, "kid": kid}).to_string());
        Ok(Self {
            header: header(JWT),
            access_header: header(ACCESS_JWT),
            kid,
            pair,
            pkcs8,
            jwk,
        })
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("the OS random source works");
        Self::from_pkcs8(doc.as_ref().to_vec()).expect("ring reads the PKCS#8 it wrote")
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Serialised for the store, as key number `seq` of its pool, signing from `activates_at`.
    pub fn to_stored(&self, seq: i64, created_at: i64, activates_at: i64) -> StoredKey {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.pkcs8);
        let mut pem = String::from(PEM_BEGIN);
        for line in b64.as_bytes().chunks(64) {
            pem.push('\n');
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        }
        pem.push('\n');
        pem.push_str(PEM_END);
        pem.push('\n');
        StoredKey {
            kid: self.kid.clone(),
            private_pem: pem,
            seq,
            created_at,
            activates_at,
        }
    }

    /// Parses a stored key (PKCS#8 PEM).
    pub fn from_stored(k: &StoredKey) -> Result<Self, String> {
        let body = k
            .private_pem
            .trim()
            .strip_prefix(PEM_BEGIN)
            .and_then(|r| r.strip_suffix(PEM_END))
            .ok_or("stored signing key unreadable: not a PKCS#8 PEM")?;
        let b64: String = body.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("stored signing key unreadable: {e}"))?;
        Self::from_pkcs8(der)
    }

    /// Signs claims into a compact JWS: `typ` `at+jwt` for an access token (`token_use` =
    /// `access`), `JWT` for an id_token.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialise");
        let header = match claims.is_access() {
            true => &self.access_header,
            false => &self.header,
        };
        let mut jws = String::with_capacity(header.len() + payload.len() * 4 / 3 + 100);
        jws.push_str(header);
        jws.push('.');
        B64.encode_string(payload, &mut jws);
        // Fixed-size `r ‖ s`, as JWS ES256 requires (RFC 7518 §3.4).
        let sig = self
            .pair
            .sign(&SystemRandom::new(), jws.as_bytes())
            .expect("P-256 signing does not fail");
        jws.push('.');
        B64.encode_string(sig.as_ref(), &mut jws);
        jws
    }
}

/// `typ` of an id_token.
const JWT: &str = "JWT";
/// `typ` of an access token (RFC 9068 §2.1).
const ACCESS_JWT: &str = "at+jwt";

/// A token's header: which must say `alg` ES256.
fn header_of(token: &str) -> Result<Value, VerifyError> {
    let h = token.split('.').next().unwrap_or_default();
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(VerifyError::Malformed)?;
    if header.get("alg") != Some(&json!("ES256")) {
        return Err(VerifyError::Invalid);
    }
    Ok(header)
}

/// The `kid` of a token's header, which must say `alg` ES256.
pub fn header_kid(token: &str) -> Result<String, VerifyError> {
    match header_of(token)?.get("kid") {
        Some(Value::String(kid)) => Ok(kid.clone()),
        _ => Err(VerifyError::Invalid),
    }
}

impl PoolKey {
    /// Verifies a token signed by this key: header `kid`, signature, `iss`, `exp`, and that the
    /// header's `typ` is the claims' kind (`at+jwt` for an access token, `JWT` otherwise).
    pub fn verify(&self, issuer: &str, token: &str, now: i64) -> Result<Claims, VerifyError> {
        let mut parts = token.split('.');
        let (h, p, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(p), Some(s), None) => (h, p, s),
            _ => return Err(VerifyError::Malformed),
        };
        if header_kid(token)? != self.kid {
            return Err(VerifyError::Invalid);
        }
        // ES256 signatures are fixed-size `r ‖ s` (RFC 7518 §3.4).
        let sig = B64
            .decode(s)
            .ok()
            .filter(|b| b.len() == 64)
            .ok_or(VerifyError::Malformed)?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.pair.public_key().as_ref())
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
        let typ = match claims.is_access() {
            true => ACCESS_JWT,
            false => JWT,
        };
        if header_of(token)?.get("typ") != Some(&json!(typ)) {
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
            oidc: Default::default(),
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
    fn an_access_token_says_at_jwt_and_neither_kind_passes_for_the_other() {
        let k = PoolKey::generate();
        let iss = "https://l.example/pools/p";
        let mut access = claims(100);
        access.oidc.token_use = Some("access".into());
        let typ = |t: &str| header_of(t).unwrap()["typ"].clone();
        assert_eq!(typ(&k.sign(&access)), json!("at+jwt"));
        assert_eq!(typ(&k.sign(&claims(100))), json!("JWT"));
        assert!(k.verify(iss, &k.sign(&access), 50).unwrap().is_access());
        // Validly signed, but with the other kind's header: refused.
        let signed_with = |header: &str, c: &Claims| {
            let jws = format!("{header}.{}", B64.encode(serde_json::to_vec(c).unwrap()));
            let sig = k.pair.sign(&SystemRandom::new(), jws.as_bytes()).unwrap();
            format!("{jws}.{}", B64.encode(sig.as_ref()))
        };
        for token in [
            signed_with(&k.header, &access),
            signed_with(&k.access_header, &claims(100)),
        ] {
            assert_eq!(k.verify(iss, &token, 50), Err(VerifyError::Invalid));
        }
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

    /// A key and token made by the earlier `p256` code: databases written before the switch to
    /// `ring` keep their keys, their kids and their tokens.
    #[test]
    fn a_key_stored_by_the_p256_code_loads_with_its_kid_and_verifies_its_token() {
        let pem = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4oBCKKwonssIovS6
K4ZMbeFIBy0sykYNuerFzWjclCShRANCAAS6p/LqLeHg/ChU3DLC46CiFZmetIVa
d6pYi23cO9HuJbbljZHGB+rPPHW8LYfbn1rm16hVqVRQMmHYg2gx0I9W
-----END PRIVATE KEY-----
";
        let kid = "asY5SM9SIUgVNRoXZ9FlnshYMDi95g-HQBmf1nme4_4";
        let token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImFzWTVTTTlTSVVnVk5Sb1haOUZsbnNoWU1EaTk1Zy1IUUJtZjFubWU0XzQiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJpIiwic3ViIjoicyIsImF1ZCI6ImEiLCJleHAiOjQwMDAwMDAwMDAsImlhdCI6MSwibm9uY2UiOiJuIiwibmFtZSI6IngiLCJpZHAiOiJjIn0.g_b0O7CQSZGg9pmx8tARoZ6HLElFrtlZhW7TGYYSA8kFJ8ZDjj1fHs3kYliOvbRKVxkgTx_Dq_t4G7n-YW9A-A";
        let stored = StoredKey {
            kid: kid.into(),
            private_pem: pem.into(),
            seq: 1,
            created_at: 0,
            activates_at: 0,
        };
        let k = PoolKey::from_stored(&stored).unwrap();
        assert_eq!(k.kid(), kid);
        assert_eq!(k.verify("i", token, 1).unwrap().sub, "s");
        // And it round-trips through our own PEM writer.
        assert_eq!(
            PoolKey::from_stored(&k.to_stored(1, 0, 0)).unwrap().kid(),
            kid
        );
    }
}

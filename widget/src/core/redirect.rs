//! PURE: the small codecs of redirect mode and attempt ids — base64url both ways, and the record
//! a tab keeps in `sessionStorage` while it is away at the authorize URL. Tested natively.
//!
//! Hand-written rather than the `base64` crate: these two loops are a few hundred bytes of wasm,
//! the crate's engine several KB (the widget has a 35 KiB brotli budget, docs/widget-size.md).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5), as attempt ids and JWT parts use it.
pub fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// What a tab remembers while it is away in redirect mode: only a result for `attempt` is taken
/// when it comes back, and it goes to the button with `element_id`, else the first with the same
/// `pool`, `app` and `connection` (an empty one matches any).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pending {
    /// The attempt id the tab left with.
    pub attempt: String,
    /// The `id` of the button that started it (may be empty).
    pub element_id: String,
    /// `[pool, app, connection]` of that button (`loginPage()` leaves the connection empty).
    pub keys: [String; 3],
    /// The PKCE verifier of the attempt: only this tab can redeem the code that comes back.
    pub verifier: String,
}

impl Pending {
    /// One line per field. None of them holds a newline: attempt ids are base64url, and the rest
    /// are configuration ids (the server's `domain::ids`: letters, digits, `-`, `_`) or an
    /// element id, where a newline would only make the record unreadable, never another
    /// attempt's.
    pub fn encode(&self) -> String {
        let [pool, app, connection] = &self.keys;
        [
            &self.attempt,
            &self.element_id,
            pool,
            app,
            connection,
            &self.verifier,
        ]
        .map(String::as_str)
        .join("\n")
    }

    /// The record [`Pending::encode`] wrote; `None` for anything else (an older loader's record
    /// included: its login is then not taken back, as for any unknown attempt).
    pub fn decode(text: &str) -> Option<Self> {
        let mut it = text.split('\n').map(String::from);
        let mut next = || it.next();
        let p = Self {
            attempt: next()?,
            element_id: next()?,
            keys: [next()?, next()?, next()?],
            verifier: next()?,
        };
        (next().is_none() && !p.attempt.is_empty()).then_some(p)
    }

    /// Whether a button with these attributes may take the result (when none has the id).
    pub fn matches(&self, attrs: [Option<String>; 3]) -> bool {
        self.keys
            .iter()
            .zip(attrs)
            .all(|(k, a)| k.is_empty() || a.as_deref() == Some(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_like_the_rfc() {
        // RFC 4648 §10 vectors, unpadded and URL-safe.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64url(plain.as_bytes()), encoded);
        }
        assert_eq!(b64url(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(
            b64url(&[7; 24]).len(),
            32,
            "an attempt id: 24 bytes, 32 characters"
        );
    }

    #[test]
    fn pending_round_trips_and_matches() {
        let p = Pending {
            attempt: "abc".into(),
            element_id: "b1".into(),
            keys: ["pool-a".into(), "app-a".into(), String::new()],
            verifier: "v".into(),
        };
        assert_eq!(Pending::decode(&p.encode()), Some(p.clone()));
        let attrs = |c: &str| [Some("pool-a".into()), Some("app-a".into()), Some(c.into())];
        assert!(
            p.matches(attrs("xiaomi")),
            "an empty connection matches any"
        );
        assert!(!p.matches([Some("pool-b".into()), Some("app-a".into()), None]));
        assert!(!p.matches([None, Some("app-a".into()), None]));
        for bad in [
            "",
            "\n\n\n\n",
            "a\nb\nc\nd",
            "a\nb\nc\nd\ne",
            "a\nb\nc\nd\ne\nf\ng",
            r#"{"a":"x"}"#,
        ] {
            assert_eq!(Pending::decode(bad), None, "{bad:?}");
        }
    }
}

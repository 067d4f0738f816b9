//! A web origin in its normal form, `scheme://host[:port]`: what the configuration registers, what
//! the authorize request names, what an attempt records and what the result page posts to. Parsed
//! once (config load, the HTTP edge); compared exactly after that.

use std::fmt;
use url::Url;

/// A normalised `http(s)` origin (default port dropped, host lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Parses and normalises an origin. Refuses paths, queries, fragments, credentials,
    /// non-http(s) schemes and odd hosts; the message says what is wrong.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty()
            || s.len() > 512
            || s.bytes()
                .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b == b'%')
        {
            return Err("is not an origin: write scheme://host[:port]");
        }
        let u = Url::parse(s).map_err(|_| "is not an origin: write scheme://host[:port]")?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err("must use http or https");
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("must not contain credentials");
        }
        if u.path() != "/"
            || u.query().is_some()
            || u.fragment().is_some()
            || s.ends_with('/')
            || s.contains('?')
            || s.contains('#')
        {
            return Err("must be an origin only (no path, query or fragment)");
        }
        match u.host_str() {
            Some(h) if !h.is_empty() && !h.ends_with('.') => {}
            _ => return Err("has no valid host"),
        }
        Ok(Self(u.origin().ascii_serialization()))
    }

    /// The origin of an absolute http(s) URL (a redirect or return URI), if it has one.
    pub fn of_url(uri: &str) -> Option<Self> {
        let u = Url::parse(uri).ok()?;
        let o = u.origin();
        (o.is_tuple() && matches!(u.scheme(), "http" | "https"))
            .then(|| Self(o.ascii_serialization()))
    }

    /// The normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Origin {
    type Error = &'static str;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl AsRef<str> for Origin {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalise_and_refuse_spoofs() {
        for (raw, normal) in [
            ("HTTPS://Shop.Example.COM", "https://shop.example.com"),
            ("https://shop.example.com:443", "https://shop.example.com"),
            ("http://shop.example.com:80", "http://shop.example.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("https://[::1]:8443", "https://[::1]:8443"),
        ] {
            let o = Origin::parse(raw).unwrap();
            assert_eq!(o.as_str(), normal);
            assert_eq!(Origin::parse(o.as_str()), Ok(o.clone()), "idempotent");
            assert_eq!(Origin::try_from(raw).unwrap().to_string(), normal);
        }
        for bad in [
            "https://shop.example.com/",
            "https://shop.example.com/x",
            "https://user@shop.example.com",
            "https://shop.example.com#x",
            "https://shop.example.com?x",
            "https://shop.example.com.",
            "null",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://shop.example.com%00.evil",
            "https://shop.example.com\t",
            "",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Origin::parse("ftp://x.example").unwrap_err(),
            "must use http or https"
        );
    }

    #[test]
    fn the_origin_of_a_url_is_its_normal_form() {
        assert_eq!(
            Origin::of_url("https://Shop.example.com:443/back?x#y").map(|o| o.to_string()),
            Some("https://shop.example.com".into())
        );
        assert_eq!(Origin::of_url("not a url"), None);
        assert_eq!(Origin::of_url("data:text/html,x"), None);
    }
}

//! A query string or form body as a map of parameters: each name at most once (RFC 6749 §3.1), each
//! value at most [`MAX_VALUE`] bytes. Empty values count as absent (RFC 6749 §3.1: "parameters
//! sent without a value MUST be treated as if they were omitted").
//!
//! Why not `crate::http::params`'s serde read: OAuth needs what a refused request *did* say
//! (RFC 6749 §4.1.2.1 sends most errors back to its `redirect_uri`, with its `state`), so a
//! parse error must come with the parameters read anyway ([`Params::parse`]'s `Err` carries
//! them); serde stops at the first fault and keeps nothing. The widget's routes have no such rule.

use std::collections::BTreeMap;

/// The longest value we read (a redirect URI, a state, a nonce): 8 KiB, as the callback's whole
/// query. `redirect_uris` has no length limit in the configuration, so a cap below the longest
/// registered URI would refuse a client that `milogin check` accepts.
pub const MAX_VALUE: usize = 8192;

/// At most this many parameters.
pub const MAX_PARAMS: usize = 32;

/// Why a parameter list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A name appeared twice.
    #[error("the parameter {0} is repeated; send it once")]
    Repeated(String),
    /// A value is too long.
    #[error("the parameter {0} is longer than {MAX_VALUE} bytes")]
    TooLong(String),
    /// Too many parameters.
    #[error("more than {MAX_PARAMS} parameters")]
    TooMany,
}

impl ParamsError {
    /// The parameter it is about, if one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Repeated(n) | Self::TooLong(n) => Some(n),
            Self::TooMany => None,
        }
    }
}

/// Parameters by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Reads `application/x-www-form-urlencoded` text (a query without its `?`, or a form body).
    /// Every problem is collected and the first one is returned, except that the caller may ask
    /// [`Params::lenient`] for what was read anyway (to find the redirect URI of a bad request).
    pub fn parse(text: &str) -> Result<Self, (ParamsError, Self)> {
        let mut map = BTreeMap::new();
        let mut first: Option<ParamsError> = None;
        for (i, (k, v)) in form_urlencoded::parse(text.as_bytes()).enumerate() {
            if i >= MAX_PARAMS {
                first.get_or_insert(ParamsError::TooMany);
                break;
            }
            if v.len() > MAX_VALUE {
                first.get_or_insert(ParamsError::TooLong(k.clone().into_owned()));
                continue;
            }
            if v.is_empty() {
                continue;
            }
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                first.get_or_insert(ParamsError::Repeated(k.into_owned()));
            }
        }
        match first {
            None => Ok(Self(map)),
            Some(e) => Err((e, Self(map))),
        }
    }

    /// A parameter's value, when sent with one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_empty_ones_are_absent() {
        let p = Params::parse("a=x%20y&b=&c=%2F").unwrap();
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("/"));
    }

    #[test]
    fn a_repeated_parameter_is_refused_and_named() {
        let (e, p) = Params::parse("client_id=a&state=1&state=2").unwrap_err();
        assert_eq!(e, ParamsError::Repeated("state".into()));
        assert_eq!(e.name(), Some("state"));
        assert_eq!(p.get("client_id"), Some("a"));
    }

    #[test]
    fn a_long_value_and_too_many_parameters_are_refused() {
        let long = "x".repeat(MAX_VALUE + 1);
        let (e, _) = Params::parse(&format!("nonce={long}")).unwrap_err();
        assert_eq!(e, ParamsError::TooLong("nonce".into()));
        assert!(Params::parse(&format!("nonce={}", &long[1..])).is_ok());
        // A registered redirect URI of 2.5 KB (the configuration sets no limit) is read.
        let uri = format!("https://shop.example.com/cb?{}", "q".repeat(2500));
        let p = Params::parse(&format!("redirect_uri={uri}")).unwrap();
        assert_eq!(p.get("redirect_uri"), Some(uri.as_str()));
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            Params::parse(&many.join("&")).unwrap_err().0,
            ParamsError::TooMany
        );
    }
}

//! Origins and redirect URIs: the normal form both the configuration and the authorize request
//! are compared in (exact, after normalising).

use url::Url;

/// Normalises an origin to `scheme://host[:port]` (default ports dropped, host lowercased).
/// Refuses paths, queries, fragments, credentials, non-http(s) schemes and odd hosts.
pub fn normalize_origin(s: &str) -> Result<String, &'static str> {
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
    Ok(u.origin().ascii_serialization())
}

pub(super) fn check_redirect_uri(s: &str) -> Result<(), &'static str> {
    if s.bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
    {
        return Err("contains whitespace, control characters or backslashes");
    }
    let u = Url::parse(s).map_err(|_| "is not an absolute URL")?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("must be an absolute http(s) URL");
    }
    if u.fragment().is_some() {
        return Err("must not have a fragment (the result is delivered in the fragment)");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials");
    }
    Ok(())
}

/// The normalised origin of an absolute URL.
pub(super) fn uri_origin(uri: &str) -> Option<String> {
    Url::parse(uri)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

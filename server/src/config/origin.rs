//! Redirect and return URIs: absolute http(s) URLs without a fragment or credentials. (Origins
//! are `domain::Origin`.)

use url::Url;

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

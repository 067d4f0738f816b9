//! The raw query strings of authorize and callback, parsed strictly into the login's inputs: each
//! trusted key at most once, sizes capped; every other key is ignored.
//! Hand-written instead of `axum::extract::Query` because serde would accept repeated keys.

use crate::login::finish::CallbackParams;
use crate::login::start::AuthorizeQuery;

/// Longest accepted `code`, `state`, `error`, `error_description`.
pub const MAX_CODE: usize = 512;
const MAX_STATE: usize = 128;
const MAX_ERROR: usize = 128;
const MAX_ERROR_DESCRIPTION: usize = 1024;

/// Parses the raw callback query: duplicates of a trusted parameter and oversized values are
/// refused; invalid percent-encoding decodes lossily and then fails validation.
pub fn parse_callback_query(raw: Option<&str>) -> Result<CallbackParams, &'static str> {
    let mut p = CallbackParams::default();
    let raw = raw.unwrap_or("");
    if raw.len() > 8192 {
        return Err("query too long");
    }
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let (slot, max) = match k.as_ref() {
            "code" => (&mut p.code, MAX_CODE),
            "state" => (&mut p.state, MAX_STATE),
            "error" => (&mut p.error, MAX_ERROR),
            "error_description" => (&mut p.error_description, MAX_ERROR_DESCRIPTION),
            _ => continue,
        };
        if slot.is_some() {
            return Err("a parameter appears twice");
        }
        if v.len() > max {
            return Err("a parameter is too long");
        }
        *slot = Some(v.into_owned());
    }
    Ok(p)
}

/// Parses the authorize query; a repeated key or an oversized query is refused.
pub fn parse_authorize_query(raw: Option<&str>) -> Result<AuthorizeQuery, &'static str> {
    let raw = raw.unwrap_or("");
    if raw.len() > 4096 {
        return Err("query too long");
    }
    let mut q = AuthorizeQuery::default();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let slot = match k.as_ref() {
            "app_id" => &mut q.app_id,
            "origin" => &mut q.origin,
            "attempt" => &mut q.attempt,
            "mode" => &mut q.mode,
            "redirect_uri" => &mut q.redirect_uri,
            _ => continue,
        };
        if slot.is_some() {
            return Err("a parameter appears twice");
        }
        *slot = Some(v.into_owned());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_query_keeps_only_trusted_parameters() {
        let p = parse_callback_query(Some(
            "code=c&state=s&origin=https://evil&redirect_uri=x&mode=redirect",
        ))
        .unwrap();
        assert_eq!(
            p,
            CallbackParams {
                code: Some("c".into()),
                state: Some("s".into()),
                error: None,
                error_description: None
            }
        );
        assert!(parse_callback_query(Some("code=a&code=b&state=s")).is_err());
        assert!(parse_callback_query(Some("state=a&state=a")).is_err());
        assert!(
            parse_callback_query(Some(&format!("code={}&state=s", "a".repeat(MAX_CODE + 1))))
                .is_err()
        );
        assert!(parse_callback_query(Some(&"x".repeat(9000))).is_err());
        assert_eq!(
            parse_callback_query(Some("state=%ZZ"))
                .unwrap()
                .state
                .as_deref(),
            Some("%ZZ")
        );
        assert_eq!(
            parse_callback_query(None).unwrap(),
            CallbackParams::default()
        );
    }
}

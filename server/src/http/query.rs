//! The raw query strings of authorize and callback, parsed strictly into the login's inputs: each
//! trusted key at most once, sizes capped; every other key is ignored.
//! Hand-written instead of `axum::extract::Query` because serde would accept repeated keys.

use crate::domain::{AppId, AttemptId, Origin};
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

/// Parses the authorize query; a repeated key or an oversized query is refused. The app id,
/// origin and attempt id are parsed into their types here (the only place), a bad value kept as
/// its error for the login to refuse in order.
pub fn parse_authorize_query(raw: Option<&str>) -> Result<AuthorizeQuery, &'static str> {
    let raw = raw.unwrap_or("");
    if raw.len() > 4096 {
        return Err("query too long");
    }
    let [mut app_id, mut origin, mut attempt, mut mode, mut redirect_uri] =
        [None, None, None, None, None];
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let slot: &mut Option<String> = match k.as_ref() {
            "app_id" => &mut app_id,
            "origin" => &mut origin,
            "attempt" => &mut attempt,
            "mode" => &mut mode,
            "redirect_uri" => &mut redirect_uri,
            _ => continue,
        };
        if slot.is_some() {
            return Err("a parameter appears twice");
        }
        *slot = Some(v.into_owned());
    }
    Ok(AuthorizeQuery {
        app_id: app_id.map(|a| AppId::parse(&a).map_err(|_| a)),
        origin: origin.map(|o| Origin::parse(&o).map_err(|_| o)),
        attempt: attempt.map(|a| AttemptId::parse(&a)),
        mode,
        redirect_uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_query_parses_ids_and_origin_once() {
        let q = parse_authorize_query(Some(
            "app_id=shop&origin=HTTPS://Shop.example.com:443&attempt=abcdefghijklmnop&mode=popup",
        ))
        .unwrap();
        assert_eq!(q.app_id.unwrap().unwrap().as_str(), "shop");
        assert_eq!(
            q.origin.unwrap().unwrap().as_str(),
            "https://shop.example.com"
        );
        assert_eq!(q.attempt.unwrap().unwrap().as_str(), "abcdefghijklmnop");
        // Bad values are kept as errors (refused later, in order); a bad app id names no app.
        let q = parse_authorize_query(Some("app_id=a/b&origin=null&attempt=short")).unwrap();
        assert_eq!(q.app_id, Some(Err("a/b".to_string())));
        assert!(q.origin.unwrap().is_err());
        assert!(q.attempt.unwrap().is_err());
        assert!(parse_authorize_query(Some("attempt=a&attempt=b")).is_err());
    }

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

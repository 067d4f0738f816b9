//! Fixture tests: every documented Xiaomi shape, and the hostile ones.

use super::parse::*;
use super::*;

fn tok(body: &str) -> Result<TokenResponse, ProviderError> {
    parse_token(body.as_bytes())
}

const OK: &str = r#"{"access_token":"AT","expires_in":7776000,"refresh_token":"RT","scope":"1 3","token_type":"mac","mac_key":"MK","mac_algorithm":"HmacSha1","openId":"2.0abc","union_id":"U1"}"#;

#[test]
fn token_with_prefix_with_and_without_whitespace() {
    for body in [
        format!("{PREFIX}{OK}"),
        format!("{PREFIX} {OK}"),
        format!("{PREFIX}\n{OK}"),
        format!("  {PREFIX}{OK}\n"),
        format!("\u{feff}{PREFIX}{OK}"),
        OK.to_string(),
    ] {
        let t = tok(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(t.access_token.expose_secret(), "AT");
        assert_eq!(t.open_id.as_deref(), Some("2.0abc"));
        assert_eq!(t.union_id.as_deref(), Some("U1"));
        assert_eq!(t.scopes, vec![1, 3]);
        assert_eq!(t.expires_in, Some(7_776_000));
        assert_eq!(t.mac_key.as_ref().unwrap().expose_secret(), "MK");
    }
}

#[test]
fn token_doc_typos_and_string_numbers() {
    // The docs print "token_type " and "mac_key " with a trailing space and " HmacSha1".
    let body = r#"&&&START&&&{"access_token":"AT","expires_in":"300","refresh_token":"RT","scope":"1,3","token_type ":"mac","mac_key ":"MK","mac_algorithm":" HmacSha1","openId":"2.0x"}"#;
    let t = tok(body).unwrap();
    assert_eq!(t.mac_key.unwrap().expose_secret(), "MK");
    assert_eq!(t.expires_in, Some(300));
    assert_eq!(t.scopes, vec![1, 3]);
    assert_eq!(t.union_id, None);
}

#[test]
fn token_errors_numeric_or_string_at_any_status() {
    for body in [
        r#"&&&START&&&{"error":96013,"error_description":"invalid code"}"#,
        r#"&&&START&&& {"error":"96013","error_description":"invalid code"}"#,
        r#"{"error":96013,"error_description":"invalid code"}"#,
    ] {
        assert_eq!(
            tok(body).unwrap_err(),
            ProviderError::Refused {
                code: "96013".into(),
                description: "invalid code".into()
            }
        );
    }
    assert!(matches!(
        tok(r#"{"error":"invalid_client"}"#),
        Err(ProviderError::Refused { code, .. }) if code == "-1"
    ));
    assert_eq!(
        tok(r#"{"error":96012,"error_description":"x"}"#)
            .unwrap_err()
            .code(),
        milogin_shared::ErrorCode::ProviderError,
        "96012 from the token endpoint is a mismatch, not the user's refusal"
    );
}

#[test]
fn token_malformed_shapes_are_invalid_not_panics() {
    for body in [
        "",
        PREFIX,
        "&&&START&&&&&&START&&&{}",
        "<html>502 Bad Gateway</html>",
        "{\"access_token\":",
        "[]",
        "null",
        "{}",
        r#"{"access_token":""}"#,
        r#"{"access_token":42}"#,
        r#"{"access_token":"AT","openId":{"x":1}}"#,
        r#"{"access_token":"AT","openId":"a","openId":"b"}"#,
        r#"{"access_token":"AT","mac_key":"a","mac_key ":"b"}"#,
    ] {
        assert!(
            matches!(tok(body), Err(ProviderError::Malformed(_))),
            "{body:?}"
        );
    }
    assert!(matches!(
        parse_token(&[0xff, 0xfe]),
        Err(ProviderError::Malformed(_))
    ));
}

#[test]
fn token_without_open_id_is_accepted_for_the_openid_fallback() {
    let t = tok(r#"{"access_token":"AT"}"#).unwrap();
    assert_eq!(t.open_id, None);
}

#[test]
fn token_debug_redacts_secrets() {
    let t = tok(OK).unwrap();
    let d = format!("{t:?}");
    assert!(!d.contains("AT\"") && !d.contains("MK"), "{d}");
}

#[test]
fn profile_envelope_shapes() {
    let ok = br#"{"result":"ok","description":"no error","data":{"miliaoNick":"Ann","miliaoIcon":"https://cdn.cnbj1.fds.api.mi-img.com/a.jpg","miliaoIcon_orig":"https://cdn.cnbj1.fds.api.mi-img.com/a_orig.jpg","unionId":"UU"},"code":0}"#;
    let p = parse_profile(parse_envelope(ok).unwrap()).unwrap();
    assert_eq!(p.nickname, "Ann");
    assert_eq!(
        p.avatar.as_deref(),
        Some("https://cdn.cnbj1.fds.api.mi-img.com/a_orig.jpg")
    );
    assert_eq!(p.union_id.as_deref(), Some("UU"));
    // "OK" in any case, code as a string, only code.
    for body in [
        r#"{"result":"OK","data":{"miliaoNick":"A"},"code":"0"}"#,
        r#"{"code":0,"data":{"miliaoNick":"A"}}"#,
        r#"{"result":"ok","description":"成功","data":{"miliaoNick":"A"}}"#,
    ] {
        assert!(parse_envelope(body.as_bytes()).is_ok(), "{body}");
    }
}

#[test]
fn open_api_errors_and_contradictions() {
    assert_eq!(
        parse_envelope(br#"{"result":"error","description":"invalid token","code":96008}"#)
            .unwrap_err(),
        ProviderError::Refused {
            code: "96008".into(),
            description: "invalid token".into()
        }
    );
    assert!(matches!(
        parse_envelope(br#"{"result":"error","code":"96012"}"#),
        Err(ProviderError::Refused { code, .. }) if code == "96012"
    ));
    assert!(matches!(
        parse_envelope(br#"{"result":"ok","code":96008,"data":{}}"#),
        Err(ProviderError::Refused { .. })
    ));
    for body in [
        r#"{"result":"ok","code":0}"#,
        r#"{"result":"ok","data":[]}"#,
        r#"{"description":"x"}"#,
        r#"{"code":"zero","data":{}}"#,
    ] {
        assert!(
            matches!(
                parse_envelope(body.as_bytes()),
                Err(ProviderError::Malformed(_))
            ),
            "{body}"
        );
    }
}

#[test]
fn open_id_key_spellings() {
    let d = |s: &str| parse_envelope(s.as_bytes()).unwrap();
    assert_eq!(
        parse_open_id(&d(r#"{"result":"ok","code":0,"data":{"openId":"2.0a"}}"#)).unwrap(),
        "2.0a"
    );
    assert_eq!(
        parse_open_id(&d(r#"{"result":"ok","code":0,"data":{"openid":"2.0a"}}"#)).unwrap(),
        "2.0a"
    );
    assert_eq!(
        parse_open_id(&d(
            r#"{"result":"ok","code":0,"data":{"openid":18446744073709551615}}"#
        ))
        .unwrap(),
        "18446744073709551615"
    );
    assert!(parse_open_id(&d(
        r#"{"result":"ok","code":0,"data":{"openId":"a","openid":"b"}}"#
    ))
    .is_err());
    assert!(parse_open_id(&d(r#"{"result":"ok","code":0,"data":{"openId":""}}"#)).is_err());
    assert!(parse_open_id(&d(r#"{"result":"ok","code":0,"data":{}}"#)).is_err());
}

#[test]
fn phone_and_email_fixtures() {
    let d = |s: &str| parse_envelope(s.as_bytes()).unwrap();
    // As documented: both present.
    let c = parse_phone_and_email(&d(
        r#"{"result":"ok","description":"成功","data":{"phone":"13800138000","email":" Alice@Example.com "},"code":0}"#,
    ));
    assert_eq!(
        c,
        Contact {
            email: Some("alice@example.com".into()),
            phone: Some("+8613800138000".into())
        }
    );
    // Empty when absent (X-50), missing keys, wrong types.
    for body in [
        r#"{"result":"ok","code":0,"data":{"phone":"","email":""}}"#,
        r#"{"result":"ok","code":0,"data":{}}"#,
        r#"{"result":"ok","code":0,"data":{"phone":13800138000,"email":null}}"#,
        r#"{"result":"ok","code":0,"data":{"phone":["13800138000"],"email":{"a":"b"}}}"#,
        r#"{"result":"ok","code":0,"data":{"phone":"   ","email":"  "}}"#,
    ] {
        assert_eq!(
            parse_phone_and_email(&d(body)),
            Contact::default(),
            "{body}"
        );
    }
    // Hostile values (X-51): lists, confusables, junk never become a value.
    let c = parse_phone_and_email(&d(
        r#"{"result":"ok","code":0,"data":{"phone":"13800138000,13900139000","email":"a@x.com,victim@y.com"}}"#,
    ));
    assert_eq!(c, Contact::default());
    let c = parse_phone_and_email(&d(
        r#"{"result":"ok","code":0,"data":{"phone":"+86 139-0013-9000","email":"\u0430lice@example.com"}}"#,
    ));
    assert_eq!(
        c,
        Contact {
            email: None,
            phone: Some("+8613900139000".into())
        }
    );
    // Refused without the scope (96005): an error, which the flow treats as "no values".
    assert!(matches!(
        parse_envelope(br#"{"result":"error","description":"no permission","code":96005}"#),
        Err(ProviderError::Refused { code, .. }) if code == "96005"
    ));
}

#[test]
fn hostile_profile_values_are_neutralised() {
    assert_eq!(clean_nickname("a\r\nb\u{202e}c\u{0}d"), "a b c d");
    assert_eq!(clean_nickname("   "), "Xiaomi user");
    assert_eq!(clean_nickname(&"x".repeat(10_000)).chars().count(), 64);
    assert_eq!(
        clean_nickname("<script>alert(1)</script>"),
        "<script>alert(1)</script>",
        "escaping happens at output"
    );
    for bad in [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "http://cdn.example.com/a.jpg",
        "https://169.254.169.254/latest",
        "https://[::1]/a",
        "https://localhost/a",
        "https://user:pw@cdn.example.com/a",
        "https://intranet/a",
    ] {
        assert_eq!(safe_avatar(bad), None, "{bad}");
    }
    assert_eq!(
        safe_avatar(&format!("https://cdn.example.com/{}", "a".repeat(2000))),
        None
    );
    assert!(safe_avatar("https://s1.mi-img.com/a_75.jpg").is_some());
}

//! Property-based fuzzing (bounded: `PROPTEST_CASES`, default 512) of everything that parses
//! untrusted input: Xiaomi's token and open-API bodies, the callback and authorize queries, and
//! origins. Properties: never panic; the prefix and surrounding whitespace never change the
//! meaning; success implies the required fields; normalisation is idempotent.

use milogin_server::domain::Origin;
use milogin_server::http::params::{parse, AuthorizeParams, CallbackQuery};
use milogin_server::login::finish::CallbackParams;
use milogin_server::provider::xiaomi::{
    parse_envelope, parse_open_id, parse_profile, parse_token, PREFIX,
};
use proptest::prelude::*;
use secrecy::ExposeSecret;

fn cases() -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The callback query as the callback's extractor reads it.
fn parse_callback_query(q: &str) -> Result<CallbackParams, String> {
    parse::<CallbackQuery>(q.as_bytes()).map(CallbackParams::from)
}

/// JSON-ish text built from the pieces Xiaomi bodies are made of, plus noise.
fn xiaomi_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("access_token"),
        Just("openId"),
        Just("union_id"),
        Just("mac_key"),
        Just("mac_key "),
        Just("scope"),
        Just("expires_in"),
        Just("error"),
        Just("error_description"),
        Just("result"),
        Just("code"),
        Just("data"),
        Just("miliaoNick"),
        Just("miliaoIcon"),
        Just("unionId"),
        Just("openid"),
        Just("description")
    ];
    let scalar = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-zA-Z0-9 <>&\"\\\\/+=.:-]{0,24}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("\"ok\"".to_string()),
        Just("\"0\"".to_string()),
        Just("18446744073709551615".to_string()),
        Just("1e400".to_string()),
        Just("{}".to_string()),
        Just("[]".to_string()),
    ];
    let member = (key, scalar).prop_map(|(k, v)| format!("\"{k}\":{v}"));
    let object = prop::collection::vec(member, 0..8).prop_map(|m| format!("{{{}}}", m.join(",")));
    let nested = (object.clone(), object).prop_map(|(a, b)| {
        a.replacen('}', &format!(",\"data\":{b}}}"), 1)
            .replacen("{,", "{", 1)
    });
    prop_oneof![nested, any::<String>(), "&&&START&&&.{0,40}"]
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn token_parser_never_panics_and_success_has_a_token(body in xiaomi_like()) {
        if let Ok(t) = parse_token(body.as_bytes()) {
            prop_assert!(!t.access_token.expose_secret().is_empty());
        }
    }

    #[test]
    fn the_prefix_and_whitespace_do_not_change_the_meaning(body in xiaomi_like(), ws in "[ \n\t]{0,3}") {
        let plain = parse_token(body.as_bytes()).map(|t| (t.open_id, t.union_id, t.scopes)).map_err(|e| e.to_string());
        let prefixed = format!("{ws}{PREFIX}{ws}{body}{ws}");
        let with = parse_token(prefixed.as_bytes()).map(|t| (t.open_id, t.union_id, t.scopes)).map_err(|e| e.to_string());
        if !body.trim_start().starts_with(PREFIX) && !body.trim().is_empty() {
            prop_assert_eq!(plain, with);
        }
    }

    #[test]
    fn open_api_parsers_never_panic(body in xiaomi_like()) {
        if let Ok(data) = parse_envelope(body.as_bytes()) {
            let _ = parse_open_id(&data);
            if let Ok(p) = parse_profile(data) {
                prop_assert!(!p.nickname.is_empty() && p.nickname.chars().count() <= 64);
                prop_assert!(!p.nickname.chars().any(char::is_control));
                prop_assert!(p.avatar.as_deref().is_none_or(|a| a.starts_with("https://")));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_token(&bytes);
        let _ = parse_envelope(&bytes);
    }

    #[test]
    fn callback_query_parser_keeps_only_trusted_single_values(q in "[a-z_=&%0-9A-F.+-]{0,200}") {
        if let Ok(p) = parse_callback_query(&q) {
            for v in [&p.code, &p.state, &p.error, &p.error_description].into_iter().flatten() {
                prop_assert!(v.len() <= 1024);
            }
        }
        let _ = parse::<AuthorizeParams>(q.as_bytes());
    }

    #[test]
    fn duplicated_trusted_parameters_are_always_refused(v in "[a-zA-Z0-9]{1,20}", key in prop_oneof![Just("code"), Just("state"), Just("error")]) {
        let q = format!("{key}={v}&x=1&{key}={v}");
        prop_assert!(parse_callback_query(&q).is_err());
    }

    #[test]
    fn origin_normalisation_is_idempotent(s in "(https?|HTTPS?|ftp|javascript)://[a-zA-Z0-9.@:%#/?-]{0,40}") {
        if let Ok(n) = Origin::parse(&s) {
            prop_assert_eq!(Origin::parse(n.as_str()), Ok(n.clone()));
            let n = n.as_str();
            prop_assert!(!n.contains('@') && !n.contains('#') && !n.contains('?'));
        }
    }
}

//! The configuration's unit tests: loading, overrides, and every validation message by key.

use super::load::{apply_env, one};
use super::raw::RawConfig;
use super::*;
use secrecy::ExposeSecret;
use std::path::Path;

const GOOD: &str = r#"
[server]
public_url = "https://login.example.com"
[xiaomi]
[[pools]]
id = "demo-pool"
  [[pools.apps]]
  id = "demo-app"
  origins = ["https://shop.example.com"]
  connections = ["xiaomi"]
  [[pools.connections]]
  unique_id = "xiaomi"
  app_id = "2882303761520000000"
  app_secret = { env = "XIAOMI_SECRET_FOR_TEST" }
"#;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut value: toml::Value = toml::from_str(text).map_err(|e| one("(file)", e.to_string()))?;
    apply_env(&mut value, env.clone())?;
    let raw: RawConfig = value
        .try_into()
        .map_err(|e: toml::de::Error| one("(file)", e.to_string()))?;
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    raw.validate(&lookup, Path::new("."))
}

#[test]
fn a_good_config_loads_with_defaults() {
    let c = parse(GOOD, &[("XIAOMI_SECRET_FOR_TEST", "s+/=")]).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.xiaomi.timeout_ms, 10_000);
    let conn = &c.pools[0].connections[0];
    assert_eq!(conn.app_secret.expose_secret(), "s+/=");
    assert_eq!(conn.scopes, vec![1, 3]);
    assert_eq!(conn.login_mode, LoginMode::LoginAndRegister);
    assert_eq!(
        c.server.callback_url("demo-pool", "xiaomi"),
        "https://login.example.com/connection/social/xiaomi/demo-pool/callback"
    );
    assert!(
        !format!("{conn:?}").contains("s+/="),
        "Debug must redact the secret"
    );
}

#[test]
fn return_pages_must_be_on_the_apps_origins_one_per_origin() {
    let with = |uris: &str| {
        GOOD.replace(
            "  connections = [\"xiaomi\"]\n  [[pools.connections]]",
            &format!(
                "  return_uris = [{uris}]\n  connections = [\"xiaomi\"]\n  [[pools.connections]]"
            ),
        )
    };
    let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
    let c = parse(&with(r#""https://shop.example.com/milogin-return""#), &env).unwrap();
    let app = &c.pools[0].apps[0];
    assert_eq!(
        app.return_uri(&crate::domain::Origin::parse("https://shop.example.com").unwrap()),
        Some("https://shop.example.com/milogin-return")
    );
    assert_eq!(
        app.return_uri(&crate::domain::Origin::parse("https://other.example.com").unwrap()),
        None
    );
    let ConfigError(problems) = parse(
        &with(
            r#""https://evil.example/r", "https://shop.example.com/a", "https://shop.example.com/b", "https://shop.example.com/r#x""#,
        ),
        &env,
    )
    .unwrap_err();
    let keys: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.key.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(keys[0].0, "pools[0].apps[0].return_uris[0]");
    assert!(
        keys[0].1.contains("not on one of the app's origins"),
        "{keys:?}"
    );
    assert_eq!(keys[1].0, "pools[0].apps[0].return_uris[2]");
    assert!(keys[1].1.contains("one per origin"), "{keys:?}");
    assert_eq!(keys[2].0, "pools[0].apps[0].return_uris[3]");
    assert!(keys[2].1.contains("fragment"), "{keys:?}");
}

#[test]
fn edge_limits_default_and_the_request_timeout_must_outlast_the_xiaomi_calls() {
    let c = parse(GOOD, &[("XIAOMI_SECRET_FOR_TEST", "x")]).unwrap();
    assert_eq!(
        (
            c.limits.body_read_timeout_ms,
            c.limits.request_timeout_ms,
            c.limits.max_body_bytes,
            c.limits.max_connections
        ),
        (10_000, 60_000, 8192, 512)
    );
    let short = [
        ("XIAOMI_SECRET_FOR_TEST", "x"),
        ("MILOGIN_XIAOMI__TIMEOUT_MS", "20000"),
    ];
    let e = parse(GOOD, &short).unwrap_err().to_string();
    assert!(
        e.contains("limits.request_timeout_ms") && e.contains("set it above 80000"),
        "{e}"
    );
    let bad = [
        ("XIAOMI_SECRET_FOR_TEST", "x"),
        ("MILOGIN_LIMITS__MAX_BODY_BYTES", "10"),
        ("MILOGIN_LIMITS__MAX_CONNECTIONS", "0"),
        ("MILOGIN_LIMITS__BODY_READ_TIMEOUT_MS", "60000"),
    ];
    let e = parse(GOOD, &bad).unwrap_err().to_string();
    for key in [
        "limits.max_body_bytes",
        "limits.max_connections",
        "limits.body_read_timeout_ms",
    ] {
        assert!(e.contains(key), "{key} missing from {e}");
    }
}

#[test]
fn env_overrides_nested_keys_and_array_entries() {
    let c = parse(
        GOOD,
        &[
            ("XIAOMI_SECRET_FOR_TEST", "x"),
            ("MILOGIN_XIAOMI__TIMEOUT_MS", "2500"),
            ("MILOGIN_SERVER__LISTEN", "0.0.0.0:9000"),
            (
                "MILOGIN_POOLS__0__APPS__0__ORIGINS",
                r#"["https://a.example", "https://b.example:8443"]"#,
            ),
            ("MILOGIN_TEST_SOMETHING", "ignored"),
        ],
    )
    .unwrap();
    assert_eq!(c.xiaomi.timeout_ms, 2500);
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(
        c.pools[0].apps[0]
            .origins
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>(),
        ["https://a.example", "https://b.example:8443"]
    );
}

#[test]
fn every_problem_is_listed_with_its_key() {
    let bad = r#"
[server]
listen = "nowhere"
[xiaomi]
account_base = "http://127.0.0.1:1"
[[pools]]
id = "p"
  [[pools.apps]]
  id = "a"
  origins = ["https://shop.example.com/path", "javascript:alert(1)"]
  connections = ["nope"]
  [[pools.connections]]
  unique_id = "Bad_ID"
  app_id = 2882303761520000000
  app_secret = "inline"
  scopes = [3]
"#;
    let err = parse(bad, &[]).unwrap_err();
    let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "server.listen",
        "server.public_url",
        "xiaomi.account_base",
        "pools[0].connections[0].unique_id",
        "pools[0].connections[0].app_id",
        "pools[0].connections[0].app_secret",
        "pools[0].connections[0].scopes",
        "pools[0].apps[0].origins[0]",
        "pools[0].apps[0].origins[1]",
        "pools[0].apps[0].connections[0]",
    ] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert!(err.to_string().contains("allow_insecure_endpoints"));
}

#[test]
fn trusted_proxies_parse_at_load_and_bad_entries_are_named() {
    let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
    let c = parse(GOOD, &env).unwrap();
    assert!(
        c.server.trusted_proxies.nets.is_empty(),
        "default: trust no proxy"
    );
    let ok = GOOD.replace(
        "[server]",
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nforwarded_header = \"forwarded\"",
    );
    let c = parse(&ok, &env).unwrap();
    assert_eq!(c.server.trusted_proxies.nets.len(), 2);
    let bad = GOOD.replace(
        "[server]",
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\nforwarded_header = \"x-real-ip\"",
    );
    let err = parse(&bad, &env).unwrap_err();
    let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["server.trusted_proxies[1]", "server.forwarded_header"],
        "{err}"
    );
    assert!(err.to_string().contains("127.0.0.1/32"), "{err}");
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let err = parse(
        &GOOD.replace("[xiaomi]", "[xiaomi]\ntimeout = 5"),
        &[("XIAOMI_SECRET_FOR_TEST", "x")],
    )
    .unwrap_err();
    assert!(err.to_string().contains("timeout"), "{err}");
}

#[test]
fn http_bases_need_the_insecure_switch() {
    let text = GOOD.replace(
        "[xiaomi]",
        "[xiaomi]\naccount_base = \"http://127.0.0.1:9\"\nopen_base = \"http://127.0.0.1:9\"\nallow_insecure_endpoints = true",
    );
    assert!(parse(&text, &[("XIAOMI_SECRET_FOR_TEST", "x")]).is_ok());
}

#[test]
fn field_matching_keys_load_with_safe_defaults() {
    let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
    let c = parse(GOOD, &env).unwrap();
    let conn = &c.pools[0].connections[0];
    assert_eq!(
        (conn.association, conn.match_fields.len()),
        (Association::Off, 0)
    );
    assert!(
        !conn.trust_xiaomi_email && !conn.trust_xiaomi_phone,
        "Xiaomi's values are untrusted by default"
    );

    let text = GOOD.replace(
        "app_secret = { env = \"XIAOMI_SECRET_FOR_TEST\" }",
        "app_secret = { env = \"XIAOMI_SECRET_FOR_TEST\" }\n  scopes = [1, 3, 6]\n  association = \"field_match\"\n  match_fields = [\"email\", \"phone\"]\n  trust_xiaomi_email = true",
    );
    let c = parse(&text, &env).unwrap();
    let conn = &c.pools[0].connections[0];
    assert_eq!(
        conn.match_fields,
        vec![MatchField::Email, MatchField::Phone]
    );
    assert!(conn.trusts(MatchField::Email) && !conn.trusts(MatchField::Phone));
    assert!(conn.matches_on(MatchField::Phone));
    let w = c.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].message.contains("scope 4"), "{w:?}");
    assert!(format!("{conn:?}").contains("trust_xiaomi_email: true"));
}

#[test]
fn inconsistent_association_keys_are_refused_by_key() {
    let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
    let with = |extra: &str| {
        GOOD.replace(
            "app_secret = { env = \"XIAOMI_SECRET_FOR_TEST\" }",
            &format!("app_secret = {{ env = \"XIAOMI_SECRET_FOR_TEST\" }}\n  {extra}"),
        )
    };
    for (extra, key) in [
        ("association = \"field_match\"", "pools[0].connections[0].match_fields"),
        ("match_fields = [\"email\"]", "pools[0].connections[0].match_fields"),
        ("association = \"field_match\"\n  match_fields = [\"email\", \"email\"]", "pools[0].connections[0].match_fields[1]"),
        ("association = \"query_binding\"\n  trust_xiaomi_email = true", "pools[0].connections[0].trust_xiaomi_email"),
        ("association = \"field_match\"\n  match_fields = [\"email\"]\n  trust_xiaomi_phone = true", "pools[0].connections[0].trust_xiaomi_phone"),
    ] {
        let err = parse(&with(extra), &env).unwrap_err();
        assert!(err.0.iter().any(|p| p.key == key), "{extra}: {err}");
    }
    let err = parse(
        &with("association = \"field_match\"\n  match_fields = [\"address\"]"),
        &env,
    )
    .unwrap_err();
    assert!(err.to_string().contains("address"), "{err}");
    assert!(parse(
        &with("association = \"query_binding\"\n  login_mode = \"login_only\""),
        &env
    )
    .is_ok());
}

#[test]
fn display_names_are_one_text_or_one_per_language() {
    let env = [("XIAOMI_SECRET_FOR_TEST", "x")];
    let with = |line: &str| {
        GOOD.replace(
            "  unique_id = \"xiaomi\"\n",
            &format!("  unique_id = \"xiaomi\"\n  {line}\n"),
        )
    };
    let c = parse(&with(r#"display_name = "Mi""#), &env).unwrap();
    let d = &c.pools[0].connections[0].display_name;
    assert_eq!((d.for_locale("en"), d.for_locale("zh-CN")), ("Mi", "Mi"));
    let c = parse(&with(r#"display_name = { zh-CN = "小米登录" }"#), &env).unwrap();
    let d = &c.pools[0].connections[0].display_name;
    assert_eq!(
        (d.for_locale("en"), d.for_locale("zh-Hans")),
        ("Sign in with Xiaomi", "小米登录"),
        "a language left out gets the default in that language"
    );
    let c = parse(GOOD, &env).unwrap();
    assert_eq!(
        c.pools[0].connections[0].display_name.for_locale("zh-CN"),
        "使用小米账号登录"
    );
    let e = parse(&with(r#"display_name = { fr = "Se connecter" }"#), &env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pools[0].connections[0].display_name.fr") && e.contains("zh-CN"),
        "{e}"
    );
}

#[test]
fn issue_18_keys_are_checked_with_their_key_and_fix() {
    let env = [
        ("XIAOMI_SECRET_FOR_TEST", "x"),
        ("KEK_SHORT", "c2hvcnQ="),
        ("KEK_OK", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="),
    ];
    let with = |server: &str, limits: &str| {
        GOOD.replace("[server]\n", &format!("[server]\n{server}\n"))
            .replace("[xiaomi]\n", &format!("[limits]\n{limits}\n[xiaomi]\n"))
    };
    let c = parse(
        &with(
            "metrics_listen = \"127.0.0.1:9090\"\nkey_encryption_key = { env = \"KEK_OK\" }",
            "",
        ),
        &env,
    )
    .unwrap();
    assert_eq!(
        c.server.metrics_listen.unwrap().to_string(),
        "127.0.0.1:9090"
    );
    assert!(c.server.key_encryption_key.is_some());
    assert_eq!(c.limits.max_connections_per_client, 32);
    assert_eq!(
        (c.limits.max_pending_per_56, c.limits.max_pending_per_48),
        (200, 1000)
    );
    let ConfigError(problems) = parse(
        &with(
            "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"127.0.0.1:8080\"\nkey_encryption_key = { env = \"KEK_SHORT\" }",
            "max_connections_per_client = 0\nmax_pending_per_56 = 0\nmax_pending_per_48 = 0\nfirst_request_timeout_ms = 5",
        ),
        &env,
    )
    .unwrap_err();
    for (key, says) in [
        ("server.metrics_listen", "is server.listen"),
        (
            "server.key_encryption_key",
            "head -c 32 /dev/urandom | base64",
        ),
        ("limits.max_connections_per_client", "at least 1"),
        ("limits.max_pending_per_56", "at least 1"),
        ("limits.max_pending_per_48", "at least 1"),
        ("limits.first_request_timeout_ms", "between 100 and 120000"),
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.key == key && p.message.contains(says)),
            "{key}: {problems:?}"
        );
    }
    assert!(
        !format!("{c:?}").contains("BwcH"),
        "Debug must redact the key-encryption key"
    );
}

#[test]
fn an_apps_client_secret_makes_it_confidential_is_redacted_and_must_be_long() {
    let with = |secret: &str| {
        GOOD.replace(
            "connections = [\"xiaomi\"]\n  [[pools.connections]]",
            &format!(
                "connections = [\"xiaomi\"]\n  client_secret = {secret}\n  [[pools.connections]]"
            ),
        )
    };
    let long = "k".repeat(32);
    let c = parse(
        &with("{ env = \"APP_CLIENT_SECRET\" }"),
        &[
            ("XIAOMI_SECRET_FOR_TEST", "x"),
            ("APP_CLIENT_SECRET", &long),
        ],
    )
    .unwrap();
    let app = &c.pools[0].apps[0];
    assert!(app.is_confidential());
    assert_eq!(app.client_secret.as_ref().unwrap().expose_secret(), long);
    assert!(
        !format!("{app:?}").contains(&long),
        "Debug must redact the client secret"
    );
    let public = parse(GOOD, &[("XIAOMI_SECRET_FOR_TEST", "x")]).unwrap();
    assert!(!public.pools[0].apps[0].is_confidential());

    let short = parse(
        &with("{ env = \"APP_CLIENT_SECRET\" }"),
        &[
            ("XIAOMI_SECRET_FOR_TEST", "x"),
            ("APP_CLIENT_SECRET", "short"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        short.contains("pools[0].apps[0].client_secret") && short.contains("openssl rand"),
        "{short}"
    );
    let inline = parse(
        &with("\"inline-secret\""),
        &[("XIAOMI_SECRET_FOR_TEST", "x")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        inline.contains("pools[0].apps[0].client_secret")
            && inline.contains("never written inline"),
        "{inline}"
    );
    let empty = parse(
        &with("{ env = \"APP_CLIENT_SECRET\" }"),
        &[("XIAOMI_SECRET_FOR_TEST", "x"), ("APP_CLIENT_SECRET", "")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        empty.contains("client_secret")
            && empty.contains("openssl rand")
            && !empty.contains("Xiaomi console"),
        "{empty}"
    );
}

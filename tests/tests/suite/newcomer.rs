//! Issue 13, over HTTP: every misconfiguration the widget can meet answers with a code any page
//! can read; labels in the button's language; the plain hosted-page link works; the discovery
//! document advertises only what a relying party can use. (Widget behaviour: `browser`.)

use milogin_tests::*;
use serde_json::Value;

async fn connections(
    env: &Env,
    pool: &str,
    app: &str,
    origin: Option<&str>,
    q: &str,
) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(format!(
        "{}/api/v1/pools/{pool}/apps/{app}/connections{q}",
        env.base
    ));
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn every_refusal_of_the_connections_list_carries_a_code_any_page_can_read() {
    let env = spawn_with(Options {
        return_uris: vec![format!("{ORIGIN}/milogin-return")],
        ..Options::default()
    })
    .await;
    let evil = "https://unregistered.example";
    for (pool, app, origin, status, code, names) in [
        ("nope", APP, Some(ORIGIN), 404, "unknown_pool", "\"nope\""),
        (POOL, "nope", Some(ORIGIN), 404, "unknown_app", "\"nope\""),
        (POOL, APP, Some(evil), 403, "origin_not_allowed", evil),
    ] {
        let r = connections(&env, pool, app, origin, "").await;
        assert_eq!(r.status(), status, "{pool} {app} {origin:?}");
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "*",
            "readable by the page"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(names),
            "the message names what is wrong: {message}"
        );
        assert!(
            message.contains("config") || message.contains("attribute"),
            "and the fix: {message}"
        );
    }
    // The registered origin: the list, CORS for it, and whether a return page exists for it.
    let r = connections(&env, POOL, APP, Some(ORIGIN), "").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(r.headers()["x-milogin-return-page"], "1");
    assert_eq!(
        r.headers()["access-control-expose-headers"],
        "x-milogin-return-page"
    );
    let other = spawn().await;
    let r = connections(&other, POOL, APP, Some(ORIGIN), "").await;
    assert_eq!(r.headers()["x-milogin-return-page"], "0");
    // Without an Origin (a server, curl): the list, as before.
    assert_eq!(connections(&env, POOL, APP, None, "").await.status(), 200);
}

#[tokio::test]
async fn the_label_follows_the_buttons_language() {
    let env = spawn().await;
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["display_name"].as_str().unwrap().to_string())
            .collect()
    };
    // pool-b's connection has no display_name: the default in the asked language.
    let zh = connections(&env, "pool-b", APP, Some(ORIGIN), "?locale=zh-CN")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(zh), ["使用小米账号登录"]);
    let en = connections(&env, "pool-b", APP, Some(ORIGIN), "?locale=en")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(en), ["Sign in with Xiaomi"]);
    // pool-a's is given per language (`display_name = { en = …, zh-CN = … }`).
    let zh = connections(&env, POOL, APP, Some(ORIGIN), "?locale=zh-CN")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(zh), ["用小米账号登录（测试）"]);
    let default = connections(&env, POOL, APP, Some(ORIGIN), "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(default), ["Sign in with Xiaomi"]);
}

#[tokio::test]
async fn the_plain_hosted_page_link_comes_back_to_the_first_redirect_uri() {
    let env = spawn().await;
    let r = reqwest::get(format!("{}/login/{POOL}?app_id={APP}", env.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("mode=\"redirect\""), "{page}");
    assert!(
        page.contains(&format!("redirect-uri=\"{ORIGIN}/login/done\"")),
        "{page}"
    );
    // An app with no redirect URI: the page says which parameter to add.
    let r = reqwest::get(format!("{}/login/pool-b?app_id={APP}", env.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("redirect_uri=") && page.contains("pools.apps.redirect_uris"),
        "{page}"
    );
}

#[tokio::test]
async fn discovery_names_every_field_openid_connect_requires() {
    let env = spawn().await;
    let d = discovery(&env).await;
    assert_eq!(d["issuer"], format!("{}/pools/{POOL}", env.base));
    assert_eq!(
        d["jwks_uri"],
        format!("{}/pools/{POOL}/.well-known/jwks.json", env.base)
    );
    // The code flow's endpoints (issue 21): every field OpenID Connect Discovery requires.
    for key in [
        "authorization_endpoint",
        "userinfo_endpoint",
        "token_endpoint",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(d.get(key).is_some(), "{key} is missing: {d}");
    }
}

#[tokio::test]
async fn the_try_page_warns_that_it_creates_a_real_user_and_shows_the_file_spelling() {
    let token = "admin-token-for-the-try-page-test";
    let env = spawn_with(Options {
        admin_token: Some(token.into()),
        ..Options::default()
    })
    .await;
    let r = reqwest::Client::new()
        .get(format!("{}/connection/social/{CONN}/{POOL}/try", env.base))
        .basic_auth("admin", Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let warning = between(&page, "id=\"try-warning\"", "</p>").expect("a warning");
    assert!(warning.contains("real user"), "{warning}");
    // Values as written in the file (snake_case, per-language names), not Rust's spelling.
    for written in [
        "&quot;login_mode&quot;: &quot;login_and_register&quot;",
        "&quot;association&quot;: &quot;off&quot;",
        "&quot;zh-CN&quot;",
    ] {
        assert!(page.contains(written), "{written} in {page}");
    }
    assert!(!page.contains("LoginAndRegister"), "{page}");
}

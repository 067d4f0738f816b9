//! Every way a result travels, over HTTP: the result channel for a lost opener
//! (`POST /api/v1/attempts/{attempt}/result`). Browser-level delivery paths live in `browser`.

use milogin_tests::*;
use sha2::{Digest, Sha256};

fn commitment(secret: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

async fn read(env: &Env, attempt: &str, secret: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/attempts/{attempt}/result", env.base))
        .header("origin", origin)
        .header("content-type", "text/plain")
        .body(secret.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_result_channel_hands_the_result_once_to_the_secret_holder() {
    let env = spawn().await;
    let b = Browser::new();
    let attempt = attempt_id();
    let secret = format!("secret-{}", attempt_id());
    let url = format!(
        "{}&channel={}",
        Browser::authorize_url(&env, &attempt),
        commitment(&secret)
    );
    let req = b.start(&env, &url).await;
    // Before the callback: pending for the secret holder, gone for anyone else.
    assert_eq!(read(&env, &attempt, &secret, ORIGIN).await.status(), 202);
    assert_eq!(
        read(&env, &attempt, "wrong-secret-0000000", ORIGIN)
            .await
            .status(),
        404
    );
    let cb = b.decide(&env, &req, Some("alice")).await;
    let page = b.get(&cb).await.text().await.unwrap();
    let posted = result_of(&page);
    assert!(posted.is_ok());

    assert_eq!(
        read(&env, &attempt, "wrong-secret-0000000", ORIGIN)
            .await
            .status(),
        404
    );
    let r = read(&env, &attempt, &secret, ORIGIN).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let via_channel: milogin_shared::ResultMessage = r.json().await.unwrap();
    assert_eq!(
        via_channel, posted,
        "the same single result, whichever path delivers it"
    );
    assert_eq!(
        read(&env, &attempt, &secret, ORIGIN).await.status(),
        404,
        "readable once"
    );
}

#[tokio::test]
async fn the_channel_gives_cors_only_to_the_recorded_origin_and_expires_after_two_minutes() {
    let env = spawn().await;
    let b = Browser::new();
    let (a1, a2) = (attempt_id(), attempt_id());
    let secret = format!("secret-{}", attempt_id());
    for a in [&a1, &a2] {
        let url = format!(
            "{}&channel={}",
            Browser::authorize_url(&env, a),
            commitment(&secret)
        );
        let req = b.start(&env, &url).await;
        let cb = b.decide(&env, &req, Some("bob")).await;
        b.get(&cb).await;
    }
    let r = read(&env, &a1, &secret, "https://evil.example").await;
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "a foreign page cannot read the answer"
    );
    env.clock.advance(121);
    assert_eq!(
        read(&env, &a2, &secret, ORIGIN).await.status(),
        404,
        "kept at most 2 minutes"
    );
}

#[tokio::test]
async fn a_malformed_channel_is_refused_and_redirect_mode_keeps_nothing() {
    let env = spawn().await;
    let b = Browser::new();
    let r = b
        .get(&format!(
            "{}&channel=short",
            Browser::authorize_url(&env, &attempt_id())
        ))
        .await;
    assert_eq!(r.status(), 400);
    let attempt = attempt_id();
    let secret = format!("secret-{}", attempt_id());
    let url = format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&attempt={attempt}&mode=redirect&redirect_uri={}&channel={}",
        env.base,
        enc(&format!("{ORIGIN}/login/done")),
        commitment(&secret)
    );
    let req = b.start(&env, &url).await;
    let cb = b.decide(&env, &req, Some("carol")).await;
    assert_eq!(b.get(&cb).await.status(), 302);
    assert_eq!(read(&env, &attempt, &secret, ORIGIN).await.status(), 404);
}

#[tokio::test]
async fn the_hosted_login_page_lists_the_apps_connections_under_a_strict_csp() {
    let env = spawn().await;
    let b = Browser::new();
    let done = enc(&format!("{ORIGIN}/login/done"));
    let r = b
        .get(&format!(
            "{}/login/{POOL}?app_id={APP}&mode=redirect&redirect_uri={done}",
            env.base
        ))
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'nonce-")
            && csp.contains("'self' 'wasm-unsafe-eval'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!("src=\"{}/widget/milogin.js\"", env.base)));
    assert_eq!(
        page.matches("<milogin-button").count(),
        1,
        "one enabled connection"
    );
    assert!(
        page.contains("mode=\"redirect\"")
            && page.contains("connection=\"xiaomi\"")
            && page.contains("Sign in")
    );

    let zh = b
        .http
        .get(format!(
            "{}/login/{POOL}?app_id={APP}&mode=redirect&redirect_uri={done}",
            env.base
        ))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    let zh = zh.text().await.unwrap();
    assert!(
        zh.contains("lang=\"zh-CN\"") && zh.contains("登录") && zh.contains("locale=\"zh-CN\"")
    );
    assert!(zh.contains("lang=en"), "a switch back to English");

    let a = attempt_id();
    let popup = b
        .get(&format!(
            "{}/login/{POOL}?app_id={APP}&mode=popup&origin={}&attempt={a}",
            env.base,
            enc(ORIGIN)
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        popup.contains(&format!("hosted-origin=\"{ORIGIN}\""))
            && popup.contains(&format!("hosted-attempt=\"{a}\""))
    );
    for (q, status) in [
        (
            format!(
                "app_id={APP}&mode=popup&origin={}&attempt={a}",
                enc("https://evil.example")
            ),
            400,
        ),
        (format!("app_id={APP}&mode=popup&attempt={a}"), 400),
        (
            format!(
                "app_id={APP}&mode=redirect&redirect_uri={}",
                enc("https://evil.example/")
            ),
            400,
        ),
        (
            format!("app_id=nope&mode=redirect&redirect_uri={done}"),
            404,
        ),
        (
            format!("app_id=__try__&mode=redirect&redirect_uri={done}"),
            404,
        ),
    ] {
        assert_eq!(
            b.get(&format!("{}/login/{POOL}?{q}", env.base))
                .await
                .status(),
            status,
            "{q}"
        );
    }
    assert_eq!(
        b.get(&format!("{}/login/nope?app_id={APP}", env.base))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn the_experience_login_page_needs_the_admin_token_and_runs_a_real_login() {
    use base64::Engine;
    let token = "operator-token-0123456789";
    let env = spawn_with(Options {
        admin_token: Some(token.into()),
        ..Options::default()
    })
    .await;
    let page_url = format!("{}/connection/social/{CONN}/{POOL}/try", env.base);
    let b = Browser::new();
    let r = b.get(&page_url).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let basic = |p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{p}"))
        )
    };
    assert_eq!(
        b.http
            .get(&page_url)
            .header("authorization", basic("wrong-token-000000000"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = b
        .http
        .get(&page_url)
        .header("authorization", basic(token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "{}/connection/social/{CONN}/{POOL}/callback",
            env.base
        )),
        "shows the callback URL"
    );
    assert!(
        page.contains("2882303761520000000")
            && !page.contains(milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET)
    );

    // The try flow: authorize with the reserved app needs the page's one-time ticket (the page
    // load above set it in `b`'s cookie jar); Basic credentials alone do not do
    // (abuse_proxy::a_try_login_needs_the_try_pages_one_time_ticket_not_basic_credentials).
    let a = attempt_id();
    let authorize = format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id=__try__&origin={}&attempt={a}",
        env.base,
        enc(&env.base)
    );
    assert_eq!(Browser::new().get(&authorize).await.status(), 403);
    let r = b.get(&authorize).await;
    assert_eq!(r.status(), 302);
    let consent = b.get(&location(&r)).await.text().await.unwrap();
    let req = between(&consent, "name=\"req\" value=\"", "\"").unwrap();
    let cb = b.decide(&env, &req, Some("carol")).await;
    let page = b.get(&cb).await.text().await.unwrap();
    assert_eq!(
        target_of(&page),
        env.base,
        "the result goes to the try page's own origin"
    );
    let m = result_of(&page);
    let milogin_shared::Outcome::Success { user, .. } = m.outcome else {
        panic!("try login failed")
    };
    let id = b
        .http
        .get(format!(
            "{}/connection/social/{CONN}/{POOL}/try/identity?sub={}",
            env.base, user.id
        ))
        .header("authorization", basic(token))
        .send()
        .await
        .unwrap();
    let id: serde_json::Value = id.json().await.unwrap();
    assert_eq!(id["identities"][0]["connection"], CONN);
    assert!(id["identities"][0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("2.0"));

    let off = spawn().await;
    assert_eq!(
        Browser::new()
            .get(&format!("{}/connection/social/{CONN}/{POOL}/try", off.base))
            .await
            .status(),
        404,
        "disabled without a token"
    );
}

#[tokio::test]
async fn the_hosted_page_in_redirect_mode_keeps_the_host_pages_attempt() {
    let env = spawn().await;
    let done = enc(&format!("{ORIGIN}/login/done"));
    let page = |q: String| {
        let url = format!(
            "{}/login/{POOL}?app_id={APP}&mode=redirect&redirect_uri={done}{q}",
            env.base
        );
        async move { Browser::new().get(&url).await }
    };
    let a = attempt_id();
    let r = page(format!("&attempt={a}")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("hosted-attempt=\"{a}\"")) && !html.contains("hosted-origin"),
        "the button leaves with the attempt the host page remembered: {html}"
    );
    let html = page(String::new()).await.text().await.unwrap();
    assert!(
        !html.contains("hosted-attempt"),
        "without one, each button draws its own"
    );
    assert_eq!(page("&attempt=short".into()).await.status(), 400);
    assert_eq!(
        page(format!("&attempt={}", enc("a\"><script>x")))
            .await
            .status(),
        400
    );
}

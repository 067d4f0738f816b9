//! Every way a result travels, over HTTP: only to the registered origin (the popup page's
//! `postMessage` target, or the app's registered return page for a lost opener), never to whoever
//! holds a secret they chose; attempt ids used once. Browser-level delivery paths live in
//! `browser`.

use milogin_tests::*;
use sha2::{Digest, Sha256};

/// The JSON block `id` of a result page.
fn block(page: &str, id: &str) -> serde_json::Value {
    let json = between(
        page,
        &format!("<script type=\"application/json\" id=\"{id}\">"),
        "</script>",
    )
    .unwrap_or_else(|| panic!("{id} in the page"));
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn a_foreign_page_that_picks_its_own_channel_never_obtains_the_token() {
    // The attacker's page (any origin) opens authorize for the victim with the app's registered
    // origin and a result-channel commitment whose secret the attacker holds (issue 10).
    let env = spawn().await;
    let victim = Browser::new();
    let attempt = attempt_id();
    let secret = format!("attacker-secret-{}", attempt_id());
    let commitment = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
    };
    let url = format!(
        "{}&channel={commitment}",
        Browser::authorize_url(&env, &attempt)
    );
    let req = victim.start(&env, &url).await;
    let cb = victim.decide(&env, &req, Some("alice")).await;
    let page = victim.get(&cb).await.text().await.unwrap();
    let m = result_of(&page);
    let milogin_shared::Outcome::Success { id_token, .. } = &m.outcome else {
        panic!("the victim's login succeeds: {m:?}")
    };
    // The attacker's server asks for the result with its secret, with and without an Origin.
    for origin in [None, Some(ORIGIN), Some("https://evil.example")] {
        let mut r = reqwest::Client::new()
            .post(format!("{}/api/v1/attempts/{attempt}/result", env.base))
            .header("content-type", "text/plain")
            .body(secret.clone());
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_ne!(status, 200, "{origin:?}: {body}");
        assert!(!body.contains(id_token.as_str()), "{origin:?}: {body}");
        assert!(!body.contains("id_token"), "{origin:?}: {body}");
    }
    // The page posts to the registered origin only, and has no return page to go to.
    assert_eq!(target_of(&page), ORIGIN);
    assert_eq!(block(&page, "milogin-return"), serde_json::Value::Null);
}

#[tokio::test]
async fn an_attempt_id_is_used_once() {
    // The attempt id leaks (popup URL, window name). An attacker who starts a second attempt under
    // the victim's id is refused, and the victim's login still ends with the victim's own token.
    let env = spawn().await;
    let (victim, attacker) = (Browser::new(), Browser::new());
    let attempt = attempt_id();
    let url = Browser::authorize_url(&env, &attempt);
    let req = victim.start(&env, &url).await;
    let r = attacker.get(&url).await;
    assert_eq!(r.status(), 409);
    let refused = result_of(&r.text().await.unwrap());
    assert_eq!(refused.attempt, attempt);
    assert!(
        matches!(&refused.outcome, milogin_shared::Outcome::Failure(e)
            if e.code == milogin_shared::ErrorCode::InvalidRequest && e.message.contains("already started")),
        "{refused:?}"
    );
    let cb = victim.decide(&env, &req, Some("alice")).await;
    let m = result_of(&victim.get(&cb).await.text().await.unwrap());
    let milogin_shared::Outcome::Success { id_token, .. } = &m.outcome else {
        panic!("{m:?}")
    };
    assert_eq!(verify(&env, POOL, id_token, APP).await["nonce"], attempt);
    // Finished, it stays used: a replay of the popup URL starts nothing.
    assert_eq!(attacker.get(&url).await.status(), 409);
    let redirect = Browser::redirect_url(&env, &attempt, &format!("{ORIGIN}/login/done"))
        + "&code_challenge="
        + &"c".repeat(43);
    let r = attacker.get(&redirect).await;
    assert_eq!(r.status(), 302);
    assert!(
        location(&r).contains("#error=invalid_request"),
        "{}",
        location(&r)
    );
}

#[tokio::test]
async fn a_lost_opener_goes_on_to_the_return_page_registered_for_the_recorded_origin() {
    let other = "https://other.example.com";
    let env = spawn_with(Options {
        origins: vec![other.into()],
        return_uris: vec![format!("{ORIGIN}/milogin-return")],
        ..Options::default()
    })
    .await;
    let b = Browser::new();
    // The widget's PKCE challenge (43 base64url characters; the verifier stays in its tab).
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let url = Browser::authorize_url(&env, &attempt_id()) + "&code_challenge=" + challenge;
    let page = b.login_at(&env, &url, "bob").await.text().await.unwrap();
    assert!(result_of(&page).is_ok());
    // Issue 21.6: the return page gets a one-time code in its fragment, never the token.
    let to = block(&page, "milogin-return");
    let to = to.as_str().unwrap();
    let prefix = format!("{ORIGIN}/milogin-return#milogin_result=code%3D");
    assert!(to.starts_with(&prefix), "{to}");
    assert!(!to.contains("id_token") && !to.contains("eyJ"), "{to}");
    // The script posts to the recorded origin, and only without an opener goes on (by
    // `location.replace`) to the return page.
    let script = between(&page, "<script nonce=", "</script>").unwrap();
    assert!(
        script.contains("o.postMessage(m,t)") && !script.contains("'*'"),
        "{script}"
    );
    assert!(script.contains("location.replace(r)"), "{script}");
    // A page without `crypto.subtle` (not a secure context) sends an empty challenge: its popup
    // login still works (the result posted to the opener), and its return page would get an
    // error, never the token.
    let url = Browser::authorize_url(&env, &attempt_id()) + "&code_challenge=";
    let page = b.login_at(&env, &url, "bob").await.text().await.unwrap();
    assert!(result_of(&page).is_ok());
    let to = block(&page, "milogin-return");
    let to = to.as_str().unwrap();
    let prefix = format!("{ORIGIN}/milogin-return#milogin_result=error%3Dinvalid_request");
    assert!(to.starts_with(&prefix), "{to}");
    assert!(!to.contains("id_token") && !to.contains("eyJ"), "{to}");
    // An origin of the app without a return page gets none (never another origin's page).
    let url = format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&origin={}&attempt={}&mode=popup",
        env.base,
        enc(other),
        attempt_id()
    );
    let page = b.login_at(&env, &url, "bob").await.text().await.unwrap();
    assert_eq!(target_of(&page), other);
    assert_eq!(block(&page, "milogin-return"), serde_json::Value::Null);
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

//! The popup's own pages (issue 13 item 5): error and result pages in the reader's language
//! (`Accept-Language`, zh-CN or en), with a Close button run by the page's nonce'd script, and an
//! error that names what to fix — the refused origin and the config key to add it to, the
//! unknown pool, app or connection — escaped like any other text.

use milogin_tests::*;

/// GET with an `Accept-Language` header (none when `lang` is `None`).
async fn get(url: &str, lang: Option<&str>) -> (u16, String, String) {
    let b = Browser::new();
    let mut req = b.http.get(url);
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let r = req.send().await.unwrap();
    let csp = r
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), csp, r.text().await.unwrap())
}

fn authorize(env: &Env, conn: &str, pool: &str, app: &str, origin: &str) -> String {
    format!(
        "{}/connection/social/{conn}/{pool}/authorize?app_id={app}&origin={}&attempt={}&mode=popup",
        env.base,
        enc(origin),
        attempt_id()
    )
}

/// The page's nonce (from its CSP) and whether a script under it closes the window from the
/// Close button.
fn close_button_runs_under_the_nonce(csp: &str, page: &str) -> bool {
    let Some(nonce) = between(csp, "script-src 'nonce-", "'") else {
        return false;
    };
    let Some(script) = between(page, &format!("<script nonce=\"{nonce}\">"), "</script>") else {
        return false;
    };
    page.contains("<button id=\"milogin-close\" type=\"button\"")
        && script.contains("milogin-close")
        && script.contains("window.close()")
}

#[tokio::test]
async fn a_refused_origin_is_named_with_the_key_to_add_it_to() {
    let env = spawn().await;
    let origin = "https://evil.example<script>alert(1)</script>";
    let (status, csp, page) = get(&authorize(&env, CONN, POOL, APP, origin), None).await;
    assert_eq!(status, 400);
    assert!(page.contains("lang=\"en\""), "{page}");
    // The origin, escaped, and where to register it.
    assert!(
        page.contains("https://evil.example&lt;script&gt;alert(1)&lt;/script&gt;")
            && !page.contains("<script>alert(1)"),
        "{page}"
    );
    assert!(
        page.contains("pools.apps.origins")
            && page.contains(&format!("app <code>{APP}</code>"))
            && page.contains(&format!("pool <code>{POOL}</code>")),
        "{page}"
    );
    assert!(page.contains("data-code=\"origin_not_allowed\""), "{page}");
    assert!(
        close_button_runs_under_the_nonce(&csp, &page),
        "{csp}\n{page}"
    );
    assert!(page.contains(">Close</button>"), "{page}");

    // In Chinese, the same facts.
    let (_, csp, page) = get(
        &authorize(&env, CONN, POOL, APP, origin),
        Some("zh-CN,zh;q=0.9,en;q=0.8"),
    )
    .await;
    assert!(
        page.contains("lang=\"zh-CN\"") && page.contains("登录失败"),
        "{page}"
    );
    assert!(
        page.contains("未在应用")
            && page.contains("pools.apps.origins")
            && page.contains("https://evil.example&lt;script&gt;"),
        "{page}"
    );
    assert!(page.contains(">关闭</button>"), "{page}");
    assert!(
        close_button_runs_under_the_nonce(&csp, &page),
        "{csp}\n{page}"
    );
}

#[tokio::test]
async fn the_language_follows_accept_language_weights() {
    let env = spawn().await;
    let url = || authorize(&env, CONN, POOL, APP, "https://other.example");
    for (lang, zh) in [
        (None, false),
        (Some("zh-CN"), true),
        (Some("en-US,en;q=0.9,zh-CN;q=0.8"), false),
        (Some("fr, zh-TW;q=0.5"), true),
        (Some("en;q=0.2, zh;q=0.7"), true),
        (Some("de"), false),
    ] {
        let (_, _, page) = get(&url(), lang).await;
        assert_eq!(page.contains("lang=\"zh-CN\""), zh, "{lang:?}: {page}");
        assert_eq!(page.contains("登录失败"), zh, "{lang:?}");
        assert_eq!(page.contains("Login failed"), !zh, "{lang:?}");
    }
}

#[tokio::test]
async fn an_unknown_pool_app_or_connection_is_named() {
    let env = spawn().await;
    for (conn, pool, app, named, key) in [
        (CONN, "no-such-pool", APP, "no-such-pool", "pools"),
        (CONN, POOL, "no-such-app", "no-such-app", "pools.apps"),
        (
            "no-such-conn",
            POOL,
            APP,
            "no-such-conn",
            "pools.connections",
        ),
    ] {
        let (status, csp, page) = get(&authorize(&env, conn, pool, app, ORIGIN), None).await;
        assert_eq!(status, 404, "{named}");
        assert!(
            page.contains(&format!("<code>{named}</code>")) && page.contains(key),
            "{named}: {page}"
        );
        assert!(close_button_runs_under_the_nonce(&csp, &page), "{named}");
        let (_, _, page) = get(&authorize(&env, conn, pool, app, ORIGIN), Some("zh-CN")).await;
        assert!(
            page.contains(&format!("<code>{named}</code>")) && page.contains("不存在"),
            "{named}: {page}"
        );
    }
    // An unknown name is escaped like any other text.
    let (_, _, page) = get(&authorize(&env, CONN, POOL, "%3Cb%3Ex", ORIGIN), None).await;
    assert!(page.contains("<code>&lt;b&gt;x</code>"), "{page}");
}

#[tokio::test]
async fn the_result_page_is_translated_and_has_a_close_button() {
    let env = spawn().await;
    let b = Browser::new();
    let req = b
        .start(&env, &Browser::authorize_url(&env, &attempt_id()))
        .await;
    let callback = b.decide(&env, &req, None).await;
    let r = b
        .http
        .get(&callback)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    let (csp, page) = csp_and_text(r).await;
    assert!(
        page.contains("lang=\"zh-CN\"") && page.contains("登录失败") && page.contains("正在返回"),
        "{page}"
    );
    assert!(close_button_runs_under_the_nonce(&csp, &page), "{page}");
    // The message itself is unchanged (the widget reads it).
    match result_of(&page).outcome {
        milogin_shared::Outcome::Failure(e) => {
            assert_eq!(e.code, milogin_shared::ErrorCode::AccessDenied)
        }
        o => panic!("{o:?}"),
    }

    // A success in English.
    let r = b.login(&env, "alice").await;
    let (csp, page) = csp_and_text(r).await;
    assert!(
        page.contains("lang=\"en\"")
            && page.contains("Signed in")
            && page.contains(">Close</button>"),
        "{page}"
    );
    assert!(close_button_runs_under_the_nonce(&csp, &page), "{page}");
}

#[tokio::test]
async fn a_repeated_or_over_long_parameter_is_named_on_the_page() {
    // Issue 20 item 5: serde refuses a repeated key and a `Bounded` field an over-long value;
    // the 400 page says which parameter and why (a key the route does not read is ignored).
    let env = spawn().await;
    let authorize = authorize(&env, CONN, POOL, APP, ORIGIN);
    let callback = format!("{}/connection/social/{CONN}/{POOL}/callback", env.base);
    let long_code = "c".repeat(513);
    for (url, says) in [
        (
            format!("{authorize}&app_id={APP}"),
            "duplicate field `app_id`",
        ),
        (
            format!("{callback}?state=s&code={long_code}&origin=x&origin=y"),
            "code: the value is longer than 512 bytes",
        ),
        (
            format!("{callback}?state=a&state=b"),
            "duplicate field `state`",
        ),
    ] {
        let (status, _, page) = get(&url, None).await;
        assert_eq!(status, 400, "{url}");
        assert!(
            page.contains(&format!("The query is not valid: {says}")),
            "{url}: {page}"
        );
    }
    let bind = format!("{}/connection/social/{CONN}/{POOL}/bind", env.base);
    for (body, says) in [
        ("csrf=a&csrf=b", "duplicate field `csrf`"),
        ("csrf=a&action=delete", "action: unknown form action"),
    ] {
        let r = reqwest::Client::new()
            .post(&bind)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains(&format!("The form is not valid: {says}")),
            "{body}: {page}"
        );
    }
    assert_eq!(counts(&env).await.2, 0, "nothing was stored");
}

#[tokio::test]
async fn an_unknown_bind_form_action_is_refused_without_echoing_it() {
    // The form is read before any CSRF check: a value the client planted in `action` must not
    // come back as text on milogin's origin (serde's "unknown variant `…`" would echo it).
    let env = spawn().await;
    let bind = format!("{}/connection/social/{CONN}/{POOL}/bind", env.base);
    let planted = "Your-account-is-locked.-Call-0800-PLANTED";
    for action in [planted.to_owned(), format!("{planted}{}", "x".repeat(6000))] {
        let r = reqwest::Client::new()
            .post(&bind)
            .form(&[("csrf", "a"), ("action", &action)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("The form is not valid: action: unknown form action"),
            "{page}"
        );
        assert!(!page.contains("PLANTED"), "{page}");
    }
}

#[tokio::test]
async fn an_over_long_authorize_value_gets_the_refusal_page_that_names_the_fix() {
    // Authorize's values are checked against the configuration or their own rule, whatever their
    // length (only the whole query is capped): an over-long one is refused as any wrong one is,
    // on the page that names the fix, not on the generic 400 page of an unreadable query.
    let env = spawn().await;
    let authorize = format!("{}/connection/social/{CONN}/{POOL}/authorize", env.base);
    let long_app = "a".repeat(300);
    let origin = enc(ORIGIN);
    for (query, status, says) in [
        (
            format!("app_id={long_app}&origin={origin}&attempt={}", attempt_id()),
            404,
            format!("There is no app <code>{long_app}</code> in pool <code>{POOL}</code>"),
        ),
        (
            format!(
                "app_id={APP}&origin={origin}&attempt={}&mode={}",
                attempt_id(),
                "p".repeat(100)
            ),
            400,
            "mode must be popup or redirect.".to_owned(),
        ),
        (
            format!("app_id={APP}&origin={origin}&attempt={}", "a".repeat(300)),
            400,
            "The attempt parameter must be 16–128 characters".to_owned(),
        ),
    ] {
        let (got, _, page) = get(&format!("{authorize}?{query}"), None).await;
        assert_eq!(got, status, "{query}: {page}");
        assert!(page.contains(&says), "{query}: {page}");
    }
    assert_eq!(counts(&env).await.2, 0, "nothing was stored");
}

#[tokio::test]
async fn with_no_opener_and_no_return_page_the_result_page_sends_the_person_back() {
    // Issue 19.6: a page whose Cross-Origin-Opener-Policy cut the window off, with no return page
    // registered: the result page's script finds no opener and nowhere to go, and shows the
    // status line's `data-closed` text. The person must learn that the site got nothing.
    let env = spawn().await;
    for (lang, said) in [
        (
            "en",
            "data-closed=\"The site could not receive the result of this sign-in. Please close this window and return to the site.\"",
        ),
        (
            "zh-CN,zh;q=0.9",
            "data-closed=\"网站未能收到本次登录的结果。请关闭此窗口，返回网站。\"",
        ),
    ] {
        let b = Browser::new();
        let req = b
            .start(&env, &Browser::authorize_url(&env, &attempt_id()))
            .await;
        let callback = b.decide(&env, &req, Some("alice")).await;
        let r = b
            .http
            .get(&callback)
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        let page = r.text().await.unwrap();
        assert!(page.contains(said), "{lang}: {page}");
        // No return page is registered: the script has nowhere to send the result.
        assert!(
            page.contains(r#"<script type="application/json" id="milogin-return">null</script>"#),
            "{page}"
        );
    }
}

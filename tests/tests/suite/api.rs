//! The login spine over real HTTP: the whole popup flow, and the security.md X-cases of the
//! authorize and callback endpoints. Every negative case asserts the response, the token calls
//! the mock received, and the rows in the database.

use milogin_server::mock_xiaomi::Faults;
use milogin_shared::{ErrorCode, Outcome};
use milogin_tests::*;

fn ok_user(m: &milogin_shared::ResultMessage) -> (&str, &milogin_shared::UserInfo) {
    match &m.outcome {
        Outcome::Success { id_token, user } => (id_token, user),
        Outcome::Failure(e) => panic!("expected success, got {e:?}"),
    }
}

fn err_code(m: &milogin_shared::ResultMessage) -> ErrorCode {
    match &m.outcome {
        Outcome::Failure(e) => e.code,
        Outcome::Success { .. } => panic!("expected an error result"),
    }
}

/// Starts a flow and returns (browser, callback URL with code and state, attempt id).
async fn approved(env: &Env, account: &str) -> (Browser, String, String) {
    let b = Browser::new();
    let attempt = attempt_id();
    let req = b.start(env, &Browser::authorize_url(env, &attempt)).await;
    let cb = b.decide(env, &req, Some(account)).await;
    (b, cb, attempt)
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}

fn param(url: &str, key: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn a_whole_popup_login_delivers_a_verifiable_token_to_the_recorded_origin() {
    let env = spawn().await;
    let (b, cb, attempt) = approved(&env, "alice").await;
    let r = b.get(&cb).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let page = r.text().await.unwrap();
    let m = result_of(&page);
    assert_eq!(m.attempt, attempt);
    assert_eq!(target_of(&page), ORIGIN);
    let (token, user) = ok_user(&m);
    assert!(user.new_user);
    assert_eq!(user.connection, CONN);
    assert_eq!(user.nickname, "Alice Wang");
    let claims = verify(&env, POOL, token, APP).await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["nonce"], attempt.as_str());
    assert_eq!(claims["name"], "Alice Wang");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // Page hardening (design.md §7).
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'nonce-")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h.get("cross-origin-opener-policy").is_none());
    assert!(page.contains("postMessage(m,t)") && !page.contains("'*'"));

    let calls = env.mock.calls();
    assert_eq!((calls.token, calls.profile), (1, 1));
    assert_eq!(calls.openid, 0, "openId came with the token");
    let rec = env.mock.last_token_request().unwrap();
    assert_eq!(rec.method, "POST");
    assert!(!rec.client_secret_in_query);
    assert_eq!(
        rec.redirect_uri.unwrap(),
        format!("{}/connection/social/{CONN}/{POOL}/callback", env.base)
    );
    assert_eq!(counts(&env).await.0, 1);
    assert_eq!(counts(&env).await.1, 1);

    // The same Xiaomi user again: same user, nothing new.
    let r2 = Browser::new().login(&env, "alice").await;
    let m2 = result_of(&r2.text().await.unwrap());
    let (_, user2) = ok_user(&m2);
    assert_eq!(user2.id, user.id);
    assert!(!user2.new_user);
    assert_eq!(&counts(&env).await.0, &1);

    // userinfo accepts the token; a forged one is refused.
    let ui: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/pools/{POOL}/userinfo?app_id={APP}", env.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["sub"], user.id.as_str());
    let bad = reqwest::Client::new()
        .get(format!("{}/pools/{POOL}/userinfo?app_id={APP}", env.base))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    // A token of pool-a does not verify against pool-b's key (T-17, X-71).
    let other = reqwest::Client::new()
        .get(format!("{}/pools/pool-b/userinfo?app_id={APP}", env.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn authorize_redirects_to_xiaomi_with_exact_parameters_and_a_binding_cookie() {
    //
    let env = spawn().await;
    let b = Browser::new();
    let r = b.get(&Browser::authorize_url(&env, &attempt_id())).await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("milogin-")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let loc = location(&r);
    let u = url::Url::parse(&loc).unwrap();
    assert_eq!(u.path(), "/oauth2/authorize");
    let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "2882303761520000000");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/connection/social/{CONN}/{POOL}/callback", env.base)
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "1 3");
    assert_eq!(q["skip_confirm"], "false");
    assert!(q["state"].len() >= 43, "state must carry ≥128 bits");
    assert_eq!(q.len(), 6, "{q:?}");
    assert_eq!(counts(&env).await.2, 1);
    let r2 = b.get(&Browser::authorize_url(&env, &attempt_id())).await;
    assert_ne!(param(&location(&r2), "state"), q["state"]);
}

#[tokio::test]
async fn authorize_refuses_unknown_ids_unregistered_origins_and_bad_input_storing_nothing() {
    //
    let env = spawn().await;
    let b = Browser::new();
    let a = attempt_id();
    let url = |uid: &str, pool: &str, app: &str, origin: &str| {
        format!(
            "{}/connection/social/{uid}/{pool}/authorize?app_id={app}&origin={}&attempt={a}",
            env.base,
            enc(origin)
        )
    };
    for (u, status) in [
        (url("nope", POOL, APP, ORIGIN), 404),
        (url(CONN, "nope", APP, ORIGIN), 404),
        (url(CONN, POOL, "nope", ORIGIN), 404),
        (url("..%2f..%2fetc", POOL, APP, ORIGIN), 404),
        (url(&"x".repeat(10_000), POOL, APP, ORIGIN), 404),
    ] {
        let r = b.get(&u).await;
        assert_eq!(r.status(), status, "{u}");
        assert!(r.headers().get("set-cookie").is_none());
    }
    for origin in [
        "https://shop.example.com.evil.com",
        "https://shop.example.com@evil.com",
        "https://evil.com/shop.example.com",
        "https://evil.com#shop.example.com",
        "https://shop.example.com.",
        "http://shop.example.com",
        "https://shop.example.com:8443",
        "null",
        "file://shop.example.com",
        "javascript:alert(1)",
        "data:text/html,x",
        "https://xn--shp-example-xyz.com",
        "https://shop.example.com%00",
        "https://shop.example.com\r\n",
        "https%3A%2F%2Fshop.example.com",
    ] {
        let r = b.get(&url(CONN, POOL, APP, origin)).await;
        assert_eq!(r.status(), 400, "{origin:?} accepted");
        assert!(r.headers().get("set-cookie").is_none());
        let page = r.text().await.unwrap();
        assert!(
            page.contains("origin_not_allowed") && !page.contains("milogin-result"),
            "{origin:?}"
        );
    }
    // Normalised spellings of the registered origin are the same origin (each start with its
    // own attempt id: an id is used once).
    for origin in ["HTTPS://SHOP.EXAMPLE.COM", "https://shop.example.com:443"] {
        let u = url(CONN, POOL, APP, origin).replace(&a, &attempt_id());
        assert_eq!(b.get(&u).await.status(), 302, "{origin}");
    }
    let base = format!("{}/connection/social/{CONN}/{POOL}/authorize", env.base);
    for q in [
        format!("app_id={APP}&attempt={a}"), // origin missing
        format!("app_id={APP}&origin={}&attempt=short", enc(ORIGIN)), // bad attempt
        format!(
            "app_id={APP}&origin={}&attempt={a}&mode=iframe",
            enc(ORIGIN)
        ), // bad mode
        format!(
            "app_id={APP}&app_id={APP}&origin={}&attempt={a}",
            enc(ORIGIN)
        ), // duplicate
        format!(
            "app_id={APP}&origin={}&attempt={a}&pad={}",
            enc(ORIGIN),
            "x".repeat(9000)
        ), // oversized
    ] {
        let r = b.get(&format!("{base}?{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
    }
    let head = b
        .http
        .head(url(CONN, POOL, APP, ORIGIN))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 405);
    assert_eq!(
        counts(&env).await.2,
        2,
        "only the two normalised-origin starts stored an attempt"
    );
    assert_eq!(env.mock.calls().authorize, 0);
}

#[tokio::test]
async fn a_connection_not_enabled_for_the_app_is_an_error_result_for_the_registered_origin() {
    let env = spawn().await;
    let a = attempt_id();
    let r = Browser::new()
        .get(&format!(
            "{}/connection/social/{CONN}/{POOL}/authorize?app_id=app-no-conn&origin={}&attempt={a}",
            env.base,
            enc(ORIGIN)
        ))
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    let m = result_of(&page);
    assert_eq!(
        (m.attempt.as_str(), err_code(&m)),
        (a.as_str(), ErrorCode::ConnectionNotEnabled)
    );
    assert_eq!(target_of(&page), ORIGIN);
    assert_eq!(counts(&env).await.2, 0);
}

#[tokio::test]
async fn callbacks_without_a_usable_state_call_nobody_and_write_nothing() {
    //
    let env = spawn().await;
    let (b, cb, _) = approved(&env, "alice").await;
    let state = param(&cb, "state");
    let code = param(&cb, "code");
    let base = format!("{}/connection/social/{CONN}/{POOL}/callback", env.base);
    let mut flipped = state.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for q in [
        format!("code={code}"),
        String::new(),
        format!("code={code}&state=random-{}", attempt_id()),
        format!("code={code}&state={flipped}"),
        format!("code={code}&state={}", &state[..state.len() - 1]),
        format!("code={code}&state={state}AAAA"),
        format!("code={code}&state=eyJhbGciOiJub25lIn0.e30."),
        format!("code={code}&state={state}&state={state}"),
        format!("code={code}&code={code}&state={state}"),
        "error=96012&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=nope".to_string(),
        format!("code={}&state={state}", "c".repeat(5000)),
        format!("code={code}&state=%ZZ%C0%AF%00"),
    ] {
        let r = b.get(&format!("{base}?{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
        let page = r.text().await.unwrap();
        assert!(
            !page.contains("milogin-result"),
            "no message may be posted: {q}"
        );
        assert!(!page.contains("<script>alert"), "reflected: {q}");
    }
    assert_eq!(b.http.head(&cb).send().await.unwrap().status(), 405);
    assert_eq!(env.mock.calls().token, 0);
    assert_eq!(counts(&env).await.0, 0);
    // The untouched state still works afterwards: nothing above consumed it.
    let r = b.get(&cb).await;
    assert!(result_of(&r.text().await.unwrap()).is_ok());
}

#[tokio::test]
async fn a_replayed_callback_is_refused_without_a_second_token_call() {
    //
    let env = spawn().await;
    let (b, cb, _) = approved(&env, "alice").await;
    assert!(result_of(&b.get(&cb).await.text().await.unwrap()).is_ok());
    let r = b.get(&cb).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("already used") && !page.contains("milogin-result"),
        "a replay emits no contradicting result"
    );
    assert_eq!(env.mock.calls().token, 1);
    assert_eq!(counts(&env).await.0, 1);
}

#[tokio::test]
async fn twenty_concurrent_replays_make_exactly_one_token_call() {
    //
    let env = spawn().await;
    let (b, cb, _) = approved(&env, "bob").await;
    let b = std::sync::Arc::new(b);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (b, cb) = (b.clone(), cb.clone());
            tokio::spawn(async move {
                let r = b.get(&cb).await;
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (status, page) = t.await.unwrap();
        if status == 200 {
            assert!(result_of(&page).is_ok());
            ok += 1;
        } else {
            assert_eq!(status, 400);
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(env.mock.calls().token, 1);
    assert_eq!(counts(&env).await.0, 1);
}

#[tokio::test]
async fn a_callback_from_another_browser_or_with_a_foreign_cookie_is_refused() {
    // X-19, X-20 (login CSRF)
    let env = spawn().await;
    let (_victim_of_csrf, cb, attempt) = approved(&env, "mallory").await;
    let r = Browser::new().get(&cb).await; // the attacker's code + state in another browser
    assert_eq!(r.status(), 400);
    let m = result_of(&r.text().await.unwrap());
    assert_eq!(
        (m.attempt.as_str(), err_code(&m)),
        (attempt.as_str(), ErrorCode::InvalidState)
    );

    // A browser holding the cookie of *another* attempt.
    let (b2, cb2, _) = approved(&env, "alice").await;
    let (_, cb3, _) = approved(&env, "bob").await;
    let r = b2.get(&cb3).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        err_code(&result_of(&r.text().await.unwrap())),
        ErrorCode::InvalidState
    );
    assert_eq!(env.mock.calls().token, 0);
    assert_eq!(counts(&env).await.0, 0);
    // b2's own flow is unaffected.
    assert!(result_of(&b2.get(&cb2).await.text().await.unwrap()).is_ok());
}

#[tokio::test]
async fn a_state_presented_at_another_pool_or_connection_is_refused() {
    // X-21, T-03
    let env = spawn().await;
    for (uid, pool) in [("xiaomi-2", POOL), (CONN, "pool-b")] {
        let (b, cb, _) = approved(&env, "alice").await;
        let moved = cb.replace(
            &format!("/connection/social/{CONN}/{POOL}/"),
            &format!("/connection/social/{uid}/{pool}/"),
        );
        assert_ne!(moved, cb);
        let r = b.get(&moved).await;
        assert_eq!(r.status(), 400);
        assert!(!r.text().await.unwrap().contains("milogin-result"));
    }
    assert_eq!(env.mock.calls().token, 0);
    assert_eq!(counts(&env).await.0, 0);
}

#[tokio::test]
async fn extra_callback_parameters_are_ignored() {
    // X-23, X-05 (Xiaomi lets anyone append query parameters to our callback)
    let env = spawn().await;
    let (b, cb, attempt) = approved(&env, "alice").await;
    let evil = format!("{cb}&origin=https%3A%2F%2Fevil.example&hostOrigin=https%3A%2F%2Fevil.example&redirect_uri=https%3A%2F%2Fevil.example&mode=redirect&pool=pool-b&attempt=zzzzzzzzzzzzzzzzzz");
    let r = b.get(&evil).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert_eq!(target_of(&page), ORIGIN);
    let m = result_of(&page);
    assert_eq!(m.attempt, attempt);
    assert!(m.is_ok());
}

#[tokio::test]
async fn an_expired_state_ends_in_state_expired_without_calling_xiaomi() {
    //
    let env = spawn().await;
    let (b, cb, _) = approved(&env, "alice").await;
    env.clock.advance(601);
    let r = b.get(&cb).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        err_code(&result_of(&r.text().await.unwrap())),
        ErrorCode::StateExpired
    );
    assert_eq!(env.mock.calls().token, 0);
    assert_eq!(counts(&env).await.0, 0);
}

#[tokio::test]
async fn denied_consent_is_access_denied_and_the_description_is_never_reflected() {
    // X-24, F8
    let env = spawn().await;
    let b = Browser::new();
    let attempt = attempt_id();
    let req = b.start(&env, &Browser::authorize_url(&env, &attempt)).await;
    let cb = b.decide(&env, &req, None).await;
    assert_eq!(param(&cb, "error"), "96012");
    let cb = with_param(
        &cb,
        "error_description",
        "</script><script>alert(1)</script>",
    );
    let r = b.get(&cb).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script>alert(1)"));
    let m = result_of(&page);
    assert_eq!(
        (m.attempt.as_str(), err_code(&m)),
        (attempt.as_str(), ErrorCode::AccessDenied)
    );
    assert_eq!(env.mock.calls().token, 0);
    assert_eq!(counts(&env).await.0, 0);
    assert_eq!(b.get(&cb).await.status(), 400, "the state was consumed");
}

#[tokio::test]
async fn a_wrong_secret_is_a_provider_error_after_exactly_one_token_call() {
    // F4, X-35 (no retry of the exchange)
    let env = spawn_with(Options {
        secret: "not-the-secret".into(),
        ..Options::default()
    })
    .await;
    let r = Browser::new().login(&env, "alice").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        err_code(&result_of(&r.text().await.unwrap())),
        ErrorCode::ProviderError
    );
    assert_eq!(env.mock.calls().token, 1);
    assert_eq!(env.mock.calls().profile, 0);
    assert_eq!(counts(&env).await.0, 0);
}

#[tokio::test]
async fn a_reused_code_in_a_fresh_flow_is_refused_by_xiaomi_and_creates_nothing() {
    // F2, X-30 (code injection: the attacker's own fresh state with someone else's used code)
    let env = spawn().await;
    let (b, cb, _) = approved(&env, "alice").await;
    assert!(result_of(&b.get(&cb).await.text().await.unwrap()).is_ok());
    let (b2, cb2, _) = approved(&env, "bob").await;
    let injected = with_param(&cb2, "code", &param(&cb, "code"));
    let r = b2.get(&injected).await;
    assert_eq!(
        err_code(&result_of(&r.text().await.unwrap())),
        ErrorCode::ProviderError
    );
    assert_eq!(env.mock.calls().token, 2);
    assert_eq!(counts(&env).await.0, 1);
}

#[tokio::test]
async fn login_only_refuses_an_unknown_xiaomi_user_and_writes_nothing() {
    let env = spawn_with(Options {
        login_mode: LoginMode::LoginOnly,
        ..Options::default()
    })
    .await;
    let r = Browser::new().login(&env, "alice").await;
    assert_eq!(
        err_code(&result_of(&r.text().await.unwrap())),
        ErrorCode::UserNotFound
    );
    assert_eq!((counts(&env).await.0, counts(&env).await.1), (0, 0));
}

#[tokio::test]
async fn xiaomi_faults_end_in_error_results_and_write_nothing() {
    // A first cut of; the hardening issue adds the rest.
    let env = spawn().await;
    let cases: Vec<(Faults, ErrorCode)> = vec![
        (
            Faults {
                token_status: Some(503),
                ..Faults::default()
            },
            ErrorCode::ProviderUnavailable,
        ),
        (
            Faults {
                error_200: true,
                ..Faults::default()
            },
            ErrorCode::ProviderError,
        ), // paired with a bad code below
        (
            Faults {
                malformed: Some("<html>oops</html>".into()),
                ..Faults::default()
            },
            ErrorCode::ProviderError,
        ),
        (
            Faults {
                profile_error: Some(96008),
                ..Faults::default()
            },
            ErrorCode::ProviderError,
        ),
        (
            Faults {
                hang: true,
                ..Faults::default()
            },
            ErrorCode::ProviderUnavailable,
        ),
    ];
    for (faults, expected) in cases {
        env.mock.set_faults(faults.clone());
        let (b, cb, _) = approved(&env, "alice").await;
        let cb = if faults.error_200 {
            with_param(&cb, "code", "not-a-code")
        } else {
            cb
        };
        let r = b.get(&cb).await;
        assert_eq!(
            err_code(&result_of(&r.text().await.unwrap())),
            expected,
            "{faults:?}"
        );
        assert_eq!(counts(&env).await.0, 0, "{faults:?}");
    }
}

#[tokio::test]
async fn the_openid_fallback_and_prefix_variants_work() {
    let env = spawn().await;
    let variants = [
        (
            "alice",
            Faults {
                no_prefix: true,
                omit_union_id: true,
                stringify_numbers: true,
                ..Faults::default()
            },
        ),
        (
            "bob",
            Faults {
                prefix_space: true,
                prefix_newline: true,
                ..Faults::default()
            },
        ),
    ];
    for (account, faults) in variants {
        env.mock.set_faults(faults);
        let m = login_message(&env, account).await;
        assert!(m.is_ok(), "{account}: {m:?}");
    }
    assert_eq!(counts(&env).await.0, 2);
}

#[tokio::test]
async fn redirect_mode_lands_on_the_registered_uri_with_the_result_in_the_fragment() {
    // Issue 21.6: the fragment carries a one-time code, never the token; only the verifier of the
    // challenge sent at authorize redeems it (once), and the answer is the result message.
    use base64::Engine as _;
    use sha2::Digest as _;
    let env = spawn().await;
    let b = Browser::new();
    let attempt = attempt_id();
    let done = format!("{ORIGIN}/login/done");
    let verifier = "v".repeat(43);
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
    let url = Browser::redirect_url(&env, &attempt, &done) + "&code_challenge=" + &challenge;
    let r = b.login_at(&env, &url, "carol").await;
    let (loc, f) = redirected_to(&r, &done);
    assert!(!loc.contains("id_token") && !loc.contains("eyJ"), "{loc}");
    assert_eq!(f["attempt"], attempt);
    let wrong = redeem_widget_code(&env, &f["code"], &"w".repeat(43), &done).await;
    assert_eq!(wrong.status(), 400, "another verifier redeems nothing");
    // A wrong verifier spent the code (one redeem): the login starts again for the right one.
    let attempt = attempt_id();
    let url = url.replace(&f["attempt"], &attempt);
    let loc = location(&b.login_at(&env, &url, "carol").await);
    let f = fragment_fields(&loc);
    let ok = redeem_widget_code(&env, &f["code"], &verifier, &done).await;
    assert_eq!(ok.status(), 200, "{loc}");
    assert_eq!(ok.headers()["access-control-allow-origin"], ORIGIN);
    let m: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(
        (
            &m["type"],
            &m["ok"],
            &m["attempt"],
            &m["user"]["connection"]
        ),
        (
            &serde_json::json!("milogin:result"),
            &serde_json::json!(true),
            &serde_json::json!(attempt),
            &serde_json::json!(CONN)
        )
    );
    let claims = verify(&env, POOL, m["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(claims["nonce"], attempt.as_str());
    assert_eq!(m["user"]["id"], claims["sub"]);
    let replay = redeem_widget_code(&env, &f["code"], &verifier, &done).await;
    assert_eq!(replay.status(), 400, "a code redeems once");
    // Without a challenge, or with one that is not S256's, redirect mode does not start: the
    // page names the fix before the person goes to Xiaomi.
    let without = url
        .replace(&attempt, &attempt_id())
        .replace(&format!("&code_challenge={challenge}"), "");
    let malformed = url
        .replace(&attempt, &attempt_id())
        .replace(&challenge, "too-short");
    for (url, names) in [
        (without, "Redirect mode needs code_challenge"),
        (malformed, "43 characters"),
    ] {
        let r = b.get(&url).await;
        assert_eq!(r.status(), 400);
        let page = r.text().await.unwrap();
        assert!(
            page.contains(names) && page.contains("invalid_request"),
            "{page}"
        );
    }
    for bad in [
        format!("{ORIGIN}/login/done/"),
        format!("{ORIGIN}/login/done?x=1"),
        "https://evil.example/login/done".into(),
        format!("{ORIGIN}/login/done#"),
    ] {
        // With a good challenge: the redirect URI alone is what is refused.
        let u = Browser::redirect_url(&env, &attempt, &bad) + "&code_challenge=" + &challenge;
        let r = b.get(&u).await;
        assert_eq!(r.status(), 400, "{bad}");
        let page = r.text().await.unwrap();
        assert!(page.contains("redirect_uri"), "{bad}: {page}");
    }
}

#[tokio::test]
async fn a_long_registered_redirect_uri_logs_in_as_milogin_check_accepts_it() {
    // `milogin check` sets no length on a redirect URI: one of ~2,500 bytes is registered, and
    // the login through it reaches Xiaomi and lands on it (only the whole query is capped, 4 KiB).
    let done = format!("{ORIGIN}/login/{}", "a".repeat(2_500));
    let env = spawn_with(Options {
        redirect_uris: vec![done.clone()],
        ..Options::default()
    })
    .await;
    let b = Browser::new();
    let attempt = attempt_id();
    let url = Browser::redirect_url(&env, &attempt, &done)
        + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let r = b.login_at(&env, &url, "carol").await;
    let (loc, f) = redirected_to(&r, &done);
    // The one-time code, never the token; redeemed with this long URI (the token endpoint reads
    // values up to 8 KiB) and the verifier of RFC 7636's example challenge.
    assert_eq!(f["attempt"], attempt);
    assert!(f["code"].len() >= 43 && !loc.contains("id_token"), "{loc}");
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let m = redeemed_message(&env, &f["code"], verifier, &done).await;
    assert_eq!(
        (&m["ok"], &m["attempt"]),
        (&serde_json::json!(true), &serde_json::json!(attempt)),
        "{m}"
    );
}

#[tokio::test]
async fn several_concurrent_flows_all_succeed_with_one_exchange_each() {
    let env = std::sync::Arc::new(spawn().await);
    let accounts = [
        "alice", "bob", "carol", "alice", "bob", "carol", "alice", "bob",
    ];
    let tasks: Vec<_> = accounts
        .iter()
        .map(|a| {
            let (env, a) = (env.clone(), a.to_string());
            tokio::spawn(async move {
                let r = Browser::new().login(&env, &a).await;
                let m = result_of(&r.text().await.unwrap());
                let (token, _) = ok_user(&m);
                verify(&env, POOL, token, APP).await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(env.mock.calls().token, accounts.len() as u64);
    assert_eq!(counts(&env).await.0, 3);
    assert_eq!(counts(&env).await.1, 3);
}

/// The widget's fetch of the default app's connections, from a page of `origin`.
async fn connections_from(env: &Env, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!(
            "{}/api/v1/pools/{POOL}/apps/{APP}/connections",
            env.base
        ))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_page_without_an_origin_is_told_to_serve_itself_over_http() {
    // A `file://` page (or a sandboxed frame) sends `Origin: null`: registering "null" is not
    // the fix, serving the page is.
    let env = spawn().await;
    let r = connections_from(&env, "null").await;
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "origin_not_allowed", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("file://") && message.contains("serve the page over http(s)"),
        "{message}"
    );
}

#[tokio::test]
async fn public_endpoints_connections_discovery_health() {
    let env = spawn().await;
    let c = reqwest::Client::new();
    let r = connections_from(&env, ORIGIN).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    let list: Vec<milogin_shared::ConnectionInfo> = r.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].unique_id.as_str(), list[0].display_name.as_str()),
        (CONN, "Sign in with Xiaomi")
    );
    let r = connections_from(&env, "https://evil.example").await;
    // A foreign page never reads the list: it gets the refusal, which names only its own origin
    // (issue 13: readable, so the widget can fire `origin_not_allowed` at once).
    assert_eq!(r.status(), 403);
    let refusal = r.text().await.unwrap();
    assert!(
        refusal.contains("origin_not_allowed") && !refusal.contains("Sign in with Xiaomi"),
        "{refusal}"
    );
    let d = discovery(&env).await;
    assert_eq!(d["issuer"], format!("{}/pools/{POOL}", env.base));
    assert_eq!(d["id_token_signing_alg_values_supported"][0], "ES256");
    for (path, status) in [
        (format!("/api/v1/pools/{POOL}/apps/nope/connections"), 404),
        ("/pools/nope/.well-known/jwks.json".into(), 404),
        ("/healthz".into(), 200),
        ("/readyz".into(), 200),
    ] {
        let r = c.get(format!("{}{path}", env.base)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
}

#[tokio::test]
async fn hostile_nicknames_are_escaped_in_the_page_and_valid_in_the_json() {
    // X-48 (first cut)
    let env = spawn().await;
    env.mock.set_faults(Faults {
        nickname_override: Some("</script><script>alert(1)</script>\u{2028}\"'&".into()),
        ..Faults::default()
    });
    let page = Browser::new()
        .login(&env, "alice")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>alert(1)"));
    let m = result_of(&page);
    assert_eq!(
        ok_user(&m).1.nickname,
        "</script><script>alert(1)</script> \"'&".trim()
    );
}

#[tokio::test]
async fn a_callback_with_neither_code_nor_error_is_an_invalid_request_without_calls() {
    //
    let env = spawn().await;
    let (b, cb, attempt) = approved(&env, "alice").await;
    let state = param(&cb, "state");
    let r = b
        .get(&format!(
            "{}/connection/social/{CONN}/{POOL}/callback?state={}",
            env.base,
            enc(&state)
        ))
        .await;
    assert_eq!(r.status(), 400);
    let m = result_of(&r.text().await.unwrap());
    assert_eq!(
        (m.attempt.as_str(), err_code(&m)),
        (attempt.as_str(), ErrorCode::InvalidRequest)
    );
    assert_eq!(env.mock.calls().token, 0);
    assert_eq!(counts(&env).await.0, 0);
}

#[tokio::test]
async fn two_tabs_of_one_browser_finish_independently() {
    // X-08 (session overwriting): interleaved logins in one cookie jar.
    let env = spawn().await;
    let b = Browser::new();
    let (a1, a2) = (attempt_id(), attempt_id());
    let r1 = b.start(&env, &Browser::authorize_url(&env, &a1)).await;
    let r2 = b.start(&env, &Browser::authorize_url(&env, &a2)).await;
    let cb2 = b.decide(&env, &r2, Some("bob")).await;
    let cb1 = b.decide(&env, &r1, Some("alice")).await;
    let m2 = result_of(&b.get(&cb2).await.text().await.unwrap());
    let m1 = result_of(&b.get(&cb1).await.text().await.unwrap());
    assert_eq!(
        (m1.attempt.as_str(), ok_user(&m1).1.nickname.as_str()),
        (a1.as_str(), "Alice Wang")
    );
    assert_eq!(
        (m2.attempt.as_str(), ok_user(&m2).1.nickname.as_str()),
        (a2.as_str(), "Bob")
    );
}

#[tokio::test]
async fn forwarded_host_headers_never_change_the_urls_we_build() {
    // X-09, T-24
    let env = spawn().await;
    let r = Browser::new()
        .http
        .get(Browser::authorize_url(&env, &attempt_id()))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "host=evil.example;proto=https")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = location(&r);
    assert_eq!(
        param(&loc, "redirect_uri"),
        format!("{}/connection/social/{CONN}/{POOL}/callback", env.base)
    );
    assert!(!loc.contains("evil"));
}

#[tokio::test]
async fn redirect_mode_refuses_every_open_redirect_trick() {
    // X-05, T-10: only the byte-exact registered URI passes.
    let env = spawn().await;
    let b = Browser::new();
    let a = attempt_id();
    for bad in [
        "https://shop.example.com/login/done/../../evil",
        "https://shop.example.com/login/done/.",
        "https://shop.example.com/login/done%2f..%2fevil",
        "https://shop.example.com\\@evil.example/login/done",
        "https://shop.example.com/login/done\\",
        "https://shop.example.com/ /login/done",
        "https://shop.example.com/login/done\t",
        "https://shop.example.com/login/done\r\nLocation: https://evil.example",
        "//evil.example/login/done",
        "/login/done",
        "https:/\\evil.example/login/done",
        "https://evil.example/https://shop.example.com/login/done",
        "https://shop.example.com.evil.example/login/done",
        "https://shop.example.com@evil.example/login/done",
        "HTTPS://SHOP.EXAMPLE.COM/login/done",
        "https://shop.example.com:443/login/done",
        "http://shop.example.com/login/done",
        "javascript:alert(1)//https://shop.example.com/login/done",
        "data:text/html,<script>alert(1)</script>",
        "https%3A%2F%2Fshop.example.com%2Flogin%2Fdone",
        "",
    ] {
        // With a good challenge: the redirect URI alone is what is refused.
        let u = Browser::redirect_url(&env, &a, bad)
            + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let r = b.get(&u).await;
        assert_eq!(r.status(), 400, "{bad:?}");
        assert!(r.headers().get("location").is_none(), "{bad:?}");
    }
    assert_eq!(counts(&env).await.2, 0);
}

#[tokio::test]
async fn oversized_and_repeated_queries_are_refused_fast() {
    //
    let env = spawn().await;
    let b = Browser::new();
    let base = Browser::authorize_url(&env, &attempt_id());
    let many: String = (0..1000).map(|i| format!("&p{i}=x")).collect();
    for u in [
        format!("{base}{many}"),
        format!("{base}&x={}", "a".repeat(60 * 1024)),
        format!("{base}&origin={}", enc(ORIGIN)),
    ] {
        let r = b.get(&u).await;
        assert!(
            r.status() == 400 || r.status() == 414 || r.status() == 431,
            "{}",
            r.status()
        );
    }
    assert_eq!(counts(&env).await.2, 0);
}

#[tokio::test]
async fn served_pages_never_post_to_star_nor_use_inline_handlers() {
    // X-75 (server side; the widget's JS is checked by the browser suite)
    let env = spawn().await;
    let ok = Browser::new()
        .login(&env, "mallory")
        .await
        .text()
        .await
        .unwrap();
    let err = Browser::new()
        .get(&format!(
            "{}/connection/social/{CONN}/{POOL}/callback?state=x",
            env.base
        ))
        .await
        .text()
        .await
        .unwrap();
    for page in [ok, err] {
        assert!(!page.contains("'*'") && !page.contains("\"*\""));
        assert!(!page.contains("innerHTML"));
        for handler in [" onclick=", " onload=", " onerror=", "javascript:"] {
            assert!(!page.contains(handler), "{handler} in {page}");
        }
        let scripts = page.matches("<script").count();
        let typed = page.matches("<script type=\"application/json\"").count();
        let nonced = page.matches("<script nonce=\"").count();
        assert_eq!(
            scripts,
            typed + nonced,
            "every executable script carries the nonce"
        );
    }
}

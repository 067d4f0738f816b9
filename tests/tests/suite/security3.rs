//! Security, round three (issue 18), through HTTP: a token crosses no app at `/userinfo`, and
//! the experience-login ticket starts a login only from the server's own origin. The
//! process-level items (per-client connection and pending caps, `milogin keys`, `milogin check`)
//! are in `server/tests/process/security3.rs`.

use milogin_shared::Outcome;
use milogin_tests::*;

/// A real popup login of `account` to app `APP`: its id_token.
async fn token_of(env: &Env, account: &str) -> String {
    match login_message(env, account).await.outcome {
        Outcome::Success { id_token, .. } => id_token,
        other => panic!("login failed: {other:?}"),
    }
}

/// `GET /pools/{POOL}/userinfo[?app_id=app]` with `token`: status and JSON body.
async fn userinfo(env: &Env, app: Option<&str>, token: &str) -> (u16, serde_json::Value) {
    let mut url = format!("{}/pools/{POOL}/userinfo", env.base);
    if let Some(a) = app {
        url.push_str(&format!("?app_id={}", enc(a)));
    }
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn userinfo_refuses_a_token_of_another_app_and_names_the_app_it_was_for() {
    // Issue 18 item 3: app B's token must not log its user into app A, which checks through
    // userinfo. The token below is one the server signed for app B (`app-no-conn` of the pool).
    let env = spawn().await;
    let token_a = token_of(&env, "alice").await;
    let claims = verify(&env, POOL, &token_a, APP).await;
    let now = milogin_server::state::Clock::now(env.clock.as_ref());
    let key = env.state.keys.signer(POOL, now).await.unwrap();
    let token_b = key.sign(&milogin_server::token::Claims {
        aud: "app-no-conn".into(),
        ..serde_json::from_value(claims.clone()).unwrap()
    });

    let (status, body) = userinfo(&env, Some(APP), &token_b).await;
    assert_eq!(status, 401, "app B's token at app A: {body}");
    assert_eq!(body["aud"], "app-no-conn", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("app-no-conn") && message.contains(APP),
        "{message}"
    );

    let (status, body) = userinfo(&env, Some(APP), &token_a).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], claims["sub"]);
    assert_eq!(
        body["aud"], APP,
        "the answer says which app the token is for"
    );
    let (status, _) = userinfo(&env, Some("app-no-conn"), &token_b).await;
    assert_eq!(status, 200, "app B's token at app B");

    // Without naming the app, nothing is accepted: the caller must say whose token it expects.
    let (status, body) = userinfo(&env, None, &token_a).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("app_id"),
        "{body}"
    );
    let (status, _) = userinfo(&env, Some("no-such-app"), &token_a).await;
    assert_eq!(status, 404);
}

const ADMIN: &str = "operator-token-0123456789";

fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN}"))
    )
}

#[tokio::test]
async fn the_try_ticket_starts_a_login_only_from_the_servers_own_origin() {
    // Issue 18 item 4: the ticket cookie is SameSite=Strict, so a page of the same *site* (another
    // port, a sibling subdomain) still sends it. Where the browser says where a request comes
    // from (`Sec-Fetch-Site`), only `same-origin` may use the ticket; a refusal leaves it usable.
    let env = spawn_with(Options {
        admin_token: Some(ADMIN.into()),
        ..Options::default()
    })
    .await;
    let b = Browser::new();
    let page = b
        .http
        .get(format!("{}/connection/social/{CONN}/{POOL}/try", env.base))
        .header("authorization", basic())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let authorize = format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id=__try__&origin={}&mode=popup&attempt=",
        env.base,
        enc(&env.base)
    );
    for site in ["same-site", "cross-site", "none"] {
        let r = b
            .http
            .get(format!("{authorize}{}", attempt_id()))
            .header("sec-fetch-site", site)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "Sec-Fetch-Site: {site}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains("same origin") || text.contains("同源"),
            "{text}"
        );
    }
    assert_eq!(counts(&env).await.2, 0, "no attempt stored");
    let r = b
        .http
        .get(format!("{authorize}{}", attempt_id()))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        302,
        "the try page's own window starts the login"
    );
}

#[tokio::test]
async fn keys_are_wrapped_in_place_on_this_store() {
    // Issue 18 item 8, on the suite's store (SQLite, and PostgreSQL in `cargo xtask test`):
    // `keys wrap` rewrites a stored key in place, and only the same KEK opens it again.
    use base64::Engine;
    use milogin_server::crypto::Kek;
    use milogin_server::keys::{wrap_all, AtRest, Keys};
    let env = spawn().await;
    let store = env.state.store.clone();
    let now = milogin_server::state::Clock::now(env.clock.as_ref());
    let b64 = base64::engine::general_purpose::STANDARD;
    let at_rest = AtRest::new(Some(Kek::from_base64(&b64.encode([9u8; 32])).unwrap()));
    let before = store.signing_keys(POOL).await.unwrap();
    assert_eq!(
        wrap_all(store.as_ref(), &at_rest, POOL).await.unwrap(),
        [before[0].kid.clone()]
    );
    assert!(wrap_all(store.as_ref(), &at_rest, POOL)
        .await
        .unwrap()
        .is_empty());
    let after = store.signing_keys(POOL).await.unwrap();
    assert!(Kek::is_wrapped(&after[0].private_pem));
    assert!(
        !Kek::is_wrapped(&store.signing_keys("pool-b").await.unwrap()[0].private_pem),
        "only the pool asked for"
    );
    let keys = Keys::load(store.clone(), at_rest, [POOL], now, 3600)
        .await
        .unwrap();
    assert_eq!(keys.signer(POOL, now).await.unwrap().kid(), before[0].kid);
    let other = AtRest::new(Some(Kek::from_base64(&b64.encode([1u8; 32])).unwrap()));
    for wrong in [AtRest::default(), other] {
        let e = Keys::load(store.clone(), wrong, [POOL], now, 3600)
            .await
            .err()
            .expect("a wrapped key does not load without its KEK")
            .to_string();
        assert!(
            e.contains("server.key_encryption_key") && e.contains(&before[0].kid),
            "{e}"
        );
    }
}

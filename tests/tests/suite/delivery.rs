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
    let url = format!("{}&channel={}", Browser::authorize_url(&env, &attempt), commitment(&secret));
    let req = b.start(&env, &url).await;
    // Before the callback: pending for the secret holder, gone for anyone else.
    assert_eq!(read(&env, &attempt, &secret, ORIGIN).await.status(), 202);
    assert_eq!(read(&env, &attempt, "wrong-secret-0000000", ORIGIN).await.status(), 404);
    let cb = b.decide(&env, &req, Some("alice")).await;
    let page = b.get(&cb).await.text().await.unwrap();
    let posted = result_of(&page);
    assert!(posted.is_ok());

    assert_eq!(read(&env, &attempt, "wrong-secret-0000000", ORIGIN).await.status(), 404);
    let r = read(&env, &attempt, &secret, ORIGIN).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let via_channel: milogin_shared::ResultMessage = r.json().await.unwrap();
    assert_eq!(via_channel, posted, "the same single result, whichever path delivers it");
    assert_eq!(read(&env, &attempt, &secret, ORIGIN).await.status(), 404, "readable once");
}

#[tokio::test]
async fn the_channel_gives_cors_only_to_the_recorded_origin_and_expires_after_two_minutes() {
    let env = spawn().await;
    let b = Browser::new();
    let (a1, a2) = (attempt_id(), attempt_id());
    let secret = format!("secret-{}", attempt_id());
    for a in [&a1, &a2] {
        let url = format!("{}&channel={}", Browser::authorize_url(&env, a), commitment(&secret));
        let req = b.start(&env, &url).await;
        let cb = b.decide(&env, &req, Some("bob")).await;
        b.get(&cb).await;
    }
    let r = read(&env, &a1, &secret, "https://evil.example").await;
    assert!(r.headers().get("access-control-allow-origin").is_none(), "a foreign page cannot read the answer");
    env.clock.advance(121);
    assert_eq!(read(&env, &a2, &secret, ORIGIN).await.status(), 404, "kept at most 2 minutes");
}

#[tokio::test]
async fn a_malformed_channel_is_refused_and_redirect_mode_keeps_nothing() {
    let env = spawn().await;
    let b = Browser::new();
    let r = b.get(&format!("{}&channel=short", Browser::authorize_url(&env, &attempt_id()))).await;
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

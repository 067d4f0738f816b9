//! Who the client is (issue 10): behind a trusted reverse proxy each forwarded client has its own
//! limits, an untrusted peer cannot pick its bucket with forwarding headers, IPv6 counts per /64,
//! one network cannot take every pending-attempt slot, userinfo is rate limited, and experience
//! logins need the try page's one-time ticket (not the browser's cached Basic credentials).
//!
//! The suite connects from 127.0.0.1: "behind a proxy" is `trusted_proxies = ["127.0.0.1/32"]`.

use milogin_shared::Outcome;
use milogin_tests::*;

const XFF: &str = "x-forwarded-for";
const BEHIND_PROXY: &[&str] = &["127.0.0.1/32"];
const DIRECT: &[&str] = &[];

async fn spawn_limited(limits: Limits, trusted_proxies: &[&str]) -> Env {
    spawn_with(Options {
        limits,
        trusted_proxies: trusted_proxies.iter().map(|&p| p.to_owned()).collect(),
        ..Options::default()
    })
    .await
}

/// The server's default limits with this authorize rate.
fn authorize_per_minute(n: u32) -> Limits {
    Limits {
        authorize_per_minute: n,
        ..Limits::default()
    }
}

/// Authorize of the default app, as `client` according to `header` (none: no header).
async fn authorize_as(env: &Env, b: &Browser, header: Option<(&str, &str)>) -> reqwest::Response {
    let mut req = b.http.get(Browser::authorize_url(env, &attempt_id()));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap()
}

async fn status_as(env: &Env, client: &str) -> u16 {
    authorize_as(env, &Browser::new(), Some((XFF, client)))
        .await
        .status()
        .as_u16()
}

/// Behind the trusted proxy, with 2 authorizes a minute: authorize as each forwarded client in
/// turn answers the status of its row (with why).
async fn statuses_behind_the_proxy(rows: &[(&str, u16, &str)]) {
    let env = spawn_limited(authorize_per_minute(2), BEHIND_PROXY).await;
    for &(client, status, why) in rows {
        assert_eq!(status_as(&env, client).await, status, "{client}: {why}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    statuses_behind_the_proxy(&[
        ("203.0.113.1", 302, ""),
        ("203.0.113.1", 302, ""),
        ("203.0.113.1", 429, "client A's bucket is empty"),
        // A forged entry on the left does not help A: the proxy's own entry is the rightmost one.
        (
            "198.51.100.77, 203.0.113.1",
            429,
            "a forged entry on the left does not help A",
        ),
        (
            "203.0.113.2",
            302,
            "client B behind the same proxy is not limited by A",
        ),
    ])
    .await;
}

#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_bucket_with_forwarding_headers() {
    // No trusted proxy (the default): 127.0.0.1 is the client whatever it claims.
    let env = spawn_limited(authorize_per_minute(2), DIRECT).await;
    let b = Browser::new();
    for client in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            authorize_as(&env, &b, Some((XFF, client))).await.status(),
            302
        );
    }
    for spoof in [(XFF, "203.0.113.3"), ("forwarded", "for=203.0.113.4")] {
        let r = authorize_as(&env, &b, Some(spoof)).await;
        assert_eq!(r.status(), 429, "{spoof:?} must not open a new bucket");
    }
}

#[tokio::test]
async fn ipv6_clients_share_a_bucket_per_64() {
    statuses_behind_the_proxy(&[
        ("2001:db8:1:2::1", 302, ""),
        ("2001:db8:1:2:ffff::9", 302, ""),
        (
            "2001:db8:1:2::abcd",
            429,
            "another address of the same /64 is the same client",
        ),
        ("2001:db8:1:3::1", 302, "another /64 is another client"),
        (
            "::ffff:192.0.2.9",
            302,
            "IPv4-mapped counts as its IPv4 address",
        ),
    ])
    .await;
}

#[tokio::test]
async fn one_network_cannot_take_every_pending_attempt_slot() {
    let env = spawn_limited(
        Limits {
            max_pending_per_client: 2,
            ..generous_rates()
        },
        BEHIND_PROXY,
    )
    .await;
    let a = ("x-forwarded-for", "203.0.113.1");
    let b = Browser::new();
    let first = authorize_as(&env, &b, Some(a)).await;
    assert_eq!(first.status(), 302);
    assert_eq!(authorize_as(&env, &b, Some(a)).await.status(), 302);
    let r = authorize_as(&env, &b, Some(a)).await;
    assert_eq!(r.status(), 503);
    let Outcome::Failure(e) = result_of(&r.text().await.unwrap()).outcome else {
        panic!("refused with a result")
    };
    assert!(e.message.contains("your network"), "{}", e.message);
    assert_eq!(
        status_as(&env, "203.0.113.2").await,
        302,
        "another client still starts a login"
    );
    // A's first login finishes: its slot is free again.
    let page = b.get(&location(&first)).await.text().await.unwrap();
    let req = between(&page, "name=\"req\" value=\"", "\"").unwrap();
    let cb = b.decide(&env, &req, Some("alice")).await;
    assert!(result_of(&b.get(&cb).await.text().await.unwrap()).is_ok());
    assert_eq!(authorize_as(&env, &b, Some(a)).await.status(), 302);
    assert_eq!(authorize_as(&env, &b, Some(a)).await.status(), 503);
}

#[tokio::test]
async fn userinfo_is_rate_limited_per_client() {
    let env = spawn_limited(
        Limits {
            userinfo_per_minute: 2,
            ..generous_limits()
        },
        DIRECT,
    )
    .await;
    let url = format!("{}/pools/{POOL}/userinfo?app_id={APP}", env.base);
    let http = reqwest::Client::new();
    let (through, r) = through_the_limit(2, || http.get(&url).bearer_auth("x.y.z")).await;
    assert_eq!(through, [401, 401]);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
}

/// The token endpoint has its own limit: a relying party's backend redeems every code of its
/// users from one address, so the browser-facing callback limit (60 a minute) must not cap it.
#[tokio::test]
async fn the_token_endpoint_has_its_own_limit_not_the_callbacks() {
    let env = spawn_limited(
        Limits {
            callback_per_minute: 2,
            token_per_minute: 4,
            ..generous_limits()
        },
        DIRECT,
    )
    .await;
    let url = format!("{}/pools/{POOL}/oidc/token", env.base);
    let http = reqwest::Client::new();
    let form = [("grant_type", "authorization_code"), ("code", "x")];
    let (through, _) = through_the_limit(4, || http.post(&url).form(&form)).await;
    assert!(
        through.iter().all(|&s| s != 429),
        "within token_per_minute: {through:?}"
    );
}

/// `n` requests that the limit lets through (their statuses), then the next one, which it
/// refuses: 429 with `Retry-After` of at least a second.
async fn through_the_limit(
    n: usize,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> (Vec<u16>, reqwest::Response) {
    let mut through = Vec::new();
    for _ in 0..n {
        through.push(request().send().await.unwrap().status().as_u16());
    }
    let refused = request().send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(retry_after(&refused) >= 1);
    (through, refused)
}

const ADMIN: &str = "operator-token-0123456789";

fn basic(password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"))
    )
}

async fn spawn_try(trusted_proxies: &[&str]) -> Env {
    spawn_with(Options {
        admin_token: Some(ADMIN.into()),
        trusted_proxies: trusted_proxies.iter().map(|&p| p.to_owned()).collect(),
        ..Options::default()
    })
    .await
}

fn try_authorize(env: &Env) -> String {
    format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id=__try__&origin={}&attempt={}&mode=popup",
        env.base,
        enc(&env.base),
        attempt_id()
    )
}

#[tokio::test]
async fn a_try_login_needs_the_try_pages_one_time_ticket_not_basic_credentials() {
    let env = spawn_try(DIRECT).await;
    // What a foreign page gets when the browser re-sends cached Basic credentials.
    let b = Browser::new();
    let r = b
        .http
        .get(try_authorize(&env))
        .header("authorization", basic(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "Basic credentials alone start nothing");
    assert_eq!(counts(&env).await.2, 0, "no attempt stored");

    // The try page mints a ticket (HttpOnly, SameSite=Strict cookie); it works once.
    let page = b
        .http
        .get(format!("{}/connection/social/{CONN}/{POOL}/try", env.base))
        .header("authorization", basic(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let r = b.get(&try_authorize(&env)).await;
    assert_eq!(r.status(), 302, "the ticket starts one login");
    assert!(location(&r).starts_with(&env.mock_base));
    let again = b.get(&try_authorize(&env)).await;
    assert_eq!(again.status(), 403, "a ticket is single use");
    let again = b
        .http
        .get(try_authorize(&env))
        .header("authorization", basic(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 403, "credentials do not revive it");
}

#[tokio::test]
async fn a_try_authorize_refused_for_its_query_keeps_the_ticket() {
    // The ticket is spent by the handler once the rate limit and the query were accepted: a
    // request refused for its shape (a repeated key) costs nothing, the next one still starts.
    let env = spawn_try(DIRECT).await;
    let b = Browser::new();
    let page = b
        .http
        .get(format!("{}/connection/social/{CONN}/{POOL}/try", env.base))
        .header("authorization", basic(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let r = b.get(&format!("{}&mode=popup", try_authorize(&env))).await;
    assert_eq!(r.status(), 400, "a repeated key");
    let r = b.get(&try_authorize(&env)).await;
    assert_eq!(r.status(), 302, "the ticket was not spent");
    assert_eq!(b.get(&try_authorize(&env)).await.status(), 403, "now it is");
}

#[tokio::test]
async fn wrong_admin_passwords_are_throttled_per_client() {
    let env = spawn_try(BEHIND_PROXY).await;
    let page = format!("{}/connection/social/{CONN}/{POOL}/try", env.base);
    let http = reqwest::Client::new();
    let get = |password: &'static str, client: &'static str| {
        http.get(&page)
            .header("authorization", basic(password))
            .header(XFF, client)
            .send()
    };
    for _ in 0..10 {
        assert_eq!(
            get("wrong-password-00000", "203.0.113.1")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    let r = get(ADMIN, "203.0.113.1").await.unwrap();
    assert_eq!(
        r.status(),
        429,
        "after 10 wrong guesses even the right password waits"
    );
    assert!(retry_after(&r) >= 1);
    assert_eq!(
        get(ADMIN, "203.0.113.2").await.unwrap().status(),
        200,
        "another client is not locked out"
    );
}

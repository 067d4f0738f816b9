//! Two replicas on one PostgreSQL (design.md §8): authorize on replica 1 and callback on
//! replica 2 works, an attempt is single use across replicas, both publish the same signing key
//! (both started at once against an empty database), nothing lives in one process's memory, and
//! an OpenID Connect code issued by one is redeemed, once, by the other.

use crate::support;
use support::*;

/// The redirect URI app `web` registers here (an OpenID Connect client of pool `p1`).
const DONE: &str = "https://shop.example.com/login/done";

/// Two `milogin serve` processes on one database, against one mock Xiaomi; both advertise
/// replica 1's URL as the public one, as they would behind a load balancer.
struct Replicas {
    b1: String,
    b2: String,
    mock: milogin_server::mock_xiaomi::Mock,
    _servers: (Kill, Kill),
    _dir: tempfile::TempDir,
}

impl Replicas {
    async fn start(db: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (mock, mock_base) = mock().await;
        std::fs::write(
            dir.path().join("secret"),
            milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET,
        )
        .unwrap();
        let (p1, p2) = (free_port(), free_port());
        let (c1, c2) = (dir.path().join("r1.toml"), dir.path().join("r2.toml"));
        for (file, port) in [(&c1, p1), (&c2, p2)] {
            let mut config = config(port, p1, &mock_base, db);
            config.pools[0].apps[0].redirect_uris.push(DONE.into());
            std::fs::write(file, config.render()).unwrap();
        }
        let servers = (serve(&c1, &[], None), serve(&c2, &[], None));
        let (b1, b2) = (
            format!("http://127.0.0.1:{p1}"),
            format!("http://127.0.0.1:{p2}"),
        );
        wait_ready(&b1);
        wait_ready(&b2);
        Self {
            b1,
            b2,
            mock,
            _servers: servers,
            _dir: dir,
        }
    }
}

#[tokio::test]
async fn two_replicas_share_attempts_keys_and_users() {
    let Some(db) = postgres_database().await else {
        return;
    };
    let r = Replicas::start(&db).await;
    let (b1, b2, mock) = (r.b1.clone(), r.b2.clone(), &r.mock);

    let jwks = |b: String| async move {
        reqwest::get(format!("{b}/pools/p1/.well-known/jwks.json"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let (k1, k2) = (jwks(b1.clone()).await, jwks(b2.clone()).await);
    assert_eq!(k1, k2, "both replicas publish the same key");

    let mut subs = Vec::new();
    for i in 0..10 {
        let (start, finish) = if i % 2 == 0 { (&b1, &b2) } else { (&b2, &b1) };
        let http = browser();
        let cb = approve(
            &http,
            start,
            ["alice", "bob"][i % 2],
            &format!("attempt-replica-{i:06}"),
        )
        .await;
        let cb_here = cb.replace(&b1, finish);
        let r = http.get(&cb_here).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let m = result(&r.text().await.unwrap());
        assert_eq!(m["ok"], true, "{m}");
        subs.push(m["user"]["id"].as_str().unwrap().to_string());
        // The other replica refuses the replay: single use across replicas.
        let other = cb.replace(&b1, start);
        let replay = http.get(&other).send().await.unwrap();
        assert_eq!(replay.status(), 400);
        // A token issued by one replica is accepted by the other's userinfo.
        let token = m["id_token"].as_str().unwrap();
        let ui = reqwest::Client::new()
            .get(format!("{start}/pools/p1/userinfo?app_id=web"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(ui.status(), 200);
    }
    subs.sort();
    subs.dedup();
    assert_eq!(
        subs.len(),
        2,
        "two Xiaomi accounts, two users, whichever replica served them"
    );
    assert_eq!(mock.calls().token, 10);
    assert_eq!(rows(&db).await, (2, 2, 0));
}

/// An OpenID Connect code (issue 21.4) lives in the database: the login starts on replica 1, its
/// callback lands on replica 2, which issues the code; replica 1 redeems it, and replica 2 then
/// refuses the same code as used.
#[tokio::test]
async fn a_code_issued_by_one_replica_is_redeemed_by_the_other_once() {
    use base64::Engine;
    use sha2::Digest;
    let Some(db) = postgres_database().await else {
        return;
    };
    let r = Replicas::start(&db).await;
    let verifier = "a-verifier-of-the-public-client-0123456789-abcdef";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let http = browser();
    let authorize = format!(
        "{}/pools/p1/oidc/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
        r.b1,
        form_urlencoded::byte_serialize(DONE.as_bytes()).collect::<String>()
    );
    let to_xiaomi = http.get(&authorize).send().await.unwrap();
    assert_eq!(
        to_xiaomi.status(),
        302,
        "{}",
        to_xiaomi.text().await.unwrap()
    );
    let consent = http.get(location(&to_xiaomi)).send().await.unwrap();
    let mock_base = consent.url().origin().ascii_serialization();
    let req = attr_value(&consent.text().await.unwrap(), "req");
    let decided = http
        .post(format!("{mock_base}/oauth2/authorize/decision"))
        .form(&[("req", req.as_str()), ("account", "alice")])
        .send()
        .await
        .unwrap();
    let callback = location(&decided).replace(&r.b1, &r.b2);
    let back = http.get(&callback).send().await.unwrap();
    assert_eq!(back.status(), 302);
    let back = url::Url::parse(&location(&back)).unwrap();
    assert!(back.as_str().starts_with(DONE), "{back}");
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let redeem = |base: String| {
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", "web"),
            ("code", code.as_str()),
            ("code_verifier", verifier),
            ("redirect_uri", DONE),
        ];
        let req = reqwest::Client::new()
            .post(format!("{base}/pools/p1/oidc/token"))
            .form(&form);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, tokens) = redeem(r.b1.clone()).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string() && tokens["access_token"].is_string());
    let (status, again) = redeem(r.b2.clone()).await;
    assert_eq!(
        (status, &again["error"]),
        (400, &serde_json::json!("invalid_grant")),
        "{again}"
    );
    assert_eq!(r.mock.calls().token, 1);
}

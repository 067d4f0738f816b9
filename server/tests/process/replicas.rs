//! Two replicas on one PostgreSQL (design.md §8): authorize on replica 1 and callback on
//! replica 2 works, an attempt is single use across replicas, both publish the same signing key
//! (both started at once against an empty database), and nothing lives in one process's memory.

use crate::support;
use support::*;

#[tokio::test]
async fn two_replicas_share_attempts_keys_and_users() {
    let Some(db) = postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mock, mock_base) = mock().await;
    std::fs::write(
        dir.path().join("secret"),
        milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET,
    )
    .unwrap();
    let (p1, p2) = (free_port(), free_port());
    // Both advertise replica 1's URL as the public one, as they would behind a load balancer.
    let (c1, c2) = (dir.path().join("r1.toml"), dir.path().join("r2.toml"));
    std::fs::write(&c1, config(p1, p1, &mock_base, &db).render()).unwrap();
    std::fs::write(&c2, config(p2, p1, &mock_base, &db).render()).unwrap();
    let (_r1, _r2) = (serve(&c1, &[], None), serve(&c2, &[], None));
    let (b1, b2) = (
        format!("http://127.0.0.1:{p1}"),
        format!("http://127.0.0.1:{p2}"),
    );
    wait_ready(&b1);
    wait_ready(&b2);

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

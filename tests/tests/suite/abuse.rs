//! Abuse and operations (X-87…, observability): rate limits, the pending-attempt cap,
//! slow clients, the Xiaomi circuit breaker, a database that goes away, and `/metrics`.

use milogin_server::mock_xiaomi::Faults;
use milogin_shared::{ErrorCode, Outcome};
use milogin_tests::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn code(m: &milogin_shared::ResultMessage) -> Option<ErrorCode> {
    match &m.outcome {
        Outcome::Failure(e) => Some(e.code),
        Outcome::Success { .. } => None,
    }
}

/// The status of a GET of `path` on the server.
async fn probe(env: &Env, path: &str) -> reqwest::StatusCode {
    reqwest::get(format!("{}{path}", env.base))
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn authorize_and_callback_are_rate_limited_per_ip() {
    //
    let env = spawn_with_limits(Limits {
        authorize_per_minute: 3,
        callback_per_minute: 2,
        ..Limits::default()
    })
    .await;
    let b = Browser::new();
    for _ in 0..3 {
        assert_eq!(
            b.get(&Browser::authorize_url(&env, &attempt_id()))
                .await
                .status(),
            302
        );
    }
    let r = b.get(&Browser::authorize_url(&env, &attempt_id())).await;
    assert_eq!(r.status(), 429);
    assert!(retry_after(&r) >= 1);
    assert_eq!(counts(&env).await.2, 3, "a limited request stores nothing");
    let cb = format!(
        "{}/connection/social/{CONN}/{POOL}/callback?code=x&state=y",
        env.base
    );
    assert_eq!(b.get(&cb).await.status(), 400);
    assert_eq!(b.get(&cb).await.status(), 400);
    assert_eq!(b.get(&cb).await.status(), 429);
    assert_eq!(env.mock.calls().token, 0);
    let metrics = reqwest::get(format!("{}/metrics", env.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("milogin_rate_limited_total{route=\"authorize\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("milogin_rate_limited_total{route=\"callback\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_attempt_store_is_bounded() {
    // pending attempts are capped (503 beyond), expire after their lifetime (then count no
    // more), and every binding cookie is per attempt with that lifetime; a refused start sets none.
    let env = spawn_with_limits(Limits {
        max_pending_attempts: 2,
        ..generous_limits()
    })
    .await;
    let b = Browser::new();
    for _ in 0..2 {
        let r = b.get(&Browser::authorize_url(&env, &attempt_id())).await;
        assert_eq!(r.status(), 302);
        let cookies: Vec<&str> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap())
            .collect();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        assert!(cookies[0].contains("Max-Age=600"), "{cookies:?}");
    }
    let r = b.get(&Browser::authorize_url(&env, &attempt_id())).await;
    assert_eq!(r.status(), 503);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "a refused start sets no cookie"
    );
    assert_eq!(
        code(&result_of(&r.text().await.unwrap())),
        Some(ErrorCode::Internal)
    );
    assert_eq!(counts(&env).await.2, 2);
    // Past their 10 minutes the two no longer count: a new login starts.
    env.clock.advance(601);
    assert_eq!(
        b.get(&Browser::authorize_url(&env, &attempt_id()))
            .await
            .status(),
        302
    );
}

#[tokio::test]
async fn slow_clients_are_disconnected_after_the_header_timeout() {
    // X-89 (slowloris)
    let env = spawn_with_limits(Limits {
        header_read_timeout_ms: 300,
        ..generous_limits()
    })
    .await;
    let addr = env.base.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue, // a 408 before closing is fine
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap();
    assert!(closed, "the server kept a half-sent request open");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(probe(&env, "/healthz").await, 200);
}

#[tokio::test]
async fn while_xiaomi_fails_logins_fail_fast_and_recover_quickly() {
    //
    let env = spawn_with_limits(Limits {
        breaker_failures: 3,
        breaker_cooldown_ms: 500,
        ..generous_limits()
    })
    .await;
    env.mock.set_faults(Faults {
        token_status: Some(503),
        ..Faults::default()
    });
    for _ in 0..3 {
        let m = login_message(&env, "alice").await;
        assert_eq!(code(&m), Some(ErrorCode::ProviderUnavailable));
    }
    assert_eq!(env.mock.calls().token, 3);
    let t = Instant::now();
    let m = login_message(&env, "alice").await;
    assert_eq!(code(&m), Some(ErrorCode::ProviderUnavailable));
    assert_eq!(
        env.mock.calls().token,
        3,
        "open breaker: Xiaomi is not called"
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    env.mock.set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let m = login_message(&env, "alice").await;
    assert!(m.is_ok(), "recovered after the cool-down: {m:?}");
}

#[tokio::test]
async fn a_database_outage_ends_in_an_error_without_a_token_and_readyz_reports_it() {
    //
    let env = spawn().await;
    let (b, cb, _) = {
        let b = Browser::new();
        let a = attempt_id();
        let req = b.start(&env, &Browser::authorize_url(&env, &a)).await;
        let cb = b.decide(&env, &req, Some("alice")).await;
        (b, cb, a)
    };
    assert_eq!(probe(&env, "/readyz").await, 200);
    env.state.store.close().await;
    assert_eq!(probe(&env, "/readyz").await, 503);
    let r = b.get(&cb).await;
    assert!(r.status().is_client_error() || r.status().is_server_error());
    let page = r.text().await.unwrap();
    assert!(
        page.contains("internal") && !page.contains("id_token"),
        "{page}"
    );
    assert_eq!(
        env.mock.calls().token,
        0,
        "fails closed before calling Xiaomi"
    );
    let r = b.get(&Browser::authorize_url(&env, &attempt_id())).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        code(&result_of(&r.text().await.unwrap())),
        Some(ErrorCode::Internal)
    );
    assert_eq!(probe(&env, "/healthz").await, 200, "still alive");
}

#[tokio::test]
async fn metrics_count_logins_xiaomi_latency_and_pending_attempts() {
    let env = spawn().await;
    assert!(login_message(&env, "alice").await.is_ok());
    let b = Browser::new();
    let req = b
        .start(&env, &Browser::authorize_url(&env, &attempt_id()))
        .await;
    let cb = b.decide(&env, &req, None).await;
    b.get(&cb).await;
    b.get(&Browser::authorize_url(&env, &attempt_id())).await; // left pending
    let r = reqwest::get(format!("{}/metrics", env.base)).await.unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let m = r.text().await.unwrap();
    for line in [
        "milogin_logins_total{outcome=\"success\",code=\"none\"} 1",
        "milogin_logins_total{outcome=\"error\",code=\"access_denied\"} 1",
        "milogin_xiaomi_request_duration_seconds_count{endpoint=\"token\",status=\"200\"} 1",
        "milogin_xiaomi_request_duration_seconds_count{endpoint=\"/user/profile\",status=\"200\"} 1",
        "milogin_attempts_pending 1",
    ] {
        assert!(m.contains(line), "missing {line} in\n{m}");
    }
    let r = reqwest::get(format!("{}/healthz", env.base)).await.unwrap();
    assert_eq!(
        r.headers()["x-request-id"].len(),
        16,
        "every response carries a request id"
    );
}

/// The store's statement and commit counters (SQLite): what a login costs the database, the
/// figure docs/performance.md tracks. One new-user login run alone is four store calls, each its
/// own batch here (BEGIN … COMMIT): record the attempt (+ the once-a-minute sweep), consume it,
/// look the identity up, create user + identity in a savepoint; plus the pending-attempt count
/// of the authorize cap and the scrape's own count. Under load the batches merge (the benchmark
/// prints statements and commits per login).
#[tokio::test]
async fn metrics_count_the_stores_statements_and_commits() {
    let env = spawn().await;
    let scrape = || async {
        let m = reqwest::get(format!("{}/metrics", env.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let read = |name: &str| {
            m.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
        };
        (
            read("milogin_store_statements_total"),
            read("milogin_store_commits_total"),
        )
    };
    let before = scrape().await;
    assert!(login_message(&env, "alice").await.is_ok());
    let after = scrape().await;
    if on_postgres() {
        assert_eq!(after, (None, None), "PostgreSQL's pool does not count");
        return;
    }
    let statements = after.0.unwrap() - before.0.unwrap();
    let commits = after.1.unwrap() - before.1.unwrap();
    assert!((13..=22).contains(&statements), "{statements} statements");
    assert!((5..=7).contains(&commits), "{commits} commits");
}

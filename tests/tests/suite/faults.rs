//! Xiaomi faults (security.md X-31…X-52), driven by the mock's fault switches. Each ends in a
//! clear error result within the configured budget (tests use `timeout_ms = 3000`), with the
//! attempt consumed, no user or identity written, no retry of the code exchange, and no request
//! left hanging at the mock.

use milogin_server::mock_xiaomi::Faults;
use milogin_shared::{ErrorCode, Outcome, ResultMessage};
use milogin_tests::*;
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_millis(3000);

fn code_of(m: &ResultMessage) -> Option<ErrorCode> {
    match &m.outcome {
        Outcome::Failure(e) => Some(e.code),
        Outcome::Success { .. } => None,
    }
}

/// One login under `faults`; asserts the error, the budget, the consumed state, no rows.
async fn fails_with(env: &Env, faults: Faults, expected: ErrorCode) -> Duration {
    env.mock.set_faults(faults.clone());
    env.mock.reset_calls();
    let (b, cb, _) = {
        let b = Browser::new();
        let attempt = attempt_id();
        let req = b.start(env, &Browser::authorize_url(env, &attempt)).await;
        let cb = b.decide(env, &req, Some("alice")).await;
        (b, cb, attempt)
    };
    let t = Instant::now();
    let r = b.get(&cb).await;
    let took = t.elapsed();
    assert_eq!(r.status(), 200, "{faults:?}");
    let m = result_of(&r.text().await.unwrap());
    assert_eq!(code_of(&m), Some(expected), "{faults:?}");
    assert!(
        took < BUDGET * 2 + Duration::from_millis(1500),
        "{faults:?} took {took:?}"
    );
    assert_eq!(
        env.mock.calls().token,
        1,
        "the code exchange is never retried: {faults:?}"
    );
    assert_eq!(
        (counts(env).await.0, counts(env).await.1),
        (0, 0),
        "{faults:?}"
    );
    assert_eq!(
        b.get(&cb).await.status(),
        400,
        "the attempt was consumed: {faults:?}"
    );
    env.mock.set_faults(Faults::default());
    took
}

async fn no_requests_held(env: &Env) {
    for _ in 0..50 {
        if env.mock.held_requests() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{} request(s) still held open at the mock",
        env.mock.held_requests()
    );
}

#[tokio::test]
async fn a_hanging_or_dripping_token_endpoint_ends_within_the_budget_and_releases_the_connection() {
    // of §10 (the exchange is not replayed after a timeout)
    let env = spawn().await;
    let took = fails_with(
        &env,
        Faults {
            hang: true,
            ..Faults::default()
        },
        ErrorCode::ProviderUnavailable,
    )
    .await;
    assert!(
        took >= BUDGET - Duration::from_millis(200),
        "gave up before the budget: {took:?}"
    );
    no_requests_held(&env).await;
    fails_with(
        &env,
        Faults {
            drip: true,
            ..Faults::default()
        },
        ErrorCode::ProviderUnavailable,
    )
    .await;
    no_requests_held(&env).await;
}

#[tokio::test]
async fn unreachable_or_unknown_token_hosts_fail_closed() {
    // X-33 (blackhole / refused connect), X-42 (DNS failure)
    // A listener with a full accept queue: the kernel drops further SYNs, so connect never
    // completes (a true blackhole on loopback; this sandbox answers for outside addresses).
    let hole = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    hole.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    hole.listen(0).unwrap();
    let hole_addr = hole.local_addr().unwrap().as_socket().unwrap();
    let _fill: Vec<_> = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&hole_addr, Duration::from_millis(200)).ok()
        })
        .collect();
    let blackhole = format!("http://{hole_addr}");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    for base in [blackhole.as_str(), closed.as_str(), "http://xiaomi.invalid"] {
        let env = spawn_with(Options {
            account_base: Some(base.into()),
            ..Options::default()
        })
        .await;
        let (b, cb) = approved_directly(&env, "alice").await;
        let t = Instant::now();
        let m = result_of(&b.get(&cb).await.text().await.unwrap());
        assert_eq!(code_of(&m), Some(ErrorCode::ProviderUnavailable), "{base}");
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{base}: connect timeout is 1 s, took {:?}",
            t.elapsed()
        );
        assert_eq!(counts(&env).await.0, 0);
    }
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_unavailable_without_a_retry() {
    //
    let env = spawn().await;
    for status in [500, 502, 503, 504, 429] {
        fails_with(
            &env,
            Faults {
                token_status: Some(status),
                ..Faults::default()
            },
            ErrorCode::ProviderUnavailable,
        )
        .await;
    }
}

#[tokio::test]
async fn error_bodies_and_malformed_bodies_are_provider_errors() {
    // X-36 (HTTP 200 + error body), X-38, X-40 (missing/empty access_token, bad openId), X-37 (prefix twice)
    let env = spawn().await;
    for body in [
        "&&&START&&&{\"error\":96013,\"error_description\":\"invalid code\"}",
        "&&&START&&&{\"error\":\"96003\",\"error_description\":\"bad client\"}",
        "&&&START&&&&&&START&&&{\"access_token\":\"a\",\"openId\":\"b\"}",
        "{\"access_token\":",
        "",
        "&&&START&&&",
        "<html><body>502 Bad Gateway</body></html>",
        "[]",
        "null",
        "{}",
        "{\"access_token\":\"\",\"openId\":\"x\"}",
        "{\"access_token\":\"at\",\"openId\":{\"a\":1}}",
        "{\"access_token\":\"at\",\"openId\":\"a\",\"openId\":\"b\"}",
    ] {
        fails_with(
            &env,
            Faults {
                malformed: Some(body.into()),
                ..Faults::default()
            },
            ErrorCode::ProviderError,
        )
        .await;
    }
}

#[tokio::test]
async fn oversized_bodies_and_redirects_are_refused() {
    //
    let env = spawn().await;
    let took = fails_with(
        &env,
        Faults {
            oversized: true,
            ..Faults::default()
        },
        ErrorCode::ProviderError,
    )
    .await;
    assert!(took < Duration::from_secs(2));
    fails_with(
        &env,
        Faults {
            redirect_to: Some("https://evil.example/steal".into()),
            ..Faults::default()
        },
        ErrorCode::ProviderError,
    )
    .await;
}

#[tokio::test]
async fn open_api_errors_fail_the_login_and_profile_outages_retry_once() {
    //
    let env = spawn().await;
    for faults in [
        Faults { profile_error: Some(96008), ..Faults::default() },
        Faults { profile_error: Some(96012), profile_error_status: Some(403), ..Faults::default() },
        Faults { profile_malformed: Some("{\"result\":\"ok\",\"code\":0}".into()), ..Faults::default() },
        Faults { profile_malformed: Some("{\"result\":\"ok\",\"code\":0,\"data\":{\"miliaoNick\":\"a\",\"miliaoNick\":\"b\"}}".into()), ..Faults::default() },
        Faults { profile_malformed: Some("{\"result\":\"ok\",\"code\":\"zero\",\"data\":{}}".into()), ..Faults::default() },
    ] {
        fails_with(&env, faults, ErrorCode::ProviderError).await;
    }
    let _ = fails_with(
        &env,
        Faults {
            profile_status: Some(503),
            ..Faults::default()
        },
        ErrorCode::ProviderUnavailable,
    )
    .await;
    assert_eq!(
        env.mock.calls().profile,
        2,
        "an idempotent profile GET is retried exactly once"
    );
}

#[tokio::test]
async fn hostile_profile_values_are_stored_safely() {
    //
    let env = spawn().await;
    let nick = format!("a\r\nb\u{202e}c\u{0}{}", "x".repeat(10_000));
    for avatar in [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "https://169.254.169.254/latest/meta-data",
        "http://cdn.example.com/a.jpg",
    ] {
        env.mock.set_faults(Faults {
            nickname_override: Some(nick.clone()),
            avatar_override: Some(avatar.into()),
            ..Faults::default()
        });
        let m = login_message(&env, "alice").await;
        let Outcome::Success { user, id_token } = m.outcome else {
            panic!("hostile values must not fail the login")
        };
        assert_eq!(user.avatar, None, "{avatar}");
        assert!(
            user.nickname.starts_with("a b c") && user.nickname.chars().count() == 64,
            "{:?}",
            user.nickname
        );
        let claims = verify(&env, POOL, &id_token, APP).await;
        assert!(claims.get("picture").is_none());
    }
    assert_eq!(counts(&env).await.0, 1);
}

#[tokio::test]
async fn quirky_but_valid_answers_log_in() {
    // X-37 (prefix variants), F19 (numbers as strings), F20 (openid spellings), missing union_id
    let env = spawn().await;
    for faults in [
        Faults {
            no_prefix: true,
            ..Faults::default()
        },
        Faults {
            prefix_space: true,
            ..Faults::default()
        },
        Faults {
            prefix_newline: true,
            stringify_numbers: true,
            ..Faults::default()
        },
        Faults {
            omit_union_id: true,
            error_200: true,
            ..Faults::default()
        },
        Faults {
            latency_ms: 300,
            ..Faults::default()
        },
    ] {
        env.mock.set_faults(faults.clone());
        let m = login_message(&env, "bob").await;
        assert!(m.is_ok(), "{faults:?}: {m:?}");
    }
    assert_eq!((counts(&env).await.0, counts(&env).await.1), (1, 1));
}

#[tokio::test]
async fn fifty_racing_callbacks_of_one_new_xiaomi_user_create_one_user() {
    // X-68, T-16: 50 browsers, 50 valid states, one new Xiaomi account, all at once.
    let env = std::sync::Arc::new(spawn().await);
    let mut flows = Vec::new();
    for _ in 0..50 {
        flows.push(approved_directly(&env, "carol").await);
    }
    let tasks: Vec<_> = flows
        .into_iter()
        .map(|(b, cb)| {
            tokio::spawn(async move { result_of(&b.get(&cb).await.text().await.unwrap()) })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap().outcome {
            Outcome::Success { user, .. } => {
                created += usize::from(user.new_user);
                ids.insert(user.id);
            }
            Outcome::Failure(e) => panic!("a racing callback failed: {e:?}"),
        }
    }
    assert_eq!(ids.len(), 1, "every callback resolved to the same user");
    assert_eq!(created, 1, "exactly one result says new_user");
    assert_eq!((counts(&env).await.0, counts(&env).await.1), (1, 1));
}

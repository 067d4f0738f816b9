//! Micro-benchmarks of the per-login hot paths (design.md §9): parsing Xiaomi's answers,
//! signing the id_token, and the store's attempt and user writes on SQLite.
//!
//! `cargo bench -p milogin-server` runs them in about a minute (short warm-up and measurement
//! on purpose: they look for regressions of a factor, not of a percent). The whole login is
//! measured by `milogin-bench` (README "Benchmarks").

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use milogin_server::domain::mode::Mode;
use milogin_server::domain::{AppId, AttemptId, Origin, PoolId, UniqueId};
use milogin_server::provider::xiaomi::{parse_envelope, parse_profile, parse_token};
use milogin_server::store::{
    Attempt, Attempts, Destination, Identity, Lifecycle, NewUser, SqliteStore, Users,
};
use milogin_server::token::{Claims, PoolKey};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A token answer as the mock (and Xiaomi) sends it: prefix, `openId`, `union_id`, `mac_key`.
const TOKEN_BODY: &[u8] = br#"&&&START&&&{"access_token":"V3_6TdMi3AFsLsI0wH3zIv2dW1dBmJXpk0PyQSnq7fCqGvwmW5aTVTzGZJb","expires_in":7776000,"refresh_token":"V3_R9wKpq8Xz0mJSnq7fCqGvwmW5aTVTzGZJbT2aQ","scope":"1 3","token_type":"mac","mac_key":"hPfk6T3yU0TYX2zw","mac_algorithm":"HmacSha1","openId":"2.0Vq3xK9mZ7pL1aB4cD8eF2gH","union_id":"nKp2Qx7vL0aZ3mW9tR5yB8cE1fH4jU6sD2gT0iOq"}"#;

/// A `/user/profile` answer with every avatar size, as the mock sends it.
const PROFILE_BODY: &[u8] = br#"{"result":"ok","code":0,"description":"no error","data":{"miliaoNick":"Alice Wang","miliaoIcon":"https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K.jpg","miliaoIcon_75":"https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K_75.jpg","miliaoIcon_90":"https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K_90.jpg","miliaoIcon_120":"https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K_120.jpg","miliaoIcon_320":"https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K_320.jpg","miliaoIcon_orig":"https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K_orig.jpg","unionId":"nKp2Qx7vL0aZ3mW9tR5yB8cE1fH4jU6sD2gT0iOq"}}"#;

fn xiaomi_parsing(c: &mut Criterion) {
    c.bench_function("xiaomi/parse_token", |b| {
        b.iter(|| parse_token(black_box(TOKEN_BODY)).expect("valid token body"))
    });
    c.bench_function("xiaomi/parse_envelope+parse_profile", |b| {
        b.iter(|| {
            parse_profile(parse_envelope(black_box(PROFILE_BODY)).expect("valid envelope"))
                .expect("valid profile")
        })
    });
}

fn id_token(c: &mut Criterion) {
    let key = PoolKey::generate();
    let claims = Claims {
        iss: "https://login.example.com/pools/demo-pool".into(),
        sub: "u_3kT9xQ2mZ7pL1aB4cD8eF2".into(),
        aud: "demo-app".into(),
        exp: 1_900_003_600,
        iat: 1_900_000_000,
        nonce: "att-0123456789abcdef".into(),
        name: "Alice Wang".into(),
        picture: Some(
            "https://cdn.cnbj1.fds.api.mi-img.com/user-avatar/p01Qx3aLice9Vm2K_orig.jpg".into(),
        ),
        idp: "xiaomi".into(),
        oidc: Default::default(),
    };
    c.bench_function("token/PoolKey::sign (ES256)", |b| {
        b.iter(|| key.sign(black_box(&claims)))
    });
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = rt.block_on(SqliteStore::connect(&url)).expect("store");
    let seq = AtomicU64::new(0);
    let next = || seq.fetch_add(1, Ordering::Relaxed);
    let (pool, xiaomi) = (
        PoolId::parse("p").unwrap(),
        UniqueId::parse("xiaomi").unwrap(),
    );
    let identity = |subject: String| Identity {
        connection: xiaomi.clone(),
        subject,
        client_id: "2882303761520000000".into(),
        union_id: None,
        created_at: 1,
    };
    let new_user = |n: u64| NewUser {
        id: format!("u_bench{n:016}"),
        pool: pool.clone(),
        nickname: format!("User {n}"),
        avatar: None,
    };

    // Returning users: 1000 of them, looked up round-robin.
    for _ in 0..1000 {
        let n = next();
        rt.block_on(store.create_user_with_identity(
            &new_user(n),
            &identity(format!("2.0sub{n}")),
            1,
        ))
        .expect("create");
    }
    let mut i = 0u64;
    c.bench_function("store/sqlite user_by_identity (hit)", |b| {
        b.iter(|| {
            i = (i + 1) % 1000;
            rt.block_on(store.user_by_identity("p", "xiaomi", &format!("2.0sub{i}")))
                .expect("lookup")
                .expect("found")
        })
    });
    c.bench_function("store/sqlite create_user_with_identity (new)", |b| {
        b.iter_batched(
            || {
                let n = next();
                (new_user(n), identity(format!("2.0sub{n}")))
            },
            |(u, id)| {
                rt.block_on(store.create_user_with_identity(&u, &id, 1))
                    .expect("create")
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("store/sqlite insert_attempt+consume_attempt", |b| {
        b.iter_batched(
            || {
                let n = next();
                Attempt {
                    state_hash: format!("{n:064x}"),
                    binding_hash: format!("{:064x}", n + 1),
                    connection: xiaomi.clone(),
                    dest: Destination {
                        pool: pool.clone(),
                        app: AppId::parse("app").unwrap(),
                        attempt: AttemptId::parse(&format!("att-{n:016}")).unwrap(),
                        mode: Mode::Popup,
                        origin: Some(Origin::parse("https://shop.example.com").unwrap()),
                        redirect_uri: None,
                    },
                    created_at: 1_900_000_000,
                    expires_at: 1_900_000_600,
                }
            },
            |a| {
                rt.block_on(async {
                    store
                        .insert_attempt(&a, 1_900_000_000)
                        .await
                        .expect("insert");
                    store
                        .consume_attempt(&a.state_hash, 1_900_000_001)
                        .await
                        .expect("consume")
                })
            },
            BatchSize::SmallInput,
        )
    });
    rt.block_on(store.close());
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = xiaomi_parsing, id_token, store
}
criterion_main!(benches);

//! Signing-key rotation (security.md X-96) over real HTTP: a new key is in the JWKS before any
//! token carries its `kid`, tokens of the old key keep verifying with a standard JWT library (and
//! at `/userinfo`) until they have expired, then the old key leaves the JWKS; a second replica on
//! the same database picks a rotation up without a restart; an existing database keeps its key
//! across the migration. The clock is the server's injected one, moved by hand.

use milogin_server::keys::{rotate, AtRest, Keys, REFRESH_SECS, RETIRE_GRACE_SECS};
use milogin_server::state::{AppState, Clock};
use milogin_shared::Outcome;
use milogin_tests::*;

/// A popup login as `account` (on the environment's server); returns the id_token.
async fn token(env: &Env, account: &str) -> String {
    let (b, cb) = approved_directly(env, account).await;
    let m = result_of(&b.get(&cb).await.text().await.unwrap());
    match m.outcome {
        Outcome::Success { id_token, .. } => id_token,
        Outcome::Failure(e) => panic!("login failed: {e:?}"),
    }
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// The `kid`s of a replica's JWKS for the default pool, in document order.
async fn jwks_kids(base: &str) -> Vec<String> {
    let set: jsonwebtoken::jwk::JwkSet =
        reqwest::get(format!("{base}/pools/{POOL}/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect()
}

async fn userinfo(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/pools/{POOL}/userinfo?app_id={APP}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_rotation_publishes_the_new_key_before_it_signs_and_the_old_one_until_its_tokens_expire()
{
    let env = spawn().await;
    let ttl = env.state.config.server.token_ttl_secs as i64;
    let publish = 600; // shorter than the token lifetime: old tokens are still live at activation
    let old = token(&env, "alice").await;
    let k1 = kid(&old);
    assert_eq!(jwks_kids(&env.base).await, vec![k1.clone()]);

    let r = rotate(
        env.state.store.as_ref(),
        &AtRest::default(),
        POOL,
        env.clock.now(),
        publish,
        ttl,
    )
    .await
    .unwrap();
    let k2 = r.new.kid.clone();
    assert_ne!(k1, k2);
    assert_eq!(r.previous.kid, k1);

    // The server re-reads its keys within REFRESH_SECS: the new key is published, not signing.
    env.clock.advance(REFRESH_SECS);
    assert_eq!(jwks_kids(&env.base).await, [k1.clone(), k2.clone()]);
    verify(&env, POOL, &old, APP).await;
    let before = token(&env, "bob").await;
    assert_eq!(
        kid(&before),
        k1,
        "the next key does not sign before its activation"
    );

    // After the publish delay the new key signs; old tokens still verify everywhere.
    env.clock.advance(publish);
    let new = token(&env, "alice").await;
    assert_eq!(kid(&new), k2);
    verify(&env, POOL, &new, APP).await;
    verify(&env, POOL, &old, APP).await;
    assert_eq!(
        jwks_kids(&env.base).await,
        [k2.clone(), k1.clone()],
        "the signing key comes first, the retired one stays"
    );
    assert_eq!(userinfo(&env.base, &old).await, 200);
    assert_eq!(userinfo(&env.base, &new).await, 200);

    // Once every token the old key signed has expired, it leaves the JWKS.
    let until = r.previous.published_until.expect("the old key retires");
    assert_eq!(until, r.new.activates_at + ttl + RETIRE_GRACE_SECS);
    env.clock.advance(until - 1 - env.clock.now());
    assert!(jwks_kids(&env.base).await.contains(&k1));
    env.clock.advance(1);
    assert_eq!(jwks_kids(&env.base).await, vec![k2.clone()]);
    assert_eq!(userinfo(&env.base, &before).await, 401);
    let latest = token(&env, "bob").await;
    assert_eq!(kid(&latest), k2);
    assert_eq!(userinfo(&env.base, &latest).await, 200);
}

#[tokio::test]
async fn a_second_replica_picks_up_a_rotation_without_a_restart() {
    let env = spawn().await;
    let config = (*env.state.config).clone();
    let replica = AppState::build(config.clone(), env.clock.clone())
        .await
        .expect("second replica");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base2 = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = milogin_server::serve(listener, replica, std::future::pending()).await;
    });
    let k1 = jwks_kids(&env.base).await;
    assert_eq!(
        jwks_kids(&base2).await,
        k1,
        "one key, shared through the database"
    );

    // Replica 2 has just re-read its keys when the rotation (another process, e.g. the CLI) lands.
    env.clock.advance(REFRESH_SECS);
    assert_eq!(jwks_kids(&base2).await, k1);
    let cli = milogin_server::store::open(&config.server.database_url)
        .await
        .unwrap();
    let ttl = config.server.token_ttl_secs as i64;
    let r = rotate(
        cli.as_ref(),
        &AtRest::default(),
        POOL,
        env.clock.now(),
        0,
        ttl,
    )
    .await
    .unwrap();

    // Replica 1 signs with the new key; replica 2 accepts it at once (unknown kid → re-read).
    let t = token(&env, "alice").await;
    assert_eq!(kid(&t), r.new.kid);
    assert_eq!(userinfo(&base2, &t).await, 200);
    let both = [r.new.kid.clone(), k1[0].clone()];
    assert_eq!(jwks_kids(&base2).await, both);
    assert_eq!(jwks_kids(&env.base).await, both);
    task.abort();
}

#[tokio::test]
async fn rotating_twice_before_the_next_key_signs_is_refused_with_its_activation_time() {
    let env = spawn().await;
    let now = env.clock.now();
    let store = env.state.store.as_ref();
    let first = rotate(store, &AtRest::default(), POOL, now, 3600, 3600)
        .await
        .unwrap();
    let again = rotate(store, &AtRest::default(), POOL, now + 10, 3600, 3600)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        again.contains(&first.new.kid) && again.contains("in 3590 s"),
        "{again}"
    );
    // Once it signs, rotating again works, and the other pool was never touched.
    assert!(
        rotate(store, &AtRest::default(), POOL, now + 3600, 3600, 3600)
            .await
            .is_ok()
    );
    assert_eq!(store.signing_keys("pool-b").await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_existing_database_keeps_its_key_across_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path()).await;
    let now = milogin_server::state::SystemClock.now();
    let key = milogin_server::token::PoolKey::generate();
    let stored = key.to_stored(1, now - 100, now - 100);
    migrate_before_rotation(dir.path(), &url, &stored).await;
    let iss = "https://login.example.com/pools/pool-a";
    let old = key.sign(&milogin_server::token::Claims {
        iss: iss.into(),
        sub: "u1".into(),
        aud: APP.into(),
        exp: now + 3600,
        iat: now - 10,
        nonce: "n".into(),
        name: "Ann".into(),
        picture: None,
        idp: CONN.into(),
        oidc: Default::default(),
    });

    let store = milogin_server::store::open(&url).await.unwrap();
    let keys = Keys::load(store, AtRest::default(), [POOL], now, 3600)
        .await
        .unwrap();
    assert_eq!(keys.signer(POOL, now).await.unwrap().kid(), key.kid());
    assert_eq!(keys.verify(POOL, iss, &old, now).await.unwrap().sub, "u1");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(keys.jwks(POOL, now).await.unwrap()).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[APP]);
    v.set_issuer(&[iss]);
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    jsonwebtoken::decode::<serde_json::Value>(&old, &decoding, &v).expect("old token verifies");
}

/// Brings a fresh database to the schema before rotation (every migration before 0006) and stores
/// `key` as the pool's single key the way that schema did.
async fn migrate_before_rotation(
    dir: &std::path::Path,
    url: &str,
    key: &milogin_server::store::StoredKey,
) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/migrations");
    let old = dir.join("migrations-before-0006");
    std::fs::create_dir(&old).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let name = e.unwrap().file_name();
        if name.to_string_lossy().as_ref() < "0006" {
            std::fs::copy(src.join(&name), old.join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
    let insert =
        "INSERT INTO signing_keys (pool, kid, private_pem, created_at) VALUES ($1, $2, $3, $4)";
    macro_rules! on {
        ($conn:expr) => {{
            let mut conn = $conn;
            migrator.run(&mut conn).await.unwrap();
            sqlx::query(insert)
                .bind(POOL)
                .bind(&key.kid)
                .bind(&key.private_pem)
                .bind(key.created_at)
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::Connection::close(conn).await.unwrap();
        }};
    }
    if on_postgres() {
        on!(<sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap());
    } else {
        let opts = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
            .unwrap()
            .create_if_missing(true);
        on!(sqlx::ConnectOptions::connect(&opts).await.unwrap());
    }
}

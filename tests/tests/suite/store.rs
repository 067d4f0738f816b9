//! The store's records on both databases (SQLite by default, PostgreSQL with
//! `MILOGIN_TEST_STORE=postgres`): the domain's types go in and come back unchanged, and a row
//! changed outside milogin into a value its type refuses is an error naming the table and column.

use milogin_server::domain::mode::Mode;
use milogin_server::domain::{AppId, AttemptId, Origin, PoolId, UniqueId};
use milogin_server::store::{
    Attempt, Consumed, Destination, Identity, NewUser, Store, StoreError, Ticket,
};
use milogin_tests::*;
use std::sync::Arc;

const NOW: i64 = 1_700_000_000;

/// A fresh store, and its URL for statements run beside it.
async fn fresh(dir: &std::path::Path) -> (Arc<dyn Store>, String) {
    let url = database_url(dir).await;
    (milogin_server::store::open(&url).await.unwrap(), url)
}

/// Runs `sql` on the store's database through a connection of its own: what an operator's
/// `psql`/`sqlite3` session, or a bad restore, would do.
async fn outside(url: &str, sql: &str) {
    if on_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::Executor::execute(&mut c, sql).await.unwrap();
    } else {
        let opts =
            <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url).unwrap();
        let mut c: sqlx::SqliteConnection = sqlx::ConnectOptions::connect(&opts).await.unwrap();
        sqlx::Executor::execute(&mut c, sql).await.unwrap();
    }
}

fn popup(attempt: &str) -> Destination {
    Destination {
        pool: PoolId::parse("shop_2").unwrap(),
        app: AppId::parse("web-app").unwrap(),
        attempt: AttemptId::parse(attempt).unwrap(),
        mode: Mode::Popup,
        origin: Some(Origin::parse("https://shop.example.com:8443").unwrap()),
        redirect_uri: None,
    }
}

fn attempt(state_hash: &str, dest: Destination) -> Attempt {
    Attempt {
        state_hash: state_hash.into(),
        binding_hash: format!("binding-of-{state_hash}"),
        connection: UniqueId::parse("mi-2").unwrap(),
        dest,
        created_at: NOW,
        expires_at: NOW + 600,
    }
}

fn ticket(dest: Destination) -> Ticket {
    Ticket {
        ticket_hash: "ticket-hash".into(),
        csrf_hash: "csrf-hash".into(),
        connection: UniqueId::parse("mi-2").unwrap(),
        subject: "open-1".into(),
        client_id: "2882303761517000000".into(),
        union_id: Some("union-1".into()),
        nickname: "Mi".into(),
        avatar: None,
        dest,
        matched: true,
        failures: 0,
        created_at: NOW,
        expires_at: NOW + 600,
        consumed_at: None,
    }
}

#[tokio::test]
async fn records_come_back_with_their_domain_types() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh(dir.path()).await;

    let pop = attempt("state-popup", popup("attempt-popup-0001"));
    let redirect = attempt(
        "state-redirect",
        Destination {
            mode: Mode::Redirect,
            origin: None,
            redirect_uri: Some("https://shop.example.com/login/done".into()),
            ..popup("attempt-redirect-01")
        },
    );
    for a in [&pop, &redirect] {
        store.insert_attempt(a, NOW).await.unwrap();
        assert_eq!(
            store.consume_attempt(&a.state_hash, NOW + 1).await.unwrap(),
            Consumed::Fresh(a.clone())
        );
    }

    // A ticket carries the attempt's destination unchanged.
    let t = ticket(pop.dest.clone());
    store.insert_ticket(&t, NOW).await.unwrap();
    let read = store.ticket(&t.ticket_hash).await.unwrap().unwrap();
    assert_eq!(read, t);
    assert_eq!(read.dest, pop.dest);

    let identity = Identity {
        connection: UniqueId::parse("mi-2").unwrap(),
        subject: "open-1".into(),
        client_id: "2882303761517000000".into(),
        union_id: None,
        created_at: NOW,
    };
    let new = NewUser {
        id: "u1".into(),
        pool: PoolId::parse("shop_2").unwrap(),
        nickname: "Mi".into(),
        avatar: None,
    };
    let (user, created) = store
        .create_user_with_identity(&new, &identity, NOW)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(user.pool, new.pool);
    let listed = store.list_users("shop_2").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user, user);
    assert_eq!(listed[0].identities, [identity]);
}

/// Asserts that `got` is the corrupt-value error of `table`.`column` about `value`, and that its
/// text names all three.
fn assert_corrupt<T: std::fmt::Debug>(
    got: Result<T, StoreError>,
    table: &str,
    column: &str,
    value: &str,
) {
    let e = got.expect_err("a refused stored value is an error");
    assert!(
        matches!(&e, StoreError::Corrupt { table: t, column: c, .. } if *t == table && *c == column),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("{table}.{column}")) && text.contains(&format!("{value:?}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_stored_value_its_type_refuses_is_an_error_naming_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh(dir.path()).await;

    store
        .insert_attempt(&attempt("state-1", popup("attempt-corrupt-01")), NOW)
        .await
        .unwrap();
    outside(&url, "UPDATE attempts SET mode = 'sideways'").await;
    assert_corrupt(
        store.consume_attempt("state-1", NOW + 1).await,
        "attempts",
        "mode",
        "sideways",
    );
    // The state was consumed before its row was read: it stays used, on both databases.
    assert_eq!(
        store.consume_attempt("state-1", NOW + 2).await.unwrap(),
        Consumed::Replayed
    );

    store
        .insert_ticket(&ticket(popup("attempt-corrupt-02")), NOW)
        .await
        .unwrap();
    outside(
        &url,
        "UPDATE binding_tickets SET origin = 'https://shop.example.com/path'",
    )
    .await;
    assert_corrupt(
        store.ticket("ticket-hash").await,
        "binding_tickets",
        "origin",
        "https://shop.example.com/path",
    );

    let new = NewUser {
        id: "u1".into(),
        pool: PoolId::parse("shop_2").unwrap(),
        nickname: "Mi".into(),
        avatar: None,
    };
    let identity = Identity {
        connection: UniqueId::parse("mi-2").unwrap(),
        subject: "open-1".into(),
        client_id: "c".into(),
        union_id: None,
        created_at: NOW,
    };
    store
        .create_user_with_identity(&new, &identity, NOW)
        .await
        .unwrap();
    outside(&url, "UPDATE identities SET connection = 'Mi 2'").await;
    assert_corrupt(
        store.identities_of("shop_2", "u1").await,
        "identities",
        "connection",
        "Mi 2",
    );
    outside(&url, "UPDATE users SET pool = 'shop 2'").await;
    assert_corrupt(store.user("shop 2", "u1").await, "users", "pool", "shop 2");
}

fn code(hash: &str) -> milogin_server::store::Code {
    milogin_server::store::Code {
        code_hash: hash.into(),
        pool: PoolId::parse("shop_2").unwrap(),
        client: AppId::parse("web-app").unwrap(),
        redirect_uri: "https://shop.example.com/cb?x=1".into(),
        challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: Some("nonce-1".into()),
        scope: "openid profile".into(),
        user_id: "u1".into(),
        connection: UniqueId::parse("mi-2").unwrap(),
        auth_time: NOW - 5,
        created_at: NOW,
        expires_at: NOW + 60,
        redeemer: milogin_server::store::Redeemer::Client,
    }
}

/// An authorization code comes back as issued, once: a second redeem (on any replica: one
/// `UPDATE … RETURNING`) reads "reused", a late one "expired", one never issued "unknown"; of
/// many concurrent redeems exactly one gets it.
#[tokio::test]
async fn an_authorization_code_is_redeemed_once() {
    use milogin_server::store::Redeemed;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh(dir.path()).await;
    let c = code("code-hash-1");
    store.insert_code(&c).await.unwrap();
    assert_eq!(
        store.redeem_code("code-hash-1", NOW + 1).await.unwrap(),
        Redeemed::Fresh(c.clone())
    );
    assert_eq!(
        store.redeem_code("code-hash-1", NOW + 2).await.unwrap(),
        Redeemed::Reused(c.clone())
    );
    assert_eq!(
        store.redeem_code("never-issued", NOW).await.unwrap(),
        Redeemed::Unknown
    );
    // A widget's code keeps who redeems it and whether the login created the user.
    let mut widget = code("code-hash-w");
    widget.redeemer = milogin_server::store::Redeemer::Widget { new_user: true };
    store.insert_code(&widget).await.unwrap();
    assert_eq!(
        store.find_code("code-hash-w").await.unwrap(),
        Some(widget.clone()),
        "found without being spent"
    );
    assert_eq!(
        store.redeem_code("code-hash-w", NOW + 1).await.unwrap(),
        Redeemed::Fresh(widget)
    );
    let mut late = code("code-hash-2");
    late.challenge = None;
    late.nonce = None;
    store.insert_code(&late).await.unwrap();
    assert_eq!(
        store.redeem_code("code-hash-2", NOW + 61).await.unwrap(),
        Redeemed::Expired(late)
    );

    store.insert_code(&code("code-hash-3")).await.unwrap();
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.redeem_code("code-hash-3", NOW + 1).await.unwrap() })
        })
        .collect();
    let mut fresh_count = 0;
    for r in racers {
        if matches!(r.await.unwrap(), Redeemed::Fresh(_)) {
            fresh_count += 1;
        }
    }
    assert_eq!(
        fresh_count, 1,
        "exactly one concurrent redeem gets the code"
    );
}

/// The OpenID Connect request of a login is taken once, and not after it expired.
#[tokio::test]
async fn an_oidc_request_is_taken_once() {
    use milogin_server::store::OidcRequest;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh(dir.path()).await;
    let request = |attempt: &str| OidcRequest {
        attempt: AttemptId::parse(attempt).unwrap(),
        pool: PoolId::parse("shop_2").unwrap(),
        client: AppId::parse("web-app").unwrap(),
        redirect_uri: "https://shop.example.com/cb".into(),
        state: Some("st".into()),
        nonce: None,
        challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        scope: "openid".into(),
        expires_at: NOW + 3600,
    };
    let r = request("oidc-request-000001");
    store.insert_oidc_request(&r, NOW).await.unwrap();
    assert_eq!(
        store.take_oidc_request(&r.attempt, NOW + 1).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store.take_oidc_request(&r.attempt, NOW + 2).await.unwrap(),
        None
    );
    let late = request("oidc-request-000002");
    store.insert_oidc_request(&late, NOW).await.unwrap();
    assert_eq!(
        store
            .take_oidc_request(&late.attempt, NOW + 3601)
            .await
            .unwrap(),
        None
    );
}

//! Crash safety (X-91…X-93): `kill -9` of the server in the middle of a bounded login load,
//! then a restart on the same database: it opens cleanly, no user exists without its identity
//! (and no identity without its user), pending attempts expire, and logging in again finds the
//! same users instead of creating duplicates. Runs on SQLite, and on PostgreSQL when available.

use crate::support;
use std::time::Duration;
use support::*;

async fn crash_and_restart(db: String) {
    let dir = tempfile::tempdir().unwrap();
    let (_mock, mock_base) = mock().await;
    let (mut server, cfg, base) = serve_config(dir.path(), &mock_base, &db);

    // 40 logins of 40 distinct Xiaomi users is not possible with 4 test accounts, so: many
    // flows over the accounts, in flight when the process dies.
    let accounts = ["alice", "bob", "carol", "mallory"];
    let mut tasks = Vec::new();
    for i in 0..40 {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let http = browser();
            let cb = approve(
                &http,
                &base,
                accounts[i % 4],
                &format!("attempt-crash-{i:06}"),
            )
            .await;
            tokio::time::sleep(Duration::from_millis((i as u64 % 8) * 5)).await;
            http.get(&cb).send().await.ok().map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    for t in tasks {
        let _ = t.await; // some finished, some were cut off
    }

    let (users, identities, orphans) = rows(&db).await;
    assert_eq!(orphans, 0, "a user without an identity survived the crash");
    assert_eq!(
        users, identities,
        "users and identities are written together"
    );
    assert!(users <= 4);

    // Restart on the same database: it opens cleanly and every account logs in to one user.
    let _server = serve(&cfg, &[], None);
    wait_ready(&base);
    for (i, a) in accounts.iter().enumerate() {
        let http = browser();
        let cb = approve(&http, &base, a, &format!("attempt-after-{i:06}")).await;
        let m = result(&http.get(&cb).send().await.unwrap().text().await.unwrap());
        assert_eq!(m["ok"], true, "{m}");
    }
    assert_eq!(
        rows(&db).await,
        (4, 4, 0),
        "no duplicates after the restart"
    );
    if let Some(file) = db.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open(file).unwrap();
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("milogin_attempts_pending "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        pending <= 40,
        "attempts cut off by the crash stay pending until they expire: {pending}"
    );
}

#[tokio::test]
async fn kill_9_during_load_on_sqlite_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_restart(format!(
        "sqlite://{}",
        dir.path().join("crash.db").display()
    ))
    .await;
}

#[tokio::test]
async fn kill_9_during_load_on_postgres_loses_nothing() {
    if let Some(db) = postgres_database().await {
        crash_and_restart(db).await;
    }
}

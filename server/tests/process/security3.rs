//! Security, round three (issue 18), as an attacker meets it: the `milogin` binary as a real
//! process, clients on distinct loopback addresses (`127.0.0.x`: Linux routes all of 127/8 to
//! the loopback interface, so a client binds its own source address) or, for IPv6, behind a
//! trusted proxy that names them in `X-Forwarded-For`.
//!
//! Every read has a timeout and every loop a bound: a server that waits forever fails the test
//! instead of hanging it.

use crate::support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;
use support::*;

/// A server for pool `p1` / app `web` with `limits` (the per-client connection cap at its
/// default, 32, unless a test sets it), its `[server]` keys changed by `server`; authorize
/// needs no Xiaomi, so the mock's address is a dead one.
fn start(
    server: impl FnOnce(&mut ServerKeys),
    limits: Limits,
) -> (tempfile::TempDir, Kill, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "s3cr+t/=").unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("milogin.db").display());
    let mut file = config(port, port, "http://127.0.0.1:9", &db).limits(limits);
    server(&mut file.server);
    let cfg = dir.path().join("milogin.toml");
    std::fs::write(&cfg, file.render()).unwrap();
    let server = serve(&cfg, &[], Some(&dir.path().join("log")));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(&format!("http://{addr}"));
    (dir, server, addr)
}

/// Limits out of the way of one client's bursts, but the per-client connection cap at its
/// default (32).
fn limits() -> Limits {
    Limits {
        max_connections_per_client: Limits::default().max_connections_per_client,
        ..generous_limits()
    }
}

/// [`limits`] with head deadlines far longer than a test: held connections stay held.
fn long_heads() -> Limits {
    Limits {
        header_read_timeout_ms: 60_000,
        first_request_timeout_ms: 60_000,
        ..limits()
    }
}

/// A TCP connection to `to` from the loopback address `127.0.0.{last}`.
async fn connect_from(last: u8, to: SocketAddr) -> TcpStream {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::from(([127, 0, 0, last], 0))).unwrap();
    let s = s.connect(to).await.unwrap().into_std().unwrap();
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Everything the server sends until it closes (or resets) the connection; `None` when it is
/// still open after the read timeout.
fn read_until_closed(s: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                break
            }
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Half a request head: the server waits for the rest.
const HALF_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

/// `/healthz` for a client on `127.0.0.{last}`: its status, or the error that ended it.
async fn healthz_from(last: u8, to: SocketAddr) -> Result<u16, String> {
    let http = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    http.get(format!("http://{to}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn one_address_at_its_connection_cap_leaves_room_for_another() {
    // Issue 18 item 1: 40 slots in all; 127.0.0.2 opens 40 connections and sends half a head on
    // each. With the per-client cap (default 32) it holds 32 and its others are closed at once.
    // (Long head deadlines: a slow machine must not free the held slots during the test.)
    let (_dir, _server, addr) = start(
        |_| {},
        Limits {
            max_connections: 40,
            ..long_heads()
        },
    );
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut s = connect_from(2, addr).await;
        let _ = s.write_all(HALF_HEAD); // a connection over the cap may already be closed
        held.push(s);
    }
    assert_eq!(
        healthz_from(3, addr).await,
        Ok(200),
        "a second address is served while the first holds its connections"
    );
    // 127.0.0.2 itself is at its cap: a new connection of it is closed without an answer.
    let mut extra = connect_from(2, addr).await;
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = tokio::task::spawn_blocking(move || read_until_closed(&mut extra))
        .await
        .unwrap();
    assert_eq!(answer.as_deref(), Some(""), "over its cap: closed at once");
    drop(held);
}

#[tokio::test]
async fn a_connection_that_sends_no_whole_head_is_closed_after_the_first_request_deadline() {
    // Issue 18 item 1: the head of the first request must arrive within
    // `limits.first_request_timeout_ms` (default 5000), far sooner than the header timeout
    // (60 s here), so a held connection costs its holder a new connection every few seconds.
    let (_dir, _server, addr) = start(
        |_| {},
        Limits {
            header_read_timeout_ms: 60_000,
            ..limits()
        },
    );
    let mut s = connect_from(2, addr).await;
    s.write_all(b"GET /hea").unwrap();
    let answer = tokio::task::spawn_blocking(move || read_until_closed(&mut s))
        .await
        .unwrap();
    assert!(
        answer.is_some(),
        "half a request line kept its connection open for 20 s"
    );
    assert_eq!(healthz_from(2, addr).await, Ok(200));
}

#[tokio::test]
async fn a_trusted_proxy_is_not_held_to_the_per_client_cap() {
    // Issue 18 item 1: every client of a reverse proxy shares its address; only the global cap
    // (`limits.max_connections`) applies to it.
    let (_dir, _server, addr) = start(
        |s| s.trusted_proxies = vec!["127.0.0.2/32".into()],
        Limits {
            max_connections: 48,
            max_connections_per_client: 4,
            ..long_heads()
        },
    );
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut s = connect_from(2, addr).await;
        s.write_all(HALF_HEAD).unwrap();
        held.push(s);
    }
    let mut last = held.pop().unwrap();
    last.write_all(b"Connection: close\r\n\r\n").unwrap();
    let answer = tokio::task::spawn_blocking(move || read_until_closed(&mut last))
        .await
        .unwrap()
        .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // An ordinary client is held to 4.
    let mut ordinary = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from(3, addr).await;
        s.write_all(HALF_HEAD).unwrap();
        ordinary.push(s);
    }
    let mut fifth = connect_from(3, addr).await;
    let _ = fifth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = tokio::task::spawn_blocking(move || read_until_closed(&mut fifth))
        .await
        .unwrap();
    assert_eq!(
        answer.as_deref(),
        Some(""),
        "the fifth of 127.0.0.3 is closed"
    );
}

/// Authorize of app `web` as the client `xff` names (through the trusted proxy 127.0.0.1), or
/// from `127.0.0.{last}` directly: the status and the body.
async fn authorize(addr: SocketAddr, client: Client<'_>) -> (u16, String) {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let url = format!(
        "http://{addr}/connection/social/mi/p1/authorize?app_id=web&origin=https%3A%2F%2Fshop.example.com&attempt=attempt-sec3-{n:08}-{}&mode=popup",
        std::process::id()
    );
    let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let mut req_header = None;
    match client {
        Client::Forwarded(ip) => req_header = Some(ip),
        Client::Direct(last) => {
            http = http.local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)));
        }
    }
    let http = http.timeout(Duration::from_secs(20)).build().unwrap();
    let mut req = http.get(url);
    if let Some(ip) = req_header {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Who sends a request.
#[derive(Clone, Copy)]
enum Client<'a> {
    /// A client the trusted proxy (127.0.0.1) names.
    Forwarded(&'a str),
    /// A client on `127.0.0.{n}` without a proxy.
    Direct(u8),
}

#[tokio::test]
async fn twelve_64s_of_one_48_cannot_lock_out_an_unrelated_client() {
    // Issue 18 item 2: the pending cap counts per /64, per /56 and per /48. Here 12 slots in all,
    // 1 per /64, 3 per /56, 6 per /48: twelve /64s of 2001:db8:aa::/48 (in three /56s) get 6,
    // and an unrelated client still starts its login.
    let (_dir, _server, addr) = start(
        |s| s.trusted_proxies = vec!["127.0.0.1/32".into()],
        Limits {
            max_pending_attempts: 12,
            max_pending_per_client: 1,
            max_pending_per_56: 3,
            max_pending_per_48: 6,
            ..limits()
        },
    );
    let mut admitted = 0;
    for i in 0..12u16 {
        let ip = format!("2001:db8:aa:{:x}::1", (i % 3) * 0x100 + i);
        let (status, body) = authorize(addr, Client::Forwarded(&ip)).await;
        match status {
            302 => admitted += 1,
            503 => assert!(body.contains("your network"), "{body}"),
            s => panic!("{ip}: {s} {body}"),
        }
    }
    assert_eq!(admitted, 6, "one /48 holds limits.max_pending_per_48");
    assert_eq!(
        authorize(addr, Client::Direct(3)).await.0,
        302,
        "an unrelated client is not locked out"
    );
    // One /56 of another /48: 3, then its fourth /64 waits while a sibling /56 starts.
    for i in 0..3 {
        let ip = format!("2001:db8:bb:{i:x}::1");
        assert_eq!(authorize(addr, Client::Forwarded(&ip)).await.0, 302, "{ip}");
    }
    let (status, body) = authorize(addr, Client::Forwarded("2001:db8:bb:3::1")).await;
    assert_eq!(status, 503, "a /56 holds limits.max_pending_per_56: {body}");
    assert_eq!(
        authorize(addr, Client::Forwarded("2001:db8:bb:100::1"))
            .await
            .0,
        302,
        "another /56 of that /48 is not"
    );
}

/// A configuration of an https server whose app `web` has the given origins, redirect and return
/// URIs, in a folder with a widget and the secret; `allow_plain_http_apps` as given.
fn https_config(
    dir: &std::path::Path,
    origins: &[&str],
    redirect_uris: &[&str],
    return_uris: &[&str],
    allow_plain_http_apps: bool,
) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("widget")).unwrap();
    std::fs::write(dir.join("widget/milogin.js"), "// widget").unwrap();
    std::fs::write(dir.join("secret"), "s3cr+t/=").unwrap();
    let db = format!("sqlite://{}", dir.join("milogin.db").display());
    let mut file = ConfigBuilder::on_loopback(free_port(), db);
    file.server.public_url = Some("https://login.example.com".into());
    file.server.widget_dir = Some("widget".into());
    file.server.allow_plain_http_apps = allow_plain_http_apps;
    let list = |v: &[&str]| v.iter().map(|&s| s.to_owned()).collect();
    let mut p1 = pool_p1("2882303761520000000");
    let app = &mut p1.apps[0];
    app.origins = list(origins);
    app.redirect_uris = list(redirect_uris);
    app.return_uris = list(return_uris);
    let text = file.pool(p1).render();
    let cfg = dir.join("milogin.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// `milogin <args> --config cfg`: whether it failed within 30 s (a server that starts is killed
/// and counts as not failed) and its stderr.
fn run_bounded(args: &[&str], cfg: &std::path::Path) -> (bool, String) {
    let dir = cfg.parent().unwrap();
    let err = dir.join(format!("{}.stderr", args[0]));
    let mut child = Kill(
        std::process::Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut failed = false;
    for _ in 0..300 {
        if let Some(status) = child.0.try_wait().unwrap() {
            failed = !status.success();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child);
    (failed, std::fs::read_to_string(err).unwrap())
}

#[test]
fn plain_http_pages_of_an_https_server_are_refused_by_check_and_at_start() {
    // Issue 18 item 5 (RFC 9700 §2.6): with an https `public_url`, an app page on plain http
    // would receive its token unencrypted. Loopback pages (a developer's machine) are fine.
    let dir = tempfile::tempdir().unwrap();
    let origins = [
        "http://shop.example.com",
        "http://localhost:3000",
        "http://127.0.0.1:8000",
        "http://[::1]:3000",
        "https://secure.example.com",
    ];
    let redirect_uris = [
        "http://shop.example.com/login/done",
        "http://localhost:3000/done",
        "https://secure.example.com/done",
    ];
    let return_uris = ["http://shop.example.com/return"];
    let cfg = https_config(dir.path(), &origins, &redirect_uris, &return_uris, false);
    for command in ["check", "serve"] {
        let (failed, err) = run_bounded(&[command], &cfg);
        assert!(failed, "{command} accepted plain-http pages:\n{err}");
        for key in [
            "pools[0].apps[0].origins[0]",
            "pools[0].apps[0].redirect_uris[0]",
            "pools[0].apps[0].return_uris[0]",
        ] {
            assert!(err.contains(key), "{command}: {key} missing from:\n{err}");
        }
        for loopback in [
            "origins[1]",
            "origins[2]",
            "origins[3]",
            "origins[4]",
            "redirect_uris[1]",
            "redirect_uris[2]",
        ] {
            assert!(
                !err.contains(loopback),
                "{command}: {loopback} refused:\n{err}"
            );
        }
        assert!(
            err.contains("https://") && err.contains("server.allow_plain_http_apps"),
            "the message names the fix and the opt-in:\n{err}"
        );
    }
    // The explicit opt-in for a lab.
    let cfg = https_config(dir.path(), &origins, &redirect_uris, &return_uris, true);
    succeeds(&check_cmd(Some(&cfg), &[]));
}

/// A whole login at the server `base` (pool `p1`, app `web`): the id_token.
async fn login_token(base: &str, attempt: &str) -> String {
    let http = browser();
    let cb = approve(&http, base, "alice", attempt).await;
    let page = http.get(&cb).send().await.unwrap().text().await.unwrap();
    result(&page)["id_token"].as_str().unwrap().to_owned()
}

/// The `kid` in a token's header.
fn kid_of(token: &str) -> String {
    use base64::Engine;
    let head = token.split('.').next().unwrap();
    let head = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&head).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The kids of the pool's JWKS once the server no longer publishes `gone` (its key cache is
/// re-read every 5 s: a bounded wait, 300 × 100 ms, generous for a loaded machine).
async fn jwks_without(base: &str, gone: &str) -> Vec<String> {
    let mut kids = Vec::new();
    for _ in 0..300 {
        let jwks: serde_json::Value =
            reqwest::get(format!("{base}/pools/p1/.well-known/jwks.json"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        kids = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        if !kids.iter().any(|k| k == gone) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kids
}

async fn userinfo_status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/pools/p1/userinfo?app_id=web"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn keys_revoke_drops_a_compromised_key_now_and_the_next_one_signs_at_once() {
    // Issue 18 item 6: a stolen signing key must leave the JWKS now, not when a rotation retires
    // it an hour later, and the pool must keep signing.
    let dir = tempfile::tempdir().unwrap();
    let (_mock, mock_base) = mock().await;
    let db = format!("sqlite://{}", dir.path().join("milogin.db").display());
    let (_server, cfg, base) = serve_config(dir.path(), &mock_base, &db);

    let stolen_token = login_token(&base, "attempt-revoke-000001").await;
    let stolen = kid_of(&stolen_token);
    assert_eq!(userinfo_status(&base, &stolen_token).await, 200);
    let out = keys_cmd(&cfg, &["rotate", "--pool", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let next = key_states(&cfg)[1].0.clone();

    // Revoke the signing key while a next key waits: that one signs at once.
    let out = keys_cmd(&cfg, &["revoke", "--pool", "p1", &stolen]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&stolen) && said.contains(&next), "{said}");
    assert_eq!(key_states(&cfg), [(next.clone(), "active".to_owned())]);
    let kids = jwks_without(&base, &stolen).await;
    assert_eq!(
        kids,
        std::slice::from_ref(&next),
        "the stolen key left the JWKS"
    );
    assert_eq!(
        userinfo_status(&base, &stolen_token).await,
        401,
        "tokens the stolen key signed no longer verify"
    );
    let fresh = login_token(&base, "attempt-revoke-000002").await;
    assert_eq!(kid_of(&fresh), next, "the next key signs at once");
    assert_eq!(userinfo_status(&base, &fresh).await, 200);

    // Revoke the signing key with none waiting: a new key is made and signs at once.
    let out = keys_cmd(&cfg, &["revoke", "--pool", "p1", &next]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let states = key_states(&cfg);
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].1, "active");
    assert_ne!(states[0].0, next);
    let newest = states[0].0.clone();
    assert_eq!(
        jwks_without(&base, &next).await,
        std::slice::from_ref(&newest)
    );
    assert_eq!(
        kid_of(&login_token(&base, "attempt-revoke-000003").await),
        newest
    );

    // An unknown kid is named, with where to look.
    let out = keys_cmd(&cfg, &["revoke", "--pool", "p1", "no-such-kid"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-kid") && err.contains("keys list"),
        "{err}"
    );
}

#[tokio::test]
async fn metrics_can_move_to_their_own_listen_address() {
    // Issue 18 item 7: with `server.metrics_listen`, `/metrics` is served there only, not on the
    // public address.
    let metrics_port = free_port();
    let (_dir, _server, addr) = start(
        |s| s.metrics_listen = Some(format!("127.0.0.1:{metrics_port}")),
        limits(),
    );
    let public = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "not on the public address");
    let metrics_base = format!("http://127.0.0.1:{metrics_port}");
    wait_ready(&metrics_base);
    let r = reqwest::get(format!("{metrics_base}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("milogin_logins_total"), "{text}");
    assert_eq!(
        reqwest::get(format!("{metrics_base}/healthz"))
            .await
            .unwrap()
            .status(),
        404,
        "only /metrics there"
    );
}

/// The stored private keys of pool `p1` in a SQLite file, oldest first.
fn stored_private_keys(db_file: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db_file).unwrap();
    let mut q = c
        .prepare("SELECT private_pem FROM signing_keys WHERE pool = 'p1' ORDER BY seq")
        .unwrap();
    q.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `(exit status success, stderr)` of `milogin serve` that must fail at start (killed after
/// 30 s otherwise).
fn serve_fails(cfg: &std::path::Path) -> (bool, String) {
    let (failed, err) = run_bounded(&["serve"], cfg);
    (failed, err)
}

#[tokio::test]
async fn signing_keys_are_wrapped_at_rest_with_the_key_encryption_key() {
    // Issue 18 item 8: with `server.key_encryption_key`, a copy of the database is not a copy of
    // the signing keys; `milogin keys wrap` wraps the keys a database already holds.
    let dir = tempfile::tempdir().unwrap();
    let (_mock, mock_base) = mock().await;
    std::fs::write(
        dir.path().join("secret"),
        milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET,
    )
    .unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::write(dir.path().join("kek"), b64.encode([7u8; 32]) + "\n").unwrap();
    std::fs::write(dir.path().join("other-kek"), b64.encode([8u8; 32])).unwrap();
    let port = free_port();
    let db_file = dir.path().join("milogin.db");
    let db = format!("sqlite://{}", db_file.display());
    let plain = config(port, port, &mock_base, &db);
    let with = |kek: &str| {
        let mut file = plain.clone();
        file.server.key_encryption_key = Some(Secret::File(kek.into()));
        file.render()
    };
    let plain = plain.render();
    let cfg_plain = dir.path().join("plain.toml");
    let cfg_kek = dir.path().join("kek.toml");
    let cfg_other = dir.path().join("other.toml");
    std::fs::write(&cfg_plain, &plain).unwrap();
    std::fs::write(&cfg_kek, with("kek")).unwrap();
    std::fs::write(&cfg_other, with("other-kek")).unwrap();
    let base = format!("http://127.0.0.1:{port}");

    // A database from before: its key is a PEM in the clear.
    let server = serve(&cfg_plain, &[], None);
    wait_ready(&base);
    let before = kid_of(&login_token(&base, "attempt-kek-000001").await);
    drop(server);
    assert!(stored_private_keys(&db_file)[0].contains("PRIVATE KEY"));

    // `keys wrap` wraps it in place; a second run has nothing left to do.
    let out = keys_cmd(&cfg_kek, &["wrap", "--pool", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&before), "{said}");
    let stored = stored_private_keys(&db_file);
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains("PRIVATE KEY") && !stored[0].contains(&b64.encode([7u8; 32])),
        "{}",
        stored[0]
    );
    let out = keys_cmd(&cfg_kek, &["wrap", "--pool", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stored_private_keys(&db_file),
        stored,
        "already wrapped: unchanged"
    );

    // Without the KEK, or with another one, the server refuses to start and says why.
    for (cfg, what) in [(&cfg_plain, "not set"), (&cfg_other, "another")] {
        let (failed, err) = serve_fails(cfg);
        assert!(failed, "served with wrapped keys and a KEK that is {what}");
        assert!(
            err.contains("server.key_encryption_key") && err.contains(&before),
            "{err}"
        );
    }

    // With it: the same key signs, and new keys (rotation) are stored wrapped too.
    let server = serve(&cfg_kek, &[], None);
    wait_ready(&base);
    let token = login_token(&base, "attempt-kek-000002").await;
    assert_eq!(kid_of(&token), before, "the wrapped key is the same key");
    assert_eq!(userinfo_status(&base, &token).await, 200);
    let out = keys_cmd(&cfg_kek, &["rotate", "--pool", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
    for k in stored_private_keys(&db_file) {
        assert!(!k.contains("PRIVATE KEY"), "{k}");
    }

    // A fresh database with a KEK never holds a key in the clear.
    let fresh = dir.path().join("fresh.db");
    let cfg_fresh = dir.path().join("fresh.toml");
    std::fs::write(
        &cfg_fresh,
        with("kek").replace(&db_file.display().to_string(), &fresh.display().to_string()),
    )
    .unwrap();
    let _server = serve(&cfg_fresh, &[], None);
    wait_ready(&base);
    let token = login_token(&base, "attempt-kek-000003").await;
    assert_eq!(userinfo_status(&base, &token).await, 200);
    let stored = stored_private_keys(&fresh);
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("PRIVATE KEY"), "{}", stored[0]);
}

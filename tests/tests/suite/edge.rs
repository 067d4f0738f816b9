//! The HTTP edge (X-89 and its neighbours): slow and oversized request bodies, the connection
//! cap, idle keep-alive connections, client-supplied request ids, and the SQLite file's modes.
//!
//! Raw TCP where the point is what a misbehaving client does byte by byte; every read has a
//! timeout and every loop a bound, so a server that waits forever fails the test instead of
//! hanging it.

use milogin_tests::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn addr(env: &Env) -> String {
    env.base.trim_start_matches("http://").to_string()
}

/// Everything the server sends until it closes (or resets) the connection; `None` when the
/// connection is still open after 10 s.
fn read_until_closed(s: &mut TcpStream) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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

/// Sends `head`, then trickles a body one byte per 200 ms (40 bytes at most: less than the
/// announced 100, so the body never completes and any answer comes from a timeout).
fn trickle(addr: String, head: String) -> Option<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..40 {
            if w.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let answer = read_until_closed(&mut s);
    let _ = s.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
    answer
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408_after_the_body_timeout() {
    // X-89 (slow bodies)
    let env = spawn_with_limits(Limits {
        body_read_timeout_ms: 300,
        ..generous_limits()
    })
    .await;
    for path in [
        format!("/connection/social/{CONN}/{POOL}/bind"),
        format!("/api/v1/attempts/{}/result", attempt_id()),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        );
        let answer = tokio::task::spawn_blocking({
            let a = addr(&env);
            move || trickle(a, head)
        })
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{path}: the server kept waiting for a 1 byte/200 ms body"));
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{path}: {answer}"
        );
    }
    let r = reqwest::get(format!("{}/healthz", env.base)).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    // X-89 (large bodies); the default limit is 8 KiB
    let env = spawn().await;
    let bind = format!("{}/connection/social/{CONN}/{POOL}/bind", env.base);
    let r = reqwest::Client::new()
        .post(&bind)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", "a".repeat(16 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Without a Content-Length (chunked), the limit applies while reading.
    let a = addr(&env);
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(a).unwrap();
        let chunk = "a".repeat(16 * 1024);
        let req = format!(
            "POST /connection/social/{CONN}/{POOL}/bind HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        read_until_closed(&mut s)
    })
    .await
    .unwrap()
    .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A small form still reaches the handler (no ticket: its own 400 page).
    let r = reqwest::Client::new()
        .post(&bind)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=x&action=cancel")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn over_the_connection_cap_new_connections_are_closed_until_slow_ones_time_out() {
    // X-89 (connection exhaustion): 2 slow clients hold both slots; the third is closed at once
    let env = spawn_with_limits(Limits {
        max_connections: 2,
        header_read_timeout_ms: 2000,
        ..generous_limits()
    })
    .await;
    let a = addr(&env);
    let (third, slow) = tokio::task::spawn_blocking(move || {
        let mut slow: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut s = TcpStream::connect(&a).unwrap();
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                    .unwrap();
                s
            })
            .collect();
        let mut s = TcpStream::connect(&a).unwrap();
        // The server may close before this write arrives; then the write itself fails.
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let third = read_until_closed(&mut s);
        let slow: Vec<Option<String>> = slow.iter_mut().map(read_until_closed).collect();
        (third, slow)
    })
    .await
    .unwrap();
    assert_eq!(
        third.as_deref(),
        Some(""),
        "connection 3 of a cap of 2 must be closed without an answer"
    );
    for s in slow {
        assert!(s.is_some(), "a slow client was never disconnected");
    }
    // The slots come back once the slow connections are gone (their tasks end a moment after
    // the sockets close: a bounded retry, not a timing assertion).
    let mut served = false;
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("{}/healthz", env.base)).await {
            served = r.status() == 200;
            if served {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        served,
        "the server did not serve again after the slow clients left"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    // X-89 (idle connections): hyper restarts the header-read timer after each response
    let env = spawn_with_limits(Limits {
        header_read_timeout_ms: 300,
        ..generous_limits()
    })
    .await;
    let a = addr(&env);
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(a).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        read_until_closed(&mut s)
    })
    .await
    .unwrap()
    .expect("the server kept an idle keep-alive connection open");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_it_is_a_plain_token() {
    // Log-line forgery: the id goes into every log line of the request
    let env = spawn().await;
    let http = reqwest::Client::new();
    let send = |v: reqwest::header::HeaderValue| {
        http.get(format!("{}/healthz", env.base))
            .header("x-request-id", v)
            .send()
    };
    let plain = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    let kept = "req-1.A_b";
    let r = send(reqwest::header::HeaderValue::from_static(kept))
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], kept);
    let longest = "a".repeat(64);
    let r = send(longest.parse().unwrap()).await.unwrap();
    assert_eq!(r.headers()["x-request-id"], longest.as_str());
    for bad in [
        b"abc\" level=ERROR msg=forged".to_vec(),
        "a".repeat(65).into_bytes(),
        b"abc\xe2\x80\xa8level=ERROR".to_vec(), // U+2028 LINE SEPARATOR
        b"abc\x85level=ERROR".to_vec(),         // NEL as Latin-1 (obs-text)
        b"abc\tlevel=ERROR".to_vec(),
    ] {
        let r = send(reqwest::header::HeaderValue::from_bytes(&bad).unwrap())
            .await
            .unwrap();
        let got = r.headers()["x-request-id"].as_bytes();
        assert_ne!(got, bad.as_slice());
        assert!(
            plain(std::str::from_utf8(got).unwrap()),
            "{:?} came back as {got:?}",
            String::from_utf8_lossy(&bad)
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_and_its_folders_are_created_private() {
    // Per-pool private keys, password hashes, emails and phones: 0700 folders, 0600 files
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("inner").join("milogin.db");
    let store = milogin_server::store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    for folder in [
        dir.path().join("data"),
        dir.path().join("data").join("inner"),
    ] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
    // The migrations just wrote through the WAL, so all three files exist while it is open.
    for suffix in ["", "-wal", "-shm"] {
        let f = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    store.close().await;
}

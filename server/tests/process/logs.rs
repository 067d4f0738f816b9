//! full flows at trace level, every log line captured; none carries the app secret, a
//! code, a state, a binding cookie, an access/refresh token, a `mac_key`, an id_token, the
//! profile URL (it carries the access token as `token=`), nor — through the binding step and the
//! experience-login page — a password (right or wrong), a CSRF token, a binding ticket, the
//! admin token or a try ticket.

use crate::support;
use support::*;

#[tokio::test]
async fn no_secret_reaches_a_log_line_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, mock_base) = mock().await;
    let secret = milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET;
    std::fs::write(dir.path().join("secret"), secret).unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let cfg = dir.path().join("milogin.toml");
    let admin = "admin-token-for-the-log-test-0123456789";
    std::fs::write(dir.path().join("admin"), admin).unwrap();
    std::fs::write(
        &cfg,
        with_binding(config(port, port, &mock_base, &db)).render(),
    )
    .unwrap();
    let password = "correct horse battery staple 42";
    let created = std::process::Command::new(BIN)
        .args([
            "user",
            "create",
            "--pool",
            "p1",
            "--username",
            "ann",
            "--password-stdin",
        ])
        .arg("--config")
        .arg(&cfg)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(password.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(created.success());
    let log = dir.path().join("server.log");
    let server = serve(
        &cfg,
        &[("RUST_LOG", "trace"), ("MILOGIN_LOG_FORMAT", "json")],
        Some(&log),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);

    let mut secrets: Vec<String> = vec![secret.into(), "token=".into()];
    // A success, a denial, a Xiaomi error and a replay.
    for (i, account) in ["alice", "bob", "carol"].iter().enumerate() {
        let http = browser();
        let cb = approve(&http, &base, account, &format!("attempt-logs-{i:08}")).await;
        let url = url::Url::parse(&cb).unwrap();
        for (k, v) in url.query_pairs() {
            if k == "code" || k == "state" {
                secrets.push(v.into_owned());
            }
        }
        if i == 1 {
            mock.set_faults(milogin_server::mock_xiaomi::Faults {
                profile_error: Some(96008),
                ..Default::default()
            });
        }
        let r = http.get(&cb).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            if let Some(v) = c
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v)
            {
                if v.len() > 8 {
                    secrets.push(v.to_string());
                }
            }
        }
        let m = result(&r.text().await.unwrap());
        if let Some(t) = m["id_token"].as_str() {
            secrets.push(t.to_string());
            secrets.push(t.rsplit('.').next().unwrap().to_string());
        }
        mock.set_faults(Default::default());
        http.get(&cb).send().await.unwrap(); // replay
    }
    secrets.extend(bind_and_try(&base, password, admin).await);
    secrets.extend(mock.issued_secrets());
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() > 50,
        "trace logging produced only {} lines",
        lines.len()
    );
    assert!(
        text.contains("login succeeded") && text.contains("request_id"),
        "the log is the real one"
    );
    assert!(
        text.contains("identity linked by password"),
        "the binding step ran and logged"
    );
    for line in &lines {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret ({}…) appears in the log",
            &s[..s.len().min(6)]
        );
    }
}

/// The test config plus a second connection `mb` (query binding) for the app, and the
/// experience-login page (`server.admin_token`).
fn with_binding(mut cfg: ConfigBuilder) -> ConfigBuilder {
    cfg.server.admin_token = Some(Secret::File("admin".into()));
    let pool = &mut cfg.pools[0];
    pool.apps[0].connections.push("mb".into());
    let secret = Secret::File("secret".into());
    let mut mb = ConnectionBuilder::xiaomi("mb", "2882303761520000000", secret);
    mb.association = Association::QueryBinding;
    pool.connections.push(mb);
    cfg
}

/// A login through `mb` that ends on the binding page: a wrong password, then the right one.
/// Then the experience-login page with the admin token and a `__try__` start with its ticket.
/// Returns every value that must not be logged.
async fn bind_and_try(base: &str, password: &str, admin: &str) -> Vec<String> {
    let http = browser();
    let mut secrets = vec![password.to_string(), admin.to_string()];
    let cb = approve_via(&http, base, "mb", "mallory", "attempt-logs-binding-0001").await;
    let r = http.get(&cb).send().await.unwrap();
    secrets.extend(cookie_values(&r));
    let html = r.text().await.unwrap();
    let csrf = attr_value(&html, "csrf");
    secrets.push(csrf.clone());
    let action = html
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    for pw in ["wrong password for ann 77", password] {
        secrets.push(pw.to_string());
        let r = http
            .post(&action)
            .form(&[
                ("csrf", csrf.as_str()),
                ("identifier", "ann"),
                ("password", pw),
                ("action", "bind"),
            ])
            .send()
            .await
            .unwrap();
        let page = r.text().await.unwrap();
        if pw == password {
            let m = result(&page);
            assert_eq!(m["ok"], true, "{page}");
            secrets.push(m["id_token"].as_str().unwrap().to_string());
        }
    }
    // The experience-login page: Basic with the admin token mints a try ticket (a cookie).
    let r = http
        .get(format!("{base}/connection/social/mi/p1/try"))
        .basic_auth("admin", Some(admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    secrets.extend(cookie_values(&r));
    let r = http
        .get(format!("{base}/connection/social/mi/p1/authorize?app_id=__try__&origin={}&attempt=attempt-logs-try-00001", enc(base)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "the try ticket starts a login");
    secrets
}

/// The values of the cookies a response sets (longer than 8 characters).
fn cookie_values(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| {
            c.to_str()
                .ok()?
                .split(';')
                .next()?
                .split_once('=')
                .map(|(_, v)| v.to_string())
        })
        .filter(|v| v.len() > 8)
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `milogin serve` on a fresh SQLite database in `dir` against the mock at `mock_base`, with the
/// Xiaomi secret `secret`, logging at `info` in `format` (`text` or `json`) to `dir/server.log`:
/// the running server, its log file and its base URL.
fn logged_server(
    dir: &std::path::Path,
    mock_base: &str,
    secret: &str,
    format: &str,
) -> (support::Kill, std::path::PathBuf, String) {
    std::fs::write(dir.join("secret"), secret).unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.join("m.db").display());
    let cfg = dir.join("milogin.toml");
    std::fs::write(&cfg, config(port, port, mock_base, &db).render()).unwrap();
    let log = dir.join("server.log");
    let server = serve(
        &cfg,
        &[("RUST_LOG", "info"), ("MILOGIN_LOG_FORMAT", format)],
        Some(&log),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);
    (server, log, base)
}

/// Issue 13.10: a refused login is logged at `info` with its reason and the origin it came
/// from, and a log written to a file (not a terminal) carries no colour codes.
#[tokio::test]
async fn refused_logins_are_logged_at_info_and_a_file_gets_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (_mock, mock_base) = mock().await;
    let (server, log, base) = logged_server(dir.path(), &mock_base, "s3cret", "text");
    let r = browser()
        .get(format!(
            "{base}/connection/social/mi/p1/authorize?app_id=web&origin={}&attempt=attempt-refused-00001&mode=popup",
            enc("https://evil.example")
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("\x1b["), "colour codes in a file:\n{text}");
    let line = text
        .lines()
        .find(|l| l.contains("login refused"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{text}"));
    for part in ["INFO", "origin_not_allowed", "https://evil.example"] {
        assert!(line.contains(part), "{part} missing from: {line}");
    }
}

/// Issue 19.4: the refusals an operator must see, as the JSON log has them: `origin` a plain
/// string (not `Some("…")`), the refused redirect URI on its line, a callback's refusal with the
/// origin recorded at authorize, and one `info` line per refusal of the connections list (an
/// unknown pool, an unknown app, an unregistered origin), with what the page asked for.
#[tokio::test]
async fn refusals_are_logged_with_plain_fields_an_operator_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, mock_base) = mock().await;
    let secret = milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET;
    let (server, log, base) = logged_server(dir.path(), &mock_base, secret, "json");
    let http = browser();
    let authorize = |query: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let r = http
                .get(format!("{base}/connection/social/mi/p1/authorize?{query}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_client_error(), "{}", r.status());
        }
    };
    authorize(format!(
        "app_id=web&origin={}&attempt=attempt-logs-origin-01&mode=popup",
        enc("https://evil.example")
    ))
    .await;
    authorize(format!(
        "app_id=web&attempt=attempt-logs-redirect-1&mode=redirect&redirect_uri={}",
        enc("https://evil.example/steal?x=1")
    ))
    .await;
    // A login Xiaomi refuses at the callback: the origin recorded at authorize is logged.
    mock.set_faults(milogin_server::mock_xiaomi::Faults {
        profile_error: Some(96008),
        ..Default::default()
    });
    let cb = approve(&http, &base, "alice", "attempt-logs-callback-1").await;
    http.get(&cb).send().await.unwrap();
    // An over-long app id is refused (and logged) as any unknown one is, its field cut.
    authorize(format!(
        "app_id={}&origin={}&attempt=attempt-logs-long-app-1&mode=popup",
        "a".repeat(300),
        enc("https://shop.example.com")
    ))
    .await;
    for (path, origin) in [
        ("nope/apps/web", Some("https://shop.example.com")),
        ("p1/apps/nope", None),
        ("p1/apps/web", Some("https://wrong.example")),
    ] {
        let mut r = http.get(format!("{base}/api/v1/pools/{path}/connections"));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        assert!(r.send().await.unwrap().status().is_client_error());
    }
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let with = |message: &str| -> Vec<&serde_json::Value> {
        lines
            .iter()
            .filter(|l| l["fields"]["message"] == message)
            .map(|l| &l["fields"])
            .collect()
    };
    let refused = with("login refused");
    assert_eq!(refused.len(), 4, "{text}");
    assert_eq!(refused[0]["reason"], "origin_not_allowed", "{text}");
    assert_eq!(refused[0]["origin"], "https://evil.example", "{text}");
    assert_eq!(refused[1]["reason"], "origin_not_allowed", "{text}");
    assert_eq!(
        refused[1]["redirect_uri"], "https://evil.example/steal?x=1",
        "{text}"
    );
    assert!(refused[1].get("origin").is_none(), "{text}");
    assert_eq!(refused[2]["origin"], "https://shop.example.com", "{text}");
    assert_eq!(refused[2]["pool"], "p1", "{text}");
    assert_eq!(refused[3]["reason"], "connection_not_enabled", "{text}");
    assert_eq!(refused[3]["app"], "a".repeat(64), "{text}");

    let listed = with("connections refused");
    assert_eq!(listed.len(), 3, "one line per refusal: {text}");
    let expected = [
        (
            "unknown_pool",
            "nope",
            "web",
            Some("https://shop.example.com"),
        ),
        ("unknown_app", "p1", "nope", None),
        (
            "origin_not_allowed",
            "p1",
            "web",
            Some("https://wrong.example"),
        ),
    ];
    for (line, (reason, pool, app, origin)) in listed.iter().zip(expected) {
        assert_eq!(line["reason"], reason, "{line}");
        assert_eq!(line["pool"], pool, "{line}");
        assert_eq!(line["app"], app, "{line}");
        match origin {
            Some(o) => assert_eq!(line["origin"], o, "{line}"),
            None => assert!(line.get("origin").is_none(), "{line}"),
        }
    }
    for l in &lines {
        if l["fields"]["message"] == "login refused"
            || l["fields"]["message"] == "connections refused"
        {
            assert_eq!(l["level"], "INFO", "{l}");
        }
    }
}

/// Issue 21: an OpenID Connect login of a confidential client at trace level. A second redeem of
/// its code is refused and says so in the log (`authorization code reused`); no line carries the
/// code, the client secret, the PKCE verifier, the id_token or the access token.
#[tokio::test]
async fn a_reused_authorization_code_is_logged_and_no_oidc_secret_is() {
    use base64::Engine;
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let (_mock, mock_base) = mock().await;
    std::fs::write(
        dir.path().join("secret"),
        milogin_server::mock_xiaomi::DEMO_CLIENT_SECRET,
    )
    .unwrap();
    let client_secret = "client-secret-for-the-oidc-log-test-0123";
    std::fs::write(dir.path().join("client-secret"), client_secret).unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let mut file = config(port, port, &mock_base, &db);
    let cb = "https://shop.example.com/cb";
    file.pools[0].apps[0].redirect_uris = vec![cb.into()];
    file.pools[0].apps[0].client_secret = Some(Secret::File("client-secret".into()));
    let cfg = dir.path().join("milogin.toml");
    std::fs::write(&cfg, file.render()).unwrap();
    let log = dir.path().join("server.log");
    let server = serve(
        &cfg,
        &[("RUST_LOG", "trace"), ("MILOGIN_LOG_FORMAT", "json")],
        Some(&log),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);

    let verifier = "a-verifier-of-the-oidc-log-test-0123456789-abcdef";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    let http = browser();
    let r = http
        .get(format!(
            "{base}/pools/p1/oidc/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid&state=s1&code_challenge={challenge}&code_challenge_method=S256",
            enc(cb)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "authorize");
    let consent = http.get(location(&r)).send().await.unwrap();
    let page = consent.text().await.unwrap();
    let req = attr_value(&page, "req");
    let r = http
        .post(format!("{mock_base}/oauth2/authorize/decision"))
        .form(&[("req", req.as_str()), ("account", "alice")])
        .send()
        .await
        .unwrap();
    let r = http.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 302, "callback");
    let to = url::Url::parse(&location(&r)).unwrap();
    let code = to
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let redeem = || {
        http.post(format!("{base}/pools/p1/oidc/token"))
            .basic_auth("web", Some(client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", cb),
                ("code_verifier", verifier),
            ])
            .send()
    };
    let first: serde_json::Value = redeem().await.unwrap().json().await.unwrap();
    let second = redeem().await.unwrap();
    assert_eq!(second.status(), 400);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let reused = text
        .lines()
        .find(|l| l.contains("authorization code reused"))
        .unwrap_or_else(|| panic!("the reuse is not in the log:\n{text}"));
    assert!(reused.contains("WARN"), "{reused}");
    let mut secrets = vec![code.clone(), client_secret.to_owned(), verifier.to_owned()];
    for t in ["id_token", "access_token"] {
        let t = first[t].as_str().expect("tokens in the answer");
        secrets.push(t.to_owned());
        secrets.push(t.rsplit('.').next().unwrap().to_owned());
    }
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret ({}…) appears in the log",
            &s[..s.len().min(6)]
        );
    }
}

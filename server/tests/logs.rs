//! full flows at trace level, every log line captured; none carries the app secret, a
//! code, a state, a binding cookie, an access/refresh token, a `mac_key`, an id_token or the
//! profile URL (it carries the access token as `token=`).

mod support;
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
    std::fs::write(&cfg, config(port, port, &mock_base, &db)).unwrap();
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

//! The `milogin` binary as an operator uses it: `check` on good and broken files, and `serve`
//! against `mock-xiaomi` as two real processes, driven by a scripted browser.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{
    approve, browser, check_cmd, free_port, free_ports, key_states, keys_cmd, pool_p1, result,
    serve, spawn_ready, succeeds, wait_ready, AppBuilder, ConfigBuilder, ConnectionBuilder, Kill,
    PoolBuilder, Secret, BIN,
};

#[test]
fn check_lists_every_problem_with_its_key_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    let secret = Secret::Env("MILOGIN_TEST_UNSET_SECRET".into());
    let mut file = ConfigBuilder::default().pool(
        PoolBuilder::new("p")
            .app(AppBuilder::new("a", "https://a.example/path", &["missing"]))
            .connection(ConnectionBuilder::xiaomi("Not Valid", "12ab", secret)),
    );
    file.server.listen = Some("here".into());
    file.server.public_url = Some("ftp://x".into());
    file.xiaomi.open_base = Some("http://127.0.0.1:1".into());
    std::fs::write(&f, file.render()).unwrap();
    let out = check_cmd(Some(&f), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    for key in [
        "server.listen",
        "server.public_url",
        "xiaomi.open_base",
        "pools[0].apps[0].origins[0]",
        "pools[0].apps[0].connections[0]",
        "pools[0].connections[0].unique_id",
        "pools[0].connections[0].app_id",
        "pools[0].connections[0].app_secret",
    ] {
        assert!(err.contains(key), "{key} missing from:\n{err}");
    }
    assert!(
        err.contains("allow_insecure_endpoints") && err.contains("MILOGIN_TEST_UNSET_SECRET"),
        "{err}"
    );
}

#[test]
fn check_prints_each_callback_url_for_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.txt"), "secret").unwrap();
    let f = dir.path().join("good.toml");
    std::fs::write(
        &f,
        EXAMPLE.replace("{ env = \"XIAOMI_APP_SECRET\" }", "{ file = \"s.txt\" }"),
    )
    .unwrap();
    let stdout = succeeds(&check_cmd(Some(&f), &[]));
    assert!(
        stdout.contains("https://login.example.com/connection/social/xiaomi/demo-pool/callback"),
        "{stdout}"
    );
}

const EXAMPLE: &str = include_str!("../../../milogin.example.toml");

/// `milogin serve` + `milogin mock-xiaomi` as separate processes; concurrent scripted logins;
/// then `milogin user list --json` sees the users; removing the bound connection is refused.
#[tokio::test]
async fn serve_and_mock_as_processes_complete_concurrent_logins() {
    let dir = tempfile::tempdir().unwrap();
    let mock_port = free_port();
    let mut mock = Kill(
        Command::new(BIN)
            .args([
                "mock-xiaomi",
                "--port",
                &mock_port.to_string(),
                "--client",
                "2882303761520000001:s3cr+t/=",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(mock.0.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    std::thread::spawn(move || lines.for_each(drop)); // keep draining: a closed pipe would kill it
    assert!(line.contains(&format!("127.0.0.1:{mock_port}")), "{line}");
    let port = free_port();
    std::fs::write(dir.path().join("secret"), "s3cr+t/=\n").unwrap();
    let db = format!("sqlite://{}", dir.path().join("data/milogin.db").display());
    let config = ConfigBuilder::on_loopback(port, db)
        .mock_xiaomi(&format!("http://127.0.0.1:{mock_port}"))
        .pool(pool_p1("2882303761520000001"))
        .render();
    let cfg = dir.path().join("milogin.toml");
    std::fs::write(&cfg, &config).unwrap();
    let server = serve(&cfg, &[], None);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);

    let accounts = ["alice", "bob", "carol", "alice", "bob", "carol"];
    let mut tasks = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let (base, account) = (base.clone(), account.to_string());
        tasks.push(tokio::spawn(async move {
            login(&base, &account, &format!("attempt-{i:012}")).await
        }));
    }
    let mut subs = std::collections::HashSet::new();
    for t in tasks {
        subs.insert(t.await.unwrap());
    }
    assert_eq!(
        subs.len(),
        3,
        "three distinct users for three Xiaomi accounts"
    );
    let calls: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{mock_port}/_mock/calls"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(calls["token"], 6, "one exchange per login");

    let out = Command::new(BIN)
        .args(["user", "list", "--pool", "p1", "--json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let users: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users.len(), 3);
    assert!(users
        .iter()
        .all(|u| u["identities"][0]["connection"] == "mi"));
    drop(server);

    // Renaming the connection would orphan the three users: the server refuses to start.
    std::fs::write(&cfg, config.replace("\"mi\"", "\"mi-2\"")).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("p1/mi") && err.contains("cannot be renamed"),
        "{err}"
    );
    // Issue 13.7: `check` refuses the same rename, so it fails before a deploy does.
    let out = check_cmd(Some(&cfg), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("p1/mi") && err.contains("cannot be renamed"),
        "{err}"
    );
    drop(mock);
}

/// A scripted popup login; returns the verified `sub`.
async fn login(base: &str, account: &str, attempt: &str) -> String {
    let http = browser();
    let callback = approve(&http, base, account, attempt).await;
    let m = result(
        &http
            .get(&callback)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(m["ok"], true, "{m}");
    let token = m["id_token"].as_str().unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(format!("{base}/pools/p1/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&["web"]);
    v.set_issuer(&[format!("{base}/pools/p1")]);
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["nonce"], attempt);
    claims["sub"].as_str().unwrap().to_string()
}

/// A configuration with one pool (`p1`, connection `mi`) over a fresh SQLite file in `dir`.
fn user_config(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(dir.join("secret"), "s3cret\n").unwrap();
    let cfg = dir.join("milogin.toml");
    let db = format!("sqlite://{}", dir.join("milogin.db").display());
    let mut file = ConfigBuilder::database(db).pool(pool_p1("2882303761520000001"));
    file.server.public_url = Some("https://login.example.com".into());
    std::fs::write(&cfg, file.render()).unwrap();
    cfg
}

/// Runs `milogin user …` with `--config cfg --pool p1`; `stdin` is piped in when given.
fn user_cmd(
    cfg: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("user")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .args(["--pool", "p1"])
        .env_remove("MILOGIN_USER_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        std::io::Write::write_all(&mut pipe, s.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn ok_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn fails_with(out: &std::process::Output, text: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(text),
        "expected {text:?} in:\n{err}"
    );
}

#[test]
fn user_create_show_disable_enable_delete() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = user_config(dir.path());
    std::fs::write(dir.path().join("pw"), "correct horse battery\n").unwrap();
    let pw_file = dir.path().join("pw").display().to_string();
    let out = user_cmd(
        &cfg,
        &[
            "create",
            "--username",
            "Ann",
            "--email",
            " Ann@Example.COM ",
            "--email-verified",
            "--phone",
            "138 0013 8000",
            "--display-name",
            "Ann Lee",
            "--password-file",
            &pw_file,
            "--json",
        ],
        &[],
        None,
    );
    let ann = ok_json(&out);
    assert_eq!(
        (
            ann["username"].as_str(),
            ann["email"].as_str(),
            ann["phone"].as_str()
        ),
        (Some("ann"), Some("ann@example.com"), Some("+8613800138000"))
    );
    assert_eq!(
        (
            ann["email_verified"].as_bool(),
            ann["phone_verified"].as_bool(),
            ann["nickname"].as_str()
        ),
        (Some(true), Some(false), Some("Ann Lee"))
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("argon2"),
        "the hash is never printed"
    );
    let id = ann["id"].as_str().unwrap().to_string();

    // Passwords from the environment and from standard input; the hash is argon2id.
    ok_json(&user_cmd(
        &cfg,
        &["create", "--username", "bea", "--json"],
        &[("MILOGIN_USER_PASSWORD", "from the environment")],
        None,
    ));
    ok_json(&user_cmd(
        &cfg,
        &[
            "create",
            "--email",
            "cy@example.com",
            "--password-stdin",
            "--json",
        ],
        &[],
        Some("from standard input\n"),
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hash = rt.block_on(async {
        let store = milogin_server::store::open(&format!(
            "sqlite://{}",
            dir.path().join("milogin.db").display()
        ))
        .await
        .unwrap();
        let id = milogin_server::accounts::LoginId::Email("cy@example.com".into());
        store
            .user_for_login("p1", &id)
            .await
            .unwrap()
            .unwrap()
            .1
            .unwrap()
    });
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(milogin_server::accounts::verify_password(
        &"from standard input".to_string().into(),
        Some(&hash)
    ));

    // Clear refusals that name the problem.
    let short_password: &[(&str, &str)] = &[("MILOGIN_USER_PASSWORD", "short")];
    // (arguments, environment, what the refusal says)
    type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let refusals: [Refusal; 11] = [
        (
            &["create", "--username", "ANN"],
            &[],
            "the username is already used",
        ),
        (
            &["create", "--email", "ann@EXAMPLE.com"],
            &[],
            "the email is already used",
        ),
        (
            &["create", "--phone", "+8613800138000"],
            &[],
            "the phone is already used",
        ),
        (
            &["create", "--email", "a@x.com,b@y.com"],
            &[],
            "invalid email",
        ),
        (&["create", "--phone", "12345"], &[], "invalid phone"),
        (&["create", "--username", "1abc"], &[], "invalid username"),
        (
            &["create", "--display-name", "x"],
            &[],
            "at least one of --username, --email, --phone",
        ),
        (
            &["create", "--username", "dee", "--phone-verified"],
            &[],
            "--phone-verified needs --phone",
        ),
        (
            &["create", "--username", "dee"],
            short_password,
            "at least 8 characters",
        ),
        (
            &[
                "create",
                "--username",
                "dee",
                "--password",
                "in-the-process-list",
            ],
            &[],
            "--password",
        ),
        (&["show", "--user", "nobody"], &[], "no user \"nobody\""),
    ];
    for (args, env, says) in refusals {
        fails_with(&user_cmd(&cfg, args, env, None), says);
    }

    // show by id, username, email or phone.
    for who in [id.as_str(), "ann", "ANN@example.com", "13800138000"] {
        let u = ok_json(&user_cmd(
            &cfg,
            &["show", "--user", who, "--json"],
            &[],
            None,
        ));
        assert_eq!(u["id"], id.as_str(), "{who}");
        assert_eq!(u["identities"], serde_json::json!([]));
    }
    let text = user_cmd(&cfg, &["show", "--user", "ann"], &[], None);
    assert!(String::from_utf8_lossy(&text.stdout)
        .contains("email     ann@example.com (verified: true)"));

    for (command, disabled) in [("disable", true), ("enable", false)] {
        let out = user_cmd(&cfg, &[command, "--user", "ann"], &[], None);
        assert!(out.status.success(), "{command}");
        let shown = ok_json(&user_cmd(
            &cfg,
            &["show", "--user", "ann", "--json"],
            &[],
            None,
        ));
        assert_eq!(shown["disabled"], disabled, "{command}");
    }

    let list = ok_json(&user_cmd(&cfg, &["list", "--json"], &[], None));
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["identities"].is_array() && u.get("password_hash").is_none()));
    assert!(user_cmd(&cfg, &["delete", "--user", "ann"], &[], None)
        .status
        .success());
    assert_eq!(
        ok_json(&user_cmd(&cfg, &["list", "--json"], &[], None))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    fails_with(
        &user_cmd(&cfg, &["delete", "--user", "ann"], &[], None),
        "no user",
    );
}

#[test]
fn user_unlink_removes_the_identity_of_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ann_bound_to_mi(dir.path());
    let shown = ok_json(&user_cmd(
        &cfg,
        &["show", "--user", "ann", "--json"],
        &[],
        None,
    ));
    assert_eq!(
        shown["identities"][0]["subject"],
        "2.0Vq3xK9mZ7pL1aB4cD8eF2gH"
    );
    fails_with(
        &user_cmd(
            &cfg,
            &["unlink", "--user", "ann", "--connection", "other"],
            &[],
            None,
        ),
        "has no identity on connection \"other\"",
    );
    let out = user_cmd(
        &cfg,
        &["unlink", "--user", "ann", "--connection", "mi"],
        &[],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ok_json(&user_cmd(
            &cfg,
            &["show", "--user", "ann", "--json"],
            &[],
            None
        ))["identities"],
        serde_json::json!([])
    );
    fails_with(
        &user_cmd(
            &cfg,
            &["unlink", "--user", "ann", "--connection", "mi"],
            &[],
            None,
        ),
        "has no identity",
    );
}

/// The configuration of [`user_config`] with the user `ann` (`milogin user create`) and a Xiaomi
/// identity on connection `mi` bound to her through the store, as a login would bind it.
fn ann_bound_to_mi(dir: &std::path::Path) -> std::path::PathBuf {
    let cfg = user_config(dir);
    let ann = ok_json(&user_cmd(
        &cfg,
        &["create", "--username", "ann", "--json"],
        &[],
        None,
    ));
    let id = ann["id"].as_str().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store =
            milogin_server::store::open(&format!("sqlite://{}", dir.join("milogin.db").display()))
                .await
                .unwrap();
        let identity = milogin_server::store::Identity {
            connection: "mi".try_into().unwrap(),
            subject: "2.0Vq3xK9mZ7pL1aB4cD8eF2gH".into(),
            client_id: "2882303761520000001".into(),
            union_id: None,
            created_at: 1,
        };
        assert_eq!(
            store
                .link_identity("p1", id, &identity, None, 1)
                .await
                .unwrap(),
            milogin_server::store::Link::Linked
        );
        store.close().await;
    });
    cfg
}

/// A value changed by hand into one milogin never writes (here a connection Unique ID with a
/// capital) is named with its table and column, not passed on as text.
#[test]
fn a_row_changed_by_hand_is_named_by_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ann_bound_to_mi(dir.path());
    rusqlite::Connection::open(dir.path().join("milogin.db"))
        .unwrap()
        .execute("UPDATE identities SET connection = 'Mi'", [])
        .unwrap();
    fails_with(
        &user_cmd(&cfg, &["list", "--json"], &[], None),
        "identities.connection holds \"Mi\", which is not a connection Unique ID: it contains 'M'",
    );
}

#[test]
fn keys_rotate_publishes_a_next_key_and_refuses_a_second_rotation_while_it_waits() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = user_config(dir.path());
    let out = keys_cmd(&cfg, &["rotate", "--pool", "p1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("is published in the JWKS now and signs from"),
        "{said}"
    );
    let keys = key_states(&cfg);
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!((keys[0].1.as_str(), keys[1].1.as_str()), ("active", "next"));
    assert!(said.contains(&keys[1].0), "{said}");
    let list = ok_json(&keys_cmd(&cfg, &["list", "--pool", "p1", "--json"]));
    let next = &list[1];
    // The default delay: server.key_publish_secs = 3600.
    assert_eq!(
        next["activates_at"].as_i64().unwrap() - next["created_at"].as_i64().unwrap(),
        3600
    );
    fails_with(
        &keys_cmd(&cfg, &["rotate", "--pool", "p1"]),
        &format!(
            "already has a next key {} waiting: it becomes the signing key at",
            keys[1].0
        ),
    );
    let table = keys_cmd(&cfg, &["list", "--pool", "p1"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(&keys[0].0) && table.contains("next"),
        "{table}"
    );
}

#[test]
fn keys_rotate_with_no_delay_retires_the_old_key_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = user_config(dir.path());
    let out = keys_cmd(&cfg, &["rotate", "--pool", "p1", "--activate-after", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = key_states(&cfg);
    assert_eq!(
        (keys[0].1.as_str(), keys[1].1.as_str()),
        ("retired", "active")
    );
    let list = ok_json(&keys_cmd(&cfg, &["list", "--pool", "p1", "--json"]));
    let retired_at = list[0]["retired_at"].as_i64().unwrap();
    assert_eq!(retired_at, list[1]["activates_at"].as_i64().unwrap());
    // Published until the last token it signed (server.token_ttl_secs = 3600) has expired.
    assert!(list[0]["published_until"].as_i64().unwrap() > retired_at + 3600);
    let again = keys_cmd(&cfg, &["rotate", "--pool", "p1", "--activate-after", "0"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(key_states(&cfg).len(), 3);

    fails_with(
        &keys_cmd(&cfg, &["list", "--pool", "nope"]),
        "pool \"nope\" is not in the configuration (pools: p1)",
    );
    fails_with(
        &keys_cmd(&cfg, &["rotate", "--pool", "nope"]),
        "pool \"nope\" is not in the configuration",
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    let db = dir.path().join("milogin.db").display().to_string();
    let unreachable = dir.path().join("unreachable.toml");
    std::fs::write(&unreachable, text.replace(&db, "/dev/null/milogin.db")).unwrap();
    fails_with(
        &keys_cmd(&unreachable, &["rotate", "--pool", "p1"]),
        "cannot open the database of server.database_url",
    );
}

#[cfg(unix)]
#[test]
fn check_warns_about_a_database_other_users_can_read_and_user_creates_it_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = user_config(dir.path());
    let db = dir.path().join("milogin.db");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    set(dir.path(), 0o700); // the folder is the test's, not milogin's
                            // Created by milogin (any command that opens the database): owner only.
    ok_json(&user_cmd(&cfg, &["list", "--json"], &[], None));
    assert_eq!(mode(&db), 0o600);
    let check = || {
        let out = check_cmd(Some(&cfg), &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = check();
    assert!(!out.contains("warning"), "{out}");
    // Widened by hand (or created by an older version): check names the path, mode and fix.
    set(&db, 0o644);
    set(dir.path(), 0o755);
    let out = check();
    let (file, folder) = (db.display().to_string(), dir.path().display().to_string());
    for text in [
        format!("warning: the database file {file} has mode 0644"),
        format!("chmod 600 {file}"),
        format!("warning: the database folder {folder} has mode 0755"),
        format!("chmod 700 {folder}"),
    ] {
        assert!(out.contains(&text), "{text:?} missing from:\n{out}");
    }
    set(dir.path(), 0o700);
}

/// Runs `milogin check` with `--config cfg` (when given) and extra environment.
/// Issue 13.9: a digits-only override of a string key stays a string (Xiaomi's APP ID), and
/// `MILOGIN_CONFIG` names the file when `--config` is absent.
#[test]
fn env_overrides_keep_strings_strings_and_milogin_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = user_config(dir.path());
    let out = succeeds(&check_cmd(
        Some(&cfg),
        &[
            (
                "MILOGIN_POOLS__0__CONNECTIONS__0__APP_ID",
                "2882303761520000001",
            ),
            ("MILOGIN_POOLS__0__ID", "12345"),
        ],
    ));
    assert!(out.contains("pool 12345"), "{out}");
    let out = succeeds(&check_cmd(
        None,
        &[("MILOGIN_CONFIG", cfg.to_str().unwrap())],
    ));
    assert!(out.contains("configuration is valid"), "{out}");
    fails_with(&check_cmd(None, &[]), "MILOGIN_CONFIG");
}

/// Issue 13.8: `milogin user …` reads only the database settings: no public URL, an unset
/// Xiaomi secret and an unset admin token do not stop it; a bad database URL still does.
#[test]
fn user_commands_need_only_the_database_settings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("milogin.toml");
    let db = format!("sqlite://{}", dir.path().join("milogin.db").display());
    let secret = Secret::Env("MILOGIN_TEST_UNSET_XIAOMI_SECRET".into());
    let mut file = ConfigBuilder::database(db).pool(PoolBuilder::new("p1").connection(
        ConnectionBuilder::xiaomi("mi", "2882303761520000001", secret),
    ));
    file.server.admin_token = Some(Secret::Env("MILOGIN_TEST_UNSET_ADMIN_TOKEN".into()));
    std::fs::write(&cfg, file.render()).unwrap();
    let users = ok_json(&user_cmd(&cfg, &["list", "--json"], &[], None));
    assert_eq!(users, serde_json::json!([]));
    ok_json(&user_cmd(
        &cfg,
        &["create", "--username", "ann", "--password-stdin", "--json"],
        &[],
        Some("correct horse battery\n"),
    ));
    let users = ok_json(&user_cmd(&cfg, &["list", "--json"], &[], None));
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    let other = dir.path().join("other.toml");
    let mut p2 = file.clone();
    p2.pools[0].id = "p2".into();
    std::fs::write(&other, p2.render()).unwrap();
    fails_with(
        &user_cmd(&other, &["list"], &[], None),
        "pool \"p1\" is not in the configuration (pools: p2)",
    );
    let mut mysql = file.clone();
    let url = file.server.database_url.as_deref().unwrap_or_default();
    mysql.server.database_url = Some(url.replace("sqlite://", "mysql://"));
    std::fs::write(&other, mysql.render()).unwrap();
    fails_with(
        &user_cmd(&other, &["list"], &[], None),
        "server.database_url",
    );
}

/// Issue 13.7: an unknown key and a value of the wrong variant are reported with their full
/// paths together with every other problem (serde no longer stops the run); unknown Xiaomi scope
/// ids are refused with the known list; each missing setting is named once.
#[test]
fn check_reports_shape_errors_by_path_with_every_other_problem() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    let secret = Secret::Env("MILOGIN_TEST_UNSET_SECRET".into());
    let mut mi = ConnectionBuilder::xiaomi("mi", "2882303761520000001", secret);
    mi.scopes = Some(vec![1, 99]);
    let mut file = ConfigBuilder::default().pool(
        PoolBuilder::new("p")
            .app(AppBuilder::new("a", "https://a.example", &["mi"]))
            .connection(mi),
    );
    file.server.public_url = Some("https://login.example.com".into());
    file.server.admin_token = Some(Secret::Env("MILOGIN_TEST_UNSET_ADMIN_TOKEN".into()));
    // What the typed fields cannot write: an unknown key, a value of no variant, a connection
    // without its required keys.
    let mut table = file.to_table();
    let server = table["server"].as_table_mut().unwrap();
    server.insert("colour".into(), "blue".into());
    let connections = table["pools"][0]["connections"].as_array_mut().unwrap();
    let mi = connections[0].as_table_mut().unwrap();
    mi.insert("login_mode".into(), "sometimes".into());
    connections.push(toml::Value::Table(toml::toml! { unique_id = "mi-2" }));
    std::fs::write(&f, toml::to_string(&table).unwrap()).unwrap();
    let out = check_cmd(Some(&f), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    for (key, text) in [
        ("server.colour", "unknown"),
        ("pools[0].connections[0].login_mode", "sometimes"),
        ("pools[0].connections[0].login_mode", "login_only"),
        (
            "pools[0].connections[0].app_secret",
            "MILOGIN_TEST_UNSET_SECRET",
        ),
        ("pools[0].connections[0].scopes[1]", "99"),
        ("pools[0].connections[0].scopes[1]", "1000, 1001"),
        ("pools[0].connections[0].scopes[1]", "13002 (legacy only)"),
        ("pools[0].connections[1].app_id", "required"),
        ("pools[0].connections[1].app_secret", "required"),
        ("server.admin_token", "MILOGIN_TEST_UNSET_ADMIN_TOKEN"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("{key}: ")) && l.contains(text)),
            "{key} with {text:?} missing from:\n{err}"
        );
    }
    assert!(!err.contains("(file)"), "{err}");
    let once = err
        .lines()
        .filter(|l| l.contains("server.admin_token"))
        .count();
    assert_eq!(once, 1, "one message per missing setting:\n{err}");
}

/// A config for `serve` without Xiaomi calls: relative database, secret and (optional) widget
/// folder, all next to the file in `conf`.
fn relative_config(
    conf: &std::path::Path,
    port: u16,
    widget_dir: Option<&str>,
) -> std::path::PathBuf {
    std::fs::create_dir_all(conf).unwrap();
    std::fs::write(conf.join("secret"), "s3cret\n").unwrap();
    let mut file = ConfigBuilder::on_loopback(port, "sqlite://data/milogin.db");
    file.server.widget_dir = widget_dir.map(str::to_owned);
    let cfg = conf.join("milogin.toml");
    std::fs::write(&cfg, file.pool(pool_p1("2882303761520000001")).render()).unwrap();
    cfg
}

/// Issue 13.6: paths in the configuration resolve against its folder, not the working
/// directory: `serve` started elsewhere finds the secret, creates the database next to the file
/// and serves the `widget_dir` override.
#[tokio::test]
async fn serve_resolves_relative_paths_against_the_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    let port = free_port();
    let cfg = relative_config(&conf, port, Some("widget"));
    std::fs::create_dir_all(conf.join("widget")).unwrap();
    std::fs::write(conf.join("widget/milogin.js"), "// the override\n").unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let check = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&cfg)
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    succeeds(&check);
    let (_server, base) = spawn_ready(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&cfg)
            .current_dir(&elsewhere),
        port,
    );
    let r = reqwest::get(format!("{base}/widget/milogin.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "// the override\n");
    assert!(conf.join("data/milogin.db").is_file());
    assert!(!elsewhere.join("data").exists());
}

/// Issue 13.6: `check` fails when no widget is available. Tested through the `widget_dir`
/// override pointing at an empty folder (a second binary built without the widget would cost a
/// build; the rule for the embedded copy is a unit test in `cli::check`).
#[test]
fn check_fails_without_a_widget() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = relative_config(dir.path(), free_port(), Some("empty"));
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let out = check_cmd(Some(&cfg), &[]);
    fails_with(&out, "server.widget_dir");
    fails_with(&out, "cargo xtask build-widget");
}

/// Issue 13.6: with `widget_dir` unset, `/widget/…` is the copy built into the binary, with the
/// same headers as from a folder. Needs the checkout's widget (`cargo xtask build-widget`) when
/// the binary was built; skipped without it, unless `MILOGIN_REQUIRE_BROWSER` is set.
#[tokio::test]
async fn the_widget_is_served_from_the_binary_when_widget_dir_is_unset() {
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/widget");
    let Ok(loader) = std::fs::read(built.join("milogin.js")) else {
        assert!(
            std::env::var_os("MILOGIN_REQUIRE_BROWSER").is_none(),
            "the widget is not built: run `cargo xtask build-widget`"
        );
        eprintln!("skipped: the widget is not built (cargo xtask build-widget)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = relative_config(dir.path(), port, None);
    succeeds(&check_cmd(Some(&cfg), &[]));
    let _server = serve(&cfg, &[], None);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/widget/milogin.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = |r: &reqwest::Response, n: &str| {
        r.headers()
            .get(n)
            .map_or(String::new(), |v| v.to_str().unwrap().to_string())
    };
    assert_eq!(h(&r, "content-type"), "text/javascript");
    assert_eq!(h(&r, "access-control-allow-origin"), "*");
    assert_eq!(h(&r, "cache-control"), "public, max-age=300");
    assert_eq!(h(&r, "vary"), "accept-encoding");
    assert_eq!(r.bytes().await.unwrap().as_ref(), loader.as_slice());
    if let Ok(br) = std::fs::read(built.join("milogin.js.br")) {
        let r = http
            .get(format!("{base}/widget/milogin.js"))
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(h(&r, "content-encoding"), "br");
        assert_eq!(r.bytes().await.unwrap().as_ref(), br.as_slice());
    }
    let wasm = std::fs::read_dir(&built)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("milogin-") && n.ends_with(".wasm"))
        .expect("a hashed wasm next to the loader");
    let r = http
        .get(format!("{base}/widget/{wasm}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h(&r, "content-type"), "application/wasm");
    assert_eq!(
        h(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let r = http
        .get(format!("{base}/widget/milogin-000000000000.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_demo_serves_the_widget_and_a_chinese_label_from_the_checkout() {
    // `cargo xtask demo` runs `milogin demo` in the checkout: its config (in the data folder) must
    // point at the checkout's widget by an absolute path, and label Chinese pages in Chinese.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("public/widget/milogin.js").is_file() {
        assert!(
            std::env::var_os("MILOGIN_REQUIRE_BROWSER").is_none(),
            "the widget is not built: run `cargo xtask build-widget`"
        );
        eprintln!("skipped: the widget is not built (cargo xtask build-widget)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports(3);
    let (_demo, base) = spawn_ready(
        Command::new(BIN)
            .args(["demo", "--port", &port.to_string(), "--data-dir"])
            .arg(dir.path())
            .current_dir(&root),
        port,
    );
    let r = reqwest::get(format!("{base}/widget/milogin.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the demo serves the widget");
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{base}/api/v1/pools/demo-pool/apps/demo-app/connections?locale=zh-CN"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["display_name"], "使用小米账号登录", "{list}");
}

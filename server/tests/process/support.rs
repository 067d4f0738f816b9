//! Shared by the process-level tests: spawn `milogin`, free ports, a scripted popup login.
#![allow(dead_code)]

pub use milogin_server::config::fixture::{
    generous_limits, AppBuilder, ConfigBuilder, ConnectionBuilder, PoolBuilder, Secret, ServerKeys,
};
pub use milogin_server::config::{Association, Limits};
use milogin_server::mock_xiaomi::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The `milogin` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_milogin");

/// Kills (SIGKILL) and reaps the child on drop.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first of `n` consecutive ports that were all free a moment ago (`milogin demo --port P`
/// binds P, P+1 and P+2: a neighbour of one free port may be another test's connection).
pub fn free_ports(n: u16) -> u16 {
    for _ in 0..50 {
        let first = free_port();
        let held: Vec<_> = (0..n)
            .map_while(|i| first.checked_add(i))
            .map_while(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return first;
        }
    }
    panic!("no {n} consecutive free ports on 127.0.0.1 in 50 tries");
}

/// Waits until `base` (`http://host:port`) accepts connections.
pub fn wait_ready(base: &str) {
    for _ in 0..400 {
        if std::net::TcpStream::connect(base.trim_start_matches("http://")).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{base} never came up");
}

/// Starts `milogin serve --config cfg` with extra environment; stderr goes to `log` if given.
pub fn serve(cfg: &std::path::Path, env: &[(&str, &str)], log: Option<&std::path::Path>) -> Kill {
    let mut c = Command::new(BIN);
    c.args(["serve", "--config"]).arg(cfg).stdout(Stdio::null());
    match log {
        Some(p) => c.stderr(std::fs::File::create(p).unwrap()),
        None => c.stderr(Stdio::null()),
    };
    for (k, v) in env {
        c.env(k, v);
    }
    Kill(c.spawn().unwrap())
}

/// Spawns `c` (a working directory, another user, … set by the caller) with its output discarded,
/// and waits until `127.0.0.1:port` accepts connections: the process and that base URL.
pub fn spawn_ready(c: &mut Command, port: u16) -> (Kill, String) {
    let child = Kill(
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut child = child;
    let base = format!("http://127.0.0.1:{port}");
    let addr = base.trim_start_matches("http://");
    for _ in 0..400 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return (child, base);
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("{c:?} exited ({status}) before {base} came up");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{base} never came up");
}

/// A config for one pool `p1`, app `web` (origin https://shop.example.com), connection `mi`
/// against the mock at `mock_base`, limits out of the way of one client's bursts (the rates,
/// the per-client pending and connection caps); the secret is read from `secret` next to the
/// file.
pub fn config(port: u16, public_port: u16, mock_base: &str, database_url: &str) -> ConfigBuilder {
    let mut file = ConfigBuilder::on_loopback(port, database_url)
        .mock_xiaomi(mock_base)
        .limits(generous_limits());
    file.server.public_url = Some(format!("http://127.0.0.1:{public_port}"));
    file.xiaomi.timeout_ms = Some(3000);
    file.pool(pool_p1(DEMO_CLIENT_ID))
}

/// Pool `p1`: app `web` (origin https://shop.example.com) with connection `mi` to Xiaomi app
/// `app_id`, whose secret is the file `secret` next to the configuration.
pub fn pool_p1(app_id: &str) -> PoolBuilder {
    let secret = Secret::File("secret".into());
    PoolBuilder::new("p1")
        .app(AppBuilder::new("web", "https://shop.example.com", &["mi"]))
        .connection(ConnectionBuilder::xiaomi("mi", app_id, secret))
}

/// `dir/milogin.toml` holding `file`, with the mock's Xiaomi secret beside it (`secret`).
pub fn write_config(dir: &std::path::Path, file: &ConfigBuilder) -> std::path::PathBuf {
    std::fs::write(dir.join("secret"), DEMO_CLIENT_SECRET).unwrap();
    let cfg = dir.join("milogin.toml");
    std::fs::write(&cfg, file.render()).unwrap();
    cfg
}

/// `milogin serve` of [`config`] over `db` against the mock at `mock_base`, on a free port, in
/// `dir`, and ready: the process, its configuration and its base URL.
pub fn serve_config(
    dir: &std::path::Path,
    mock_base: &str,
    db: &str,
) -> (Kill, std::path::PathBuf, String) {
    let port = free_port();
    let cfg = write_config(dir, &config(port, port, mock_base, db));
    let server = serve(&cfg, &[], None);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);
    (server, cfg, base)
}

/// `milogin keys <args> --config cfg`.
pub fn keys_cmd(cfg: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("keys")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap()
}

/// `keys list --pool p1 --json` as `(kid, state)`.
pub fn key_states(cfg: &std::path::Path) -> Vec<(String, String)> {
    let out = keys_cmd(cfg, &["list", "--pool", "p1", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_string(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `milogin check` of `cfg` (`None`: no `--config`) with this environment and without
/// `MILOGIN_CONFIG`.
pub fn check_cmd(cfg: Option<&std::path::Path>, env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("check");
    if let Some(cfg) = cfg {
        c.arg("--config").arg(cfg);
    }
    c.env_remove("MILOGIN_CONFIG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// The standard output of a command that must succeed (its stderr otherwise).
pub fn succeeds(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scripted browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Authorize at `base` and approve as `account` at the mock: returns the callback URL Xiaomi
/// redirects to (its host is the configured public URL).
pub async fn approve(http: &reqwest::Client, base: &str, account: &str, attempt: &str) -> String {
    approve_via(http, base, "mi", account, attempt).await
}

/// [`approve`] through connection `conn` of app `web` in pool `p1`.
pub async fn approve_via(
    http: &reqwest::Client,
    base: &str,
    conn: &str,
    account: &str,
    attempt: &str,
) -> String {
    let r = http
        .get(format!("{base}/connection/social/{conn}/p1/authorize?app_id=web&origin=https%3A%2F%2Fshop.example.com&attempt={attempt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "authorize");
    let consent = http.get(location(&r)).send().await.unwrap();
    let mock_base = consent.url().origin().ascii_serialization();
    let page = consent.text().await.unwrap();
    let req = attr_value(&page, "req");
    let r = http
        .post(format!("{mock_base}/oauth2/authorize/decision"))
        .form(&[("req", req.as_str()), ("account", account)])
        .send()
        .await
        .unwrap();
    location(&r)
}

/// The `value` of the form field `name` in `html`.
pub fn attr_value(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        .to_string()
}

/// The result message of a popup page.
pub fn result(page: &str) -> serde_json::Value {
    let json = page
        .split("id=\"milogin-result\">")
        .nth(1)
        .expect("a result page")
        .split("</script>")
        .next()
        .unwrap();
    serde_json::from_str(json).unwrap()
}

/// `(users, identities)` rows, and users without any identity, read directly.
pub async fn rows(database_url: &str) -> (i64, i64, i64) {
    use sqlx::Row;
    let q = "SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM identities) AS i, \
             (SELECT COUNT(*) FROM users WHERE id NOT IN (SELECT user_id FROM identities)) AS orphans";
    let r = if let Some(file) = database_url.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open(file).unwrap();
        c.query_row(q, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
    } else {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(database_url)
            .await
            .unwrap();
        let r = sqlx::query(q).fetch_one(&mut c).await.unwrap();
        (
            r.get::<i64, _>("u"),
            r.get::<i64, _>("i"),
            r.get::<i64, _>("orphans"),
        )
    };
    r
}

/// A fresh PostgreSQL database in the scratch cluster, or `None` when the run has none.
/// `cargo xtask test` always provides one and sets `MILOGIN_REQUIRE_PG=1`, so a missing cluster
/// fails there instead of skipping.
pub async fn postgres_database() -> Option<String> {
    let Ok(admin) = std::env::var("MILOGIN_TEST_PG_URL") else {
        assert!(
            std::env::var("MILOGIN_REQUIRE_PG").is_err(),
            "MILOGIN_REQUIRE_PG is set but MILOGIN_TEST_PG_URL is not"
        );
        eprintln!("skipped: no PostgreSQL (set MILOGIN_TEST_PG_URL or run `cargo xtask test`)");
        return None;
    };
    let name = format!(
        "r_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    Some(format!("{}/{name}", admin.rsplit_once('/').unwrap().0))
}

/// Starts the in-process mock Xiaomi on a free port.
pub async fn mock() -> (milogin_server::mock_xiaomi::Mock, String) {
    let mock = milogin_server::mock_xiaomi::Mock::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let m = mock.clone();
    tokio::spawn(async move { m.serve(l).await });
    (mock, base)
}

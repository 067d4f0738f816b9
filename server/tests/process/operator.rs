//! Issue 19, the operator's second day, through the `milogin` binary: `check` reads the database
//! without changing it and says what an upgrade needs, `migrate` applies it (SQLite and
//! PostgreSQL), PostgreSQL's password as a secret, quiet PostgreSQL commands, `--version` with the
//! schema, the systemd unit, the demo from a copied binary, `user list` with Chinese names and the
//! hosted page's app name.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::{
    free_port, free_ports, pool_p1, postgres_database, spawn_ready, wait_ready, AppBuilder,
    ConfigBuilder, Secret, BIN,
};

/// `milogin ARGS --config cfg`, with extra environment.
fn milogin(args: &[&str], cfg: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).arg("--config").arg(cfg);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A whole configuration over `database_url` (changed by `edit`), a widget folder so that
/// `check` has one, the Xiaomi secret in a file; returns the file.
fn config(dir: &Path, database_url: &str, edit: impl FnOnce(&mut ConfigBuilder)) -> PathBuf {
    std::fs::create_dir_all(dir.join("widget")).unwrap();
    std::fs::write(dir.join("widget/milogin.js"), "// stand-in\n").unwrap();
    std::fs::write(dir.join("secret"), "s3cret\n").unwrap();
    let mut file = ConfigBuilder::on_loopback(free_port(), database_url);
    file.server.widget_dir = Some("widget".into());
    let mut file = file.pool(pool_p1("2882303761520000001"));
    edit(&mut file);
    let cfg = dir.join("milogin.toml");
    std::fs::write(&cfg, file.render()).unwrap();
    cfg
}

/// The port of `server.listen` in the configuration file `cfg`.
fn listen_port(cfg: &Path) -> u16 {
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(cfg).unwrap()).unwrap();
    let listen = file["server"]["listen"].as_str().unwrap();
    listen.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// `server.database_password` from `source`.
fn password_from(source: Secret) -> impl FnOnce(&mut ConfigBuilder) {
    move |f| f.server.database_password = Some(source)
}

/// This binary's migrations.
fn migrations() -> Vec<sqlx::migrate::Migration> {
    sqlx::migrate!().iter().cloned().collect()
}

/// A SQLite file as milogin leaves it after the first `applied` migrations (an older version's
/// database), with sqlx's bookkeeping table.
fn older_sqlite(file: &Path, applied: usize) {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .unwrap();
    for m in migrations().iter().take(applied) {
        conn.execute_batch(&m.sql).unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?1, ?2, TRUE, ?3, 0)",
            rusqlite::params![m.version, m.description.as_ref(), m.checksum.as_ref()],
        )
        .unwrap();
    }
}

/// Every file of `dir` (recursively) with the SHA-256 of its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    use sha2::Digest;
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            let digest = sha2::Sha256::digest(std::fs::read(&p).unwrap());
            out.push((p.clone(), hex::encode(digest)));
        }
    }
    out.sort();
    out
}

fn sqlite_versions(file: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut s = conn
        .prepare("SELECT version FROM _sqlx_migrations ORDER BY version")
        .unwrap();
    let v = s
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    v
}

/// Issue 19.1 on SQLite: `check` on an older version's database reports the migration it lacks
/// and fails, changing nothing (not a byte of any file); `migrate` applies it and `check` passes;
/// a database a newer milogin migrated is refused by both, untouched.
#[test]
fn check_reads_an_older_sqlite_database_and_migrate_applies_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.db");
    let cfg = config(dir.path(), &format!("sqlite://{}", file.display()), |_| {});
    let all = migrations();
    let latest = all.last().unwrap();
    older_sqlite(&file, all.len() - 1);
    let before = snapshot(dir.path());

    let out = milogin(&["check"], &cfg, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        err.contains(&format!("{} ({})", latest.version, latest.description))
            && err.contains("milogin migrate")
            && err.contains("Back up"),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(dir.path()), before, "check changed a file");

    let out = milogin(&["migrate"], &cfg, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("applied 1 migration(s)") && said.contains(latest.description.as_ref()),
        "{}",
        text(&out)
    );
    assert_eq!(sqlite_versions(&file).len(), all.len());

    let out = milogin(&["check"], &cfg, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("schema {}, up to date", latest.version)),
        "{}",
        text(&out)
    );
    let out = milogin(&["migrate"], &cfg, &[]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("nothing to apply"),
        "{}",
        text(&out)
    );

    // A newer milogin's migration: refused by both, the file untouched.
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101, 'from the future', TRUE, x'00', 0)",
            [],
        )
        .unwrap();
    let before = snapshot(dir.path());
    for cmd in ["check", "migrate"] {
        let out = milogin(&[cmd], &cfg, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("newer milogin") && err.contains("99990101"),
            "{cmd}: {}",
            text(&out)
        );
    }
    assert_eq!(snapshot(dir.path()), before, "a newer schema was changed");
}

async fn tables(pg: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()")
        .fetch_one(pg)
        .await
        .unwrap()
}

async fn versions(pg: &mut sqlx::PgConnection) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pg)
        .await
        .unwrap()
}

/// Issue 19.1 on PostgreSQL: `check` on an empty database creates nothing (it used to create every
/// table), on an older version's schema it reports the missing migration and fails without
/// applying it; `migrate` applies it; a newer schema is refused by both. Also 19.3: no
/// `relation "_sqlx_migrations" already exists` notice in any command's output.
#[tokio::test]
async fn check_reads_a_postgres_database_and_migrate_applies_what_it_lacks() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &url, |_| {});
    let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let run = |args: &'static [&'static str]| {
        let cfg = cfg.clone();
        async move {
            tokio::task::spawn_blocking(move || milogin(args, &cfg, &[("RUST_LOG", "info")]))
                .await
                .unwrap()
        }
    };
    let quiet = |out: &Output| {
        let all = text(out);
        assert!(
            !all.contains("_sqlx_migrations") && !all.contains("already exists"),
            "a PostgreSQL notice reached the output: {all}"
        );
    };

    let out = run(&["check"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("database: empty"),
        "{}",
        text(&out)
    );
    assert_eq!(tables(&mut pg).await, 0, "check created tables");

    // An older version's schema: every migration but the last, as sqlx applies them.
    let all = migrations();
    let latest = all.last().unwrap().clone();
    let mut older = sqlx::migrate!();
    older.migrations = std::borrow::Cow::Owned(all[..all.len() - 1].to_vec());
    older.run(&mut pg).await.unwrap();
    let out = run(&["check"]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("{} ({})", latest.version, latest.description)),
        "{}",
        text(&out)
    );
    assert_eq!(
        versions(&mut pg).await.len(),
        all.len() - 1,
        "check migrated"
    );

    let out = run(&["migrate"]).await;
    assert!(out.status.success(), "{}", text(&out));
    quiet(&out);
    assert_eq!(versions(&mut pg).await.len(), all.len());
    for args in [
        &["check"][..],
        &["migrate"][..],
        &["user", "list", "--pool", "p1"][..],
    ] {
        let out = run(args).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        quiet(&out);
    }

    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101, 'from the future', TRUE, '\\x00', 0)")
        .execute(&mut pg)
        .await
        .unwrap();
    for cmd in [&["check"][..], &["migrate"][..]] {
        let out = run(cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("newer milogin"),
            "{cmd:?}: {}",
            text(&out)
        );
    }
    assert_eq!(versions(&mut pg).await.len(), all.len() + 1);
}

/// Issue 19.3: PostgreSQL's password lives in `server.database_password` (`{ file }` or `{ env }`),
/// not in the URL, and is what the server sends when PostgreSQL asks for it. A stand-in
/// PostgreSQL on loopback asks for a cleartext password and records it.
#[test]
fn the_postgres_password_is_a_secret_sent_when_postgres_asks() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        // One connection per command below, each refused after the password; none within 30 s
        // ends the wait (a command that never connects).
        listener.set_nonblocking(true).unwrap();
        for _ in 0..2 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let mut s = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(20))
                    }
                    Err(_) => return got,
                }
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                .unwrap();
            let read_len = |s: &mut std::net::TcpStream| {
                let mut n = [0u8; 4];
                s.read_exact(&mut n).unwrap();
                u32::from_be_bytes(n) as usize - 4
            };
            // The startup message (after an SSL request, refused with `N`, if one comes).
            let mut body = vec![0u8; read_len(&mut s)];
            s.read_exact(&mut body).unwrap();
            if body == [4, 210, 22, 47] {
                s.write_all(b"N").unwrap();
                body = vec![0u8; read_len(&mut s)];
                s.read_exact(&mut body).unwrap();
            }
            // AuthenticationCleartextPassword.
            s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).unwrap();
            let mut tag = [0u8; 1];
            s.read_exact(&mut tag).unwrap();
            assert_eq!(tag[0], b'p', "a password message");
            let mut password = vec![0u8; read_len(&mut s)];
            s.read_exact(&mut password).unwrap();
            password.pop(); // NUL
            got.push(password);
            // ErrorResponse: refused, so the command ends.
            let fields = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0";
            let mut e = vec![b'E'];
            e.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
            e.extend_from_slice(fields);
            s.write_all(&e).unwrap();
        }
        got
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pg-password"), "from the file\n").unwrap();
    let url = format!("postgres://milogin@127.0.0.1:{port}/milogin");
    let cfg = config(
        dir.path(),
        &url,
        password_from(Secret::File("pg-password".into())),
    );
    let out = milogin(&["migrate"], &cfg, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let cfg = config(
        dir.path(),
        &url,
        password_from(Secret::Env("MILOGIN_TEST_PG_PASSWORD".into())),
    );
    let out = milogin(
        &["user", "list", "--pool", "p1"],
        &cfg,
        &[("MILOGIN_TEST_PG_PASSWORD", "from the environment")],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("from the environment"),
        "the password is never echoed"
    );
    let got = server.join().unwrap();
    assert_eq!(
        got,
        [b"from the file".to_vec(), b"from the environment".to_vec()]
    );

    // A password in the URL as well is refused; on SQLite it means nothing; alone in the URL it
    // is a warning that says where it belongs.
    let inline = format!("postgres://milogin:inline@127.0.0.1:{port}/milogin");
    for (url, says) in [
        (inline.as_str(), "server.database_password"),
        ("sqlite://m.db", "PostgreSQL database_url only"),
    ] {
        let password = password_from(Secret::File("pg-password".into()));
        let out = milogin(&["check"], &config(dir.path(), url, password), &[]);
        assert!(
            !out.status.success() && text(&out).contains(says),
            "{url}: {}",
            text(&out)
        );
    }
    let cfg = config(
        dir.path(),
        // Nothing listens there: the database check is a warning, the password advice too.
        &format!(
            "postgres://milogin:inline@127.0.0.1:{}/milogin",
            free_port()
        ),
        |_| {},
    );
    let out = milogin(&["check"], &cfg, &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && said.contains("warning: server.database_url: holds a password")
            && !said.contains("inline"),
        "{}",
        text(&out)
    );
}

/// Issue 19.3: `--version` names the release and the schema it writes, so a build with
/// migrations of its own is not taken for the release before them; the release is the newest in
/// the CHANGELOG.
#[test]
fn version_names_the_release_and_the_database_schema() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    let latest = migrations().last().unwrap().version;
    let release = env!("CARGO_PKG_VERSION");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("milogin {release} (database schema {latest})")
    );
    let changelog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../CHANGELOG.md"))
            .unwrap();
    let newest = changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .find(|h| !h.starts_with("Unreleased"))
        .unwrap();
    assert!(
        newest.starts_with(release),
        "the CHANGELOG's newest release is {newest:?}, the workspace version {release}"
    );
}

/// The width of `s` in terminal columns, for what this test prints: CJK characters take two.
fn columns(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if ('\u{4e00}'..='\u{9fff}').contains(&c) {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Issue 19.10: `user list` pads by display width, so the columns after a Chinese name line up.
#[test]
fn user_list_aligns_columns_after_chinese_names() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}", dir.path().join("m.db").display()),
        |_| {},
    );
    for (user, name) in [("ann", "Ann"), ("zhang", "张三丰"), ("li", "李小龙 Bruce")] {
        let out = milogin(
            &[
                "user",
                "create",
                "--pool",
                "p1",
                "--username",
                user,
                "--display-name",
                name,
            ],
            &cfg,
            &[],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = milogin(&["user", "list", "--pool", "p1"], &cfg, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let rows: Vec<&str> = table.lines().filter(|l| !l.ends_with("user(s)")).collect();
    assert_eq!(rows.len(), 4, "{table}");
    // The `disabled` column starts at the same terminal column on every line.
    let at = |line: &str, word: &str| columns(&line[..line.find(word).unwrap()]);
    let header = at(rows[0], "disabled");
    for row in &rows[1..] {
        assert_eq!(at(row, "false"), header, "misaligned:\n{table}");
    }
}

/// Issue 19.10: the hosted login page names the app as people know it (its `name`, else its
/// site's host), never by its raw id.
#[tokio::test]
async fn the_hosted_page_names_the_app_not_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}", dir.path().join("m.db").display()),
        |f| {
            let pool = &mut f.pools[0];
            pool.apps[0].name = Some("Sunny Shop 阳光商店".into());
            let plain = AppBuilder::new("app-7f3a", "https://plain.example.org", &["mi"]);
            pool.apps.push(plain);
        },
    );
    let port = listen_port(&cfg);
    let _server = support::serve(&cfg, &[], None);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);
    // The visible text: the page without its tags' attributes (the buttons carry the id there).
    let visible = |html: &str| -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    };
    for (app, origin, shown, hidden) in [
        (
            "web",
            "https%3A%2F%2Fshop.example.com",
            "Sunny Shop 阳光商店",
            "web",
        ),
        (
            "app-7f3a",
            "https%3A%2F%2Fplain.example.org",
            "plain.example.org",
            "app-7f3a",
        ),
    ] {
        let html = reqwest::get(format!(
            "{base}/login/p1?app_id={app}&mode=popup&origin={origin}&attempt=attempt-hosted-0001"
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        let body = visible(html.split("<body").nth(1).unwrap());
        assert!(body.contains(shown), "{shown:?} not shown: {body}");
        assert!(
            !body.contains(hidden),
            "the raw id {hidden:?} is shown: {body}"
        );
    }
}

/// Issue 19.5: `milogin demo` serves its page from the binary (a copied binary has no checkout
/// beside it: here a `public/demo/` in the working directory that is not the demo's must not be
/// served), and keeps its own files private like the database: folder 0700, config and secret
/// 0600.
#[cfg(unix)]
#[tokio::test]
async fn the_demo_serves_its_page_from_the_binary_and_keeps_its_files_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("milogin");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::create_dir_all(dir.path().join("public/demo")).unwrap();
    std::fs::write(
        dir.path().join("public/demo/index.html"),
        "not the demo page",
    )
    .unwrap();
    let port = free_ports(3);
    let data = dir.path().join("data").join("demo");
    let (_demo, page) = spawn_ready(
        Command::new(&bin)
            .args(["demo", "--port", &port.to_string(), "--data-dir"])
            .arg(&data)
            .current_dir(dir.path()),
        port + 1,
    );
    let html = reqwest::get(&page).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("milogin-button") && html.contains(&format!("127.0.0.1:{port}")),
        "{html}"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data folder");
    for f in ["milogin.toml", "xiaomi-secret.txt", "milogin.db"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
}

/// Issue 19.2: the systemd unit passes `systemd-analyze verify` (with ExecStart pointing at this
/// build instead of /usr/local/bin), and the install steps in its header create what it needs: a
/// system user `milogin` that owns nothing but can read the config (group `milogin`).
#[test]
fn the_systemd_unit_verifies_and_matches_its_install_steps() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let unit = std::fs::read_to_string(root.join("docs/deploy/milogin.service")).unwrap();
    // What the header says to run, against what the unit uses.
    for needed in [
        "useradd --system",
        "install -d -m 0750 -o root -g milogin /etc/milogin",
        "install -m 0640 -o root -g milogin",
        "milogin migrate --config /etc/milogin/milogin.toml",
    ] {
        assert!(unit.contains(needed), "the install steps lack {needed:?}");
    }
    for line in ["User=milogin", "Group=milogin", "StateDirectory=milogin"] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    assert!(
        !unit.lines().any(|l| l.starts_with("DynamicUser=yes")),
        "a dynamic user is in no group that can read a 0640 config"
    );
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipped: systemd-analyze is not installed (Debian: apt-get install systemd)");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("milogin.service");
    std::fs::write(&here, unit.replace("/usr/local/bin/milogin", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&here)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    // Warnings (unknown keys, bad values) are printed without failing the command.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let own: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("milogin.service"))
        .collect();
    assert!(own.is_empty(), "{said}");
}

/// Issue 19.2: what the unit's install steps leave is what its user can use. Run as a user that
/// is not root and belongs only to its own group (`setpriv`; a uid and gid without a passwd
/// entry, as systemd would run `User=milogin`), `check`, `migrate` and `serve` read the
/// `root:milogin` 0640 config and secret in the 0750 folder and write the 0700 state folder. A
/// user outside that group — what `DynamicUser=yes` gave — cannot read the config. Needs root and
/// `setpriv` (util-linux); skipped with a message otherwise.
#[cfg(unix)]
#[tokio::test]
async fn the_service_user_of_the_install_steps_reads_its_config_and_writes_its_state() {
    use std::os::unix::fs::{chown, PermissionsExt};
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !root || !setpriv {
        eprintln!("skipped: needs root and setpriv (util-linux) to run as another user");
        return;
    }
    const UID: u32 = 64123;
    const GID: u32 = 64123;
    let dir = tempfile::tempdir().unwrap();
    let set = |p: &Path, mode: u32, uid: u32, gid: u32| {
        chown(p, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    set(dir.path(), 0o755, 0, 0);
    // The steps: binary 0755, /etc/milogin root:milogin 0750, its files root:milogin 0640, and
    // the state folder as StateDirectory= makes it (milogin:milogin 0700).
    let bin = dir.path().join("milogin");
    std::fs::copy(BIN, &bin).unwrap();
    set(&bin, 0o755, 0, 0);
    let etc = dir.path().join("etc");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    set(&state, 0o700, UID, GID);
    let cfg = config(
        &etc,
        &format!("sqlite://{}", state.join("milogin.db").display()),
        |_| {},
    );
    for p in [&cfg, &etc.join("secret"), &etc.join("widget/milogin.js")] {
        set(p, 0o640, 0, GID);
    }
    set(&etc.join("widget"), 0o750, 0, GID);
    set(&etc, 0o750, 0, GID);
    let port = listen_port(&cfg);
    let as_user = |uid: u32, gid: u32, args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--clear-groups",
        ])
        .arg(&bin)
        .args(args)
        .arg("--config")
        .arg(&cfg)
        .env_remove("RUST_LOG");
        c
    };
    for args in [&["check"][..], &["migrate"][..]] {
        let out = as_user(UID, GID, args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let (_server, base) = spawn_ready(&mut as_user(UID, GID, &["serve"]), port);
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let db = std::fs::metadata(state.join("milogin.db")).unwrap();
    assert_eq!(
        (
            std::os::unix::fs::MetadataExt::uid(&db),
            db.permissions().mode() & 0o777
        ),
        (UID, 0o600)
    );
    // Outside the group: the config cannot be read.
    let out = as_user(UID + 1, GID + 1, &["check"]).output().unwrap();
    assert!(
        !out.status.success() && text(&out).contains("Permission denied"),
        "{}",
        text(&out)
    );
}

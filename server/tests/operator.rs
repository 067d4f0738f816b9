//! Issue 19, the operator's second day, through the `milogin` binary: `check` reads the database
//! without changing it and says what an upgrade needs, `migrate` applies it (SQLite and
//! PostgreSQL), PostgreSQL's password as a secret, quiet PostgreSQL commands, `--version` with the
//! schema, the systemd unit, the demo from a copied binary, `user list` with Chinese names and the
//! hosted page's app name.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::{free_port, wait_ready, BIN};

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

/// A whole configuration over `database_url` (with `server_extra` lines in `[server]`), a widget
/// folder so that `check` has one, the Xiaomi secret in a file; returns the file.
fn config(dir: &Path, database_url: &str, server_extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("widget")).unwrap();
    std::fs::write(dir.join("widget/milogin.js"), "// stand-in\n").unwrap();
    std::fs::write(dir.join("secret"), "s3cret\n").unwrap();
    let cfg = dir.join("milogin.toml");
    let port = free_port();
    std::fs::write(
        &cfg,
        format!(
            r#"
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
database_url = "{database_url}"
widget_dir = "widget"
{server_extra}
[[pools]]
id = "p1"
  [[pools.apps]]
  id = "web"
  origins = ["https://shop.example.com"]
  connections = ["mi"]
  [[pools.connections]]
  unique_id = "mi"
  app_id = "2882303761520000001"
  app_secret = {{ file = "secret" }}
"#
        ),
    )
    .unwrap();
    cfg
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
        "",
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
        "",
    );
    let text_of = std::fs::read_to_string(&cfg).unwrap().replace(
        "  id = \"web\"\n",
        "  id = \"web\"\n  name = \"Sunny Shop 阳光商店\"\n",
    ) + r#"
  [[pools.apps]]
  id = "app-7f3a"
  origins = ["https://plain.example.org"]
  connections = ["mi"]
"#;
    std::fs::write(&cfg, text_of).unwrap();
    let port = std::fs::read_to_string(&cfg)
        .unwrap()
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
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
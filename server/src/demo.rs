//! `milogin demo`: the login server, the embedded mock Xiaomi and a demo host page on a
//! different origin, all on 127.0.0.1, with a ready configuration and SQLite in a data folder.
//! The page is built into the binary like the widget, so a copied `milogin` runs the demo
//! anywhere; the data folder is private (0700, its files 0600) like the database.

use crate::config::fixture::{
    AppBuilder, ConfigBuilder, ConnectionBuilder, DisplayName, PoolBuilder, Secret,
};
use crate::config::Config;
use crate::state::{AppState, SystemClock};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use milogin_mock_xiaomi::{Mock, MockConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Pool, app and connection of the demo.
pub const POOL: &str = "demo-pool";
/// App id of the demo.
pub const APP: &str = "demo-app";
/// Connection Unique ID of the demo.
pub const CONNECTION: &str = "xiaomi";

/// The demo host page (`public/demo/index.html`), built into the binary.
const DEMO_PAGE: &str = include_str!("../../public/demo/index.html");

/// The `public/` folder (for a freshly built widget): next to the working directory, else the
/// source checkout's.
pub fn public_dir() -> PathBuf {
    // Absolute: the demo's config lives in its data folder, and relative paths in a config resolve
    // against the config's folder, not the working directory.
    let here = std::env::current_dir().unwrap_or_default().join("public");
    if here.join("demo").is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("public")
}

/// Writes the demo configuration (secret in a file next to it) and returns its path.
pub fn write_config(
    data_dir: &Path,
    port: u16,
    mock_port: u16,
    secret: &str,
) -> Result<PathBuf, String> {
    create_private_dir(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize().map_err(|e| e.to_string())?;
    write_private(&data_dir.join("xiaomi-secret.txt"), secret)?;
    // A checkout's freshly built widget wins over the copy built into the binary.
    let widget_dir = public_dir().join("widget");
    let mut file = ConfigBuilder::on_loopback(
        port,
        format!("sqlite://{}", data_dir.join("milogin.db").display()),
    )
    .mock_xiaomi(&format!("http://127.0.0.1:{mock_port}"));
    if widget_dir.join("milogin.js").is_file() {
        file.server.widget_dir = Some(widget_dir.display().to_string());
    }
    file.xiaomi.timeout_ms = Some(10_000);
    let page = |host: &str| format!("http://{host}:{}", port + 1);
    let mut app = AppBuilder::new(APP, &page("localhost"), &[CONNECTION]);
    app.origins.push(page("127.0.0.1"));
    app.redirect_uris = vec![page("localhost") + "/", page("127.0.0.1") + "/"];
    let mut connection = ConnectionBuilder::xiaomi(
        CONNECTION,
        milogin_mock_xiaomi::DEMO_CLIENT_ID,
        Secret::File("xiaomi-secret.txt".into()),
    );
    connection.display_name = Some(DisplayName::en_zh(
        "Sign in with Xiaomi",
        "使用小米账号登录",
    ));
    connection.scopes = Some(vec![1, 3]);
    let file = file.pool(PoolBuilder::new(POOL).app(app).connection(connection));
    let text = format!(
        "# Written by `milogin demo`. Everything on 127.0.0.1; the mock Xiaomi stands in for Xiaomi.\n{}",
        file.render()
    );
    let path = data_dir.join("milogin.toml");
    write_private(&path, &text)?;
    Ok(path)
}

/// Creates `dir` and its missing parents 0700 (existing ones keep their mode: `--data-dir` may
/// name a shared folder; `files::warnings` reports a database folder others can open).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Writes one of the demo's own files, readable by its owner only (0600, also when it existed).
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let written = o.open(path).and_then(|mut f| {
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        std::io::Write::write_all(&mut f, text.as_bytes())
    });
    written.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The demo host page with its placeholders filled.
pub fn demo_page(server_origin: &str) -> String {
    DEMO_PAGE
        .replace("{{SERVER}}", server_origin)
        .replace("{{POOL}}", POOL)
        .replace("{{APP}}", APP)
        .replace("{{CONNECTION}}", CONNECTION)
}

/// Runs the demo until Ctrl-C.
pub async fn run(port: u16, data_dir: &Path) -> Result<(), String> {
    let (page_port, mock_port) = (
        port.checked_add(1).ok_or("port too high")?,
        port.checked_add(2).ok_or("port too high")?,
    );
    let bind = |p: u16| async move {
        tokio::net::TcpListener::bind(("127.0.0.1", p))
            .await
            .map_err(|e| format!("port {p} is busy ({e}); try --port {}", p + 10))
    };
    let (server_l, page_l, mock_l) = (
        bind(port).await?,
        bind(page_port).await?,
        bind(mock_port).await?,
    );

    let mock_cfg = MockConfig::default();
    let client = mock_cfg.clients.first().ok_or("the mock has no client")?;
    let config_path = write_config(data_dir, port, mock_port, &client.client_secret)?;
    let config = Config::load(&config_path).map_err(|e| e.to_string())?;
    if let Some(w) = crate::http::widget::missing(config.server.widget_dir.as_deref()) {
        eprintln!("warning: {w} (or use `cargo xtask demo`).");
    }
    for w in crate::store::files::warnings(&config.server.database_url) {
        eprintln!("warning: {w}");
    }
    let state = AppState::build(config, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())?;
    let server_origin = format!("http://127.0.0.1:{port}");
    let page = demo_page(&server_origin);
    let page_app = Router::new().route("/", get(move || async move { Html(page) }));

    tokio::spawn(async move { Mock::new(mock_cfg).serve(mock_l).await });
    tokio::spawn(async move { axum::serve(page_l, page_app).await });
    println!();
    println!("  milogin demo is running (Ctrl-C to stop)");
    println!();
    println!("  Open the demo page:   http://localhost:{page_port}/");
    println!(
        "  Login server:         {server_origin}  (config: {})",
        config_path.display()
    );
    println!("  Mock Xiaomi:          http://127.0.0.1:{mock_port}");
    if crate::http::designer::embedded() {
        println!(
            "  Button designer:      {server_origin}/designer?pool={POOL}&app={APP}&connection={CONNECTION}"
        );
    }
    println!(
        "  Users:                milogin user list --config {} --pool {POOL}",
        config_path.display()
    );
    println!();
    crate::startup::serve(server_l, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

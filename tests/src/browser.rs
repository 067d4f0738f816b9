//! Real-browser harness: two engines, headless Chromium through chromedriver and headless
//! Firefox ESR through geckodriver (WebDriver, `fantoccini`), one driver per test in its own
//! process group (killed as a group on drop, so no browser outlives a failing test), a fresh
//! profile, and a host page server on a *different* origin (`http://localhost:PORT`, while the
//! login server is `http://127.0.0.1:PORT`: cross-site). What differs between the engines:
//! docs/browsers.md.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A browser engine the tests drive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// Debian's `chromium` through `chromedriver` (`MILOGIN_TEST_CHROMIUM`,
    /// `MILOGIN_TEST_CHROMEDRIVER`).
    #[default]
    Chromium,
    /// Debian's `firefox-esr` through geckodriver (`MILOGIN_TEST_FIREFOX`,
    /// `MILOGIN_TEST_GECKODRIVER`; `cargo xtask test` installs geckodriver into
    /// `target/tools/bin/`).
    Firefox,
}

impl Engine {
    /// The WebDriver server: the environment variable, else where Debian or xtask puts it.
    fn driver(self) -> String {
        match self {
            Self::Chromium => std::env::var("MILOGIN_TEST_CHROMEDRIVER")
                .unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
            Self::Firefox => std::env::var("MILOGIN_TEST_GECKODRIVER").unwrap_or_else(|_| {
                let tools =
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools");
                tools.join("bin/geckodriver").display().to_string()
            }),
        }
    }

    fn binary(self) -> String {
        match self {
            Self::Chromium => std::env::var("MILOGIN_TEST_CHROMIUM")
                .unwrap_or_else(|_| "/usr/bin/chromium".into()),
            Self::Firefox => std::env::var("MILOGIN_TEST_FIREFOX")
                .unwrap_or_else(|_| "/usr/bin/firefox-esr".into()),
        }
    }

    /// True when this engine's tests can run here: the driver, the browser and the built widget.
    pub fn available(self) -> bool {
        self.missing().is_empty()
    }

    /// What is missing for this engine's tests, each with where it was looked for and how to get
    /// it.
    fn missing(self) -> Vec<String> {
        let (driver_var, browser_var, driver_fix, browser_fix) = match self {
            Self::Chromium => (
                "MILOGIN_TEST_CHROMEDRIVER",
                "MILOGIN_TEST_CHROMIUM",
                "`apt-get install chromium-driver`",
                "`apt-get install chromium`",
            ),
            Self::Firefox => (
                "MILOGIN_TEST_GECKODRIVER",
                "MILOGIN_TEST_FIREFOX",
                "`cargo xtask test`, which builds the pinned version into target/tools/bin/",
                "`apt-get install firefox-esr`",
            ),
        };
        let widget = crate::widget_dir().join("milogin.js");
        [
            (self.driver(), driver_var, driver_fix),
            (self.binary(), browser_var, browser_fix),
            (
                widget.display().to_string(),
                "",
                "`cargo xtask build-widget`",
            ),
        ]
        .into_iter()
        .filter(|(path, _, _)| !std::path::Path::new(path).exists())
        .map(|(path, var, fix)| match var {
            "" => format!("{path} ({fix})"),
            var => format!("{path} (set {var}, or {fix})"),
        })
        .collect()
    }

    /// Skips (with a message) when this engine or the widget is missing, unless
    /// `MILOGIN_REQUIRE_BROWSER` is set (as `cargo xtask test` does): then the absence is a
    /// failure. `cargo xtask test` installs everything.
    pub fn require(self) -> bool {
        let missing = self.missing();
        if missing.is_empty() {
            return true;
        }
        let missing = missing.join("; ");
        assert!(
            std::env::var("MILOGIN_REQUIRE_BROWSER").is_err(),
            "{self:?} tests required but missing: {missing}"
        );
        eprintln!("skipped ({self:?}): missing {missing}");
        false
    }
}

/// True when the Chromium tests can run here.
pub fn available() -> bool {
    Engine::Chromium.available()
}

/// [`Engine::require`] for Chromium.
pub fn require() -> bool {
    Engine::Chromium.require()
}

/// How a browser starts.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// Which browser.
    pub engine: Engine,
    /// Keep the engine's popup blocker on. Both drivers turn it off by default (chromedriver
    /// with `--disable-popup-blocking`, geckodriver with Marionette's recommended preferences);
    /// on, Chromium runs without that switch and Firefox with `dom.disable_open_during_load`.
    pub popup_blocker: bool,
    /// Accept the self-signed certificate of [`serve_host_tls`].
    pub accept_test_certs: bool,
    /// Extra Chromium arguments, e.g. `--user-agent=…` (Firefox takes none).
    pub chromium_args: Vec<String>,
}

/// A running WebDriver server and its browser.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    /// Which browser this is.
    pub engine: Engine,
    driver: Child,
    profile: tempfile::TempDir,
}

/// The name the Chromium-only tests use: [`Browser::start`] and [`Browser::start_with`] start
/// Chromium.
pub type Chrome = Browser;

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: the driver and every browser process it started.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.driver.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. `popup_blocker`: keep Chromium's popup
    /// blocker on (chromedriver turns it off by default).
    pub async fn start(popup_blocker: bool) -> Self {
        Self::start_with(popup_blocker, &[]).await
    }

    /// [`Browser::start`] with extra Chromium arguments, e.g. `--user-agent=…`.
    pub async fn start_with(popup_blocker: bool, extra_args: &[String]) -> Self {
        Self::launch(Launch {
            popup_blocker,
            chromium_args: extra_args.to_vec(),
            ..Launch::default()
        })
        .await
    }

    /// Starts the engine's driver (on a free port, in its own process group) and a headless
    /// browser with a fresh profile.
    pub async fn launch(launch: Launch) -> Self {
        let engine = launch.engine;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Command::new(engine.driver());
        match engine {
            Engine::Chromium => driver.arg(format!("--port={port}")),
            Engine::Firefox => driver.args(["--host", "127.0.0.1", "--port", &port.to_string()]),
        };
        let driver = driver
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", engine.driver()));
        let caps = match engine {
            Engine::Chromium => chromium_capabilities(&launch, profile.path()),
            Engine::Firefox => firefox_capabilities(&launch, profile.path()),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{engine:?} WebDriver session: {e}"),
            }
        };
        Self {
            client,
            engine,
            driver,
            profile,
        }
    }

    /// Ends the session (the browser shuts down and writes its history database to the profile)
    /// and returns every address in the profile's history: Chromium's `Default/History` table
    /// `urls`, Firefox's `places.sqlite` table `moz_places`.
    pub async fn history(self) -> Vec<String> {
        self.client.clone().close().await.unwrap();
        let (file, query) = match self.engine {
            Engine::Chromium => ("Default/History", "SELECT url FROM urls"),
            Engine::Firefox => ("places.sqlite", "SELECT url FROM moz_places"),
        };
        let path = self.profile.path().join(file);
        // The browser may still be writing as it exits: read once it lets go (bounded).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let read = rusqlite::Connection::open(&path).and_then(|db| {
                let mut q = db.prepare(query)?;
                let urls = q.query_map([], |r| r.get::<_, String>(0))?;
                urls.collect::<Result<Vec<_>, _>>()
            });
            match read {
                Ok(urls) => return urls,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }

    /// Runs `js` (a function body; `arguments` available) and returns its value.
    pub async fn js(&self, js: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(js, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{js}"))
    }

    /// Polls `cond` (a JS expression) until true; panics with `what` after `secs`.
    pub async fn wait_until(&self, cond: &str, secs: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self
                .client
                .execute(&format!("return !!({cond});"), vec![])
                .await
                .ok()
                == Some(Value::Bool(true))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} ({cond})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The events the host page recorded (`window.__events`).
    pub async fn events(&self) -> Vec<Value> {
        match self.js("return window.__events || [];", vec![]).await {
            Value::Array(v) => v,
            other => panic!("events: {other}"),
        }
    }

    /// Waits for the popup window to open and returns (main, popup) handles.
    pub async fn popup(&self) -> (fantoccini::wd::WindowHandle, fantoccini::wd::WindowHandle) {
        let main = self.client.window().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ws = self.client.windows().await.unwrap();
            if let Some(p) = ws.iter().find(|w| **w != main) {
                return (main, p.clone());
            }
            assert!(Instant::now() < deadline, "no popup opened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// In the popup: clicks `#<id>` on the mock's consent page, then returns to the main window.
    pub async fn consent(&self, id: &str) {
        let (main, popup) = self.popup().await;
        self.client.switch_to_window(popup).await.unwrap();
        self.click_id(id).await;
        self.client.switch_to_window(main).await.unwrap();
    }

    /// In the current window: waits for `#<id>` (e.g. on the mock's consent page) and clicks it.
    pub async fn click_id(&self, id: &str) {
        let el = self
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"));
        el.click().await.unwrap();
    }

    /// Number of open windows.
    pub async fn window_count(&self) -> usize {
        self.client.windows().await.unwrap().len()
    }

    /// Waits (at most 4 s) until `n` windows are open; the caller asserts what it expects.
    pub async fn wait_windows(&self, n: usize) {
        for _ in 0..40 {
            if self.window_count().await == n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the inner button of the `n`th `<milogin-button>` (a real, trusted click), once the
    /// wasm's button has replaced the loader's first paint.
    pub async fn click_button(&self, selector: &str) {
        self.wait_until(
            &format!(
                "document.querySelector({})?.shadowRoot?.querySelector('button:not([data-state=loading])')",
                json!(selector)
            ),
            20,
            "the wasm's button",
        )
        .await;
        let host = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|_| panic!("no {selector}"));
        let root = host.shadow_root().await.expect("an open shadow root");
        root.find(Locator::Css("button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// The inner button's text and attributes of `selector`.
    pub async fn button_state(&self, selector: &str) -> Value {
        self.js(
            "const b = document.querySelector(arguments[0]).shadowRoot.querySelector('button');
             const live = document.querySelector(arguments[0]).shadowRoot.querySelector('[role=status]');
             return { text: b.textContent.trim(), label: b.getAttribute('aria-label'), busy: b.getAttribute('aria-busy'),
                      state: b.dataset.state, live: live ? live.textContent : null,
                      bg: getComputedStyle(b).backgroundColor, color: getComputedStyle(b).color };",
            vec![json!(selector)],
        )
        .await
    }
}

/// `goog:chromeOptions`: headless Chromium, the profile in `profile`.
fn chromium_capabilities(
    launch: &Launch,
    profile: &std::path::Path,
) -> serde_json::Map<String, Value> {
    let mut opts = json!({
        "binary": Engine::Chromium.binary(),
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,900",
                 format!("--user-data-dir={}", profile.display())],
    });
    if let Some(args) = opts["args"].as_array_mut() {
        args.extend(launch.chromium_args.iter().map(|a| json!(a)));
        if launch.accept_test_certs {
            args.push(json!(ACCEPT_TEST_CERTS));
        }
    }
    if launch.popup_blocker {
        opts["excludeSwitches"] = json!(["disable-popup-blocking"]);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), opts);
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    caps
}

/// `moz:firefoxOptions`: headless Firefox with the fresh profile `profile` (geckodriver writes
/// its preferences into it; the folder goes with the [`Browser`]).
fn firefox_capabilities(
    launch: &Launch,
    profile: &std::path::Path,
) -> serde_json::Map<String, Value> {
    assert!(
        launch.chromium_args.is_empty(),
        "Chromium arguments given to Firefox: {:?}",
        launch.chromium_args
    );
    // Said either way: Marionette's recommended preferences turn the popup blocker off unless
    // the profile sets it (docs/browsers.md).
    let prefs = json!({ "dom.disable_open_during_load": launch.popup_blocker });
    let mut caps = serde_json::Map::new();
    caps.insert(
        "moz:firefoxOptions".into(),
        json!({
            "binary": Engine::Firefox.binary(),
            "args": ["-headless", "-width", "1200", "-height", "900",
                     "-profile", profile.display().to_string()],
            "prefs": prefs,
        }),
    );
    if launch.accept_test_certs {
        caps.insert("acceptInsecureCerts".into(), json!(true));
    }
    caps
}

/// Binds the host page's port first (the server must know its origin before it starts).
pub async fn bind_host() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://localhost:{}", l.local_addr().unwrap().port());
    (l, origin)
}

/// [`bind_host`] for a host page served over https ([`serve_host_tls`]).
pub async fn bind_host_tls() -> (tokio::net::TcpListener, String) {
    let (l, origin) = bind_host().await;
    (l, origin.replacen("http:", "https:", 1))
}

/// Chromium's argument for the self-signed certificate of [`serve_host_tls`] (set by
/// [`Launch::accept_test_certs`]).
pub const ACCEPT_TEST_CERTS: &str = "--ignore-certificate-errors";

/// Serves `html` at every path of `l`, with extra response headers (e.g.
/// `Cross-Origin-Opener-Policy`).
pub fn serve_host(
    l: tokio::net::TcpListener,
    html: String,
    headers: Vec<(&'static str, &'static str)>,
) -> tokio::task::JoinHandle<()> {
    let app = host_app(html, headers);
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    })
}

/// [`serve_host`] over TLS with a fresh self-signed certificate for `localhost` (the browser
/// starts with [`Launch::accept_test_certs`]).
pub fn serve_host_tls(
    l: tokio::net::TcpListener,
    html: String,
    headers: Vec<(&'static str, &'static str)>,
) -> tokio::task::JoinHandle<()> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let tls = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
    let app = host_app(html, headers);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| {
                    tower::ServiceExt::oneshot(app.clone(), req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

/// `html` at every path, with `headers`.
fn host_app(html: String, headers: Vec<(&'static str, &'static str)>) -> axum::Router {
    use axum::response::IntoResponse;
    axum::Router::new().fallback(move || {
        let (html, headers) = (html.clone(), headers.clone());
        async move {
            let mut r = axum::response::Html(html).into_response();
            for (k, v) in headers {
                r.headers_mut()
                    .insert(k, axum::http::HeaderValue::from_static(v));
            }
            r
        }
    })
}

/// A host page: the widget from `server`, the given body, and a recorder of every milogin event.
pub fn page(server: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title>
<script type="module" src="{server}/widget/milogin.js"></script>
<script>
window.__arrived = location.href; // the address this page arrived at (what history keeps)
window.__events = [];
const open = window.open;
window.open = function (u, ...rest) {{ window.__opened = String(u); return (window.__w = open.call(window, u, ...rest)); }};
for (const k of ["milogin:success", "milogin:error", "milogin:cancel"]) {{
  document.addEventListener(k, (e) => window.__events.push({{ type: e.type, target: e.target.id, detail: e.detail }}));
}}
</script></head><body>{body}</body></html>"#
    )
}

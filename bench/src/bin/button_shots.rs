//! Screenshots of the button's looks, for a person to check what no assertion can (issue 19.9):
//! the default button, a narrow one (the mark alone), `shape="icon"`, `theme="dark"`,
//! `theme="auto"` in a browser that prefers dark, and the fallback button (the wasm blocked by
//! the page's CSP). Headless Chromium, the widget served by a login server on `127.0.0.1` to a
//! host page on `localhost` as in the browser tests. Writes one PNG per look into `--out DIR`
//! (created; never inside the repository by default: pick a folder outside git).
//!
//! `cargo run -p milogin-bench --bin button_shots -- --out /tmp/milogin-shots`

use fantoccini::Locator;
use milogin_tests::browser::{bind_host, page, serve_host, Browser, Launch};
use milogin_tests::{spawn_with, Options, APP, CONN, POOL};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `(file name, page background, the element(s))`; `{B}` is `pool app connection`.
const LOOKS: &[(&str, &str, &str)] = &[
    ("default", "#fff", "<milogin-button {B}></milogin-button>"),
    (
        "zh-CN",
        "#fff",
        r#"<milogin-button {B} locale="zh-CN"></milogin-button>"#,
    ),
    (
        "narrow",
        "#fff",
        r#"<div style="width:64px"><milogin-button {B}></milogin-button></div>"#,
    ),
    (
        "icon",
        "#fff",
        r#"<milogin-button {B} shape="icon"></milogin-button>"#,
    ),
    (
        "icon-large-brand",
        "#fff",
        r#"<milogin-button {B} shape="icon" size="large" theme="brand"></milogin-button>"#,
    ),
    (
        "brand",
        "#fff",
        r#"<milogin-button {B} theme="brand"></milogin-button>"#,
    ),
    (
        "dark",
        "#202124",
        r#"<milogin-button {B} theme="dark"></milogin-button>"#,
    ),
    (
        "auto-light",
        "#fff",
        r#"<milogin-button {B} theme="auto"></milogin-button>"#,
    ),
];

/// The host page: each look in its own padded box, `id` = its file name.
fn body(looks: &[(&str, &str, &str)]) -> String {
    let b = format!(r#"pool="{POOL}" app="{APP}" connection="{CONN}""#);
    looks
        .iter()
        .map(|(name, bg, el)| {
            format!(
                r#"<div id="{name}" style="display:inline-block;padding:16px;margin:4px;background:{bg}">{}</div>"#,
                el.replace("{B}", &b)
            )
        })
        .collect()
}

/// Loads `url`, waits until every button has left the loader's first paint, and writes each
/// look's box as `<out>/<name>.png`.
async fn shoot(c: &Browser, url: &str, names: &[&str], out: &Path) -> Result<Vec<PathBuf>, String> {
    c.client
        .goto(url)
        .await
        .map_err(|e| format!("navigation: {e}"))?;
    c.wait_until(
        "[...document.querySelectorAll('milogin-button')].every((e) => e.shadowRoot?.querySelector('button:not([data-state=loading])'))",
        20,
        "every button rendered (is the widget built? `cargo xtask build-widget`)",
    )
    .await;
    let mut written = Vec::new();
    for name in names {
        let png = c
            .client
            .find(Locator::Id(name))
            .await
            .map_err(|e| format!("#{name}: {e}"))?
            .screenshot()
            .await
            .map_err(|e| format!("screenshot of #{name}: {e}"))?;
        let path = out.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

async fn run(out: PathBuf) -> Result<(), String> {
    if !milogin_tests::browser::available() {
        return Err("needs chromedriver (/usr/bin/chromedriver, apt package chromium-driver) and the built widget".into());
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let ((l1, o1), (l2, o2), (l3, o3)) = (bind_host().await, bind_host().await, bind_host().await);
    let env = spawn_with(Options {
        origins: vec![o1.clone(), o2.clone(), o3.clone()],
        ..Options::default()
    })
    .await;
    let names: Vec<&str> = LOOKS.iter().map(|l| l.0).collect();
    let _light = serve_host(l1, page(&env.base, &body(LOOKS)), vec![]);
    let dark_looks = [(
        "auto-dark",
        "#202124",
        r#"<milogin-button {B} theme="auto"></milogin-button>"#,
    )];
    let _dark = serve_host(l2, page(&env.base, &body(&dark_looks)), vec![]);
    // Scripts from anywhere, but no 'wasm-unsafe-eval': the loader runs, the wasm cannot start.
    let fallback_looks = [
        ("fallback", "#fff", "<milogin-button {B}></milogin-button>"),
        (
            "fallback-zh-CN",
            "#fff",
            r#"<milogin-button {B} locale="zh-CN"></milogin-button>"#,
        ),
    ];
    let _fallback = serve_host(
        l3,
        page(&env.base, &body(&fallback_looks)),
        vec![("content-security-policy", "script-src * 'unsafe-inline'")],
    );

    let mut written = Vec::new();
    let c = Browser::launch(Launch::default()).await;
    written.extend(shoot(&c, &format!("{o1}/"), &names, &out).await?);
    written.extend(shoot(&c, &format!("{o3}/"), &["fallback", "fallback-zh-CN"], &out).await?);
    drop(c);
    let c = Browser::launch(Launch {
        chromium_args: vec!["--force-dark-mode".into()],
        ..Launch::default()
    })
    .await;
    c.client
        .goto(&format!("{o2}/"))
        .await
        .map_err(|e| format!("navigation: {e}"))?;
    let dark = c
        .js(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            vec![],
        )
        .await;
    if dark != true {
        return Err("Chromium with --force-dark-mode does not prefer a dark scheme".into());
    }
    written.extend(shoot(&c, &format!("{o2}/"), &["auto-dark"], &out).await?);
    for p in written {
        println!("{}", p.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--help" | "-h" => {
                println!("button_shots --out DIR   (one PNG per look of the button)");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}; see --help");
                return ExitCode::FAILURE;
            }
        }
    }
    let Some(out) = out else {
        eprintln!("button_shots needs --out DIR (a folder outside git); see --help");
        return ExitCode::FAILURE;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(run(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

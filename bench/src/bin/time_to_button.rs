//! Time to button: how long until `<milogin-button>` is visible, and until it is interactive, in
//! headless Chromium (design.md §9: visible ≤ 100 ms after the page's load event).
//!
//! A host page on `http://localhost:P` embeds the widget from a login server on
//! `http://127.0.0.1:S` (cross-site, as in production). The page measures itself with
//! `performance.now()` (whose zero is the navigation start): the load event; *visible*, the first
//! frame in which the button has its label and a size (the loader's first paint, before the
//! wasm); *interactive*, the first frame in which the wasm's Leptos view has replaced it and it
//! is not disabled. One cold load (fresh profile, empty cache), then `--loads` warm loads
//! (default 20); prints the medians, one table and one JSON line. Run by `cargo xtask bench`.

use milogin_tests::browser::{bind_host, serve_host, Chrome};
use milogin_tests::{spawn_with, Options, APP, CONN, POOL};
use std::process::ExitCode;
use std::time::Duration;

const PROBE: &str = r#"<script>
window.__t = {};
addEventListener("load", () => { window.__t.load = performance.now(); });
(function poll() {
  const el = document.querySelector("milogin-button");
  const b = el && el.shadowRoot && el.shadowRoot.querySelector("button");
  const r = b && b.getBoundingClientRect();
  const seen = b && r.width > 0 && r.height > 0 && b.textContent.trim();
  if (seen && !window.__t.visible) window.__t.visible = performance.now();
  if (seen && b.dataset.state != "loading" && b.getAttribute("aria-disabled") !== "true") {
    window.__t.button = performance.now();
  } else {
    requestAnimationFrame(poll);
  }
})();
</script>"#;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `(load event, visible, interactive)`, ms from the navigation start.
async fn measure(c: &Chrome, url: &str) -> Result<(f64, f64, f64), String> {
    c.client
        .goto(url)
        .await
        .map_err(|e| format!("navigation: {e}"))?;
    for _ in 0..200 {
        let t = c.js("return window.__t || {};", vec![]).await;
        if let (Some(load), Some(visible), Some(button)) = (
            t["load"].as_f64(),
            t["visible"].as_f64(),
            t["button"].as_f64(),
        ) {
            return Ok((load, visible, button));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err("the button never became clickable within 5 s (is the widget built? `cargo xtask build-widget`)".into())
}

async fn run(loads: usize) -> Result<(), String> {
    if !milogin_tests::browser::available() {
        return Err("needs chromedriver (/usr/bin/chromedriver, apt package chromium-driver) and the built widget".into());
    }
    let (l, origin) = bind_host().await;
    let env = spawn_with(Options {
        origins: vec![origin.clone()],
        ..Options::default()
    })
    .await;
    let body = format!(
        r#"{PROBE}<milogin-button pool="{POOL}" app="{APP}" connection="{CONN}"></milogin-button>"#
    );
    let _page = serve_host(l, milogin_tests::browser::page(&env.base, &body), vec![]);
    let chrome = Chrome::start(false).await;
    let cold = measure(&chrome, &format!("{origin}/?cold")).await?;
    let mut warm: [Vec<f64>; 4] = Default::default();
    for i in 0..loads {
        let (load, visible, button) = measure(&chrome, &format!("{origin}/?warm={i}")).await?;
        for (v, x) in warm.iter_mut().zip([
            visible,
            (visible - load).max(0.0),
            button,
            (button - load).max(0.0),
        ]) {
            v.push(x);
        }
    }
    let [v_nav, v_load, i_nav, i_load] = warm.map(|mut v| median(&mut v));
    let (c_load, c_visible, c_button) = cold;
    let c_v_load = (c_visible - c_load).max(0.0);
    let c_i_load = (c_button - c_load).max(0.0);
    println!("time to button (headless Chromium, {loads} warm loads + 1 cold)");
    println!("  {:<40} {:>9} {:>9}", "", "cold", "warm p50");
    for (what, cold, warm) in [
        ("navigation start → visible", c_visible, v_nav),
        ("load event → visible (budget 100)", c_v_load, v_load),
        ("navigation start → interactive", c_button, i_nav),
        ("load event → interactive", c_i_load, i_load),
    ] {
        println!("  {what:<40} {cold:>7.1}ms {warm:>7.1}ms");
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "time_to_button", "loads": loads,
            "cold_nav_to_visible_ms": c_visible, "cold_load_to_visible_ms": c_v_load,
            "cold_nav_to_interactive_ms": c_button, "cold_load_to_interactive_ms": c_i_load,
            "warm_nav_to_visible_ms_p50": v_nav, "warm_load_to_visible_ms_p50": v_load,
            "warm_nav_to_interactive_ms_p50": i_nav, "warm_load_to_interactive_ms_p50": i_load,
            "budget_load_to_visible_ms": 100, "within_budget": v_load <= 100.0 && c_v_load <= 100.0,
        })
    );
    Ok(())
}

fn main() -> ExitCode {
    let mut loads = 20;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--loads" => {
                loads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| (1..=500).contains(n))
                    .unwrap_or(20)
            }
            "--help" | "-h" => {
                println!(
                    "time_to_button [--loads N]   (N warm loads after one cold load; default 20)"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}; see --help");
                return ExitCode::FAILURE;
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(run(loads)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! The widget in a real browser (headless Chromium): a host page on origin A
//! (`http://localhost:…`) embeds `<milogin-button>` from the server on origin S
//! (`http://127.0.0.1:…`); popups, postMessage, events, labels, rendering, and every other way a
//! result travels: the app's return page for a lost opener (a COOP host page, an opener cut on
//! the way), redirect mode (asked for, as the blocked-popup fallback, in in-app browsers), the
//! hosted login page in a popup and by redirect; a foreign page that starts a victim's login
//! never gets the token; the `login()` promise API (also before the wasm runs); a host page
//! whose CSP forbids inline styles; and the button's look (long names, full width, the mark under
//! `img-src 'none'`, busy vs disabled, the dark edge, the fallback when the wasm is blocked).
//! The scenarios that also run in Firefox (`firefox.rs`) are functions taking the [`Engine`].

use base64::Engine as _;
use milogin_tests::browser::*;
use milogin_tests::*;
use serde_json::{json, Value};
use sha2::Digest as _;

const B1: &str = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" theme="brand"></milogin-button>"#;

async fn setup(body: &str, blocker: bool) -> Option<(Env, Chrome, String)> {
    setup_in(Engine::default(), body, blocker).await
}

/// [`setup`] in `engine`.
async fn setup_in(engine: Engine, body: &str, blocker: bool) -> Option<(Env, Chrome, String)> {
    let host = Host {
        engine,
        ..Host::default()
    };
    setup_with(body, blocker, host).await
}

/// How the host page is served and the browser started.
#[derive(Default)]
pub(super) struct Host {
    /// The browser (Chromium unless said).
    pub(super) engine: Engine,
    /// Response headers of every path.
    pub(super) headers: Vec<(&'static str, &'static str)>,
    /// Extra Chromium arguments.
    pub(super) args: Vec<String>,
    /// Paths of the host registered as redirect URIs.
    pub(super) redirect_paths: &'static [&'static str],
    /// Paths of the host registered as return pages.
    pub(super) return_paths: &'static [&'static str],
    /// Over https (a self-signed certificate), not `http://localhost`.
    pub(super) tls: bool,
}

impl Host {
    /// Served at http://localhost with `paths` registered as redirect URIs.
    fn redirect_to(paths: &'static [&'static str]) -> Self {
        Self {
            redirect_paths: paths,
            ..Self::default()
        }
    }

    /// Served at http://localhost with `/milogin-return` registered as the return page.
    fn with_return_page() -> Self {
        Self {
            return_paths: &["/milogin-return"],
            ..Self::default()
        }
    }
}

/// The host page `body` (`{HOST}` and `{SERVER}` replaced by the origins) served as `host` says
/// at every path, the server with that origin registered, the browser on the page.
async fn setup_with(body: &str, blocker: bool, host: Host) -> Option<(Env, Chrome, String)> {
    let (env, chrome, origin) = open_host(body, blocker, host).await?;
    wait_rendered(&chrome).await;
    Some((env, chrome, origin))
}

/// [`setup_with`] without waiting for a button (host pages that call `login()` themselves).
async fn open_host(body: &str, blocker: bool, host: Host) -> Option<(Env, Chrome, String)> {
    if !host.engine.require() {
        return None;
    }
    let (l, origin) = if host.tls {
        bind_host_tls().await
    } else {
        bind_host().await
    };
    let paths = |ps: &[&str]| ps.iter().map(|p| format!("{origin}{p}")).collect();
    let env = spawn_with(Options {
        origins: vec![origin.clone()],
        redirect_uris: paths(host.redirect_paths),
        return_uris: paths(host.return_paths),
        ..Options::default()
    })
    .await;
    let body = body
        .replace("{HOST}", &origin)
        .replace("{SERVER}", &env.base);
    if host.tls {
        serve_host_tls(l, page(&env.base, &body), host.headers);
    } else {
        serve_host(l, page(&env.base, &body), host.headers);
    }
    let chrome = Chrome::launch(Launch {
        engine: host.engine,
        popup_blocker: blocker,
        accept_test_certs: host.tls,
        chromium_args: host.args,
    })
    .await;
    chrome.client.goto(&format!("{origin}/")).await.unwrap();
    Some((env, chrome, origin))
}

/// The wasm's button (or the fallback) has replaced the loader's first paint.
async fn wait_rendered(c: &Chrome) {
    c.wait_until(
        "document.querySelector('milogin-button')?.shadowRoot?.querySelector('button:not([data-state=loading])')",
        20,
        "the button renders",
    )
    .await;
}

/// The id of the host page's focused element.
async fn focused_id(c: &Chrome) -> Value {
    c.js(
        "return document.activeElement && document.activeElement.id;",
        vec![],
    )
    .await
}

/// The events are exactly one success, on `#b1`.
fn one_success_at_b1(ev: &[Value]) {
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
}

/// The claims of a success event's token, verified against the pool's JWKS.
async fn verify_event(env: &Env, event: &Value) -> Value {
    let token = event["detail"]["id_token"].as_str().unwrap();
    verify(env, POOL, token, APP).await
}

/// Clicks `#b1` and closes its popup at once, back in the host page's window.
async fn close_the_popup_at_once(c: &Chrome) {
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();
}

/// The mock's consent page is shown in the current window.
async fn wait_consent_page(c: &Chrome) {
    c.wait_until(
        "document.getElementById('account-alice')",
        15,
        "the consent page",
    )
    .await;
}

/// This window went to Xiaomi's consent page (redirect mode).
async fn wait_left_for_xiaomi(c: &Chrome, env: &Env) {
    c.wait_until(
        &format!("location.href.startsWith('{}/')", env.mock_base),
        15,
        "Xiaomi's consent page in this window",
    )
    .await;
}

async fn wait_events(c: &Chrome, n: usize) -> Vec<Value> {
    c.wait_until(
        &format!("window.__events.length >= {n}"),
        20,
        "widget events",
    )
    .await;
    c.events().await
}

#[tokio::test]
async fn click_approve_success_with_a_verifiable_token() {
    a_popup_login_succeeds_with_a_verifiable_token(Engine::Chromium).await;
}

/// Click, consent in the popup: one success with a token that verifies, the popup closes itself
/// and the focus is back on the button.
pub(super) async fn a_popup_login_succeeds_with_a_verifiable_token(engine: Engine) {
    let Some((env, c, _)) = setup_in(engine, B1, false).await else {
        return;
    };
    c.wait_until("document.querySelector('#b1').shadowRoot.querySelector('button').textContent.includes('Sign in with Xiaomi')", 10, "server default label").await;
    c.click_button("#b1").await;
    let st = c.button_state("#b1").await;
    assert_eq!(
        st["busy"], "true",
        "aria-busy while the popup is open: {st}"
    );
    c.consent("account-alice").await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
    let token = ev[0]["detail"]["id_token"].as_str().unwrap();
    let claims = verify(&env, POOL, token, APP).await;
    assert_eq!(ev[0]["detail"]["user"]["nickname"], "Alice Wang");
    assert_eq!(claims["sub"], ev[0]["detail"]["user"]["id"]);
    c.wait_until("true", 1, "").await;
    c.wait_windows(1).await;
    assert_eq!(c.window_count().await, 1, "the popup closed itself");
    let st = c.button_state("#b1").await;
    assert_ne!(st["busy"], "true");
    assert_eq!(
        focused_id(&c).await,
        json!("b1"),
        "focus back on the button"
    );
    assert_eq!(env.mock.calls().token, 1);
}

#[tokio::test]
async fn live_display_name_keeps_the_login() {
    a_live_display_name_keeps_the_login(Engine::Chromium).await;
}

/// Issue 17.2: a designer's edits (`display-name`, `theme`, `width`) on a mounted button while
/// its login is in progress: the new label and look on the same `<button>` node, the login window
/// still open, and the login still ends with exactly one success.
pub(super) async fn a_live_display_name_keeps_the_login(engine: Engine) {
    let Some((env, c, _)) = setup_in(engine, B1, false).await else {
        return;
    };
    let same_node = "return window.__node === document.querySelector('#b1').shadowRoot.querySelector('button');";
    c.js(
        "window.__node = document.querySelector('#b1').shadowRoot.querySelector('button'); return true;",
        vec![],
    )
    .await;
    c.click_button("#b1").await;
    c.wait_until(
        &format!("{}.getAttribute('aria-busy') == 'true'", inner("b1")),
        10,
        "busy",
    )
    .await;
    // A designer's edits while the person is in the popup.
    c.js(
        "const b = document.querySelector('#b1'); b.setAttribute('display-name', 'Continue with Mi');
         b.setAttribute('theme', 'dark'); b.setAttribute('width', '260'); return true;",
        vec![],
    )
    .await;
    c.wait_until(
        &format!("{}.textContent.includes('Continue with Mi')", inner("b1")),
        5,
        "the new label",
    )
    .await;
    assert_eq!(
        c.js(same_node, vec![]).await,
        true,
        "the same <button> node"
    );
    // The button's colours change through a 0.15 s transition: read them once it has ended.
    // The pointer is still on the button after the click: dark, or dark's hover shade.
    let dark = ["rgb(31, 31, 31)", "rgb(51, 51, 51)"];
    c.wait_until(
        &format!(
            "{dark:?}.includes(getComputedStyle({}).backgroundColor)",
            inner("b1")
        ),
        5,
        "the dark theme",
    )
    .await;
    let st = c.button_state("#b1").await;
    assert_eq!(st["busy"], "true", "the login goes on: {st}");
    assert_eq!(st["label"], "Continue with Mi", "{st}");
    assert!(
        st["bg"].as_str().is_some_and(|bg| dark.contains(&bg)),
        "dark now: {st}"
    );
    // The width goes through the same transition (`transition: .15s` on every property), and
    // it may start a frame after the colours: wait for it too (Firefox read 181.8 px once).
    c.wait_until(
        &format!("{}.getBoundingClientRect().width === 260", inner("b1")),
        5,
        "width=260",
    )
    .await;
    assert_eq!(c.window_count().await, 2, "the login window is still open");
    c.consent("account-alice").await;
    let ev = wait_events(&c, 1).await;
    c.wait_until("true", 1, "").await;
    let ev2 = c.events().await;
    assert_eq!(ev2.len(), 1, "exactly one event: {ev2:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1")),
        "{ev:?}"
    );
    verify_event(&env, &ev[0]).await;
    assert_eq!(c.js(same_node, vec![]).await, true, "still the same node");
    let st = c.button_state("#b1").await;
    assert_eq!(
        (st["busy"].as_str(), st["state"].as_str()),
        (Some("false"), Some("done")),
        "{st}"
    );
    assert_eq!(st["text"], "Continue with Mi", "{st}");
}

#[tokio::test]
async fn deny_is_an_access_denied_error_event() {
    let Some((_env, c, _)) = setup(B1, false).await else {
        return;
    };
    c.click_button("#b1").await;
    c.consent("deny").await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev[0]["type"], "milogin:error");
    assert_eq!(ev[0]["detail"]["code"], "access_denied");
}

#[tokio::test]
async fn a_misconfigured_button_fires_its_error_code_at_once_without_a_window() {
    // Issue 13.1: an unknown app, an unknown pool, a connection not enabled for the app.
    let body = r#"<milogin-button id="app" pool="pool-a" app="no-such-app" connection="xiaomi"></milogin-button>
<milogin-button id="pool" pool="no-such-pool" app="app-a" connection="xiaomi"></milogin-button>
<milogin-button id="conn" pool="pool-a" app="app-a" connection="xiaomi-3"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    // The preflight answers arrive: then each click ends at once.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for (id, code) in [
        ("app", "unknown_app"),
        ("pool", "unknown_pool"),
        ("conn", "connection_not_enabled"),
    ] {
        c.click_button(&format!("#{id}")).await;
        let ev = wait_events(&c, 1).await;
        let last = ev.last().unwrap();
        assert_eq!(
            (last["type"].as_str(), last["target"].as_str()),
            (Some("milogin:error"), Some(id)),
            "{ev:?}"
        );
        assert_eq!(last["detail"]["code"], code, "{ev:?}");
        assert_eq!(c.window_count().await, 1, "no window opened for {id}");
        c.js("window.__events = [];", vec![]).await;
    }
}

#[tokio::test]
async fn an_unregistered_page_gets_origin_not_allowed_at_once() {
    if !require() {
        return;
    }
    let env = spawn().await; // the host page's origin is not registered
    let (l, origin) = bind_host().await;
    serve_host(l, page(&env.base, B1), vec![]);
    let c = Chrome::start(false).await;
    c.client.goto(&format!("{origin}/")).await.unwrap();
    wait_rendered(&c).await;
    // Before any click, the button looks what it is: not usable, and its tooltip (its accessible
    // description) says why.
    c.wait_until(
        &format!("{}.getAttribute('aria-disabled') == 'true'", inner("b1")),
        10,
        "the refused button is disabled",
    )
    .await;
    let look = c
        .js(
            &format!(
                "const b = {}; return [b.title, getComputedStyle(b).cursor];",
                inner("b1")
            ),
            vec![],
        )
        .await;
    assert!(
        look[0]
            .as_str()
            .is_some_and(|t| t.contains(&origin) && t.contains("pools.apps.origins")),
        "the title says why and how to fix it: {look}"
    );
    assert_eq!(look[1], "not-allowed", "{look}");
    c.click_button("#b1").await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev[0]["type"], "milogin:error");
    assert_eq!(ev[0]["detail"]["code"], "origin_not_allowed");
    assert!(
        ev[0]["detail"]["message"]
            .as_str()
            .unwrap()
            .contains(&origin),
        "{ev:?}"
    );
    assert_eq!(c.window_count().await, 1);
}

#[tokio::test]
async fn a_chinese_page_gets_a_chinese_label() {
    let body = r#"<script>document.documentElement.lang = "zh-CN";</script>
<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    c.wait_until(
        "document.querySelector('#b1').shadowRoot.querySelector('button').getAttribute('aria-label') == '用小米账号登录（测试）'",
        10,
        "the zh-CN display name",
    )
    .await;
}

#[tokio::test]
async fn a_connection_set_after_the_mount_fetches_the_label() {
    // A framework that binds `connection` after inserting the element: the button becomes usable
    // then, and asks the server for its label (Chinese here: the server's own zh-CN name).
    let body = r#"<script>document.documentElement.lang = "zh-CN";</script>
<milogin-button id="b1" pool="pool-a" app="app-a"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    assert_eq!(
        c.js(
            &format!("return {}.getAttribute('aria-disabled');", inner("b1")),
            vec![]
        )
        .await,
        "true",
        "without its connection the button is disabled"
    );
    c.js(
        "document.querySelector('#b1').setAttribute('connection', 'xiaomi'); return true;",
        vec![],
    )
    .await;
    c.wait_until(
        &format!(
            "{}.getAttribute('aria-label') == '用小米账号登录（测试）' && {0}.getAttribute('aria-disabled') == 'false'",
            inner("b1")
        ),
        10,
        "the server's zh-CN label, and usable",
    )
    .await;
}

#[tokio::test]
async fn a_login_that_ends_inside_the_call_does_not_hold_the_next_one() {
    // The popup blocker is on and there is no click: each login() is blocked at once. The next
    // call must start its own attempt, not hand back the settled promise of the last.
    let Some((env, c, _)) = setup(B1, true).await else {
        return;
    };
    let got = c
        .js(
            "return import(arguments[0]).then(async (m) => {
               await m.ready;
               const o = { pool: 'pool-a', app: 'app-a', connection: 'xiaomi' };
               const p1 = m.login(o);
               const e1 = await p1.catch((e) => e);
               const p2 = m.login(o);
               const e2 = await p2.catch((e) => e);
               return [p1 === p2, e1.code, e2.code];
             });",
            vec![json!(format!("{}/widget/milogin.js", env.base))],
        )
        .await;
    assert_eq!(
        got,
        json!([false, "popup_blocked", "popup_blocked"]),
        "{got}"
    );
}

#[tokio::test]
async fn a_popup_closed_at_once_is_a_cancel_at_once_without_a_return_page() {
    // Issue 13.3: no return page is registered, so a window that reads closed can never deliver.
    let Some((_env, c, _)) = setup(B1, false).await else {
        return;
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    close_the_popup_at_once(&c).await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["type"], "milogin:cancel");
    // And a retry is one click: a new window.
    c.click_button("#b1").await;
    c.popup().await;
    assert_eq!(c.window_count().await, 2);
}

#[tokio::test]
async fn with_a_return_page_a_quick_close_waits_but_a_retry_is_one_click() {
    let Some((_env, c, _)) = setup_with_return_page().await else {
        return;
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    close_the_popup_at_once(&c).await;
    // Closed at once: the relay's short wait (the return page could still be relaying)…
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(c.events().await.len(), 0);
    // …but one click ends that wait (a cancel) and opens a new window.
    c.click_button("#b1").await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev[0]["type"], "milogin:cancel");
    c.popup().await;
    assert_eq!(
        c.window_count().await,
        2,
        "a new login window at the same click"
    );
}

#[tokio::test]
async fn closing_the_popup_is_a_cancel_event() {
    let Some((_env, c, _)) = setup(B1, false).await else {
        return;
    };
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    // As a person would, after a look (this page has no Cross-Origin-Opener-Policy, so its
    // window's `closed` is the truth; see `a_coop_host_page_gets_one_result` for one that lies).
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    c.client.switch_to_window(popup).await.unwrap();
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();
    // No return page: nothing can come back, a cancel once the page's policy is read.
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["type"], "milogin:cancel");
}

#[tokio::test]
async fn a_blocked_popup_is_a_popup_blocked_error() {
    a_blocked_popup_is_a_popup_blocked_error_in(Engine::Chromium).await;
}

/// With the engine's popup blocker on, a scripted click is `popup_blocked`; a real click opens
/// the window.
pub(super) async fn a_blocked_popup_is_a_popup_blocked_error_in(engine: Engine) {
    let Some((_env, c, _)) = setup_in(engine, B1, true).await else {
        return;
    };
    // A scripted click has no user activation: the popup blocker refuses window.open.
    c.js(
        "document.querySelector('#b1').shadowRoot.querySelector('button').click();",
        vec![],
    )
    .await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev[0]["type"], "milogin:error");
    assert_eq!(ev[0]["detail"]["code"], "popup_blocked");
    // A real click still opens it (the popup is opened synchronously inside the click).
    c.click_button("#b1").await;
    c.popup().await;
}

#[tokio::test]
async fn forged_messages_are_ignored_and_only_the_real_result_counts() {
    let Some((env, c, origin)) = setup(B1, false).await else {
        return;
    };
    c.click_button("#b1").await;
    c.popup().await;
    // The host page recorded the URL the widget opened: forge with the *current* attempt id.
    let opened = c.js("return window.__opened || '';", vec![]).await;
    let attempt = url::Url::parse(opened.as_str().unwrap())
        .expect("the page saw the popup URL")
        .query_pairs()
        .find(|(k, _)| k == "attempt")
        .map(|(_, v)| v.into_owned())
        .expect("the popup URL carries the attempt");
    let forged = json!({"type":"milogin:result","version":1,"attempt":attempt,"ok":true,"id_token":"forged.token.x",
                        "user":{"id":"evil","nickname":"Mallory","avatar":null,"connection":"xiaomi","new_user":false}});
    // From the host page itself (wrong origin, wrong source), with right and wrong attempts and
    // shapes; and from a same-page iframe.
    c.js(
        "const m = arguments[0];
         window.postMessage(m, '*');
         window.postMessage(Object.assign({}, m, {attempt: 'someone-elses-attempt'}), '*');
         window.postMessage(JSON.stringify(m), '*');
         window.postMessage(Object.assign({}, m, {version: 2}), '*');
         window.postMessage({type: 'milogin:result'}, '*');
         const f = document.createElement('iframe'); document.body.appendChild(f);
         f.contentWindow.parent.postMessage(m, '*');",
        vec![forged],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(c.events().await.is_empty(), "a forged message was accepted");
    c.consent("account-bob").await;
    let ev = wait_events(&c, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ev2 = c.events().await;
    assert_eq!(ev2.len(), 1, "exactly one result: {ev2:?}");
    assert_eq!(ev[0]["type"], "milogin:success");
    verify_event(&env, &ev[0]).await;
    assert!(origin.starts_with("http://localhost:"));
}

#[tokio::test]
async fn two_buttons_never_receive_each_others_result_and_labels_are_text() {
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
                  <milogin-button id="b2" pool="pool-a" app="app-a" connection="xiaomi" display-name="Go <b>Mi</b>" theme="dark" shape="pill"></milogin-button>
                  <milogin-button id="b3" pool="pool-a" app="app-a" connection="xiaomi" shape="icon" locale="zh-CN"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    c.wait_until("document.querySelector('#b1').shadowRoot.querySelector('button').textContent.includes('Sign in with Xiaomi')", 10, "server label").await;
    let b2 = c.button_state("#b2").await;
    assert_eq!(
        b2["text"], "Go <b>Mi</b>",
        "display-name is rendered as text: {b2}"
    );
    assert_eq!(
        c.js(
            "return document.querySelector('#b2').shadowRoot.querySelectorAll('b').length;",
            vec![]
        )
        .await,
        json!(0)
    );
    let b3 = c.button_state("#b3").await;
    assert!(
        b3["label"].as_str().is_some_and(|l| !l.is_empty()),
        "an icon button keeps an accessible name: {b3}"
    );

    c.click_button("#b1").await;
    c.consent("account-alice").await;
    let ev = wait_events(&c, 1).await;
    assert_eq!((ev.len(), ev[0]["target"].as_str()), (1, Some("b1")));
    c.wait_windows(1).await;
    c.click_button("#b2").await;
    c.consent("account-bob").await;
    let ev = wait_events(&c, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ev = if ev.len() == 2 { ev } else { c.events().await };
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[1]["target"], "b2");
    assert_eq!(ev[1]["detail"]["user"]["nickname"], "Bob");
}

#[tokio::test]
async fn the_brand_button_renders_orange_with_visible_text() {
    let Some((_env, c, _)) = setup(B1, false).await else {
        return;
    };
    c.wait_until("document.querySelector('#b1').shadowRoot.querySelector('button').textContent.includes('Sign in with Xiaomi')", 10, "label").await;
    let host = c
        .client
        .find(fantoccini::Locator::Css("#b1"))
        .await
        .unwrap();
    let png = host.screenshot().await.unwrap();
    let decoder = png::Decoder::new(&png[..]);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let orange = px
        .iter()
        .filter(|p| {
            (p[0] as i32 - 0xff).abs() < 24 && (p[1] as i32 - 0x69).abs() < 24 && (p[2] as i32) < 40
        })
        .count();
    let white = px
        .iter()
        .filter(|p| p[0] > 235 && p[1] > 235 && p[2] > 235)
        .count();
    assert!(
        info.width >= 100 && info.height >= 30,
        "{}x{}",
        info.width,
        info.height
    );
    assert!(
        orange * 2 > px.len(),
        "the button is mostly brand orange: {orange}/{}",
        px.len()
    );
    assert!(
        white > 40,
        "white text and mark are visible: {white} white pixels"
    );
}

// ---------------------------------------------------------------------------------------------
// Every way a result travels: hosted page (popup and redirect), redirect mode, the return page
// for a lost opener (COOP, an opener cut on the way), the in-app fallback; and never to a foreign
// page.

/// Waits for the first result event of this page, then a moment more (for a second one, which
/// must not come); returns every event the page recorded.
async fn wait_result(c: &Chrome) -> Vec<Value> {
    c.wait_until(
        "(window.__events || []).some((e) => e.type == 'milogin:success' || e.type == 'milogin:error')",
        30,
        "a result event",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    c.events().await
}

/// `[location.pathname, location.hash]` of the current page.
async fn place(c: &Chrome) -> Value {
    c.js("return [location.pathname, location.hash];", vec![])
        .await
}

/// A host page that opens the hosted login page in a popup, with an attempt of its own, and
/// records the messages it receives from the server origin and that popup.
const HOSTED_OPENER: &str = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
<button id="open" type="button">Sign in (hosted page)</button>
<script>
window.__msgs = [];
const S = "{SERVER}";
const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const attempt = b64(crypto.getRandomValues(new Uint8Array(24)));
window.__hosted = { attempt };
document.getElementById("open").addEventListener("click", () => {
  const q = new URLSearchParams({ app_id: "app-a", mode: "popup", origin: location.origin, attempt });
  const w = open(`${S}/login/pool-a?${q}`, "hosted", "popup,width=520,height=640");
  addEventListener("message", (e) => {
    if (e.origin == S && e.source == w && e.data && e.data.attempt == attempt) window.__msgs.push(e.data);
  });
});
</script>"#;

#[tokio::test]
async fn the_hosted_page_in_a_popup_posts_to_the_host_page() {
    let Some((env, c, origin)) = setup_with(HOSTED_OPENER, false, Host::default()).await else {
        return;
    };
    let hosted = c.js("return window.__hosted;", vec![]).await;
    c.client
        .find(fantoccini::Locator::Id("open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    wait_rendered(&c).await;
    let attrs = c
        .js(
            "const b = document.querySelector('milogin-button');
             return ['hosted-origin', 'hosted-attempt'].map((a) => b.getAttribute(a));",
            vec![],
        )
        .await;
    assert_eq!(
        attrs,
        json!([origin, hosted["attempt"]]),
        "the host's origin and attempt on the hosted page's button"
    );
    // The person clicks the hosted page's button: the login continues in this same window.
    c.click_button("milogin-button").await;
    c.click_id("account-alice").await;
    c.client.switch_to_window(main).await.unwrap();
    c.wait_until("window.__msgs.length >= 1", 20, "the result message")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let msgs = c.js("return window.__msgs;", vec![]).await;
    let msgs = msgs.as_array().unwrap();
    assert_eq!(msgs.len(), 1, "exactly one result: {msgs:?}");
    assert_eq!(msgs[0]["ok"], true, "{msgs:?}");
    let claims = verify(&env, POOL, msgs[0]["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(claims["nonce"], hosted["attempt"]);
    assert!(
        c.events().await.is_empty(),
        "the host page's own button was not involved"
    );
}

#[tokio::test]
async fn the_hosted_page_in_redirect_mode_comes_back_to_the_redirect_uri() {
    let Some((env, c, _origin)) = setup_with(B1, false, Host::redirect_to(&["/login/done"])).await
    else {
        return;
    };
    // The host page sends this window to the hosted login page (loginPage remembers the attempt).
    c.js(
        "setTimeout(() => import(arguments[0]).then((m) =>
           m.loginPage({ pool: 'pool-a', app: 'app-a', redirectUri: location.origin + '/login/done' })));",
        vec![json!(format!("{}/widget/milogin.js", env.base))],
    )
    .await;
    c.wait_until(
        &format!("location.href.startsWith('{}/login/pool-a?')", env.base),
        10,
        "the hosted login page",
    )
    .await;
    wait_rendered(&c).await;
    let attempt = c
        .js(
            "return document.querySelector('milogin-button').getAttribute('hosted-attempt');",
            vec![],
        )
        .await;
    assert!(attempt.as_str().is_some_and(|a| a.len() >= 16), "{attempt}");
    c.click_button("milogin-button").await;
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(
        place(&c).await,
        json!(["/login/done", ""]),
        "the fragment was cleaned"
    );
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1")),
        "on the button of the same pool and app: {ev:?}"
    );
    let claims = verify_event(&env, &ev[0]).await;
    assert_eq!(claims["nonce"], attempt);
    assert_eq!(ev[0]["detail"]["user"]["id"], claims["sub"]);
    assert_eq!(c.window_count().await, 1);
}

#[tokio::test]
async fn redirect_mode_comes_back_with_one_success_and_a_replayed_fragment_is_ignored() {
    redirect_mode_comes_back_with_one_success(Engine::Chromium).await;
}

/// A script of the page that runs after milogin.js (a module, so in document order after the
/// widget's, as an analytics tag placed below the widget's script tag): the address it sees.
const LATE_SCRIPT: &str = r#"<script type="module">window.__seen = location.href;</script>"#;

/// The address the page's [`LATE_SCRIPT`] saw, and the current fragment.
async fn seen(c: &Chrome) -> (String, String) {
    let v = c
        .js("return [String(window.__seen), location.hash];", vec![])
        .await;
    (v[0].as_str().unwrap().into(), v[1].as_str().unwrap().into())
}

/// `mode="redirect"`: this window goes to Xiaomi and comes back to the redirect URI with one
/// success (the fragment cleaned before a page script after milogin.js runs, the focus on the
/// button); the same fragment replayed, or a token planted alone, fires nothing and is gone from
/// the address before that script reads it; a fragment of the page's own is left alone.
pub(super) async fn redirect_mode_comes_back_with_one_success(engine: Engine) {
    let body = [
        r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" mode="redirect" redirect-uri="{HOST}/login/done"></milogin-button>"#,
        LATE_SCRIPT,
    ]
    .concat();
    let body = body.as_str();
    let Some((env, c, origin)) = setup_with(
        body,
        false,
        Host {
            engine,
            ..Host::redirect_to(&["/login/done"])
        },
    )
    .await
    else {
        return;
    };
    c.click_button("#b1").await;
    // No popup: this window shows Xiaomi's consent page.
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(c.window_count().await, 1);
    assert_eq!(
        place(&c).await,
        json!(["/login/done", ""]),
        "the fragment was cleaned"
    );
    assert_eq!(
        seen(&c).await,
        (format!("{origin}/login/done"), String::new()),
        "gone before the page's later script ran"
    );
    // The address this page arrived at (and the browser's history keeps) has a one-time code,
    // never the token.
    let arrived = c.js("return window.__arrived;", vec![]).await;
    let arrived = arrived.as_str().unwrap();
    assert!(
        arrived.starts_with(&format!("{origin}/login/done#code=")),
        "{arrived}"
    );
    assert!(
        !arrived.contains("id_token") && !arrived.contains("eyJ"),
        "{arrived}"
    );
    one_success_at_b1(&ev);
    let token = ev[0]["detail"]["id_token"].as_str().unwrap();
    let claims = verify(&env, POOL, token, APP).await;
    let user = &ev[0]["detail"]["user"];
    assert_eq!(
        (&user["id"], &user["nickname"], &user["connection"]),
        (&claims["sub"], &json!("Alice Wang"), &json!("xiaomi")),
        "the user from the token's claims: {user}"
    );
    assert_eq!(
        focused_id(&c).await,
        json!("b1"),
        "focus on the button that started it"
    );
    // The same fragment again (a replay, or a crafted link), or a token planted alone: no
    // attempt of this tab waits for it, so nothing fires; and it is out of the address bar
    // before the page's later script (an analytics tag) reads it.
    let attempt = claims["nonce"].as_str().unwrap();
    let code_back = arrived.split_once('#').unwrap().1;
    for (path, hash) in [
        ("/replayed", format!("#{code_back}")),
        (
            "/replayed-token",
            format!("#id_token={token}&attempt={attempt}"),
        ),
        ("/planted", format!("#id_token={token}")),
        ("/relayed", "#milogin_result=%7B%7D".to_string()),
    ] {
        c.client
            .goto(&format!("{origin}{path}{hash}"))
            .await
            .unwrap();
        wait_rendered(&c).await;
        c.wait_until("document.readyState == 'complete'", 10, "load")
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        assert!(c.events().await.is_empty(), "{path}");
        assert_eq!(
            seen(&c).await,
            (format!("{origin}{path}"), String::new()),
            "{path}: removed before the page's later script ran"
        );
    }
    // A fragment of the page's own is not milogin's: left alone — also another library's
    // `response_mode=fragment` answer (keycloak-js: `#state=…&code=…`) or error (`#error=…`):
    // every fragment milogin sends names its `attempt`.
    for (path, own) in [
        ("/own", "#section-2"),
        ("/keycloak", "#state=s1&session_state=x&code=their-code"),
        ("/theirs", "#error=access_denied&error_description=theirs"),
    ] {
        c.client
            .goto(&format!("{origin}{path}{own}"))
            .await
            .unwrap();
        wait_rendered(&c).await;
        assert_eq!(seen(&c).await, (format!("{origin}{path}{own}"), own.into()));
    }
}

/// A redirect-mode login someone else started (their attempt, their challenge) and sent this
/// browser through lands a real code in the app page's address: no attempt of this tab waits
/// for it, so nothing fires — and the widget spends it at once, so whoever reads the address
/// later cannot redeem it even with the verifier. A code of this tab's own attempt that does not
/// redeem still ends the attempt, as a `state_expired` error the page hears.
#[tokio::test]
async fn a_code_in_the_address_counts_only_for_this_tabs_attempt_and_is_spent_otherwise() {
    let body = [B1, LATE_SCRIPT].concat();
    let Some((env, c, origin)) =
        setup_with(&body, false, Host::redirect_to(&["/login/done"])).await
    else {
        return;
    };
    let done = format!("{origin}/login/done");
    let verifier = "the-other-partys-verifier-0123456789-abcdefgh";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    // Their login, through this person's consent: a real code for `done`, bound to their verifier.
    let their_code = |attempt: String| {
        let (env, done, challenge) = (&env, done.clone(), challenge.clone());
        async move {
            let b = milogin_tests::Browser::new();
            let url = milogin_tests::Browser::redirect_url(env, &attempt, &done)
                + "&code_challenge="
                + &challenge;
            let req = b.start(env, &url).await;
            let cb = b.decide(env, &req, Some("alice")).await;
            location(&b.get(&cb).await)
        }
    };
    let landed = their_code(attempt_id()).await;
    let fields = fragment_fields(&landed);
    c.client.goto(&landed).await.unwrap();
    wait_rendered(&c).await;
    c.wait_until("document.readyState == 'complete'", 10, "load")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        c.events().await.is_empty(),
        "nothing fires for a code this tab did not ask for"
    );
    assert_eq!(
        seen(&c).await,
        (done.clone(), String::new()),
        "and it left the address at once"
    );
    let late = redeem_widget_code(&env, &fields["code"], verifier, &done).await;
    assert_eq!(
        late.status(),
        400,
        "the widget spent it: its verifier redeems nothing now"
    );

    // This tab's own attempt (its record in sessionStorage), whose code does not redeem with the
    // verifier the tab kept: one error, not silence.
    let attempt = attempt_id();
    let landed = their_code(attempt.clone()).await;
    let record =
        format!("{attempt}\nb1\npool-a\napp-a\nxiaomi\nnot-the-verifier-of-this-code-0123456789");
    // (From another page: a fragment change alone would not load the page again.)
    c.client.goto(&format!("{origin}/")).await.unwrap();
    c.js(
        "sessionStorage.setItem('milogin:pending', arguments[0]);",
        vec![json!(record)],
    )
    .await;
    c.client.goto(&landed).await.unwrap();
    let ev = wait_result(&c).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["detail"]["code"].as_str()),
        (Some("milogin:error"), Some("state_expired")),
        "{ev:?}"
    );
}

/// The host page (every path of it: the return page too) sends
/// `Cross-Origin-Opener-Policy: same-origin`, which cuts the popup off as it leaves for the
/// server. The result page goes on to the app's return page on the host origin, which relays the
/// result to this tab and closes its window: exactly one success.
pub(super) async fn a_coop_host_page_gets_one_result(engine: Engine, tls: bool) {
    let host = Host {
        engine,
        headers: vec![("cross-origin-opener-policy", "same-origin")],
        tls,
        ..Host::with_return_page()
    };
    let Some((env, c, origin)) = setup_with(B1, false, host).await else {
        return;
    };
    assert_eq!(origin.starts_with("https:"), tls);
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    wait_consent_page(&c).await;
    c.client.switch_to_window(main).await.unwrap();
    // The policy really cut the opener: the popup is there, yet reads closed from this page.
    assert_eq!(c.window_count().await, 2);
    assert_eq!(c.js("return window.__w.closed;", vec![]).await, true);
    c.consent("account-alice").await;
    let ev = wait_result(&c).await;
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let ev = if ev.len() == 1 { c.events().await } else { ev };
    one_success_at_b1(&ev);
    verify_event(&env, &ev[0]).await;
    assert_eq!(
        c.window_count().await,
        1,
        "the return page closed its window"
    );
}

/// Issue 19.6: the host page sends `Cross-Origin-Opener-Policy: same-origin` and the app has no
/// return page, so nothing the popup does can reach the page. The page hears it as
/// `popup_cut_off` (naming both fixes) as soon as the window is cut off, not as a cancel; the
/// person, who goes on in the window, is told on its last page that the site got nothing.
pub(super) async fn a_coop_host_page_without_a_return_page_gets_popup_cut_off(engine: Engine) {
    let host = Host {
        engine,
        headers: vec![("cross-origin-opener-policy", "same-origin")],
        ..Host::default()
    };
    let Some((_env, c, _)) = setup_with(B1, false, host).await else {
        return;
    };
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["detail"]["code"].as_str()),
        (Some("milogin:error"), Some("popup_cut_off")),
        "{ev:?}"
    );
    let message = ev[0]["detail"]["message"].as_str().unwrap();
    assert!(
        message.contains("return_uris") && message.contains("same-origin-allow-popups"),
        "{message}"
    );
    // The window is still there (the policy only hides it from this page); the person finishes.
    assert_eq!(c.window_count().await, 2);
    c.client.switch_to_window(popup).await.unwrap();
    c.click_id("account-alice").await;
    c.wait_until(
        "document.getElementById('milogin-status')?.textContent.includes('could not receive')",
        15,
        "the result page saying the site got nothing",
    )
    .await;
    c.client.switch_to_window(main).await.unwrap();
    assert_eq!(c.events().await.len(), 1, "one ending");
}

#[tokio::test]
async fn a_coop_host_page_without_a_return_page_gets_popup_cut_off_not_a_cancel() {
    a_coop_host_page_without_a_return_page_gets_popup_cut_off(Engine::Chromium).await;
}

/// Records the page's console warnings in `window.__warned` (the widget's diagnostics).
const WARNINGS: &str = r#"<script>window.__warned=[];const w=console.warn;console.warn=(...a)=>{window.__warned.push(a.join(" "));w.apply(console,a)};</script>"#;

#[tokio::test]
async fn with_a_return_page_a_popup_closed_at_once_is_a_cancel_within_seconds() {
    // Issue 19.7: a page without a Cross-Origin-Opener-Policy that cuts popups off reads its
    // window's `closed` truthfully, so a window closed at once with a return page registered is
    // a cancel after the relay's short wait, not a spinner until the timeout; and the console
    // does not blame a COOP the page does not have.
    let host = Host::with_return_page();
    let Some((_env, c, _)) = setup_with(&format!("{WARNINGS}{B1}"), false, host).await else {
        return;
    };
    close_the_popup_at_once(&c).await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["type"], "milogin:cancel");
    let warned = c.js("return window.__warned.join('\\n');", vec![]).await;
    assert!(
        !warned
            .as_str()
            .unwrap()
            .contains("Cross-Origin-Opener-Policy"),
        "{warned}"
    );
}

/// With a return page, a COOP host page's window reads closed at once while the person is still
/// in it: the widget waits for the relay and the console names the page's policy as the cause.
#[tokio::test]
async fn a_coop_host_page_with_a_return_page_waits_and_names_its_policy() {
    let host = Host {
        headers: vec![("cross-origin-opener-policy", "same-origin")],
        ..Host::with_return_page()
    };
    let Some((_env, c, _)) = setup_with(&format!("{WARNINGS}{B1}"), false, host).await else {
        return;
    };
    c.click_button("#b1").await;
    c.popup().await;
    c.wait_until(
        "window.__warned.some((w) => w.includes('Cross-Origin-Opener-Policy'))",
        15,
        "a console warning naming the page's policy",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(4000)).await;
    assert_eq!(c.events().await.len(), 0, "still waiting for the relay");
    assert_eq!(c.window_count().await, 2);
}

#[tokio::test]
async fn a_coop_host_page_on_localhost_gets_one_result_through_the_return_page() {
    a_coop_host_page_gets_one_result(Engine::Chromium, false).await;
}

#[tokio::test]
async fn a_coop_host_page_over_https_gets_one_result_through_the_return_page() {
    a_coop_host_page_gets_one_result(Engine::Chromium, true).await;
}

/// `#b1`'s popup login whose result page finds no opener (as when a page on the way cut it;
/// `opener = null` outlives the navigations), so it goes on to the return page, which relays to
/// this tab: the events then.
async fn login_with_a_lost_opener(c: &Chrome) -> Vec<Value> {
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    wait_consent_page(c).await;
    c.js("window.opener = null;", vec![]).await;
    c.click_id("account-alice").await;
    c.client.switch_to_window(main).await.unwrap();
    wait_result(c).await
}

#[tokio::test]
async fn a_lost_opener_delivers_once_through_the_return_page() {
    let Some((env, c, _)) = setup_with_return_page().await else {
        return;
    };
    let ev = login_with_a_lost_opener(&c).await;
    one_success_at_b1(&ev);
    let token = ev[0]["detail"]["id_token"].as_str().unwrap();
    verify(&env, POOL, token, APP).await;
    assert_eq!(
        ev[0]["detail"]["user"]["new_user"], true,
        "the whole message"
    );
    assert_eq!(
        c.window_count().await,
        1,
        "the return page closed its window"
    );
    // While the next attempt waits, a relay of a result for another attempt changes nothing.
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    c.js(
        "new BroadcastChannel('milogin').postMessage({type: 'milogin:result', version: 1, attempt: 'x'.repeat(32), ok: false, error: {code: 'internal', message: 'forged'}});",
        vec![],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(c.events().await.len(), 1, "the forged relay was ignored");
    c.client.switch_to_window(popup).await.unwrap();
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();
}

/// Issue 21.6's proof: after a login through the return page (a lost opener) and one in redirect
/// mode, the browser's own history database (read from the profile once the browser has shut
/// down) holds the addresses those results came back to, with their one-time codes, and no
/// token anywhere.
pub(super) async fn no_token_reaches_the_browsers_history(engine: Engine) {
    let body = [
        B1,
        r#"<milogin-button id="b2" pool="pool-a" app="app-a" connection="xiaomi" mode="redirect" redirect-uri="{HOST}/login/done"></milogin-button>"#,
    ]
    .concat();
    let host = Host {
        engine,
        redirect_paths: &["/login/done"],
        ..Host::with_return_page()
    };
    let Some((_env, c, origin)) = setup_with(&body, false, host).await else {
        return;
    };
    // The return page: the popup's opener is lost, so its result goes on there.
    let ev = login_with_a_lost_opener(&c).await;
    assert_eq!(ev[0]["type"].as_str(), Some("milogin:success"), "{ev:?}");
    // Redirect mode: this window leaves for the consent page and comes back.
    c.click_button("#b2").await;
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(ev[0]["type"].as_str(), Some("milogin:success"), "{ev:?}");
    let token = ev[0]["detail"]["id_token"].as_str().unwrap().to_owned();

    let history = c.history().await;
    let came_back = |path: &str, code: &str| {
        history
            .iter()
            .any(|u| u.starts_with(&format!("{origin}{path}#")) && u.contains(code))
    };
    assert!(
        came_back("/milogin-return", "milogin_result=code%3D"),
        "the return page's address with its code is in the history: {history:#?}"
    );
    assert!(
        came_back("/login/done", "code="),
        "redirect mode's address with its code is in the history: {history:#?}"
    );
    let leaked: Vec<_> = history
        .iter()
        .filter(|u| u.contains("id_token") || u.contains("eyJ") || u.contains(&token[..20]))
        .collect();
    assert!(leaked.is_empty(), "a token in the history: {leaked:#?}");
}

#[tokio::test]
async fn no_token_reaches_chromiums_history() {
    no_token_reaches_the_browsers_history(Engine::Chromium).await;
}

#[tokio::test]
async fn a_relayed_code_counts_only_when_this_tabs_verifier_redeems_it() {
    // A crafted return-page link (or any script of the origin) can relay anything, with the
    // waiting attempt's id (it leaks: the popup's URL): a code this tab's PKCE verifier does not
    // redeem (the attacker's own real one, a forged one) and a whole result message (the old
    // relay, with a token) yield nothing. An error relayed for the attempt ends it (errors carry
    // nothing secret): the channel was heard.
    let Some((env, c, origin)) = setup_with(B1, false, Host::with_return_page()).await else {
        return;
    };
    // The attacker's own login through this person's consent: a real code for the return page,
    // bound to the attacker's verifier.
    let verifier = "the-attackers-verifier-0123456789-abcdefghijk";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let theirs = format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&origin={}&attempt={}&mode=popup&code_challenge={challenge}",
        env.base,
        enc(&origin),
        attempt_id()
    );
    let b = milogin_tests::Browser::new();
    let req = b.start(&env, &theirs).await;
    let cb = b.decide(&env, &req, Some("alice")).await;
    let page = b.get(&cb).await.text().await.unwrap();
    let code = between(&page, "milogin_result=code%3D", "%26").expect("a code for the return page");
    c.click_button("#b1").await;
    c.popup().await;
    let relay = "const a = new URL(window.__opened).searchParams.get('attempt');
        const ch = new BroadcastChannel('milogin');
        const back = encodeURIComponent(location.origin + '/milogin-return');
        ch.postMessage(arguments[0] + '&attempt=' + a + '&redirect_uri=' + back);";
    for forged in [
        format!("code={code}"),
        "code=forged-code-000000000000000000000000".into(),
    ] {
        c.js(relay, vec![json!(forged)]).await;
    }
    c.js(
        "const a = new URL(window.__opened).searchParams.get('attempt');
         new BroadcastChannel('milogin').postMessage({ type: 'milogin:result', version: 1, attempt: a, ok: true,
           id_token: 'e30.e30.sig', user: { id: 'u_x', nickname: 'x', avatar: null, connection: 'xiaomi', new_user: false } });",
        vec![],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(c.events().await.is_empty(), "a forged relay is ignored");
    let return_page = format!("{origin}/milogin-return");
    let late = redeem_widget_code(&env, &code, verifier, &return_page).await;
    assert_eq!(
        late.status(),
        400,
        "the tab's try spent the attacker's code"
    );
    c.js(
        relay,
        vec![json!("error=access_denied&error_description=no")],
    )
    .await;
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev[0]["type"], "milogin:error", "{ev:?}");
}

/// A page on a foreign origin (not registered for the app) that starts a login for the visitor
/// with the app's registered origin and a result-channel commitment whose secret it holds, and
/// records every message it receives.
const FOREIGN: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>evil</title></head><body>
<button id="go" type="button">Win a prize</button>
<script>
window.__msgs = [];
addEventListener("message", (e) => window.__msgs.push({ origin: e.origin, data: JSON.stringify(e.data) }));
const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const attempt = b64(crypto.getRandomValues(new Uint8Array(24)));
const secret = b64(crypto.getRandomValues(new Uint8Array(32)));
crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)).then((h) => {
  window.__evil = { attempt, secret, channel: b64(h) };
});
document.getElementById("go").addEventListener("click", () => {
  const q = new URLSearchParams({ app_id: "app-a", mode: "popup", origin: "{HOST}", attempt, channel: window.__evil.channel });
  window.__w = open(`{SERVER}/connection/social/xiaomi/pool-a/authorize?${q}`, "evil", "popup,width=520,height=640");
});
</script></body></html>"#;

#[tokio::test]
async fn a_foreign_page_never_obtains_the_token_of_a_login_it_started() {
    // The app registers a return page too: the lost-opener path must not leak either.
    let Some((env, c, host)) = setup_with_return_page().await else {
        return;
    };
    let (l, evil) = bind_host().await;
    let page = FOREIGN
        .replace("{HOST}", &host)
        .replace("{SERVER}", &env.base);
    serve_host(l, page, vec![]);
    c.client.goto(&format!("{evil}/")).await.unwrap();
    c.wait_until("window.__evil", 10, "the foreign page's commitment")
        .await;
    let evil_state = c.js("return window.__evil;", vec![]).await;
    c.client
        .find(fantoccini::Locator::Id("go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The visitor approves at Xiaomi, and the login goes through.
    c.consent("account-alice").await;
    wait_for_a_user(&env).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // The foreign page got no message, …
    let msgs = c.js("return window.__msgs;", vec![]).await;
    assert_eq!(msgs, json!([]), "{msgs}");
    // …cannot read the popup, …
    let peek = c
        .js(
            "try { return String(window.__w.location.href); } catch (e) { return 'blocked'; }",
            vec![],
        )
        .await;
    assert!(peek == "blocked" || peek == "undefined", "{peek}");
    // …and its server gets nothing with the secret it chose.
    let attempt = evil_state["attempt"].as_str().unwrap();
    for origin in [evil.as_str(), host.as_str()] {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/attempts/{attempt}/result", env.base))
            .header("origin", origin)
            .body(evil_state["secret"].as_str().unwrap().to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_ne!(status, 200, "{body}");
        assert!(!body.contains("id_token"), "{body}");
    }
}

/// Waits (at most 15 s) until the pool has a user: a login went through.
async fn wait_for_a_user(env: &Env) {
    tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while users(env).await.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the login went through");
}

/// The host page with a registered return page, as in production.
async fn setup_with_return_page() -> Option<(Env, Chrome, String)> {
    setup_with(B1, false, Host::with_return_page()).await
}

#[tokio::test]
async fn an_opener_that_navigated_to_another_origin_receives_nothing() {
    // X-74: the host page navigates away (to another site) while the login window is open.
    let Some((env, c, _)) = setup_with_return_page().await else {
        return;
    };
    c.click_button("#b1").await;
    let (l, other) = bind_host().await;
    serve_host(
        l,
        r#"<!doctype html><title>elsewhere</title><script>
window.__msgs = [];
addEventListener("message", (e) => window.__msgs.push(String(e.origin) + " " + JSON.stringify(e.data)));
</script>"#
            .into(),
        vec![],
    );
    c.client.goto(&format!("{other}/")).await.unwrap();
    c.consent("account-alice").await;
    // The login itself went through…
    wait_for_a_user(&env).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // …but the page now in the opener's place received nothing (the result page posted to the
    // recorded origin only, and had an opener, so it did not go on to the return page either).
    assert_eq!(c.js("return window.__msgs;", vec![]).await, json!([]));
    assert_eq!(c.window_count().await, 1, "the login window closed");
}

/// Real user agents (from traffic logs and tools that list them) and whether they get redirect
/// mode.
const USER_AGENTS: [(&str, bool); 12] = [
    // WeChat (Android, XWEB; iOS)
    ("Mozilla/5.0 (Linux; Android 13; 22081212C Build/TKQ1.220829.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 MMWEBSDK/20230303 MMWEBID/6973 MicroMessenger/8.0.34.2340(0x2800225B) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64", true),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.31(0x18001f2e) NetType/4G Language/en", true),
    // QQ: its webview on the X5 core ("MQQBrowser" inside QQ), and on iOS
    ("Mozilla/5.0 (Linux; Android 8.0; MI 6 Build/OPR1.170623.027; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/57.0.2987.132 MQQBrowser/6.2 TBS/044006 Mobile Safari/537.36 V1_AND_SQ_7.5.5_806_YYB_D QQ/7.5.5.3460 NetType/4G WebP/0.3.0 Pixel/1080", true),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 QQ/8.8.80.619 V1_IPH_SQ_8.8.80_1_APP_A Pixel/1170 MiniAppEnable SimpleUISwitch/0 QQTheme/1000 Core/WKWebView Device/Apple(iPhone 13) NetType/WIFI QBWebViewType/1 WKType/1", true),
    // Weibo
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Weibo (iPhone13,2__weibo__11.11.1__iphone__os15.0)", true),
    // MIUI and HyperOS browsers
    ("Mozilla/5.0 (Linux; U; Android 13; en-us; Redmi Note 12 Build/TKQ1.221114.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.80 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.28.0-gn", true),
    ("Mozilla/5.0 (Linux; U; Android 9; zh-cn; Mi Note 3 Build/PKQ1.181007.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/71.0.3578.141 Mobile Safari/537.36 XiaoMi/MiuiBrowser/11.0.6", true),
    // Not in-app: desktop and mobile browsers, QQ Browser on its own, Chrome on a Xiaomi phone,
    // another app's X5 webview
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", false),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", false),
    ("Mozilla/5.0 (Linux; U; Android 7.1.1; zh-cn; vivo X9 Build/NMF26F) AppleWebKit/537.36 (KHTML, like Gecko)Version/4.0 Chrome/37.0.0.0 MQQBrowser/7.9 Mobile Safari/537.36", false),
    ("Mozilla/5.0 (Linux; Android 13; 2211133C) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false),
    ("Mozilla/5.0 (Linux; Android 11; M2007J3SC Build/RKQ1.200826.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/77.0.3865.120 MQQBrowser/6.2 TBS/045714 Mobile Safari/537.36", false),
];

#[tokio::test]
async fn in_app_browsers_use_redirect_mode_unless_the_button_opts_out() {
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
                  <milogin-button id="b2" pool="pool-a" app="app-a" connection="xiaomi" in-app="popup"></milogin-button>"#;
    let wechat = format!("--user-agent={}", USER_AGENTS[0].0);
    let Some((env, c, _origin)) = setup_with(
        body,
        false,
        Host {
            args: vec![wechat],
            ..Host::redirect_to(&["/"])
        },
    )
    .await
    else {
        return;
    };
    let uas: Vec<&str> = USER_AGENTS.iter().map(|(ua, _)| *ua).collect();
    let verdicts = c
        .js(
            "return import(arguments[0]).then((m) => [m.inApp(), ...arguments[1].map((ua) => m.inApp(ua))]);",
            vec![json!(format!("{}/widget/milogin.js", env.base)), json!(uas)],
        )
        .await;
    let mut expected = vec![true]; // this browser says WeChat
    expected.extend(USER_AGENTS.iter().map(|(_, v)| *v));
    assert_eq!(verdicts, json!(expected));

    // in-app="popup": the developer keeps the popup.
    c.click_button("#b2").await;
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();

    // The default: this window goes to authorize in redirect mode and comes back to this page.
    c.click_button("#b1").await;
    wait_left_for_xiaomi(&c, &env).await;
    assert_eq!(c.window_count().await, 1, "no popup");
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(place(&c).await, json!(["/", ""]));
    one_success_at_b1(&ev);
    verify_event(&env, &ev[0]).await;
}

#[tokio::test]
async fn a_blocked_popup_with_fallback_redirect_leaves_for_redirect_mode() {
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" fallback="redirect"></milogin-button>"#;
    let Some((env, c, _)) = setup_with(body, true, Host::redirect_to(&["/"])).await else {
        return;
    };
    // A scripted click has no user activation: the popup is blocked, and this window goes.
    c.js(
        "document.querySelector('#b1').shadowRoot.querySelector('button').click();",
        vec![],
    )
    .await;
    wait_left_for_xiaomi(&c, &env).await;
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(place(&c).await, json!(["/", ""]));
    one_success_at_b1(&ev);
}

/// A host page that calls `login()` from its own button's click, twice in the same click (the
/// second call must return the same promise), and records how the promise settled.
const LOGIN_API: &str = r#"<button id="go" type="button">Sign in (login())</button>
<script type="module">
import { login } from "{SERVER}/widget/milogin.js";
document.getElementById("go").addEventListener("click", () => {
  const options = { pool: "pool-a", app: "app-a", connection: "xiaomi" };
  const p = login(options);
  window.__same = login(options) === p;
  p.then((v) => (window.__login = { ok: v }), (e) => (window.__login = { err: e }));
});
</script>"#;

#[tokio::test]
async fn login_options_left_undefined_take_their_defaults_silently() {
    // An integrator's options object with optional fields left undefined or null.
    let body = r#"<button id="go" type="button">Sign in (login())</button>
<script type="module">
import { login, ready } from "{SERVER}/widget/milogin.js";
window.__said = [];
for (const k of ["warn", "error"]) {
  const f = console[k];
  console[k] = (...a) => (window.__said.push(a.join(" ")), f.apply(console, a));
}
await ready;
window.__ready = true;
document.getElementById("go").addEventListener("click", () =>
  login({ pool: "pool-a", app: "app-a", connection: "xiaomi", fallback: undefined, timeout: null, mode: undefined })
    .then((v) => (window.__login = { ok: v }), (e) => (window.__login = { err: e })));
</script>"#;
    let Some((_env, c, _)) = open_host(body, false, Host::default()).await else {
        return;
    };
    c.wait_until("window.__ready", 10, "the widget runs").await;
    c.click_id("go").await;
    c.consent("account-alice").await;
    c.wait_until("window.__login", 20, "login() settled").await;
    let got = c
        .js("return [window.__login, window.__said];", vec![])
        .await;
    assert!(got[0]["ok"]["id_token"].is_string(), "a popup login: {got}");
    let said = got[1].as_array().unwrap();
    assert!(
        !said.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.contains("undefined") || l.contains("null"))),
        "no warning about an undefined option: {got}"
    );
}

#[tokio::test]
async fn login_resolves_with_the_user_and_rejects_with_the_error_code() {
    let Some((env, c, _)) = open_host(LOGIN_API, false, Host::default()).await else {
        return;
    };
    c.wait_until(
        "document.getElementById('go')",
        10,
        "the host page's button",
    )
    .await;
    // The wasm runs: the click's popup is opened by it (before, the loader opens it).
    c.js(
        "return import(arguments[0]).then((m) => m.ready);",
        vec![json!(format!("{}/widget/milogin.js", env.base))],
    )
    .await;
    c.click_id("go").await;
    c.consent("account-alice").await;
    c.wait_until("window.__login", 20, "login() settled").await;
    let settled = c
        .js("return [window.__login, window.__same];", vec![])
        .await;
    assert_eq!(settled[1], true, "a second call returns the same promise");
    let ok = &settled[0]["ok"];
    let claims = verify(&env, POOL, ok["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(ok["user"]["id"], claims["sub"], "{settled}");
    assert_eq!(ok["user"]["nickname"], "Alice Wang");
    assert!(
        c.events().await.len() <= 1,
        "one event, on the detached element"
    );
    c.wait_windows(1).await;
    // A refusal rejects with the error's code and message.
    c.js("window.__login = null;", vec![]).await;
    c.click_id("go").await;
    c.consent("deny").await;
    c.wait_until("window.__login", 20, "login() settled").await;
    let err = c.js("return window.__login.err;", vec![]).await;
    assert_eq!(err["code"], "access_denied", "{err}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{err}"
    );
}

#[tokio::test]
async fn a_host_page_with_a_strict_style_csp_still_gets_a_styled_button() {
    // `style-src 'none'` blocks every `<style>`, in shadow roots too; the widget's constructed
    // style sheet is not subject to it (nor is the hosted login page's nonce'd policy).
    let host = Host {
        headers: vec![("content-security-policy", "style-src 'none'")],
        ..Host::default()
    };
    let Some((_env, c, _)) = setup_with(B1, false, host).await else {
        return;
    };
    let style = c
        .js(
            "const b = document.querySelector('#b1').shadowRoot.querySelector('button');
             const s = getComputedStyle(b);
             return [s.height, s.backgroundColor, s.borderRadius];",
            vec![],
        )
        .await;
    assert_eq!(
        style,
        json!(["40px", "rgb(255, 105, 0)", "6px"]),
        "brand theme, medium size, rect shape"
    );
}

#[tokio::test]
async fn login_before_the_wasm_runs_fills_in_the_window_it_opened() {
    // Called as the module loads, before its wasm is instantiated (this browser's popup blocker
    // is off, so no click is needed): the loader opens the window, the wasm navigates it.
    let body = r#"<script type="module">
import { login } from "{SERVER}/widget/milogin.js";
window.__early = true;
login({ pool: "pool-a", app: "app-a", connection: "xiaomi" })
  .then((v) => (window.__login = { ok: v }), (e) => (window.__login = { err: e }));
</script>"#;
    let Some((env, c, _)) = open_host(body, false, Host::default()).await else {
        return;
    };
    c.wait_until("window.__early", 10, "the host module ran")
        .await;
    assert_eq!(
        c.js("return window.__opened;", vec![]).await,
        "about:blank",
        "the loader opened the window itself"
    );
    c.consent("account-alice").await;
    c.wait_until("window.__login", 20, "login() settled").await;
    let ok = c.js("return window.__login.ok;", vec![]).await;
    let claims = verify(&env, POOL, ok["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(ok["user"]["id"], claims["sub"], "{ok}");
    c.wait_windows(1).await;
    assert_eq!(
        c.window_count().await,
        1,
        "one window, and it closed itself"
    );
}

// ---------------------------------------------------------------------------------------------
// The button's look: long labels, the mark under a strict CSP, busy vs disabled, the dark edge,
// and a button that cannot start.

/// The inner button of `#id` (in its shadow root), for page scripts.
fn inner(id: &str) -> String {
    format!("document.querySelector('#{id}').shadowRoot.querySelector('button')")
}

#[tokio::test]
async fn a_long_display_name_ellipsizes_within_a_narrow_container() {
    let name = "Sign in with the Xiaomi account of the Very Long Company Name Limited of Somewhere";
    let body = format!(
        r#"<div id="box" style="width:200px"><milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" display-name="{name}"></milogin-button></div>"#
    );
    let Some((_env, c, _)) = setup(&body, false).await else {
        return;
    };
    let b = inner("b1");
    let got = c
        .js(
            &format!(
                "const b = {b}; const l = b.querySelector('.label');
                 return {{ button: b.getBoundingClientRect().width,
                          box: document.querySelector('#box').getBoundingClientRect().width,
                          scroll: l.scrollWidth, client: l.clientWidth,
                          overflow: getComputedStyle(l).textOverflow,
                          label: b.getAttribute('aria-label'), title: b.title }};"
            ),
            vec![],
        )
        .await;
    assert!(
        got["button"].as_f64().unwrap() <= got["box"].as_f64().unwrap(),
        "the button fits its 200px container: {got}"
    );
    assert!(
        got["scroll"].as_f64().unwrap() > got["client"].as_f64().unwrap(),
        "the label is cut: {got}"
    );
    assert_eq!(got["overflow"], "ellipsis", "{got}");
    assert_eq!(got["label"], name, "the whole name is the accessible name");
    assert_eq!(got["title"], name, "and the tooltip");
}

#[tokio::test]
async fn a_button_too_narrow_for_its_label_shows_the_mark_only() {
    // Issue 19.9: 64 px leave no room for mark + a few characters: the mark alone, centred, with
    // the whole name as the accessible name; at 200 px the label is back beside it.
    let body = r#"<div style="width:64px"><milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button></div>
<div style="width:200px"><milogin-button id="b2" pool="pool-a" app="app-a" connection="xiaomi" size="large"></milogin-button></div>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    let look = |id: &str| {
        format!(
            "(() => {{ const b = {}; const r = b.getBoundingClientRect();
                 const m = b.querySelector('svg').getBoundingClientRect(), l = b.querySelector('.label').getBoundingClientRect();
                 const inside = (x) => x.width > 0 && x.left >= r.left && x.right <= r.right && x.top >= r.top && x.bottom <= r.bottom;
                 return {{ mark: inside(m), label: inside(l), name: b.getAttribute('aria-label'),
                          dx: Math.round((m.left + m.right) / 2 - (r.left + r.right) / 2),
                          dy: Math.round((m.top + m.bottom) / 2 - (r.top + r.bottom) / 2) }}; }})()",
            inner(id)
        )
    };
    let got = c
        .js(&format!("return [{}, {}];", look("b1"), look("b2")), vec![])
        .await;
    let (narrow, wide) = (&got[0], &got[1]);
    assert_eq!(
        (&narrow["mark"], &narrow["label"]),
        (&json!(true), &json!(false)),
        "mark only: {got}"
    );
    assert_eq!(narrow["name"], "Sign in with Xiaomi", "{got}");
    assert!(
        narrow["dx"].as_i64().unwrap().abs() <= 1 && narrow["dy"].as_i64().unwrap().abs() <= 1,
        "centred: {got}"
    );
    assert_eq!(
        (&wide["mark"], &wide["label"]),
        (&json!(true), &json!(true)),
        "both: {got}"
    );
    assert!(
        wide["dy"].as_i64().unwrap().abs() <= 1,
        "the mark centred vertically: {got}"
    );
}

#[tokio::test]
async fn an_icon_button_centres_its_mark() {
    // Issue 19.9: `shape="icon"` is the mark alone, in the middle of the button, at every size,
    // in every theme, and at a width set by the page.
    let body = r#"<milogin-button id="s" pool="pool-a" app="app-a" connection="xiaomi" shape="icon" size="small"></milogin-button>
<milogin-button id="m" pool="pool-a" app="app-a" connection="xiaomi" shape="icon" theme="dark"></milogin-button>
<milogin-button id="l" pool="pool-a" app="app-a" connection="xiaomi" shape="icon" size="large" theme="brand"></milogin-button>
<milogin-button id="w" pool="pool-a" app="app-a" connection="xiaomi" shape="icon" width="64"></milogin-button>
<milogin-button id="z" pool="pool-a" app="app-a" connection="xiaomi" shape="icon" locale="zh-CN"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    let got = c
        .js(
            &format!(
                "return [{}].map((b) => {{ const r = b.getBoundingClientRect(), m = b.querySelector('svg').getBoundingClientRect();
                   return [b.getRootNode().host.id, r.width, r.height, m.width,
                           (m.left + m.right) / 2 - (r.left + r.right) / 2, (m.top + m.bottom) / 2 - (r.top + r.bottom) / 2]; }});",
                ["s", "m", "l", "w", "z"].map(inner).join(", ")
            ),
            vec![],
        )
        .await;
    for b in got.as_array().unwrap() {
        let f = |i: usize| b[i].as_f64().unwrap();
        assert!(f(3) > 10.0, "the mark shows: {b}");
        assert!(
            f(4).abs() <= 0.5 && f(5).abs() <= 0.5,
            "the mark's centre is the button's: {b}"
        );
    }
    assert_eq!(got[3][1], json!(64), "the page's width: {got}");
}

#[tokio::test]
async fn a_block_element_makes_a_full_width_button_and_the_icon_stays_square() {
    // The README's recipe: `display: block` on the element; the inner button fills it.
    let body = r#"<style>#b1 { display: block }</style>
<div id="box" style="width:320px"><milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
<milogin-button id="b2" pool="pool-a" app="app-a" connection="xiaomi" shape="icon"></milogin-button></div>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    let got = c
        .js(
            &format!(
                "return [{}, {}].map((b) => {{ const r = b.getBoundingClientRect(); return [r.width, r.height]; }});",
                inner("b1"),
                inner("b2")
            ),
            vec![],
        )
        .await;
    assert_eq!(got[0], json!([320, 40]), "full width: {got}");
    assert_eq!(got[1], json!([40, 40]), "the icon stays square: {got}");
}

#[tokio::test]
async fn the_mark_shows_under_a_strict_img_src_without_a_violation() {
    let host = Host {
        headers: vec![("content-security-policy", "img-src 'none'")],
        ..Host::default()
    };
    // Registered before the module runs; violations of shadow roots reach the document.
    let body = r#"<script>window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => __csp.push(e.effectiveDirective + " " + e.blockedURI), true);</script>
<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" theme="brand"></milogin-button>"#;
    let Some((_env, c, _)) = setup_with(body, false, host).await else {
        return;
    };
    let size = c
        .js(
            "const m = document.querySelector('#b1').shadowRoot.querySelector('svg');
             if (!m) return null; const r = m.getBoundingClientRect(); return [r.width, r.height];",
            vec![],
        )
        .await;
    assert!(
        size.as_array()
            .is_some_and(|s| s.iter().all(|v| v.as_f64().unwrap() > 0.0)),
        "an inline svg mark with a size: {size}"
    );
    // A moment for a blocked image's report (it would be queued as the button paints).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let csp = c
        .js(
            "return window.__csp.filter((v) => !v.includes('favicon'));",
            vec![],
        )
        .await;
    assert_eq!(csp, json!([]), "no image is blocked");
}

#[tokio::test]
async fn busy_shows_a_spinner_and_is_not_styled_as_disabled() {
    // b2 lacks its connection: disabled.
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
<milogin-button id="b2" pool="pool-a" app="app-a"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    c.click_button("#b1").await;
    c.popup().await;
    c.wait_until(
        &format!("{}.getAttribute('aria-busy') == 'true'", inner("b1")),
        10,
        "busy",
    )
    .await;
    let look = |id: &str| {
        format!(
            "(() => {{ const b = {}; const s = getComputedStyle(b); const spin = b.querySelector('.spin');
                 const r = spin ? spin.getBoundingClientRect() : {{ width: 0, height: 0 }};
                 return {{ cursor: s.cursor, opacity: s.opacity, filter: s.filter,
                          disabled: b.getAttribute('aria-disabled'),
                          spinner: r.width > 0 && r.height > 0 && getComputedStyle(spin).visibility == 'visible',
                          spinning: spin ? getComputedStyle(spin).animationName : null }}; }})()",
            inner(id)
        )
    };
    let got = c
        .js(&format!("return [{}, {}];", look("b1"), look("b2")), vec![])
        .await;
    let (busy, disabled) = (&got[0], &got[1]);
    assert_eq!(
        busy["spinner"], true,
        "the busy button shows its spinner: {got}"
    );
    assert_eq!(busy["spinning"], "milogin-spin", "{got}");
    assert_eq!(disabled["spinner"], false, "{got}");
    assert_eq!(disabled["disabled"], "true", "{got}");
    assert_eq!(busy["disabled"], "false", "{got}");
    assert_eq!(disabled["cursor"], "not-allowed", "{got}");
    assert_eq!(busy["cursor"], "progress", "{got}");
    assert_eq!(busy["opacity"], "1", "busy is not faded: {got}");
    assert_ne!(
        (&busy["opacity"], &busy["filter"]),
        (&disabled["opacity"], &disabled["filter"]),
        "busy and disabled look different: {got}"
    );
}

#[tokio::test]
async fn the_dark_button_has_a_visible_edge() {
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" theme="dark"></milogin-button>"#;
    let Some((_env, c, _)) = setup(body, false).await else {
        return;
    };
    let got = c
        .js(
            &format!(
                "const s = getComputedStyle({}); return [s.backgroundColor, s.borderTopColor, s.borderTopWidth];",
                inner("b1")
            ),
            vec![],
        )
        .await;
    assert_eq!(got[0], "rgb(31, 31, 31)", "{got}");
    assert_ne!(
        got[1], got[0],
        "the border differs from the background: {got}"
    );
    assert_eq!(got[2], "1px", "{got}");
}

#[tokio::test]
async fn a_page_whose_csp_blocks_wasm_shows_a_disabled_button_that_says_why() {
    // Scripts from anywhere, but no 'wasm-unsafe-eval': the loader runs, the wasm cannot compile.
    let host = Host {
        headers: vec![("content-security-policy", "script-src * 'unsafe-inline'")],
        ..Host::default()
    };
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
<milogin-button id="b2" pool="pool-a" app="app-a" connection="xiaomi" locale="zh-CN"></milogin-button>"#;
    let Some((_env, c, _)) = setup_with(body, false, host).await else {
        return;
    };
    c.wait_until(
        &format!("{}?.dataset.state == 'unavailable'", inner("b2")),
        10,
        "both fallbacks",
    )
    .await;
    let got = c
        .js(
            &format!(
                "return [{}, {}].map((b) => {{ const r = b.getBoundingClientRect();
                   return {{ text: b.textContent, disabled: b.getAttribute('aria-disabled'), title: b.title,
                            cursor: getComputedStyle(b).cursor, visible: r.width > 50 && r.height > 20 }}; }});",
                inner("b1"),
                inner("b2")
            ),
            vec![],
        )
        .await;
    assert_eq!(got[0]["text"], "Sign in with Xiaomi", "{got}");
    assert_eq!(got[1]["text"], "使用小米账号登录", "{got}");
    // And the page hears it: one milogin:error per element, with its code.
    let ev = c.events().await;
    let errors: Vec<_> = ev
        .iter()
        .filter(|e| e["type"] == "milogin:error")
        .map(|e| {
            (
                e["target"].as_str().unwrap_or(""),
                e["detail"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [("b1", "widget_unavailable"), ("b2", "widget_unavailable")],
        "{ev:?}"
    );
    for b in got.as_array().unwrap() {
        assert_eq!(b["disabled"], "true", "{got}");
        assert_eq!(b["visible"], true, "{got}");
        assert_eq!(b["cursor"], "not-allowed", "{got}");
        assert!(
            b["title"].as_str().is_some_and(
                |t| t.contains("Content-Security-Policy") || t.contains("内容安全策略")
            ),
            "the title says why: {got}"
        );
    }
}

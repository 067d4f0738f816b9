//! The widget in a real browser (headless Chromium): a host page on origin A
//! (`http://localhost:…`) embeds `<milogin-button>` from the server on origin S
//! (`http://127.0.0.1:…`); popups, postMessage, events, labels, rendering, and every other way a
//! result travels: the result channel (a COOP host page, a popup closed right after the
//! approval), redirect mode (asked for, as the blocked-popup fallback, in in-app browsers), the
//! hosted login page in a popup and by redirect.

use milogin_tests::browser::*;
use milogin_tests::*;
use serde_json::{json, Value};

const B1: &str = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" theme="brand"></milogin-button>"#;

async fn setup(body: &str, blocker: bool) -> Option<(Env, Chrome, String)> {
    setup_with(body, blocker, vec![], &[], &[]).await
}

/// The host page `body` (`{HOST}` and `{SERVER}` replaced by the origins) served with `headers`;
/// the server with that origin registered, and `redirect_paths` on it as redirect URIs; Chromium
/// with `args`.
async fn setup_with(
    body: &str,
    blocker: bool,
    headers: Vec<(&'static str, &'static str)>,
    args: &[String],
    redirect_paths: &[&str],
) -> Option<(Env, Chrome, String)> {
    if !require() {
        return None;
    }
    let (l, origin) = bind_host().await;
    let env = spawn_with(Options {
        origins: vec![origin.clone()],
        redirect_uris: redirect_paths
            .iter()
            .map(|p| format!("{origin}{p}"))
            .collect(),
        ..Options::default()
    })
    .await;
    let body = body
        .replace("{HOST}", &origin)
        .replace("{SERVER}", &env.base);
    serve_host(l, page(&env.base, &body), headers);
    let chrome = Chrome::start_with(blocker, args).await;
    chrome.client.goto(&format!("{origin}/")).await.unwrap();
    wait_rendered(&chrome).await;
    Some((env, chrome, origin))
}

async fn wait_rendered(c: &Chrome) {
    c.wait_until(
        "document.querySelector('milogin-button')?.shadowRoot?.querySelector('button')",
        20,
        "the button renders",
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
    let Some((env, c, _)) = setup(B1, false).await else {
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
    for _ in 0..40 {
        if c.window_count().await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(c.window_count().await, 1, "the popup closed itself");
    let st = c.button_state("#b1").await;
    assert_ne!(st["busy"], "true");
    assert_eq!(
        c.js(
            "return document.activeElement && document.activeElement.id;",
            vec![]
        )
        .await,
        json!("b1"),
        "focus back on the button"
    );
    assert_eq!(env.mock.calls().token, 1);
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
async fn closing_the_popup_is_a_cancel_event() {
    let Some((_env, c, _)) = setup(B1, false).await else {
        return;
    };
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    // As a person would, after a look: closed within 3 s of opening, `closed` reads like a
    // Cross-Origin-Opener-Policy that cut the opener, and the widget keeps asking the result
    // channel until the timeout (see `a_coop_host_page_gets_one_result_through_the_channel`).
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    c.client.switch_to_window(popup).await.unwrap();
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();
    // The result channel is asked for 3 s more (the window may have closed right after an
    // approval), then the cancel.
    let ev = wait_events(&c, 1).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["type"], "milogin:cancel");
}

#[tokio::test]
async fn a_blocked_popup_is_a_popup_blocked_error() {
    let Some((_env, c, _)) = setup(B1, true).await else {
        return;
    };
    // A scripted click has no user activation: Chromium's popup blocker refuses window.open.
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
    verify(
        &env,
        POOL,
        ev[0]["detail"]["id_token"].as_str().unwrap(),
        APP,
    )
    .await;
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
    for _ in 0..40 {
        if c.window_count().await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
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
// Every way a result travels: hosted page (popup and redirect), redirect mode, the result channel
// (COOP, a popup closed right after the approval), the in-app fallback.

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

/// A host page that opens the hosted login page in a popup, with an attempt and a result channel
/// of its own, and records the messages it receives from the server origin and that popup.
const HOSTED_OPENER: &str = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>
<button id="open" type="button">Sign in (hosted page)</button>
<script>
window.__msgs = [];
const S = "{SERVER}";
const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const attempt = b64(crypto.getRandomValues(new Uint8Array(24)));
const secret = b64(crypto.getRandomValues(new Uint8Array(32)));
crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)).then((h) => {
  window.__hosted = { attempt, secret, channel: b64(h) };
});
document.getElementById("open").addEventListener("click", () => {
  const q = new URLSearchParams({ app_id: "app-a", mode: "popup", origin: location.origin, attempt, channel: window.__hosted.channel });
  const w = open(`${S}/login/pool-a?${q}`, "hosted", "popup,width=520,height=640");
  addEventListener("message", (e) => {
    if (e.origin == S && e.source == w && e.data && e.data.attempt == attempt) window.__msgs.push(e.data);
  });
});
</script>"#;

#[tokio::test]
async fn the_hosted_page_in_a_popup_posts_to_the_host_page() {
    let Some((env, c, origin)) = setup_with(HOSTED_OPENER, false, vec![], &[], &[]).await else {
        return;
    };
    c.wait_until("window.__hosted", 10, "the host page's channel")
        .await;
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
             return ['hosted-origin', 'hosted-attempt', 'hosted-channel'].map((a) => b.getAttribute(a));",
            vec![],
        )
        .await;
    assert_eq!(
        attrs,
        json!([origin, hosted["attempt"], hosted["channel"]]),
        "the host's origin, attempt and channel on the hosted page's button"
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
    // The channel the host page committed to holds the same result, for its secret only, once.
    let read = || async {
        reqwest::Client::new()
            .post(format!(
                "{}/api/v1/attempts/{}/result",
                env.base,
                hosted["attempt"].as_str().unwrap()
            ))
            .header("origin", &origin)
            .body(hosted["secret"].as_str().unwrap().to_string())
            .send()
            .await
            .unwrap()
    };
    let r = read().await;
    assert_eq!(r.status(), 200);
    let via_channel: Value = r.json().await.unwrap();
    assert_eq!(via_channel["id_token"], msgs[0]["id_token"]);
    assert_eq!(read().await.status(), 404);
}

#[tokio::test]
async fn the_hosted_page_in_redirect_mode_comes_back_to_the_redirect_uri() {
    let Some((env, c, _origin)) = setup_with(B1, false, vec![], &[], &["/login/done"]).await else {
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
    let claims = verify(
        &env,
        POOL,
        ev[0]["detail"]["id_token"].as_str().unwrap(),
        APP,
    )
    .await;
    assert_eq!(claims["nonce"], attempt);
    assert_eq!(ev[0]["detail"]["user"]["id"], claims["sub"]);
    assert_eq!(c.window_count().await, 1);
}

#[tokio::test]
async fn redirect_mode_comes_back_with_one_success_and_a_replayed_fragment_is_ignored() {
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" mode="redirect" redirect-uri="{HOST}/login/done"></milogin-button>"#;
    let Some((env, c, origin)) = setup_with(body, false, vec![], &[], &["/login/done"]).await
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
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
    let token = ev[0]["detail"]["id_token"].as_str().unwrap();
    let claims = verify(&env, POOL, token, APP).await;
    let user = &ev[0]["detail"]["user"];
    assert_eq!(
        (&user["id"], &user["nickname"], &user["connection"]),
        (&claims["sub"], &json!("Alice Wang"), &json!("xiaomi")),
        "the user from the token's claims: {user}"
    );
    assert_eq!(
        c.js(
            "return document.activeElement && document.activeElement.id;",
            vec![]
        )
        .await,
        json!("b1"),
        "focus on the button that started it"
    );
    // The same fragment again (a replay, or a crafted link): no attempt of this tab waits for
    // it, so nothing fires and the fragment is left alone.
    let replay = format!(
        "{origin}/#id_token={token}&attempt={}",
        claims["nonce"].as_str().unwrap()
    );
    c.client.goto(&replay).await.unwrap();
    wait_rendered(&c).await;
    c.wait_until("document.readyState == 'complete'", 10, "load")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(c.events().await.is_empty());
    let hash = place(&c).await[1].as_str().unwrap().to_string();
    assert!(hash.starts_with("#id_token="), "{hash}");
}

#[tokio::test]
async fn a_coop_host_page_gets_one_result_through_the_channel() {
    let Some((env, c, _)) = setup_with(
        B1,
        false,
        vec![("cross-origin-opener-policy", "same-origin")],
        &[],
        &[],
    )
    .await
    else {
        return;
    };
    c.click_button("#b1").await;
    c.consent("account-alice").await;
    let ev = wait_result(&c).await;
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let ev = if ev.len() == 1 { c.events().await } else { ev };
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
    verify(
        &env,
        POOL,
        ev[0]["detail"]["id_token"].as_str().unwrap(),
        APP,
    )
    .await;
    // The direct path really was cut: the result page found no opener to post to.
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    let status = c
        .js(
            "return document.getElementById('milogin-status').textContent;",
            vec![],
        )
        .await;
    assert!(
        status.as_str().unwrap().contains("close this window"),
        "{status}"
    );
    c.client.switch_to_window(main).await.unwrap();
}

#[tokio::test]
async fn a_popup_closed_right_after_the_approval_still_delivers() {
    let Some((env, c, _)) = setup(B1, false).await else {
        return;
    };
    c.click_button("#b1").await;
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    c.wait_until(
        "document.getElementById('account-alice')",
        15,
        "the consent page",
    )
    .await;
    // The result page will not reach this page's window (as when a page on the way cut the
    // opener; `opener = null` outlives the navigations)…
    c.js("window.opener = null;", vec![]).await;
    c.click_id("account-alice").await;
    // …and the person closes the window as soon as the approval went through.
    c.wait_until(
        "document.getElementById('milogin-status')?.textContent.includes('close this window')",
        15,
        "the result page",
    )
    .await;
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();
    let ev = wait_result(&c).await;
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
    verify(
        &env,
        POOL,
        ev[0]["detail"]["id_token"].as_str().unwrap(),
        APP,
    )
    .await;
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
    let Some((env, c, _origin)) = setup_with(body, false, vec![], &[wechat], &["/"]).await else {
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
    c.wait_until(
        &format!("location.href.startsWith('{}/')", env.mock_base),
        15,
        "Xiaomi's consent page in this window",
    )
    .await;
    assert_eq!(c.window_count().await, 1, "no popup");
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(place(&c).await, json!(["/", ""]));
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
    verify(
        &env,
        POOL,
        ev[0]["detail"]["id_token"].as_str().unwrap(),
        APP,
    )
    .await;
}

#[tokio::test]
async fn a_click_before_the_channel_is_ready_opens_the_popup_at_once_and_sends_it_on() {
    // WebCrypto takes 4 s to hash the first attempt's secret (this script runs before the
    // widget's module): the click comes first.
    let body = r#"<script>
const digest = crypto.subtle.digest.bind(crypto.subtle);
crypto.subtle.digest = (...args) => new Promise((r) => setTimeout(r, 4000)).then(() => digest(...args));
</script>
<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi"></milogin-button>"#;
    let Some((env, c, _)) = setup(body, false).await else {
        return;
    };
    c.click_button("#b1").await;
    assert_eq!(
        c.js("return window.__opened;", vec![]).await,
        "about:blank",
        "opened inside the click, before the commitment was ready"
    );
    let (main, popup) = c.popup().await;
    c.client.switch_to_window(popup).await.unwrap();
    c.wait_until(
        "document.getElementById('account-alice')",
        20,
        "the consent page",
    )
    .await;
    c.client.switch_to_window(main).await.unwrap();
    // The popup was sent on with the commitment of this attempt's secret: the server answers
    // "pending" to that secret only (a peek at the loader's state, for the test only).
    let t = c
        .js(
            "const t = document.querySelector('#b1')._t; return [t.a, t.s];",
            vec![],
        )
        .await;
    let read = |secret: &str| {
        reqwest::Client::new()
            .post(format!(
                "{}/api/v1/attempts/{}/result",
                env.base,
                t[0].as_str().unwrap()
            ))
            .body(secret.to_string())
            .send()
    };
    assert_eq!(read(t[1].as_str().unwrap()).await.unwrap().status(), 202);
    assert_eq!(
        read("not-the-secret-0000000000").await.unwrap().status(),
        404
    );
    c.consent("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(ev[0]["type"], "milogin:success");
    let claims = verify(
        &env,
        POOL,
        ev[0]["detail"]["id_token"].as_str().unwrap(),
        APP,
    )
    .await;
    assert_eq!(claims["nonce"], t[0]);
}

#[tokio::test]
async fn a_blocked_popup_with_fallback_redirect_leaves_for_redirect_mode() {
    let body = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" fallback="redirect"></milogin-button>"#;
    let Some((env, c, _)) = setup_with(body, true, vec![], &[], &["/"]).await else {
        return;
    };
    // A scripted click has no user activation: the popup is blocked, and this window goes.
    c.js(
        "document.querySelector('#b1').shadowRoot.querySelector('button').click();",
        vec![],
    )
    .await;
    c.wait_until(
        &format!("location.href.startsWith('{}/')", env.mock_base),
        15,
        "Xiaomi's consent page in this window",
    )
    .await;
    c.click_id("account-alice").await;
    let ev = wait_result(&c).await;
    assert_eq!(place(&c).await, json!(["/", ""]));
    assert_eq!(ev.len(), 1, "exactly one result: {ev:?}");
    assert_eq!(
        (ev[0]["type"].as_str(), ev[0]["target"].as_str()),
        (Some("milogin:success"), Some("b1"))
    );
}

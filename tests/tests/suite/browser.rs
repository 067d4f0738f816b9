//! The widget in a real browser (headless Chromium): a host page on origin A
//! (`http://localhost:…`) embeds `<milogin-button>` from the server on origin S
//! (`http://127.0.0.1:…`); popups, postMessage, events, labels, rendering.

use milogin_tests::browser::*;
use milogin_tests::*;
use serde_json::{json, Value};

const B1: &str = r#"<milogin-button id="b1" pool="pool-a" app="app-a" connection="xiaomi" theme="brand"></milogin-button>"#;

async fn setup(body: &str, blocker: bool) -> Option<(Env, Chrome, String)> {
    if !require() {
        return None;
    }
    let (l, origin) = bind_host().await;
    let env = spawn_with(Options {
        origins: vec![origin.clone()],
        ..Options::default()
    })
    .await;
    serve_host(l, page(&env.base, body), vec![]);
    let chrome = Chrome::start(blocker).await;
    chrome.client.goto(&format!("{origin}/")).await.unwrap();
    chrome
        .wait_until(
            "document.querySelector('milogin-button')?.shadowRoot?.querySelector('button')",
            20,
            "the button renders",
        )
        .await;
    Some((env, chrome, origin))
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
    c.client.switch_to_window(popup).await.unwrap();
    c.client.close_window().await.unwrap();
    c.client.switch_to_window(main).await.unwrap();
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

//! The button designer (`GET /designer`, issue 17 item 6): the page and its CSP, its files, the
//! `server.designer = false` switch, `/designer/check` answering exactly what the public
//! connection list answers a page of the asked origin, and in headless Chromium the designer
//! itself: typing a display name updates the live `<milogin-button>` previews (read from their
//! shadow roots) and the snippet, a theme shows on the previews, a click on a preview starts no
//! login, and the server's answer and the origin check are shown.

use milogin_tests::browser::*;
use milogin_tests::*;
use serde_json::{json, Value};

/// The policy the page must carry: this origin and wasm compilation, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// True when the server was built with the designer (`cargo xtask build-designer` before the
/// build); otherwise skips, or fails when `MILOGIN_REQUIRE_BROWSER` is set (`cargo xtask test`).
fn designer_built() -> bool {
    if milogin_server::http::designer::embedded() {
        return true;
    }
    assert!(
        std::env::var("MILOGIN_REQUIRE_BROWSER").is_err(),
        "the designer is required but this server was built without it: run `cargo xtask build-designer` before building the tests"
    );
    eprintln!(
        "skipped: the server was built without the designer (run `cargo xtask build-designer`)"
    );
    false
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_designer_page_has_its_csp_and_its_files_are_served() {
    if !designer_built() {
        return;
    }
    let env = spawn().await;
    let r = get(&format!("{}/designer", env.base), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "content-security-policy"), CSP);
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");
    let page = r.text().await.unwrap();
    for src in [
        "/widget/milogin.js",
        "/designer/designer.js",
        "/designer/designer.css",
    ] {
        assert!(page.contains(&format!("\"{src}\"")), "{src} in {page}");
    }
    // The page exists only with its CSP: not as a plain file.
    let r = get(&format!("{}/designer/index.html", env.base), &[]).await;
    assert_eq!(r.status(), 404);

    // The entry module names the content-hashed glue and wasm.
    let r = get(&format!("{}/designer/designer.js", env.base), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/javascript");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    let entry = r.text().await.unwrap();
    let hashed = |ext: &str| {
        let end = entry
            .find(ext)
            .unwrap_or_else(|| panic!("{ext} in {entry}"));
        let start = entry[..end].rfind("designer-").unwrap();
        entry[start..end + ext.len()].to_owned()
    };
    let (glue, wasm) = (hashed(".js\""), hashed(".wasm\""));
    let glue = glue.trim_end_matches('"');
    let wasm = wasm.trim_end_matches('"');
    let r = get(&format!("{}/designer/{glue}", env.base), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/javascript");
    let r = get(
        &format!("{}/designer/{wasm}", env.base),
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/wasm");
    assert_eq!(header(&r, "content-encoding"), "br");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let r = get(&format!("{}/designer/designer.css", env.base), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/css");
}

#[tokio::test]
async fn server_designer_false_turns_every_designer_route_off() {
    let env = spawn_with(Options {
        designer: false,
        ..Options::default()
    })
    .await;
    for path in [
        "/designer",
        "/designer/designer.js",
        &format!(
            "/designer/check?pool={POOL}&app={APP}&origin={}",
            enc(ORIGIN)
        ),
    ] {
        let r = get(&format!("{}{path}", env.base), &[]).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    // The switch is what turns it off: the same server with the default serves the check.
    let env = spawn().await;
    let r = get(
        &format!(
            "{}/designer/check?pool={POOL}&app={APP}&origin={}",
            env.base,
            enc(ORIGIN)
        ),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
}

/// Status, return-page header and body of a response.
async fn answer(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let return_page = header(&r, "x-milogin-return-page");
    (status, return_page, r.json().await.unwrap())
}

#[tokio::test]
async fn designer_check_answers_what_the_connection_list_answers_that_origin() {
    let host = "http://localhost:5173";
    let env = spawn_with(Options {
        origins: vec![host.into()],
        return_uris: vec![format!("{host}/milogin-return.html")],
        ..Options::default()
    })
    .await;
    let check = |pool: &str, app: &str, origin: &str| {
        format!(
            "{}/designer/check?pool={pool}&app={app}&origin={}",
            env.base,
            enc(origin)
        )
    };
    let list =
        |pool: &str, app: &str| format!("{}/api/v1/pools/{pool}/apps/{app}/connections", env.base);
    for (pool, app, origin, status) in [
        (POOL, APP, ORIGIN, 200),
        (POOL, APP, host, 200),
        (POOL, APP, "https://evil.example", 403),
        (POOL, "nope", ORIGIN, 404),
        ("nope", APP, ORIGIN, 404),
    ] {
        let designer = answer(get(&check(pool, app, origin), &[]).await).await;
        let public = answer(get(&list(pool, app), &[("origin", origin)]).await).await;
        assert_eq!(designer.0, status, "{pool} {app} {origin}: {designer:?}");
        assert_eq!(designer, public, "{pool} {app} {origin}");
    }
    let (_, return_page, _) = answer(get(&check(POOL, APP, host), &[]).await).await;
    assert_eq!(return_page, "1", "a return page is registered for {host}");
    let (_, _, body) = answer(get(&check(POOL, APP, "https://evil.example"), &[]).await).await;
    assert_eq!(body["code"], "origin_not_allowed");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("pools.apps.origins"),
        "{body}"
    );
    // The server's own origin is not an app's: the designer says so, while the list answers
    // the server's own pages.
    let own = answer(get(&check(POOL, APP, &env.base), &[]).await).await;
    assert_eq!((own.0, &own.2["code"]), (403, &json!("origin_not_allowed")));
    let r = get(&list(POOL, APP), &[("origin", &env.base)]).await;
    assert_eq!(r.status(), 200);
    // What is not an origin is refused with how to write one.
    for bad in [
        "https://shop.example.com/",
        "shop.example.com",
        "https://a.example/path",
    ] {
        let (status, _, body) = answer(get(&check(POOL, APP, bad), &[]).await).await;
        assert_eq!(
            (status, &body["code"]),
            (400, &json!("invalid_request")),
            "{bad}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("e.g. https://shop.example.com"),
            "{body}"
        );
    }
    let r = get(&format!("{}/designer/check?pool={POOL}", env.base), &[]).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("needs pool, app and origin"));
}

/// The inner buttons' labels of the previews in `locale`, from their shadow roots.
async fn labels(c: &Chrome, locale: &str) -> Vec<String> {
    let v = c
        .js(
            "return [...document.querySelectorAll(`#preview milogin-button[locale='${arguments[0]}']`)]
                .map(e => e.shadowRoot?.querySelector('button')?.textContent.trim() ?? null);",
            vec![json!(locale)],
        )
        .await;
    serde_json::from_value(v).unwrap_or_default()
}

/// Waits until every preview in `locale` (there are four) shows `label`.
async fn wait_labels(c: &Chrome, locale: &str, label: &str) {
    c.wait_until(
        &format!(
            "(() => {{ const b = [...document.querySelectorAll(`#preview milogin-button[locale='{locale}']`)]
               .map(e => e.shadowRoot?.querySelector('button')?.textContent.trim());
               return b.length == 4 && b.every(t => t == {label:?}); }})()"
        ),
        20,
        &format!("the {locale} previews show {label:?}"),
    )
    .await;
}

async fn find(c: &Chrome, css: &str) -> fantoccini::elements::Element {
    c.client
        .find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

async fn text(c: &Chrome, css: &str) -> String {
    c.js(
        "return document.querySelector(arguments[0])?.textContent ?? '';",
        vec![json!(css)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test]
async fn typing_a_display_name_updates_the_previews_and_the_snippet() {
    if !require() || !designer_built() {
        return;
    }
    let env = spawn().await;
    let c = Chrome::start(false).await;
    c.client
        .goto(&format!(
            "{}/designer?pool={POOL}&app={APP}&connection={CONN}",
            env.base
        ))
        .await
        .unwrap();
    // The ids came from the address; the previews are the real element and show the server's
    // labels: the connection list answers the server's own origin.
    wait_labels(&c, "en", "Sign in with Xiaomi").await;
    wait_labels(&c, "zh-CN", "用小米账号登录（测试）").await;
    c.wait_until(
        "document.querySelector('#verdict q[data-locale=\"zh-CN\"]')?.textContent == '用小米账号登录（测试）'",
        20,
        "the server's answer",
    )
    .await;
    let snippet = |extra: &str| {
        format!(
            "<script type=\"module\" src=\"{}/widget/milogin.js\"></script>\n<milogin-button pool=\"{POOL}\" app=\"{APP}\" connection=\"{CONN}\"{extra}></milogin-button>",
            env.base
        )
    };
    assert_eq!(
        text(&c, "#snippet").await,
        snippet(""),
        "defaults: the ids only"
    );

    find(&c, "input[name=\"display-name\"]")
        .await
        .send_keys("Acme <Login> & Co")
        .await
        .unwrap();
    wait_labels(&c, "en", "Acme <Login> & Co").await;
    assert_eq!(
        labels(&c, "zh-CN").await,
        vec!["用小米账号登录（测试）"; 4],
        "the Chinese previews keep the server's Chinese label"
    );
    c.wait_until(
        "document.querySelector('#snippet').textContent.includes('display-name=')",
        10,
        "the snippet",
    )
    .await;
    assert_eq!(
        text(&c, "#snippet").await,
        snippet(" display-name=\"Acme &lt;Login&gt; &amp; Co\"")
    );
    assert!(
        text(&c, "#config-lines")
            .await
            .ends_with("display_name = { en = \"Acme <Login> & Co\" }"),
        "{}",
        text(&c, "#config-lines").await
    );

    // A theme: on every preview, and in the snippet.
    find(&c, "select[name=theme]")
        .await
        .select_by_value("dark")
        .await
        .unwrap();
    c.wait_until(
        "[...document.querySelectorAll('#preview milogin-button')].every(e => e.getAttribute('theme') == 'dark')",
        10,
        "the dark theme on the previews",
    )
    .await;
    wait_labels(&c, "en", "Acme <Login> & Co").await;
    assert_eq!(
        text(&c, "#snippet").await,
        snippet(" display-name=\"Acme &lt;Login&gt; &amp; Co\" theme=\"dark\"")
    );

    // A width: on the previews (the narrow ones stay narrow), and as the element's attribute.
    find(&c, "input[name=width]")
        .await
        .send_keys("240")
        .await
        .unwrap();
    c.wait_until(
        "(() => { const w = [...document.querySelectorAll('#preview milogin-button')].map(e => Math.round(e.getBoundingClientRect().width));
           return w.length == 8 && w.filter(x => x == 240).length == 4 && w.filter(x => x == 110).length == 4; })()",
        10,
        "four previews 240 px wide, four 110 px",
    )
    .await;
    assert_eq!(
        text(&c, "#snippet").await,
        snippet(" display-name=\"Acme &lt;Login&gt; &amp; Co\" theme=\"dark\" width=\"240\"")
    );

    // A click on a preview starts nothing (this origin is not an app's).
    c.click_button("#preview milogin-button[locale='en']").await;
    let st = c.button_state("#preview milogin-button[locale='en']").await;
    assert_ne!(st["busy"], "true", "no login started: {st}");
    assert_eq!(c.window_count().await, 1, "no login window");

    // The origin field: registered, then not, with the key to add it to.
    let origin = find(&c, "input[name=origin]").await;
    origin.send_keys(ORIGIN).await.unwrap();
    c.wait_until(
        "document.querySelector('#origin-verdict [data-registered=true]')",
        10,
        "a registered origin",
    )
    .await;
    origin.clear().await.unwrap();
    origin.send_keys("https://evil.example").await.unwrap();
    c.wait_until(
        "document.querySelector('#origin-verdict [data-registered=false]')?.textContent.includes('pools.apps.origins')",
        10,
        "an unregistered origin",
    )
    .await;

    // An unknown app: the server's refusal, with its fix.
    let app = find(&c, "input[name=app]").await;
    app.clear().await.unwrap();
    app.send_keys("nope").await.unwrap();
    c.wait_until(
        "document.querySelector('#verdict').textContent.includes('unknown_app')",
        10,
        "the refusal",
    )
    .await;
    assert!(text(&c, "#verdict").await.contains("[[pools.apps]] id"));
}

//! Before any login: the app's public connection list
//! (`GET S/api/v1/pools/{pool}/apps/{app}/connections?locale=…`), fetched once per pool, app and
//! language however many buttons ask. It gives the label (the connection's display name in the
//! button's language), whether the app registered a return page for this origin
//! (`X-Milogin-Return-Page`), and — when the button's settings cannot work — the refusal with its
//! code (`unknown_pool`, `unknown_app`, `origin_not_allowed`, or `connection_not_enabled` when the
//! connection is not in the list), which a click then fires at once instead of opening a window
//! that can only fail. Read with `Reflect` (no serde_json in the wasm); the console says what to
//! fix.

use crate::web::{self, prop_str};
use milogin_shared as wire;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The answer's promise per URL: resolves to `[status, body, return page]`, or `undefined`
    /// when the server could not be reached.
    static ANSWERS: RefCell<HashMap<String, js_sys::Promise>> = RefCell::default();
}

/// What the server said about a button's settings.
#[derive(Default)]
pub struct Preflight {
    /// The connection's display name in the button's language.
    pub name: Option<String>,
    /// Why a login cannot work with these settings.
    pub refusal: Option<wire::ErrorBody>,
    /// A return page is registered for this origin: a login window cut off from the page can
    /// still deliver.
    pub return_page: bool,
}

/// Asks (or reuses the answer for) `pool`/`app` in `locale`, and reads it for `connection`.
pub async fn check(pool: &str, app: &str, connection: &str, locale: &str) -> Preflight {
    let url = web::server_url(
        &["api", "v1", "pools", pool, "apps", app, "connections"],
        &[("locale", locale)],
    );
    let answer = ANSWERS.with(|a| {
        a.borrow_mut()
            .entry(url.clone())
            .or_insert_with(|| js_sys::futures::future_to_promise(fetch(url.clone(), app.into())))
            .clone()
    });
    let Ok(answer) = answer.await else {
        return Preflight::default();
    };
    let answer: js_sys::Array = match answer.dyn_into() {
        Ok(a) => a,
        Err(_) => return Preflight::default(),
    };
    // An integer: formatting an f64 would pull float printing (~10 KB) into the wasm.
    let (status, body) = (answer.get(0).as_f64().unwrap_or(0.0) as u16, answer.get(1));
    let return_page = answer.get(2).is_truthy();
    if status != 200 || !js_sys::Array::is_array(&body) {
        let code = prop_str(&body, "code").and_then(|c| wire::ErrorCode::parse(&c));
        let message = prop_str(&body, "message").unwrap_or_default();
        web::error(&[&url, " answered HTTP ", &status.to_string(), ": ", &message]);
        return Preflight {
            refusal: code.map(|code| wire::ErrorBody { code, message }),
            ..Preflight::default()
        };
    }
    let list: js_sys::Array = body.unchecked_into();
    let found = list
        .iter()
        .find(|c| prop_str(c, "unique_id").as_deref() == Some(connection));
    if let Some(name) = found.and_then(|c| prop_str(&c, "display_name")) {
        return Preflight {
            name: Some(name),
            refusal: None,
            return_page,
        };
    }
    let enabled: Vec<String> = list
        .iter()
        .map(|c| prop_str(&c, "unique_id").unwrap_or_default())
        .collect();
    let message = [
        "Connection \"",
        connection,
        "\" is not enabled for app \"",
        app,
        "\" (enabled: ",
        &enabled.join(","),
        "): fix the connection attribute, or add it to pools.apps.connections in the server config.",
    ]
    .concat();
    web::error(&[&message]);
    Preflight {
        refusal: Some(wire::ErrorBody {
            code: wire::ErrorCode::ConnectionNotEnabled,
            message,
        }),
        ..Preflight::default()
    }
}

/// Fetches `url`: `[status, body or undefined, return page]`, or `undefined` (on the console)
/// when the server cannot be reached at all.
async fn fetch(url: String, app: String) -> Result<JsValue, JsValue> {
    let Ok(response) = web::window().fetch_with_str(&url).await else {
        web::error(&[
            "could not load ",
            &url,
            ": is the server up, and does this page's Content-Security-Policy allow it in \
             connect-src? (app \"",
            &app,
            "\")",
        ]);
        return Ok(JsValue::UNDEFINED);
    };
    let response: web_sys::Response = response.unchecked_into();
    let body = match response.json() {
        Ok(p) => p.await.unwrap_or_default(),
        Err(_) => JsValue::UNDEFINED,
    };
    let return_page = response
        .headers()
        .get("x-milogin-return-page")
        .ok()
        .flatten()
        .is_some_and(|v| v == "1");
    Ok(js_sys::Array::of3(
        &JsValue::from(response.status()),
        &body,
        &JsValue::from(return_page),
    )
    .into())
}

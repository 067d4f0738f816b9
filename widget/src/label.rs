//! The button's label: the connection's display name from the app's public connection list
//! (`GET S/api/v1/pools/{pool}/apps/{app}/connections`), fetched once per pool and app however
//! many buttons ask; the console says what to fix when that fails. The list is read with
//! `Reflect` (no serde_json in the wasm).

use crate::web::{self, prop_str};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The list's promise per URL: resolves to the array, or `undefined` after a reported failure.
    static LISTS: RefCell<HashMap<String, js_sys::Promise>> = RefCell::default();
}

/// The display name of `connection` for `pool`/`app`, or `None` (reported on the console).
pub async fn display_name(pool: &str, app: &str, connection: &str) -> Option<String> {
    let url = web::server_url(
        &["api", "v1", "pools", pool, "apps", app, "connections"],
        &[],
    );
    let list = LISTS.with(|l| {
        let mut l = l.borrow_mut();
        let entry = l.entry(url.clone());
        entry
            .or_insert_with(|| js_sys::futures::future_to_promise(fetch_list(url, app.into())))
            .clone()
    });
    let list = list.await.ok()?;
    let list: &js_sys::Array = list.dyn_ref()?;
    let found = list
        .iter()
        .find(|c| prop_str(c, "unique_id").as_deref() == Some(connection));
    match found.and_then(|c| prop_str(&c, "display_name")) {
        Some(name) => Some(name),
        None => {
            let mut enabled = String::new();
            for c in list.iter() {
                if !enabled.is_empty() {
                    enabled.push(',');
                }
                enabled.push_str(&prop_str(&c, "unique_id").unwrap_or_default());
            }
            web::error(&[
                "connection \"", connection, "\" is not enabled for app \"", app, "\" (enabled: ",
                &enabled,
                "): fix the connection attribute, or add it to pools.apps.connections in the server config.",
            ]);
            None
        }
    }
}

/// Fetches the list; resolves to it, or to `undefined` after saying on the console what to fix.
async fn fetch_list(url: String, app: String) -> Result<JsValue, JsValue> {
    let Ok(response) = web::window().fetch_with_str(&url).await else {
        web::error(&[
            "could not load ",
            &url,
            ": is this page's origin (",
            &web::location("origin"),
            ") registered for app \"",
            &app,
            "\"? Add it to pools.apps.origins in the server config. Else check the pool and app \
             attributes, that the server is up, and a CSP's connect-src.",
        ]);
        return Ok(JsValue::UNDEFINED);
    };
    let response: web_sys::Response = response.unchecked_into();
    let body = match response.json() {
        Ok(p) => p.await.unwrap_or_default(),
        Err(_) => JsValue::UNDEFINED,
    };
    if response.ok() && js_sys::Array::is_array(&body) {
        return Ok(body);
    }
    let status = response.status();
    web::error(&[
        &url,
        " answered HTTP ",
        &status.to_string(),
        ": ",
        &prop_str(&body, "message").unwrap_or_default(),
        if status == 404 {
            " Check the pool and app attributes."
        } else {
            ""
        },
    ]);
    Ok(JsValue::UNDEFINED)
}

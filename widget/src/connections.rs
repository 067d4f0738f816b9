//! The app's public connection list (`GET {S}/api/v1/pools/{pool}/apps/{app}/connections`), fetched
//! once per pool/app however many buttons there are, with console diagnostics that name the fix.

use crate::popup::error;
use crate::protocol;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `(unique_id, display_name)` of each connection, or `None` when the list could not be loaded
/// (already reported on the console).
type List = Option<Rc<Vec<(String, String)>>>;

thread_local! {
    static CACHE: RefCell<Vec<(String, Shared<LocalBoxFuture<'static, List>>)>> = const { RefCell::new(Vec::new()) };
}

/// The display name of `connection`, or `None` (then the console says why).
pub async fn display_name(server: &str, pool: &str, app: &str, connection: &str) -> Option<String> {
    let url = protocol::connections_url(server, pool, app);
    let list = CACHE.with_borrow_mut(|cache| match cache.iter().find(|(u, _)| *u == url) {
        Some((_, f)) => f.clone(),
        None => {
            let f = load(url.clone(), app.to_owned()).boxed_local().shared();
            cache.push((url, f.clone()));
            f
        }
    });
    let list = list.await?;
    let found = list.iter().find(|(id, _)| id == connection).map(|(_, name)| name.clone());
    if found.is_none() {
        let ids: Vec<&str> = list.iter().map(|(id, _)| id.as_str()).collect();
        error(&[
            "connection \"",
            connection,
            "\" is not enabled for app \"",
            app,
            "\" (enabled: ",
            &ids.join(", "),
            "). Fix the button's `connection` attribute, or add it to the app's `connections` in the \
             server configuration.",
        ]);
    }
    found
}

async fn load(url: String, app: String) -> List {
    let w = web_sys::window()?;
    let response: web_sys::Response = match JsFuture::from(w.fetch_with_str(&url)).await {
        Ok(r) => r.unchecked_into(),
        Err(_) => {
            let origin = w.location().origin().unwrap_or_default();
            error(&[
                "could not load ",
                &url,
                ". Most likely this page's origin ",
                &origin,
                " is not registered for app \"",
                &app,
                "\": add it to the app's `origins` (pools.apps.origins) in the server configuration. \
                 Otherwise the server is unreachable, or a Content-Security-Policy `connect-src` blocks it.",
            ]);
            return None;
        }
    };
    let json = JsFuture::from(response.json().ok()?).await.unwrap_or_default();
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok().and_then(|v| v.as_string());
    if !response.ok() {
        let status = response.status().to_string();
        let why = get(&json, "message").unwrap_or_default();
        let hint = if status == "404" {
            " Check the button's `pool` and `app` attributes against the server configuration."
        } else {
            ""
        };
        error(&[&url, " answered HTTP ", &status, ": ", &why, hint]);
        return None;
    }
    let list = js_sys::Array::from(&json)
        .iter()
        .filter_map(|c| Some((get(&c, "unique_id")?, get(&c, "display_name")?)))
        .collect();
    Some(Rc::new(list))
}

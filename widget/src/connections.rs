//! The app's public connection list (`GET {S}/api/v1/pools/{pool}/apps/{app}/connections`), fetched
//! once per pool/app however many buttons there are, with console diagnostics that name the fix.

use crate::popup::error;
use crate::protocol;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `(unique_id, display_name)` of each connection, or `None` when the list could not be loaded
/// (already reported on the console).
type List = Option<Rc<[(String, String)]>>;
type Waiter = Box<dyn FnOnce(&List)>;

enum Slot {
    Loading(Vec<Waiter>),
    Done(List),
}

thread_local! {
    static CACHE: RefCell<Vec<(String, Slot)>> = const { RefCell::new(Vec::new()) };
}

/// Calls `then` with the display name of `connection` once known; never when it is not (the
/// console then says why).
pub fn display_name(server: &str, pool: &str, app: &str, connection: String, then: impl FnOnce(String) + 'static) {
    let app_id = app.to_owned();
    with_list(protocol::connections_url(server, pool, app), app, Box::new(move |list: &List| {
        let Some(list) = list else { return };
        match list.iter().find(|(id, _)| *id == connection) {
            Some((_, name)) => then(name.clone()),
            None => {
                let ids: Vec<&str> = list.iter().map(|(id, _)| id.as_str()).collect();
                error(&[
                    "connection \"",
                    &connection,
                    "\" is not enabled for app \"",
                    &app_id,
                    "\" (enabled: ",
                    &ids.join(", "),
                    "). Fix the button's `connection` attribute, or add it to the app's `connections` in \
                     the server configuration.",
                ]);
            }
        }
    }));
}

fn with_list(url: String, app: &str, waiter: Waiter) {
    enum Next {
        Call(List, Waiter),
        Load,
        Wait,
    }
    let next = CACHE.with_borrow_mut(|cache| match cache.iter_mut().find(|(u, _)| *u == url) {
        Some((_, Slot::Done(list))) => Next::Call(list.clone(), waiter),
        Some((_, Slot::Loading(waiters))) => {
            waiters.push(waiter);
            Next::Wait
        }
        None => {
            cache.push((url.clone(), Slot::Loading(vec![waiter])));
            Next::Load
        }
    });
    match next {
        Next::Call(list, waiter) => waiter(&list),
        Next::Wait => {}
        Next::Load => {
            let app = app.to_owned();
            leptos::task::spawn_local(async move {
                let list = load(&url, &app).await;
                let slot = Slot::Done(list.clone());
                let waiters = CACHE.with_borrow_mut(|cache| {
                    match cache.iter_mut().find(|(u, _)| *u == url).map(|(_, s)| std::mem::replace(s, slot)) {
                        Some(Slot::Loading(waiters)) => waiters,
                        _ => Vec::new(),
                    }
                });
                waiters.into_iter().for_each(|w| w(&list));
            });
        }
    }
}

async fn load(url: &str, app: &str) -> List {
    let w = web_sys::window()?;
    let response: web_sys::Response = match JsFuture::from(w.fetch_with_str(url)).await {
        Ok(r) => r.unchecked_into(),
        Err(_) => {
            let origin = w.location().origin().unwrap_or_default();
            error(&[
                "could not load ",
                url,
                ". Most likely this page's origin ",
                &origin,
                " is not registered for app \"",
                app,
                "\": add it to the app's `origins` (pools.apps.origins) in the server configuration. \
                 Otherwise the server is unreachable, or a Content-Security-Policy `connect-src` blocks it.",
            ]);
            return None;
        }
    };
    let json = JsFuture::from(response.json().ok()?).await.unwrap_or_default();
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok().and_then(|v| v.as_string());
    if !response.ok() {
        let mut status = String::new();
        protocol::push_int(&mut status, response.status().into());
        let why = get(&json, "message").unwrap_or_default();
        let hint = if status == "404" {
            " Check the button's `pool` and `app` attributes against the server configuration."
        } else {
            ""
        };
        error(&[url, " answered HTTP ", &status, ": ", &why, hint]);
        return None;
    }
    let list: Vec<_> = js_sys::Array::from(&json)
        .iter()
        .filter_map(|c| Some((get(&c, "unique_id")?, get(&c, "display_name")?)))
        .collect();
    Some(list.into())
}

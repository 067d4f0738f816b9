//! The app's public connection list over HTTP, with gloo-net:
//! `GET S/api/v1/pools/{pool}/apps/{app}/connections?locale=…`, fetched once per URL (pool, app,
//! language) however many buttons ask, and asked again only when a button's pool, app or
//! language changes. Read with `JSON.parse` and `Reflect` into [`Listing`]: never gloo-net's
//! `.json::<T>()`, which would link serde_json (~17 KB) into the wasm. What the list means for a
//! button is `core::listing`; the console says what to fix when the server refuses. Also the
//! one request to the page's own origin: a `HEAD` of the page, for its
//! `Cross-Origin-Opener-Policy` ([`opener_policy`]).

use crate::core::listing::Listing;
use crate::core::num::decimal;
use crate::io::web::{self, prop_str};
use gloo_net::http::Request;
use milogin_shared as wire;
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};

/// Who hears the answer to one URL.
type Waiter = Box<dyn FnOnce(Arc<Listing>)>;

enum Entry {
    Asked(Vec<Waiter>),
    Answered(Arc<Listing>),
}

thread_local! {
    /// Per URL (a handful on any page: a `Vec`, not a `HashMap` and its hasher).
    static LISTS: RefCell<Vec<(String, Entry)>> = RefCell::default();
}

/// The list's URL for `pool`/`app` in `locale` (a BCP 47 tag).
pub fn url(pool: &str, app: &str, locale: &str) -> String {
    web::server_url(
        &["api", "v1", "pools", pool, "apps", app, "connections"],
        &[("locale", locale)],
    )
}

/// Gives `then` the answer for `url` (at once when it is known; otherwise when it comes).
pub fn ask(url: String, app: &str, then: Waiter) {
    let known = LISTS.with(|l| {
        let mut l = l.borrow_mut();
        match l.iter_mut().find(|(u, _)| *u == url).map(|(_, e)| e) {
            Some(Entry::Answered(listing)) => Some((listing.clone(), then)),
            Some(Entry::Asked(waiting)) => {
                waiting.push(then);
                None
            }
            None => {
                l.push((url.clone(), Entry::Asked(vec![then])));
                let app = app.to_owned();
                leptos::task::spawn_local(async move {
                    let (listing, lasting) = fetch(&url, &app).await;
                    let listing = Arc::new(listing);
                    // A passing failure (unreachable, a 5xx) is not kept: the next button asks
                    // again.
                    let waiting = LISTS.with(|l| {
                        let mut l = l.borrow_mut();
                        let i = l.iter().position(|(u, _)| *u == url)?;
                        if lasting {
                            let done = Entry::Answered(listing.clone());
                            Some(std::mem::replace(&mut l[i].1, done))
                        } else {
                            Some(l.remove(i).1)
                        }
                    });
                    if let Some(Entry::Asked(waiting)) = waiting {
                        waiting.into_iter().for_each(|w| w(listing.clone()));
                    }
                });
                None
            }
        }
    });
    if let Some((listing, then)) = known {
        then(listing);
    }
}

/// This page's own `Cross-Origin-Opener-Policy`, from a same-origin `HEAD` of its URL (a
/// same-origin response's headers are all readable). Asked only when a login window reads closed
/// without a result, to tell a window the person closed from one the policy hid (`None` when
/// the page does not answer: read as no policy, so a cancel).
pub async fn opener_policy() -> Option<String> {
    let init = web::object(&[("method", "HEAD".into())]);
    let request =
        web_sys::Request::new_with_str_and_init(&web::location("href"), init.unchecked_ref())
            .ok()?;
    let response = Request::from(request).send().await.ok()?;
    response.headers().get("cross-origin-opener-policy")
}

/// Redeems the one-time `code` that came back for an attempt of `app` in `pool` (to the page
/// `back`) with the attempt's PKCE `verifier`, at the pool's token endpoint; the answer is a
/// result message (`undefined` when none came).
pub async fn redeem(pool: &str, app: &str, code: &str, verifier: &str, back: &str) -> JsValue {
    let body = web::form(&[
        ("grant_type", "authorization_code"),
        ("client_id", app),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", back),
    ]);
    let init = web::object(&[("method", "POST".into()), ("body", body.into())]);
    let url = web::server_url(&["pools", pool, "oidc", "token"], &[]);
    let Ok(request) = web_sys::Request::new_with_str_and_init(&url, init.unchecked_ref()) else {
        return JsValue::UNDEFINED;
    };
    let Ok(response) = Request::from(request).send().await else {
        return JsValue::UNDEFINED;
    };
    let text = response.text().await.unwrap_or_default();
    js_sys::JSON::parse(&text).unwrap_or_default()
}

/// The answer, and whether it lasts for the page (a list or a 4xx refusal do; a failure to reach
/// the server or a 5xx do not).
async fn fetch(url: &str, app: &str) -> (Listing, bool) {
    // A GET from a plain `web_sys::Request` (the URL is already complete): gloo-net's builder
    // would parse it again and rebuild its query with `format!`, linking `core::fmt`'s writer.
    let request = web_sys::Request::new_with_str(url).map(Request::from);
    let response = match request {
        Ok(r) => r.send().await,
        Err(_) => return (Listing::Unreachable, false),
    };
    let Ok(response) = response else {
        web::error(&[
            "could not load ",
            url,
            ": is the server up, and does this page's Content-Security-Policy allow it in \
             connect-src? (app \"",
            app,
            "\")",
        ]);
        return (Listing::Unreachable, false);
    };
    let status = response.status();
    let return_page = response.headers().get("x-milogin-return-page").as_deref() == Some("1");
    let text = response.text().await.unwrap_or_default();
    let body = js_sys::JSON::parse(&text).unwrap_or_default();
    if status == 200 && js_sys::Array::is_array(&body) {
        let list: js_sys::Array = body.unchecked_into();
        let connections = list
            .iter()
            .filter_map(|c| Some((prop_str(&c, "unique_id")?, prop_str(&c, "display_name")?)))
            .collect();
        return (
            Listing::Listed {
                connections,
                return_page,
            },
            true,
        );
    }
    let message = prop_str(&body, "message").unwrap_or(text);
    web::error(&[
        url,
        " answered HTTP ",
        &decimal(status.into()),
        ": ",
        &message,
    ]);
    // Only a 4xx is about the button's settings; a 5xx refuses nothing (the click then tries).
    let lasting = status < 500;
    let code = prop_str(&body, "code").filter(|_| lasting);
    let refused = Listing::Refused {
        code: code.and_then(|c| wire::ErrorCode::parse(&c)),
        message,
    };
    (refused, lasting)
}

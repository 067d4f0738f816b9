//! The server, asked from the designer's own origin with gloo-net: the public connection list
//! (`GET /api/v1/pools/{pool}/apps/{app}/connections?locale=`), and `GET /designer/check`, which
//! answers what that list answers a page of another origin.

use crate::answer::{self, Answer, OriginAnswer};
use gloo_net::http::{Request, Response};
use milogin_shared::{ConnectionInfo, ErrorBody};

/// A path segment or query value, percent-encoded.
fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s.trim()))
}

/// The refusal in a non-2xx answer (`{code, message}`), or a description of what came back.
async fn refusal(r: Response) -> Result<ErrorBody, String> {
    let status = r.status();
    r.json::<ErrorBody>()
        .await
        .map_err(|_| format!("the server answered HTTP {status} without an error body"))
}

/// The connection list in `locale`: the list, or the server's refusal; `Err` when the server
/// could not be asked.
async fn connections(
    pool: &str,
    app: &str,
    locale: &str,
) -> Result<Result<Vec<ConnectionInfo>, ErrorBody>, String> {
    let url = format!(
        "/api/v1/pools/{}/apps/{}/connections?locale={locale}",
        enc(pool),
        enc(app)
    );
    let r = Request::get(&url)
        .send()
        .await
        .map_err(|e| format!("could not ask the server: {e}"))?;
    if r.ok() {
        let list = r
            .json::<Vec<ConnectionInfo>>()
            .await
            .map_err(|e| format!("the connection list could not be read: {e}"))?;
        Ok(Ok(list))
    } else {
        Ok(Err(refusal(r).await?))
    }
}

/// What the server answers for the button with these ids.
pub async fn answer(pool: String, app: String, connection: String) -> Result<Answer, String> {
    let missing = answer::missing(&[("pool", &pool), ("app", &app), ("connection", &connection)]);
    if !missing.is_empty() {
        return Ok(Answer::Incomplete(missing));
    }
    let en = connections(&pool, &app, "en").await?;
    let zh = connections(&pool, &app, "zh-CN").await?;
    Ok(answer::answer(
        (pool.trim(), app.trim(), connection.trim()),
        en,
        zh,
    ))
}

/// Whether `origin` is registered for the app; `None` when no origin (or pool, app) is typed.
pub async fn origin(
    pool: String,
    app: String,
    origin: String,
) -> Option<Result<OriginAnswer, String>> {
    if origin.trim().is_empty() || pool.trim().is_empty() || app.trim().is_empty() {
        return None;
    }
    let url = format!(
        "/designer/check?pool={}&app={}&origin={}",
        enc(&pool),
        enc(&app),
        enc(&origin)
    );
    let r = match Request::get(&url).send().await {
        Ok(r) => r,
        Err(e) => return Some(Err(format!("could not ask the server: {e}"))),
    };
    Some(if r.ok() {
        let return_page = r.headers().get("x-milogin-return-page").as_deref() == Some("1");
        Ok(OriginAnswer::Registered { return_page })
    } else {
        refusal(r).await.map(OriginAnswer::Refused)
    })
}

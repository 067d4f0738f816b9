//! HTML the server renders, as `maud` templates (every value escaped by the template, so no
//! caller escapes by hand): the frame every page shares ([`html_page`], nonce CSP), the popup
//! result page, the error pages ([`error`]: they name what to fix), and the binding form
//! ([`binding`]). Popup pages are in English or Chinese ([`Lang`], from `Accept-Language`) and
//! carry a Close button.
//!
//! Every page: strict CSP with a per-response nonce, `frame-ancestors 'none'`, `no-store`,
//! `Referrer-Policy: no-referrer`, `nosniff`, no third-party resources. Text is escaped by the
//! template (nicknames are attacker-controlled); only our own constants (CSS, scripts) and
//! [`script_json`]'s output are inserted with `PreEscaped`. No `Cross-Origin-Opener-Policy`: it
//! would cut the opener.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use milogin_shared::{Outcome, ResultMessage};

pub mod binding;
mod error;
mod lang;

pub use error::{code_sentence, error_page, refusal_page};
pub use lang::Lang;

/// Serialises to JSON safe inside `<script type="application/json">`: `<`, `>`, `&`, U+2028 and
/// U+2029 are written as `\uXXXX`, so no `</script>` or `<!--` can appear.
pub fn script_json<T: serde::Serialize>(v: &T) -> String {
    let s = serde_json::to_string(v).expect("serialisable");
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    base64::engine::general_purpose::STANDARD.encode(b)
}

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f6f6;color:#222}main{background:#fff;border-radius:12px;padding:28px 32px;max-width:420px;box-shadow:0 2px 12px #0001;text-align:center}h1{font-size:18px;margin:0 0 8px}p{margin:6px 0;color:#555}code{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all;color:#222}.code{font-family:ui-monospace,monospace;font-size:12px;color:#999}#milogin-close{margin-top:14px;padding:8px 22px;border-radius:8px;border:1px solid #ccc;background:#fff;font:inherit;cursor:pointer}";

/// What [`html_page`] renders.
pub(crate) struct Page<'a> {
    /// HTTP status.
    pub status: StatusCode,
    /// `<html lang>`.
    pub lang: &'a str,
    /// Title text.
    pub title: &'a str,
    /// The content of `<main>`.
    pub body: Markup,
    /// Extra `<head>` content.
    pub head: Markup,
    /// A script run under the page's nonce (our own constant code, never request data).
    pub script: Option<&'a str>,
    /// CSS added to the house style (a constant).
    pub style_extra: &'static str,
    /// The CSP `form-action` sources (`'none'` unless the page has a form).
    pub form_action: &'a str,
    /// Extra CSP sources: `(script-src additions, connect-src, img-src)`; pages that load the
    /// widget from our own origin need `'self' 'wasm-unsafe-eval'`, `'self'`, `data:`.
    pub sources: (&'a str, &'a str, &'a str),
}

/// CSP sources of a page that runs nothing but its own nonce'd script.
pub(crate) const NO_SOURCES: (&str, &str, &str) = ("", "'none'", "'none'");

/// Any page we serve: nonce CSP with `frame-ancestors 'none'`, and [`secure_headers`].
pub(crate) fn html_page(p: Page<'_>) -> Response {
    let (script_extra, connect_src, img_src) = p.sources;
    let n = nonce();
    let html = html! {
        (DOCTYPE)
        html lang=(p.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (p.title) }
                // Our own constant CSS: not text, so not escaped.
                style nonce=(n) { (PreEscaped(STYLE)) (PreEscaped(p.style_extra)) }
                (p.head)
            }
            body {
                main { (p.body) }
                @if let Some(s) = p.script {
                    // Our own constant script (request data reaches it only through the JSON
                    // blocks): HTML escaping would break it.
                    script nonce=(n) { (PreEscaped(s)) }
                }
            }
        }
    };
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{n}' {script_extra}; style-src 'nonce-{n}'; connect-src {connect_src}; img-src {img_src}; base-uri 'none'; form-action {}; frame-ancestors 'none'",
        p.form_action
    );
    let mut r = (p.status, html.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("ascii"),
    );
    secure_headers(h);
    r
}

/// A `<script type="application/json">` block: the JSON is made safe for the script element by
/// [`script_json`], so it goes in unescaped (HTML escaping inside `<script>` would corrupt it:
/// the element's text is not HTML-decoded).
pub(crate) fn json_block(id: &str, json: &str) -> Markup {
    html! { script type="application/json" id=(id) { (PreEscaped(json)) } }
}

/// The Close button; [`CLOSE_SCRIPT`] (run under the page's nonce) wires it, as an inline
/// `onclick` would be refused by the CSP.
fn close_button(lang: Lang) -> Markup {
    html! { p { button id="milogin-close" type="button" { (lang.pick("Close", "关闭")) } } }
}

/// Closes the popup from its Close button.
const CLOSE_SCRIPT: &str = "document.getElementById('milogin-close').addEventListener('click',function(){window.close()});";

/// Headers every login response carries.
pub fn secure_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The script of the result page: reads the JSON blocks and posts the result to the recorded
/// origin only, then closes the window. With no opener left (a `Cross-Origin-Opener-Policy` cut
/// it, or the page that opened it is gone) it goes on to the app's registered return page on that
/// origin, the result in the fragment: only a document of the registered origin can read it
/// there, enforced by the browser, and it relays the result to the waiting tab (the widget's
/// `BroadcastChannel`). Without a return page nothing can reach the site: the status line says
/// so and asks the person to go back to it (the text in its `data-closed`, in the page's
/// language; the widget there reports `popup_cut_off` or a cancel).
const POST_SCRIPT: &str = "(function(){var d=document,j=function(i){return JSON.parse(d.getElementById(i).textContent)},m=j('milogin-result'),t=j('milogin-target'),r=j('milogin-return'),o=window.opener;if(o&&!o.closed){try{o.postMessage(m,t);window.close();return}catch(e){}}if(r){location.replace(r);return}var s=d.getElementById('milogin-status');s.textContent=s.getAttribute('data-closed')})();";

/// The result page's last words when no opener and no return page are left (English, Chinese):
/// the site never got the result, whatever the page says above.
pub const NOT_RECEIVED: (&str, &str) = (
    "The site could not receive the result of this sign-in. Please close this window and return to the site.",
    "网站未能收到本次登录的结果。请关闭此窗口，返回网站。",
);

/// The popup result page in `lang`: the message as JSON in `#milogin-result`, posted to
/// `target_origin`; `return_to` (the return page on that origin, with the one-time code or the
/// error in its fragment, never the token) in `#milogin-return` for a lost opener.
pub fn result_page(
    status: StatusCode,
    lang: Lang,
    msg: &ResultMessage,
    target_origin: &str,
    return_to: Option<&str>,
) -> Response {
    let (title, text) = match &msg.outcome {
        Outcome::Success { user, .. } => (
            lang.pick("Signed in", "已登录"),
            html! { (lang.pick("Signed in as ", "已登录：")) (user.nickname) },
        ),
        Outcome::Failure(e) => (
            lang.pick("Login failed", "登录失败"),
            // The English message is the server's specific one; Chinese readers get the code's.
            html! { (lang.pick(e.message.as_str(), code_sentence(e.code, Lang::Zh))) },
        ),
    };
    let head = html! {
        (json_block("milogin-result", &script_json(msg)))
        (json_block("milogin-target", &script_json(&target_origin)))
        (json_block("milogin-return", &script_json(&return_to)))
    };
    let body = html! {
        h1 { (title) }
        p { (text) }
        p id="milogin-status" role="status"
            data-closed=(lang.pick(NOT_RECEIVED.0, NOT_RECEIVED.1)) {
            (lang.pick("Returning to the site…", "正在返回…"))
        }
        (close_button(lang))
    };
    let script = format!("{POST_SCRIPT}{CLOSE_SCRIPT}");
    html_page(Page {
        status,
        lang: lang.tag(),
        title,
        body,
        head,
        script: Some(&script),
        style_extra: "",
        form_action: "'none'",
        sources: NO_SOURCES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_break_out_of_the_script_element() {
        let s = script_json(&"</script><script>alert(1)</script><!-- \u{2028}&");
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&') && !s.contains('\u{2028}')
        );
        assert_eq!(
            serde_json::from_str::<String>(&s).unwrap(),
            "</script><script>alert(1)</script><!-- \u{2028}&"
        );
    }

    #[tokio::test]
    async fn text_is_escaped_and_json_blocks_are_not() {
        let msg = ResultMessage::failure_with(
            "a".repeat(16),
            milogin_shared::ErrorCode::Internal,
            r#"<img src=x onerror="a">'&"#,
        );
        let r = result_page(StatusCode::OK, Lang::En, &msg, "https://a.example", None);
        let html = String::from_utf8(
            axum::body::to_bytes(r.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        // In the text: escaped by the template.
        assert!(
            html.contains("<p>&lt;img src=x onerror=&quot;a&quot;&gt;'&amp;</p>"),
            "{html}"
        );
        // In the JSON block: `script_json`'s escapes, no HTML entities.
        assert!(
            html.contains(r#"\u003cimg src=x onerror=\"a\"\u003e'\u0026"#),
            "{html}"
        );
    }
}

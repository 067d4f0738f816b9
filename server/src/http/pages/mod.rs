//! HTML the server renders: the popup result page, the plain error page, and the binding form
//! ([`binding`]).
//!
//! Every page: strict CSP with a per-response nonce, `frame-ancestors 'none'`, `no-store`,
//! `Referrer-Policy: no-referrer`, `nosniff`, no third-party resources, and all text escaped
//! (nicknames are attacker-controlled). No `Cross-Origin-Opener-Policy`: it would cut the opener.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use milogin_shared::{ErrorCode, Outcome, ResultMessage};

pub mod binding;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

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

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f6f6;color:#222}main{background:#fff;border-radius:12px;padding:28px 32px;max-width:420px;box-shadow:0 2px 12px #0001;text-align:center}h1{font-size:18px;margin:0 0 8px}p{margin:6px 0;color:#555}.code{font-family:ui-monospace,monospace;font-size:12px;color:#999}";

/// A page with the security headers; `script` (if any) runs under the page's nonce.
fn page(
    status: StatusCode,
    title: &str,
    body_html: &str,
    head_extra: &str,
    script: Option<&str>,
) -> Response {
    html_page(&Page {
        status,
        lang: "en",
        title,
        body_html,
        head_extra,
        script,
        style_extra: "",
        form_action: "'none'",
        sources: NO_SOURCES,
    })
}

/// What [`html_page`] renders.
pub(crate) struct Page<'a> {
    /// HTTP status.
    pub status: StatusCode,
    /// `<html lang>`.
    pub lang: &'a str,
    /// Title text (escaped here).
    pub title: &'a str,
    /// Body HTML (the caller escapes its text).
    pub body_html: &'a str,
    /// Extra `<head>` HTML.
    pub head_extra: &'a str,
    /// A script run under the page's nonce.
    pub script: Option<&'a str>,
    /// CSS added to the house style.
    pub style_extra: &'a str,
    /// The CSP `form-action` sources (`'none'` unless the page has a form).
    pub form_action: &'a str,
    /// Extra CSP sources: `(script-src additions, connect-src, img-src)`; pages that load the
    /// widget from our own origin need `'self' 'wasm-unsafe-eval'`, `'self'`, `data:`.
    pub sources: (&'a str, &'a str, &'a str),
}

/// CSP sources of a page that runs nothing but its own nonce'd script.
pub(crate) const NO_SOURCES: (&str, &str, &str) = ("", "'none'", "'none'");

/// Any page we serve: nonce CSP with `frame-ancestors 'none'`, and [`secure_headers`].
pub(crate) fn html_page(p: &Page<'_>) -> Response {
    let Page {
        status,
        lang,
        title,
        body_html,
        head_extra,
        script,
        style_extra,
        form_action,
        sources: (script_extra, connect_src, img_src),
    } = *p;
    let n = nonce();
    let script_tag = script
        .map(|s| format!("<script nonce=\"{n}\">{s}</script>"))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style nonce=\"{n}\">{STYLE}{style_extra}</style>{head_extra}</head><body><main>{body_html}</main>{script_tag}</body></html>",
        escape_html(lang),
        escape_html(title)
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{n}' {script_extra}; style-src 'nonce-{n}'; connect-src {connect_src}; img-src {img_src}; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
    );
    let mut r = (status, html).into_response();
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
/// `BroadcastChannel`). Without a return page it asks the person to close the window.
const POST_SCRIPT: &str = "(function(){var d=document,j=function(i){return JSON.parse(d.getElementById(i).textContent)},m=j('milogin-result'),t=j('milogin-target'),r=j('milogin-return'),o=window.opener;if(o&&!o.closed){try{o.postMessage(m,t);window.close();return}catch(e){}}if(r){location.replace(r+'#milogin_result='+encodeURIComponent(JSON.stringify(m)));return}d.getElementById('milogin-status').textContent='You can close this window. / 您可以关闭此窗口。'})();";

/// The popup result page: the message as JSON in `#milogin-result`, posted to `target_origin`;
/// `return_uri` (on that origin) in `#milogin-return` for a lost opener.
pub fn result_page(
    status: StatusCode,
    msg: &ResultMessage,
    target_origin: &str,
    return_uri: Option<&str>,
) -> Response {
    let (title, text) = match &msg.outcome {
        Outcome::Success { user, .. } => (
            "Signed in".to_string(),
            format!("Signed in as {} / 已登录", user.nickname),
        ),
        Outcome::Failure(e) => ("Login failed".to_string(), e.message.clone()),
    };
    let head = format!(
        "<script type=\"application/json\" id=\"milogin-result\">{}</script><script type=\"application/json\" id=\"milogin-target\">{}</script><script type=\"application/json\" id=\"milogin-return\">{}</script>",
        script_json(msg),
        script_json(&target_origin),
        script_json(&return_uri)
    );
    let body = format!(
        "<h1>{}</h1><p>{}</p><p id=\"milogin-status\" role=\"status\">Returning to the site… / 正在返回…</p>",
        escape_html(&title),
        escape_html(&text)
    );
    page(status, &title, &body, &head, Some(POST_SCRIPT))
}

/// A plain error page that posts nothing (no trusted destination is known).
pub fn error_page(status: StatusCode, code: ErrorCode, detail: &str) -> Response {
    let body = format!(
        "<h1>Login failed / 登录失败</h1><p>{}</p><p class=\"code\" id=\"milogin-error\" data-code=\"{}\">{}</p>",
        escape_html(detail),
        code.as_str(),
        code.as_str()
    );
    page(status, "Login failed", &body, "", None)
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

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<img src=x onerror="a">'&"#),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&#39;&amp;"
        );
    }
}

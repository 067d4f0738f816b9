//! HTML of the mock: the consent page and the error page. Every value is escaped.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::MockAccount;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                   frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto;\
                     padding:0 1rem;color:#222}h1{font-size:1.3rem;color:#ff6900}\
                     button{display:block;width:100%;margin:.4rem 0;padding:.7rem;font-size:1rem;\
                     text-align:left;cursor:pointer}#deny{text-align:center;margin-top:1.2rem}\
                     code{word-break:break-all}";

/// Accounts listed on the consent page; any configured account may still be chosen by id.
const CONSENT_MAX_ACCOUNTS: usize = 50;

/// HTML-escapes element content and quoted attributes (the mock's own copy: it shares no code
/// with the server it stands in for).
pub(super) fn escape(s: &str) -> String {
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

/// What the consent page shows.
pub(super) struct Consent<'a> {
    pub req: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub accounts: &'a [MockAccount],
}

fn scope_label(id: &str) -> String {
    match id {
        "1" => "1: your profile (nickname, avatar)".to_owned(),
        "2" => "2: your MiTalk friend list".to_owned(),
        "3" => "3: your OpenID".to_owned(),
        "4" => "4: your bound phone number".to_owned(),
        "6" => "6: your bound email address".to_owned(),
        other => format!("{other}: permission {other}"),
    }
}

pub(super) fn consent_page(consent: &Consent<'_>, coop: bool) -> Response {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>The app <code id=\"client-id\">{}</code> asks to sign you in.</p>\
         <p>It will receive:</p><ul id=\"scopes\">",
        escape(consent.client_id)
    );
    for id in super::scope_ids(consent.scope) {
        let _ = write!(body, "<li>{}</li>", escape(&scope_label(id)));
    }
    let _ = write!(
        body,
        "</ul><p>Afterwards you go to <code id=\"redirect-uri\">{}</code></p>\
         <form method=\"post\" action=\"/oauth2/authorize/decision\">\
         <input type=\"hidden\" name=\"req\" value=\"{}\">\
         <p>Sign in as:</p>",
        escape(consent.redirect_uri),
        escape(consent.req)
    );
    for account in consent.accounts.iter().take(CONSENT_MAX_ACCOUNTS) {
        let _ = write!(
            body,
            "<button type=\"submit\" name=\"account\" value=\"{id}\" id=\"account-{id}\">\
             {nickname} <small>({id})</small></button>",
            id = escape(&account.id),
            nickname = escape(&account.nickname),
        );
    }
    if let Some(more) = consent
        .accounts
        .len()
        .checked_sub(CONSENT_MAX_ACCOUNTS)
        .filter(|n| *n > 0)
    {
        let _ = write!(
            body,
            "<p id=\"more-accounts\">…and {more} more accounts (post their id).</p>"
        );
    }
    body.push_str(
        "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>",
    );
    let mut response = html(StatusCode::OK, "Xiaomi Account (mock)", &body);
    if coop {
        response.headers_mut().insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

/// An error shown on the mock's own origin (no redirect), e.g. unknown client or redirect URI.
pub(super) fn error_page(status: StatusCode, code: u32, message: &str) -> Response {
    let body = format!(
        "<p id=\"error\">Error <strong id=\"error-code\">{code}</strong>: {}</p>",
        escape(message)
    );
    html(status, "Xiaomi Account (mock): error", &body)
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html;charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        page,
    )
        .into_response()
}

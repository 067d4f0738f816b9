//! HTML of the mock: the consent page and the error page, as `maud` templates (every value is
//! escaped by the template; only the constant CSS goes in as `PreEscaped`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

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
    let shown = &consent.accounts[..consent.accounts.len().min(CONSENT_MAX_ACCOUNTS)];
    let more = consent.accounts.len() - shown.len();
    let body = html! {
        p { "The app " code id="client-id" { (consent.client_id) } " asks to sign you in." }
        p { "It will receive:" }
        ul id="scopes" {
            @for id in super::scope_ids(consent.scope) { li { (scope_label(id)) } }
        }
        p { "Afterwards you go to " code id="redirect-uri" { (consent.redirect_uri) } }
        form method="post" action="/oauth2/authorize/decision" {
            input type="hidden" name="req" value=(consent.req);
            p { "Sign in as:" }
            @for account in shown {
                button type="submit" name="account" value=(account.id) id={ "account-" (account.id) } {
                    (account.nickname) " " small { "(" (account.id) ")" }
                }
            }
            @if more > 0 {
                p id="more-accounts" { "…and " (more) " more accounts (post their id)." }
            }
            button type="submit" name="decision" value="deny" id="deny" { "Deny" }
        }
    };
    let mut response = html_response(StatusCode::OK, "Xiaomi Account (mock)", body);
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
    let body = html! {
        p id="error" { "Error " strong id="error-code" { (code) } ": " (message) }
    };
    html_response(status, "Xiaomi Account (mock): error", body)
}

fn html_response(status: StatusCode, title: &str, body: Markup) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) }
                // Constant CSS of ours: not text, so not escaped.
                style { (PreEscaped(STYLE)) }
            }
            body { h1 { (title) } (body) }
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html;charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        page.into_string(),
    )
        .into_response()
}

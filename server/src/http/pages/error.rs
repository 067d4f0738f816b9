//! The error pages: shown where no trusted destination exists yet (authorize refused before the
//! origin checked out, an unknown state, a bad request), so they post nothing. Each says what went
//! wrong in the reader's language and, for a misconfigured button or app, what to fix: the
//! refused origin and the key to register it under, the unknown pool, app or connection.

use super::{close_button, html_page, Lang, Page, CLOSE_SCRIPT, NO_SOURCES};
use crate::login::start::Refusal;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use milogin_shared::ErrorCode;

/// What a code means, in `lang` (English: the wire's default message).
pub fn code_sentence(code: ErrorCode, lang: Lang) -> &'static str {
    if lang == Lang::En {
        return code.default_message();
    }
    match code {
        ErrorCode::AccessDenied => "你在小米拒绝了登录。",
        ErrorCode::InvalidRequest => "登录请求无效。",
        ErrorCode::InvalidState => "此登录链接无效或已被使用。请重新开始。",
        ErrorCode::StateExpired => "登录耗时过长，已过期。请重新开始。",
        ErrorCode::OriginNotAllowed => "此网站未登记为该登录应用的来源。",
        ErrorCode::ConnectionNotEnabled => "该应用未启用此登录方式。",
        ErrorCode::UnknownPool => "登录按钮指定的用户池在服务器上不存在。",
        ErrorCode::UnknownApp => "登录按钮指定的应用在该用户池中不存在。",
        ErrorCode::ProviderError => "小米返回了错误。请重试。",
        ErrorCode::ProviderUnavailable => "无法连接小米。请稍后重试。",
        ErrorCode::UserNotFound => "此小米账号没有对应的账号。",
        ErrorCode::BindingRequired => "请先将小米账号关联到已有账号。",
        ErrorCode::UserDisabled => "此账号已被停用。",
        ErrorCode::Internal => "服务出现问题。请重试。",
        ErrorCode::PopupBlocked => "浏览器拦截了登录窗口。请允许弹出窗口后重试。",
        ErrorCode::Timeout => "登录窗口未及时响应。",
        ErrorCode::PopupCutOff => "此页面的跨源打开者策略（Cross-Origin-Opener-Policy）切断了登录窗口，结果无法送达：请登记返回页（return_uris），或发送 Cross-Origin-Opener-Policy: same-origin-allow-popups。",
    }
}

/// An error page with the server's English `detail`; a Chinese reader gets the code's sentence
/// first and the detail after it (marked English).
pub fn error_page(status: StatusCode, lang: Lang, code: ErrorCode, detail: &str) -> Response {
    let text = match lang {
        Lang::En => html! { p { (detail) } },
        Lang::Zh => html! {
            p { (code_sentence(code, Lang::Zh)) }
            p lang="en" class="code" { (detail) }
        },
    };
    frame(status, lang, code, text)
}

/// The page of a refused authorize request: names what to fix.
pub fn refusal_page(status: StatusCode, lang: Lang, refusal: &Refusal) -> Response {
    frame(status, lang, refusal.code(), what_to_fix(refusal, lang))
}

fn frame(status: StatusCode, lang: Lang, code: ErrorCode, text: Markup) -> Response {
    let title = lang.pick("Login failed", "登录失败");
    let body = html! {
        h1 { (title) }
        (text)
        p class="code" id="milogin-error" data-code=(code.as_str()) { (code.as_str()) }
        (close_button(lang))
    };
    html_page(Page {
        status,
        lang: lang.tag(),
        title,
        body,
        head: html! {},
        script: Some(CLOSE_SCRIPT),
        style_extra: "",
        form_action: "'none'",
        sources: NO_SOURCES,
    })
}

/// The refusal as sentences for the site's developer: which value, which key.
fn what_to_fix(r: &Refusal, lang: Lang) -> Markup {
    let zh = lang == Lang::Zh;
    match r {
        Refusal::UnknownPool { pool } if zh => html! {
            p { "池 " code { (pool) } " 不存在。请检查按钮的 " code { "pool" } " 属性，或在配置中添加该池（" code { "[[pools]]" } " 的 " code { "id" } "）。" }
        },
        Refusal::UnknownPool { pool } => html! {
            p { "There is no pool " code { (pool) } ". Check the button's " code { "pool" } " attribute, or add the pool to the configuration (" code { "[[pools]]" } ", " code { "id" } ")." }
        },
        Refusal::UnknownConnection { pool, connection } if zh => html! {
            p { "池 " code { (pool) } " 中不存在连接 " code { (connection) } "。请检查按钮的 " code { "connection" } " 属性，或在该池的 " code { "pools.connections" } " 中添加它（" code { "unique_id" } "）。" }
        },
        Refusal::UnknownConnection { pool, connection } => html! {
            p { "There is no connection " code { (connection) } " in pool " code { (pool) } ". Check the button's " code { "connection" } " attribute, or add it to the pool's " code { "pools.connections" } " (" code { "unique_id" } ")." }
        },
        Refusal::UnknownApp {
            pool,
            app: Some(app),
        } if zh => html! {
            p { "池 " code { (pool) } " 中不存在应用 " code { (app) } "。请检查按钮的 " code { "app" } " 属性，或在该池的 " code { "pools.apps" } " 中添加它（" code { "id" } "）。" }
        },
        Refusal::UnknownApp {
            pool,
            app: Some(app),
        } => html! {
            p { "There is no app " code { (app) } " in pool " code { (pool) } ". Check the button's " code { "app" } " attribute, or add the app to the pool's " code { "pools.apps" } " (" code { "id" } ")." }
        },
        Refusal::UnknownApp { app: None, .. } => html! {
            p { (lang.pick("The app_id parameter is missing: set the button's ", "缺少 app_id 参数：请设置按钮的 ")) code { "app" } (lang.pick(" attribute.", " 属性。")) }
        },
        Refusal::OriginNotAllowed { origin, pool, app } if zh => html! {
            p { "来源 " code { (origin) } " 未在应用 " code { (app) } "（池 " code { (pool) } "）中登记。请将它加入该应用的 " code { "pools.apps.origins" } "，然后重启服务。" }
        },
        Refusal::OriginNotAllowed { origin, pool, app } => html! {
            p { "The origin " code { (origin) } " is not registered for app " code { (app) } " in pool " code { (pool) } ". Add it to the app's " code { "pools.apps.origins" } " and restart the server." }
        },
        Refusal::RedirectUriNotAllowed { uri, pool, app } if zh => html! {
            p { "重定向地址 " code { (uri) } " 未在应用 " code { (app) } "（池 " code { (pool) } "）中登记。请将它加入该应用的 " code { "pools.apps.redirect_uris" } "，然后重启服务。" }
        },
        Refusal::RedirectUriNotAllowed { uri, pool, app } => html! {
            p { "The redirect URI " code { (uri) } " is not registered for app " code { (app) } " in pool " code { (pool) } ". Add it to the app's " code { "pools.apps.redirect_uris" } " and restart the server." }
        },
        Refusal::MissingOrigin if zh => html! { p { "弹出窗口模式需要 origin 参数。" } },
        Refusal::MissingRedirectUri if zh => {
            html! { p { "重定向模式需要 redirect_uri 参数：加上 redirect_uri=…（应用的 " code { "pools.apps.redirect_uris" } " 之一），或先在那里登记一个。" } }
        }
        Refusal::BadMode if zh => html! { p { "mode 必须是 popup 或 redirect。" } },
        Refusal::BadAttempt if zh => {
            html! { p { "attempt 参数必须是 16–128 个 A-Z、a-z、0-9、'-'、'_' 字符。" } }
        }
        Refusal::NotEnabled if zh => html! {
            p { "该应用未启用此连接：请将它加入该应用的 " code { "pools.apps.connections" } "。" }
        },
        Refusal::MissingChallenge if zh => html! {
            p { "重定向模式需要 " code { "code_challenge" } "（PKCE S256）：结果以一次性代码返回，只有持有校验码的标签页才能兑换。请在安全页面（https 或 http://localhost）上从本服务器加载 " code { "milogin.js" } "（其按钮和 " code { "loginPage()" } " 用浏览器的 crypto.subtle 生成它）。" }
        },
        Refusal::BadChallenge if zh => {
            html! { p { code { "code_challenge" } " 必须是 PKCE S256 质询：43 个 A-Z、a-z、0-9、'-'、'_' 字符。" } }
        }
        other => html! { p { (other.message()) } },
    }
}

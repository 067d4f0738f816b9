//! The binding page — "Link your Xiaomi account" / "关联小米账号" — in English or Simplified
//! Chinese (picked from `Accept-Language`). A plain form (no script): identifier + password to
//! prove an existing account, "Create a new account" when the login mode allows it, "Cancel".
//! Same hardening as every page (nonce CSP, `frame-ancestors 'none'`, `no-store`); its CSP allows
//! the form to post to us only (and, in redirect mode, the final redirect to the app's origin).

pub use super::Lang;
use super::{html_page, Page, NO_SOURCES};
use crate::login::bind::{Form, FormError};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

struct Texts {
    title: &'static str,
    intro: &'static str,
    matched: &'static str,
    identifier: &'static str,
    password: &'static str,
    link: &'static str,
    create: &'static str,
    create_hint: &'static str,
    cancel: &'static str,
    missing: &'static str,
    wrong: &'static str,
    has_other: &'static str,
}

const EN: Texts = Texts {
    title: "Link your Xiaomi account",
    intro: "You signed in with the Xiaomi account",
    matched: "An account with the same email or phone number as your Xiaomi account may already exist here. Sign in to it to link your Xiaomi account.",
    identifier: "Username, email or phone",
    password: "Password",
    link: "Sign in and link",
    create: "Create a new account",
    create_hint: "No account yet?",
    cancel: "Cancel",
    missing: "Enter your username, email or phone, and your password.",
    wrong: "Wrong account or password.",
    has_other: "This account is already linked to another Xiaomi account.",
};

const ZH: Texts = Texts {
    title: "关联小米账号",
    intro: "你已使用小米账号登录：",
    matched: "可能已有账号使用与你的小米账号相同的邮箱或手机号。请登录该账号以完成关联。",
    identifier: "用户名、邮箱或手机号",
    password: "密码",
    link: "登录并关联",
    create: "创建新账号",
    create_hint: "还没有账号？",
    cancel: "取消",
    missing: "请输入用户名、邮箱或手机号，以及密码。",
    wrong: "账号或密码错误。",
    has_other: "该账号已关联其他小米账号。",
};

const FORM_STYLE: &str = "form{text-align:left;margin-top:16px}label{display:block;margin:10px 0 4px;font-size:13px;color:#444}input{box-sizing:border-box;width:100%;padding:9px 10px;border:1px solid #ccc;border-radius:8px;font:inherit}button{display:block;width:100%;margin-top:12px;padding:10px;border-radius:8px;border:1px solid #ccc;background:#fff;font:inherit;cursor:pointer}button.primary{background:#ff6900;border-color:#ff6900;color:#fff}.alert{color:#b00020}.hint{font-size:13px}.alt{margin-top:18px;border-top:1px solid #eee;padding-top:6px}";

/// The binding page for `form`.
pub fn page(status: StatusCode, lang: Lang, form: &Form) -> Response {
    let t = lang.pick(&EN, &ZH);
    let error = form.error.map(|e| match e {
        FormError::Missing => t.missing,
        FormError::Wrong => t.wrong,
        FormError::AccountHasOther => t.has_other,
    });
    let body = html! {
        h1 { (t.title) }
        p { (t.intro) " " strong id="milogin-nickname" { (form.nickname) } }
        @if form.matched { p class="hint" { (t.matched) } }
        @if let Some(text) = error {
            p class="alert" role="alert" id="milogin-bind-error" { (text) }
        }
        form method="post" action=(form.action) id="milogin-bind" {
            input type="hidden" name="csrf" value=(form.csrf);
            label for="identifier" { (t.identifier) }
            input id="identifier" name="identifier" autocomplete="username" required
                maxlength="254" value=(form.identifier);
            label for="password" { (t.password) }
            input id="password" name="password" type="password" autocomplete="current-password"
                required maxlength="1024";
            button class="primary" type="submit" name="action" value="bind" { (t.link) }
            div class="alt" {
                @if form.can_create {
                    p class="hint" { (t.create_hint) }
                    button type="submit" name="action" value="create" formnovalidate { (t.create) }
                }
                button type="submit" name="action" value="cancel" formnovalidate { (t.cancel) }
            }
        }
    };
    let form_action = match &form.redirect_origin {
        Some(o) => format!("'self' {o}"),
        None => "'self'".to_owned(),
    };
    html_page(Page {
        status,
        lang: lang.tag(),
        title: t.title,
        body,
        head: html! {},
        script: None,
        style_extra: FORM_STYLE,
        form_action: &form_action,
        sources: NO_SOURCES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form {
            action: "https://login.example.com/connection/social/xiaomi/p/bind".into(),
            csrf: "tok\"en".into(),
            nickname: "</p><script>alert(1)</script>".into(),
            can_create: true,
            matched: true,
            error: Some(FormError::Wrong),
            identifier: "\"><img src=x>".into(),
            redirect_origin: None,
        }
    }

    #[test]
    fn language_follows_accept_language() {
        for (h, want) in [
            (None, Lang::En),
            (Some("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh),
            (Some("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En),
            (Some("fr-FR, zh-TW;q=0.5"), Lang::Zh),
            (Some("de"), Lang::En),
            (Some("en;q=0.2, zh;q=0.7"), Lang::Zh),
            (Some(";;;q=,,zh;q=abc"), Lang::Zh),
        ] {
            assert_eq!(Lang::from_accept_language(h), want, "{h:?}");
        }
    }

    #[tokio::test]
    async fn the_page_escapes_and_carries_the_form_hardening() {
        let r = page(StatusCode::OK, Lang::Zh, &form());
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("form-action 'self';")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'nonce-"),
            "{csp}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            html.contains("关联小米账号")
                && html.contains("lang=\"zh-CN\"")
                && html.contains("账号或密码错误")
        );
        assert!(
            !html.contains("<script>alert")
                && !html.contains("<img src=x>")
                && html.contains("tok&quot;en")
        );
        assert!(html.contains("value=\"create\"") && html.contains("value=\"cancel\""));

        let mut f = form();
        f.can_create = false;
        f.redirect_origin = Some("https://shop.example.com".into());
        let r = page(StatusCode::OK, Lang::En, &f);
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("form-action 'self' https://shop.example.com;"));
        let html = String::from_utf8(
            axum::body::to_bytes(r.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(html.contains("Link your Xiaomi account") && !html.contains("value=\"create\""));
    }
}

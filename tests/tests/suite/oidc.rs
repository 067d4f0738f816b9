//! OpenID Connect's code flow (issue 21) over HTTP, as a relying party sees it: discovery →
//! authorize (PKCE) → the mock Xiaomi's consent page → the code on the redirect URI → token →
//! id_token verified with a standard JWT library against the JWKS → userinfo with the access
//! token; for a confidential and a public client. Then the negative table: reused code, wrong
//! verifier, `plain`, a public client without PKCE, another client's code, redirect URI mismatch
//! at authorize (an error page, no redirect) and at token, an expired code, a wrong secret, an
//! unknown client, `prompt=none`, a declined consent.

use base64::Engine;
use milogin_tests::*;
use serde_json::Value;
use sha2::Digest;
use std::collections::HashMap;

const SECRET: &str = "client-secret-of-app-a-0123456789abcdef";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more";

fn redirect_uri() -> String {
    format!("{ORIGIN}/login/done")
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

async fn confidential() -> Env {
    spawn_with(Options {
        client_secret: Some(SECRET.into()),
        ..Default::default()
    })
    .await
}

/// The authorize URL of `client` with the default parameters and `extra` ones.
fn authorize_url(env: &Env, client: &str, extra: &str) -> String {
    format!(
        "{}/pools/{POOL}/oidc/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid%20profile&state=st-1&nonce=n-1{extra}",
        env.base,
        enc(&redirect_uri())
    )
}

fn pkce(verifier: &str) -> String {
    format!(
        "&code_challenge={}&code_challenge_method=S256",
        challenge(verifier)
    )
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Authorize → consent as `account` → callback: the redirect to the client, parsed.
async fn code_for(env: &Env, url: &str, account: &str) -> HashMap<String, String> {
    let b = Browser::new();
    let req = b.start(env, url).await;
    let callback = b.decide(env, &req, Some(account)).await;
    let r = b.get(&callback).await;
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    let to = location(&r);
    assert!(to.starts_with(&redirect_uri()), "{to}");
    assert!(!to.contains('#'), "nothing in the fragment: {to}");
    assert!(!to.contains("id_token"), "no token in a URL: {to}");
    query_of(&to)
}

/// A token request: the form and, when given, HTTP Basic credentials.
async fn token(
    env: &Env,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/pools/{POOL}/oidc/token", env.base))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(enc(id), Some(enc(secret)));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap())
}

fn grant<'a>(code: &'a str, uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", uri),
    ]
}

async fn userinfo(env: &Env, query: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/pools/{POOL}/userinfo{query}", env.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn discovery_names_the_code_flow() {
    let env = spawn().await;
    let d = discovery(&env).await;
    let iss = format!("{}/pools/{POOL}", env.base);
    assert_eq!(d["issuer"], iss);
    assert_eq!(d["authorization_endpoint"], format!("{iss}/oidc/authorize"));
    assert_eq!(d["token_endpoint"], format!("{iss}/oidc/token"));
    assert_eq!(d["userinfo_endpoint"], format!("{iss}/userinfo"));
    assert_eq!(d["jwks_uri"], format!("{iss}/.well-known/jwks.json"));
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["grant_types_supported"],
        serde_json::json!(["authorization_code"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        d["scopes_supported"],
        serde_json::json!(["openid", "profile"])
    );
    for claim in ["auth_time", "azp", "nonce"] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == claim),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn a_confidential_client_logs_in_and_its_tokens_verify() {
    let env = confidential().await;
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    assert_eq!(q["state"], "st-1");
    assert_eq!(
        q["iss"],
        format!("{}/pools/{POOL}", env.base),
        "RFC 9207: mix-up"
    );
    let uri = redirect_uri();
    let (status, headers, body) = token(&env, Some((APP, SECRET)), &grant(&q["code"], &uri)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let id = verify(&env, POOL, body["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["azp"], APP);
    assert!(id["auth_time"].as_i64().is_some());
    assert_eq!(id["idp"], CONN);

    // The access token is for the pool's userinfo endpoint: never an id_token of the app.
    let access = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert!(header.kid.is_some());
    let (status, info) = userinfo(&env, "", access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["aud"], APP);
    assert_eq!(info["azp"], APP);
    let (status, _) = userinfo(&env, &format!("?app_id={APP}"), access).await;
    assert_eq!(status, 200, "the client's own id may be named");
    let (status, info) = userinfo(&env, "?app_id=app-no-conn", access).await;
    assert_eq!(status, 401, "another app named: {info}");
    // An id_token there still needs the app named (today's rule).
    let (status, _) = userinfo(&env, "", body["id_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);

    // client_secret_post works as well as Basic.
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    let mut form = grant(&q["code"], &uri);
    form.extend([("client_id", APP), ("client_secret", SECRET)]);
    let (status, _, body) = token(&env, None, &form).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_public_client_logs_in_with_pkce() {
    let env = spawn().await;
    let q = code_for(&env, &authorize_url(&env, APP, &pkce(VERIFIER)), "alice").await;
    let uri = redirect_uri();
    let mut form = grant(&q["code"], &uri);
    form.extend([("client_id", APP), ("code_verifier", VERIFIER)]);
    let (status, _, body) = token(&env, None, &form).await;
    assert_eq!(status, 200, "{body}");
    let id = verify(&env, POOL, body["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(id["nonce"], "n-1");
    let (status, info) = userinfo(&env, "", body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], id["sub"]);
}

/// The redirect an authorize request got, parsed (asserting it goes to the registered URI).
async fn authorize_error(url: &str) -> HashMap<String, String> {
    let r = Browser::new().get(url).await;
    assert_eq!(r.status(), 302, "{url}");
    let to = location(&r);
    assert!(to.starts_with(&redirect_uri()), "{to}");
    query_of(&to)
}

/// An authorize request refused with a page: 400 and no `Location`.
async fn authorize_page(url: &str) -> String {
    let r = Browser::new().get(url).await;
    assert_eq!(r.status(), 400, "{url}");
    assert!(
        r.headers().get("location").is_none(),
        "never a redirect: {url}"
    );
    r.text().await.unwrap()
}

#[tokio::test]
async fn authorize_refuses_with_a_page_or_a_redirect_as_rfc_6749_says() {
    let env = spawn().await;
    // Unknown client, unregistered redirect URI: a page, never a redirect (open redirector).
    let page = authorize_page(&authorize_url(&env, "no-such-app", &pkce(VERIFIER))).await;
    assert!(page.contains("no-such-app"), "{page}");
    let evil = authorize_url(&env, APP, &pkce(VERIFIER))
        .replace(&enc(&redirect_uri()), &enc("https://evil.example/steal"));
    let page = authorize_page(&evil).await;
    assert!(page.contains("redirect_uris"), "{page}");

    // Everything else goes back with error, state and iss.
    let cases = [
        ("&prompt=none", "login_required"),
        (&pkce(VERIFIER).replace("S256", "plain"), "invalid_request"),
        ("", "invalid_request"),
        (
            "&code_challenge=abc&code_challenge_method=S256",
            "invalid_request",
        ),
    ];
    for (extra, error) in cases {
        let extra = if extra.starts_with("&prompt") {
            format!("{extra}{}", pkce(VERIFIER))
        } else {
            extra.to_string()
        };
        let q = authorize_error(&authorize_url(&env, APP, &extra)).await;
        assert_eq!(q["error"], error, "{extra}: {q:?}");
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["iss"], format!("{}/pools/{POOL}", env.base));
        assert!(!q["error_description"].is_empty());
    }
    let plain = authorize_error(&authorize_url(
        &env,
        APP,
        &pkce(VERIFIER).replace("S256", "plain"),
    ))
    .await;
    assert!(plain["error_description"].contains("plain"), "{plain:?}");
    let no_pkce = authorize_error(&authorize_url(&env, APP, "")).await;
    assert!(
        no_pkce["error_description"].contains("public client"),
        "{no_pkce:?}"
    );
    let head = reqwest::Client::new()
        .head(authorize_url(&env, APP, &pkce(VERIFIER)))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 405, "a prefetch starts nothing");
    assert_eq!(
        counts(&env).await.2,
        0,
        "no attempt was recorded for a refused request"
    );
}

#[tokio::test]
async fn a_declined_consent_goes_back_as_access_denied_with_the_state() {
    let env = spawn().await;
    let b = Browser::new();
    let req = b
        .start(&env, &authorize_url(&env, APP, &pkce(VERIFIER)))
        .await;
    let callback = b.decide(&env, &req, None).await;
    let r = b.get(&callback).await;
    assert_eq!(r.status(), 302);
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-1");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn the_token_endpoint_refuses_every_mismatch() {
    let env = confidential().await;
    let uri = redirect_uri();
    let basic = Some((APP, SECRET));
    let error = |b: &Value| b["error"].as_str().unwrap().to_owned();

    // A reused code: the first redeem works, the second is invalid_grant.
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    let (status, _, _) = token(&env, basic, &grant(&q["code"], &uri)).await;
    assert_eq!(status, 200);
    let (status, headers, body) = token(&env, basic, &grant(&q["code"], &uri)).await;
    assert_eq!(
        (status, error(&body).as_str()),
        (400, "invalid_grant"),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    assert_eq!(headers["cache-control"], "no-store");

    // A wrong verifier, and none for a code issued with a challenge.
    let q = code_for(&env, &authorize_url(&env, APP, &pkce(VERIFIER)), "alice").await;
    let mut form = grant(&q["code"], &uri);
    let wrong = VERIFIER.replace('d', "e");
    form.push(("code_verifier", &wrong));
    let (status, _, body) = token(&env, basic, &form).await;
    assert_eq!(
        (status, error(&body).as_str()),
        (400, "invalid_grant"),
        "{body}"
    );
    let (_, _, body) = token(&env, basic, &grant(&q["code"], &uri)).await;
    assert_eq!(
        error(&body),
        "invalid_grant",
        "the code is spent by the first try"
    );
    let q = code_for(&env, &authorize_url(&env, APP, &pkce(VERIFIER)), "alice").await;
    let (_, _, body) = token(&env, basic, &grant(&q["code"], &uri)).await;
    assert_eq!(
        error(&body),
        "invalid_grant",
        "a challenge without a verifier: {body}"
    );

    // Another client's code: app-no-conn (public) presents app-a's code.
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    let mut form = grant(&q["code"], &uri);
    form.push(("client_id", "app-no-conn"));
    let (status, _, body) = token(&env, None, &form).await;
    assert_eq!(
        (status, error(&body).as_str()),
        (400, "invalid_grant"),
        "{body}"
    );

    // A redirect URI other than the authorization request's.
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    let other = format!("{uri}/other");
    let (status, _, body) = token(&env, basic, &grant(&q["code"], &other)).await;
    assert_eq!(
        (status, error(&body).as_str()),
        (400, "invalid_grant"),
        "{body}"
    );

    // An expired code (codes live 60 s).
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    env.clock.advance(61);
    let (status, _, body) = token(&env, basic, &grant(&q["code"], &uri)).await;
    assert_eq!(
        (status, error(&body).as_str()),
        (400, "invalid_grant"),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // A wrong secret, no secret, an unknown client: 401 invalid_client with a Basic challenge.
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    for (basic, extra) in [
        (Some((APP, "wrong-secret")), vec![]),
        (None, vec![("client_id", APP)]),
        (Some(("no-such-app", SECRET)), vec![]),
    ] {
        let mut form = grant(&q["code"], &uri);
        form.extend(extra);
        let (status, headers, body) = token(&env, basic, &form).await;
        assert_eq!(
            (status, error(&body).as_str()),
            (401, "invalid_client"),
            "{body}"
        );
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
    }
    // None of those spent the code: the client's own request still works.
    let (status, _, body) = token(&env, basic, &grant(&q["code"], &uri)).await;
    assert_eq!(status, 200, "{body}");

    // A code of this pool presented at another pool (pool-b has an app of the same id).
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    let r = reqwest::Client::new()
        .post(format!("{}/pools/pool-b/oidc/token", env.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", uri.as_str()),
            ("client_id", APP),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error(&body), "invalid_grant", "{body}");

    // Not a form.
    let r = reqwest::Client::new()
        .post(format!("{}/pools/{POOL}/oidc/token", env.base))
        .basic_auth(APP, Some(SECRET))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // A grant type we do not offer.
    let (status, _, body) = token(&env, basic, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, error(&body).as_str()),
        (400, "unsupported_grant_type")
    );
}

/// Issue 21.6 with a confidential app: the widget's tab holds no secret, so it names the app
/// alone and proves its login with the PKCE verifier; that redeems a widget's code (the result
/// message, no access token) and only that: the same app's OpenID Connect code needs the secret,
/// and a try without it does not spend the code.
#[tokio::test]
async fn the_token_endpoint_redeems_a_widget_code_without_the_secret_only() {
    let env = confidential().await;
    let uri = redirect_uri();
    let attempt = attempt_id();
    let widget = format!(
        "{}/connection/social/{CONN}/{POOL}/authorize?app_id={APP}&attempt={attempt}&mode=redirect&redirect_uri={}&code_challenge={}",
        env.base,
        enc(&uri),
        challenge(VERIFIER)
    );
    let b = Browser::new();
    let req = b.start(&env, &widget).await;
    let callback = b.decide(&env, &req, Some("alice")).await;
    let back = location(&b.get(&callback).await);
    let fragment: HashMap<String, String> =
        form_urlencoded::parse(back.split_once('#').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let mut form = grant(&fragment["code"], &uri);
    form.extend([("client_id", APP), ("code_verifier", VERIFIER)]);
    let (status, _, m) = token(&env, None, &form).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["type"], &m["attempt"]),
        (
            &Value::from("milogin:result"),
            &Value::from(attempt.as_str())
        )
    );
    assert_eq!(m["user"]["new_user"], true, "{m}");
    assert!(
        m.get("access_token").is_none(),
        "a widget's code gets no access token: {m}"
    );
    verify(&env, POOL, m["id_token"].as_str().unwrap(), APP).await;

    // The app's OpenID Connect code, presented the widget's way: refused, and not spent.
    let q = code_for(&env, &authorize_url(&env, APP, &pkce(VERIFIER)), "alice").await;
    let mut form = grant(&q["code"], &uri);
    form.extend([("client_id", APP), ("code_verifier", VERIFIER)]);
    let (status, _, body) = token(&env, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "invalid_client"),
        "{body}"
    );
    let mut form = grant(&q["code"], &uri);
    form.push(("code_verifier", VERIFIER));
    let (status, _, body) = token(&env, Some((APP, SECRET)), &form).await;
    assert_eq!(status, 200, "the client's own request still works: {body}");
    assert!(body["access_token"].is_string(), "{body}");
}

#[tokio::test]
async fn a_public_client_cannot_skip_pkce_at_the_token_endpoint_nor_add_a_verifier_later() {
    // A code issued to the confidential client without a challenge: a verifier sent with it is
    // refused (an injected code of a flow without PKCE, RFC 9700 §2.1.1).
    let env = confidential().await;
    let uri = redirect_uri();
    let q = code_for(&env, &authorize_url(&env, APP, ""), "alice").await;
    let mut form = grant(&q["code"], &uri);
    form.push(("code_verifier", VERIFIER));
    let (status, _, body) = token(&env, Some((APP, SECRET)), &form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn with_several_connections_the_person_picks_one_and_the_login_goes_on() {
    let env = spawn_with(Options {
        more_connections: vec!["xiaomi-2"],
        ..Default::default()
    })
    .await;
    let b = Browser::new();
    let r = b.get(&authorize_url(&env, APP, &pkce(VERIFIER))).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("Xiaomi (second app)"), "{page}");
    let link = between(&page, "href=\"", "\"")
        .unwrap()
        .replace("&amp;", "&");
    assert!(link.ends_with("&connection=xiaomi"), "{link}");
    let url = format!("{}/pools/{POOL}/oidc/authorize{link}", env.base);
    let q = code_for(&env, &url, "alice").await;
    assert_eq!(q["state"], "st-1");
    let uri = redirect_uri();
    let mut form = grant(&q["code"], &uri);
    form.extend([("client_id", APP), ("code_verifier", VERIFIER)]);
    let (status, _, body) = token(&env, None, &form).await;
    assert_eq!(status, 200, "{body}");
    let id = verify(&env, POOL, body["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(id["idp"], CONN);
}

/// The page an OpenID Connect login reached after consent (a binding page, or a redirect).
async fn after_consent(env: &Env, b: &Browser, url: &str, account: &str) -> reqwest::Response {
    let req = b.start(env, url).await;
    let callback = b.decide(env, &req, Some(account)).await;
    b.get(&callback).await
}

#[tokio::test]
async fn the_binding_step_runs_inside_an_oidc_login_and_ends_in_a_code_for_the_bound_user() {
    let env = spawn_with(Options {
        association: Association::QueryBinding,
        ..Default::default()
    })
    .await;
    let password = "a long enough password 123";
    let ann = create_local(
        &env,
        Local {
            username: Some("ann"),
            password: Some(password),
            ..Local::default()
        },
    )
    .await;
    let b = Browser::new();
    let r = after_consent(
        &env,
        &b,
        &authorize_url(&env, APP, &pkce(VERIFIER)),
        "alice",
    )
    .await;
    assert_eq!(r.status(), 200, "the binding page");
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"milogin-bind\""), "{html}");
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").unwrap();
    let action = between(&html, "action=\"", "\"").unwrap();
    let r = b
        .http
        .post(&action)
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier", "ann"),
            ("password", password),
            ("action", "bind"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let q = query_of(&location(&r));
    assert_eq!(q["state"], "st-1");
    let uri = redirect_uri();
    let mut form = grant(&q["code"], &uri);
    form.extend([("client_id", APP), ("code_verifier", VERIFIER)]);
    let (status, _, body) = token(&env, None, &form).await;
    assert_eq!(status, 200, "{body}");
    let id = verify(&env, POOL, body["id_token"].as_str().unwrap(), APP).await;
    assert_eq!(
        id["sub"],
        ann.id.as_str(),
        "the code is for the user the password proved"
    );
}

#[tokio::test]
async fn login_only_refuses_an_unknown_user_back_to_the_client_as_access_denied() {
    let env = spawn_with(Options {
        login_mode: LoginMode::LoginOnly,
        ..Default::default()
    })
    .await;
    let b = Browser::new();
    let r = after_consent(
        &env,
        &b,
        &authorize_url(&env, APP, &pkce(VERIFIER)),
        "alice",
    )
    .await;
    assert_eq!(r.status(), 302);
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert_eq!(q["state"], "st-1");
    assert_eq!(counts(&env).await.0, 0, "nobody was created");
}

/// Runs the relying party `script` of `tests/oidc-rp/` (built on the npm package `package`)
/// against `env` as `APP` (with `secret`: a confidential client) with `redirect_uri`, logging in
/// as the mock's alice, and returns the JSON line it printed. Bounded: killed after 60 s.
async fn node_rp(
    env: &Env,
    script: &str,
    package: &str,
    secret: Option<&str>,
    redirect_uri: &str,
) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("../node_modules").join(package).is_dir(),
        "{package} is not installed: run `npm ci` at the repository root (cargo xtask build-widget does)"
    );
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(root.join("oidc-rp").join(script))
        .env("ISSUER", format!("{}/pools/{POOL}", env.base))
        .env("CLIENT_ID", APP)
        .env("REDIRECT_URI", redirect_uri)
        .env("ACCOUNT", "alice")
        .kill_on_drop(true);
    if let Some(s) = secret {
        cmd.env("CLIENT_SECRET", s);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the relying party finishes within 60 s")
        .expect("node runs (install Node.js ≥ 18)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} ({package}) failed: {stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// Runs `tests/oidc-rp/rp.mjs` (openid-client, an OpenID-certified relying party): the id_token
/// claims the library validated and the userinfo answer.
async fn openid_client(env: &Env, secret: Option<&str>) -> Value {
    node_rp(env, "rp.mjs", "openid-client", secret, &redirect_uri()).await
}

fn assert_logged_in(env: &Env, r: &Value) {
    let claims = &r["claims"];
    assert_eq!(claims["iss"], format!("{}/pools/{POOL}", env.base));
    assert_eq!(claims["aud"], APP);
    assert_eq!(claims["azp"], APP);
    assert!(claims["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(claims["auth_time"].as_i64().is_some());
    assert_eq!(r["userinfo"]["sub"], claims["sub"]);
    assert_eq!(r["userinfo"]["aud"], APP);
    assert_eq!(r["scope"], "openid profile");
}

#[tokio::test]
async fn openid_client_logs_in_as_a_confidential_client() {
    let env = confidential().await;
    let r = openid_client(&env, Some(SECRET)).await;
    assert_logged_in(&env, &r);
}

#[tokio::test]
async fn openid_client_logs_in_as_a_public_client() {
    let env = spawn().await;
    let r = openid_client(&env, None).await;
    assert_logged_in(&env, &r);
}

/// Auth.js's callback URL in `tests/oidc-rp/authjs.mjs` (Next.js's base path `/api/auth`, the
/// README's provider id `milogin`).
fn authjs_callback() -> String {
    format!("{ORIGIN}/api/auth/callback/milogin")
}

/// README.md's Auth.js snippet (the ```ts block after "Auth.js (`auth.ts`"), each line as
/// `tests/oidc-rp/authjs.mjs` must have it: the issuer and the client from the environment.
fn readme_authjs_lines() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let after = &readme[readme
        .find("Auth.js (`auth.ts`")
        .expect("README has the Auth.js snippet")..];
    let block = between(after, "```ts\n", "```").expect("the snippet is a ```ts block");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l {
            l if l.starts_with("issuer:") => "issuer: ISSUER,".to_owned(),
            l if l.starts_with("clientId:") => {
                "clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,".to_owned()
            }
            l => l.to_owned(),
        })
        .collect()
}

/// Auth.js (`@auth/core`) configured as README.md's snippet says (checked line by line), as a confidential client whose
/// redirect URI is Auth.js's callback: the session it ends with is milogin's user — the mock
/// account's nickname, milogin's `sub` as the id, the avatar as the image, no email (milogin
/// has no email claim). The script exits non-zero when Auth.js ends without a session user.
#[tokio::test]
async fn authjs_logs_in_with_the_readme_configuration() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("oidc-rp/authjs.mjs")).unwrap();
    let lines = readme_authjs_lines();
    assert!(lines.len() >= 8, "the snippet: {lines:?}");
    for line in &lines {
        assert!(
            script.lines().any(|l| l.trim() == line),
            "README.md's Auth.js line `{line}` is not in tests/oidc-rp/authjs.mjs"
        );
    }
    let env = spawn_with(Options {
        client_secret: Some(SECRET.into()),
        redirect_uris: vec![authjs_callback()],
        ..Default::default()
    })
    .await;
    let session = node_rp(
        &env,
        "authjs.mjs",
        "@auth/core",
        Some(SECRET),
        &authjs_callback(),
    )
    .await;
    let created = users(&env).await;
    assert_eq!(created.len(), 1, "the login created alice");
    let user = &session["user"];
    assert_eq!(user["name"], "Alice Wang", "{session}");
    assert_eq!(user["id"], created[0].user.id.as_str(), "{session}");
    assert_eq!(
        user["image"].as_str(),
        created[0].user.avatar.as_deref(),
        "{session}"
    );
    assert!(user.get("email").is_none(), "no email: {session}");
    assert!(session["expires"].as_str().is_some(), "{session}");
}

/// The Rust `openidconnect` crate as the relying party: discovery → PKCE, state, nonce → the
/// login through the mock's consent page → token (client authentication by the crate) → the
/// id_token verified by the crate against the JWKS → userinfo with the access token.
async fn openidconnect_login(env: &Env, secret: Option<&str>) -> (String, String) {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreUserInfoClaims,
    };
    use openidconnect::{
        AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
        OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(format!("{}/pools/{POOL}", env.base)).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(APP.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let q = code_for(env, url.as_str(), "alice").await;
    assert_eq!(&q["state"], state.secret());
    let tokens = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the token request");
    let id_token = tokens.id_token().expect("an id_token");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the id_token verifies");
    assert_eq!(claims.audiences()[0].as_str(), APP);
    assert!(claims.auth_time().is_some());
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("a userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    (
        claims.subject().as_str().to_owned(),
        info.subject().as_str().to_owned(),
    )
}

#[tokio::test]
async fn openidconnect_crate_logs_in_as_a_confidential_client() {
    let env = confidential().await;
    let (sub, info_sub) = openidconnect_login(&env, Some(SECRET)).await;
    assert_eq!(sub, info_sub);
}

#[tokio::test]
async fn openidconnect_crate_logs_in_as_a_public_client() {
    let env = spawn().await;
    let (sub, info_sub) = openidconnect_login(&env, None).await;
    assert_eq!(sub, info_sub);
}

#[tokio::test]
async fn the_token_endpoint_answers_cors_for_registered_origins_only() {
    let env = spawn().await;
    let url = format!("{}/pools/{POOL}/oidc/token", env.base);
    let http = reqwest::Client::new();
    let acao = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let r = preflight(ORIGIN).await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(acao(&r).as_deref(), Some(ORIGIN));
    assert_eq!(r.headers()["access-control-allow-methods"], "POST");
    let r = preflight("https://evil.example").await.unwrap();
    assert_eq!(acao(&r), None, "an unregistered origin reads nothing");

    // A public client in a page of its origin redeems its code and reads the answer.
    let q = code_for(&env, &authorize_url(&env, APP, &pkce(VERIFIER)), "alice").await;
    let uri = redirect_uri();
    let mut form = grant(&q["code"], &uri);
    form.extend([("client_id", APP), ("code_verifier", VERIFIER)]);
    let r = http
        .post(&url)
        .header("origin", ORIGIN)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(acao(&r).as_deref(), Some(ORIGIN));
    assert_eq!(r.headers()["vary"], "Origin");
    // The same (now spent) code from another origin: an error it cannot even read.
    let r = http
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(acao(&r), None);
}

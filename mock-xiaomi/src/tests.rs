//! Router tests of the mock: each request goes through `Mock::router` with `oneshot`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;
use url::Url;

use super::*;

const CALLBACK: &str = "http://127.0.0.1:8080/connection/social/xiaomi/demo-pool/callback";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    /// The token body as JSON, after the optional prefix.
    fn token_json(&self) -> Value {
        let text = self.body.trim_start();
        let text = text.strip_prefix("&&&START&&&").unwrap_or(text);
        serde_json::from_str(text.trim_start()).expect("token body is JSON")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("body is JSON")
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_default()
    }

    /// The query of the `Location` this reply redirects to.
    fn location_params(&self) -> HashMap<String, String> {
        assert_eq!(self.status, StatusCode::FOUND, "{}", self.body);
        let location = Url::parse(self.header(header::LOCATION)).unwrap();
        location.query_pairs().into_owned().collect()
    }
}

async fn send(mock: &Mock, request: Request<Body>) -> Reply {
    let response = mock.router().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn get(path: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    Request::get(format!("{path}?{}", encode(pairs)))
        .body(Body::empty())
        .unwrap()
}

fn post_form(path: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(encode(pairs)))
        .unwrap()
}

fn authorize(scope: &str, state: &str) -> Request<Body> {
    get(
        "/oauth2/authorize",
        &[
            ("client_id", DEMO_CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", scope),
            ("state", state),
            ("skip_confirm", "false"),
            ("device_id", "ignored"),
        ],
    )
}

/// The hidden `req` field of a consent page.
fn req_of(page: &str) -> String {
    let start = page.find("name=\"req\" value=\"").expect("req field") + 18;
    let len = page[start..].find('"').unwrap();
    page[start..start + len].to_owned()
}

/// Authorize as `account` with `scope` and return the code.
async fn code_for(mock: &Mock, account: &str, scope: &str) -> String {
    let page = send(mock, authorize(scope, "st")).await;
    let decision = post_form(
        "/oauth2/authorize/decision",
        &[("req", &req_of(&page.body)), ("account", account)],
    );
    send(mock, decision).await.location_params()["code"].clone()
}

fn exchange_pairs<'a>(code: &'a str, redirect_uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", redirect_uri),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("token_type", "mac"),
    ]
}

async fn exchange(mock: &Mock, code: &str) -> Reply {
    send(
        mock,
        post_form("/oauth2/token", &exchange_pairs(code, CALLBACK)),
    )
    .await
}

async fn access_token(mock: &Mock, account: &str, scope: &str) -> String {
    let code = code_for(mock, account, scope).await;
    let reply = exchange(mock, &code).await;
    reply.token_json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn api(path: &str, token: &str) -> Request<Body> {
    get(path, &[("clientId", DEMO_CLIENT_ID), ("token", token)])
}

fn assert_token_error(reply: &Reply, status: StatusCode, code: i64) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.body.starts_with("&&&START&&&{"), "{}", reply.body);
    assert_eq!(reply.token_json()["error"], code, "{}", reply.body);
}

#[tokio::test]
async fn happy_path_from_consent_page_to_open_api() {
    let mock = Mock::default();

    let page = send(&mock, authorize("1 3", "st-1")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(page.body.contains("<title>Xiaomi Account (mock)</title>"));
    for id in [
        "account-alice",
        "account-bob",
        "account-carol",
        "account-mallory",
        "deny",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(page.body.contains("action=\"/oauth2/authorize/decision\""));
    assert!(page.body.contains("1: your profile") && page.body.contains("3: your OpenID"));

    let decision = post_form(
        "/oauth2/authorize/decision",
        &[("req", &req_of(&page.body)), ("account", "alice")],
    );
    let redirect = send(&mock, decision).await;
    let location = redirect.header(header::LOCATION);
    assert!(
        location.starts_with(&format!("{CALLBACK}?code=")),
        "{location}"
    );
    let params = redirect.location_params();
    assert_eq!(params["state"], "st-1");
    let code = &params["code"];
    assert_eq!(code.len(), 32);
    assert!(code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));

    let reply = exchange(&mock, code).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.starts_with("&&&START&&&{"), "{}", reply.body);
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        "text/plain;charset=UTF-8"
    );
    let token = reply.token_json();
    let alice = &mock.config().accounts[0];
    assert_eq!(token["expires_in"], 7_776_000);
    assert_eq!(token["scope"], "1 3");
    assert_eq!(token["token_type"], "mac");
    assert_eq!(token["mac_algorithm"], "HmacSha1");
    assert_eq!(token["openId"], alice.open_id.as_str());
    assert_eq!(token["union_id"], alice.union_id.as_str());
    for key in ["access_token", "refresh_token", "mac_key"] {
        assert!(
            token[key].as_str().is_some_and(|value| value.len() >= 32),
            "{key}"
        );
    }
    let record = mock.last_token_request().unwrap();
    assert_eq!(record.method, "POST");
    assert_eq!(
        record.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(!record.client_secret_in_query);
    assert_eq!(record.redirect_uri.as_deref(), Some(CALLBACK));
    assert_eq!(record.client_id.as_deref(), Some(DEMO_CLIENT_ID));

    let access_token = token["access_token"].as_str().unwrap();
    let profile = send(&mock, api("/user/profile", access_token)).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(!profile.body.starts_with("&&&"));
    let profile = profile.json();
    assert_eq!(profile["result"], "ok");
    assert_eq!(profile["code"], 0);
    assert_eq!(profile["description"], "no error");
    assert_eq!(profile["data"]["miliaoNick"], "Alice Wang");
    assert_eq!(profile["data"]["miliaoIcon"], alice.avatar.as_str());
    assert!(profile["data"]["miliaoIcon_75"]
        .as_str()
        .unwrap()
        .ends_with("_75.jpg"));
    assert_eq!(profile["data"]["unionId"], alice.union_id.as_str());

    for path in ["/user/openidV2", "/user/openIdV2"] {
        let openid = send(&mock, api(path, access_token)).await.json();
        assert_eq!(openid["result"], "ok");
        assert_eq!(openid["data"]["openId"], alice.open_id.as_str());
    }

    // Scope 1 3 does not cover the phone and email.
    let refused = send(&mock, api("/user/phoneAndEmail", access_token)).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(refused.json()["result"], "error");
    assert_eq!(refused.json()["code"], 96005);

    assert_eq!(
        mock.calls(),
        Calls {
            authorize: 1,
            decision: 1,
            token: 1,
            profile: 1,
            openid: 2,
            phone_and_email: 1,
        }
    );
    mock.reset_calls();
    assert_eq!(mock.calls(), Calls::default());
}

#[tokio::test]
async fn phone_and_email_follow_the_granted_scope() {
    let mock = Mock::default();
    let token = access_token(&mock, "alice", "1 3 4 6").await;
    let data = send(&mock, api("/user/phoneAndEmail", &token)).await.json();
    assert_eq!(data["result"], "ok");
    assert_eq!(data["data"]["phone"], "+8613800138000");
    assert_eq!(data["data"]["email"], "alice@example.com");

    let token = access_token(&mock, "alice", "1 4").await;
    let data = send(&mock, api("/user/phoneAndEmail", &token)).await.json();
    assert_eq!(data["data"]["phone"], "+8613800138000");
    assert_eq!(data["data"]["email"], "");

    let token = access_token(&mock, "carol", "4 6").await;
    let data = send(&mock, api("/user/phoneAndEmail", &token)).await.json();
    assert_eq!(data["data"]["phone"], "");
    assert_eq!(data["data"]["email"], "");

    mock.set_faults(Faults {
        phone_email_refused: true,
        ..Faults::default()
    });
    let token = access_token(&mock, "alice", "1 4 6").await;
    let data = send(&mock, api("/user/phoneAndEmail", &token)).await.json();
    assert_eq!(data["result"], "error");

    // Hostile values for the field-matching tests; the scope still decides what is released.
    mock.set_faults(Faults {
        email_override: Some("a@x.com,victim@y.com".into()),
        phone_override: Some("+86 138-0013-8000".into()),
        ..Faults::default()
    });
    let token = access_token(&mock, "carol", "1 4").await;
    let data = send(&mock, api("/user/phoneAndEmail", &token)).await.json();
    assert_eq!(data["data"]["phone"], "+86 138-0013-8000");
    assert_eq!(data["data"]["email"], "");
}

#[tokio::test]
async fn consent_page_escapes_what_it_shows() {
    let mock = Mock::default();
    let hostile_uri = "http://127.0.0.1:8080/cb?x=\"><script>alert(2)</script>";
    let page = send(
        &mock,
        get(
            "/oauth2/authorize",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", hostile_uri),
                ("response_type", "code"),
                ("scope", "1 <b>x</b>"),
            ],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script"), "{}", page.body);
    assert!(!page.body.contains("<b>"));
    assert!(page
        .body
        .contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;Mallory&quot;"));
    assert!(page
        .header(header::CONTENT_SECURITY_POLICY)
        .contains("default-src 'none'"));
    assert!(page.headers.get("cross-origin-opener-policy").is_none());

    mock.set_faults(Faults {
        consent_coop: true,
        ..Faults::default()
    });
    let page = send(&mock, authorize("1", "s")).await;
    assert_eq!(
        page.header("cross-origin-opener-policy".parse().unwrap()),
        "same-origin"
    );
}

#[tokio::test]
async fn deny_redirects_with_96012_and_state() {
    let mock = Mock::default();
    let page = send(&mock, authorize("1 3", "st/deny&x")).await;
    let req = req_of(&page.body);
    let reply = send(
        &mock,
        post_form(
            "/oauth2/authorize/decision",
            &[("req", &req), ("decision", "deny")],
        ),
    )
    .await;
    assert_eq!(
        reply.header(header::LOCATION),
        format!("{CALLBACK}?error=96012&error_description=user%20denied&state=st%2Fdeny%26x")
    );
    // The request was answered once; a second answer is refused.
    let again = send(
        &mock,
        post_form(
            "/oauth2/authorize/decision",
            &[("req", &req), ("account", "alice")],
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    let unknown = send(
        &mock,
        post_form(
            "/oauth2/authorize/decision",
            &[("req", "nope"), ("account", "alice")],
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(mock.calls().decision, 3);
}

#[tokio::test]
async fn redirect_keeps_the_callback_query() {
    let mock = Mock::default();
    let callback = "http://127.0.0.1:8080/cb?pool=demo";
    let page = send(
        &mock,
        get(
            "/oauth2/authorize",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", callback),
                ("response_type", "code"),
            ],
        ),
    )
    .await;
    let reply = send(
        &mock,
        post_form(
            "/oauth2/authorize/decision",
            &[("req", &req_of(&page.body)), ("account", "bob")],
        ),
    )
    .await;
    let location = reply.header(header::LOCATION);
    assert!(
        location.starts_with("http://127.0.0.1:8080/cb?pool=demo&code="),
        "{location}"
    );
    assert!(!location.contains("state="));
    // The token request must repeat the redirect_uri exactly, query included.
    let code = &reply.location_params()["code"];
    let ok = send(
        &mock,
        post_form("/oauth2/token", &exchange_pairs(code, callback)),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.token_json()["scope"], "1 3");
}

#[tokio::test]
async fn authorize_rejects_bad_requests() {
    let mut config = MockConfig::default();
    config.clients[0].redirect_uris = vec!["http://127.0.0.1:8080/connection".to_owned()];
    let mock = Mock::new(config);

    let unknown = send(
        &mock,
        get(
            "/oauth2/authorize",
            &[
                ("client_id", "42"),
                ("redirect_uri", CALLBACK),
                ("response_type", "code"),
            ],
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.headers.get(header::LOCATION).is_none());
    assert!(unknown.body.contains("96001"));

    for bad in [
        "http://127.0.0.1:9999/connection",
        "https://evil.example/connection",
        "nonsense",
    ] {
        let reply = send(
            &mock,
            get(
                "/oauth2/authorize",
                &[
                    ("client_id", DEMO_CLIENT_ID),
                    ("redirect_uri", bad),
                    ("response_type", "code"),
                ],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.headers.get(header::LOCATION).is_none());
        assert!(reply.body.contains("96010"), "{bad}");
    }

    // A sub-path with any query is allowed.
    let ok = send(&mock, authorize("1", "s")).await;
    assert_eq!(ok.status, StatusCode::OK);

    let implicit = send(
        &mock,
        get(
            "/oauth2/authorize",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", CALLBACK),
                ("response_type", "token"),
                ("state", "s1"),
            ],
        ),
    )
    .await;
    let params = implicit.location_params();
    assert_eq!(params["error"], "96011");
    assert_eq!(params["state"], "s1");
    assert_eq!(mock.calls().authorize, 6);
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_the_redirect_uri() {
    let mock = Mock::default();
    let code = code_for(&mock, "alice", "1 3").await;
    assert_eq!(exchange(&mock, &code).await.status, StatusCode::OK);
    assert_token_error(
        &exchange(&mock, &code).await,
        StatusCode::BAD_REQUEST,
        96013,
    );
    assert_token_error(
        &exchange(&mock, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef").await,
        StatusCode::BAD_REQUEST,
        96013,
    );

    let code = code_for(&mock, "alice", "1 3").await;
    let other = format!("{CALLBACK}?x=1");
    let mismatch = send(
        &mock,
        post_form("/oauth2/token", &exchange_pairs(&code, &other)),
    )
    .await;
    assert_token_error(&mismatch, StatusCode::BAD_REQUEST, 96010);
    // The failed attempt consumed the code.
    assert_token_error(
        &exchange(&mock, &code).await,
        StatusCode::BAD_REQUEST,
        96013,
    );
}

#[tokio::test]
async fn codes_expire() {
    let mock = Mock::new(MockConfig {
        code_ttl: Duration::ZERO,
        ..MockConfig::default()
    });
    let code = mock.issue_code("alice", DEMO_CLIENT_ID, CALLBACK).unwrap();
    assert_token_error(
        &exchange(&mock, &code).await,
        StatusCode::BAD_REQUEST,
        96013,
    );
}

#[tokio::test]
async fn client_authentication_and_parameters() {
    let mock = Mock::default();
    let code = mock.issue_code("bob", DEMO_CLIENT_ID, CALLBACK).unwrap();

    let mut pairs = exchange_pairs(&code, CALLBACK);
    pairs[2] = ("client_secret", "wrong");
    let wrong = send(&mock, post_form("/oauth2/token", &pairs)).await;
    assert_token_error(&wrong, StatusCode::BAD_REQUEST, 96003);

    // The secret sent without URL-encoding: `+` arrives as a space.
    let raw = format!(
        "/oauth2/token?client_id={DEMO_CLIENT_ID}&redirect_uri={}&client_secret={DEMO_CLIENT_SECRET}\
         &grant_type=authorization_code&code={code}",
        encode(&[("", CALLBACK)]).trim_start_matches('=')
    );
    let unencoded = send(&mock, Request::get(raw).body(Body::empty()).unwrap()).await;
    assert_token_error(&unencoded, StatusCode::BAD_REQUEST, 96003);

    pairs[0] = ("client_id", "2882303761520999999");
    let unknown = send(&mock, post_form("/oauth2/token", &pairs)).await;
    assert_token_error(&unknown, StatusCode::BAD_REQUEST, 96001);

    let mut pairs = exchange_pairs(&code, CALLBACK);
    pairs[3] = ("grant_type", "password");
    let grant = send(&mock, post_form("/oauth2/token", &pairs)).await;
    assert_token_error(&grant, StatusCode::BAD_REQUEST, 96006);

    let missing = send(
        &mock,
        post_form("/oauth2/token", &exchange_pairs(&code, CALLBACK)[1..]),
    )
    .await;
    assert_token_error(&missing, StatusCode::BAD_REQUEST, 96002);
    let no_code = send(
        &mock,
        post_form("/oauth2/token", &exchange_pairs("", CALLBACK)),
    )
    .await;
    assert_token_error(&no_code, StatusCode::BAD_REQUEST, 96002);

    // None of the failures above consumed the code; the properly encoded secret works.
    let ok = exchange(&mock, &code).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        ok.token_json()["openId"],
        mock.config().accounts[1].open_id.as_str()
    );
    assert_eq!(mock.calls().token, 7);
}

#[tokio::test]
async fn token_by_get_query() {
    let mock = Mock::default();
    let code = mock.issue_code("carol", DEMO_CLIENT_ID, CALLBACK).unwrap();
    let reply = send(
        &mock,
        get("/oauth2/token", &exchange_pairs(&code, CALLBACK)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.starts_with("&&&START&&&{"));
    let record = mock.last_token_request().unwrap();
    assert_eq!(record.method, "GET");
    assert_eq!(record.content_type, None);
    assert!(record.client_secret_in_query);

    // POST with the secret in the URL is recorded as such too.
    let code = mock.issue_code("carol", DEMO_CLIENT_ID, CALLBACK).unwrap();
    let request = Request::post(format!(
        "/oauth2/token?{}",
        encode(&[("client_secret", DEMO_CLIENT_SECRET)])
    ))
    .header(
        header::CONTENT_TYPE,
        "application/x-www-form-urlencoded; charset=UTF-8",
    )
    .body(Body::from(encode(
        &exchange_pairs(&code, CALLBACK)
            .into_iter()
            .filter(|(name, _)| *name != "client_secret")
            .collect::<Vec<_>>(),
    )))
    .unwrap();
    let reply = send(&mock, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(mock.last_token_request().unwrap().client_secret_in_query);
}

#[tokio::test]
async fn refresh_rotates_tokens() {
    let mock = Mock::default();
    let code = mock.issue_code("alice", DEMO_CLIENT_ID, CALLBACK).unwrap();
    let first = exchange(&mock, &code).await.token_json();
    let refresh_token = first["refresh_token"].as_str().unwrap();
    let refresh = |token: &str| {
        post_form(
            "/oauth2/token",
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", CALLBACK),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
            ],
        )
    };
    let second = send(&mock, refresh(refresh_token)).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second = second.token_json();
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let profile = send(
        &mock,
        api("/user/profile", second["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(profile.json()["result"], "ok");

    assert_token_error(
        &send(&mock, refresh(refresh_token)).await,
        StatusCode::BAD_REQUEST,
        96009,
    );
    assert_token_error(
        &send(&mock, refresh("random")).await,
        StatusCode::BAD_REQUEST,
        96009,
    );
}

#[tokio::test]
async fn open_api_rejects_bad_tokens() {
    let mut config = MockConfig::default();
    config.clients.push(MockClient {
        client_id: "2882303761520000001".to_owned(),
        client_secret: "other".to_owned(),
        redirect_uris: Vec::new(),
    });
    let mock = Mock::new(config);
    let token = access_token(&mock, "alice", "1 3").await;

    let bogus = send(&mock, api("/user/profile", "bogus")).await;
    assert_eq!(bogus.status, StatusCode::OK);
    assert_eq!(
        bogus.json(),
        serde_json::json!({"result": "error", "description": "invalid token", "code": 96008})
    );
    let other_app = send(
        &mock,
        get(
            "/user/openidV2",
            &[("clientId", "2882303761520000001"), ("token", &token)],
        ),
    )
    .await;
    assert_eq!(other_app.json()["code"], 96012);
    let missing = send(&mock, get("/user/profile", &[("token", &token)])).await;
    assert_eq!(missing.json()["result"], "error");
}

#[tokio::test]
async fn issue_code_checks_its_arguments() {
    let mock = Mock::default();
    assert!(mock
        .issue_code("nobody", DEMO_CLIENT_ID, CALLBACK)
        .is_none());
    assert!(mock.issue_code("alice", "1", CALLBACK).is_none());
    assert!(mock
        .issue_code("alice", DEMO_CLIENT_ID, "not a url")
        .is_none());
    let code = mock
        .issue_code("mallory", DEMO_CLIENT_ID, CALLBACK)
        .unwrap();
    let token = exchange(&mock, &code).await.token_json();
    let profile = send(
        &mock,
        api("/user/profile", token["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        profile.json()["data"]["miliaoNick"],
        "<script>alert(1)</script> \"Mallory\""
    );
}

#[tokio::test]
async fn token_body_faults() {
    let mock = Mock::default();
    let with = |faults: Faults| {
        mock.set_faults(faults);
        mock.issue_code("alice", DEMO_CLIENT_ID, CALLBACK).unwrap()
    };

    let code = with(Faults {
        no_prefix: true,
        ..Faults::default()
    });
    let reply = exchange(&mock, &code).await;
    assert!(reply.body.starts_with("{\""), "{}", reply.body);
    assert_eq!(reply.token_json()["token_type"], "mac");

    let code = with(Faults {
        prefix_space: true,
        ..Faults::default()
    });
    assert!(exchange(&mock, &code)
        .await
        .body
        .starts_with("&&&START&&& {"));
    let code = with(Faults {
        prefix_newline: true,
        ..Faults::default()
    });
    assert!(exchange(&mock, &code)
        .await
        .body
        .starts_with("&&&START&&&\n{"));

    with(Faults {
        error_200: true,
        ..Faults::default()
    });
    assert_token_error(
        &exchange(&mock, "used-or-unknown").await,
        StatusCode::OK,
        96013,
    );

    let code = with(Faults {
        malformed: Some("&&&START&&&{\"access_tok".to_owned()),
        ..Faults::default()
    });
    let reply = exchange(&mock, &code).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "&&&START&&&{\"access_tok");
    // The exchange happened before the fault bent the answer.
    mock.set_faults(Faults::default());
    assert_token_error(
        &exchange(&mock, &code).await,
        StatusCode::BAD_REQUEST,
        96013,
    );

    for status in [500, 502, 503, 429] {
        let code = with(Faults {
            token_status: Some(status),
            ..Faults::default()
        });
        let reply = exchange(&mock, &code).await;
        assert_eq!(reply.status.as_u16(), status);
        assert!(reply.header(header::CONTENT_TYPE).starts_with("text/html"));
        assert!(reply.body.contains(&status.to_string()));
        assert_eq!(
            reply.headers.contains_key(header::RETRY_AFTER),
            matches!(status, 429 | 503)
        );
    }

    let code = with(Faults {
        stringify_numbers: true,
        omit_union_id: true,
        ..Faults::default()
    });
    let token = exchange(&mock, &code).await.token_json();
    assert_eq!(token["expires_in"], "7776000");
    assert!(token.get("union_id").is_none());
    assert_eq!(exchange(&mock, &code).await.token_json()["error"], "96013");

    let code = with(Faults {
        redirect_to: Some("https://evil.example/steal".to_owned()),
        ..Faults::default()
    });
    let reply = exchange(&mock, &code).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(reply.header(header::LOCATION), "https://evil.example/steal");

    let code = with(Faults {
        oversized: true,
        ..Faults::default()
    });
    let reply = exchange(&mock, &code).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.len() > 10 << 20);
    assert!(reply.body.starts_with("&&&START&&&{\"padding\":\"xxx"));
}

#[tokio::test]
async fn open_api_faults() {
    let mock = Mock::default();
    let token = access_token(&mock, "bob", "1 3").await;

    mock.set_faults(Faults {
        profile_error: Some(96008),
        profile_error_status: Some(403),
        ..Faults::default()
    });
    let reply = send(&mock, api("/user/profile", &token)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.json()["result"], "error");
    assert_eq!(reply.json()["code"], 96008);

    mock.set_faults(Faults {
        profile_error: Some(96012),
        ..Faults::default()
    });
    let reply = send(&mock, api("/user/profile", &token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["code"], 96012);

    mock.set_faults(Faults {
        profile_status: Some(502),
        ..Faults::default()
    });
    assert_eq!(
        send(&mock, api("/user/profile", &token)).await.status,
        StatusCode::BAD_GATEWAY
    );

    mock.set_faults(Faults {
        profile_malformed: Some("<html>oops".to_owned()),
        ..Faults::default()
    });
    assert_eq!(
        send(&mock, api("/user/profile", &token)).await.body,
        "<html>oops"
    );

    mock.set_faults(Faults {
        nickname_override: Some("\u{202e}evil".to_owned()),
        avatar_override: Some("javascript:alert(1)".to_owned()),
        stringify_numbers: true,
        ..Faults::default()
    });
    let profile = send(&mock, api("/user/profile", &token)).await.json();
    assert_eq!(profile["code"], "0");
    assert_eq!(profile["data"]["miliaoNick"], "\u{202e}evil");
    assert_eq!(profile["data"]["miliaoIcon"], "javascript:alert(1)");
    assert_eq!(profile["data"]["miliaoIcon_75"], "javascript:alert(1)");

    mock.set_faults(Faults {
        openid_key_lowercase: true,
        ..Faults::default()
    });
    let openid = send(&mock, api("/user/openidV2", &token)).await.json();
    assert_eq!(
        openid["data"]["openid"],
        mock.config().accounts[1].open_id.as_str()
    );
    assert!(openid["data"].get("openId").is_none());

    mock.set_faults(Faults {
        openid_override: Some("2.0someoneelse".to_owned()),
        ..Faults::default()
    });
    let openid = send(&mock, api("/user/openidV2", &token)).await.json();
    assert_eq!(openid["data"]["openId"], "2.0someoneelse");
}

#[tokio::test]
async fn latency_applies_to_api_responses() {
    let mock = Mock::default();
    mock.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = Instant::now();
    let reply = send(&mock, api("/user/profile", "bogus")).await;
    assert_eq!(reply.json()["code"], 96008);
    let reply = exchange(&mock, "bogus").await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, 96013);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn hang_consumes_the_code_and_is_dropped_with_the_request() {
    let mock = Mock::default();
    let code = mock.issue_code("alice", DEMO_CLIENT_ID, CALLBACK).unwrap();
    mock.set_faults(Faults {
        hang: true,
        ..Faults::default()
    });
    let request = post_form("/oauth2/token", &exchange_pairs(&code, CALLBACK));
    let pending = mock.router().oneshot(request);
    let timed_out = tokio::time::timeout(Duration::from_millis(200), pending).await;
    assert!(timed_out.is_err(), "the hang answered");
    // The timeout dropped the handler future, and with it the hold.
    assert_eq!(mock.held_requests(), 0);

    // The server side processed the exchange: a replay (the retry hazard) gets 96013.
    mock.set_faults(Faults::default());
    assert_token_error(
        &exchange(&mock, &code).await,
        StatusCode::BAD_REQUEST,
        96013,
    );
}

#[tokio::test]
async fn hang_and_drip_end_when_the_client_disconnects() {
    use tokio::io::AsyncWriteExt as _;

    for faults in [
        Faults {
            hang: true,
            ..Faults::default()
        },
        Faults {
            drip: true,
            ..Faults::default()
        },
    ] {
        let mock = Mock::default();
        mock.set_faults(faults.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(mock.clone().serve(listener));

        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /oauth2/token?code=x HTTP/1.1\r\nHost: mock\r\n\r\n")
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while mock.held_requests() == 0 {
            assert!(Instant::now() < deadline, "the request never arrived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(stream);
        while mock.held_requests() != 0 {
            assert!(Instant::now() < deadline, "{faults:?} outlived its client");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.abort();
    }
}

#[tokio::test]
async fn drip_sends_one_byte_per_second() {
    let mock = Mock::default();
    mock.set_faults(Faults {
        drip: true,
        malformed: Some("abc".to_owned()),
        ..Faults::default()
    });
    let started = Instant::now();
    let response = mock
        .router()
        .oneshot(get("/oauth2/token", &[]))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "headers come at once"
    );
    assert_eq!(mock.held_requests(), 1);
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert_eq!(&body[..], b"abc");
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(mock.held_requests(), 0);
}

#[tokio::test]
async fn admin_routes() {
    let mock = Mock::default();
    let faults = Faults {
        latency_ms: 5,
        token_status: Some(503),
        nickname_override: Some("x".to_owned()),
        ..Faults::default()
    };
    let put = Request::put("/_mock/faults")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_string(&faults).unwrap()))
        .unwrap();
    assert_eq!(send(&mock, put).await.status, StatusCode::OK);
    assert_eq!(mock.faults(), faults);
    let read = send(&mock, get("/_mock/faults", &[])).await;
    assert_eq!(serde_json::from_str::<Faults>(&read.body).unwrap(), faults);

    // Partial documents are fine (missing fields default); typos are refused.
    let partial = Request::put("/_mock/faults")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"no_prefix":true}"#))
        .unwrap();
    assert_eq!(send(&mock, partial).await.status, StatusCode::OK);
    assert!(mock.faults().no_prefix && mock.faults().token_status.is_none());
    let typo = Request::put("/_mock/faults")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"no_prefx":true}"#))
        .unwrap();
    assert!(send(&mock, typo).await.status.is_client_error());

    exchange(&mock, "x").await;
    let calls: Calls =
        serde_json::from_str(&send(&mock, get("/_mock/calls", &[])).await.body).unwrap();
    assert_eq!(calls.token, 1);

    let reset = Request::post("/_mock/reset").body(Body::empty()).unwrap();
    assert_eq!(send(&mock, reset).await.status, StatusCode::NO_CONTENT);
    assert_eq!(mock.calls(), Calls::default());
    assert_eq!(mock.faults(), Faults::default());
    assert!(mock.last_token_request().is_none());
}

#[test]
fn default_config_is_as_documented() {
    let config = MockConfig::default();
    assert_eq!(config.code_ttl, Duration::from_secs(600));
    assert_eq!(config.clients.len(), 1);
    assert_eq!(config.clients[0].client_id, "2882303761520000000");
    assert_eq!(config.clients[0].client_secret, "demo-secret+/=");
    assert!(config.clients[0].redirect_uris.is_empty());
    assert!(!format!("{:?}", config.clients[0]).contains("demo-secret"));
    let ids: Vec<&str> = config.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob", "carol", "mallory"]);
    for account in &config.accounts {
        assert!(account.open_id.starts_with("2.0"));
        assert_eq!(account.union_id.len(), 40);
        assert!(account
            .union_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(account
            .avatar
            .starts_with("https://cdn.cnbj1.fds.api.mi-img.com/"));
    }
    assert!(config.accounts.iter().any(|a| a.email.is_empty()));
    assert!(config.accounts.iter().any(|a| !a.email.is_empty()));
}

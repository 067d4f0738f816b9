//! Accounts over real HTTP: login mode × association (off, field_match, query_binding), the
//! binding step and its limits, and the security.md X-cases about linking and binding (X-50,
//! … ). Every test asserts the result message, the users and identities in
//! the database, and the calls the mock Xiaomi received.

use milogin_server::mock_xiaomi::{Calls, Faults, DEMO_CLIENT_ID};
use milogin_server::state::Clock;
use milogin_server::store::{Identity, UserWithIdentities};
use milogin_shared::{ErrorCode, Outcome, ResultMessage, UserInfo};
use milogin_tests::*;
use std::collections::BTreeMap;

const PW: &str = "correct horse battery";

fn ok_user(m: &ResultMessage) -> &UserInfo {
    match &m.outcome {
        Outcome::Success { user, .. } => user,
        Outcome::Failure(e) => panic!("expected success, got {e:?}"),
    }
}

fn err(m: &ResultMessage) -> (ErrorCode, String) {
    match &m.outcome {
        Outcome::Failure(e) => (e.code, e.message.clone()),
        Outcome::Success { .. } => panic!("expected an error result, got {m:?}"),
    }
}

fn opts(mode: LoginMode, association: Association) -> Options {
    Options {
        login_mode: mode,
        association,
        ..Options::default()
    }
}

/// Field matching on email (scope 6), optionally trusted.
fn email_match(mode: LoginMode, trusted: bool) -> Options {
    Options {
        match_fields: vec![MatchField::Email],
        scopes: vec![1, 3, 6],
        trust_xiaomi_email: trusted,
        ..opts(mode, Association::FieldMatch)
    }
}

fn calls(token: u64, profile: u64, phone_and_email: u64) -> Calls {
    // Every login here goes through the consent page once.
    Calls {
        authorize: token,
        decision: token,
        token,
        profile,
        openid: 0,
        phone_and_email,
    }
}

fn subject(env: &Env, account: &str) -> String {
    env.mock
        .config()
        .accounts
        .iter()
        .find(|a| a.id == account)
        .expect("mock account")
        .open_id
        .clone()
}

/// The identities (subjects) of each user, by user id.
fn bound(users: &[UserWithIdentities]) -> BTreeMap<String, Vec<String>> {
    users
        .iter()
        .map(|u| {
            (
                u.user.id.clone(),
                u.identities.iter().map(|i| i.subject.clone()).collect(),
            )
        })
        .collect()
}

fn map<const N: usize>(entries: [(String, Vec<String>); N]) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from(entries)
}

/// `(users, identities)` rows.
async fn rows(env: &Env) -> (i64, i64) {
    let (u, i, _) = counts(env).await;
    (u, i)
}

/// A binding page as the browser received it.
struct BindPage {
    browser: Browser,
    attempt: String,
    html: String,
    csrf: String,
    action: String,
    /// The ticket cookie's value (what only this browser holds).
    ticket: String,
}

impl BindPage {
    async fn post(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        post_form(&self.browser, &self.action, &self.csrf, fields).await
    }

    async fn bind(&self, identifier: &str, password: &str) -> reqwest::Response {
        self.post(&[
            ("identifier", identifier),
            ("password", password),
            ("action", "bind"),
        ])
        .await
    }
}

async fn post_form(
    b: &Browser,
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    b.http.post(action).form(&form).send().await.unwrap()
}

/// A popup login as `account` that must end on the binding page.
async fn bind_page(env: &Env, account: &str) -> BindPage {
    let browser = Browser::new();
    let attempt = attempt_id();
    let req = browser
        .start(env, &Browser::authorize_url(env, &attempt))
        .await;
    let cb = browser.decide(env, &req, Some(account)).await;
    let r = browser.get(&cb).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("milogin-result"),
        "a binding page, not a result: {html}"
    );
    assert!(html.contains("id=\"milogin-bind\""), "{html}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("form-action 'self'")
            && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    let cookie = h
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("milogin-bind-"))
        .expect("a ticket cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Max-Age=600")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").expect("csrf field");
    let action = between(&html, "action=\"", "\"").expect("form action");
    assert_eq!(
        action,
        format!("{}/connection/social/{CONN}/{POOL}/bind", env.base)
    );
    let ticket = between(&cookie, "=", ";").unwrap();
    BindPage {
        browser,
        attempt,
        html,
        csrf,
        action,
        ticket,
    }
}

/// A popup login as `account` that ends in a result.
async fn login_result(env: &Env, account: &str) -> ResultMessage {
    let r = Browser::new().login(env, account).await;
    assert_eq!(r.status(), 200);
    result_of(&r.text().await.unwrap())
}

async fn result_in(r: reqwest::Response) -> ResultMessage {
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert_eq!(target_of(&page), ORIGIN);
    result_of(&page)
}

/// A re-rendered form with the generic error.
async fn wrong(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(!html.contains("milogin-result"), "{html}");
    assert!(
        html.contains("id=\"milogin-bind-error\">Wrong account or password.</p>"),
        "{html}"
    );
    html
}

async fn refused(r: reqwest::Response) {
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("milogin-result"),
        "no result may be posted: {html}"
    );
}

async fn pre_bind(env: &Env, user_id: &str, account: &str) {
    let now = env.clock.now();
    let identity = Identity {
        connection: CONN.try_into().unwrap(),
        subject: subject(env, account),
        client_id: DEMO_CLIENT_ID.into(),
        union_id: None,
        created_at: now,
    };
    let link = env
        .state
        .store
        .link_identity(POOL, user_id, &identity, None, now)
        .await
        .unwrap();
    assert_eq!(link, milogin_server::store::Link::Linked);
}

fn ann() -> Local {
    named_pw("ann")
}

/// Ann with Xiaomi's email of alice, verified or not.
fn alice_email(email_verified: bool) -> Local {
    Local {
        email: Some("alice@example.com"),
        email_verified,
        ..ann()
    }
}

/// A local account with only a username (it cannot be proven).
fn named(username: &'static str) -> Local {
    Local {
        username: Some(username),
        ..Local::default()
    }
}

/// A local account with a username and the password [`PW`].
fn named_pw(username: &'static str) -> Local {
    Local {
        password: Some(PW),
        ..named(username)
    }
}

/// Disables the user (it was enabled).
async fn disable(env: &Env, user_id: &str) {
    assert!(env
        .state
        .store
        .set_disabled(POOL, user_id, true, env.clock.now())
        .await
        .unwrap());
}

/// `user unlink`: the user had one identity of the connection.
async fn unlink(env: &Env, user_id: &str) {
    assert_eq!(
        env.state
            .store
            .unlink_identity(POOL, user_id, CONN)
            .await
            .unwrap(),
        1
    );
}

/// The pool's users are exactly `expected`: each user id with the Xiaomi identity of the mock
/// account it is bound to, or none.
async fn assert_bound(env: &Env, expected: &[(&str, Option<&str>)]) {
    let want: BTreeMap<String, Vec<String>> = expected
        .iter()
        .map(|(id, account)| {
            let subjects = account.iter().map(|a| subject(env, a)).collect();
            (id.to_string(), subjects)
        })
        .collect();
    assert_eq!(bound(&users(env).await), want);
}

/// A success that logged in the existing user `user_id`.
fn returning(m: &ResultMessage, user_id: &str) {
    assert_eq!(
        (ok_user(m).id.as_str(), ok_user(m).new_user),
        (user_id, false)
    );
}

// ---------------------------------------------------------------------------------------------
// association = "off"

#[tokio::test]
async fn off_login_and_register_creates_once_and_a_disabled_user_is_refused() {
    // Item 5 (idempotency), X-53, user_disabled.
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::Off)).await;
    let first = login_result(&env, "alice").await;
    let u = ok_user(&first);
    assert!(u.new_user);
    let again = login_result(&env, "alice").await;
    returning(&again, &u.id);
    assert_bound(&env, &[(&u.id, Some("alice"))]).await;

    disable(&env, &u.id).await;
    let m = login_result(&env, "alice").await;
    assert_eq!(err(&m).0, ErrorCode::UserDisabled);
    assert_eq!(rows(&env).await, (1, 1));
    assert_eq!(
        env.mock.calls(),
        calls(3, 3, 0),
        "association off never asks for phone or email"
    );
}

#[tokio::test]
async fn off_login_only_refuses_unknown_users_and_logs_in_bound_ones() {
    // X-54, T-15; an operator-bound user logs in.
    let env = spawn_with(opts(LoginMode::LoginOnly, Association::Off)).await;
    create_local(&env, alice_email(true)).await;
    let m = login_result(&env, "alice").await;
    assert_eq!(err(&m).0, ErrorCode::UserNotFound);
    assert_eq!(rows(&env).await, (1, 0), "no user, no identity written");

    let bob = create_local(&env, named("bob")).await;
    pre_bind(&env, &bob.id, "bob").await;
    let m = login_result(&env, "bob").await;
    returning(&m, &bob.id);
    assert_eq!(rows(&env).await, (2, 1));
    assert_eq!(env.mock.calls(), calls(2, 2, 0));
}

// ---------------------------------------------------------------------------------------------
// association = "field_match"

#[tokio::test]
async fn field_match_links_a_verified_and_trusted_email_in_both_modes() {
    // X-55, X-53 (no re-matching on the next login), item 5.
    for mode in [LoginMode::LoginOnly, LoginMode::LoginAndRegister] {
        let env = spawn_with(email_match(mode, true)).await;
        let local = create_local(
            &env,
            Local {
                email: Some("Alice@Example.com"),
                email_verified: true,
                ..ann()
            },
        )
        .await;
        let m = login_result(&env, "alice").await;
        let u = ok_user(&m);
        assert_eq!(
            (u.id.as_str(), u.new_user),
            (local.id.as_str(), false),
            "{mode:?}"
        );
        assert_eq!(
            bound(&users(&env).await),
            map([(local.id.clone(), vec![subject(&env, "alice")])]),
            "{mode:?}"
        );
        assert_eq!(env.mock.calls(), calls(1, 1, 1), "{mode:?}");

        let m = login_result(&env, "alice").await;
        assert_eq!(ok_user(&m).id, local.id, "{mode:?}");
        assert_eq!(
            env.mock.calls(),
            calls(2, 2, 1),
            "{mode:?}: a bound identity is not matched again"
        );
        assert_eq!(rows(&env).await, (1, 1), "{mode:?}");
    }
}

#[tokio::test]
async fn field_match_on_phone_normalises_both_sides() {
    // spaces, dashes, +86 on either side compare equal.
    let env = spawn_with(Options {
        match_fields: vec![MatchField::Phone],
        scopes: vec![1, 3, 4],
        trust_xiaomi_phone: true,
        ..opts(LoginMode::LoginOnly, Association::FieldMatch)
    })
    .await;
    env.mock.set_faults(Faults {
        phone_override: Some("+86 139-0013-9000".into()),
        ..Faults::default()
    });
    let local = create_local(
        &env,
        Local {
            phone: Some("139 0013 9000"),
            phone_verified: true,
            ..ann()
        },
    )
    .await;
    assert_eq!(local.phone.as_deref(), Some("+8613900139000"));
    let m = login_result(&env, "bob").await;
    assert_eq!(ok_user(&m).id, local.id);
    assert_bound(&env, &[(&local.id, Some("bob"))]).await;
    assert_eq!(env.mock.calls(), calls(1, 1, 1));
}

#[tokio::test]
async fn an_unverified_local_email_is_never_linked_automatically() {
    // X-56, T-13 (pre-account takeover): the attacker pre-registered the victim's email with a
    // password they know. The victim's Xiaomi login must not land in that account.
    let env = spawn_with(email_match(LoginMode::LoginAndRegister, true)).await;
    let attacker = create_local(
        &env,
        Local {
            email: Some("alice@example.com"),
            ..named_pw("mallory")
        },
    )
    .await;
    let page = bind_page(&env, "alice").await;
    assert!(
        page.html.contains("may already exist") && page.html.contains("value=\"create\""),
        "{}",
        page.html
    );
    assert_eq!(
        rows(&env).await,
        (1, 0),
        "nothing bound while the page is shown"
    );

    // The victim creates a new account instead: the attacker's account stays unbound.
    let m = result_in(page.post(&[("action", "create")]).await).await;
    let u = ok_user(&m);
    assert!(u.new_user);
    assert_eq!(m.attempt, page.attempt);
    assert_ne!(u.id, attacker.id);
    assert_bound(&env, &[(&attacker.id, None), (&u.id, Some("alice"))]).await;
    assert_eq!(env.mock.calls(), calls(1, 1, 1));
}

#[tokio::test]
async fn an_unverified_match_in_login_only_mode_needs_a_password_or_is_binding_required() {
    // X-56 in login-only mode: no "create" button; without any provable account: binding_required.
    let env = spawn_with(email_match(LoginMode::LoginOnly, true)).await;
    let local = create_local(&env, alice_email(false)).await;
    let page = bind_page(&env, "alice").await;
    assert!(!page.html.contains("value=\"create\""));
    let m = result_in(page.post(&[("action", "cancel")]).await).await;
    assert_eq!(err(&m).0, ErrorCode::UserNotFound);
    assert_eq!(rows(&env).await, (1, 0));

    // The same person proves the account: linked.
    let page = bind_page(&env, "alice").await;
    let m = result_in(page.bind("ann", PW).await).await;
    assert_eq!(ok_user(&m).id, local.id);
    assert_eq!(rows(&env).await, (1, 1));

    // A match nobody can prove (no password) in login-only mode: binding_required, nothing written.
    let env = spawn_with(email_match(LoginMode::LoginOnly, true)).await;
    create_local(
        &env,
        Local {
            email: Some("alice@example.com"),
            ..Local::default()
        },
    )
    .await;
    let m = login_result(&env, "alice").await;
    assert_eq!(err(&m).0, ErrorCode::BindingRequired);
    assert_eq!(rows(&env).await, (1, 0));
    assert_eq!(env.mock.calls(), calls(1, 1, 1));
}

#[tokio::test]
async fn an_untrusted_xiaomi_email_is_not_linked_until_the_password_is_proven() {
    // X-57 (default: Xiaomi's email untrusted), then X-60 through the field-match fallback.
    let env = spawn_with(email_match(LoginMode::LoginAndRegister, false)).await;
    let local = create_local(&env, alice_email(true)).await;
    let page = bind_page(&env, "alice").await;
    assert_eq!(rows(&env).await, (1, 0));
    let m = result_in(page.bind("alice@example.com", PW).await).await;
    returning(&m, &local.id);
    assert_bound(&env, &[(&local.id, Some("alice"))]).await;
    assert_eq!(env.mock.calls(), calls(1, 1, 1));
}

#[tokio::test]
async fn two_matching_users_are_never_picked() {
    // Xiaomi's email matches one user and its phone another; both verified and trusted.
    let o = Options {
        match_fields: vec![MatchField::Email, MatchField::Phone],
        scopes: vec![1, 3, 4, 6],
        trust_xiaomi_email: true,
        trust_xiaomi_phone: true,
        ..opts(LoginMode::LoginOnly, Association::FieldMatch)
    };
    let env = spawn_with(o.clone()).await;
    create_local(
        &env,
        Local {
            email: Some("alice@example.com"),
            email_verified: true,
            ..named("a1")
        },
    )
    .await;
    create_local(
        &env,
        Local {
            phone: Some("+8613800138000"),
            phone_verified: true,
            ..named("a2")
        },
    )
    .await;
    let m = login_result(&env, "alice").await;
    assert_eq!(
        err(&m).0,
        ErrorCode::BindingRequired,
        "neither can be proven: refused, nothing picked"
    );
    assert_eq!(rows(&env).await, (2, 0));
    assert_eq!(env.mock.calls(), calls(1, 1, 1));

    // With passwords, the binding step decides; still nothing is linked automatically.
    let env = spawn_with(o).await;
    create_local(
        &env,
        Local {
            email: Some("alice@example.com"),
            email_verified: true,
            ..named_pw("a1")
        },
    )
    .await;
    let a2 = create_local(
        &env,
        Local {
            phone: Some("+8613800138000"),
            phone_verified: true,
            ..named_pw("a2")
        },
    )
    .await;
    let page = bind_page(&env, "alice").await;
    assert_eq!(rows(&env).await, (2, 0));
    let m = result_in(page.bind("+86 138 0013 8000", PW).await).await;
    assert_eq!(ok_user(&m).id, a2.id);
    assert_eq!(rows(&env).await, (2, 1));
}

#[tokio::test]
async fn a_disabled_matched_user_is_not_linked() {
    //
    let env = spawn_with(email_match(LoginMode::LoginOnly, true)).await;
    let local = create_local(&env, alice_email(true)).await;
    disable(&env, &local.id).await;
    let m = login_result(&env, "alice").await;
    assert_eq!(err(&m).0, ErrorCode::BindingRequired);
    assert_eq!(rows(&env).await, (1, 0));

    // In login-and-register mode the page is shown; proving the disabled account ends in user_disabled.
    let env = spawn_with(email_match(LoginMode::LoginAndRegister, true)).await;
    let local = create_local(&env, alice_email(true)).await;
    disable(&env, &local.id).await;
    let page = bind_page(&env, "alice").await;
    let m = result_in(page.bind("ann", PW).await).await;
    assert_eq!(err(&m).0, ErrorCode::UserDisabled);
    assert_eq!(rows(&env).await, (1, 0));
    assert_eq!(env.mock.calls(), calls(1, 1, 1));
}

#[tokio::test]
async fn empty_and_hostile_xiaomi_values_never_match() {
    // Xiaomi's "" next to local users without email; X-51: lists and confusables.
    let env = spawn_with(Options {
        match_fields: vec![MatchField::Email, MatchField::Phone],
        scopes: vec![1, 3, 4, 6],
        trust_xiaomi_email: true,
        trust_xiaomi_phone: true,
        ..opts(LoginMode::LoginOnly, Association::FieldMatch)
    })
    .await;
    create_local(&env, named_pw("noemail")).await;
    let victim = create_local(
        &env,
        Local {
            email: Some("victim@y.com"),
            email_verified: true,
            ..named_pw("victim")
        },
    )
    .await;
    let m = login_result(&env, "carol").await; // carol has neither email nor phone: Xiaomi sends ""
    assert_eq!(err(&m).0, ErrorCode::UserNotFound);
    for hostile in [
        "a@x.com,victim@y.com",
        "victim@y.com victim@y.com",
        "vіctim@y.com",
        "<victim@y.com>",
        "victim@y.com\u{0}",
    ] {
        env.mock.set_faults(Faults {
            email_override: Some(hostile.into()),
            phone_override: Some("".into()),
            ..Faults::default()
        });
        let m = login_result(&env, "alice").await;
        assert_eq!(err(&m).0, ErrorCode::UserNotFound, "{hostile:?}");
    }
    assert_eq!(rows(&env).await, (2, 0));
    assert_eq!(env.mock.calls(), calls(6, 6, 6));

    // Case and surrounding spaces are normalised away: a real match.
    env.mock.set_faults(Faults {
        email_override: Some("  VICTIM@Y.COM ".into()),
        ..Faults::default()
    });
    let m = login_result(&env, "alice").await;
    assert_eq!(ok_user(&m).id, victim.id);
    assert_eq!(rows(&env).await, (2, 1));
}

#[tokio::test]
async fn field_matching_is_skipped_when_xiaomi_refuses_or_the_scope_is_missing() {
    let env = spawn_with(email_match(LoginMode::LoginAndRegister, true)).await;
    create_local(&env, alice_email(true)).await;
    env.mock.set_faults(Faults {
        phone_email_refused: true,
        ..Faults::default()
    });
    let m = login_result(&env, "alice").await;
    assert!(ok_user(&m).new_user, "no values, no match: a new user");
    assert_eq!(rows(&env).await, (2, 1));
    assert_eq!(env.mock.calls(), calls(1, 1, 1));

    // Scope 6 not configured: the call is not even made.
    let env = spawn_with(Options {
        scopes: vec![1, 3],
        ..email_match(LoginMode::LoginOnly, true)
    })
    .await;
    create_local(&env, alice_email(true)).await;
    let m = login_result(&env, "alice").await;
    assert_eq!(err(&m).0, ErrorCode::UserNotFound);
    assert_eq!(rows(&env).await, (1, 0));
    assert_eq!(env.mock.calls(), calls(1, 1, 0));
}

#[tokio::test]
async fn a_field_match_with_no_candidate_follows_the_login_mode() {
    // X-54 with field matching: no user has Xiaomi's email.
    let env = spawn_with(email_match(LoginMode::LoginOnly, true)).await;
    create_local(&env, ann()).await;
    assert_eq!(
        err(&login_result(&env, "alice").await).0,
        ErrorCode::UserNotFound
    );
    assert_eq!(rows(&env).await, (1, 0));
    let env = spawn_with(email_match(LoginMode::LoginAndRegister, true)).await;
    assert!(ok_user(&login_result(&env, "alice").await).new_user);
    assert_eq!(rows(&env).await, (1, 1));
    assert_eq!(env.mock.calls(), calls(1, 1, 1));
}

// ---------------------------------------------------------------------------------------------
// association = "query_binding"

#[tokio::test]
async fn query_binding_with_the_right_password_links_exactly_that_account() {
    // X-60, X-63 (replay after success), X-53 / item 5 (the next login goes straight in).
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let local = create_local(&env, ann()).await;
    let page = bind_page(&env, "alice").await;
    assert!(
        page.html.contains("Link your Xiaomi account")
            && page.html.contains("Alice Wang")
            && !page.html.contains("may already exist")
    );
    assert_eq!(rows(&env).await, (1, 0));
    let r = page.bind("ann", PW).await;
    let cleared = r.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("milogin-bind-")
            && c.to_str().unwrap().contains("Max-Age=0")
    });
    assert!(cleared, "the ticket cookie is dropped");
    let m = result_in(r).await;
    assert_eq!(m.attempt, page.attempt);
    let u = ok_user(&m);
    assert_eq!(
        (u.id.as_str(), u.new_user, u.connection.as_str()),
        (local.id.as_str(), false, CONN)
    );
    let Outcome::Success { id_token, .. } = &m.outcome else {
        unreachable!()
    };
    assert_eq!(
        verify(&env, POOL, id_token, APP).await["sub"],
        local.id.as_str()
    );
    assert_bound(&env, &[(&local.id, Some("alice"))]).await;

    refused(page.bind("ann", PW).await).await;
    assert_eq!(rows(&env).await, (1, 1));

    let m = login_result(&env, "alice").await;
    returning(&m, &local.id);
    assert_eq!(rows(&env).await, (1, 1));
    assert_eq!(
        env.mock.calls(),
        calls(2, 2, 0),
        "query binding never asks Xiaomi for phone or email"
    );
}

#[tokio::test]
async fn the_identifier_may_be_a_username_email_or_phone_in_any_spelling() {
    let env = spawn_with(opts(LoginMode::LoginOnly, Association::QueryBinding)).await;
    let local = create_local(
        &env,
        Local {
            email: Some("ann@example.com"),
            phone: Some("+8613700137000"),
            ..named_pw("ann")
        },
    )
    .await;
    for (account, identifier) in [
        ("alice", " ANN@Example.COM "),
        ("bob", "137 0013 7000"),
        ("carol", "Ann"),
    ] {
        let page = bind_page(&env, account).await;
        let m = result_in(page.bind(identifier, PW).await).await;
        assert_eq!(ok_user(&m).id, local.id, "{identifier}");
        // One Xiaomi identity per user and connection: unlink before the next one binds.
        unlink(&env, &local.id).await;
    }
    assert_eq!(rows(&env).await, (1, 0));
}

#[tokio::test]
async fn wrong_passwords_get_one_generic_answer_and_the_fifth_ends_the_login() {
    // X-61 (per ticket): unknown account, wrong password, empty fields.
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    create_local(&env, ann()).await;
    let page = bind_page(&env, "alice").await;
    let missing = page.bind("ann", "").await.text().await.unwrap();
    assert!(missing.contains("Enter your username"), "{missing}");
    let a = wrong(page.bind("ann", "wrong password").await).await;
    let b = wrong(page.bind("nobody", PW).await).await;
    let strip = |h: &str| {
        h.replace("value=\"ann\"", "")
            .replace("value=\"nobody\"", "")
    };
    let nonce = |h: &str| between(h, "nonce=\"", "\"").unwrap();
    assert_eq!(
        strip(&a).replace(&nonce(&a), ""),
        strip(&b).replace(&nonce(&b), ""),
        "unknown and known accounts read the same"
    );
    wrong(page.bind("nobody@example.com", PW).await).await;
    wrong(page.bind("+8613000000000", PW).await).await;
    let m = result_in(page.bind("ann", "wrong again").await).await;
    assert_eq!(m.attempt, page.attempt);
    assert_eq!(
        err(&m),
        (
            ErrorCode::BindingRequired,
            "Too many wrong passwords. Please start the login again from the site.".into()
        )
    );
    // The ticket is dead, even with the right password.
    refused(page.bind("ann", PW).await).await;
    assert_eq!(rows(&env).await, (1, 0));
    assert_eq!(env.mock.calls(), calls(1, 1, 0));
}

#[tokio::test]
async fn the_per_account_limit_spans_tickets_and_browsers() {
    // X-61 (per account): 10 failures in 15 minutes lock the account's password, silently.
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let local = create_local(&env, ann()).await;
    for _ in 0..2 {
        let page = bind_page(&env, "alice").await;
        for _ in 0..4 {
            wrong(page.bind("ann", "nope nope").await).await;
        }
        assert_eq!(
            err(&result_in(page.bind("ann", "nope nope").await).await).0,
            ErrorCode::BindingRequired
        );
    }
    let page = bind_page(&env, "alice").await;
    wrong(page.bind("ann", PW).await).await; // locked: the right password reads as wrong
    assert_eq!(rows(&env).await, (1, 0));
    env.clock.advance(901);
    let page = bind_page(&env, "alice").await;
    let m = result_in(page.bind("ann", PW).await).await;
    assert_eq!(ok_user(&m).id, local.id);
    assert_eq!(rows(&env).await, (1, 1));
    assert_eq!(env.mock.calls(), calls(4, 4, 0));
}

#[tokio::test]
async fn a_ticket_needs_its_browser_and_its_csrf_token() {
    // X-63 (another browser), X-66 (cross-site POST without the CSRF token).
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let local = create_local(&env, ann()).await;
    let page = bind_page(&env, "alice").await;
    refused(
        post_form(
            &Browser::new(),
            &page.action,
            &page.csrf,
            &[("identifier", "ann"), ("password", PW)],
        )
        .await,
    )
    .await;
    refused(
        page.browser
            .http
            .post(&page.action)
            .form(&[("identifier", "ann"), ("password", PW)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(
        post_form(
            &page.browser,
            &page.action,
            "forged-token",
            &[("identifier", "ann"), ("password", PW)],
        )
        .await,
    )
    .await;
    // The same page at another connection's or pool's path.
    let other = page
        .action
        .replace(&format!("/{CONN}/{POOL}/"), &format!("/xiaomi-2/{POOL}/"));
    refused(
        post_form(
            &page.browser,
            &other,
            &page.csrf,
            &[("identifier", "ann"), ("password", PW)],
        )
        .await,
    )
    .await;
    assert_eq!(page.browser.get(&page.action).await.status(), 405);
    assert_eq!(rows(&env).await, (1, 0));
    // None of that used the ticket up.
    let m = result_in(page.bind("ann", PW).await).await;
    assert_eq!(ok_user(&m).id, local.id);
    assert_eq!(env.mock.calls(), calls(1, 1, 0));
}

#[tokio::test]
async fn an_expired_ticket_ends_in_state_expired() {
    // X-63 (after the TTL).
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    create_local(&env, ann()).await;
    let page = bind_page(&env, "alice").await;
    env.clock.advance(601);
    let m = result_in(page.bind("ann", PW).await).await;
    assert_eq!(
        (m.attempt.as_str(), err(&m).0),
        (page.attempt.as_str(), ErrorCode::StateExpired)
    );
    refused(page.post(&[("action", "create")]).await).await;
    assert_eq!(rows(&env).await, (1, 0));
}

#[tokio::test]
async fn another_xiaomi_account_cannot_consume_the_victims_ticket() {
    // the attacker holds a ticket for their own Xiaomi account (mallory) and the victim's
    // CSRF token; the victim's ticket binds only the victim's Xiaomi account.
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let victim = create_local(&env, ann()).await;
    let attacker = create_local(&env, named_pw("mal")).await;
    let victim_page = bind_page(&env, "alice").await;
    let attacker_page = bind_page(&env, "mallory").await;
    // Victim's token with the attacker's cookies: no ticket of that name in the attacker's jar.
    refused(
        post_form(
            &attacker_page.browser,
            &attacker_page.action,
            &victim_page.csrf,
            &[("identifier", "mal"), ("password", PW)],
        )
        .await,
    )
    .await;
    // The attacker's ticket value under the cookie name of the victim's page: the token does not fit.
    let jar = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let victim_cookie_name = format!(
        "milogin-bind-{}",
        &milogin_server::crypto::sha256_hex(&victim_page.csrf)[..16]
    );
    let forged = jar
        .post(&victim_page.action)
        .header(
            "cookie",
            format!("{victim_cookie_name}={}", attacker_page.ticket),
        )
        .form(&[
            ("csrf", victim_page.csrf.as_str()),
            ("identifier", "mal"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    refused(forged).await;
    assert_eq!(rows(&env).await, (2, 0));
    // The attacker's own ticket binds mallory, never alice.
    let m = result_in(attacker_page.bind("mal", PW).await).await;
    assert_eq!(ok_user(&m).id, attacker.id);
    let m = result_in(victim_page.bind("ann", PW).await).await;
    assert_eq!(ok_user(&m).id, victim.id);
    assert_bound(
        &env,
        &[(&victim.id, Some("alice")), (&attacker.id, Some("mallory"))],
    )
    .await;
}

#[tokio::test]
async fn proving_a_different_account_than_the_matched_one_links_the_proven_one() {
    // X-62 (Keycloak case): the field match points at one account, the person proves another.
    let env = spawn_with(email_match(LoginMode::LoginAndRegister, false)).await;
    let matched = create_local(&env, alice_email(true)).await;
    let other = create_local(
        &env,
        Local {
            password: Some("another password"),
            ..named("alice2")
        },
    )
    .await;
    let page = bind_page(&env, "alice").await;
    let m = result_in(page.bind("alice2", "another password").await).await;
    assert_eq!(ok_user(&m).id, other.id);
    assert_bound(&env, &[(&matched.id, None), (&other.id, Some("alice"))]).await;
}

#[tokio::test]
async fn an_identity_bound_meanwhile_is_never_rebound_and_an_account_keeps_one_xiaomi_identity() {
    // two pending tickets of one Xiaomi account; the first binds user A, the second may not
    // move it to user B. And a user that already has a Xiaomi identity here cannot take a second.
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let a = create_local(&env, ann()).await;
    let b = create_local(&env, named_pw("bea")).await;
    let first = bind_page(&env, "alice").await;
    let second = bind_page(&env, "alice").await;
    assert_eq!(
        ok_user(&result_in(first.bind("ann", PW).await).await).id,
        a.id
    );
    let m = result_in(second.bind("bea", PW).await).await;
    assert_eq!(err(&m), (ErrorCode::InvalidState, "This Xiaomi account is already linked to another account. Please start the login again.".into()));
    refused(second.bind("bea", PW).await).await;

    let page = bind_page(&env, "bob").await;
    let html = page.bind("ann", PW).await.text().await.unwrap();
    assert!(
        html.contains("already linked to another Xiaomi account")
            && !html.contains("milogin-result"),
        "{html}"
    );
    assert_eq!(
        ok_user(&result_in(page.bind("bea", PW).await).await).id,
        b.id,
        "the ticket survived that answer"
    );
    assert_bound(&env, &[(&a.id, Some("alice")), (&b.id, Some("bob"))]).await;
}

#[tokio::test]
async fn unlink_leaves_no_usable_proof_behind() {
    // X-65, item 5: after `user unlink`, the earlier ticket stays dead; the next login asks again.
    let env = spawn_with(opts(LoginMode::LoginOnly, Association::QueryBinding)).await;
    let local = create_local(&env, ann()).await;
    let page = bind_page(&env, "alice").await;
    assert_eq!(
        ok_user(&result_in(page.bind("ann", PW).await).await).id,
        local.id
    );
    unlink(&env, &local.id).await;
    assert_eq!(rows(&env).await, (1, 0));
    refused(page.bind("ann", PW).await).await;
    assert_eq!(rows(&env).await, (1, 0));
    let again = bind_page(&env, "alice").await;
    assert_eq!(
        ok_user(&result_in(again.bind("ann", PW).await).await).id,
        local.id
    );
    assert_eq!(rows(&env).await, (1, 1));
    assert_eq!(env.mock.calls(), calls(2, 2, 0));
}

#[tokio::test]
async fn login_only_binding_never_creates_a_user() {
    // T-15 on the binding path: no "create" button, and a forged create is refused.
    let env = spawn_with(opts(LoginMode::LoginOnly, Association::QueryBinding)).await;
    create_local(&env, ann()).await;
    let page = bind_page(&env, "alice").await;
    assert!(!page.html.contains("value=\"create\"") && page.html.contains("value=\"cancel\""));
    let m = result_in(page.post(&[("action", "create")]).await).await;
    assert_eq!(err(&m).0, ErrorCode::UserNotFound);
    assert_eq!(rows(&env).await, (1, 0));
    let page = bind_page(&env, "alice").await;
    assert_eq!(
        err(&result_in(page.post(&[("action", "cancel")]).await).await).0,
        ErrorCode::UserNotFound
    );
    assert_eq!(rows(&env).await, (1, 0));
}

#[tokio::test]
async fn login_and_register_binding_may_create_a_new_account_or_cancel() {
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let page = bind_page(&env, "carol").await;
    assert_eq!(
        err(&result_in(page.post(&[("action", "cancel")]).await).await).0,
        ErrorCode::BindingRequired
    );
    assert_eq!(rows(&env).await, (0, 0));
    let page = bind_page(&env, "carol").await;
    let m = result_in(page.post(&[("action", "create")]).await).await;
    let u = ok_user(&m);
    assert!(u.new_user && u.nickname == "陈小雨 Carol");
    assert_bound(&env, &[(&u.id, Some("carol"))]).await;
    let again = login_result(&env, "carol").await;
    returning(&again, &u.id);
    assert_eq!(rows(&env).await, (1, 1));
    assert_eq!(env.mock.calls(), calls(3, 3, 0));
}

#[tokio::test]
async fn redirect_mode_binding_ends_in_a_redirect_with_the_fragment() {
    let env = spawn_with(opts(LoginMode::LoginOnly, Association::QueryBinding)).await;
    let local = create_local(&env, ann()).await;
    let b = Browser::new();
    let attempt = attempt_id();
    let done = format!("{ORIGIN}/login/done");
    // RFC 7636's example pair: the widget's challenge at authorize, its verifier at the token
    // endpoint.
    let (verifier, challenge) = (
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
    let url = Browser::redirect_url(&env, &attempt, &done) + "&code_challenge=" + challenge;
    let r = b.login_at(&env, &url, "alice").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&format!("form-action 'self' {ORIGIN};")));
    let html = r.text().await.unwrap();
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").unwrap();
    let action = between(&html, "action=\"", "\"").unwrap();
    let r = post_form(
        &b,
        &action,
        &csrf,
        &[("identifier", "ann"), ("password", PW)],
    )
    .await;
    let (loc, f) = redirected_to(&r, &done);
    assert_eq!(f["attempt"], attempt);
    assert!(
        !loc.contains("id_token"),
        "a one-time code, never the token: {loc}"
    );
    let m = redeemed_message(&env, &f["code"], verifier, &done).await;
    assert_eq!(
        verify(&env, POOL, m["id_token"].as_str().unwrap(), APP).await["sub"],
        local.id.as_str()
    );
    assert_eq!(rows(&env).await, (1, 1));
}

#[tokio::test]
async fn the_binding_page_speaks_chinese_when_asked_and_escapes_the_nickname() {
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::QueryBinding)).await;
    let b = Browser::new();
    let req = b
        .start(&env, &Browser::authorize_url(&env, &attempt_id()))
        .await;
    let cb = b.decide(&env, &req, Some("mallory")).await;
    let html = b
        .http
        .get(&cb)
        .header("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("关联小米账号")
            && html.contains("创建新账号")
            && html.contains("lang=\"zh-CN\""),
        "{html}"
    );
    assert!(
        !html.contains("<script>alert(1)")
            && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").unwrap();
    let action = between(&html, "action=\"", "\"").unwrap();
    let r = b
        .http
        .post(&action)
        .header("accept-language", "zh-CN")
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier", "x"),
            ("password", "y"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("账号或密码错误"));
    assert_eq!(rows(&env).await, (0, 0));
}

#[tokio::test]
async fn usernames_are_never_derived_from_nicknames() {
    // new Xiaomi users get no username, so a nickname can neither collide nor be invalid.
    let env = spawn_with(opts(LoginMode::LoginAndRegister, Association::Off)).await;
    create_local(&env, named("bob")).await;
    env.mock.set_faults(Faults {
        nickname_override: Some("bob".into()),
        ..Faults::default()
    });
    assert!(ok_user(&login_result(&env, "bob").await).new_user);
    env.mock.set_faults(Faults {
        nickname_override: Some("  ../../bob\r\n".into()),
        ..Faults::default()
    });
    assert!(ok_user(&login_result(&env, "alice").await).new_user);
    let all = users(&env).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|u| u.user.username.is_some()).count(), 1);
    assert_eq!(rows(&env).await, (3, 2));
}

/// The `users` uniqueness indexes hold only the values that are set: a user signed in with Xiaomi
/// (no username, email or phone) writes no entry in them (three index writes less per new user,
/// docs/performance.md), and a set value stays unique within its pool, on both stores.
#[tokio::test]
async fn username_email_and_phone_are_unique_per_pool_through_partial_indexes() {
    use milogin_server::store::{NewLocalUser, NewUser, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path()).await;
    let store = milogin_server::store::open(&url).await.unwrap();

    let names = "('users_pool_username', 'users_pool_email', 'users_pool_phone')";
    let defs: Vec<String> = if on_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let q = format!("SELECT indexdef FROM pg_indexes WHERE indexname IN {names}");
        sqlx::query_scalar(&q).fetch_all(&mut c).await.unwrap()
    } else {
        let opts =
            <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url).unwrap();
        let mut c = sqlx::ConnectOptions::connect(&opts).await.unwrap();
        let q = format!("SELECT sql FROM sqlite_master WHERE name IN {names}");
        sqlx::query_scalar(&q).fetch_all(&mut c).await.unwrap()
    };
    assert_eq!(defs.len(), 3, "{defs:?}");
    for d in &defs {
        assert!(
            d.contains("UNIQUE") && d.contains("WHERE") && d.contains("IS NOT NULL"),
            "{d}"
        );
    }

    let local =
        |id: &str, pool: &str, username: Option<&str>, email: Option<&str>, phone: Option<&str>| {
            NewLocalUser {
                id: id.into(),
                pool: pool.try_into().unwrap(),
                nickname: id.into(),
                username: username.map(Into::into),
                email: email.map(Into::into),
                email_verified: false,
                phone: phone.map(Into::into),
                phone_verified: false,
                password_hash: None,
            }
        };
    let now = 1_700_000_000;
    for i in 0..3 {
        let user = NewUser {
            id: format!("x{i}"),
            pool: "p".try_into().unwrap(),
            nickname: format!("Mi {i}"),
            avatar: None,
        };
        let identity = Identity {
            connection: "xiaomi".try_into().unwrap(),
            subject: format!("open-{i}"),
            client_id: "c".into(),
            union_id: None,
            created_at: now,
        };
        assert!(
            store
                .create_user_with_identity(&user, &identity, now)
                .await
                .unwrap()
                .1
        );
    }
    let ann = |id, pool| {
        let (username, email, phone) =
            (Some("ann"), Some("ann@example.com"), Some("+8613800138000"));
        local(id, pool, username, email, phone)
    };
    store.create_local_user(&ann("a", "p"), now).await.unwrap();
    for (id, username, email, phone, field) in [
        ("b", Some("ann"), None, None, "username"),
        ("c", None, Some("ann@example.com"), None, "email"),
        ("d", None, None, Some("+8613800138000"), "phone"),
    ] {
        match store
            .create_local_user(&local(id, "p", username, email, phone), now)
            .await
        {
            Err(StoreError::Taken(f)) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // The same values in another pool, and users with none of them, are fine.
    for user in [
        ann("e", "q"),
        local("f", "p", None, None, None),
        local("g", "p", None, None, None),
    ] {
        store.create_local_user(&user, now).await.unwrap();
    }
    assert_eq!(store.list_users("p").await.unwrap().len(), 6);
}

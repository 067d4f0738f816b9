//! Every type whose `Debug` goes through `crypto::redacting_debug!` keeps its secrets out of the
//! output: one value of each, holding a planted secret, printed. The list of types is checked
//! against the macro's uses in `server/src`, so a new user without a case here fails.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use milogin_server::config::{Config, ProviderSettings};
use milogin_server::crypto::Kek;
use milogin_server::domain::PoolId;
use milogin_server::http::binding::BindForm;
use milogin_server::http::params::parse;
use milogin_server::login::bind::{Form, Offer, Submission};
use milogin_server::provider::xiaomi::parse_token;
use milogin_server::provider::AccessToken;
use milogin_server::store::{NewLocalUser, StoredKey};
use secrecy::SecretString;

/// Planted in every secret field; no `Debug` may print it.
const SECRET: &str = "PLANTED-SECRET-7f3a";

/// The Xiaomi settings of a connection whose app secret is [`SECRET`], as `milogin` loads it
/// (the process tests' config, whose secret is the file `secret` beside it).
fn xiaomi_settings_debug() -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    let text = support::config(1, 1, "http://127.0.0.1:1", "sqlite::memory:").render();
    let config = Config::from_toml(&text, Vec::new(), dir.path()).unwrap();
    match &config.pools[0].connections[0].provider {
        ProviderSettings::Xiaomi(x) => format!("{x:?}"),
    }
}

fn form() -> Form {
    Form {
        action: "https://login.example.com/bind".into(),
        csrf: SECRET.into(),
        nickname: SECRET.into(),
        can_create: true,
        matched: false,
        error: None,
        identifier: SECRET.into(),
        redirect_origin: None,
    }
}

/// (type, its `Debug`) for every user of the macro.
fn printed() -> Vec<(&'static str, String)> {
    let kek = Kek::from_base64("S0VLLWtleS1mb3ItdGhlLXJlZGFjdGlvbi10ZXN0ISE=").unwrap();
    let token = format!(
        r#"{{"access_token":"{SECRET}","mac_key":"{SECRET}","openId":"2.0abc","scope":"1 3"}}"#
    );
    let submission = format!("csrf={SECRET}&action=bind&identifier={SECRET}&password={SECRET}");
    vec![
        ("Kek", format!("{kek:?}")),
        (
            "AccessToken",
            format!("{:?}", AccessToken::new(SecretString::from(SECRET))),
        ),
        (
            "TokenResponse",
            format!("{:?}", parse_token(token.as_bytes()).unwrap()),
        ),
        ("XiaomiSettings", xiaomi_settings_debug()),
        ("Form", format!("{:?}", form())),
        (
            "Offer",
            format!(
                "{:?}",
                Offer {
                    cookie_name: "bind".into(),
                    ticket: SecretString::from(SECRET),
                    form: form(),
                }
            ),
        ),
        (
            "Submission",
            format!(
                "{:?}",
                Submission::from(parse::<BindForm>(submission.as_bytes()).unwrap())
            ),
        ),
        (
            "StoredKey",
            format!(
                "{:?}",
                StoredKey {
                    kid: "k1".into(),
                    private_pem: SECRET.into(),
                    seq: 1,
                    created_at: 0,
                    activates_at: 0,
                }
            ),
        ),
        (
            "NewLocalUser",
            format!(
                "{:?}",
                NewLocalUser {
                    id: "u1".into(),
                    pool: PoolId::parse("p").unwrap(),
                    nickname: SECRET.into(),
                    username: Some("alice".into()),
                    email: Some(format!("{SECRET}@example.com")),
                    email_verified: true,
                    phone: Some(SECRET.into()),
                    phone_verified: false,
                    password_hash: Some(SECRET.into()),
                }
            ),
        ),
    ]
}

/// The types `redacting_debug!` is used for in `server/src`.
fn users() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for use_ in text.split("redacting_debug!(").skip(1) {
                    let name: String = use_
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    // `macro_rules! redacting_debug {` itself and the doc's `Name` examples.
                    if !name.is_empty() && name != "Name" {
                        out.insert(name);
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

#[test]
fn every_redacting_debug_hides_its_secrets() {
    let printed = printed();
    let tested: BTreeSet<String> = printed.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(
        tested,
        users(),
        "every type using redacting_debug! needs a case here (and no case for a type that left it)"
    );
    for (ty, debug) in &printed {
        assert!(
            !debug.contains(SECRET) && debug.contains("[REDACTED]"),
            "{ty}'s Debug must redact its secrets: {debug}"
        );
        assert!(debug.starts_with(ty), "{ty}'s Debug names it: {debug}");
    }
}

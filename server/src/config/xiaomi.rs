//! `kind = "xiaomi"`: a connection's Xiaomi settings (APP ID, APP Secret, scopes,
//! `skip_confirm`, the `trust_xiaomi_*` flags) validated into [`XiaomiSettings`], each problem
//! under the connection's own key (the file keeps these keys flat on the connection).

use super::check::{Problems, Secrets};
use super::raw::RawConnection;
use super::{Association, MatchField, XiaomiSettings};

/// The Xiaomi settings of the connection at `ck` (its `association` and `match_fields` decide
/// whether a trust flag means anything).
pub(super) fn settings(
    p: &mut Problems,
    ck: &str,
    rc: &mut RawConnection,
    secrets: &Secrets<'_>,
) -> XiaomiSettings {
    let app_id = app_id(p, ck, rc.app_id.as_ref());
    check_trust(p, ck, rc);
    let app_secret = match rc.app_secret.take() {
        Some(raw) => secrets.resolve(p, &format!("{ck}.app_secret"), raw),
        None => {
            p.add(format!("{ck}.app_secret"), "is required: the APP Secret from the Xiaomi console, as { env = \"XIAOMI_APP_SECRET\" } or { file = \"xiaomi-secret.txt\" }");
            secrecy::SecretString::from(String::new())
        }
    };
    check_scopes(p, ck, &rc.scopes);
    XiaomiSettings {
        app_id,
        app_secret,
        scopes: std::mem::take(&mut rc.scopes),
        skip_confirm: rc.skip_confirm,
        trust_xiaomi_email: rc.trust_xiaomi_email,
        trust_xiaomi_phone: rc.trust_xiaomi_phone,
    }
}

/// Xiaomi's APP ID: a quoted decimal string (a TOML integer would lose precision in JSON tools).
fn app_id(p: &mut Problems, ck: &str, v: Option<&toml::Value>) -> String {
    let Some(v) = v else {
        p.add(format!("{ck}.app_id"), "is required: the APP ID from the Xiaomi console, as a quoted decimal string, e.g. app_id = \"2882303761520000000\"");
        return String::new();
    };
    match v {
        toml::Value::String(s)
            if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.clone()
        }
        toml::Value::String(s) => {
            p.add(
                format!("{ck}.app_id"),
                format!("{s:?} must be the decimal APP ID from the Xiaomi console"),
            );
            String::new()
        }
        _ => {
            p.add(format!("{ck}.app_id"), "must be a quoted decimal string, e.g. app_id = \"2882303761520000000\" (large numbers lose precision otherwise)");
            String::new()
        }
    }
}

/// A `trust_xiaomi_*` flag only means something for a field the connection matches on.
fn check_trust(p: &mut Problems, ck: &str, rc: &RawConnection) {
    for (key, on, field) in [
        (
            "trust_xiaomi_email",
            rc.trust_xiaomi_email,
            MatchField::Email,
        ),
        (
            "trust_xiaomi_phone",
            rc.trust_xiaomi_phone,
            MatchField::Phone,
        ),
    ] {
        if on && !(rc.association == Association::FieldMatch && rc.match_fields.contains(&field)) {
            p.add(
                format!("{ck}.{key}"),
                format!("has no effect unless association = \"field_match\" and match_fields contains {:?}; remove it", field.as_str()),
            );
        }
    }
}

/// Xiaomi's scope ids (xiaomi-oauth.md §2.5) and whether they are only in the legacy list (the
/// HyperOS list dropped them: they may be refused for new apps).
const XIAOMI_SCOPES: [(u32, bool); 22] = [
    (1, false),
    (2, true),
    (3, false),
    (4, true),
    (6, true),
    (1000, false),
    (1001, false),
    (2000, true),
    (2001, false),
    (2002, false),
    (6000, false),
    (6002, false),
    (6003, false),
    (6004, false),
    (7000, false),
    (11000, false),
    (12001, false),
    (12005, false),
    (13002, true),
    (16000, false),
    (20000, false),
    (40000, false),
];

/// `scopes` of the connection at `ck`: known Xiaomi ids, 1 (profile) among them.
fn check_scopes(p: &mut Problems, ck: &str, scopes: &[u32]) {
    if scopes.is_empty() {
        p.add(
            format!("{ck}.scopes"),
            "is empty; use at least [1] (profile)",
        );
        return;
    }
    for (i, s) in scopes.iter().enumerate() {
        if !XIAOMI_SCOPES.iter().any(|(id, _)| id == s) {
            let known: Vec<String> = XIAOMI_SCOPES
                .iter()
                .map(|(id, legacy)| match legacy {
                    true => format!("{id} (legacy only)"),
                    false => id.to_string(),
                })
                .collect();
            p.add(
                format!("{ck}.scopes[{i}]"),
                format!("{s} is not a Xiaomi scope id; known: {} (\"legacy only\": not in the HyperOS list, may be refused for new apps)", known.join(", ")),
            );
        }
    }
    if !scopes.contains(&1) {
        p.add(
            format!("{ck}.scopes"),
            "must contain 1 (user profile): the login reads the nickname and avatar",
        );
    }
}

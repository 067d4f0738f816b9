//! `[[pools]]`: each pool's connections (Xiaomi app, secret, login mode, association) and apps
//! (origins, redirect and return URIs), ids unique per pool.

use super::check::{check_scopes, parse_id, Problems, Secrets};
use super::origin::check_redirect_uri;
use super::raw::{RawApp, RawConnection, RawDisplayName, RawPool};
use super::{App, Association, Connection, DisplayName, MatchField, Pool, TRY_APP};
use crate::domain::{AppId, Origin, PoolId, UniqueId};
use std::collections::HashSet;

/// Every `[[pools]]`: ids unique, then its connections and apps. A pool, app or connection whose
/// id does not parse is reported and left out (the configuration is refused anyway), so the
/// model holds typed ids only.
pub(super) fn pools(
    p: &mut Problems,
    raw: Vec<RawPool>,
    secrets: &Secrets<'_>,
    try_origin: Option<Origin>,
) -> Vec<Pool> {
    if raw.is_empty() {
        p.add(
            "pools",
            "no pool is configured; add a [[pools]] table (see milogin.example.toml)",
        );
    }
    let mut pool_ids = HashSet::new();
    let mut pools = Vec::new();
    for (pi, rp) in raw.into_iter().enumerate() {
        let pk = format!("pools[{pi}]");
        let id = parse_id(p, &format!("{pk}.id"), &rp.id, PoolId::parse);
        if !pool_ids.insert(rp.id.clone()) {
            p.add(
                format!("{pk}.id"),
                format!("pool {:?} is defined twice; pool ids must be unique", rp.id),
            );
        }
        let mut connections = Vec::new();
        let mut uids = HashSet::new();
        for (ci, rc) in rp.connections.into_iter().enumerate() {
            let ck = format!("{pk}.connections[{ci}]");
            connections.extend(connection(p, &ck, rc, &mut uids, secrets));
        }
        let mut apps = Vec::new();
        let mut app_ids = HashSet::new();
        for (ai, ra) in rp.apps.into_iter().enumerate() {
            let ak = format!("{pk}.apps[{ai}]");
            apps.extend(app(p, &ak, ra, &mut app_ids, &uids, secrets));
        }
        if let Some(origin) = &try_origin {
            apps.push(App {
                id: AppId::parse(TRY_APP).expect("the reserved app id is an app id"),
                name: None,
                origins: vec![origin.clone()],
                redirect_uris: vec![],
                return_uris: vec![],
                connections: connections.iter().map(|c| c.unique_id.clone()).collect(),
                client_secret: None,
            });
        }
        if let Some(id) = id {
            pools.push(Pool {
                id,
                apps,
                connections,
            });
        }
    }
    pools
}

/// One `[[pools.connections]]` at key `ck`; `uids` are the pool's unique ids so far.
fn connection(
    p: &mut Problems,
    ck: &str,
    rc: RawConnection,
    uids: &mut HashSet<String>,
    secrets: &Secrets<'_>,
) -> Option<Connection> {
    let unique_id = UniqueId::parse(&rc.unique_id);
    if let Err(e) = &unique_id {
        p.add(
            format!("{ck}.unique_id"),
            format!("{:?} {e} (1–31 of a-z, 0-9, '-')", rc.unique_id),
        );
    }
    if !uids.insert(rc.unique_id.clone()) {
        p.add(
            format!("{ck}.unique_id"),
            format!("{:?} is used twice in this pool", rc.unique_id),
        );
    }
    if rc.kind != "xiaomi" {
        p.add(
            format!("{ck}.kind"),
            format!(
                "{:?} is not supported; the only kind is \"xiaomi\"",
                rc.kind
            ),
        );
    }
    let app_id = xiaomi_app_id(p, ck, rc.app_id.as_ref());
    check_association(p, ck, &rc);
    let secret = match rc.app_secret {
        Some(raw) => secrets.resolve(p, &format!("{ck}.app_secret"), raw),
        None => {
            p.add(format!("{ck}.app_secret"), "is required: the APP Secret from the Xiaomi console, as { env = \"XIAOMI_APP_SECRET\" } or { file = \"xiaomi-secret.txt\" }");
            secrecy::SecretString::from(String::new())
        }
    };
    check_scopes(p, ck, &rc.scopes);
    Some(Connection {
        display_name: display_name(p, ck, rc.display_name),
        unique_id: unique_id.ok()?,
        app_id,
        app_secret: secret,
        scopes: rc.scopes,
        skip_confirm: rc.skip_confirm,
        login_mode: rc.login_mode,
        association: rc.association,
        match_fields: rc.match_fields,
        trust_xiaomi_email: rc.trust_xiaomi_email,
        trust_xiaomi_phone: rc.trust_xiaomi_phone,
    })
}

/// Xiaomi's APP ID: a quoted decimal string (a TOML integer would lose precision in JSON tools).
fn xiaomi_app_id(p: &mut Problems, ck: &str, v: Option<&toml::Value>) -> String {
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

/// The shortest `client_secret` accepted (a guessable secret makes a confidential client public).
const MIN_CLIENT_SECRET: usize = 32;

/// One `[[pools.apps]]` at key `ak`; `app_ids` are the pool's app ids so far, `uids` the Unique
/// IDs of its connections.
fn app(
    p: &mut Problems,
    ak: &str,
    ra: RawApp,
    app_ids: &mut HashSet<String>,
    uids: &HashSet<String>,
    secrets: &Secrets<'_>,
) -> Option<App> {
    let id = parse_id(p, &format!("{ak}.id"), &ra.id, AppId::parse);
    if !app_ids.insert(ra.id.clone()) {
        p.add(
            format!("{ak}.id"),
            format!("app {:?} is defined twice in this pool", ra.id),
        );
    }
    let mut origins = Vec::new();
    for (oi, o) in ra.origins.iter().enumerate() {
        match Origin::parse(o) {
            Ok(n) => origins.push(n),
            Err(e) => p.add(format!("{ak}.origins[{oi}]"), format!("{o:?} {e}")),
        }
    }
    if ra.origins.is_empty() && ra.redirect_uris.is_empty() {
        p.add(
            format!("{ak}.origins"),
            "is empty; add the exact origin of the site, e.g. \"https://shop.example.com\"",
        );
    }
    for (ri, r) in ra.redirect_uris.iter().enumerate() {
        if let Err(e) = check_redirect_uri(r) {
            p.add(format!("{ak}.redirect_uris[{ri}]"), format!("{r:?} {e}"));
        }
    }
    check_return_uris(p, ak, &ra.return_uris, &origins);
    for (ci, c) in ra.connections.iter().enumerate() {
        if !uids.contains(c) {
            p.add(format!("{ak}.connections[{ci}]"), format!("{c:?} is not a connection of this pool; define it under [[pools.connections]] or remove it"));
        }
    }
    if ra.id == TRY_APP {
        p.add(
            format!("{ak}.id"),
            format!("{TRY_APP:?} is reserved for the experience-login page; choose another app id"),
        );
    }
    let name = ra.name.filter(|n| {
        let fine = !n.trim().is_empty() && n.chars().count() <= 64 && !n.chars().any(char::is_control);
        if !fine {
            p.add(
                format!("{ak}.name"),
                format!("{n:?} must be 1 to 64 characters of text (the site's name, shown on the hosted login page), or left out"),
            );
        }
        fine
    });
    let client_secret = ra.client_secret.map(|raw| {
        let key = format!("{ak}.client_secret");
        let s = secrets.resolve(p, &key, raw);
        let len = secrecy::ExposeSecret::expose_secret(&s).len();
        if (1..MIN_CLIENT_SECRET).contains(&len) {
            p.add(key, format!("is {len} characters; a client secret needs at least {MIN_CLIENT_SECRET}: generate one with `openssl rand -base64 32`"));
        }
        s
    });
    Some(App {
        id: id?,
        name,
        client_secret,
        origins,
        redirect_uris: ra.redirect_uris,
        return_uris: ra.return_uris,
        // Each names a connection of the pool (checked above), so each parses.
        connections: ra
            .connections
            .iter()
            .filter_map(|c| UniqueId::parse(c).ok())
            .collect(),
    })
}

/// `association`, `match_fields` and the trust flags must make sense together.
fn check_association(p: &mut Problems, ck: &str, rc: &RawConnection) {
    let mut seen = HashSet::new();
    for (i, f) in rc.match_fields.iter().enumerate() {
        if !seen.insert(*f) {
            p.add(
                format!("{ck}.match_fields[{i}]"),
                format!("{:?} is listed twice", f.as_str()),
            );
        }
    }
    if rc.association == Association::FieldMatch {
        if rc.match_fields.is_empty() {
            p.add(format!("{ck}.match_fields"), "is empty; association = \"field_match\" needs match_fields = [\"email\"], [\"phone\"] or both");
        }
    } else if !rc.match_fields.is_empty() {
        p.add(
            format!("{ck}.match_fields"),
            "only applies to association = \"field_match\"; remove it or change association",
        );
    }
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

/// `return_uris`: each a redirect-URI-shaped URL on one of the app's origins, one per origin.
fn check_return_uris(p: &mut Problems, ak: &str, uris: &[String], origins: &[Origin]) {
    let mut seen = HashSet::new();
    for (i, u) in uris.iter().enumerate() {
        let key = format!("{ak}.return_uris[{i}]");
        if let Err(e) = check_redirect_uri(u) {
            p.add(key, format!("{u:?} {e}"));
            continue;
        }
        // A URL that passed `check_redirect_uri` is http(s) with a host, so it has an origin.
        let Some(origin) = Origin::of_url(u) else {
            continue;
        };
        if !origins.contains(&origin) {
            p.add(key, format!("{u:?} is not on one of the app's origins: a return page must be on the origin that opens the login window; add \"{origin}\" to origins or fix the URL"));
        } else if !seen.insert(origin.clone()) {
            p.add(
                key,
                format!("{u:?}: \"{origin}\" already has a return page; keep one per origin"),
            );
        }
    }
}

/// `display_name`: one text, or `{ en = "…", zh-CN = "…" }`; blank texts count as absent.
fn display_name(p: &mut Problems, ck: &str, raw: Option<RawDisplayName>) -> DisplayName {
    let text = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    match raw {
        None => DisplayName::default(),
        Some(RawDisplayName::One(s)) => DisplayName {
            en: text(s.clone()),
            zh_cn: text(s),
        },
        Some(RawDisplayName::PerLanguage(map)) => {
            let mut out = DisplayName::default();
            for (lang, s) in map {
                match lang.as_str() {
                    "en" => out.en = text(s),
                    "zh-CN" => out.zh_cn = text(s),
                    _ => p.add(
                        format!("{ck}.display_name.{lang}"),
                        format!(
                            "{lang:?} is not a language of the button; use one of {:?}",
                            DisplayName::LANGUAGES
                        ),
                    ),
                }
            }
            out
        }
    }
}

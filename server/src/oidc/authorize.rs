//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1) checked against the
//! pool's configuration. The client and its redirect URI are checked first and refused with a page
//! ([`AuthorizeError::Page`]); only once both are trusted does any other problem go back to the
//! redirect URI ([`AuthorizeError::Redirect`]).

use super::error::{AuthorizeCode, AuthorizeError, ErrorRedirect};
use super::params::{Params, ParamsError};
use super::pkce::Challenge;
use super::SCOPES;
use crate::config::{App, Pool};
use crate::domain::{AppId, UniqueId};

/// A checked authorization request: what the login carries to the code it ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The client (an app of the pool).
    pub client: AppId,
    /// A redirect URI registered for it.
    pub redirect_uri: String,
    /// The client's `state`, echoed back.
    pub state: Option<String>,
    /// The client's `nonce`, put in the id_token.
    pub nonce: Option<String>,
    /// The scopes granted: `openid`, and `profile` when asked for.
    pub scope: String,
    /// The PKCE challenge (required for a public client).
    pub challenge: Option<Challenge>,
    /// The connection to log in with: the one asked for (`connection=`), or the app's only one;
    /// `None` when the person picks among several.
    pub connection: Option<UniqueId>,
}

/// Checks an authorization request of `pool`.
pub fn check(
    pool: &Pool,
    params: Result<Params, (ParamsError, Params)>,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let (problem, p) = match params {
        Ok(p) => (None, p),
        Err((e, p)) => (Some(e), p),
    };
    // The client and its redirect URI: a page, never a redirect.
    if let Some(e) = problem
        .as_ref()
        .filter(|e| matches!(e.name(), Some("client_id" | "redirect_uri") | None))
    {
        return Err(AuthorizeError::Page(e.to_string()));
    }
    let app = client(pool, &p)?;
    let redirect_uri = redirect_uri(app, &p)?;
    let state = p.get("state").map(str::to_owned);
    let back = |code, description: String| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            code,
            description,
        })
    };
    if let Some(e) = problem {
        return Err(back(AuthorizeCode::InvalidRequest, e.to_string()));
    }
    if p.get("request").is_some() {
        return Err(back(
            AuthorizeCode::RequestNotSupported,
            "request objects are not supported; send the parameters in the query".into(),
        ));
    }
    if p.get("request_uri").is_some() {
        return Err(back(
            AuthorizeCode::RequestUriNotSupported,
            "request_uri is not supported; send the parameters in the query".into(),
        ));
    }
    match p.get("response_type") {
        Some("code") => {}
        None => {
            return Err(back(
                AuthorizeCode::InvalidRequest,
                "response_type is required: response_type=code".into(),
            ))
        }
        Some(_) => {
            return Err(back(
                AuthorizeCode::UnsupportedResponseType,
                "only response_type=code is supported (the authorization code flow)".into(),
            ))
        }
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(back(
            AuthorizeCode::InvalidRequest,
            "only response_mode=query is supported".into(),
        ));
    }
    let asked: Vec<&str> = p
        .get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if !asked.contains(&"openid") {
        return Err(back(
            AuthorizeCode::InvalidScope,
            "scope must contain openid".into(),
        ));
    }
    let scope = SCOPES
        .iter()
        .copied()
        .filter(|s| asked.contains(s))
        .collect::<Vec<_>>()
        .join(" ");
    if p.get("prompt")
        .is_some_and(|v| v.split(' ').any(|x| x == "none"))
    {
        return Err(back(AuthorizeCode::LoginRequired, "milogin keeps no session of its own: every login goes through Xiaomi, so prompt=none cannot succeed".into()));
    }
    let challenge =
        Challenge::from_request(p.get("code_challenge"), p.get("code_challenge_method"))
            .map_err(|e| back(AuthorizeCode::InvalidRequest, e.to_string()))?;
    if challenge.is_none() && !app.is_confidential() {
        return Err(back(AuthorizeCode::InvalidRequest, format!("{} is a public client (no client_secret): it must use PKCE, code_challenge with code_challenge_method=S256", app.id.as_str())));
    }
    let connection = match p.get("connection") {
        Some(c) => Some(
            app.connections
                .iter()
                .find(|u| u.as_str() == c)
                .cloned()
                .ok_or_else(|| back(AuthorizeCode::InvalidRequest, format!("connection {c:?} is not enabled for this client; leave it out to let the person pick")))?,
        ),
        None if app.connections.is_empty() => {
            return Err(back(
                AuthorizeCode::InvalidRequest,
                format!("no connection is enabled for {} (pools.apps.connections)", app.id.as_str()),
            ))
        }
        None if app.connections.len() == 1 => app.connections.first().cloned(),
        None => None,
    };
    Ok(AuthorizeRequest {
        client: app.id.clone(),
        redirect_uri: redirect_uri.clone(),
        state,
        nonce: p.get("nonce").map(str::to_owned),
        scope,
        challenge,
        connection,
    })
}

fn client<'a>(pool: &'a Pool, p: &Params) -> Result<&'a App, AuthorizeError> {
    let id = p.get("client_id").ok_or_else(|| {
        AuthorizeError::Page(
            "client_id is required: the id of an app of this pool (pools.apps.id)".into(),
        )
    })?;
    pool.app(id).ok_or_else(|| {
        AuthorizeError::Page(format!(
            "no app {id:?} in pool {}: client_id must be the id of one of its apps (pools.apps.id)",
            pool.id.as_str()
        ))
    })
}

fn redirect_uri(app: &App, p: &Params) -> Result<String, AuthorizeError> {
    let uri = p.get("redirect_uri").ok_or_else(|| {
        AuthorizeError::Page(
            "redirect_uri is required: one of the app's pools.apps.redirect_uris".into(),
        )
    })?;
    if app.allows_redirect_uri(uri) {
        Ok(uri.to_owned())
    } else {
        Err(AuthorizeError::Page(format!(
            "redirect_uri {uri:?} is not registered for app {}: add it to its pools.apps.redirect_uris (compared byte for byte)",
            app.id.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Origin, PoolId};

    const CB: &str = "https://rp.example/cb";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn app(id: &str, secret: bool, connections: &[&str]) -> App {
        App {
            id: AppId::parse(id).unwrap(),
            name: None,
            origins: vec![Origin::parse("https://rp.example").unwrap()],
            redirect_uris: vec![CB.into()],
            return_uris: vec![],
            connections: connections
                .iter()
                .map(|c| UniqueId::parse(c).unwrap())
                .collect(),
            client_secret: secret.then(|| secrecy::SecretString::from("s".repeat(32))),
        }
    }

    fn pool() -> Pool {
        Pool {
            id: PoolId::parse("p").unwrap(),
            apps: vec![
                app("conf", true, &["xiaomi"]),
                app("pub", false, &["xiaomi", "mi2"]),
                app("none", true, &[]),
            ],
            connections: vec![],
        }
    }

    fn run(q: &str) -> Result<AuthorizeRequest, AuthorizeError> {
        check(&pool(), Params::parse(q))
    }

    fn redirect_error(q: &str) -> (AuthorizeCode, Option<String>) {
        match run(q) {
            Err(AuthorizeError::Redirect(r)) => {
                assert_eq!(r.redirect_uri, CB);
                (r.code, r.state)
            }
            other => panic!("{q}: expected a redirect error, got {other:?}"),
        }
    }

    fn page_error(q: &str) -> String {
        match run(q) {
            Err(AuthorizeError::Page(t)) => t,
            other => panic!("{q}: expected an error page, got {other:?}"),
        }
    }

    const BASE: &str = "response_type=code&scope=openid%20profile%20email&redirect_uri=https%3A%2F%2Frp.example%2Fcb&state=st";

    #[test]
    fn a_good_request_is_read_with_granted_scopes_and_the_only_connection() {
        let r = run(&format!("{BASE}&client_id=conf&nonce=n1")).unwrap();
        assert_eq!(r.client.as_str(), "conf");
        assert_eq!(r.redirect_uri, CB);
        assert_eq!(r.state.as_deref(), Some("st"));
        assert_eq!(r.nonce.as_deref(), Some("n1"));
        assert_eq!(r.scope, "openid profile", "unknown scopes are ignored");
        assert_eq!(
            r.challenge, None,
            "a confidential client may leave PKCE out"
        );
        assert_eq!(
            r.connection.map(|c| c.as_str().to_owned()).as_deref(),
            Some("xiaomi")
        );
        let p = run(&format!(
            "{BASE}&client_id=pub&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ))
        .unwrap();
        assert_eq!(p.challenge.unwrap().as_str(), CHALLENGE);
        assert_eq!(p.connection, None, "two connections: the person picks");
        let c = run(&format!("{BASE}&client_id=pub&code_challenge={CHALLENGE}&code_challenge_method=S256&connection=mi2")).unwrap();
        assert_eq!(c.connection.unwrap().as_str(), "mi2");
    }

    #[test]
    fn an_unknown_client_or_an_unregistered_redirect_uri_is_a_page_never_a_redirect() {
        assert!(
            page_error(&format!("{BASE}&client_id=nobody")).contains("no app \"nobody\" in pool p")
        );
        assert!(page_error(BASE).contains("client_id is required"));
        let other = BASE.replace("rp.example%2Fcb", "evil.example%2Fcb");
        assert!(page_error(&format!("{other}&client_id=conf"))
            .contains("is not registered for app conf"));
        let prefix = BASE.replace("%2Fcb", "%2Fcb%2Fmore");
        assert!(page_error(&format!("{prefix}&client_id=conf")).contains("not registered"));
        assert!(
            page_error("client_id=conf&response_type=code").contains("redirect_uri is required")
        );
        // A repeated client_id or redirect_uri cannot be trusted either.
        assert!(page_error(&format!("{BASE}&client_id=conf&client_id=pub"))
            .contains("client_id is repeated"));
        assert!(page_error(&format!("{BASE}&client_id=conf&redirect_uri=x"))
            .contains("redirect_uri is repeated"));
    }

    #[test]
    fn other_problems_go_back_to_the_redirect_uri_with_the_state() {
        let q = |extra: &str| format!("{BASE}&client_id=conf&{extra}");
        let cases = [
            ("prompt=none", AuthorizeCode::LoginRequired),
            ("prompt=login%20none", AuthorizeCode::LoginRequired),
            ("code_challenge=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq&code_challenge_method=plain", AuthorizeCode::InvalidRequest),
            (&format!("code_challenge={CHALLENGE}"), AuthorizeCode::InvalidRequest),
            ("nonce=a&nonce=b", AuthorizeCode::InvalidRequest),
            ("connection=elsewhere", AuthorizeCode::InvalidRequest),
            ("response_mode=fragment", AuthorizeCode::InvalidRequest),
            ("request=eyJ", AuthorizeCode::RequestNotSupported),
            ("request_uri=https%3A%2F%2Fx", AuthorizeCode::RequestUriNotSupported),
        ];
        for (extra, code) in cases {
            assert_eq!(
                redirect_error(&q(extra)),
                (code, Some("st".into())),
                "{extra}"
            );
        }
        let swap = |from: &str, to: &str| format!("{}&client_id=conf", BASE.replace(from, to));
        assert_eq!(
            redirect_error(&swap("response_type=code", "response_type=token")).0,
            AuthorizeCode::UnsupportedResponseType
        );
        assert_eq!(
            redirect_error(&swap("response_type=code", "x=y")).0,
            AuthorizeCode::InvalidRequest
        );
        assert_eq!(
            redirect_error(&swap("scope=openid%20profile%20email", "scope=profile")).0,
            AuthorizeCode::InvalidScope
        );
        let no_state = format!(
            "{}&client_id=conf&prompt=none",
            BASE.replace("&state=st", "")
        );
        assert_eq!(
            redirect_error(&no_state),
            (AuthorizeCode::LoginRequired, None)
        );
    }

    #[test]
    fn an_app_without_connections_is_told_so() {
        let (code, _) = redirect_error(&format!("{BASE}&client_id=none"));
        assert_eq!(code, AuthorizeCode::InvalidRequest);
    }

    #[test]
    fn a_public_client_must_use_pkce_s256() {
        let (code, _) = redirect_error(&format!("{BASE}&client_id=pub"));
        assert_eq!(code, AuthorizeCode::InvalidRequest);
        match run(&format!(
            "{BASE}&client_id=pub&code_challenge={CHALLENGE}&code_challenge_method=plain"
        )) {
            Err(AuthorizeError::Redirect(r)) => assert!(
                r.description.contains("plain is refused"),
                "{}",
                r.description
            ),
            other => panic!("{other:?}"),
        }
    }
}

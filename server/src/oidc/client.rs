//! Client authentication at the token endpoint (RFC 6749 §2.3.1): `client_secret_basic` (HTTP
//! Basic with the form-urlencoded id and secret), `client_secret_post` (`client_id` and
//! `client_secret` in the body), or none (a public client names itself with `client_id` and
//! proves the login with PKCE). One method per request; secrets compared in constant time. The
//! widget's tab names a confidential client without its secret: it may redeem only the widget's
//! codes ([`Caller::Tab`]).

use super::error::{TokenCode, TokenError};
use super::params::Params;
use crate::config::{App, Pool};
use crate::store::Redeemer;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// How the client presented itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `Authorization: Basic`.
    Basic,
    /// `client_secret` in the body.
    Post,
    /// No secret: a public client.
    None,
}

/// The credentials of a token request, before they are checked.
#[derive(Debug)]
pub struct Presented {
    /// The client id.
    pub id: String,
    /// The secret, if one was sent.
    pub secret: Option<SecretString>,
    /// How.
    pub method: Method,
}

fn invalid_request(d: &str) -> TokenError {
    TokenError::new(TokenCode::InvalidRequest, d)
}

fn invalid_client(d: impl Into<String>) -> TokenError {
    TokenError::new(TokenCode::InvalidClient, d)
}

/// Reads the credentials from the `Authorization` header and the form.
pub fn presented(authorization: Option<&str>, p: &Params) -> Result<Presented, TokenError> {
    let body_id = p.get("client_id");
    let body_secret = p.get("client_secret");
    let Some(header) = authorization else {
        let id = body_id.ok_or_else(|| {
            invalid_client("authenticate the client: HTTP Basic (client_secret_basic), client_id and client_secret in the body (client_secret_post), or client_id alone for a public client")
        })?;
        return Ok(Presented {
            id: id.to_owned(),
            secret: body_secret.map(|s| SecretString::from(s.to_owned())),
            method: if body_secret.is_some() {
                Method::Post
            } else {
                Method::None
            },
        });
    };
    if body_secret.is_some() {
        return Err(invalid_request("use one client authentication method: HTTP Basic or client_secret in the body, not both"));
    }
    let (id, secret) = basic(header)?;
    if body_id.is_some_and(|b| b != id) {
        return Err(invalid_request(
            "client_id in the body differs from the HTTP Basic user",
        ));
    }
    Ok(Presented {
        id,
        secret: Some(secret),
        method: Method::Basic,
    })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic(header: &str) -> Result<(String, SecretString), TokenError> {
    let bad = || {
        invalid_client("the Authorization header must be Basic base64(client_id \":\" client_secret), each form-urlencoded (RFC 6749 §2.3.1)")
    };
    let (scheme, value) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let raw = STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let id = decode(id);
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, SecretString::from(decode(secret))))
}

/// Who is at the token endpoint, after [`authenticate`].
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A client that proved itself: a confidential one with its secret, a public one by name
    /// (its codes carry PKCE).
    Client(&'a App),
    /// A confidential client's id without its secret: the widget's tab, which holds no secret.
    /// Only a code issued to the widget may be redeemed so (its PKCE verifier is the proof,
    /// [`Caller::may_redeem`]).
    Tab(&'a App),
}

impl<'a> Caller<'a> {
    /// The app it names.
    pub fn app(&self) -> &'a App {
        match self {
            Self::Client(app) | Self::Tab(app) => app,
        }
    }

    /// Whether this caller may redeem a code for `redeemer`: a code for a client needs the
    /// client's own proof; a code for the widget needs only its verifier (checked by
    /// [`super::grant::accept`]).
    pub fn may_redeem(&self, redeemer: Redeemer) -> Result<(), TokenError> {
        match (self, redeemer) {
            (Self::Tab(_), Redeemer::Client) => Err(invalid_client(
                "this client is confidential: authenticate with its client_secret (HTTP Basic or client_secret_post)",
            )),
            _ => Ok(()),
        }
    }
}

/// Who the credentials name: a confidential client with its right secret or a public client
/// ([`Caller::Client`]), a confidential client's id alone ([`Caller::Tab`]). A wrong secret, a
/// secret for a public client and an unknown id are `invalid_client`.
pub fn authenticate<'a>(pool: &'a Pool, c: &Presented) -> Result<Caller<'a>, TokenError> {
    let app = pool
        .app(&c.id)
        .ok_or_else(|| invalid_client("unknown client: client_id must be an app of this pool"))?;
    match (&app.client_secret, &c.secret) {
        (Some(want), Some(got)) => {
            if crate::crypto::ct_eq(want.expose_secret(), got.expose_secret()) {
                Ok(Caller::Client(app))
            } else {
                Err(invalid_client("client authentication failed"))
            }
        }
        (Some(_), None) => Ok(Caller::Tab(app)),
        (None, Some(_)) => Err(invalid_client(
            "this client has no client_secret (a public client): send client_id alone and a code_verifier",
        )),
        (None, None) => Ok(Caller::Client(app)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppId, PoolId};

    const SECRET: &str = "s3cret:with+symbols/and=more-than-32";

    fn pool() -> Pool {
        let app = |id: &str, secret: Option<&str>| App {
            id: AppId::parse(id).unwrap(),
            name: None,
            origins: vec![],
            redirect_uris: vec![],
            return_uris: vec![],
            connections: vec![],
            client_secret: secret.map(|s| SecretString::from(s.to_owned())),
        };
        Pool {
            id: PoolId::parse("p").unwrap(),
            apps: vec![app("conf", Some(SECRET)), app("pub", None)],
            connections: vec![],
        }
    }

    fn basic_header(id: &str, secret: &str) -> String {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        )
    }

    fn auth(header: Option<&str>, body: &str) -> Result<String, TokenError> {
        let p = Params::parse(body).unwrap();
        let pool = pool();
        let c = presented(header, &p)?;
        authenticate(&pool, &c).and_then(|caller| {
            caller.may_redeem(Redeemer::Client)?;
            Ok(format!("{}/{:?}", caller.app().id.as_str(), c.method))
        })
    }

    #[test]
    fn basic_post_and_public_authenticate() {
        let h = basic_header("conf", SECRET);
        assert_eq!(auth(Some(&h), "").unwrap(), "conf/Basic");
        assert_eq!(auth(Some(&h), "client_id=conf").unwrap(), "conf/Basic");
        let body = format!(
            "client_id=conf&client_secret={}",
            form_urlencoded::byte_serialize(SECRET.as_bytes()).collect::<String>()
        );
        assert_eq!(auth(None, &body).unwrap(), "conf/Post");
        assert_eq!(auth(None, "client_id=pub").unwrap(), "pub/None");
    }

    #[test]
    fn wrong_missing_or_doubled_credentials_are_refused() {
        let code = |h: Option<&str>, b: &str| auth(h, b).unwrap_err().code;
        assert_eq!(
            code(Some(&basic_header("conf", "wrong")), ""),
            TokenCode::InvalidClient
        );
        assert_eq!(
            code(Some(&basic_header("nobody", SECRET)), ""),
            TokenCode::InvalidClient
        );
        assert_eq!(
            code(None, "client_id=conf"),
            TokenCode::InvalidClient,
            "a confidential client without its secret"
        );
        assert_eq!(
            code(None, "client_id=pub&client_secret=x"),
            TokenCode::InvalidClient,
            "a public client has no secret"
        );
        assert_eq!(code(None, ""), TokenCode::InvalidClient);
        assert_eq!(code(Some("Bearer abc"), ""), TokenCode::InvalidClient);
        assert_eq!(code(Some("Basic !!!"), ""), TokenCode::InvalidClient);
        let h = basic_header("conf", SECRET);
        assert_eq!(
            code(Some(&h), "client_secret=x"),
            TokenCode::InvalidRequest,
            "two methods"
        );
        assert_eq!(code(Some(&h), "client_id=pub"), TokenCode::InvalidRequest);
        // The secret is not percent-decoded twice, nor taken raw when it was encoded.
        let raw = format!("Basic {}", STANDARD.encode(format!("conf:{SECRET}")));
        assert_eq!(
            code(Some(&raw), ""),
            TokenCode::InvalidClient,
            "'+' in a raw secret reads as a space"
        );
    }

    #[test]
    fn a_confidential_clients_id_alone_redeems_only_the_widgets_codes() {
        let pool = pool();
        let p = Params::parse("client_id=conf").unwrap();
        let caller = authenticate(&pool, &presented(None, &p).unwrap()).unwrap();
        assert!(matches!(caller, Caller::Tab(_)));
        let widget = Redeemer::Widget { new_user: false };
        assert!(caller.may_redeem(widget).is_ok());
        let refused = caller.may_redeem(Redeemer::Client).unwrap_err();
        assert_eq!(refused.code, TokenCode::InvalidClient);
        // A client that proved itself may redeem either.
        let p = Params::parse("client_id=pub").unwrap();
        let public = authenticate(&pool, &presented(None, &p).unwrap()).unwrap();
        assert!(public.may_redeem(Redeemer::Client).is_ok() && public.may_redeem(widget).is_ok());
    }

    #[test]
    fn a_presented_secret_is_redacted() {
        let p = Params::parse("client_id=conf&client_secret=visible-secret").unwrap();
        let c = presented(None, &p).unwrap();
        assert!(!format!("{c:?}").contains("visible-secret"));
    }
}

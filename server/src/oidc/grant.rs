//! The token request (RFC 6749 §4.1.3) and what a redeemed code must match: the client it was
//! issued to, the redirect URI of its authorization request, its lifetime, and the PKCE verifier
//! of its challenge (RFC 7636 §4.6). A verifier for a code issued without a challenge is refused
//! too (RFC 9700 §2.1.1: otherwise an attacker injects a code of a flow without PKCE).

use super::error::{TokenCode, TokenError};
use super::params::Params;
use super::pkce::Challenge;
use crate::config::App;
use crate::store::{Code, Redeemed};

/// A parsed `grant_type=authorization_code` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The code.
    pub code: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The PKCE verifier.
    pub verifier: Option<String>,
}

fn invalid(code: TokenCode, d: &str) -> TokenError {
    TokenError::new(code, d)
}

/// Reads the grant parameters of a token request.
pub fn parse(p: &Params) -> Result<TokenRequest, TokenError> {
    match p.get("grant_type") {
        Some("authorization_code") => {}
        None => {
            return Err(invalid(
                TokenCode::InvalidRequest,
                "grant_type is required: grant_type=authorization_code",
            ))
        }
        Some(_) => {
            return Err(invalid(
                TokenCode::UnsupportedGrantType,
                "only grant_type=authorization_code is supported",
            ))
        }
    }
    let code = p
        .get("code")
        .ok_or_else(|| invalid(TokenCode::InvalidRequest, "code is required"))?;
    let redirect_uri = p.get("redirect_uri").ok_or_else(|| {
        invalid(
            TokenCode::InvalidRequest,
            "redirect_uri is required: the one of the authorization request",
        )
    })?;
    Ok(TokenRequest {
        code: code.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        verifier: p.get("code_verifier").map(str::to_owned),
    })
}

/// The stored code a redeem found, if `client` may exchange it with this request. Every refusal
/// is `invalid_grant` with a description that does not tell which part of the code was wrong
/// beyond what the client itself sent.
pub fn accept(found: Redeemed, client: &App, req: &TokenRequest) -> Result<Code, TokenError> {
    let grant = |d: &str| invalid(TokenCode::InvalidGrant, d);
    let code = match found {
        Redeemed::Fresh(c) => c,
        Redeemed::Expired(_) => {
            return Err(grant(
                "the code has expired (codes live 60 seconds); start the login again",
            ))
        }
        Redeemed::Reused(_) => {
            return Err(grant("the code was already used; start the login again"))
        }
        Redeemed::Unknown => return Err(grant("unknown code")),
    };
    if code.client != client.id {
        return Err(grant("the code was issued to another client"));
    }
    if code.redirect_uri != req.redirect_uri {
        return Err(grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&code.challenge, &req.verifier) {
        (Some(c), Some(v)) => {
            let ok = Challenge::parse(c).is_ok_and(|c| c.verifies(v));
            if !ok {
                return Err(grant("code_verifier does not match the code_challenge"));
            }
        }
        (Some(_), None) => {
            return Err(grant(
                "code_verifier is required: the authorization request had a code_challenge",
            ))
        }
        (None, Some(_)) => {
            return Err(grant(
                "code_verifier sent for a code issued without code_challenge",
            ))
        }
        (None, None) if !client.is_confidential() => {
            return Err(grant("a public client must use PKCE"));
        }
        (None, None) => {}
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppId, PoolId, UniqueId};
    use crate::store::Redeemer;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https://rp.example/cb";

    fn app(id: &str, confidential: bool) -> App {
        App {
            id: AppId::parse(id).unwrap(),
            name: None,
            origins: vec![],
            redirect_uris: vec![CB.into()],
            return_uris: vec![],
            connections: vec![],
            client_secret: confidential.then(|| secrecy::SecretString::from("x".repeat(32))),
        }
    }

    fn code(client: &str, challenge: Option<&str>) -> Code {
        Code {
            code_hash: "h".into(),
            pool: PoolId::parse("p").unwrap(),
            client: AppId::parse(client).unwrap(),
            redirect_uri: CB.into(),
            challenge: challenge.map(str::to_owned),
            nonce: Some("n".into()),
            scope: "openid".into(),
            user_id: "u".into(),
            connection: UniqueId::parse("xiaomi").unwrap(),
            auth_time: 1,
            created_at: 1,
            expires_at: 61,
            redeemer: Redeemer::Client,
        }
    }

    fn req(verifier: Option<&str>) -> TokenRequest {
        TokenRequest {
            code: "c".into(),
            redirect_uri: CB.into(),
            verifier: verifier.map(str::to_owned),
        }
    }

    fn refused(found: Redeemed, client: &App, r: &TokenRequest) -> String {
        let e = accept(found, client, r).unwrap_err();
        assert_eq!(e.code, TokenCode::InvalidGrant);
        e.description
    }

    #[test]
    fn a_fresh_code_with_its_client_uri_and_verifier_is_accepted() {
        let c = code("pub", Some(CHALLENGE));
        assert_eq!(
            accept(
                Redeemed::Fresh(c.clone()),
                &app("pub", false),
                &req(Some(VERIFIER))
            )
            .unwrap(),
            c
        );
        let c = code("conf", None);
        assert_eq!(
            accept(Redeemed::Fresh(c.clone()), &app("conf", true), &req(None)).unwrap(),
            c
        );
    }

    #[test]
    fn every_mismatch_is_invalid_grant() {
        let public = app("pub", false);
        let fresh = || Redeemed::Fresh(code("pub", Some(CHALLENGE)));
        assert!(refused(
            Redeemed::Reused(code("pub", None)),
            &public,
            &req(Some(VERIFIER))
        )
        .contains("already used"));
        assert!(refused(
            Redeemed::Expired(code("pub", None)),
            &public,
            &req(Some(VERIFIER))
        )
        .contains("expired"));
        assert!(refused(Redeemed::Unknown, &public, &req(Some(VERIFIER))).contains("unknown"));
        assert!(
            refused(fresh(), &app("other", false), &req(Some(VERIFIER))).contains("another client")
        );
        let mut elsewhere = req(Some(VERIFIER));
        elsewhere.redirect_uri = format!("{CB}/x");
        assert!(refused(fresh(), &public, &elsewhere).contains("redirect_uri"));
        assert!(
            refused(fresh(), &public, &req(Some(&VERIFIER.replace('d', "e"))))
                .contains("does not match")
        );
        assert!(
            refused(fresh(), &public, &req(Some(CHALLENGE))).contains("does not match"),
            "plain: the challenge as verifier"
        );
        assert!(refused(fresh(), &public, &req(None)).contains("code_verifier is required"));
        let conf = app("conf", true);
        assert!(refused(
            Redeemed::Fresh(code("conf", None)),
            &conf,
            &req(Some(VERIFIER))
        )
        .contains("without code_challenge"));
        assert!(
            refused(Redeemed::Fresh(code("pub", None)), &public, &req(None))
                .contains("must use PKCE")
        );
    }

    #[test]
    fn the_request_needs_the_grant_type_code_and_redirect_uri() {
        let p = |s: &str| parse(&Params::parse(s).unwrap());
        let ok = p("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=v").unwrap();
        assert_eq!(
            ok,
            TokenRequest {
                code: "abc".into(),
                redirect_uri: CB.into(),
                verifier: Some("v".into())
            }
        );
        assert_eq!(
            p("grant_type=refresh_token&code=a&redirect_uri=x")
                .unwrap_err()
                .code,
            TokenCode::UnsupportedGrantType
        );
        assert_eq!(
            p("code=a&redirect_uri=x").unwrap_err().code,
            TokenCode::InvalidRequest
        );
        assert_eq!(
            p("grant_type=authorization_code&redirect_uri=x")
                .unwrap_err()
                .code,
            TokenCode::InvalidRequest
        );
        assert_eq!(
            p("grant_type=authorization_code&code=a").unwrap_err().code,
            TokenCode::InvalidRequest
        );
    }
}

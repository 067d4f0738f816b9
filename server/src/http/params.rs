//! Query and form parameters as typed structs, read by axum's `Query` and `Form` (serde): a key
//! the struct names twice is refused as a "duplicate field", keys it does not name are
//! ignored, values no later check bounds sit in [`Bounded`] fields that refuse
//! over-long ones, and the whole query or body is capped by [`Params::MAX_BYTES`].
//! A refusal is the 400 error page (in the reader's language) saying which parameter is wrong
//! and why. The login routes' parameter structs live here too: [`AuthorizeParams`],
//! [`CallbackQuery`].

use super::pages::{error_page, Lang};
use crate::domain::{AppId, AttemptId, Origin};
use crate::login::finish::CallbackParams;
use crate::login::start::AuthorizeQuery;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use milogin_shared::ErrorCode;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// A parameter value of at most `MAX` bytes (longer ones are refused while deserialising, with
/// the parameter's name in the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded<const MAX: usize>(String);

impl<const MAX: usize> Bounded<MAX> {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Bounded<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() > MAX {
            return Err(D::Error::custom(format_args!(
                "the value is longer than {MAX} bytes"
            )));
        }
        Ok(Self(s))
    }
}

/// A parameter struct: how long its whole query string or form body may be.
pub trait Params: DeserializeOwned + Send {
    /// The longest accepted query string or form body, bytes.
    const MAX_BYTES: usize;
}

/// Reads `T` from `application/x-www-form-urlencoded` bytes (a query string or a form body) the
/// way axum's `Query` and `Form` do (`serde_urlencoded` through `serde_path_to_error`, so a
/// message names the parameter); `Err` says what is wrong. Invalid percent-encoding decodes
/// lossily (and then fails the value's own check). The form's `Content-Type` is not required:
/// the form is the only body these routes read.
pub fn parse<T: Params>(raw: &[u8]) -> Result<T, String> {
    if raw.len() > T::MAX_BYTES {
        return Err(format!("longer than {} bytes", T::MAX_BYTES));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw));
    serde_path_to_error::deserialize(de).map_err(|e| e.to_string())
}

/// The query string as `T`; refused with the 400 page.
pub struct Query<T>(pub T);

/// The form body as `T`; refused with the 400 page.
pub struct Form<T>(pub T);

/// The 400 page for parameters that cannot be read.
fn refused(parts: &Parts, what: &str, why: &str) -> Response {
    let lang = Lang::from_headers(&parts.headers);
    let why = format!("The {what} is not valid: {why}.");
    error_page(
        StatusCode::BAD_REQUEST,
        lang,
        ErrorCode::InvalidRequest,
        &why,
    )
}

impl<T: Params, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let raw = parts.uri.query().unwrap_or("").as_bytes();
        parse(raw)
            .map(Self)
            .map_err(|why| refused(parts, "query", &why))
    }
}

impl<T: Params, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, T::MAX_BYTES).await {
            Ok(raw) => parse(&raw).map(Self),
            Err(_) => Err(format!("longer than {} bytes", T::MAX_BYTES)),
        }
        .map_err(|why| refused(&parts, "form", &why))
    }
}

/// The authorize query: the login's inputs, each at most once; other keys are ignored. Each
/// value is checked against the configuration (a registered origin or redirect URI may be of any
/// length `milogin check` accepts) or its own rule, and refused with the page naming the fix and
/// the "login refused" log line: only the whole query is capped here.
#[derive(Deserialize)]
pub struct AuthorizeParams {
    app_id: Option<String>,
    origin: Option<String>,
    attempt: Option<String>,
    mode: Option<String>,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
}

impl Params for AuthorizeParams {
    const MAX_BYTES: usize = 4096;
}

impl AuthorizeParams {
    /// The app id (as sent).
    pub fn app_id(&self) -> Option<&str> {
        self.app_id.as_deref()
    }
}

impl From<AuthorizeParams> for AuthorizeQuery {
    /// The app id, origin and attempt id parsed into their types (the only place), a bad value
    /// kept as its error for the login to refuse in order.
    fn from(q: AuthorizeParams) -> Self {
        Self {
            app_id: q.app_id.map(|a| AppId::parse(&a).map_err(|_| a)),
            origin: q.origin.map(|o| Origin::parse(&o).map_err(|_| o)),
            attempt: q.attempt.map(|a| AttemptId::parse(&a)),
            mode: q.mode,
            redirect_uri: q.redirect_uri,
            code_challenge: q.code_challenge,
        }
    }
}

/// The callback query: only the parameters we read (X-05, X-23: others are ignored), each at
/// most once, their lengths capped.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<Bounded<512>>,
    state: Option<Bounded<128>>,
    error: Option<Bounded<128>>,
    error_description: Option<Bounded<1024>>,
}

impl Params for CallbackQuery {
    const MAX_BYTES: usize = 8192;
}

impl From<CallbackQuery> for CallbackParams {
    fn from(q: CallbackQuery) -> Self {
        Self {
            code: q.code.map(Bounded::into_inner),
            state: q.state.map(Bounded::into_inner),
            error: q.error.map(Bounded::into_inner),
            error_description: q.error_description.map(Bounded::into_inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Two {
        a: Option<Bounded<3>>,
        b: Option<Bounded<3>>,
    }
    impl Params for Two {
        const MAX_BYTES: usize = 20;
    }

    async fn page_text(r: Response) -> String {
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// `T` read from `req` by extractor `E`, or the text of its 400 page.
    async fn read<E: FromRequest<(), M>, M, T>(
        req: Request,
        inner: impl FnOnce(E) -> T,
    ) -> Result<T, String>
    where
        E::Rejection: Into<Response>,
    {
        match E::from_request(req, &()).await {
            Ok(e) => Ok(inner(e)),
            Err(r) => Err(page_text(r.into()).await),
        }
    }

    async fn query(q: &str) -> Result<Two, String> {
        let req = Request::get(format!("/x?{q}")).body(Body::empty()).unwrap();
        read(req, |Query(t): Query<Two>| t).await
    }

    async fn form(body: &str) -> Result<Two, String> {
        let req = Request::post("/x")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        read(req, |Form(t): Form<Two>| t).await
    }

    #[tokio::test]
    async fn repeated_and_over_long_values_are_refused_by_name_and_unknown_keys_ignored() {
        let b = |s: &str| Some(Bounded(s.to_owned()));
        assert_eq!(
            query("a=x&c=ignored").await.unwrap(),
            Two { a: b("x"), b: None }
        );
        assert_eq!(query("b=%ZZ").await.unwrap().b, b("%ZZ"), "decoded lossily");
        assert_eq!(query("").await.unwrap(), Two { a: None, b: None });
        assert_eq!(form("b=y&z=1").await.unwrap(), Two { a: None, b: b("y") });
        for bad in [query("a=x&a=y").await, form("a=x&a=y").await] {
            let page = bad.unwrap_err();
            assert!(page.contains("duplicate field `a`"), "{page}");
        }
        for bad in [query("b=abcd").await, form("b=abcd").await] {
            let page = bad.unwrap_err();
            assert!(
                page.contains("b: the value is longer than 3 bytes"),
                "{page}"
            );
        }
        let page = query(&"c=x&".repeat(6)).await.unwrap_err();
        assert!(
            page.contains("The query is not valid: longer than 20 bytes."),
            "{page}"
        );
        let page = form(&"c=x&".repeat(6)).await.unwrap_err();
        assert!(
            page.contains("The form is not valid: longer than 20 bytes."),
            "{page}"
        );
    }

    fn authorize(q: &str) -> Result<AuthorizeQuery, String> {
        parse::<AuthorizeParams>(q.as_bytes()).map(AuthorizeQuery::from)
    }

    fn callback(q: &str) -> Result<CallbackParams, String> {
        parse::<CallbackQuery>(q.as_bytes()).map(CallbackParams::from)
    }

    #[test]
    fn authorize_query_parses_ids_and_origin_once() {
        let q = authorize(
            "app_id=shop&origin=HTTPS://Shop.example.com:443&attempt=abcdefghijklmnop&mode=popup",
        )
        .unwrap();
        assert_eq!(q.app_id.unwrap().unwrap().as_str(), "shop");
        assert_eq!(
            q.origin.unwrap().unwrap().as_str(),
            "https://shop.example.com"
        );
        assert_eq!(q.attempt.unwrap().unwrap().as_str(), "abcdefghijklmnop");
        // Bad values are kept as errors (refused later, in order); a bad app id names no app.
        let q = authorize("app_id=a/b&origin=null&attempt=short").unwrap();
        assert_eq!(q.app_id, Some(Err("a/b".to_string())));
        assert!(q.origin.unwrap().is_err());
        assert!(q.attempt.unwrap().is_err());
        assert!(authorize("attempt=a&attempt=b").is_err());
        // No value is capped on its own (each is checked against the configuration or its own
        // rule, and refused with the page naming the fix): only the whole query is.
        let long = format!("https://shop.example.com/{}", "a".repeat(3000));
        let q = authorize(&format!("redirect_uri={long}&mode={}", "m".repeat(500))).unwrap();
        assert_eq!(q.redirect_uri, Some(long));
        assert!(authorize(&format!("app_id=a&pad={}", "x".repeat(4096))).is_err());
    }

    #[test]
    fn callback_query_keeps_only_trusted_parameters() {
        let p =
            callback("code=c&state=s&origin=https://evil&redirect_uri=x&mode=redirect").unwrap();
        assert_eq!(
            p,
            CallbackParams {
                code: Some("c".into()),
                state: Some("s".into()),
                error: None,
                error_description: None
            }
        );
        assert!(callback("code=a&code=b&state=s").is_err());
        assert!(callback("state=a&state=a").is_err());
        assert!(callback(&format!("code={}&state=s", "a".repeat(512 + 1))).is_err());
        assert!(callback(&"x".repeat(9000)).is_err());
        assert_eq!(callback("state=%ZZ").unwrap().state.as_deref(), Some("%ZZ"));
        assert_eq!(callback("").unwrap(), CallbackParams::default());
    }
}

//! The widget's fragment paths through the code machinery (issue 21.6). A widget login whose
//! result comes back through a page's address (redirect mode, the popup's return page) recorded
//! the widget's PKCE challenge at authorize (`crate::login::start`); when it succeeds, that page
//! gets a one-time code ([`code_for`]) that only the tab holding the verifier redeems at the
//! pool's token endpoint, for the widget's result message (`super::exchange`). The fragment says
//! `code=…&attempt=…` or `error=…&error_description=…&attempt=…` ([`fragment`]); never a token.

use super::deliver::{issue_code, take};
use super::CodeError;
use crate::state::AppState;
use crate::store::Redeemer;
use milogin_shared::{ErrorCode, Outcome, ResultMessage};

/// The one-time code for the success `m` of a login whose result goes to `back`: `None` when the
/// login failed or recorded no challenge (a popup with a return page started without one).
/// The login's request is taken either way.
pub async fn code_for(
    st: &AppState,
    back: &str,
    m: &ResultMessage,
) -> Result<Option<String>, CodeError> {
    let request = match take(st, back, &m.attempt).await {
        Ok(r) => r,
        Err(CodeError::RequestGone) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Outcome::Success { user, .. } = &m.outcome else {
        return Ok(None);
    };
    let Some(new_user) = request.challenge.as_ref().map(|_| user.new_user) else {
        return Ok(None);
    };
    let redeemer = Redeemer::Widget { new_user };
    issue_code(st, &request, user, redeemer).await.map(Some)
}

/// What the page says when a success came back without a code.
pub const NO_CODE: &str = "This login started without code_challenge, so its result cannot come back through the page's address. Load milogin.js from this server and log in again.";

/// What the page says when the code could not be issued.
pub const NOT_ISSUED: &str = "The login could not be finished. Please try again.";

/// The fragment for the page at the login's address: `code` for a success that got one (else the
/// error that says why: `issued` is the code, `Err` when issuing it failed), the login's error
/// otherwise; always its `attempt`.
pub fn fragment(m: &ResultMessage, issued: Result<Option<&str>, ()>) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    match (&m.outcome, issued) {
        (Outcome::Success { .. }, Ok(Some(code))) => {
            f.append_pair("code", code);
        }
        (Outcome::Success { .. }, Ok(None)) => {
            f.append_pair("error", ErrorCode::InvalidRequest.as_str())
                .append_pair("error_description", NO_CODE);
        }
        (Outcome::Success { .. }, Err(())) => {
            f.append_pair("error", ErrorCode::Internal.as_str())
                .append_pair("error_description", NOT_ISSUED);
        }
        (Outcome::Failure(e), _) => {
            f.append_pair("error", e.code.as_str())
                .append_pair("error_description", &e.message);
        }
    }
    f.append_pair("attempt", &m.attempt);
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use milogin_shared::UserInfo;

    fn success() -> ResultMessage {
        ResultMessage {
            attempt: "a-1".into(),
            outcome: Outcome::Success {
                id_token: "eyJ.secret.token".into(),
                user: UserInfo {
                    id: "u".into(),
                    nickname: "n".into(),
                    avatar: None,
                    connection: "c".into(),
                    new_user: true,
                },
            },
        }
    }

    #[test]
    fn a_success_carries_its_code_and_never_the_token() {
        let f = fragment(&success(), Ok(Some("the-code")));
        assert_eq!(f, "code=the-code&attempt=a-1");
        for issued in [Ok(None), Err(())] {
            let f = fragment(&success(), issued);
            assert!(f.starts_with("error="), "{f}");
            assert!(!f.contains("eyJ"), "{f}");
        }
    }

    #[test]
    fn a_failure_carries_its_error() {
        let m = ResultMessage::failure("a-2", ErrorCode::AccessDenied);
        let f = fragment(&m, Ok(None));
        assert!(
            f.starts_with("error=access_denied&error_description="),
            "{f}"
        );
        assert!(f.ends_with("&attempt=a-2"), "{f}");
    }
}

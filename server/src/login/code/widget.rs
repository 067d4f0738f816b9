//! The widget's fragment paths through the code machinery (issue 21.6). A widget login whose
//! result comes back through a page's address (redirect mode, the popup's return page) recorded
//! the widget's PKCE challenge at authorize (`crate::login::start`); when it succeeds, that page
//! gets a one-time code ([`code_for`]) that only the tab holding the verifier redeems at the
//! pool's token endpoint, for the widget's result message (`super::exchange`). The fragment says
//! `code=…&attempt=…` or `error=…&error_description=…&attempt=…` ([`fragment`]); never a token.

use super::deliver::{issue_code, take};
use super::CodeError;
use crate::login::Target;
use crate::state::AppState;
use crate::store::Redeemer;
use milogin_shared::{ErrorCode, Outcome, ResultMessage};

/// What a login whose result comes back through a page's address got for that page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// A one-time code for its success.
    Code(String),
    /// Nothing: the login failed (its error goes to the page), or a popup with a return page
    /// started without a challenge.
    Nothing,
    /// Redirect mode's request is gone (expired, taken, or the page is no longer registered).
    Gone,
    /// The code could not be recorded (the database failed; the cause is logged).
    Failed,
}

/// The one-time code for the success `m` of a login whose result goes to `target`'s address
/// (none for a target without one). The login's request is taken whatever the result; none is
/// found for a popup that sent no challenge (nothing was recorded), and in redirect mode (where
/// the challenge is required) only when it is gone.
pub async fn code_for(
    st: &AppState,
    target: &Target,
    m: &ResultMessage,
) -> Result<Issued, CodeError> {
    let Some(back) = target.address() else {
        return Ok(Issued::Nothing);
    };
    let request = match take(st, back, &m.attempt).await {
        Ok(r) => r,
        Err(CodeError::RequestGone) if matches!(target, Target::Redirect(_)) => {
            return Ok(Issued::Gone)
        }
        Err(CodeError::RequestGone) => return Ok(Issued::Nothing),
        Err(e) => return Err(e),
    };
    let Outcome::Success { user, .. } = &m.outcome else {
        return Ok(Issued::Nothing);
    };
    if request.challenge.is_none() {
        return Ok(Issued::Nothing);
    }
    let redeemer = Redeemer::Widget {
        new_user: user.new_user,
    };
    let code = issue_code(st, &request, user, redeemer).await?;
    Ok(Issued::Code(code))
}

/// What the page says when a success came back without a code.
pub const NO_CODE: &str = "This login started without code_challenge, so its result cannot come back through the page's address. Load milogin.js from this server on a secure page (https or http://localhost) and log in again.";

/// What the page says when the login's request is gone.
pub const GONE: &str =
    "This login took too long or was already finished. Go back to the site and log in again.";

/// What the page says when the code could not be issued.
pub const NOT_ISSUED: &str = "The login could not be finished. Please try again.";

/// The fragment for the page at the login's address: `code` for a success that got one (else the
/// error that says why), the login's own error otherwise; always its `attempt`.
pub fn fragment(m: &ResultMessage, issued: &Issued) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    let (code, message) = match (&m.outcome, issued) {
        (Outcome::Success { .. }, Issued::Code(code)) => {
            f.append_pair("code", code);
            f.append_pair("attempt", &m.attempt);
            return f.finish();
        }
        (Outcome::Failure(e), _) => (e.code, e.message.as_str()),
        (Outcome::Success { .. }, Issued::Nothing) => (ErrorCode::InvalidRequest, NO_CODE),
        (Outcome::Success { .. }, Issued::Gone) => (ErrorCode::StateExpired, GONE),
        (Outcome::Success { .. }, Issued::Failed) => (ErrorCode::Internal, NOT_ISSUED),
    };
    f.append_pair("error", code.as_str())
        .append_pair("error_description", message)
        .append_pair("attempt", &m.attempt);
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
        let f = fragment(&success(), &Issued::Code("the-code".into()));
        assert_eq!(f, "code=the-code&attempt=a-1");
        for (issued, code) in [
            (Issued::Nothing, "invalid_request"),
            (Issued::Gone, "state_expired"),
            (Issued::Failed, "internal"),
        ] {
            let f = fragment(&success(), &issued);
            assert!(f.starts_with(&format!("error={code}&")), "{f}");
            assert!(!f.contains("eyJ"), "{f}");
        }
    }

    #[test]
    fn a_failure_carries_its_error() {
        let m = ResultMessage::failure("a-2", ErrorCode::AccessDenied);
        let f = fragment(&m, &Issued::Code("unused".into()));
        assert!(
            f.starts_with("error=access_denied&error_description="),
            "{f}"
        );
        assert!(f.ends_with("&attempt=a-2"), "{f}");
    }
}

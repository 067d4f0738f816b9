//! Where an error meets HTTP, its cause is logged once, as a chain (`a: b: c`,
//! `crate::telemetry::Chain`): a [`LoginError`] (`super::respond`, `super::login`) and a
//! [`CodeError`] of the OpenID Connect code flow (`super::code_flow`, `super::code_delivery`).

use crate::login::code::CodeError;
use crate::login::LoginError;
use crate::telemetry::Chain;
use milogin_shared::ErrorCode;

/// Where a login error meets HTTP, its cause is logged once, as a chain (`a: b: c`): at `error`
/// when something of ours broke (database, keys), at `warn` when the provider did. A decision
/// (a refusal, a disabled user…) is not a failure and logs nothing here.
pub fn log_cause(error: &LoginError) {
    if error.is_failure() {
        let internal = error.code() == ErrorCode::Internal;
        log_chain(error, internal, error.code().as_str());
    }
}

/// [`log_cause`] for the OpenID Connect code flow; `reason` is the RFC 6749 `error` answered.
pub fn log_code_cause(error: &CodeError, reason: &str) {
    if error.is_failure() {
        let internal = match error {
            CodeError::NotStarted(e) => e.code() == ErrorCode::Internal,
            _ => true,
        };
        log_chain(error, internal, reason);
    }
}

fn log_chain(error: &(dyn std::error::Error + 'static), internal: bool, reason: &str) {
    let chain = Chain(error);
    if internal {
        tracing::error!(error = %chain, reason, "login failed");
    } else {
        tracing::warn!(error = %chain, reason, "login failed");
    }
}

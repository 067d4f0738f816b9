//! OpenID Connect's authorization code flow (issue 21) as login steps, next to [`super::issue`]:
//! [`begin`] records a checked authorization request and starts an ordinary login of mode
//! `oidc`; [`deliver`] ends that login with a one-time code (or the error) for the client's
//! redirect URI; [`exchange`] redeems a code at the token endpoint and mints the tokens;
//! [`widget`] gives the widget's fragment paths (redirect mode, the return page) a code in place
//! of the token. The checks themselves are `crate::oidc`'s pure functions; every step fails with
//! [`CodeError`] (its [`error`] module), which `crate::http` renders and whose cause it logs
//! once, as a chain.

pub mod begin;
pub mod deliver;
pub mod error;
pub mod exchange;
pub mod widget;

pub use error::{CodeError, ReturnTo, Returned};

//! Typed configuration (design.md §3): defaults → TOML file → `MILOGIN_…` environment overrides
//! (`__` separates levels, a number indexes an array: `MILOGIN_POOLS__0__APPS__0__ORIGINS`), then
//! validated into [`Config`]. Every problem is collected with its key and how to fix it, so
//! `milogin check` can list them all at once. No other module parses or validates configuration.
//!
//! Secrets are `{ env = "NAME" }` or `{ file = "path" }` and live in [`secrecy::SecretString`].
//!
//! `model` is what the rest of the server reads, `connection` a connection and its provider's
//! settings; `load` reads the file and the environment; `raw` is the file's serde shape;
//! `validate` turns it into the model; `fixture` writes files (tests, the benchmark, `milogin
//! demo`).

mod check;
mod connection;
pub mod fixture;
mod load;
mod model;
mod origin;
mod pools;
mod raw;
mod validate;
mod xiaomi;

pub use connection::*;
pub use load::DatabaseSettings;
pub use model::*;

#[cfg(test)]
mod tests;

//! Values every layer shares and nothing of ours underlies: typed ids and origins (parsed once),
//! the normal forms of contact fields and sign-in identifiers, the delivery mode, and the client
//! address behind trusted proxies. Pure functions on plain data; this module imports nothing else
//! of the crate.

pub mod client_addr;
pub mod contact;
pub mod ids;
pub mod mode;
pub mod origin;
pub mod sqlite_url;

pub use ids::{AppId, AttemptId, IdError, PoolId, UniqueId};
pub use origin::Origin;

//! Values every layer shares and nothing of ours underlies: the normal forms of contact fields and
//! sign-in identifiers, and the client address behind trusted proxies. Pure functions on plain
//! data; this module imports nothing else of the crate.

pub mod client_addr;
pub mod contact;
pub mod mode;

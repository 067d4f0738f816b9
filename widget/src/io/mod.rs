//! BROWSER I/O, plain wasm-bindgen / web-sys (wasm32 only): what must happen at an exact moment
//! with exact lifetimes, which a reactive view should not own.
//!
//! * [`popup`]: the login controller — `window.open` inside the click, the `message` listener,
//!   the poll and the deadline, redirect mode out; it reports to the button's signals.
//! * [`delivery`]: the `milogin:*` events, the return page's `BroadcastChannel` relay, redirect
//!   mode's way back.
//! * [`api`]: the connection list (gloo-net).
//! * [`web`]: page globals, `Reflect` helpers, attempt ids, the server's URLs.

pub mod api;
pub mod delivery;
pub mod popup;
pub mod web;

//! LEPTOS (wasm32 only): the button's view. [`state::ButtonState`] holds its signals (the
//! attributes, what is shown, the connection list) and what is derived from them (the label as a
//! memo; usable and the preflight verdict as functions); [`button::LoginButton`] renders them inside the element's
//! shadow root. Theme, size and shape are pure CSS on the host's attributes (`style.css`), so the
//! view never touches them.

pub mod button;
pub mod state;

//! LEPTOS (wasm32 only): the button's view. [`state::ButtonState`] holds its signals (the
//! attributes, what is shown, the connection list) and the memos derived from them (label,
//! usable, the preflight verdict); [`button::LoginButton`] renders them inside the element's
//! shadow root. Theme, size and shape are pure CSS on the host's attributes (`style.css`), so the
//! view never touches them.

pub mod button;
pub mod state;

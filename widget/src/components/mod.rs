//! Leptos components. They only wire signals to the controller in `popup.rs`.

mod button;

pub use button::LoginButton;

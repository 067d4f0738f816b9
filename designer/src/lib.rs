//! milogin button designer: a Leptos CSR app served by the login server at `/designer` (its own
//! bundle, built by `cargo xtask build-designer` into `public/designer/`; never loaded by host
//! pages). Designers set every attribute of `<milogin-button>`, see the real element live in
//! light and dark, English and Chinese, narrow; copy the snippet; and see what the server answers
//! for the button's ids and for their site's origin — only what the public connection list
//! already tells any page.
//!
//! * [`design`] (pure): the controls, the snippet and the config line — native tests.
//! * [`answer`] (pure): the server's answer as shown — native tests.
//! * `api` (wasm32): the two requests, with gloo-net.
//! * `app` (wasm32): the Leptos components.

pub mod answer;
pub mod design;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;

/// Mounts the designer on the page's body when the wasm starts.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn main() {
    leptos::mount::mount_to_body(app::Designer);
}

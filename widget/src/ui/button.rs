//! The button's view: `<button part="button">` with the mark (or the spinner while busy), the
//! label and a polite live region, every changing value a closure over [`ButtonState`]. The label
//! is always text, never HTML; the mark is inline SVG (no image, so a page's `img-src` cannot hide
//! it; one copy, the loader's). The styles are the loader's constructed sheet (`style.css`, adopted by the shadow root
//! before this view exists), so the wasm carries no CSS.

use crate::core::num::decimal;
use crate::ui::state::ButtonState;
use leptos::prelude::*;
use std::sync::Arc;

/// The login button. Its click is not a Leptos `on:click`: the controller listens on the
/// `<button>` node itself (`io::popup::Login::listen_clicks`), plain web-sys, because tachys wraps
/// every `on:` handler in a `SendWrapper` whose thread check costs ~2 KB brotli of the budget
/// (docs/widget-size.md); the node stays the same for the view's whole life, so nothing is lost.
#[component]
pub fn LoginButton(state: ButtonState) -> impl IntoView {
    let ButtonState {
        attrs,
        shown,
        label,
        ..
    } = state;
    // A button the server refused (unknown pool or app, an unregistered page, a connection the
    // app lacks) looks disabled and says why in its tooltip, which is also its accessible
    // description; a click still fires the refusal's `milogin:error` (the page may listen).
    let refusal = move || {
        state
            .preflight()
            .refusal
            .map(|r| Arc::<str>::from(r.message))
    };
    let title = move || refusal().unwrap_or_else(|| label.get());
    let disabled = move || {
        if state.usable() && refusal().is_none() {
            "false"
        } else {
            "true"
        }
    };
    let width = move || {
        attrs.with(|p| match p.config.width {
            Some(w) => [&decimal(w.into()), "px"].concat(),
            None => String::new(),
        })
    };
    // The mark (`widget/src/mark.svg`), as the loader handed it over: inline SVG, static.
    let mark = crate::io::web::mark();
    let said = move || {
        let texts = attrs.with(|p| p.config.locale.texts());
        shown.get().said(texts)
    };
    view! {
        <button
            part="button"
            type="button"
            data-state=move || shown.get().state()
            aria-busy=move || shown.get().busy()
            aria-disabled=disabled
            aria-label=label
            title=title
            style:width=width
        >
            <i class="m" aria-hidden="true" inner_html=mark></i>
            <span class="spin" aria-hidden="true"></span>
            <span class="label">{label}</span>
        </button>
        <span class="sr" role="status" aria-live="polite">{said}</span>
    }
}

//! `<button part="button">` and its polite live region, inside the element's shadow root.

use crate::config::{Config, Shape};
use crate::connections;
use crate::popup::{self, Change, Login};
use crate::protocol::End;
use leptos::prelude::*;
use milogin_shared as wire;
use std::rc::Rc;
use web_sys::HtmlElement;

/// The login button. Its label is `display-name`, else the connection's display name from the
/// server, else (until the server answered) the locale's default; always rendered as text.
#[component]
pub fn LoginButton(
    /// The parsed attributes.
    cfg: Rc<Config>,
    /// False when a required attribute is missing: the button is shown disabled.
    usable: bool,
    /// The controller this button's clicks go to.
    login: Rc<Login>,
    /// The `<milogin-button>` element; the `milogin:*` events are dispatched on it.
    host: HtmlElement,
    /// The milogin server's origin.
    server: Rc<str>,
) -> impl IntoView {
    let texts = cfg.locale.texts();
    let state = RwSignal::new("idle");
    let status = RwSignal::new("");
    let label = RwSignal::new(cfg.display_name.clone().unwrap_or_else(|| texts.label.into()));
    let button = NodeRef::<leptos::html::Button>::new();

    if usable && cfg.display_name.is_none() {
        connections::display_name(&server, &cfg.pool, &cfg.app, cfg.connection.clone(), move |name| {
            label.try_set(name);
        });
    }

    login.set_on_change(Box::new(move |change| {
        let end = match change {
            Change::Opened => {
                state.try_set("open");
                status.try_set(texts.opened);
                return;
            }
            Change::Ended(end) => end,
        };
        let said = match &end {
            End::Outcome(wire::Outcome::Success { .. }) => texts.signed_in,
            End::Outcome(wire::Outcome::Failure(_)) => texts.failed,
            End::Cancelled { .. } => texts.cancelled,
            End::Blocked => texts.blocked,
            End::TimedOut => texts.timed_out,
        };
        state.try_set("done");
        status.try_set(said);
        if let Some(b) = button.try_get_untracked().flatten() {
            let _ = b.focus();
        }
        // Last: a listener may remove the element (and dispose of this component).
        popup::dispatch(&host, &end);
    }));

    let icon = cfg.shape == Shape::Icon;
    view! {
        <button
            part="button"
            type="button"
            class=cfg.classes()
            disabled=!usable
            data-state=move || state.get()
            aria-busy=move || (state.get() == "open").then_some("true")
            aria-label=move || icon.then(|| label.get())
            node_ref=button
            on:click=move |_| login.click()
        >
            <span class="mark" aria-hidden="true"></span>
            {(!icon).then(|| view! { <span class="label">{move || label.get()}</span> })}
        </button>
        <span class="sr" role="status" aria-live="polite">
            {move || status.get()}
        </span>
    }
}

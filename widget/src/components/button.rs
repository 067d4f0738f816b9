//! `<button part="button">` and its polite live region, inside the element's shadow root.

use crate::config::Config;
use crate::popup::{self, Change, Login};
use crate::protocol::End;
use leptos::prelude::*;
use milogin_shared as wire;
use std::rc::Rc;

/// The login button, its label rendered as text (never HTML).
#[component]
pub fn LoginButton(
    /// The parsed attributes.
    cfg: Rc<Config>,
    /// False when a required attribute is missing: the button is shown disabled (`aria-disabled`).
    usable: bool,
    /// The controller this button's clicks go to.
    login: Rc<Login>,
    /// The label: `display-name`, else the locale's default (the loader replaces the default
    /// with the connection's display name once it fetched the list).
    label: String,
    /// The loader's `emit(kind, …)`: fires the `milogin:*` events on the element.
    emit: js_sys::Function,
) -> impl IntoView {
    let texts = cfg.locale.texts();
    let state = RwSignal::new("idle");
    let busy = RwSignal::new("false");
    let status = RwSignal::new("");

    login.set_on_change(Box::new(move |change| {
        let end = match change {
            Change::Opened => {
                state.set("open");
                busy.set("true");
                status.set(texts.opened);
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
        state.set("done");
        busy.set("false");
        status.set(said);
        // Last: the loader returns focus to the button and fires the event, whose listeners may
        // remove the element (and dispose of this component).
        popup::emit(&emit, &end);
    }));

    // Theme, size and shape are styled from the host's attributes (`:host([theme=dark i])` in
    // the loader's CSS), so they cost no code here. The label is always in the DOM; the icon shape
    // hides it visually, and `aria-label` keeps the accessible name explicit for every shape.
    let aria_label = label.clone();
    view! {
        <button
            part="button"
            type="button"
            aria-disabled=if usable { "false" } else { "true" }
            data-state=state
            aria-busy=busy
            aria-label=aria_label
            on:click=move |_| {
                if usable {
                    login.click()
                }
            }
        >
            <span class="mark" aria-hidden="true"></span>
            <span class="label">{label}</span>
        </button>
        <span class="sr" role="status" aria-live="polite">
            {status}
        </span>
    }
}

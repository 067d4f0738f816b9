//! One button's reactive state: the attributes as one signal (replaced on every attribute
//! change, so a mounted button follows them live), what the login shows as another, the app's
//! connection list as a third; the label is a memo over them; usable and the preflight verdict are plain functions of them
//! (each memo type costs wasm bytes).
//! `Copy`, so the view and the controller each hold it; every read from outside the view uses the
//! `try_` forms, since the signals are gone once the element left the page.

use crate::core::attrs::{Config, Parsed};
use crate::core::listing::{Listing, Preflight};
use crate::core::shown::Shown;
use leptos::prelude::*;
use std::sync::Arc;

/// The signals and memos of one mounted button (owned by its reactive owner).
#[derive(Clone, Copy)]
pub struct ButtonState {
    /// The element's attributes, parsed.
    pub attrs: RwSignal<Parsed>,
    /// What the login shows.
    pub shown: RwSignal<Shown>,
    /// The app's connection list, once the server answered.
    pub listing: RwSignal<Option<Arc<Listing>>>,
    /// `display-name`, else the connection's display name, else the locale's default.
    pub label: Memo<Arc<str>>,
}

impl ButtonState {
    /// New signals under the current reactive owner.
    pub fn new(parsed: Parsed) -> Self {
        let attrs = RwSignal::new(parsed);
        let listing = RwSignal::new(None::<Arc<Listing>>);
        let label = Memo::new(move |_| {
            attrs.with(|p| match &p.config.display_name {
                Some(name) => Arc::from(name.as_str()),
                None => match preflight(attrs, listing).name {
                    Some(name) => Arc::from(name),
                    None => Arc::from(p.config.locale.texts().label),
                },
            })
        });
        Self {
            attrs,
            shown: RwSignal::new(Shown::Idle),
            listing,
            label,
        }
    }

    /// The required attributes are there (tracked; a `bool` read straight from the attributes
    /// signal: a memo of it would be one more memo type in the wasm for nothing saved).
    pub fn usable(&self) -> bool {
        self.attrs.with(|p| p.usable)
    }

    /// The same, untracked and safe once the button is gone.
    pub fn usable_now(&self) -> bool {
        self.attrs.try_with_untracked(|p| p.usable) == Some(true)
    }

    /// The settings now (default once the button is gone).
    pub fn config(&self) -> Config {
        self.attrs
            .try_with_untracked(|p| p.config.clone())
            .unwrap_or_else(|| Config::parse(&|_| None, "").config)
    }

    /// What the connection list says about this button's connection (tracked: a view closure
    /// that calls it follows the list and the attributes).
    pub fn preflight(&self) -> Preflight {
        preflight(self.attrs, self.listing)
    }

    /// The same, untracked and safe once the button is gone (the controller, at a click).
    pub fn preflight_now(&self) -> Preflight {
        untrack(|| self.listing.try_with(|_| self.preflight())).unwrap_or_default()
    }
}

/// The verdict is cheap to derive (a search in a handful of connections): a function, not one
/// more memo type in the wasm.
fn preflight(attrs: RwSignal<Parsed>, listing: RwSignal<Option<Arc<Listing>>>) -> Preflight {
    listing.with(|l| match l {
        Some(l) => attrs.with(|p| l.preflight(&p.config.app, &p.config.connection)),
        None => Preflight::default(),
    })
}

//! The element's shadow DOM: its styles, `<button part="button">` and its polite live region, built
//! once from static text; what changes (state, label, announcements) is set on the nodes
//! directly. The label is always text (`textContent`), never HTML. The mark is inline SVG (no
//! image, so a page's `img-src` cannot hide it); busy shows a spinner in its place.
//!
//! Plain web-sys rather than Leptos: this is one button with four changing values, and Leptos's
//! reactive runtime and renderer cost ~15 KB brotli of the 35 KiB budget (docs/widget-size.md).

use crate::config::Config;
use crate::delivery;
use crate::popup::{Change, Login};
use crate::protocol::End;
use milogin_shared as wire;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, ShadowRoot};

/// Theme, size and shape are styled from the host's attributes (`:host([theme=dark i])`), so they
/// cost no code.
macro_rules! css {
    () => {
        concat!(
            // The inner button fills the element, which is as wide as the button's content and
            // never wider than its container: a page makes it wider from its own CSS
            // (`milogin-button{display:block}` or a width), and a long label ellipsizes.
            ":host{display:inline-block;vertical-align:middle;max-width:100%}",
            ":host([hidden]){display:none}",
            "button{all:unset;box-sizing:border-box;display:flex;width:100%;min-width:0;align-items:center;justify-content:center;gap:10px;height:40px;padding:0 16px;border:1px solid #dadce0;border-radius:6px;background:#fff;color:#1f1f1f;font:500 14px/1 system-ui,-apple-system,\"Segoe UI\",Roboto,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;white-space:nowrap;cursor:pointer;transition:.15s}",
            "button:hover{background:#f5f5f5;box-shadow:0 1px 3px #0002}",
            "button:focus-visible{outline:2px solid #ff6900;outline-offset:2px}",
            // Busy (the popup is open) keeps its colours and swaps the mark for a spinner;
            // disabled (a required attribute missing, or the wasm blocked) is greyed out.
            "button[aria-busy=true]{cursor:progress}",
            "button[aria-disabled=true]{cursor:not-allowed;opacity:.55;filter:grayscale(1);box-shadow:none}",
            // Dark: a grey edge, so the button stays visible on a dark page.
            ":host([theme=dark i]) button{background:#1f1f1f;border-color:#5f6368;color:#fff}",
            ":host([theme=dark i]) button:hover{background:#333}",
            ":host([theme=brand i]) button{background:#ff6900;border-color:#ff6900;color:#fff}",
            ":host([theme=brand i]) button:hover{background:#f26300}",
            ":host([size=small i]) button{height:32px;padding:0 12px;font-size:13px;gap:8px}",
            ":host([size=large i]) button{height:48px;padding:0 22px;font-size:16px;gap:12px}",
            ":host([shape=pill i]) button{border-radius:999px}",
            ":host([shape=icon i]) button{width:auto;aspect-ratio:1;padding:0}",
            ".label{overflow:hidden;text-overflow:ellipsis;min-width:0}",
            ".mark,.spin{flex:none;width:1.45em;height:1.45em}",
            ".mark{fill:#ff6900}.mark path{fill:#fff}",
            ":host([theme=brand i]) .mark{fill:#fff}:host([theme=brand i]) .mark path{fill:#ff6900}",
            ".spin{display:none;box-sizing:border-box;border:2px solid;border-right-color:transparent;border-radius:50%;animation:milogin-spin .8s linear infinite}",
            "[aria-busy=true] .mark{display:none}[aria-busy=true] .spin{display:block}",
            "@keyframes milogin-spin{to{transform:rotate(1turn)}}",
            ".sr,:host([shape=icon i]) .label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
            "@media (prefers-reduced-motion:reduce){button{transition:none}.spin{animation:none}}",
            "@media (forced-colors:active){button{border-color:ButtonText}}",
        )
    };
}

/// The shadow root's content after the styles. Static: nothing from attributes or the server
/// goes in here.
const BODY: &str = concat!(
    "<button part=\"button\" type=\"button\" data-state=\"idle\" aria-busy=\"false\">",
    // The Xiaomi mark, inline: no image, so a page's CSP `img-src` has no say.
    "<svg class=\"mark\" viewBox=\"0 0 24 24\" aria-hidden=\"true\"><rect width=\"24\" height=\"24\" rx=\"6\"/>",
    "<path d=\"M5 7.5h7.2a3.3 3.3 0 0 1 3.3 3.3V17h-2.3v-6a1.2 1.2 0 0 0-1.2-1.2H7.3V17H5zm4.1 3.8h2.3V17H9.1zm8.1-3.8h2.3V17h-2.3z\"/></svg>",
    "<span class=\"spin\" aria-hidden=\"true\"></span><span class=\"label\"></span></button>",
    "<span class=\"sr\" role=\"status\" aria-live=\"polite\"></span>",
);

thread_local! {
    /// One constructed style sheet for every button of the page.
    static SHEET: Option<web_sys::CssStyleSheet> = web_sys::CssStyleSheet::new()
        .ok()
        .filter(|s| s.replace_sync(css!()).is_ok());
}

/// The styles and [`BODY`] into `root`. A constructed sheet (`adoptedStyleSheets`) first: a page's
/// Content-Security-Policy `style-src` does not apply to it (it would block a `<style>`, as on the
/// hosted login page); a `<style>` where the browser has none (Safari before 16.4).
fn fill(root: &ShadowRoot) {
    let adopted = SHEET.with(|s| {
        s.as_ref().is_some_and(|sheet| {
            let list = js_sys::Array::of1(sheet);
            js_sys::Reflect::set(root, &"adoptedStyleSheets".into(), &list).unwrap_or(false)
        })
    });
    if adopted {
        root.set_inner_html(BODY);
    } else {
        root.set_inner_html(&["<style>", css!(), "</style>", BODY].concat());
    }
}

/// One rendered button: its nodes and its click listener (removed when dropped).
pub struct View {
    root: ShadowRoot,
    button: Element,
    label: Element,
    status: Element,
    on_click: Closure<dyn FnMut()>,
}

impl View {
    /// Renders into `root`: the button is disabled (`aria-disabled`) unless `usable`; clicks go to
    /// `login`; the label is `display-name`, else the connection's display name once the list is
    /// fetched (the locale's default until then, or when that fails).
    pub fn render(root: ShadowRoot, cfg: &Config, usable: bool, login: &Rc<Login>) -> Rc<Self> {
        fill(&root);
        let find = |s| {
            root.query_selector(s)
                .ok()
                .flatten()
                .expect_throw("milogin: template")
        };
        let (button, label, status) = (find("button"), find(".label"), find(".sr"));
        let _ = button.set_attribute("aria-disabled", if usable { "false" } else { "true" });
        let l = Rc::downgrade(login);
        let on_click = Closure::<dyn FnMut()>::new(move || {
            if let Some(l) = l.upgrade().filter(|_| usable) {
                l.click();
            }
        });
        let _ = button.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        let view = Rc::new(Self {
            root,
            button,
            label,
            status,
            on_click,
        });
        let texts = cfg.locale.texts();
        view.set_label(cfg.display_name.as_deref().unwrap_or(texts.label));
        if usable {
            let (v, cfg, l) = (Rc::downgrade(&view), cfg.clone(), Rc::downgrade(login));
            js_sys::futures::spawn_local(async move {
                let p =
                    crate::preflight::check(&cfg.pool, &cfg.app, &cfg.connection, cfg.locale.tag())
                        .await;
                // The button may be gone by now: then nothing changes.
                if let Some(l) = l.upgrade() {
                    l.preflighted(p.refusal, p.return_page);
                }
                if let (Some(name), Some(v), None) = (p.name, v.upgrade(), &cfg.display_name) {
                    v.set_label(&name);
                }
            });
        }
        view
    }

    /// The label, the accessible name (explicit for every shape: the icon shape hides the
    /// label visually) and the tooltip (the whole name, where a long one is ellipsized).
    fn set_label(&self, name: &str) {
        self.label.set_text_content(Some(name));
        let _ = self.button.set_attribute("aria-label", name);
        let _ = self.button.set_attribute("title", name);
    }

    fn show(&self, state: &str, busy: &str, said: &str) {
        let _ = self.button.set_attribute("data-state", state);
        let _ = self.button.set_attribute("aria-busy", busy);
        self.status.set_text_content(Some(said));
    }
}

impl Drop for View {
    fn drop(&mut self) {
        let f = self.on_click.as_ref().unchecked_ref();
        let _ = self.button.remove_event_listener_with_callback("click", f);
        self.root.set_inner_html("");
    }
}

/// Shows the attempt's changes on `view` and reports its ending on `host`.
pub fn follow(login: &Login, view: &Rc<View>, cfg: &Config, host: HtmlElement) {
    let texts = cfg.locale.texts();
    let v: Weak<View> = Rc::downgrade(view);
    login.set_on_change(Box::new(move |change| {
        let end = match change {
            Change::Opened => {
                if let Some(v) = v.upgrade() {
                    v.show("open", "true", texts.opened);
                }
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
        if let Some(v) = v.upgrade() {
            v.show("done", "false", said);
        }
        // Last: focus goes back to the button and the event fires, whose listeners may remove
        // the element (and drop this view).
        delivery::report(&host, &end);
    }));
}

//! The designer's view (Leptos): a signal per control, the live previews (the real
//! `<milogin-button>` of `/widget/milogin.js`, its attributes bound to the signals, so the
//! element re-renders in place), the snippet and config lines derived from them, and the
//! server's answer for the ids (a `LocalResource` keyed on them).
//!
//! The previews live on the login server's own origin, which no app registers: they show the
//! button exactly as a site gets it (the connection list answers the server's own pages, so the
//! server's label appears), but a click on them starts nothing (a capture-phase listener on
//! `#preview` stops it before the element sees it). A real login is tried on the site itself or
//! on the operator's experience-login page.

use crate::answer::{Answer, OriginAnswer};
use crate::api;
use crate::design::{parse_width, Control, Design, CONTROLS, LOCALE, MODE, SHAPE, SIZE, THEME};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// Every control's value, as typed or chosen.
#[derive(Clone, Copy)]
struct Controls {
    pool: RwSignal<String>,
    app: RwSignal<String>,
    connection: RwSignal<String>,
    name_en: RwSignal<String>,
    name_zh: RwSignal<String>,
    /// In [`CONTROLS`] order.
    choices: [RwSignal<String>; 5],
    width: RwSignal<String>,
    origin: RwSignal<String>,
}

impl Controls {
    /// Empty controls, the ids from `?pool=&app=&connection=` of the page's address.
    fn from_address() -> Self {
        let query = window().location().search().unwrap_or_default();
        let params = web_sys::UrlSearchParams::new_with_str(&query).ok();
        let param =
            |k: &str| RwSignal::new(params.as_ref().and_then(|p| p.get(k)).unwrap_or_default());
        Self {
            pool: param("pool"),
            app: param("app"),
            connection: param("connection"),
            name_en: RwSignal::new(String::new()),
            name_zh: RwSignal::new(String::new()),
            choices: CONTROLS.map(|c| RwSignal::new(c.choices[0].value.to_owned())),
            width: RwSignal::new(String::new()),
            origin: RwSignal::new(String::new()),
        }
    }

    /// The design (tracked: a memo over it re-runs when a control changes). A width that does
    /// not parse counts as none; [`WidthField`] says what is wrong with it.
    fn design(&self) -> Design {
        Design {
            pool: self.pool.get(),
            app: self.app.get(),
            connection: self.connection.get(),
            name_en: self.name_en.get(),
            name_zh: self.name_zh.get(),
            choices: self.choices.map(|c| c.get()),
            width: self.width.with(|w| parse_width(w).ok().flatten()),
        }
    }

    fn choice(&self, control: &Control) -> RwSignal<String> {
        let i = CONTROLS
            .iter()
            .position(|c| c.attribute == control.attribute)
            .expect("a control of CONTROLS");
        self.choices[i]
    }
}

/// The whole page.
#[component]
pub fn Designer() -> impl IntoView {
    let controls = Controls::from_address();
    let design = Memo::new(move |_| controls.design());
    let server = window().location().origin().unwrap_or_default();
    view! {
        <header>
            <h1>"Button designer"</h1>
            <p>
                "Set the look of the “Sign in with Xiaomi” button, see it live, then copy the HTML for your page. "
                "The previews are the real button, from this server's "<code>"/widget/milogin.js"</code>"."
            </p>
        </header>
        <main>
            <form id="controls" on:submit=|ev| ev.prevent_default()>
                <fieldset>
                    <legend>"Which button"</legend>
                    <TextField label="pool" name="pool" value=controls.pool placeholder="demo-pool"/>
                    <TextField label="app" name="app" value=controls.app placeholder="demo-app"/>
                    <TextField label="connection" name="connection" value=controls.connection placeholder="xiaomi"/>
                </fieldset>
                <fieldset>
                    <legend>"Display name"</legend>
                    <TextField label="English" name="display-name" value=controls.name_en placeholder="Sign in with Xiaomi"/>
                    <TextField label="中文" name="display-name-zh" value=controls.name_zh placeholder="使用小米账号登录"/>
                    <p class="hint">"Empty: the server's name for the connection (its display_name), else the default."</p>
                </fieldset>
                <fieldset>
                    <legend>"Look"</legend>
                    <SelectField control=THEME value=controls.choice(&THEME)/>
                    <SelectField control=SIZE value=controls.choice(&SIZE)/>
                    <SelectField control=SHAPE value=controls.choice(&SHAPE)/>
                    <WidthField value=controls.width/>
                </fieldset>
                <fieldset>
                    <legend>"Behaviour"</legend>
                    <SelectField control=LOCALE value=controls.choice(&LOCALE)/>
                    <SelectField control=MODE value=controls.choice(&MODE)/>
                </fieldset>
            </form>
            <Previews design/>
            <ServerAnswer controls/>
            <Snippet design server/>
        </main>
    }
}

/// A labelled text input bound to `value`.
#[component]
fn TextField(
    /// The visible label.
    label: &'static str,
    /// The input's `name`.
    name: &'static str,
    /// The value, both ways.
    value: RwSignal<String>,
    /// The placeholder.
    #[prop(optional)]
    placeholder: &'static str,
) -> impl IntoView {
    view! {
        <label>
            <span>{label}</span>
            <input type="text" name=name placeholder=placeholder autocomplete="off" spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
    }
}

/// A select over one attribute's values, the default first.
#[component]
fn SelectField(
    /// The attribute and its choices.
    control: Control,
    /// The chosen value.
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            <span>{control.attribute}</span>
            <select name=control.attribute on:change=move |ev| value.set(event_target_value(&ev))>
                {control
                    .choices
                    .iter()
                    .map(|c| {
                        let v = c.value;
                        view! { <option value=v selected=move || value.with(|x| x == v)>{c.label}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

/// The width field, with what is wrong with a width that does not parse.
#[component]
fn WidthField(
    /// The text as typed.
    value: RwSignal<String>,
) -> impl IntoView {
    let error = move || value.with(|w| parse_width(w).err());
    view! {
        <label>
            <span>"width (px)"</span>
            <input type="text" name="width" inputmode="numeric" placeholder="as wide as its label" autocomplete="off"
                aria-invalid=move || if error().is_some() { "true" } else { "false" }
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
        <p class="error" role="alert">{error}</p>
    }
}

/// `#preview`: light and dark backdrops, each with the button in English, in Chinese, and both
/// at a narrow width (a long name is cut with an ellipsis there).
#[component]
fn Previews(
    /// What to show.
    design: Memo<Design>,
) -> impl IntoView {
    // Stops a click (mouse or keyboard) before it reaches the element: this origin is not one
    // of the app's, so a login from here could only fail (see the module doc).
    let stop = |ev: web_sys::MouseEvent| {
        let on_button = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|t| t.closest("milogin-button").ok().flatten().is_some());
        if on_button {
            ev.stop_propagation();
            ev.prevent_default();
        }
    };
    let backdrop = move |theme: &'static str, title: &'static str| {
        view! {
            <div class=format!("backdrop {theme}")>
                <h3>{title}</h3>
                <div class="row">
                    <figure><Preview design locale="en" narrow=false/><figcaption>"English"</figcaption></figure>
                    <figure><Preview design locale="zh-CN" narrow=false/><figcaption>"中文"</figcaption></figure>
                </div>
                <div class="row">
                    <figure><Preview design locale="en" narrow=true/><figcaption>"narrow (110 px)"</figcaption></figure>
                    <figure><Preview design locale="zh-CN" narrow=true/><figcaption>"窄 (110 px)"</figcaption></figure>
                </div>
            </div>
        }
    };
    view! {
        <section id="preview" aria-labelledby="preview-title" on:click:capture=stop>
            <h2 id="preview-title">"Preview"</h2>
            <p class="hint">
                "Clicks here start no login: this page is on the login server's own origin, which no app registers. "
                "Try a login on your site, or on the operator's experience-login page."
            </p>
            {backdrop("light", "On a light page")}
            {backdrop("dark", "On a dark page")}
        </section>
    }
}

/// One live `<milogin-button>` in `locale`, its attributes bound to the design.
#[component]
fn Preview(
    /// What to show.
    design: Memo<Design>,
    /// The button's `locale` (and which display name it shows).
    locale: &'static str,
    /// 110 px wide instead of the design's width.
    narrow: bool,
) -> impl IntoView {
    let set = move |c: Control| move || design.with(|d| d.set(&c).map(str::to_owned));
    let width = move || {
        if narrow {
            Some("110".to_owned())
        } else {
            design.with(|d| d.width.map(|w| w.to_string()))
        }
    };
    view! {
        <milogin-button
            pool=move || design.with(|d| d.pool.trim().to_owned())
            app=move || design.with(|d| d.app.trim().to_owned())
            connection=move || design.with(|d| d.connection.trim().to_owned())
            display-name=move || design.with(|d| d.name_for(locale).map(str::to_owned))
            theme=set(THEME)
            size=set(SIZE)
            shape=set(SHAPE)
            mode=set(MODE)
            locale=locale
            width=width
        ></milogin-button>
    }
}

/// What the server answers for the ids, and whether a site's origin is registered.
#[component]
fn ServerAnswer(
    /// The ids and the origin field.
    controls: Controls,
) -> impl IntoView {
    let answer = LocalResource::new(move || {
        api::answer(
            controls.pool.get(),
            controls.app.get(),
            controls.connection.get(),
        )
    });
    let origin = LocalResource::new(move || {
        api::origin(
            controls.pool.get(),
            controls.app.get(),
            controls.origin.get(),
        )
    });
    let shown = move || {
        match answer.get() {
        None => view! { <p>"Asking the server…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="refused">{e}</p> }.into_any(),
        Some(Ok(Answer::Incomplete(fields))) => view! {
            <p>"Type the " {fields.join(", ")} " of your button (the ids in the server's configuration)."</p>
        }
        .into_any(),
        Some(Ok(Answer::Label { en, zh })) => view! {
            <p class="ok">"The server knows this button. Without display-name it shows:"</p>
            <ul class="labels">
                <li>"English: " <q data-locale="en">{en}</q></li>
                <li>"中文: " <q data-locale="zh-CN">{zh}</q></li>
            </ul>
        }
        .into_any(),
        Some(Ok(Answer::Refused(e))) => view! {
            <p class="refused"><code class="code">{e.code.as_str()}</code> " " {e.message}</p>
        }
        .into_any(),
    }
    };
    let origin_shown = move || {
        match origin.get().flatten() {
        None => None,
        Some(Err(e)) => Some(view! { <p class="refused">{e}</p> }.into_any()),
        Some(Ok(OriginAnswer::Registered { return_page })) => Some(
            view! {
                <p class="ok" data-registered="true">
                    "Registered for this app: the button works on pages of this origin."
                    {(!return_page).then_some(" No return page is registered for it: keep the page's Cross-Origin-Opener-Policy at same-origin-allow-popups or unset (README, “How the result comes back”).")}
                </p>
            }
            .into_any(),
        ),
        Some(Ok(OriginAnswer::Refused(e))) => Some(
            view! {
                <p class="refused" data-registered="false"><code class="code">{e.code.as_str()}</code> " " {e.message}</p>
            }
            .into_any(),
        ),
    }
    };
    view! {
        <section id="answer" aria-labelledby="answer-title">
            <h2 id="answer-title">"What the server answers"</h2>
            <div id="verdict" aria-live="polite">{shown}</div>
            <label>
                <span>"your site's origin"</span>
                <input type="text" name="origin" placeholder="https://shop.example.com" autocomplete="off" spellcheck="false"
                    prop:value=move || controls.origin.get()
                    on:input=move |ev| controls.origin.set(event_target_value(&ev))/>
            </label>
            <div id="origin-verdict" aria-live="polite">{origin_shown}</div>
        </section>
    }
}

/// `#snippet`: the HTML to paste and its copy button; the `display_name` line for the server.
#[component]
fn Snippet(
    /// What to write.
    design: Memo<Design>,
    /// The login server's origin (this page's).
    server: String,
) -> impl IntoView {
    let html = Memo::new(move |_| design.with(|d| d.snippet(&server)));
    let config = Memo::new(move |_| design.with(Design::config_lines));
    let copied = RwSignal::new("");
    let pre = NodeRef::<leptos::html::Pre>::new();
    let copy = move |_| {
        let text = html.get_untracked();
        spawn_local(async move {
            let done = write_clipboard(&text).await;
            if !done {
                // No clipboard here (a page over plain http): select the text for Ctrl+C.
                if let (Some(pre), Ok(Some(sel))) = (pre.get_untracked(), window().get_selection())
                {
                    let _ = sel.select_all_children(&pre);
                }
            }
            copied.set(if done {
                "Copied."
            } else {
                "The browser gave no clipboard: the text is selected, press Ctrl+C (⌘C)."
            });
        });
    };
    view! {
        <section id="code" aria-labelledby="code-title">
            <h2 id="code-title">"Your page"</h2>
            <pre id="snippet" node_ref=pre>{move || html.get()}</pre>
            <p>
                <button type="button" id="copy" on:click=copy>"Copy"</button>
                " " <span role="status">{move || copied.get()}</span>
            </p>
            <p class="hint">
                "The width can also be CSS on the element (" <code>"milogin-button { width: …px }"</code>
                ", or " <code>"display: block"</code> " for the container's full width)."
            </p>
            {move || config.get().map(|lines| view! {
                <h3>"Or the name on the server, for every button of this connection"</h3>
                <pre id="config-lines">{lines}</pre>
            })}
        </section>
    }
}

/// Writes `text` to the clipboard; false when the browser has none here or refused.
async fn write_clipboard(text: &str) -> bool {
    let w = window();
    if !w.is_secure_context() {
        return false;
    }
    let promise = w.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

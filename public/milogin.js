// milogin widget loader — https://<your milogin server>/widget/milogin.js
//
//   <script type="module" src="https://login.example.com/widget/milogin.js"></script>
//   <milogin-button pool="demo-pool" app="demo-app" connection="xiaomi"></milogin-button>
//
// Defines <milogin-button> (attributes: pool app connection [display-name
// theme=light|dark|brand|auto size=small|medium|large shape=rect|pill|icon width=<px>
// locale=zh-CN|en mode=popup|redirect redirect-uri timeout=300 fallback=none|redirect
// in-app=redirect|popup]). It fires, bubbling and composed,
// `milogin:success` (detail {id_token, user}), `milogin:error` (detail {code, message}) and
// `milogin:cancel`. Exports `ready` (resolves once the wasm runs), `login(options)`, the same
// login without a button: options are the attributes in camelCase ({pool, app, connection, mode,
// redirectUri, timeout, fallback, inApp}); it resolves with {id_token, user} and rejects with
// {code, message}, where code is an error code or "cancelled" (the popup was closed). Call it
// from a click handler; a call while its popup is open focuses that popup and returns the same
// promise. In redirect mode the page navigates away and the promise never settles: the result
// comes back as events when the page loads again. Also `loginPage(options)` (the hosted login
// page, redirect mode) and `inApp(userAgent)` (the in-app browser check). README: "Widget
// reference".
//
// Who does what: the wasm (widget/, Rust; the button's view is a Leptos component) owns the
// mounted button: its label (the connection's display name from the app's connection list),
// attribute checks, attempt ids and URLs, window.open, the attempt's state machine, message
// validation and timers, redirect mode and the result that comes back in the fragment, the return
// page's relay, the events. This loader defines the element, attaches its shadow root with the
// one style sheet (widget/src/style.css), paints a busy button at once so the page never waits
// for the wasm to see it, instantiates the wasm, and forwards the lifecycle callbacks to it
// through a typed boundary (`start`, `mount` → `Button.update` / `Button.free`, `login_page`).
// Changing an attribute updates the mounted button in place (a login in progress goes on). It
// keeps the three things that must work without the wasm: `inApp()` (a synchronous export),
// `login()`'s window, opened inside the caller's click, and a disabled button that says why
// when the wasm cannot start.
//
// This is a template: `cargo xtask build-widget` writes public/widget/milogin.js from it, with the
// wasm-bindgen glue in place of the @GLUE@ line (as `const glue = (() => { … return { init, start,
// mount, login_page }; })();`), the style sheet and the mark (widget/src/mark.svg) in place of
// their string literals, and @HASH@ replaced by the wasm's content hash. One module, so the
// browser fetches two files: this one (short cache) and the content-hashed wasm (immutable).

// @GLUE@

const S = new URL(import.meta.url).origin;

// A fragment of milogin's in this page's address (redirect mode's way back, the return page's
// relay), or one crafted to look like it (`id_token`, `attempt` or `milogin_result` in it): out
// of the address bar now, while this module evaluates, so no script of the page that runs after
// it (an analytics tag, a router) reads or reports it; the whole fragment goes to the wasm,
// which takes only what an attempt of this tab waits for. Put this script tag before the page's
// analytics (a classic inline script above it, or an async one, may still run first).
const H = /(^#|&)(id_token|attempt|milogin_result)=/.test(location.hash) ? location.hash : "";
if (H) history.replaceState(history.state, "", location.href.split("#")[0]);

// PKCE (S256) for the next attempt, ahead of the click: the digest is a promise, and the popup
// must open inside the click. The wasm takes a pair per attempt (`pk()` makes the next one).
const b64 = (a) => btoa(String.fromCharCode(...new Uint8Array(a))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
let P;
const pk = (v = b64(crypto.getRandomValues(new Uint8Array(32)))) =>
  crypto.subtle?.digest("SHA-256", new TextEncoder().encode(v)).then((h) => (P = [v, b64(h)]));
pk();
let live = false; // the wasm runs: instantiated once per page, however many buttons
let why; // the wasm could not start: [English, Chinese] for the fallback button's title

// In-app browsers and webviews, where a popup opens as a tab, loses its opener or never comes
// back: WeChat, QQ (its webview has "QQ/", also the one built on "MQQBrowser"; QQ Browser on its
// own has not), Weibo, the MIUI / HyperOS browser; a home-screen app on iOS; and a
// cross-origin-isolated page, whose popups can never reach back. They use redirect mode unless
// the button says in-app="popup". Here, not in the wasm: it is a synchronous export, and login()
// needs it before the wasm has loaded.
export const inApp = (ua = navigator.userAgent) =>
  /MicroMessenger|\bQQ\/|Weibo|MiuiBrowser/i.test(ua) || !!navigator.standalone || !!self.crossOriginIsolated;

export const ready = glue.init({ module_or_path: new URL("./milogin-@HASH@.wasm", import.meta.url) }).then(
  () => {
    glue.start(S, inApp(), MARK, H, (p = P) => ((P = pk()), p));
    live = true;
  },
  (e) => {
    const csp = /eval|Content.Security/i.test(e && e.message);
    why = csp
      ? ["this page's Content-Security-Policy blocks it", "此页面的内容安全策略阻止了它"]
      : ["it could not load", "它无法加载"];
    console.error(
      "milogin: the widget could not start.",
      csp
        ? `This page's Content-Security-Policy blocks WebAssembly: add 'wasm-unsafe-eval' and ${S} to script-src, and ${S} to connect-src.`
        : `Is ${S}/widget/ reachable (cargo xtask build-widget)? A Content-Security-Policy needs ${S} in script-src and connect-src, plus 'wasm-unsafe-eval'.`,
      e,
    );
    throw e;
  },
);
ready.catch(() => {}); // reported above

const CSS = "@CSS@";
const MARK = "@MARK@";

// The shadow root, with the style sheet: a constructed sheet, so a page's `style-src` has no say
// (a <style> where the browser has none: Safari before 16.4). Before the wasm, so the first
// paint and the fallback look like the button they stand for.
let sheet;
const shadow = (el) => {
  let root = el.shadowRoot;
  if (!root) {
    root = el.attachShadow({ mode: "open" });
    try {
      if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(Object.assign(document.createElement("style"), { textContent: CSS }));
    }
  }
  return root;
};

const zh = (el) =>
  /^zh/i.test(el.getAttribute("locale") || el.getAttribute("lang") || document.documentElement.lang || navigator.language) ? 1 : 0;

// The first paint, from connectedCallback: the button as it will look, with the locale's default
// label (or display-name), busy and not clickable, until the wasm's view replaces it.
const paint = (el) => {
  const root = shadow(el);
  let b = root.querySelector("button");
  if (!b) {
    b = document.createElement("button");
    b.part = "button";
    b.type = "button";
    b.dataset.state = "loading";
    b.ariaBusy = b.ariaDisabled = "true";
    b.innerHTML = '<i class="m" aria-hidden="true">' + MARK + '</i><span class="spin" aria-hidden="true"></span><span class="label"></span>';
    root.append(b);
  }
  b.ariaLabel = b.lastChild.textContent = el.getAttribute("display-name") || ["Sign in with Xiaomi", "使用小米账号登录"][zh(el)];
  const w = parseInt(el.getAttribute("width"));
  b.style.width = w > 0 ? w + "px" : "";
  return b;
};

// The wasm could not start (a CSP without 'wasm-unsafe-eval', a 404): the first paint becomes a
// visible, disabled button with a title that says why, instead of a spinner forever.
// The page hears it too, once per element: `milogin:error` with `widget_unavailable`.
const fallback = (el) => {
  const b = paint(el);
  const z = zh(el);
  b.ariaBusy = "false";
  b.title = (z ? "小米登录暂不可用：" : "Xiaomi sign-in is unavailable: ") + why[z] + (z ? "（详见控制台）。" : " (see the console).");
  if (b.dataset.state != (b.dataset.state = "unavailable"))
    el.dispatchEvent(new CustomEvent("milogin:error", { bubbles: true, composed: true, detail: { code: "widget_unavailable", message: "The milogin widget could not start: " + why[0] + " (see the console)." } }));
};

// The element's wasm side (`_m`, a Button) exists while it is connected and the wasm runs; it
// replaces the first paint.
const attach = (el, pre = null) => {
  if (!el._m) {
    const root = shadow(el);
    root.querySelectorAll("button,.sr").forEach((n) => n.remove());
    el._m = glue.mount(el, root, pre);
  }
  return el.shadowRoot.querySelector("button");
};
const detach = (el) => {
  el._m?.free();
  el._m = null;
};

class MiloginButton extends HTMLElement {
  static observedAttributes = ["pool", "app", "connection", "display-name", "theme", "size", "shape",
    "width", "locale", "lang", "mode", "redirect-uri", "timeout", "fallback", "in-app"];

  connectedCallback() {
    if (live) return void attach(this);
    paint(this);
    ready.then(() => this.isConnected && attach(this), () => this.isConnected && fallback(this));
  }

  // Moved (out and back in within one task: a framework re-parenting it) is not removed: the
  // button and a login in progress stay.
  disconnectedCallback() {
    queueMicrotask(() => this.isConnected || detach(this));
  }

  // In place: the same <button> node, and a login in progress goes on.
  attributeChangedCallback() {
    if (this._m) this._m.update();
    else if (this.shadowRoot) why ? fallback(this) : paint(this);
  }
}

if (!customElements.get("milogin-button")) customElements.define("milogin-button", MiloginButton);

let current; // the running login(): {el, promise}

export function login(options = {}) {
  if (current) {
    // Focuses the open popup; or, when only the return page's relay could still come, ends that
    // wait (a cancel, which settles `current`) and this call starts afresh.
    current.el.shadowRoot?.querySelector("button")?.click();
    if (current) return current.promise;
  }
  // A detached <milogin-button>, clicked: the same code and checks as a real button.
  const el = document.createElement("milogin-button");
  // An option left undefined (or null) takes its default, as an absent attribute does.
  for (const k in options)
    if (options[k] != null) el.setAttribute(k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), options[k]);
  // Not ready yet: open the popup now, inside the click's user activation; the wasm navigates it.
  const pre = live || options.mode == "redirect" || (options.inApp != "popup" && inApp()) ? null : window.open("about:blank", "_blank", "popup,width=520,height=640");
  let done = false; // settled already inside the call (a blocked popup, a refusal)
  const promise = new Promise((resolve, reject) => {
    const settle = (f) => (e) => {
      done = true;
      if (current?.el == el) current = null;
      detach(el);
      f(e.detail || { code: "cancelled", message: "The login window was closed." });
    };
    el.addEventListener("milogin:success", settle(resolve));
    el.addEventListener("milogin:error", settle(reject));
    el.addEventListener("milogin:cancel", settle(reject));
    const fail = (code, message) => settle(reject)({ detail: { code, message } });
    // A refused button is disabled too, but its click fires the server's precise code.
    const go = () => {
      const button = attach(el, pre);
      if (!(options.pool && options.app && options.connection)) fail("invalid_request", "login(): pool, app and connection are required (see the console)");
      else button.click();
    };
    live ? go() : ready.then(go, () => (pre?.close(), fail("widget_unavailable", "The milogin widget could not start: " + why[0] + " (see the console).")));
  });
  if (options.mode != "redirect" && !done) current = { el, promise };
  return promise;
}

// The hosted login page (every connection of the app) in redirect mode: sends this window there
// (once the wasm runs) with an attempt it remembers, so that the widget on the redirect page (this
// page by default; the same origin) accepts the result. Options: {pool, app, redirectUri, lang}.
export const loginPage = ({ pool, app, redirectUri, lang } = {}) =>
  void ready.then(() => glue.login_page(pool, app, redirectUri, lang));

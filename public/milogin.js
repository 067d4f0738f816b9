// milogin widget loader — https://<your milogin server>/widget/milogin.js
//
//   <script type="module" src="https://login.example.com/widget/milogin.js"></script>
//   <milogin-button pool="demo-pool" app="demo-app" connection="xiaomi"></milogin-button>
//
// Defines <milogin-button> (attributes: pool app connection [display-name theme=light|dark|brand
// size=small|medium|large shape=rect|pill|icon locale=zh-CN|en mode=popup|redirect redirect-uri
// timeout=300 fallback=none|redirect in-app=redirect|popup]). It fires, bubbling and composed,
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
// Who does what: this loader owns the element (shadow root, styles keyed on the host's theme /
// size / shape attributes, events, focus, the label from the app's connection list) and whatever
// is cheaper as JS than as wasm: attempt ids, the authorize URLs, window.open, redirect mode and
// the result that comes back in the fragment, the return page's relay, the in-app check, the
// hosted page's buttons. The wasm (widget/, Rust) owns the rest: attribute checks, the attempt
// state machine, the message validation, timers and diagnostics. Changing an attribute
// re-renders the button (and ends an attempt in progress).
//
// This is a template: `cargo xtask build-widget` writes public/widget/milogin.js from it, with the
// wasm-bindgen glue in place of the @GLUE@ line (as `const glue = (() => { … return { init, mount };
// })();`) and @HASH@ replaced by the wasm's content hash. One module, so the browser fetches two
// files: this one (short cache) and the content-hashed wasm (immutable).

// @GLUE@

const S = new URL(import.meta.url).origin;
let live = false; // the wasm runs: instantiated once per page, however many buttons

export const ready = glue.init({ module_or_path: new URL("./milogin-@HASH@.wasm", import.meta.url) }).then(
  () => {
    live = true;
  },
  (e) => {
    const csp = /eval|Content.Security/i.test(e && e.message);
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

const mark = (bg, fg) =>
  `url("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'><rect width='24' height='24' rx='6' fill='%23${bg}'/><path fill='%23${fg}' d='M5 7.5h7.2a3.3 3.3 0 0 1 3.3 3.3V17h-2.3v-6a1.2 1.2 0 0 0-1.2-1.2H7.3V17H5zm4.1 3.8h2.3V17H9.1zm8.1-3.8h2.3V17h-2.3z'/></svg>")`;

const CSS = `
:host{display:inline-block;vertical-align:middle}
:host([hidden]){display:none}
button{all:unset;box-sizing:border-box;display:inline-flex;align-items:center;justify-content:center;gap:10px;height:40px;padding:0 16px;border:1px solid #dadce0;border-radius:6px;background:#fff;color:#1f1f1f;font:500 14px/1 system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Microsoft YaHei",sans-serif;white-space:nowrap;cursor:pointer;transition:.15s}
button:hover{background:#f5f5f5;box-shadow:0 1px 3px #0002}
button:focus-visible{outline:2px solid #ff6900;outline-offset:2px}
button[aria-busy=true]{cursor:progress;opacity:.75}
button[aria-disabled=true]{cursor:not-allowed;opacity:.5;box-shadow:none}
:host([theme=dark i]) button{background:#1f1f1f;border-color:#1f1f1f;color:#fff}
:host([theme=dark i]) button:hover{background:#333}
:host([theme=brand i]) button{background:#ff6900;border-color:#ff6900;color:#fff}
:host([theme=brand i]) button:hover{background:#f26300}
:host([size=small i]) button{height:32px;padding:0 12px;font-size:13px;gap:8px}
:host([size=large i]) button{height:48px;padding:0 22px;font-size:16px;gap:12px}
:host([shape=pill i]) button{border-radius:999px}
:host([shape=icon i]) button{aspect-ratio:1;padding:0}
.mark{flex:none;width:1.45em;height:1.45em;background:${mark("ff6900", "fff")} center/contain no-repeat}
:host([theme=brand i]) .mark{background-image:${mark("fff", "ff6900")}}
[aria-busy=true] .mark{animation:milogin-pulse .8s ease-in-out infinite alternate}
@keyframes milogin-pulse{to{opacity:.35}}
.sr,:host([shape=icon i]) .label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (prefers-reduced-motion:reduce){button{transition:none}[aria-busy=true] .mark{animation:none}}
@media (forced-colors:active){button{border-color:ButtonText}}
`;


let sheet;
const lang = () => document.documentElement.lang || navigator.language || "";
const enc = encodeURIComponent;
const b64 = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/[+/=]/g, (c) => (c == "+" ? "-" : c == "/" ? "_" : ""));

// A fresh attempt id: 24 random bytes, base64url.
const attemptId = () => b64(crypto.getRandomValues(new Uint8Array(24)));

// In-app browsers and webviews, where a popup opens as a tab, loses its opener or never comes
// back: WeChat, QQ (its webview has "QQ/", also the one built on "MQQBrowser"; QQ Browser on its
// own has not), Weibo, the MIUI / HyperOS browser; a home-screen app on iOS; and a
// cross-origin-isolated page, whose popups can never reach back. They use redirect mode unless
// the button says in-app="popup".
export const inApp = (ua = navigator.userAgent) =>
  /MicroMessenger|\bQQ\/|Weibo|MiuiBrowser/i.test(ua) || !!navigator.standalone || !!self.crossOriginIsolated;

const PENDING = "milogin:pending";
const thisPage = () => location.href.split("#")[0];
const authorize = (el, q) =>
  `${S}/connection/social/${enc(el.getAttribute("connection"))}/${enc(el.getAttribute("pool"))}/authorize?` +
  new URLSearchParams({ app_id: el.getAttribute("app"), ...q });
// Redirect mode: remember the attempt in this tab (only its result is accepted back), then go.
const leave = (pending, url) => {
  try {
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
  } catch {}
  location.assign(url);
};

// emit("start", redirect, fallback, inAppPopup) from the wasm, synchronously inside the click:
// opens the popup and answers {a: attempt, w: window or null when blocked, r: a result can come
// back through the return page (BroadcastChannel)}; or navigates this window and answers nothing.
function start(el, redirect, fallback, keepPopup) {
  const a = attemptId(), g = (k) => el.getAttribute(k), pre = el._pre;
  el._pre = null;
  // A button of the hosted login page opened as a popup by a host page: continue in this window
  // with the host's origin and attempt; the result page then posts to this window's opener, the
  // host page, exactly as after a direct popup login.
  if (g("hosted-origin")) {
    return void location.assign(authorize(el, { origin: g("hosted-origin"), attempt: g("hosted-attempt"), mode: "popup" }));
  }
  const away = () => {
    pre?.close();
    const h = g("hosted-attempt") || a;
    leave({ a: h, e: el.id, k: ["pool", "app", "connection"].map(g) },
      authorize(el, { attempt: h, mode: "redirect", redirect_uri: g("redirect-uri") || thisPage() }));
  };
  if (redirect || (!keepPopup && inApp())) return void away();
  const url = authorize(el, { origin: location.origin, attempt: a, mode: "popup" });
  let w = pre;
  if (w) w.location = url;
  else
    w = window.open(url, "milogin-" + a,
      `popup,width=520,height=640,left=${(screenX + Math.max(0, (outerWidth - 520) / 2)) | 0},top=${(screenY + Math.max(0, (outerHeight - 640) / 2)) | 0}`);
  if (!w && fallback) {
    console.warn('milogin: popup blocked; redirecting (fallback="redirect")');
    return void away();
  }
  return { a, w, r: !!self.BroadcastChannel };
}

// The lost-opener path. When a Cross-Origin-Opener-Policy (or anything else) cut the login window
// off from this page, the server's result page cannot post to it; instead it sends the window on
// to the app's return page (`return_uris` in the server config: a page of this same origin that
// loads this script), with the result in the fragment. There this script hands it to the other
// tabs of the origin over a BroadcastChannel and closes the window. Only documents of this origin
// ever see it (the browser enforces both the navigation target and the channel's origin); each
// button takes only the result of the attempt it is waiting for (the wasm checks it like a posted
// message). Nothing is stored anywhere.
const mounted = new Set();
if (self.BroadcastChannel) {
  const relay = new BroadcastChannel("milogin");
  relay.onmessage = (e) => mounted.forEach((el) => el._m?.relayed(e.data));
  const h = new URLSearchParams(location.hash.slice(1)).get("milogin_result");
  if (h) {
    history.replaceState(history.state, "", thisPage());
    try {
      relay.postMessage(JSON.parse(h));
    } catch {}
    close();
  }
}

// The end of an attempt: focus back to the button, then the element's event.
// ("success", id_token, id, nickname, avatar, connection, new_user) | ("error", code, message) |
// ("cancel").
const fire = (el, kind, a, b, c, d, e, f) => {
  el.shadowRoot?.querySelector("button")?.focus();
  el.dispatchEvent(new CustomEvent("milogin:" + kind, {
    bubbles: true,
    composed: true,
    detail: kind == "success"
      ? { id_token: a, user: { id: b, nickname: c, avatar: d, connection: e, new_user: f } }
      : kind == "error" ? { code: a, message: b } : null,
  }));
};

// The wasm's one way out: ("start", …), or an ending to report.
const emitter = (el) => (kind, ...args) => (kind == "start" ? start(el, ...args) : fire(el, kind, ...args));

// Redirect mode, back on the page: the result is in the fragment. It is accepted only for the
// attempt this tab left with (sessionStorage), so a crafted link cannot log anyone in; anything
// else is left alone. The fragment is removed at once; the event fires once the page has loaded
// (its listeners are in place by then) and the widget started (or failed to), on the button that
// started it (by id, else the first with the same pool, app and connection: focus returns to it),
// else on the document. `user` is read from the token's claims; `new_user` is not known there
// (undefined).
{
  const h = new URLSearchParams(location.hash.slice(1)), a = h.get("attempt");
  let p;
  try {
    p = a && JSON.parse(sessionStorage.getItem(PENDING));
  } catch {}
  if (a && p?.a == a) {
    sessionStorage.removeItem(PENDING);
    history.replaceState(history.state, "", thisPage());
    const token = h.get("id_token");
    const go = () => setTimeout(() => {
      const el = document.getElementById(p.e) ||
        [...document.querySelectorAll("milogin-button")].find((b) => ["pool", "app", "connection"].every((k, i) => !p.k[i] || b.getAttribute(k) == p.k[i])) ||
        document;
      if (!token) return fire(el, "error", h.get("error"), h.get("error_description") || "");
      const c = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")), (x) => x.charCodeAt(0))));
      fire(el, "success", token, c.sub, c.name, c.picture ?? null, c.idp);
    });
    const later = () => ready.then(go, go);
    document.readyState == "complete" ? later() : addEventListener("load", later);
  }
}

function attach(el) {
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
  const button = () => root.querySelector("button");
  if (!el._m) {
    const m = (el._m = glue.mount(el, root, S, lang(), emitter(el)));
    mounted.add(el);
    // The connection's display name replaces the default label: text only, never HTML.
    label(el, (name) => {
      const b = el._m == m && button();
      if (b) {
        b.setAttribute("aria-label", name);
        b.querySelector(".label").textContent = name;
      }
    });
  }
  return button();
}

function detach(el) {
  mounted.delete(el);
  el._m?.free();
  el._pre?.close();
  el._m = el._pre = null;
}

// The label: the connection's display name from the app's public connection list, fetched once
// per pool/app; the console says what to fix when that fails.
const lists = {};
function label(el, set) {
  const [pool, app, connection, name] = ["pool", "app", "connection", "display-name"].map((a) => el.getAttribute(a));
  if (!pool || !app || !connection || name) return;
  const url = `${S}/api/v1/pools/${enc(pool)}/apps/${enc(app)}/connections`;
  const error = (...m) => console.error("milogin:", ...m);
  (lists[url] ||= fetch(url).then(
    async (r) => {
      const body = await r.json().catch(() => ({}));
      if (r.ok && Array.isArray(body)) return body;
      error(`${url} answered HTTP ${r.status}: ${body.message || ""}`, r.status == 404 ? "Check the pool and app attributes." : "");
    },
    () => error(`could not load ${url}: is this page's origin (${location.origin}) registered for app "${app}"? Add it to pools.apps.origins in the server config. Else check the pool and app attributes, that the server is up, and a CSP's connect-src.`),
  )).then((list) => {
    if (!list) return;
    const c = list.find((c) => c.unique_id == connection);
    if (c && typeof c.display_name == "string") set(c.display_name);
    else error(`connection "${connection}" is not enabled for app "${app}" (enabled: ${list.map((c) => c.unique_id)}): fix the connection attribute, or add it to pools.apps.connections in the server config.`);
  });
}

class MiloginButton extends HTMLElement {
  static observedAttributes = ["pool", "app", "connection", "display-name", "theme", "size", "shape",
    "locale", "mode", "redirect-uri", "timeout", "fallback", "in-app"];

  connectedCallback() {
    ready.then(() => this.isConnected && attach(this), () => {});
  }

  disconnectedCallback() {
    detach(this);
  }

  attributeChangedCallback() {
    if (this._m) {
      detach(this);
      attach(this);
    }
  }
}

if (!customElements.get("milogin-button")) customElements.define("milogin-button", MiloginButton);

let current; // the running login(): {el, promise}

export function login(options = {}) {
  if (current) {
    current.el.shadowRoot?.querySelector("button")?.click(); // focuses the open popup
    return current.promise;
  }
  // A detached <milogin-button>, clicked: the same code and checks as a real button.
  const el = document.createElement("milogin-button");
  for (const k in options) el.setAttribute(k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), options[k]);
  // Not ready yet: open the popup now, inside the click's user activation, and navigate it later.
  const pre = live || options.mode == "redirect" || (options.inApp != "popup" && inApp()) ? null : window.open("about:blank", "_blank", "popup,width=520,height=640");
  const promise = new Promise((resolve, reject) => {
    const settle = (f) => (e) => {
      current = null;
      detach(el);
      f(e.detail || { code: "cancelled", message: "The login window was closed." });
    };
    el.addEventListener("milogin:success", settle(resolve));
    el.addEventListener("milogin:error", settle(reject));
    el.addEventListener("milogin:cancel", settle(reject));
    const fail = (code, message) => settle(reject)({ detail: { code, message } });
    const go = () => {
      el._pre = pre;
      const button = attach(el);
      if (button.getAttribute("aria-disabled") == "true") fail("invalid_request", "login(): pool, app and connection are required (see the console)");
      else button.click();
    };
    live ? go() : ready.then(go, () => (pre?.close(), fail("internal", "The milogin widget could not start (see the console).")));
  });
  if (options.mode != "redirect") current = { el, promise };
  return promise;
}

// The hosted login page (every connection of the app) in redirect mode: sends this window there
// with an attempt it remembers, so that the widget on the redirect page (this page by default;
// the same origin) accepts the result. Options: {pool, app, redirectUri, lang}.
export function loginPage({ pool, app, redirectUri = thisPage(), lang } = {}) {
  const a = attemptId(), q = { app_id: app, mode: "redirect", redirect_uri: redirectUri, attempt: a };
  if (lang) q.lang = lang;
  leave({ a, k: [pool, app] }, `${S}/login/${enc(pool)}?` + new URLSearchParams(q));
}

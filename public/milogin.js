// milogin widget loader — https://<your milogin server>/widget/milogin.js
//
//   <script type="module" src="https://login.example.com/widget/milogin.js"></script>
//   <milogin-button pool="demo-pool" app="demo-app" connection="xiaomi"></milogin-button>
//
// Defines <milogin-button> (attributes: pool app connection [display-name theme=light|dark|brand
// size=small|medium|large shape=rect|pill|icon locale=zh-CN|en mode=popup|redirect redirect-uri
// timeout=300 fallback=none|redirect]). It fires, bubbling and composed, `milogin:success`
// (detail {id_token, user}), `milogin:error` (detail {code, message}) and `milogin:cancel`.
// Exports `ready` (resolves once the wasm runs) and `login(options)`, the same login without a
// button: options are the attributes in camelCase ({pool, app, connection, mode, redirectUri,
// timeout, fallback}); it resolves with {id_token, user} and rejects with {code, message}, where
// code is an error code or "cancelled" (the popup was closed). Call it from a click handler; a
// call while its popup is open focuses that popup and returns the same promise. In redirect mode
// the page navigates away and the promise never settles.
//
// Who does what: this loader owns the element (shadow root, styles keyed on the host's theme /
// size / shape attributes, events, focus, the label from the app's connection list); the wasm
// (widget/, Rust) owns the rest: attribute checks, the attempt state machine, window.open, the
// message validation, timers and diagnostics. Changing an attribute re-renders the button (and
// ends an attempt in progress).
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

// For the wasm, at the end of an attempt: focus back to the button, then the element's event.
// ("success", id_token, id, nickname, avatar, connection, new_user) | ("error", code, message) |
// ("cancel").
const emitter = (el) => (kind, a, b, c, d, e, f) => {
  el.shadowRoot.querySelector("button")?.focus();
  el.dispatchEvent(new CustomEvent("milogin:" + kind, {
    bubbles: true,
    composed: true,
    detail: kind == "success"
      ? { id_token: a, user: { id: b, nickname: c, avatar: d, connection: e, new_user: f } }
      : kind == "error" ? { code: a, message: b } : null,
  }));
};

function attach(el, pre) {
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
    const m = (el._m = glue.mount(el, root, S, lang(), emitter(el), pre));
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
  el._m?.free();
  el._m = null;
}

// The label: the connection's display name from the app's public connection list, fetched once
// per pool/app; the console says what to fix when that fails.
const lists = {};
function label(el, set) {
  const [pool, app, connection, name] = ["pool", "app", "connection", "display-name"].map((a) => el.getAttribute(a));
  if (!pool || !app || !connection || name) return;
  const url = `${S}/api/v1/pools/${encodeURIComponent(pool)}/apps/${encodeURIComponent(app)}/connections`;
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
    "locale", "mode", "redirect-uri", "timeout", "fallback"];

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
  const pre = live || options.mode == "redirect" ? undefined : open("about:blank", "_blank", "popup,width=520,height=640") || undefined;
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
      const button = attach(el, pre);
      if (button.getAttribute("aria-disabled") == "true") fail("invalid_request", "login(): pool, app and connection are required (see the console)");
      else button.click();
    };
    live ? go() : ready.then(go, () => (pre?.close(), fail("internal", "The milogin widget could not start (see the console).")));
  });
  if (options.mode != "redirect") current = { el, promise };
  return promise;
}

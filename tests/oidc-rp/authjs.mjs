// An Auth.js relying party (@auth/core, the framework-agnostic core under next-auth and the
// other Auth.js integrations), configured as README.md's Auth.js snippet says and driven by the
// suite (tests/tests/suite/oidc.rs) headless through `Auth(request, config)`: GET /csrf → POST
// /signin/milogin (Auth.js discovers the issuer, sets its PKCE, state and nonce cookies and
// redirects to milogin's authorize) → the login through the mock Xiaomi's consent page (a
// scripted browser: fetch with manual redirects and the binding cookie) → Auth.js's callback
// (the code exchanged with client_secret_basic, the id_token checked by Auth.js) → GET /session
// with Auth.js's cookies. Prints the session as one JSON line; a login that does not end in a
// session with a user exits non-zero with what Auth.js answered and logged.
//
// The app is https://shop.example.com with Next.js's base path /api/auth, so Auth.js's
// callback is https://shop.example.com/api/auth/callback/milogin (the suite registers it).
// Nothing is needed for the suite's http://127.0.0.1 issuer: Auth.js allows http for its
// discovery, token and userinfo requests.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI (Auth.js's callback URL, checked
// against the one Auth.js derives), ACCOUNT.
import { Auth } from '@auth/core';
import { inspect } from 'node:util';
import { loginThroughTheMock, redirect as redirectOf } from './browser.mjs';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNT } = process.env;
const APP = 'https://shop.example.com';
const BASE = `${APP}/api/auth`;

/** What Auth.js logged, printed when the login fails. */
const logged = [];

// README.md's snippet, the provider and the callbacks verbatim (the suite checks each line; the
// issuer and the client come from the environment); `secret`, `trustHost` and `basePath` come
// from AUTH_SECRET, AUTH_TRUST_HOST and Next.js in an app.
const config = {
  providers: [{
    id: "milogin", name: "Xiaomi", type: "oidc",
    issuer: ISSUER,
    clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
    checks: ["pkce", "state", "nonce"],
    profile: (p) => ({ id: p.sub, name: p.name, image: p.picture }),
  }],
  callbacks: {
    // Auth.js gives the user a random id at each sign-in; keep milogin's `sub` instead.
    jwt({ token, account }) { if (account) token.sub = account.providerAccountId; return token; },
    session({ session, token }) { session.user.id = token.sub; return session; },
  },
  secret: 'authjs-test-secret-0123456789abcdef0123456789',
  trustHost: true,
  basePath: '/api/auth',
  logger: {
    error: (e) => logged.push(`error: ${inspect(e, { depth: 4 })}`),
    warn: (code) => logged.push(`warn: ${code}`),
    debug: () => {},
  },
};

if (`${BASE}/callback/milogin` !== REDIRECT_URI) {
  throw new Error(`REDIRECT_URI is ${REDIRECT_URI}, Auth.js calls back on ${BASE}/callback/milogin`);
}

/** The browser's cookies for the app (name → value). */
const jar = new Map();

/** Asks Auth.js, as the browser would: the jar's cookies in, its Set-Cookie into the jar. */
async function auth(path, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const response = await Auth(new Request(new URL(path, APP), { ...init, headers }), config);
  for (const c of response.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';');
    const at = pair.indexOf('=');
    const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1)];
    const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
    if (gone) jar.delete(name);
    else jar.set(name, value);
  }
  return response;
}

/** The `Location` of a 302, with what Auth.js logged when it is not one. */
function redirect(response, what) {
  return redirectOf(response, what, `\n${logged.join('\n')}`);
}

const { csrfToken } = await (await auth(`${BASE}/csrf`)).json();
const authorize = await redirect(
  await auth(`${BASE}/signin/milogin`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrfToken, callbackUrl: `${APP}/account` }),
  }),
  'Auth.js sign-in',
);
if (!authorize.startsWith(`${ISSUER}/`)) {
  throw new Error(`Auth.js sign-in went to ${authorize}\n${logged.join('\n')}`);
}

const back = await loginThroughTheMock(authorize, ACCOUNT);
if (!back.startsWith(`${REDIRECT_URI}?`)) throw new Error(`milogin sent the browser to ${back}`);

const landed = await redirect(await auth(back), 'Auth.js callback');
if (landed !== `${APP}/account`) {
  throw new Error(`Auth.js callback went to ${landed}, not the app\n${logged.join('\n')}`);
}
const session = await (await auth(`${BASE}/session`)).json();
if (!session?.user) {
  throw new Error(`no session after the login: ${JSON.stringify(session)}\n${logged.join('\n')}`);
}
console.log(JSON.stringify(session));

// A relying party built on openid-client (OpenID-certified), driven by the suite
// (tests/tests/suite/oidc.rs): discovery → PKCE, state and nonce → the login through the mock
// Xiaomi's consent page (a scripted browser: fetch with manual redirects and the binding cookie)
// → the code exchanged at the token endpoint → the id_token validated by the library → userinfo
// with the access token. Prints the validated claims and the userinfo answer as one JSON line;
// any failure exits non-zero with the library's message.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET (absent: a public client), REDIRECT_URI, ACCOUNT.
import * as client from 'openid-client';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNT } = process.env;

const metadata = { id_token_signed_response_alg: 'ES256' };
const auth = CLIENT_SECRET ? client.ClientSecretBasic(CLIENT_SECRET) : client.None();
const config = await client.discovery(new URL(ISSUER), CLIENT_ID, metadata, auth, {
  execute: [client.allowInsecureRequests], // the suite's server is http://127.0.0.1
});

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT_URI,
  scope: 'openid profile',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});

/** One step of the scripted browser: the `Location` of a 302. */
async function redirect(response, what) {
  if (response.status !== 302) {
    throw new Error(`${what}: ${response.status} ${await response.text()}`);
  }
  return response.headers.get('location');
}

let r = await fetch(url, { redirect: 'manual' });
const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
const consent = await redirect(r, 'authorize');
const page = await (await fetch(consent, { redirect: 'manual' })).text();
const req = /name="req" value="([^"]+)"/.exec(page)?.[1];
if (!req) throw new Error(`no consent form: ${page}`);
r = await fetch(`${new URL(consent).origin}/oauth2/authorize/decision`, {
  method: 'POST',
  redirect: 'manual',
  body: new URLSearchParams({ req, account: ACCOUNT }),
});
const callback = await redirect(r, 'consent');
r = await fetch(callback, { redirect: 'manual', headers: { cookie } });
const back = new URL(await redirect(r, 'callback'));

const tokens = await client.authorizationCodeGrant(config, back, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
console.log(JSON.stringify({ claims, userinfo, scope: tokens.scope, token_type: tokens.token_type }));

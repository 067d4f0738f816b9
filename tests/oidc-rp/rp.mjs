// A relying party built on openid-client (OpenID-certified), driven by the suite
// (tests/tests/suite/oidc.rs): discovery → PKCE, state and nonce → the login through the mock
// Xiaomi's consent page (a scripted browser: fetch with manual redirects and the binding cookie)
// → the code exchanged at the token endpoint → the id_token validated by the library → userinfo
// with the access token. Prints the validated claims and the userinfo answer as one JSON line;
// any failure exits non-zero with the library's message.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET (absent: a public client), REDIRECT_URI, ACCOUNT.
import * as client from 'openid-client';
import { loginThroughTheMock } from './browser.mjs';

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

const back = new URL(await loginThroughTheMock(url, ACCOUNT));

const tokens = await client.authorizationCodeGrant(config, back, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
console.log(JSON.stringify({ claims, userinfo, scope: tokens.scope, token_type: tokens.token_type }));

// The Xiaomi strategy: passport-oauth2 plus the two things a real Xiaomi integration has to add
// (shared/xiaomi-oauth.md §3 and §5):
//
// 1. The token endpoint answers `&&&START&&&{json}` (errors too, with HTTP 400), which
//    node-oauth's `getOAuthAccessToken` cannot parse (JSON.parse fails, the querystring fallback
//    yields no access_token). We replace that one method on `this._oauth2`: same POST form, but
//    the prefix is stripped before JSON.parse and Xiaomi's numeric `error` is reported.
// 2. The profile lives on another host and wants `clientId` + `token` in the query, answering in
//    the `{result, code, description, data}` envelope: `userProfile` reads it.
'use strict';

const querystring = require('node:querystring');
const OAuth2Strategy = require('passport-oauth2');

const PREFIX = '&&&START&&&';

/** Parses a token-endpoint body: optional prefix, then JSON. Throws on anything else. */
function parseTokenBody(text) {
  let body = String(text ?? '').trim();
  if (body.startsWith(PREFIX)) body = body.slice(PREFIX.length).trim();
  return JSON.parse(body);
}

class XiaomiStrategy extends OAuth2Strategy {
  /**
   * options: accountBase (authorize + token host), openBase (profile host), clientID,
   * clientSecret, callbackURL; verify as for passport-oauth2.
   */
  constructor(options, verify) {
    super(
      {
        ...options,
        authorizationURL: `${options.accountBase}/oauth2/authorize`,
        tokenURL: `${options.accountBase}/oauth2/token`,
        scope: ['1', '3'],
        scopeSeparator: ' ',
        state: true,
      },
      verify,
    );
    this.name = 'xiaomi';
    this._openBase = options.openBase;
    this._oauth2.getOAuthAccessToken = getXiaomiAccessToken;
  }

  /** Xiaomi shows the consent page unless told otherwise; say so explicitly. */
  authorizationParams() {
    return { skip_confirm: 'false' };
  }

  /** GET /user/profile?clientId=…&token=… → a Passport profile. */
  userProfile(accessToken, done) {
    const url = `${this._openBase}/user/profile?${querystring.stringify({
      clientId: this._oauth2._clientId,
      token: accessToken,
    })}`;
    this._oauth2._request('GET', url, {}, null, null, (err, body) => {
      if (err) return done(new Error(`profile: HTTP ${err.statusCode}`));
      let json;
      try {
        json = JSON.parse(body);
      } catch (e) {
        return done(new Error(`profile: not JSON: ${e.message}`));
      }
      const ok = String(json.result).toLowerCase() === 'ok' || json.code === 0;
      if (!ok || !json.data) return done(new Error(`profile: Xiaomi error ${json.code}`));
      const data = json.data;
      return done(null, {
        provider: 'xiaomi',
        unionId: data.unionId,
        displayName: data.miliaoNick || '',
        photo: data.miliaoIcon_orig || data.miliaoIcon || null,
        _json: data,
      });
    });
  }
}

/**
 * node-oauth's `getOAuthAccessToken(code, params, callback)` with Xiaomi's body format. Runs
 * with `this` = the OAuth2 client (it replaces the method on the instance).
 */
function getXiaomiAccessToken(code, params, callback) {
  const form = querystring.stringify({
    ...params,
    client_id: this._clientId,
    client_secret: this._clientSecret,
    code,
  });
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  this._request('POST', this._getAccessTokenUrl(), headers, form, null, (err, data) => {
    // Xiaomi errors come with HTTP 400 *and* the prefixed JSON body: read the body either way.
    let results;
    try {
      results = parseTokenBody(err ? err.data : data);
    } catch (e) {
      return callback(err || new Error(`token: unreadable body: ${e.message}`));
    }
    if (results.error !== undefined) {
      return callback({ statusCode: 400, data: `Xiaomi error ${results.error}` });
    }
    if (err) return callback(err);
    if (!results.access_token) return callback(new Error('token: no access_token'));
    return callback(null, results.access_token, results.refresh_token, results);
  });
}

module.exports = { XiaomiStrategy, parseTokenBody };

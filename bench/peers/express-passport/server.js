// The benchmark's peer (issue 12): milogin's login job done the way a typical Node site does it,
// with Express, express-session (memory store), Passport + passport-oauth2, better-sqlite3 and
// jsonwebtoken. `cargo xtask bench --peer express-passport` drives it with the same virtual users
// and the same mock Xiaomi as milogin, one server at a time on the same pinned core.
//
//   GET /login?attempt=…  → the attempt id kept in the session, then passport-oauth2's 302 to the
//                            mock's authorize page with `state` (kept in the session too)
//   GET /callback          → state checked, code exchanged (prefixed body), profile read, user
//                            found or created by openId in one transaction, ES256 id_token signed,
//                            a result page with the same JSON as milogin's popup page
//   GET /jwks.json         → the public key, for the load generator's verification
//   GET /readyz            → 200 once listening
//
// Configuration (environment): PORT, PUBLIC_URL, XIAOMI_ACCOUNT_BASE, XIAOMI_OPEN_BASE,
// XIAOMI_CLIENT_ID, XIAOMI_CLIENT_SECRET, DATABASE (an SQLite file path), APP_ID (the token's aud).
'use strict';

const crypto = require('node:crypto');
const express = require('express');
const session = require('express-session');
const passport = require('passport');
const Database = require('better-sqlite3');
const jwt = require('jsonwebtoken');
const { XiaomiStrategy } = require('./xiaomi');

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`error: environment variable ${name} is required (see the top of server.js)`);
    process.exit(2);
  }
  return value;
}

const port = Number(process.env.PORT || 3000);
const publicUrl = process.env.PUBLIC_URL || `http://127.0.0.1:${port}`;
const appId = process.env.APP_ID || 'web';
const accountBase = need('XIAOMI_ACCOUNT_BASE');
const openBase = process.env.XIAOMI_OPEN_BASE || accountBase;
const clientId = need('XIAOMI_CLIENT_ID');
const clientSecret = need('XIAOMI_CLIENT_SECRET');
const databasePath = need('DATABASE');

// --- the store: users and their Xiaomi identities (WAL, synchronous=NORMAL, as milogin's SQLite)
const db = new Database(databasePath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.exec(`
  CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, nickname TEXT NOT NULL, avatar TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS identities (
    subject TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users (id),
    union_id TEXT, created_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS identities_user ON identities (user_id);
`);
const findIdentity = db.prepare(
  'SELECT u.id, u.nickname, u.avatar FROM identities i JOIN users u ON u.id = i.user_id WHERE i.subject = ?',
);
const insertUser = db.prepare(
  'INSERT INTO users (id, nickname, avatar, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
);
const insertIdentity = db.prepare(
  'INSERT INTO identities (subject, user_id, union_id, created_at) VALUES (?, ?, ?, ?)',
);
/** Finds the user of `openId`, or creates user + identity; one transaction either way. */
const findOrCreateUser = db.transaction((openId, profile) => {
  const found = findIdentity.get(openId);
  if (found) return found;
  const now = Math.floor(Date.now() / 1000);
  const user = {
    id: `u_${crypto.randomBytes(12).toString('base64url')}`,
    nickname: profile.displayName,
    avatar: profile.photo,
  };
  insertUser.run(user.id, user.nickname, user.avatar, now, now);
  insertIdentity.run(openId, user.id, profile.unionId ?? null, now);
  return user;
});

// --- the signing key (ES256), made at start; its public half at /jwks.json
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = crypto.randomBytes(8).toString('hex');
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] };

// --- Passport
passport.use(
  new XiaomiStrategy(
    {
      accountBase,
      openBase,
      clientID: clientId,
      clientSecret,
      callbackURL: `${publicUrl}/callback`,
    },
    (accessToken, refreshToken, params, profile, done) => {
      // openId comes with the token (camelCase), not with the profile.
      if (!params.openId) return done(new Error('token response without openId'));
      try {
        return done(null, findOrCreateUser(params.openId, profile));
      } catch (e) {
        return done(e);
      }
    },
  ),
);

// --- the app
const app = express();
app.disable('x-powered-by');
app.use(
  session({
    secret: crypto.randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }),
);
app.use(passport.initialize());

app.get('/readyz', (req, res) => res.send('ok'));
app.get('/jwks.json', (req, res) => res.json(jwks));

app.get(
  '/login',
  (req, res, next) => {
    req.session.attempt = String(req.query.attempt || '');
    next();
  },
  passport.authenticate('xiaomi'),
);

app.get(
  '/callback',
  passport.authenticate('xiaomi', { session: false, failWithError: true }),
  (req, res) => {
    const attempt = req.session.attempt || '';
    const user = req.user;
    const idToken = jwt.sign({ nonce: attempt, name: user.nickname, picture: user.avatar }, privateKey, {
      algorithm: 'ES256',
      keyid: kid,
      issuer: publicUrl,
      audience: appId,
      subject: user.id,
      expiresIn: '10m',
    });
    console.log(`login user=${user.id}`);
    resultPage(res, 200, { ok: true, attempt, id_token: idToken, user });
  },
  // Passport's failures (bad state, Xiaomi errors) land here.
  (err, req, res, next) => {
    console.error(`login failed: ${err.message || err}`);
    resultPage(res, err.status || 400, { ok: false, error: 'login_failed' });
  },
);

/** The result page: the same JSON script element milogin's popup page carries. */
function resultPage(res, status, body) {
  const json = JSON.stringify(body).replace(/</g, '\\u003c');
  res
    .status(status)
    .type('html')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>Login with Xiaomi</title></head><body>` +
        `<script type="application/json" id="milogin-result">${json}</script></body></html>`,
    );
}

app.listen(port, '127.0.0.1', () => {
  console.log(`peer express-passport listening on ${publicUrl}`);
});

'use strict';
// End-to-end tests of the deployable Action, dist/action.js, run against the local
// Auth0 stand-in (tests/auth0-standin/): the post-login event/api objects and a
// Management API on 127.0.0.1 with injectable faults.
//
//   node --test tests/action/          (after `bash scripts/build.sh`)
//
// Assumption carried from AUTH0-FACTS and the stand-in: a GET /api/v2/users/{id} made
// during post-login already returns the refresh token Google issued in that login.
//
// Tests never print a secret: comparisons with tokens use assert.ok(a === b, message),
// and every login is checked for leaks before its log lines are compared.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
// TOKENSEAL_ACTION points the tests at another build of the Action (a candidate bundle).
const ACTION = process.env.TOKENSEAL_ACTION ? path.resolve(process.env.TOKENSEAL_ACTION) : path.join(ROOT, 'dist', 'action.js');
const tokenseal = require(path.join(ROOT, 'pkg', 'tokenseal.js'));
const { createPostLoginRun, createCache } = require('../auth0-standin/actions.cjs');
const { startManagementApi } = require('../auth0-standin/management-api.cjs');

const NS = 'https://app.example.com/';
const CLAIM = `${NS}google_offline_access`;
const CLIENT_ID = 'TsM2mClient0123456789abcdefABCDE'; // 32 characters, like Auth0's
const FULL_SCOPES = ['read:users', 'read:user_idp_tokens'];
const GOOGLE = { name: 'google-oauth2', strategy: 'google-oauth2' };
const DATABASE = { name: 'Username-Password-Authentication', strategy: 'auth0' };
const SEALED = 'sealed_refresh_tokens';
const CALL_TIMEOUT_MS = 4000; // src/action.rs CALL_TIMEOUT_MS
const CALL_BUDGET_MS = 10000; // src/action.rs CALL_BUDGET_MS

/** The Action as a fresh module: no core instance or module state from earlier tests. */
function freshAction() {
  delete require.cache[require.resolve(ACTION)];
  return require(ACTION);
}

const random = (n) => crypto.randomBytes(n).toString('base64url');
/** Something shaped like a Google refresh token (VSCHAR, ~100 chars). */
const refreshToken = () => `1//0g${random(75)}`;
const googleAccessToken = () => `ya29.${random(90)}`;
const googleId = () => String(100000000000000000000n + BigInt(crypto.randomInt(1, 2 ** 47)));

function googleUser({ id = googleId(), token, appMetadata = {}, loginsCount = 0 } = {}) {
  return {
    user_id: `google-oauth2|${id}`,
    email: `user${id.slice(-4)}@example.com`,
    email_verified: true,
    name: 'Test User',
    logins_count: loginsCount,
    app_metadata: { plan: 'pro', ...appMetadata },
    user_metadata: {},
    identities: [{
      connection: 'google-oauth2', provider: 'google-oauth2', user_id: id, isSocial: true,
      profileData: { email: `user${id.slice(-4)}@example.com` },
      ...(token ? { refresh_token: token, access_token: googleAccessToken() } : {}),
    }],
  };
}

function databaseUser({ loginsCount = 0, appMetadata = {} } = {}) {
  const id = random(12);
  return {
    user_id: `auth0|${id}`,
    email: 'db@example.com',
    logins_count: loginsCount,
    app_metadata: { ...appMetadata },
    identities: [{ connection: DATABASE.name, provider: 'auth0', user_id: id, isSocial: false }],
  };
}

/** A JWK Set of the given sets' keys, in order (first seals). */
function ring(...sets) {
  return JSON.stringify({ keys: sets.flatMap((s) => JSON.parse(s).keys) });
}
const kidOf = (set) => JSON.parse(set).keys[0].kid;

/** Opens a sealed value (Google's, or `provider`'s); { token } or { code }. */
function openSealed(sealed, keys, userId, provider) {
  try {
    return { token: tokenseal.open(sealed, keys, userId, provider) };
  } catch (error) {
    return { code: error.code };
  }
}

/**
 * A stand-in Management API with the given users, an M2M client, a key set and the
 * Action's secrets. Closed when the test ends.
 */
async function startEnv(t, { users = [], scopes = FULL_SCOPES, keys = tokenseal.generateKeySet(), secrets = {} } = {}) {
  const clientSecret = random(48);
  const mgmt = await startManagementApi({ users, clients: [{ clientId: CLIENT_ID, clientSecret, scopes }] });
  t.after(() => mgmt.close());
  const env = {
    mgmt,
    keys,
    cache: createCache(),
    secrets: {
      TOKENSEAL_KEYS: keys,
      AUTH0_DOMAIN: mgmt.baseUrl,
      AUTH0_CLIENT_ID: CLIENT_ID,
      AUTH0_CLIENT_SECRET: clientSecret,
      TOKENSEAL_CLAIM_NAMESPACE: NS,
      ...secrets,
    },
    tracked: new Set(), // refresh and IdP access tokens issued in this test
    track(...values) {
      for (const v of values) if (v) env.tracked.add(v);
      return values[0];
    },
    /** Every secret a log line, claim or deny reason must never contain. */
    secretValues() {
      const out = [];
      for (const v of env.tracked) out.push(['an IdP token', v]);
      for (const u of mgmt.store.listUsers()) {
        for (const id of u.identities || []) {
          if (id.refresh_token) out.push(['an IdP refresh token', id.refresh_token]);
          if (id.access_token) out.push(['an IdP access token', id.access_token]);
        }
      }
      for (const set of new Set([env.keys, env.secrets.TOKENSEAL_KEYS])) {
        let parsed;
        try { parsed = JSON.parse(set); } catch { continue; }
        for (const k of (parsed && parsed.keys) || []) if (typeof k.k === 'string' && k.k.length >= 16) out.push(['a key (k)', k.k]);
      }
      out.push(['the client secret', clientSecret]);
      for (const token of mgmt.store.tokens.keys()) out.push(['an M2M access token', token]);
      return out;
    },
  };
  for (const u of users) for (const id of u.identities || []) env.track(id.refresh_token, id.access_token);
  return env;
}

/** True when `text` holds `value` or any 16-character piece of it (a truncated leak). */
function leaks(text, value) {
  const piece = 16;
  if (value.length <= piece) return text.includes(value);
  for (let i = 0; i + piece <= value.length; i += 1) if (text.includes(value.slice(i, i + piece))) return true;
  return false;
}

/** Asserts no secret appears in any of the texts; names only what leaked, never the value. */
function assertNoLeak(env, texts, where) {
  for (const [i, text] of texts.entries()) {
    for (const [what, value] of env.secretValues()) {
      assert.ok(!leaks(String(text), value), `${where} #${i} contains ${what}`);
    }
  }
}

/**
 * One post-login run of the real Action against the stand-in: returns what Auth0 would
 * persist and issue, the app_metadata writes in order, the console lines, the
 * Management API requests per route made during the run, and the elapsed time.
 */
async function login(env, {
  userId, idpTokens, query, transaction, connection = GOOGLE, secrets = {}, cache = env.cache, action = freshAction(),
  refreshTokenExchange, authenticatedAt,
} = {}) {
  if (idpTokens) env.track(idpTokens.refresh_token, idpTokens.access_token);
  const before = env.mgmt.requests.length;
  const run = createPostLoginRun({
    store: env.mgmt.store,
    userId,
    idpTokens,
    connection,
    request: query ? { query } : undefined,
    transaction,
    secrets: { ...env.secrets, ...secrets },
    cache,
    refreshTokenExchange,
    authenticatedAt,
  });
  const writes = [];
  // Delegates to the stand-in's api (which is frozen) and records the metadata writes.
  const api = {
    ...run.api,
    user: {
      ...run.api.user,
      setAppMetadata(key, value) {
        writes.push({ key, value });
        return run.api.user.setAppMetadata(key, value);
      },
    },
  };
  const lines = [];
  const saved = { log: console.log, error: console.error, warn: console.warn, info: console.info, debug: console.debug };
  const capture = (...args) => { lines.push(args.map(String).join(' ')); };
  Object.assign(console, { log: capture, error: capture, warn: capture, info: capture, debug: capture });
  const started = Date.now();
  try {
    await action.onExecutePostLogin(run.event, api);
  } finally {
    Object.assign(console, saved);
  }
  const elapsed = Date.now() - started;
  const result = run.finish();
  const calls = {};
  for (const r of env.mgmt.requests.slice(before)) calls[r.route] = (calls[r.route] || 0) + 1;
  const claimValues = [result.idTokenClaims, result.accessTokenClaims].flatMap((c) => Object.entries(c).map(([k, v]) => `${k}=${JSON.stringify(v)}`));
  // Invariants of every run: nothing secret in logs, claims or a deny reason; short lines.
  assertNoLeak(env, lines, 'console line');
  assertNoLeak(env, claimValues, 'claim');
  assertNoLeak(env, [result.denied ?? ''], 'deny reason');
  for (const line of lines) assert.ok(line.length <= 256, 'a console line is longer than 256 characters');
  return { ...result, writes, lines, calls, elapsed, requests: env.mgmt.requests.slice(before) };
}

/** The sealed Google value Auth0 would store after the run. */
const sealedOf = (r) => r.appMetadata[SEALED] && r.appMetadata[SEALED]['google-oauth2'];

/** Asserts the value opens under `keys` for `userId` to exactly `token`. */
function assertOpensTo(sealed, keys, userId, token, message = 'the sealed value opens to the issued token', provider = undefined) {
  assert.equal(typeof sealed, 'string', 'a sealed value is stored');
  const opened = openSealed(sealed, keys, userId, provider);
  assert.equal(opened.code, undefined, 'the sealed value opens for this user');
  assert.ok(opened.token === token, message);
}

function assertHeader(sealed, { kid, sub }) {
  const header = tokenseal.inspect(sealed);
  assert.equal(header.typ, 'tokenseal.v1+jwe');
  assert.equal(header.alg, 'dir');
  assert.equal(header.enc, 'A256GCM');
  assert.equal(header.kid, kid);
  assert.equal(header.sub, sub);
  assert.ok(Math.abs(header.iat - Date.now() / 1000) < 60, 'iat is now');
}

/** The only write is tokenseal's record that a read found no token, made just now. */
function assertNoTokenRecord(writes) {
  assert.deepEqual(writes.map((w) => w.key), ['tokenseal']);
  const at = writes[0].value.no_token_at['google-oauth2'];
  assert.ok(Math.abs(at - Date.now() / 1000) < 60, 'recorded now, in seconds');
}

/** A user whose app_metadata holds `token` sealed for them (as an earlier login left it). */
function withSealed(user, token, keys, sub = user.user_id) {
  user.app_metadata[SEALED] = { 'google-oauth2': tokenseal.seal(token, keys, sub) };
  return user;
}

// ----------------------------------------------------------------------------------

test('first Google login: reads the user once, seals the token bound to the user, claim "stored"', async (t) => {
  const user = googleUser({ loginsCount: 0, appMetadata: { [SEALED]: { github: 'sealed-github-value' } } });
  const env = await startEnv(t, { users: [user] });
  const rt = refreshToken();
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: rt, access_token: googleAccessToken() } });

  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.equal(r.requests[1].path, `/api/v2/users/${encodeURIComponent(user.user_id)}`);
  assert.deepEqual(r.writes.map((w) => w.key), [SEALED]);
  assert.deepEqual(Object.keys(r.writes[0].value).sort(), ['github', 'google-oauth2']);
  assert.equal(r.writes[0].value.github, 'sealed-github-value', 'other providers are kept');
  const sealed = sealedOf(r);
  assertOpensTo(sealed, env.keys, user.user_id, rt);
  assertHeader(sealed, { kid: kidOf(env.keys), sub: user.user_id });
  assert.equal(openSealed(sealed, env.keys, 'google-oauth2|someone-else').code, 'ERR_SUBJECT_MISMATCH');
  assert.equal(r.appMetadata.plan, 'pro', 'unrelated app_metadata is untouched');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  assert.deepEqual(r.accessTokenClaims, {});
  assert.deepEqual(r.lines, []);
  assert.equal(r.denied, null);
  assert.deepEqual(r.errors, []);
  // What Auth0 persisted is what the run wrote.
  assert.equal(env.mgmt.store.getUser(user.user_id).app_metadata[SEALED]['google-oauth2'], sealed);
  // The M2M token went to api.cache, under a key within Auth0's 64-byte limit.
  assert.deepEqual(env.cache.keys(), [`tokenseal:m2m:${CLIENT_ID}`]);
});

test('returning Google login with a valid sealed value: zero Management API calls, nothing written', async (t) => {
  const keys = tokenseal.generateKeySet();
  const rt = refreshToken();
  const user = withSealed(googleUser({ token: rt, loginsCount: 5 }), rt, keys);
  const env = await startEnv(t, { users: [user], keys });
  const r = await login(env, { userId: user.user_id, cache: createCache() });

  assert.deepEqual(r.calls, {});
  assert.equal(env.mgmt.requests.length, 0);
  assert.deepEqual(r.writes, []);
  assert.equal(sealedOf(r), user.app_metadata[SEALED]['google-oauth2'], 'stored value untouched');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  assert.deepEqual(r.lines, []);
  assert.equal(r.denied, null);
});

test('first login then returning login on one Action instance (shared module and cache)', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const action = freshAction();
  const rt = refreshToken();
  const first = await login(env, { userId: user.user_id, idpTokens: { refresh_token: rt }, action });
  assert.deepEqual(first.calls, { token: 1, 'users.get': 1 });
  assertOpensTo(sealedOf(first), env.keys, user.user_id, rt);
  const second = await login(env, { userId: user.user_id, action });
  assert.deepEqual(second.calls, {});
  assert.deepEqual(second.writes, []);
  assert.deepEqual(second.idTokenClaims, { [CLAIM]: 'stored' });
  assert.equal(sealedOf(second), sealedOf(first));
});

test('one Action instance reads its secrets again when they change (the settings memo)', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const action = freshAction();
  const first = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, action });
  assert.deepEqual(first.idTokenClaims, { [CLAIM]: 'stored' });
  // Same instance, another namespace: the claim follows the new secrets at once.
  const other = 'https://other.example.com/';
  const second = await login(env, { userId: user.user_id, action, secrets: { TOKENSEAL_CLAIM_NAMESPACE: other } });
  assert.deepEqual(second.idTokenClaims, { [`${other}google_offline_access`]: 'stored' });
  // And back.
  const third = await login(env, { userId: user.user_id, action });
  assert.deepEqual(third.idTokenClaims, { [CLAIM]: 'stored' });
});

test('consent login (prompt=consent) with a NEW token: the stored value is replaced', async (t) => {
  const keys = tokenseal.generateKeySet();
  const oldRt = refreshToken();
  const user = withSealed(googleUser({ token: oldRt, loginsCount: 9 }), oldRt, keys);
  const env = await startEnv(t, { users: [user], keys });
  const newRt = refreshToken();
  const r = await login(env, {
    userId: user.user_id,
    idpTokens: { refresh_token: newRt, access_token: googleAccessToken() },
    query: { prompt: 'consent', access_type: 'offline' },
  });

  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.deepEqual(r.writes.map((w) => w.key), [SEALED]);
  const sealed = sealedOf(r);
  assert.notEqual(sealed, user.app_metadata[SEALED]['google-oauth2']);
  assertOpensTo(sealed, keys, user.user_id, newRt, 'the stored value opens to the NEW token');
  assertHeader(sealed, { kid: kidOf(keys), sub: user.user_id });
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  assert.deepEqual(r.lines, []);
});

test('other consent spellings also read on a returning login: "login consent", approval_prompt=force, connection_scope', async (t) => {
  const keys = tokenseal.generateKeySet();
  const oldRt = refreshToken();
  const user = withSealed(googleUser({ token: oldRt, loginsCount: 3 }), oldRt, keys);
  const env = await startEnv(t, { users: [user], keys });
  for (const query of [{ prompt: 'login consent' }, { approval_prompt: 'force' }, { connection_scope: 'https://www.googleapis.com/auth/drive.file' }]) {
    const rt = refreshToken();
    const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: rt }, query });
    assert.equal(r.calls['users.get'], 1, `reads for ${Object.keys(query)[0]}`);
    assertOpensTo(sealedOf(r), keys, user.user_id, rt);
  }
  // And no read without one of them.
  const r = await login(env, { userId: user.user_id, query: { prompt: 'login', access_type: 'offline' } });
  assert.deepEqual(r.calls, {});
});

test('consent login without a new token: the stored value is kept untouched', async (t) => {
  const keys = tokenseal.generateKeySet();
  const rt = refreshToken();
  // (a) Auth0 still holds the token of an earlier login on the identity.
  const kept = withSealed(googleUser({ token: rt, loginsCount: 4 }), rt, keys);
  // (b) Auth0 holds no refresh token on the identity at all.
  const bare = withSealed(googleUser({ loginsCount: 4 }), refreshToken(), keys);
  const env = await startEnv(t, { users: [kept, bare], keys });
  env.track(rt);

  for (const user of [kept, bare]) {
    const before = user.app_metadata[SEALED]['google-oauth2'];
    const r = await login(env, { userId: user.user_id, query: { prompt: 'consent' } });
    assert.equal(r.calls['users.get'], 1, 'consent reads the user');
    assert.deepEqual(r.writes, [], 'nothing written');
    assert.equal(sealedOf(r), before, 'stored value untouched');
    assert.equal(env.mgmt.store.getUser(user.user_id).app_metadata[SEALED]['google-oauth2'], before);
    assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
    assert.deepEqual(r.lines, []);
  }
});

test('legacy plaintext app_metadata.refresh_token: sealed and removed on a returning login, no read', async (t) => {
  const legacy = refreshToken();
  const user = googleUser({ loginsCount: 12, appMetadata: { refresh_token: legacy } });
  const env = await startEnv(t, { users: [user] });
  env.track(legacy);
  const r = await login(env, { userId: user.user_id });

  assert.deepEqual(r.calls, {}, 'no Management API call');
  assert.deepEqual(r.writes.map((w) => [w.key, w.value === null]), [[SEALED, false], ['refresh_token', true]],
    'the sealed value, then refresh_token null, in that order');
  assertOpensTo(sealedOf(r), env.keys, user.user_id, legacy, 'the sealed value opens to the legacy token');
  assert.equal('refresh_token' in r.appMetadata, false, 'plaintext removed from what Auth0 stores');
  const stored = env.mgmt.store.getUser(user.user_id).app_metadata;
  assert.equal('refresh_token' in stored, false);
  assert.ok(!JSON.stringify(stored).includes(legacy), 'no plaintext token anywhere in app_metadata');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  assert.deepEqual(r.lines, []);
});

test('rotation: a value sealed under key A with TOKENSEAL_KEYS=[B, A] is re-sealed under B, no read', async (t) => {
  const keyA = tokenseal.generateKeySet();
  const keyB = tokenseal.generateKeySet();
  const rt = refreshToken();
  const user = withSealed(googleUser({ token: rt, loginsCount: 30 }), rt, keyA);
  const env = await startEnv(t, { users: [user], keys: ring(keyB, keyA) });
  assert.equal(tokenseal.inspect(user.app_metadata[SEALED]['google-oauth2']).kid, kidOf(keyA));
  const r = await login(env, { userId: user.user_id });

  assert.deepEqual(r.calls, {});
  assert.deepEqual(r.writes.map((w) => w.key), [SEALED]);
  const sealed = sealedOf(r);
  assertHeader(sealed, { kid: kidOf(keyB), sub: user.user_id });
  assertOpensTo(sealed, keyB, user.user_id, rt, 'B alone opens the re-sealed value to the same token');
  assert.equal(openSealed(sealed, keyA, user.user_id).code, 'ERR_KEY_UNKNOWN', 'A no longer needed');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  assert.deepEqual(r.lines, []);
  // The next login finds it under the primary: nothing more to do.
  const again = await login(env, { userId: user.user_id });
  assert.deepEqual([again.calls, again.writes], [{}, []]);
});

test('non-Google (database) user: untouched, no claim, no reads (even with TOKENSEAL_FETCH=always)', async (t) => {
  const user = databaseUser({ loginsCount: 0, appMetadata: { refresh_token: 'not-ours-to-touch', plan: 'free' } });
  const env = await startEnv(t, { users: [user] });
  for (const secrets of [{}, { TOKENSEAL_FETCH: 'always' }]) {
    const r = await login(env, { userId: user.user_id, connection: DATABASE, query: { prompt: 'consent' }, secrets });
    assert.deepEqual(r.calls, {});
    assert.deepEqual(r.writes, []);
    assert.deepEqual(r.idTokenClaims, {});
    assert.deepEqual(r.accessTokenClaims, {});
    assert.deepEqual(r.appMetadata, { refresh_token: 'not-ours-to-touch', plan: 'free' });
    assert.deepEqual(r.lines, []);
  }
});

test('Google user with no token anywhere: claim "missing", nothing written', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const r = await login(env, { userId: user.user_id, idpTokens: { access_token: googleAccessToken() } });

  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 }, 'a first login reads');
  assertNoTokenRecord(r.writes);
  assert.equal(r.appMetadata[SEALED], undefined);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, []);
  assert.equal(r.denied, null);
});

test('linked accounts: Google identity under an auth0| primary, login through google-oauth2: bound to the primary', async (t) => {
  const googleSub = googleId();
  const primary = {
    user_id: 'auth0|65f0c0ffee0123456789abcd',
    email: 'linked@example.com',
    logins_count: 6,
    app_metadata: {},
    identities: [
      { connection: DATABASE.name, provider: 'auth0', user_id: '65f0c0ffee0123456789abcd', isSocial: false },
      { connection: 'google-oauth2', provider: 'google-oauth2', user_id: googleSub, isSocial: true },
    ],
  };
  const env = await startEnv(t, { users: [primary] });
  const rt = refreshToken();
  const r = await login(env, { userId: primary.user_id, idpTokens: { refresh_token: rt, access_token: googleAccessToken() } });

  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.equal(r.requests[1].path, '/api/v2/users/auth0%7C65f0c0ffee0123456789abcd', 'reads the primary user');
  const sealed = sealedOf(r);
  assertHeader(sealed, { kid: kidOf(env.keys), sub: primary.user_id });
  assertOpensTo(sealed, env.keys, primary.user_id, rt);
  assert.equal(openSealed(sealed, env.keys, `google-oauth2|${googleSub}`).code, 'ERR_SUBJECT_MISMATCH',
    'not bound to the secondary identity');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  // A later login through the database connection keeps it and reports it.
  const db = await login(env, { userId: primary.user_id, connection: DATABASE });
  assert.deepEqual([db.calls, db.writes, db.idTokenClaims], [{}, [], { [CLAIM]: 'stored' }]);
});

test('Management API down (5xx on every call): login continues, nothing written, one ERR_ line', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  env.mgmt.setFault({ kind: '5xx' });
  // (a) no cached token: the token endpoint is tried twice (one retry).
  let r = await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r.calls, { token: 2 });
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_UNAVAILABLE']);
  assert.equal(r.denied, null);

  // (b) a cached token: the user GET is tried twice.
  env.mgmt.clearFaults();
  await login(env, { userId: users[1].user_id }); // fills the cache (no token: nothing stored)
  env.mgmt.setFault({ kind: '5xx' });
  r = await login(env, { userId: users[1].user_id, idpTokens: { refresh_token: refreshToken() }, query: { prompt: 'consent' } });
  assert.deepEqual(r.calls, { 'users.get': 2 });
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_UNAVAILABLE']);
  assert.equal(r.denied, null);

  // With TOKENSEAL_ON_ERROR=deny the same failure denies the login.
  r = await login(env, { userId: users[1].user_id, query: { prompt: 'consent' }, secrets: { TOKENSEAL_ON_ERROR: 'deny' } });
  assert.equal(r.denied, 'tokenseal: ERR_MGMT_UNAVAILABLE');
  assert.deepEqual(r.writes, []);
});

test('hanging Management API: the login finishes within the call budget', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  // (a) the token endpoint never answers.
  env.mgmt.setFault({ path: 'token', kind: 'hang' });
  let r = await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.ok(r.elapsed >= CALL_TIMEOUT_MS - 100, `waited for the call timeout (${r.elapsed} ms)`);
  assert.ok(r.elapsed < CALL_BUDGET_MS + 1000 && r.elapsed < 15000, `finished within the budget (${r.elapsed} ms)`);
  assert.deepEqual(r.calls, { token: 1 }, 'a timeout is not retried');
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_TIMEOUT']);
  assert.equal(r.denied, null);

  // (b) the token comes, the user GET never answers.
  env.mgmt.clearFaults();
  env.mgmt.setFault({ path: 'user', kind: 'hang' });
  r = await login(env, { userId: users[1].user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.ok(r.elapsed < CALL_BUDGET_MS + 1000 && r.elapsed < 15000, `finished within the budget (${r.elapsed} ms)`);
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_TIMEOUT']);
});

test('401 on the token endpoint: ERR_MGMT_UNAUTHORIZED, no retry, no user read', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  env.mgmt.setFault({ path: 'token', kind: '401' });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r.calls, { token: 1 });
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_UNAUTHORIZED']);
  assert.equal(r.denied, null);
  assert.deepEqual(env.cache.keys(), [], 'nothing cached');
});

test('wrong client secret (real 401 from the stand-in): ERR_MGMT_UNAUTHORIZED', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, secrets: { AUTH0_CLIENT_SECRET: 'wrong' } });
  assert.deepEqual(r.calls, { token: 1 });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_UNAUTHORIZED']);
  assert.deepEqual(r.writes, []);
});

test('429 then OK (Retry-After: 1): succeeds after one retry that honours the wait', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  // On the token endpoint.
  env.mgmt.setFault({ path: 'token', kind: '429', retryAfter: 1, times: 1 });
  const rt0 = refreshToken();
  let r = await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: rt0 } });
  assert.deepEqual(r.calls, { token: 2, 'users.get': 1 });
  assert.ok(r.elapsed >= 950, `waited Retry-After (${r.elapsed} ms)`);
  assertOpensTo(sealedOf(r), env.keys, users[0].user_id, rt0);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  assert.deepEqual(r.lines, []);
  // On the user GET (token from the cache).
  env.mgmt.setFault({ path: 'user', kind: '429', retryAfter: 1, times: 1 });
  const rt1 = refreshToken();
  r = await login(env, { userId: users[1].user_id, idpTokens: { refresh_token: rt1 } });
  assert.deepEqual(r.calls, { 'users.get': 2 });
  assert.ok(r.elapsed >= 950, `waited Retry-After (${r.elapsed} ms)`);
  assertOpensTo(sealedOf(r), env.keys, users[1].user_id, rt1);
  assert.deepEqual(r.lines, []);
});

test('429 twice: gives up with ERR_MGMT_RATE_LIMITED after one retry', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  env.mgmt.setFault({ path: 'token', kind: '429', retryAfter: 0, times: 2 });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r.calls, { token: 2 });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_RATE_LIMITED']);
  assert.deepEqual(r.writes, []);
});

test('a cached M2M token the API refuses: dropped, a new token fetched, the read succeeds', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  const cacheKey = `tokenseal:m2m:${CLIENT_ID}`;
  await login(env, { userId: users[0].user_id }); // fills the cache
  const cachedBefore = env.cache.get(cacheKey).value;

  // (a) the API answers 401 once to the cached (still valid) token.
  env.mgmt.setFault({ path: 'user', kind: '401', times: 1 });
  const rt = refreshToken();
  let r = await login(env, { userId: users[1].user_id, idpTokens: { refresh_token: rt } });
  assert.deepEqual(r.requests.map((q) => `${q.route} ${q.status}`), ['users.get 401', 'token 200', 'users.get 200']);
  assertOpensTo(sealedOf(r), env.keys, users[1].user_id, rt);
  assert.deepEqual(r.lines, []);
  const cachedAfter = env.cache.get(cacheKey).value;
  assert.ok(cachedAfter !== cachedBefore, 'the cache holds the new token');
  assert.ok(env.mgmt.store.tokens.has(tokenseal.openCacheEntry(cachedAfter, env.keys, cacheKey)), 'a token the stand-in issued');

  // (b) a cached token the API does not know at all (revoked, another tenant).
  env.cache.set(cacheKey, tokenseal.sealCacheEntry('standin.revoked-token', env.keys, cacheKey), { ttl: 60000 });
  const rt2 = refreshToken();
  r = await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: rt2 }, query: { prompt: 'consent' } });
  assert.deepEqual(r.requests.map((q) => `${q.route} ${q.status}`), ['users.get 401', 'token 200', 'users.get 200']);
  assertOpensTo(sealedOf(r), env.keys, users[0].user_id, rt2);

  // (c) a fresh token refused too: one re-authentication only, then ERR_MGMT_UNAUTHORIZED.
  env.mgmt.setFault({ path: 'user', kind: '401', times: 2 });
  r = await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: refreshToken() }, query: { prompt: 'consent' } });
  assert.deepEqual(r.calls, { 'users.get': 2, token: 1 });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_UNAUTHORIZED']);
  assert.deepEqual(r.writes, []);
});

test('bad key sets: no writes, no reads, login continues, ERR_KEY… logged; denied with TOKENSEAL_ON_ERROR=deny', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const short = JSON.stringify({ keys: [{ kty: 'oct', kid: 'short', alg: 'A256GCM', use: 'enc', k: random(16) }] });
  const cases = [
    ['not JSON', '{"keys": [', 'ERR_KEYSET_JSON'],
    ['empty', '{"keys":[]}', 'ERR_KEYSET_EMPTY'],
    ['wrong length (128-bit key)', short, 'ERR_KEY_LENGTH'],
  ];
  for (const [name, keys, code] of cases) {
    for (const deny of [false, true]) {
      const secrets = { TOKENSEAL_KEYS: keys, ...(deny ? { TOKENSEAL_ON_ERROR: 'deny' } : {}) };
      const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, secrets });
      assert.deepEqual(r.writes, [], `${name}: nothing written`);
      assert.deepEqual(r.calls, {}, `${name}: no Management API call`);
      assert.deepEqual(r.lines, [`tokenseal: ${code}`], `${name}: one line with the code`);
      assert.equal(r.denied, deny ? `tokenseal: ${code}` : null, `${name}: denied only with deny`);
    }
  }
  // A missing TOKENSEAL_KEYS secret is reported the same way.
  const secrets = { ...env.secrets };
  delete secrets.TOKENSEAL_KEYS;
  const run = createPostLoginRun({ store: env.mgmt.store, userId: user.user_id, connection: GOOGLE, secrets, cache: env.cache });
  const lines = [];
  const saved = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try { await freshAction().onExecutePostLogin(run.event, run.api); } finally { console.log = saved; }
  const res = run.finish();
  assert.deepEqual(lines, ['tokenseal: ERR_KEYSET_JSON']);
  assert.deepEqual(res.appMetadata, { plan: 'pro' });
});

test('a tampered stored value: not deleted, not re-bound, claim "missing", a read happens', async (t) => {
  const keys = tokenseal.generateKeySet();
  const user = googleUser({ loginsCount: 8 });
  const good = tokenseal.seal(refreshToken(), keys, user.user_id);
  const parts = good.split('.');
  const c = parts[3];
  const mid = Math.floor(c.length / 2);
  parts[3] = c.slice(0, mid) + (c[mid] === 'A' ? 'B' : 'A') + c.slice(mid + 1);
  const tampered = parts.join('.');
  user.app_metadata[SEALED] = { 'google-oauth2': tampered };
  const env = await startEnv(t, { users: [user], keys });
  const r = await login(env, { userId: user.user_id });

  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 }, 'nothing valid stored: a read');
  assertNoTokenRecord(r.writes); // not deleted, not re-sealed
  assert.equal(sealedOf(r), tampered, 'kept exactly as it was');
  assert.equal(env.mgmt.store.getUser(user.user_id).app_metadata[SEALED]['google-oauth2'], tampered);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_DECRYPT']);
  assert.equal(r.denied, null);
});

test('a stored value copied from another user: never re-bound; replaced only by a token read for this user', async (t) => {
  const keys = tokenseal.generateKeySet();
  const victimToken = refreshToken();
  const copied = tokenseal.seal(victimToken, keys, 'google-oauth2|100000000000000000001');
  const noToken = googleUser({ loginsCount: 3, appMetadata: { [SEALED]: { 'google-oauth2': copied } } });
  const ownRt = refreshToken();
  const withToken = googleUser({ token: ownRt, loginsCount: 3, appMetadata: { [SEALED]: { 'google-oauth2': copied } } });
  const env = await startEnv(t, { users: [noToken, withToken], keys });
  env.track(victimToken);

  // (a) nothing for this user at Auth0: the copy stays as it is, status missing.
  let r = await login(env, { userId: noToken.user_id });
  assert.equal(r.calls['users.get'], 1);
  assertNoTokenRecord(r.writes);
  assert.equal(sealedOf(r), copied);
  assert.equal(tokenseal.inspect(sealedOf(r)).sub, 'google-oauth2|100000000000000000001', 'not re-bound');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_SUBJECT_MISMATCH']);

  // (b) Auth0 holds this user's own token: it replaces the copy, bound to this user.
  r = await login(env, { userId: withToken.user_id });
  assert.deepEqual(r.writes.map((w) => w.key), [SEALED]);
  const sealed = sealedOf(r);
  assert.equal(tokenseal.inspect(sealed).sub, withToken.user_id);
  assertOpensTo(sealed, keys, withToken.user_id, ownRt, "opens to this user's own token");
  assert.ok(openSealed(sealed, keys, withToken.user_id).token !== victimToken, "never the other user's token");
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
});

test('the M2M token is reused from api.cache across first logins of two users (token endpoint hit once)', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  const rts = [refreshToken(), refreshToken()];
  for (const [i, user] of users.entries()) {
    // A fresh module each time: the reuse comes from api.cache, not from module state.
    const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: rts[i] }, action: freshAction() });
    assertOpensTo(sealedOf(r), env.keys, user.user_id, rts[i]);
    assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  }
  assert.deepEqual(env.mgmt.counts, { token: 1, 'users.get': 2 });
  const entry = env.cache.get(`tokenseal:m2m:${CLIENT_ID}`);
  // expires_in 86400 s: cached for a day less a tenth.
  assert.ok(Math.abs(entry.expires_at - (Date.now() + 77_760_000)) < 60_000, 'cache lifetime below the token lifetime');
  // An emptied cache (not guaranteed to persist between runs) means one more token request.
  const r = await login(env, { userId: users[0].user_id, query: { prompt: 'consent' }, cache: createCache() });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
});

test('TOKENSEAL_FETCH=always reads on a returning Google login', async (t) => {
  const keys = tokenseal.generateKeySet();
  const rt = refreshToken();
  const user = googleUser({ token: rt, loginsCount: 20 });
  const env = await startEnv(t, { users: [user], keys, secrets: { TOKENSEAL_FETCH: 'always' } });
  let r = await login(env, { userId: user.user_id });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assertOpensTo(sealedOf(r), keys, user.user_id, rt);
  r = await login(env, { userId: user.user_id });
  assert.deepEqual(r.calls, { 'users.get': 1 });
  assert.deepEqual(r.writes, [], 'same token: nothing written');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
  // A new token seen by the read (without any consent parameter) replaces the captured
  // one: its fingerprint says Auth0 received it since.
  const newRt = refreshToken();
  r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: newRt } });
  assert.deepEqual(r.calls, { 'users.get': 1 });
  assertOpensTo(sealedOf(r), keys, user.user_id, newRt);
  // Without the setting the same login does not read.
  r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, secrets: { TOKENSEAL_FETCH: 'auto' } });
  assert.deepEqual(r.calls, {});
});

test('malformed Management API answer: ERR_MGMT_RESPONSE, nothing written', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  // On the user GET.
  env.mgmt.setFault({ path: 'user', kind: 'malformed', times: 1 });
  let r = await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_RESPONSE']);
  assert.equal(r.denied, null);
  // On the token endpoint.
  env.cache.clear();
  env.mgmt.setFault({ path: 'token', kind: 'malformed', times: 1 });
  r = await login(env, { userId: users[1].user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r.calls, { token: 1 });
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_RESPONSE']);
  assert.deepEqual(env.cache.keys(), []);
});

test('missing M2M credentials: a needed read is reported as ERR_CONFIG_INCOMPLETE, no request', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, secrets: { AUTH0_CLIENT_SECRET: '' } });
  assert.deepEqual(r.calls, {});
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.lines, ['tokenseal: ERR_CONFIG_INCOMPLETE']);
});

// ------------------------------------------------------------- no WebAssembly

/** Runs the Action in a child `node` with `flags` and a stub event/api; returns what it did. */
function runInChild(flags, secrets) {
  const script = `
    'use strict';
    const lines = [];
    const capture = (...a) => lines.push(a.map(String).join(' '));
    console.log = capture; console.error = capture; console.warn = capture; console.info = capture;
    const fetches = [];
    globalThis.fetch = async (url) => { fetches.push(String(url)); throw new Error('no network in this test'); };
    const out = { wasm: typeof WebAssembly, webCrypto: typeof globalThis.crypto, requireError: null, writes: [], claims: [], denied: [], cacheOps: 0 };
    let action;
    try { action = require(${JSON.stringify(ACTION)}); } catch (e) { out.requireError = String(e && e.message); }
    const api = {
      user: { setAppMetadata: (k) => { out.writes.push(k); }, setUserMetadata: (k) => { out.writes.push(k); } },
      idToken: { setCustomClaim: (n) => { out.claims.push(n); } },
      accessToken: { setCustomClaim: (n) => { out.claims.push(n); } },
      access: { deny: (reason) => { out.denied.push(String(reason)); } },
      cache: { get: () => { out.cacheOps++; }, set: () => { out.cacheOps++; }, delete: () => { out.cacheOps++; } },
    };
    const event = {
      user: { user_id: 'google-oauth2|100000000000000000042', app_metadata: { refresh_token: '1//0gLEGACY-stub' },
              identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '100000000000000000042', isSocial: true }] },
      connection: { name: 'google-oauth2', strategy: 'google-oauth2' },
      stats: { logins_count: 1 },
      request: { query: {} },
      secrets: ${JSON.stringify(secrets)},
    };
    (async () => {
      if (action) {
        try { await action.onExecutePostLogin(event, api); } catch (e) { out.threw = String(e && e.message); }
      }
      out.lines = lines;
      out.fetches = fetches.length;
      process.stdout.write(JSON.stringify(out));
    })();
  `;
  // A script file, not -e: under --eval Node binds the global `crypto` to node:crypto.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-action-'));
  const file = path.join(dir, 'run.cjs');
  fs.writeFileSync(file, script);
  const child = spawnSync(process.execPath, [...flags, file], { encoding: 'utf8', timeout: 30000 });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(child.status, 0, 'the child process exits cleanly');
  return JSON.parse(child.stdout);
}

const runWithoutWasm = (secrets) => runInChild(['--no-expose-wasm'], secrets);

test('WebAssembly unavailable: require does not throw; one ERR_WASM_UNAVAILABLE line; no deny, no writes', () => {
  const secrets = {
    TOKENSEAL_KEYS: tokenseal.generateKeySet(),
    AUTH0_DOMAIN: 'tenant.example.auth0.com',
    AUTH0_CLIENT_ID: CLIENT_ID,
    AUTH0_CLIENT_SECRET: random(48),
    TOKENSEAL_CLAIM_NAMESPACE: NS,
  };
  const out = runWithoutWasm(secrets);
  assert.equal(out.wasm, 'undefined', 'the child really has no WebAssembly');
  assert.equal(out.requireError, null, 'require(dist/action.js) does not throw');
  assert.equal(out.threw, undefined, 'onExecutePostLogin does not throw');
  assert.equal(out.lines.length, 1);
  assert.match(out.lines[0], /ERR_WASM_UNAVAILABLE/);
  assert.equal(out.lines[0], 'tokenseal: ERR_WASM_UNAVAILABLE');
  assert.deepEqual(out.denied, []);
  assert.deepEqual(out.writes, []);
  assert.deepEqual(out.claims, []);
  assert.equal(out.fetches, 0);
  for (const value of [secrets.AUTH0_CLIENT_SECRET, JSON.parse(secrets.TOKENSEAL_KEYS).keys[0].k, '1//0gLEGACY-stub']) {
    assert.ok(!out.lines[0].includes(value), 'no secret in the line');
  }

  // "deny" as pasted into the dashboard, with a newline: still the instruction to deny.
  for (const deny of ['deny', 'deny\n', ' deny ']) {
    const denied = runWithoutWasm({ ...secrets, TOKENSEAL_ON_ERROR: deny });
    assert.deepEqual(denied.denied, ['tokenseal: ERR_WASM_UNAVAILABLE'], JSON.stringify(deny));
    assert.equal(denied.lines.length, 1);
    assert.match(denied.lines[0], /ERR_WASM_UNAVAILABLE/);
    assert.deepEqual(denied.writes, []);
  }
});

test('no global Web Crypto (Node 18 default): the bundle draws IVs from node:crypto and seals', () => {
  const keys = tokenseal.generateKeySet();
  const out = runInChild(['--no-experimental-global-webcrypto'], { TOKENSEAL_KEYS: keys });
  assert.equal(out.webCrypto, 'undefined', 'the child really has no globalThis.crypto');
  assert.equal(out.requireError, null);
  assert.equal(out.threw, undefined);
  assert.ok(!out.lines.some((line) => line.includes('ERR_RANDOM')), `no ERR_RANDOM: ${out.lines.join(' | ')}`);
  // The stub user carries a legacy plaintext token: it is sealed, then the plaintext removed.
  assert.deepEqual(out.writes, ['sealed_refresh_tokens', 'refresh_token']);
  assert.deepEqual(out.denied, []);
});

test('no crypto at all (node:crypto fails to load): require does not throw; ERR_WASM_UNAVAILABLE, nothing written', () => {
  // The Web Crypto is bound when the file is loaded (while the module compiles); a
  // failure to load it must still surface at the first login as the missing core it is.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-nocrypto-'));
  const preload = path.join(dir, 'no-crypto.cjs');
  fs.writeFileSync(preload, `
    const Module = require('module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === 'crypto' || request === 'node:crypto') throw new Error('crypto is not available in this build');
      return load.call(this, request, ...rest);
    };`);
  try {
    const out = runInChild(['--no-experimental-global-webcrypto', '--require', preload], { TOKENSEAL_KEYS: tokenseal.generateKeySet() });
    assert.equal(out.webCrypto, 'undefined');
    assert.equal(out.requireError, null, 'require(dist/action.js) does not throw');
    assert.equal(out.threw, undefined);
    assert.deepEqual(out.lines, ['tokenseal: ERR_WASM_UNAVAILABLE']);
    assert.deepEqual(out.writes, []);
    assert.deepEqual(out.denied, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --------------------------------------------------------------- secret scan

test('secret scan: no token, key, client secret or M2M token in any log line or claim', async (t) => {
  const keyA = tokenseal.generateKeySet();
  const keyB = tokenseal.generateKeySet();
  const legacyRt = refreshToken();
  const oldRt = refreshToken();
  const users = {
    first: googleUser({ loginsCount: 0 }),
    legacy: googleUser({ loginsCount: 4, appMetadata: { refresh_token: legacyRt } }),
    rotated: withSealed(googleUser({ token: oldRt, loginsCount: 4 }), oldRt, keyA),
    tampered: googleUser({ loginsCount: 4, appMetadata: { [SEALED]: { 'google-oauth2': 'eyJ0eXAiOiJ0b2tlbnNlYWwudjErandlIn0..AAAA.BBBB.CCCC' } } }),
    legacyBad: googleUser({ loginsCount: 4, appMetadata: { refresh_token: 'has spaces and \u00e9 so not a token' } }),
  };
  const env = await startEnv(t, { users: Object.values(users), keys: ring(keyB, keyA) });
  env.track(legacyRt, oldRt);
  const lines = [];
  const claims = [];
  const denials = [];
  const run = async (opts) => {
    const r = await login(env, opts);
    lines.push(...r.lines);
    for (const c of [r.idTokenClaims, r.accessTokenClaims]) for (const [k, v] of Object.entries(c)) claims.push(`${k}=${JSON.stringify(v)}`);
    if (r.denied) denials.push(r.denied);
    return r;
  };
  const deny = { TOKENSEAL_ON_ERROR: 'deny' };
  const at = () => googleAccessToken();

  await run({ userId: users.first.user_id, idpTokens: { refresh_token: refreshToken(), access_token: at() } });
  await run({ userId: users.first.user_id });
  await run({ userId: users.first.user_id, idpTokens: { refresh_token: refreshToken(), access_token: at() }, query: { prompt: 'consent' } });
  await run({ userId: users.legacy.user_id });
  await run({ userId: users.rotated.user_id });
  await run({ userId: users.tampered.user_id, secrets: deny });
  await run({ userId: users.legacyBad.user_id, secrets: deny });
  env.mgmt.setFault({ path: 'user', kind: '401', times: 2 });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: deny });
  env.mgmt.setFault({ path: 'user', kind: 'malformed', times: 1 });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: deny });
  env.mgmt.setFault({ path: 'user', kind: '5xx', times: 2 });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: deny });
  env.cache.clear();
  env.mgmt.setFault({ path: 'token', kind: 'reset', times: 2 });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: deny });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: { ...deny, AUTH0_CLIENT_SECRET: `${env.secrets.AUTH0_CLIENT_SECRET}x` } });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: { TOKENSEAL_KEYS: JSON.stringify({ keys: [{ kty: 'oct', kid: 'k', k: random(20) }] }), ...deny } });
  await run({ userId: users.first.user_id, query: { prompt: 'consent' }, secrets: { TOKENSEAL_KEYS: env.secrets.TOKENSEAL_KEYS.slice(0, -3), ...deny } });
  await run({ userId: users.first.user_id, secrets: { TOKENSEAL_CLAIM_NAMESPACE: 'https://tenant.auth0.com/', TOKENSEAL_FETCH: 'sometimes', AUTH0_DOMAIN: 'http://evil.example' } });

  // The scenarios did exercise the paths that matter.
  assert.ok(env.mgmt.store.tokens.size >= 2, 'M2M tokens were issued');
  assert.ok(lines.length >= 8, 'failures were logged');
  assert.ok(denials.length >= 6, 'denials happened');
  assert.ok(claims.length >= 10, 'claims were set');
  const secrets = env.secretValues();
  assert.ok(secrets.filter(([what]) => what === 'an M2M access token').length >= 2);
  assert.ok(secrets.filter(([what]) => what === 'a key (k)').length === 2);
  for (const [name, texts] of [['console line', lines], ['claim', claims], ['deny reason', denials]]) {
    for (const [i, text] of texts.entries()) {
      for (const [what, value] of secrets) assert.ok(!leaks(text, value), `${name} #${i} contains ${what} (or 16 characters of it)`);
    }
  }
  for (const line of lines) {
    assert.ok(line.length <= 256, 'a console line is longer than 256 characters');
    assert.match(line, /^tokenseal:( ERR_[A-Z_]+)+$/, 'lines carry codes only');
  }
  for (const claim of claims) assert.match(claim, /^https:\/\/app\.example\.com\/google_offline_access="(stored|missing)"$/);
  // And no plaintext token is left in any stored app_metadata except where it was invalid.
  for (const u of env.mgmt.store.listUsers()) {
    for (const [, value] of secrets) assert.ok(!JSON.stringify(u.app_metadata).includes(value), 'no secret in app_metadata');
  }
});

// ---------------------------------------------------------------------------------------
// Regressions of findings from review: budget, redirects, scopes, legacy next to an
// unreadable value.

const http = require('node:http');

/** A loopback server answering with `handler`; closed after the test. */
async function server(t, handler) {
  const sockets = new Set();
  const srv = http.createServer(handler);
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { for (const s of sockets) s.destroy(); srv.close(resolve); }));
  return { url: `http://127.0.0.1:${srv.address().port}`, requests: [] };
}

test('the whole Management API read ends within its 10 s budget, however slowly each call answers', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  let tokenCalls = 0;
  const slow = await server(t, (req, res) => {
    req.resume();
    if (req.url === '/oauth/token') {
      tokenCalls += 1;
      const status = tokenCalls === 1 ? 503 : 200;
      setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: 'm2m-slow', token_type: 'Bearer', expires_in: 86400, scope: FULL_SCOPES.join(' ') })), 3900);
    } // the user read never answers
  });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, secrets: { AUTH0_DOMAIN: slow.url } });
  assert.ok(r.elapsed <= CALL_BUDGET_MS + 300, `ended within the budget (${r.elapsed} ms)`);
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_TIMEOUT']);
  assert.deepEqual(r.writes, []);
});

test('redirects are refused: the client secret never follows a 307 to another origin', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const elsewhere = await server(t, (req, res) => { elsewhere.requests.push(req.url); req.resume(); res.end('{}'); });
  const redirector = await server(t, (req, res) => {
    req.resume();
    res.writeHead(307, { location: `${elsewhere.url}${req.url}` }).end();
  });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() }, secrets: { AUTH0_DOMAIN: redirector.url } });
  assert.deepEqual(elsewhere.requests, [], 'nothing reached the other origin');
  assert.equal(r.lines.length, 1);
  assert.match(r.lines[0], /^tokenseal: ERR_MGMT_/);
  assert.deepEqual(r.writes, []);
});

test('a token without read:users: ERR_MGMT_FORBIDDEN, the token neither used nor cached', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user], scopes: ['read:user_idp_tokens'] });
  const r1 = await login(env, { userId: user.user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r1.calls, { token: 1 });
  assert.deepEqual(r1.lines, ['tokenseal: ERR_MGMT_FORBIDDEN']);
  const r2 = await login(env, { userId: user.user_id });
  assert.deepEqual(r2.calls, { token: 1 });
  assert.deepEqual(r2.lines, ['tokenseal: ERR_MGMT_FORBIDDEN']);
  assert.deepEqual([...r1.writes, ...r2.writes], []);
});

test('a token without read:user_idp_tokens is reported, never taken for "no token", and a fixed grant takes effect at once', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const scopes = ['read:users']; // the stand-in reads the grant's scopes at each token call
  const env = await startEnv(t, { users: [user], scopes });
  const issued = refreshToken();
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: issued } });
  assert.deepEqual(r.calls, { token: 1 });
  assert.deepEqual(r.lines, ['tokenseal: ERR_MGMT_FORBIDDEN']);
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  assert.deepEqual(r.writes, [], 'no "no token" record: the read could not have seen one');
  // The admin adds the scope: the next login reads with a new token and seals.
  scopes.push('read:user_idp_tokens');
  const fixed = await login(env, { userId: user.user_id });
  assert.deepEqual(fixed.calls, { token: 1, 'users.get': 1 });
  assert.deepEqual(fixed.idTokenClaims, { [CLAIM]: 'stored' });
  assertOpensTo(sealedOf(fixed), env.keys, user.user_id, issued);
});

test('legacy plaintext next to a value that does not open: a read happens, and a fresh token replaces both', async (t) => {
  const retired = tokenseal.generateKeySet();
  const legacy = refreshToken();
  const user = googleUser({ loginsCount: 5 });
  const env = await startEnv(t, { users: [user] });
  env.track(legacy);
  const sealedUnderRetired = tokenseal.seal(refreshToken(), retired, user.user_id);
  env.mgmt.store.updateUser(user.user_id, { app_metadata: { refresh_token: legacy, [SEALED]: { 'google-oauth2': sealedUnderRetired } } });
  const fresh = refreshToken();
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: fresh } });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assertOpensTo(sealedOf(r), env.keys, user.user_id, fresh);
  assert.equal(r.appMetadata.refresh_token, undefined, 'the plaintext is gone');
  assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'stored' });
});

test('consent carried only by event.transaction.prompt (pushed or form-posted authorization) reads too', async (t) => {
  const old = refreshToken();
  const user = googleUser({ loginsCount: 5 });
  const env = await startEnv(t, { users: [user] });
  env.track(old);
  env.mgmt.store.updateUser(user.user_id, { app_metadata: { [SEALED]: { 'google-oauth2': tokenseal.seal(old, env.keys, user.user_id) } } });
  const fresh = refreshToken();
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: fresh }, query: {}, transaction: { prompt: ['consent'] } });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assertOpensTo(sealedOf(r), env.keys, user.user_id, fresh);
});

test('a broken key set in deny mode denies Google logins only: database users get in', async (t) => {
  const db = databaseUser({ loginsCount: 3 });
  const google = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [db, google], secrets: { TOKENSEAL_KEYS: '{"keys":[]}', TOKENSEAL_ON_ERROR: 'deny' } });
  const r1 = await login(env, { userId: db.user_id, connection: DATABASE });
  assert.equal(r1.denied, null);
  assert.deepEqual(r1.lines, ['tokenseal: ERR_KEYSET_EMPTY'], 'the misconfiguration is still reported');
  assert.deepEqual(r1.calls, {});
  const r2 = await login(env, { userId: google.user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.match(r2.denied, /ERR_KEYSET_EMPTY/);
  assert.deepEqual(r2.writes, []);
});

test('M2M credentials pasted with a trailing newline still work (they are trimmed)', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const fresh = refreshToken();
  const r = await login(env, {
    userId: user.user_id,
    idpTokens: { refresh_token: fresh },
    secrets: { AUTH0_CLIENT_ID: `${CLIENT_ID}\n`, AUTH0_CLIENT_SECRET: `${env.secrets.AUTH0_CLIENT_SECRET}\r\n` },
  });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.deepEqual(r.lines, []);
  assertOpensTo(sealedOf(r), env.keys, user.user_id, fresh);
});

// ----------------------------------------------------------------------------------
// Hardening: the shared cache, stale copies, reads, hostile input

test('api.cache holds no usable secret: every entry is scanned; a second login still reuses the token', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  const rt = refreshToken();
  await login(env, { userId: users[0].user_id, idpTokens: { refresh_token: rt } });
  // Another Action of the trigger reads everything api.cache holds.
  const entries = env.cache.keys().map((key) => [key, env.cache.get(key).value]);
  assert.ok(entries.length > 0, 'the M2M token is cached');
  const secrets = env.secretValues();
  assert.ok(secrets.some(([what]) => what === 'an M2M access token'), 'the stand-in issued an M2M token');
  for (const [key, value] of entries) {
    for (const [what, secret] of secrets) {
      assert.ok(!leaks(`${key}=${value}`, secret), `api.cache entry ${key} contains ${what}`);
    }
  }
  // The entry is useless without the key ring: it does not even open as a sealed value.
  const [[key, value]] = entries;
  assert.throws(() => tokenseal.open(value, env.keys, key), { code: 'ERR_HEADER_INVALID' });
  assert.throws(() => tokenseal.openCacheEntry(value, tokenseal.generateKeySet(), key), { code: 'ERR_KEY_UNKNOWN' });
  // Reused: the second first-login makes no token request.
  const r = await login(env, { userId: users[1].user_id, idpTokens: { refresh_token: refreshToken() } });
  assert.deepEqual(r.calls, { 'users.get': 1 });
});

test('a cache entry that does not open (plaintext, forged, other keys) is dropped and a new token fetched', async (t) => {
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user] });
  const cacheKey = `tokenseal:m2m:${CLIENT_ID}`;
  await login(env, { userId: user.user_id });
  const issued = tokenseal.openCacheEntry(env.cache.get(cacheKey).value, env.keys, cacheKey);
  for (const planted of [
    issued, // a plaintext token another Action put there (valid at the API!)
    tokenseal.sealCacheEntry(issued, tokenseal.generateKeySet(), cacheKey), // another key ring
    tokenseal.sealCacheEntry(issued, env.keys, 'tokenseal:m2m:other-client'), // bound elsewhere
  ]) {
    env.cache.set(cacheKey, planted, { ttl: 60_000 });
    const r = await login(env, { userId: user.user_id, query: { prompt: 'consent' } });
    assert.deepEqual(r.requests.map((q) => `${q.route} ${q.status}`), ['token 200', 'users.get 200'], 'never used: refetched');
    assert.notEqual(env.cache.get(cacheKey).value, planted, 'replaced by a sealed entry');
  }
});

test('refresh token exchanges and silent logins never read, even for a user with nothing stored', async (t) => {
  const user = googleUser({ loginsCount: 5 });
  const env = await startEnv(t, { users: [user], secrets: { TOKENSEAL_FETCH: 'always' } });
  for (const run of [
    { refreshTokenExchange: { id: 'rt_1' } },
    { refreshTokenExchange: { id: 'rt_2' }, query: { prompt: 'consent' } },
    { query: { prompt: 'none' } },
    { authenticatedAt: Date.now() - 2 * 3600 * 1000 }, // an existing session: Google not contacted
  ]) {
    const r = await login(env, { userId: user.user_id, ...run });
    assert.deepEqual(r.calls, {}, JSON.stringify(run));
    assert.deepEqual(r.writes, []);
    assert.deepEqual(r.idTokenClaims, { [CLAIM]: 'missing' });
  }
  // The same user through Google now: a read.
  const r = await login(env, { userId: user.user_id });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
});

test('a user who never granted offline access is read once, then not again until consent or a day later', async (t) => {
  const user = googleUser({ loginsCount: 3 });
  const env = await startEnv(t, { users: [user] });
  let r = await login(env, { userId: user.user_id });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assertNoTokenRecord(r.writes);
  for (let i = 0; i < 3; i += 1) {
    r = await login(env, { userId: user.user_id });
    assert.deepEqual(r.calls, {}, 'recorded: no read');
    assert.deepEqual(r.writes, []);
  }
  // A consent login reads, and its token is sealed; the record goes in the same plan.
  const rt = refreshToken();
  r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: rt }, query: { prompt: 'consent' } });
  assert.deepEqual(r.calls, { 'users.get': 1 });
  assert.deepEqual(r.writes.map((w) => w.key), [SEALED, 'tokenseal']);
  assert.equal(r.appMetadata.tokenseal, undefined, 'the record is deleted');
  assertOpensTo(sealedOf(r), env.keys, user.user_id, rt);
  // With TOKENSEAL_RECHECK_HOURS=0 a recorded user is read on every login through Google.
  const other = googleUser({ loginsCount: 3 });
  env.mgmt.store.addUser(other);
  await login(env, { userId: other.user_id });
  r = await login(env, { userId: other.user_id, secrets: { TOKENSEAL_RECHECK_HOURS: '0' } });
  assert.deepEqual(r.calls['users.get'], 1);
});

test('after the backend clears a dead token (clearSealed), logins say "missing" until a consent brings a new one', async (t) => {
  const backend = require(path.join(ROOT, 'pkg', 'backend.js'));
  const user = googleUser({ loginsCount: 0 });
  const env = await startEnv(t, { users: [user], scopes: [...FULL_SCOPES, 'update:users_app_metadata'] });
  const dead = env.track(refreshToken());
  let r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: dead } });
  assert.equal(r.idTokenClaims[CLAIM], 'stored');
  // The backend got ERR_RECONSENT_REQUIRED for it and the app cleared the value; Auth0
  // keeps its copy of the token on the identity.
  const tokens = backend.createGoogleTokens({
    keys: env.keys, clientId: 'google-client', clientSecret: 'google-secret',
    management: { baseUrl: env.mgmt.baseUrl, clientId: CLIENT_ID, clientSecret: env.secrets.AUTH0_CLIENT_SECRET },
  });
  assert.equal(await tokens.clearSealed(user.user_id), true);
  // The next ordinary login reads, finds only that copy, and seals nothing.
  r = await login(env, { userId: user.user_id });
  assert.equal(r.idTokenClaims[CLAIM], 'missing');
  assert.equal(r.calls['users.get'], 1);
  assert.equal(sealedOf(r), undefined);
  assert.deepEqual(r.writes.map((w) => w.key), ['tokenseal']);
  // That read counts as one that found nothing: the logins after it do not read.
  r = await login(env, { userId: user.user_id });
  assert.equal(r.idTokenClaims[CLAIM], 'missing');
  assert.deepEqual(r.calls, {});
  // Consent brings a new token: sealed, and the records go.
  const fresh = env.track(refreshToken());
  r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: fresh }, query: { prompt: 'consent' } });
  assert.equal(r.idTokenClaims[CLAIM], 'stored');
  assertOpensTo(sealedOf(r), env.keys, user.user_id, fresh);
  assert.equal(r.appMetadata.tokenseal, undefined);
});

test('a stale identity copy never replaces the token a backend rotated (always-mode Action)', async (t) => {
  const t1 = refreshToken();
  const user = googleUser({ token: t1, loginsCount: 0 });
  const env = await startEnv(t, { users: [user], secrets: { TOKENSEAL_FETCH: 'always' } });
  let r = await login(env, { userId: user.user_id });
  const captured = sealedOf(r);
  assertOpensTo(captured, env.keys, user.user_id, t1);
  // The backend refreshed and Google rotated T1 to T2: stored sealed, Auth0 still has T1.
  const t2 = env.track(refreshToken());
  const rotated = tokenseal.sealRotated(t2, captured, env.keys, user.user_id);
  env.mgmt.store.updateUser(user.user_id, { app_metadata: { [SEALED]: { 'google-oauth2': rotated } } });
  r = await login(env, { userId: user.user_id });
  assert.deepEqual(r.calls, { 'users.get': 1 }, 'always mode reads');
  assert.deepEqual(r.writes, [], 'T1 on the identity does not replace T2');
  assertOpensTo(sealedOf(r), env.keys, user.user_id, t2, 'T2 is kept');
  // A consent login that brings T3 replaces T2.
  const t3 = refreshToken();
  r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: t3 }, query: { prompt: 'consent' } });
  assertOpensTo(sealedOf(r), env.keys, user.user_id, t3);
});

test('the old rule\'s encrypted legacy value is left exactly as it is, with ERR_LEGACY_ENCRYPTED', async (t) => {
  const hex = crypto.randomBytes(64).toString('hex');
  const user = googleUser({ loginsCount: 4, appMetadata: { refresh_token: hex } });
  const env = await startEnv(t, { users: [user] });
  const r = await login(env, { userId: user.user_id });
  assert.equal(r.appMetadata.refresh_token, hex);
  assert.ok(!r.writes.some((w) => w.key === SEALED || w.key === 'refresh_token'), 'never sealed as a token, never deleted');
  assert.deepEqual(r.lines, ['tokenseal: ERR_LEGACY_ENCRYPTED']);
});

test('hostile user objects: 80,000 user_metadata keys and a lone surrogate in name never stop a seal', async (t) => {
  const rt = refreshToken();
  const user = googleUser({ loginsCount: 0 });
  user.name = 'Ada \ud800 Lovelace';
  user.user_metadata = Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`k${i}`, i]));
  const env = await startEnv(t, { users: [user] });
  const r = await login(env, { userId: user.user_id, idpTokens: { refresh_token: rt } });
  assertOpensTo(sealedOf(r), env.keys, user.user_id, rt);
  assert.deepEqual(r.lines, []);
  // Loose bound (the budget itself is a benchmark row): the whole run, stand-in included.
  assert.ok(r.elapsed < 2000, `the login took ${r.elapsed} ms`);
});

test('TOKENSEAL_PROVIDERS: Google, Entra ID and a custom OAuth 2.0 connection, each sealed under its key for the primary user', async (t) => {
  const ENTRA = { name: 'contoso', strategy: 'waad' };
  const ACME = { name: 'acme-idp', strategy: 'oauth2' };
  const googleSub = googleId();
  const entraRt = `0.AXEA${random(60)}`;
  const acmeRt = `acme-${random(40)}`;
  const primary = {
    user_id: 'auth0|65f0c0ffee0123456789feed',
    email: 'multi@example.com',
    logins_count: 6,
    app_metadata: {},
    identities: [
      { connection: DATABASE.name, provider: 'auth0', user_id: '65f0c0ffee0123456789feed', isSocial: false },
      { connection: 'google-oauth2', provider: 'google-oauth2', user_id: googleSub, isSocial: true },
      { connection: 'contoso', provider: 'waad', user_id: 'entra-oid-1', isSocial: false, refresh_token: entraRt },
      { connection: 'acme-idp', provider: 'oauth2', user_id: 'acme-idp|7', isSocial: true, refresh_token: acmeRt },
    ],
  };
  const env = await startEnv(t, { users: [primary], secrets: { TOKENSEAL_PROVIDERS: 'google-oauth2,waad,acme-idp' } });
  const OFFLINE = `${NS}offline_access`;

  // A returning login through Entra: Entra issues a refresh token at every login, so the
  // Action reads (once), and every configured identity the read shows is sealed.
  const googleRt = refreshToken();
  env.mgmt.store.setIdpTokens(primary.user_id, 'google-oauth2', { refresh_token: env.track(googleRt) });
  const entraNew = `0.AXEA${random(60)}`;
  const r = await login(env, { userId: primary.user_id, connection: ENTRA, idpTokens: { refresh_token: entraNew, access_token: `eyJ0${random(40)}` } });
  assert.deepEqual(r.calls, { token: 1, 'users.get': 1 });
  assert.deepEqual(r.writes.map((w) => w.key), [SEALED], 'one write of the sealed map');
  const map = r.appMetadata[SEALED];
  assert.deepEqual(Object.keys(map), ['google-oauth2', 'waad', 'acme-idp']);
  for (const [key, token] of [['google-oauth2', googleRt], ['waad', entraNew], ['acme-idp', acmeRt]]) {
    assertOpensTo(map[key], env.keys, primary.user_id, token, `${key} opens to its token`, key);
    if (key !== 'google-oauth2') assert.equal(openSealed(map[key], env.keys, primary.user_id).code, 'ERR_PROVIDER_MISMATCH');
    assert.equal(tokenseal.inspect(map[key]).sub, primary.user_id);
  }
  assert.deepEqual(r.idTokenClaims, {
    [CLAIM]: 'stored',
    [OFFLINE]: { 'google-oauth2': 'stored', waad: 'stored', 'acme-idp': 'stored' },
  });
  assert.deepEqual(r.lines, []);

  // A login through the custom connection with a new token: read, only its value changes.
  const acmeNew = `acme-${random(40)}`;
  const a = await login(env, { userId: primary.user_id, connection: ACME, idpTokens: { refresh_token: acmeNew } });
  assert.equal(a.calls['users.get'], 1);
  assertOpensTo(a.appMetadata[SEALED]['acme-idp'], env.keys, primary.user_id, acmeNew, undefined, 'acme-idp');
  assert.equal(a.appMetadata[SEALED].waad, map.waad, 'Entra\'s value untouched');
  assert.equal(a.appMetadata[SEALED]['google-oauth2'], map['google-oauth2'], 'Google\'s value untouched');

  // A login through the database connection reads nothing and claims what is stored.
  const db = await login(env, { userId: primary.user_id, connection: DATABASE });
  assert.deepEqual([db.calls, db.writes], [{}, []]);
  assert.deepEqual(db.idTokenClaims[OFFLINE], { 'google-oauth2': 'stored', waad: 'stored', 'acme-idp': 'stored' });

  // The default setting on the same user: Google alone, as before the setting existed.
  const plain = await login(env, { userId: primary.user_id, connection: ENTRA, secrets: { TOKENSEAL_PROVIDERS: '' } });
  assert.deepEqual([plain.calls, plain.writes, plain.idTokenClaims], [{}, [], { [CLAIM]: 'stored' }]);

  // A list with a typo is reported and means the default, as every other setting does:
  // Google alone, never half the list.
  const typo = await login(env, { userId: primary.user_id, connection: DATABASE, secrets: { TOKENSEAL_PROVIDERS: 'waad,google oauth2' } });
  assert.deepEqual(typo.lines, ['tokenseal: ERR_CONFIG_INVALID']);
  assert.deepEqual(typo.idTokenClaims, { [CLAIM]: 'stored' });
});

test('concurrent first logins of a new instance share one compiled module and one instance', async (t) => {
  const users = [googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 }), googleUser({ loginsCount: 0 })];
  const env = await startEnv(t, { users });
  const created = [];
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const instance = new Instance(module, imports);
    created.push(instance);
    return instance;
  };
  try {
    const action = freshAction();
    const runs = await Promise.all(users.map((u) => login(env, { userId: u.user_id, action, idpTokens: { refresh_token: refreshToken() } })));
    for (const [i, r] of runs.entries()) assertOpensTo(sealedOf(r), env.keys, users[i].user_id, env.mgmt.store.getUser(users[i].user_id).identities[0].refresh_token);
  } finally {
    WebAssembly.Instance = Instance;
  }
  assert.equal(created.length, 1, 'one instance for the three logins');
});

'use strict';
// js-shim/backend.js against a real OAuth 2.0 server on loopback playing Google's token
// endpoint (oidc-provider, see google-standin.mjs) and the local Management API stand-in
// (tests/auth0-standin/management-api.cjs). Every server listens on 127.0.0.1, port 0,
// and is closed by the test that started it.
//
// Install once: (cd tests/backend && npm ci). Run: node --test tests/backend/

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const util = require('node:util');
const path = require('node:path');

const core = require('../../pkg/tokenseal.js');
const backend = require('../../js-shim/backend.js');
const { startManagementApi } = require('../auth0-standin/management-api.cjs');

const standinModule = import(path.join(__dirname, 'google-standin.mjs'));
const startGoogle = async (o) => (await standinModule).startGoogleStandin(o);

const KEYS = core.generateKeySet();
const OTHER_KEYS = core.generateKeySet();
const USER_ID = 'google-oauth2|104200000000000000001';
const OTHER_USER_ID = 'google-oauth2|104200000000000000002';
const SKEW = 60;

/** A clock the test moves; starts at the real time, as the provider's clock. */
function clock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advanceTo(epochSeconds) { offsetMs = epochSeconds * 1000 - Date.now(); },
    advance(seconds) { offsetMs += seconds * 1000; },
    // Back to the provider's (real) clock: tokens the provider issues after an advance
    // carry an id_token exp on its clock, which the core takes as expiresAt.
    reset() { offsetMs = 0; },
  };
}

function userWith(refreshToken, userId = USER_ID, keys = KEYS, extra = {}) {
  return {
    user_id: userId,
    app_metadata: { [`sealed_refresh_tokens`]: { ...extra, 'google-oauth2': core.seal(refreshToken, keys, userId) } },
  };
}

function tokens(google, c, more = {}) {
  return backend.createGoogleTokens({
    keys: KEYS,
    clientId: google.clientId,
    clientSecret: google.clientSecret,
    tokenEndpoint: google.tokenEndpoint,
    skewSeconds: SKEW,
    now: c.now,
    ...more,
  });
}

async function rejectsWithCode(promise, code) {
  let caught;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `expected a rejection with ${code}`);
  assert.equal(caught.code, code, `code ${caught.code} (${caught.message})`);
  assert.ok(caught instanceof Error);
  return caught;
}

test('the access tokens a process keeps are bounded (the core\'s defaultMaxUsers): the least recently stored go', async () => {
  const google = await startGoogle({ accessTokenTtl: 3600 });
  try {
    // The core as the backend sees it, with a bound of 3 instead of 10,000.
    const small = new Proxy(core, {
      get: (target, name) => (name === 'providerTable' ? () => ({ ...target.providerTable(), defaultMaxUsers: 3 }) : target[name]),
    });
    assert.equal(core.providerTable().defaultMaxUsers, 10000);
    const t = tokens(google, clock(), { core: small });
    const users = [];
    for (let i = 0; i < 4; i += 1) users.push(userWith(await google.issueRefreshToken(`acct-bound-${i}`), `google-oauth2|10420000000000000010${i}`));
    for (const u of users.slice(0, 3)) await t.accessToken(u);
    // User 0 is used again (served from memory), so user 1 is the least recently used
    // when user 3 comes: user 1 goes, not user 0 (first in, first out would drop 0).
    await t.accessToken(users[0]);
    await t.accessToken(users[3]);
    assert.equal(google.refreshRequests().length, 4);
    await t.accessToken(users[0]);
    assert.equal(google.refreshRequests().length, 4, 'a recently used user is served from memory');
    await t.accessToken(users[1]);
    assert.equal(google.refreshRequests().length, 5, 'the least recently used was forgotten: refreshed again');
  } finally {
    await google.close();
  }
});

test('openSealed opens the JWE and app_metadata, and refuses another user or nothing', async () => {
  const user = userWith('1//0refresh-token-a');
  const jwe = user.app_metadata.sealed_refresh_tokens['google-oauth2'];
  assert.equal(backend.openSealed(jwe, KEYS, USER_ID), '1//0refresh-token-a');
  assert.equal(backend.openSealed(user.app_metadata, KEYS, USER_ID), '1//0refresh-token-a');
  assert.throws(() => backend.openSealed(jwe, KEYS, OTHER_USER_ID), { code: 'ERR_SUBJECT_MISMATCH' });
  assert.throws(() => backend.openSealed(jwe, OTHER_KEYS, USER_ID), { code: 'ERR_KEY_UNKNOWN' });
  assert.throws(() => backend.openSealed({}, KEYS, USER_ID), { code: 'ERR_SEALED_MISSING' });
});

test('reconsentAuthorizeParams: what the SPA passes to /authorize for Google consent', () => {
  assert.deepEqual(backend.reconsentAuthorizeParams(), { connection: 'google-oauth2', access_type: 'offline', prompt: 'consent' });
  assert.deepEqual(
    backend.reconsentAuthorizeParams({ connectionScope: ['https://www.googleapis.com/auth/drive.file', 'https://www.googleapis.com/auth/calendar.readonly'] }),
    {
      connection: 'google-oauth2',
      access_type: 'offline',
      prompt: 'consent',
      connection_scope: 'https://www.googleapis.com/auth/drive.file,https://www.googleapis.com/auth/calendar.readonly',
    },
  );
  assert.ok(!('approval_prompt' in backend.reconsentAuthorizeParams()), 'Google refuses prompt and approval_prompt together');
});

test("Google's endpoint, consent parameters and skew are the core's provider table, not the shim's", async () => {
  const table = core.providerTable();
  assert.equal(table.sealedKey, 'sealed_refresh_tokens');
  assert.deepEqual(Object.keys(table.providers), ['google-oauth2', 'waad', 'bitbucket', 'oauth2']);
  assert.equal(table.providers['google-oauth2'].tokenEndpoint, 'https://oauth2.googleapis.com/token');
  assert.equal(table.providers['google-oauth2'].claimName, 'google_offline_access');

  // A core that says otherwise: the backend follows it, with no option given.
  const google = await startGoogle({ accessTokenTtl: 600 });
  try {
    const other = {
      ...core,
      providerTable: () => ({ ...table, defaultSkewSeconds: 7 }),
      reconsentAuthorizeParams: (key) => ({ connection: key, prompt: 'consent' }),
      resolveEndpoints: (key, options, discovery) => ({ ...core.resolveEndpoints(key, options, discovery), tokenEndpoint: google.tokenEndpoint }),
    };
    const api = backend.withCore(other);
    assert.deepEqual(api.reconsentAuthorizeParams(), { connection: 'google-oauth2', prompt: 'consent' });
    const t = api.createGoogleTokens({ keys: KEYS, clientId: google.clientId, clientSecret: google.clientSecret });
    const user = userWith(await google.issueRefreshToken('acct-table'));
    const first = await t.accessToken(user);
    assert.equal(google.refreshRequests().length, 1, 'the refresh went to the endpoint the core resolved');
    assert.ok(first.expiresAt > 0);
  } finally {
    await google.close();
  }
});

test('a refresh returns an access token that works at the provider (userinfo, introspection)', async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  try {
    const rt = await google.issueRefreshToken('acct-works');
    const c = clock();
    const result = await tokens(google, c).accessToken(userWith(rt));
    assert.equal(typeof result.accessToken, 'string');
    assert.equal(google.refreshRequests().length, 1);
    const request = google.refreshRequests()[0];
    assert.equal(request.contentType, 'application/x-www-form-urlencoded');
    assert.equal(request.params.refresh_token, rt);
    assert.equal(request.params.client_id, google.clientId);
    assert.equal(request.status, 200);
    // expiresAt comes from the id_token's exp (openid scope), as Google sets it.
    const idToken = request.response.id_token;
    const exp = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString()).exp;
    assert.equal(result.expiresAt, exp);
    assert.equal(result.scope, 'openid email offline_access');

    const info = await google.userinfo(result.accessToken);
    assert.equal(info.status, 200);
    assert.equal(info.body.sub, 'acct-works');
    const intro = await google.introspect(result.accessToken);
    assert.equal(intro.active, true);
    assert.equal(intro.sub, 'acct-works');
    assert.equal(intro.client_id, google.clientId);
    assert.equal(intro.exp, result.expiresAt);
  } finally {
    await google.close();
  }
});

test('no refresh while the cached token is valid; a user id works with loadUser', async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  try {
    const user = userWith(await google.issueRefreshToken('acct-cache'));
    const c = clock();
    let loads = 0;
    const t = tokens(google, c, { loadUser: async (id) => { loads += 1; assert.equal(id, USER_ID); return user; } });
    const first = await t.accessToken(user);
    for (let i = 0; i < 20; i += 1) {
      c.advance(10); // 200 s in all, far from expiresAt - skew
      assert.deepEqual(await t.accessToken(i % 2 ? user : USER_ID), first);
    }
    assert.equal(google.refreshRequests().length, 1, 'one refresh for 21 calls');
    assert.equal(loads, 0, 'the cached path does not even load the user');
  } finally {
    await google.close();
  }
});

test('expiry is honoured: exactly one new refresh at expiresAt - skew, not before', async () => {
  const google = await startGoogle({ accessTokenTtl: 300 });
  try {
    const user = userWith(await google.issueRefreshToken('acct-expiry'));
    const c = clock();
    const t = tokens(google, c);
    const first = await t.accessToken(user);
    c.advanceTo(first.expiresAt - SKEW - 1);
    assert.equal((await t.accessToken(user)).accessToken, first.accessToken);
    assert.equal(google.refreshRequests().length, 1, 'still valid one second before the skew window');
    c.advanceTo(first.expiresAt - SKEW);
    const second = await t.accessToken(user);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(google.refreshRequests().length, 2, 'exactly one new refresh');
    assert.ok(second.expiresAt >= first.expiresAt);
    c.reset();
    assert.equal((await t.accessToken(user)).accessToken, second.accessToken);
    assert.equal(google.refreshRequests().length, 2);
    assert.ok(!('refresh_token' in google.refreshRequests()[0].response), 'the answer had no refresh token (as at Google)');
    assert.equal(google.refreshRequests()[1].params.refresh_token, google.refreshRequests()[0].params.refresh_token, 'the old refresh token is kept');
    assert.equal((await google.userinfo(second.accessToken)).status, 200);
  } finally {
    await google.close();
  }
});

test('100 concurrent accessToken() calls for one user share one refresh request', async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  try {
    const user = userWith(await google.issueRefreshToken('acct-concurrent'));
    const t = tokens(google, clock());
    const results = await Promise.all(Array.from({ length: 100 }, () => t.accessToken(user)));
    assert.equal(google.refreshRequests().length, 1);
    assert.equal(new Set(results.map((r) => r.accessToken)).size, 1);
    // Two users at once: one refresh each.
    const other = userWith(await google.issueRefreshToken('acct-concurrent-2'), OTHER_USER_ID);
    const both = await Promise.all(Array.from({ length: 50 }, (_, i) => t.accessToken(i % 2 ? user : other)));
    assert.equal(google.refreshRequests().length, 2);
    assert.equal(new Set(both.map((r) => r.accessToken)).size, 2);
  } finally {
    await google.close();
  }
});

test('a failed shared refresh rejects every waiter once, and is not kept in flight', async () => {
  const google = await startGoogle();
  try {
    const user = userWith(await google.issueRefreshToken('acct-fail'));
    const t = tokens(google, clock(), { clientSecret: 'GOCSPX-wrong-secret' });
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => t.accessToken(user)));
    assert.ok(settled.every((s) => s.status === 'rejected' && s.reason.code === 'ERR_CLIENT_REJECTED'));
    assert.equal(google.requests.length, 1, 'one request for 20 callers');
    await rejectsWithCode(t.accessToken(user), 'ERR_CLIENT_REJECTED');
    assert.equal(google.requests.length, 2, 'the failed promise was cleared: a later call tries again');
  } finally {
    await google.close();
  }
});

test('a revoked refresh token: ERR_RECONSENT_REQUIRED, cached token dropped, nothing cleared', async () => {
  const google = await startGoogle({ accessTokenTtl: 300 });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1042' }] }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  try {
    const rt = await google.issueRefreshToken('acct-revoked');
    const user = userWith(rt);
    mgmtApi.store.updateUser(USER_ID, { app_metadata: user.app_metadata });
    const c = clock();
    const t = tokens(google, c, { management: { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' } });
    const first = await t.accessToken(user);
    await google.revoke(rt);
    c.advanceTo(first.expiresAt); // past expiresAt - skew
    const error = await rejectsWithCode(t.accessToken(user), 'ERR_RECONSENT_REQUIRED');
    assert.equal(error.name, 'TokenSealError');
    assert.equal(google.refreshRequests().at(-1).response.error, 'invalid_grant');
    // Dropped: even with the clock back inside the old token's lifetime, the next call
    // goes to the token endpoint instead of answering from the cache.
    c.advanceTo(first.expiresAt - 200);
    await rejectsWithCode(t.accessToken(user), 'ERR_RECONSENT_REQUIRED');
    assert.equal(google.refreshRequests().length, 3);
    // Never cleared automatically: the sealed value is still stored.
    assert.equal(mgmtApi.count('users.patch'), 0);
    assert.equal(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens['google-oauth2'], user.app_metadata.sealed_refresh_tokens['google-oauth2']);
  } finally {
    await Promise.all([google.close(), mgmtApi.close()]);
  }
});

test('every refusal is typed: a wrong client is ERR_CLIENT_REJECTED and drops nothing; Google codes map as documented', async () => {
  const google = await startGoogle({ accessTokenTtl: 300 });
  try {
    const rt = await google.issueRefreshToken('acct-client');
    const user = userWith(rt);
    const c = clock();
    const good = tokens(google, c);
    const first = await good.accessToken(user);
    // The same user through a client with the wrong secret: the real server answers
    // 401 invalid_client; it says nothing about the user's token.
    const wrong = tokens(google, c, { clientSecret: 'GOCSPX-wrong-secret' });
    const error = await rejectsWithCode(wrong.accessToken(user), 'ERR_CLIENT_REJECTED');
    assert.equal(google.refreshRequests().at(-1).response.error, 'invalid_client');
    assert.ok(!error.message.includes(rt) && !error.message.includes('GOCSPX'));
    // The token still works for the right client.
    c.advanceTo(first.expiresAt);
    assert.ok((await good.accessToken(user)).accessToken);
  } finally {
    await google.close();
  }
  // Google's own codes, as its token endpoint sends them (status and body).
  for (const [body, code] of [
    [{ error: 'invalid_grant', error_description: 'reauth related error (invalid_rapt)' }, 'ERR_RECONSENT_REQUIRED'],
    [{ error: 'admin_policy_enforced', error_description: 'x' }, 'ERR_ADMIN_POLICY'],
    [{ error: 'unauthorized_client', error_description: 'x' }, 'ERR_CLIENT_REJECTED'],
  ]) {
    assert.throws(() => core.parseRefreshResponse(400, JSON.stringify(body), 1), { code }, body.error);
  }
});

test('requiredScopes: a grant without a required scope rejects with ERR_SCOPE_NOT_GRANTED and names it', async () => {
  const google = await startGoogle({ accessTokenTtl: 300 });
  try {
    const DRIVE = 'https://www.googleapis.com/auth/drive.file';
    const user = userWith(await google.issueRefreshToken('acct-scopes', 'openid email offline_access'));
    const c = clock();
    const t = tokens(google, c, { requiredScopes: ['email', DRIVE] });
    const error = await rejectsWithCode(t.accessToken(user), 'ERR_SCOPE_NOT_GRANTED');
    assert.deepEqual(error.missingScopes, [DRIVE]);
    // Known now: the next call answers from the grant it has, without a refresh.
    await rejectsWithCode(t.accessToken(user), 'ERR_SCOPE_NOT_GRANTED');
    assert.equal(google.refreshRequests().length, 1);
    // Scopes the grant has pass, compared as a set.
    const ok = tokens(google, c, { requiredScopes: ['offline_access', 'email'] });
    assert.ok((await ok.accessToken(user)).accessToken);
    assert.throws(() => tokens(google, c, { requiredScopes: 'email' }), TypeError);
  } finally {
    await google.close();
  }
});

test('time-limited access: refresh_token_expires_in becomes refreshTokenExpiresAt', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, refreshTokenExpiresIn: 7200 });
  try {
    const user = userWith(await google.issueRefreshToken('acct-time-limited'));
    const c = clock();
    const before = Math.floor(c.now() / 1000);
    const got = await tokens(google, c).accessToken(user);
    assert.ok(got.refreshTokenExpiresAt >= before + 7200 && got.refreshTokenExpiresAt <= before + 7202, String(got.refreshTokenExpiresAt));
    const plain = await startGoogle({ accessTokenTtl: 300 });
    try {
      const other = userWith(await plain.issueRefreshToken('acct-not-limited'));
      assert.equal((await tokens(plain, c).accessToken(other)).refreshTokenExpiresAt, null);
    } finally {
      await plain.close();
    }
  } finally {
    await google.close();
  }
});

test('endpoints that would receive the client secret must be https or loopback', () => {
  for (const [name, url] of [['tokenEndpoint', 'http://oauth2.example.com/token'], ['revokeEndpoint', 'http://oauth2.example.com/revoke'], ['tokenEndpoint', 'oauth2.googleapis.com/token']]) {
    assert.throws(
      () => backend.createGoogleTokens({ keys: KEYS, clientId: 'c', clientSecret: 's', [name]: url }),
      { code: 'ERR_CONFIG_INVALID' },
      `${name} ${url}`,
    );
  }
  // The defaults (Google's, from the core) and loopback http are fine.
  backend.createGoogleTokens({ keys: KEYS, clientId: 'c', clientSecret: 's' });
  backend.createGoogleTokens({ keys: KEYS, clientId: 'c', clientSecret: 's', tokenEndpoint: 'http://127.0.0.1:9/token' });
});

test('disconnect: revokes at the provider, then clears the sealed value; a failed revoke clears only if asked', async () => {
  const google = await startGoogle({ accessTokenTtl: 300 });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1042' }] }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  const management = { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' };
  try {
    const rt = await google.issueRefreshToken('acct-disconnect');
    const user = userWith(rt, USER_ID, KEYS, { github: 'kept' });
    mgmtApi.store.updateUser(USER_ID, { app_metadata: user.app_metadata });
    const c = clock();
    const t = tokens(google, c, { management, revokeEndpoint: google.revokeEndpoint });
    await t.accessToken(user);
    assert.equal((await google.introspect(rt)).active, true);

    // The revocation endpoint is down: rejected with the code, nothing cleared.
    const down = tokens(google, c, { management, revokeEndpoint: 'http://127.0.0.1:9/revoke', timeoutMs: 500 });
    await rejectsWithCode(down.disconnect(USER_ID), 'ERR_PROVIDER_UNAVAILABLE');
    assert.equal(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens['google-oauth2'], user.app_metadata.sealed_refresh_tokens['google-oauth2']);

    // The real revocation: the token is dead at the provider and the value is gone
    // (other providers' entries kept).
    assert.deepEqual(await t.disconnect(USER_ID), { revoked: true, cleared: true });
    assert.equal((await google.introspect(rt)).active, false);
    assert.deepEqual(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens, { github: 'kept' });
    await rejectsWithCode(t.accessToken(user), 'ERR_RECONSENT_REQUIRED');

    // Asked to clear anyway: cleared, and the failure is reported.
    const rt2 = await google.issueRefreshToken('acct-disconnect-2');
    mgmtApi.store.updateUser(USER_ID, { app_metadata: userWith(rt2).app_metadata });
    assert.deepEqual(
      await down.disconnect(USER_ID, { clearOnRevokeFailure: true }),
      { revoked: false, cleared: true, code: 'ERR_PROVIDER_UNAVAILABLE' },
    );
    assert.equal(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens, undefined);
  } finally {
    await Promise.all([google.close(), mgmtApi.close()]);
  }
});

test('a store the app plugs in (here the in-memory one): replicas share one refresh, and a rotated token reaches the replica whose user is stale', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, rotateRefreshToken: true });
  try {
    const rt0 = await google.issueRefreshToken('acct-shared');
    const user = userWith(rt0); // both replicas keep this user object: it goes stale
    const c = clock();
    const store = backend.memoryStore({ now: c.now });
    const saved = [];
    const replica = () => tokens(google, c, { store, saveSealed: async (userId, jwe) => { saved.push(jwe); } });
    const [a, b] = [replica(), replica()];
    // a calls first: a refreshes (and the provider rotates), b takes a's shared grant.
    const got = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? b : a).accessToken(user)));
    assert.equal(google.refreshRequests().length, 1, 'one refresh for both replicas');
    assert.equal(new Set(got.map((g) => g.accessToken)).size, 1);
    assert.equal(saved.length, 1, 'the rotated token was stored once');
    // Inside the skew (b must refresh, the shared grant is still there): b refreshes with
    // the rotated token the shared grant stands on, not the stale rt0 of its user object
    // (which the provider revoked on rotation) and not anything b itself ever held.
    c.advanceTo(got[0].expiresAt - 30);
    const next = await b.accessToken(user);
    assert.ok(next.accessToken);
    const sent = google.refreshRequests().map((r) => r.params.refresh_token);
    assert.equal(sent.length, 2);
    assert.notEqual(sent[1], rt0, 'the stale token was never sent again');
    assert.equal(google.refreshRequests()[1].response.error, undefined);
  } finally {
    await google.close();
  }
});

test('a rotated token never overwrites a value a login stored while the refresh was under way', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, rotateRefreshToken: true });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1042' }] }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  try {
    const rt0 = await google.issueRefreshToken('acct-cas');
    const user = userWith(rt0, USER_ID, KEYS, { github: 'kept' });
    mgmtApi.store.updateUser(USER_ID, { app_metadata: user.app_metadata });
    // A new consent lands while the refresh request is in flight: the Action stores S1.
    const consented = await google.issueRefreshToken('acct-cas-consent');
    const s1 = core.seal(consented, KEYS, USER_ID);
    const racing = async (url, init) => {
      if (String(url) === google.tokenEndpoint) {
        mgmtApi.store.updateUser(USER_ID, { app_metadata: { sealed_refresh_tokens: { github: 'kept', 'google-oauth2': s1 } } });
      }
      return fetch(url, init);
    };
    const c = clock();
    const t = tokens(google, c, { fetch: racing, management: { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' } });
    const got = await t.accessToken(user);
    assert.ok(got.accessToken);
    assert.ok(google.refreshRequests().at(-1).response.refresh_token, 'the provider rotated');
    // The login's value stays; the rotated successor of the old grant was not written.
    assert.deepEqual(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens, { github: 'kept', 'google-oauth2': s1 });
    assert.equal(mgmtApi.count('users.patch'), 0);
    // The next refresh starts from the login's value.
    c.advanceTo(got.expiresAt);
    await t.accessToken(mgmtApi.store.getUser(USER_ID));
    assert.equal(google.refreshRequests().at(-1).params.refresh_token, consented);
  } finally {
    await Promise.all([google.close(), mgmtApi.close()]);
  }
});

test('a shared grant never outlives the value it stands on: a lost compare-and-set drops it, and a cleared user adopts nothing', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, rotateRefreshToken: true });
  try {
    const rt0 = await google.issueRefreshToken('acct-shared-cas');
    const user = userWith(rt0);
    const consented = await google.issueRefreshToken('acct-shared-cas-consent');
    const current = userWith(consented); // what a login stored while a's refresh ran
    const c = clock();
    const store = backend.memoryStore({ now: c.now });
    // a's save finds the stored value changed (the app's compare-and-set says false).
    const a = tokens(google, c, { store, saveSealed: async () => false });
    const b = tokens(google, c, { store, saveSealed: async () => true });
    await a.accessToken(user);
    assert.ok(google.refreshRequests().at(-1).response.refresh_token, 'the provider rotated');
    // b, with the current user: the older grant's rotation did not survive in the store.
    await b.accessToken(current);
    assert.equal(google.refreshRequests().at(-1).params.refresh_token, consented);
    // A user whose value was cleared takes nothing from the store.
    await rejectsWithCode(tokens(google, c, { store }).accessToken({ user_id: USER_ID, app_metadata: {} }), 'ERR_SEALED_MISSING');
  } finally {
    await google.close();
  }
});

test('rotation: the new refresh token is sealed for the user, saved, and used next', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, rotateRefreshToken: true });
  try {
    const rt0 = await google.issueRefreshToken('acct-rotate');
    const user = userWith(rt0);
    const saved = [];
    const c = clock();
    const t = tokens(google, c, { saveSealed: async (userId, jwe) => { saved.push({ userId, jwe }); } });
    const first = await t.accessToken(user);
    assert.equal(saved.length, 1);
    assert.equal(saved[0].userId, USER_ID);
    const rt1 = google.refreshRequests()[0].response.refresh_token;
    assert.notEqual(rt1, rt0, 'the provider rotated it');
    assert.equal(backend.openSealed(saved[0].jwe, KEYS, USER_ID), rt1, 'the saved JWE opens to the new token');
    assert.throws(() => backend.openSealed(saved[0].jwe, KEYS, OTHER_USER_ID), { code: 'ERR_SUBJECT_MISMATCH' }, 'bound to the user');
    assert.equal(core.inspect(saved[0].jwe).sub, USER_ID);
    assert.equal((await google.provider.RefreshToken.find(rt0)).consumed > 0, true, 'the old one is consumed at the provider');

    // Next refresh, even with the caller's stale user object (still holding rt0): rt1 is sent.
    c.advanceTo(first.expiresAt);
    const second = await t.accessToken(user);
    assert.equal(google.refreshRequests().length, 2);
    assert.equal(google.refreshRequests()[1].params.refresh_token, rt1);
    assert.equal(google.refreshRequests()[1].status, 200);
    const rt2 = google.refreshRequests()[1].response.refresh_token;
    assert.equal(saved.length, 2);
    assert.equal(backend.openSealed(saved[1].jwe, KEYS, USER_ID), rt2);
    assert.equal((await google.userinfo(second.accessToken)).status, 200);

    // A new process that loads the saved value starts from rt2.
    const t2 = tokens(google, c, { saveSealed: async (userId, jwe) => { saved.push({ userId, jwe }); } });
    await t2.accessToken({ user_id: USER_ID, app_metadata: { sealed_refresh_tokens: { 'google-oauth2': saved[1].jwe } } });
    assert.equal(google.refreshRequests()[2].params.refresh_token, rt2);
    assert.equal(google.refreshRequests()[2].status, 200);
  } finally {
    await google.close();
  }
});

test('a rotated token is stored as the successor of the captured value: the next login keeps it', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, rotateRefreshToken: true });
  try {
    const t1 = await google.issueRefreshToken('acct-stale-copy');
    // The value a login captured from Auth0's copy of T1 (what the Rule and the Action seal).
    const identity = { provider: 'google-oauth2', connection: 'google-oauth2', user_id: '104200000000000000001', refresh_token: t1 };
    const captured = core.planLogin({ user: { user_id: USER_ID, identities: [identity], app_metadata: {} }, read: 'never' }, KEYS)
      .metadataWrites[0].value['google-oauth2'];
    const saved = [];
    const t = tokens(google, clock(), { saveSealed: async (userId, jwe) => { saved.push(jwe); } });
    await t.accessToken({ user_id: USER_ID, app_metadata: { sealed_refresh_tokens: { 'google-oauth2': captured } } });
    const t2 = google.refreshRequests()[0].response.refresh_token;
    assert.equal(backend.openSealed(saved[0], KEYS, USER_ID), t2);
    const header = core.inspect(saved[0]);
    assert.equal(header.src, 'rotation');
    assert.equal(header.cap, core.inspect(captured).cap, 'the capture record is carried over');
    // A later login whose identity still holds T1 (Auth0 keeps its copy) keeps T2.
    const stored = { sealed_refresh_tokens: { 'google-oauth2': saved[0] } };
    for (const extra of [{ read: 'never' }, { read: 'always', connectionStrategy: 'google-oauth2', loginsCount: 9 }]) {
      const plan = core.planLogin({ user: { user_id: USER_ID, identities: [identity], app_metadata: stored }, ...extra }, KEYS);
      assert.equal(plan.outcome, 'unchanged');
      assert.deepEqual(plan.metadataWrites, []);
    }
    assert.equal((await google.provider.RefreshToken.find(t1)).consumed > 0, true, 'T1 is dead at the provider: keeping T2 is what works');
  } finally {
    await google.close();
  }
});

test('rotation through the Management API keeps other providers; a failed save is retried', async () => {
  const google = await startGoogle({ accessTokenTtl: 300, rotateRefreshToken: true });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1042' }] }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  try {
    const rt0 = await google.issueRefreshToken('acct-rotate-mgmt');
    const user = userWith(rt0, USER_ID, KEYS, { github: 'another-providers-value' });
    mgmtApi.store.updateUser(USER_ID, { app_metadata: { ...user.app_metadata, plan: 'pro' } });
    const c = clock();
    const t = tokens(google, c, { management: { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' } });
    const first = await t.accessToken(USER_ID); // a user id: read through the Management API
    const rt1 = google.refreshRequests()[0].response.refresh_token;
    const stored = mgmtApi.store.getUser(USER_ID).app_metadata;
    assert.equal(stored.plan, 'pro');
    assert.equal(stored.sealed_refresh_tokens.github, 'another-providers-value');
    assert.equal(backend.openSealed(stored, KEYS, USER_ID), rt1);
    assert.equal(mgmtApi.count('users.patch'), 1);

    // The PATCH fails (503 twice: the core allows one retry): the call rejects, the
    // rotated token stays in memory and is saved on the next call.
    mgmtApi.setFault({ path: 'user', method: 'PATCH', kind: '5xx', times: 2 });
    c.advanceTo(first.expiresAt);
    await rejectsWithCode(t.accessToken(user), 'ERR_MGMT_UNAVAILABLE');
    const rt2 = google.refreshRequests()[1].response.refresh_token;
    c.reset();
    const again = await t.accessToken(user);
    assert.equal(google.refreshRequests().length, 2, 'no extra refresh: the token from before is used');
    assert.equal(backend.openSealed(mgmtApi.store.getUser(USER_ID).app_metadata, KEYS, USER_ID), rt2);
    assert.equal((await google.userinfo(again.accessToken)).status, 200);
  } finally {
    await Promise.all([google.close(), mgmtApi.close()]);
  }
});

test('clearSealed removes only the Google entry; the next login says "missing"', async () => {
  const mgmtApi = await startManagementApi({
    users: [
      { user_id: USER_ID, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1042' }] },
      { user_id: OTHER_USER_ID, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1043' }] },
    ],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  try {
    const both = userWith('1//0token-both', USER_ID, KEYS, { github: 'kept' });
    const only = userWith('1//0token-only', OTHER_USER_ID);
    mgmtApi.store.updateUser(USER_ID, { app_metadata: { ...both.app_metadata, plan: 'pro' } });
    mgmtApi.store.updateUser(OTHER_USER_ID, { app_metadata: { ...only.app_metadata, plan: 'free' } });
    const t = backend.createGoogleTokens({
      keys: KEYS,
      clientId: 'google-client',
      clientSecret: 'google-secret',
      management: { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' },
    });

    // The cleared value's capture record stays under tokenseal.cleared (src/login.rs
    // CLEARED): no login seals Auth0's copy of that token again.
    const record = (u) => {
      const { cap, cap_kid: capKid } = core.inspect(u.app_metadata.sealed_refresh_tokens['google-oauth2']);
      return { tokenseal: { cleared: { 'google-oauth2': cap ? { cap, cap_kid: capKid } : {} } } };
    };
    assert.equal(await t.clearSealed(USER_ID), true);
    assert.deepEqual(mgmtApi.store.getUser(USER_ID).app_metadata, { sealed_refresh_tokens: { github: 'kept' }, plan: 'pro', ...record(both) });
    assert.equal(await t.clearSealed(OTHER_USER_ID), true);
    assert.deepEqual(mgmtApi.store.getUser(OTHER_USER_ID).app_metadata, { plan: 'free', ...record(only) }, 'null removed sealed_refresh_tokens');
    assert.equal(await t.clearSealed(OTHER_USER_ID), false, 'nothing left to remove: no write');
    assert.equal(mgmtApi.count('users.patch'), 2);
    assert.equal(mgmtApi.count('token'), 1, 'the Management API token is cached');

    for (const id of [USER_ID, OTHER_USER_ID]) {
      const stored = mgmtApi.store.getUser(id);
      assert.throws(() => backend.openSealed(stored.app_metadata, KEYS, id), { code: 'ERR_SEALED_MISSING' });
      // What the post-login Action decides at the next (non-consent) login.
      const plan = core.planLogin({ user: stored, connectionStrategy: 'google-oauth2', loginsCount: 5, read: 'never', claimNamespace: 'https://app.example/' }, KEYS);
      assert.equal(plan.offlineAccess, 'missing');
      assert.deepEqual(plan.claims, [{ name: 'https://app.example/google_offline_access', value: 'missing' }]);
    }
    await rejectsWithCode(t.accessToken(mgmtApi.store.getUser(USER_ID)), 'ERR_SEALED_MISSING');

    const noMgmt = backend.createGoogleTokens({ keys: KEYS, clientId: 'x', clientSecret: 'y' });
    await rejectsWithCode(noMgmt.clearSealed(USER_ID), 'ERR_CONFIG_INCOMPLETE');
  } finally {
    await mgmtApi.close();
  }
});

test('a token endpoint that does not answer: ERR_PROVIDER_UNAVAILABLE after timeoutMs', async () => {
  const sockets = new Set();
  const hang = http.createServer(() => {}); // never answers
  hang.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => hang.listen(0, '127.0.0.1', resolve));
  try {
    const t = backend.createGoogleTokens({
      keys: KEYS, clientId: 'c', clientSecret: 'GOCSPX-hang-secret', tokenEndpoint: `http://127.0.0.1:${hang.address().port}/token`, timeoutMs: 200,
    });
    const started = Date.now();
    const error = await rejectsWithCode(t.accessToken(userWith('1//0hang')), 'ERR_PROVIDER_UNAVAILABLE');
    assert.ok(Date.now() - started < 2000);
    assert.match(error.message, /in time/);
  } finally {
    await new Promise((resolve) => { hang.close(resolve); for (const s of sockets) s.destroy(); });
  }
});

test('the injected core takes every decision; the cached path opens nothing', async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  try {
    const calls = {};
    const counted = new Proxy(core, {
      get(target, name) {
        const value = target[name];
        if (typeof value !== 'function') return value;
        return (...args) => { calls[name] = (calls[name] || 0) + 1; return value(...args); };
      },
    });
    const api = backend.withCore(counted);
    const user = userWith(await google.issueRefreshToken('acct-core'));
    const t = api.createGoogleTokens({ keys: KEYS, clientId: google.clientId, clientSecret: google.clientSecret, tokenEndpoint: google.tokenEndpoint });
    await t.accessToken(user);
    await t.accessToken(user);
    await t.accessToken(user);
    assert.equal(calls.refreshStates, 1, 'the refresh decisions are the core\'s per-user states');
    assert.equal(calls.needsRefresh, 2, 'the 2nd and 3rd calls ask the core, and are answered from the cache');
    for (const name of ['open', 'refreshRequestBody', 'parseRefreshResponse', 'seal', 'sealRotated']) {
      assert.equal(calls[name], undefined, `${name}: no refresh token crosses into JavaScript`);
    }
    assert.equal(api.openSealed(user.app_metadata, KEYS, USER_ID).length > 0, true);
  } finally {
    await google.close();
  }
});

test('secret scan: no error and no log line carries a token, a secret or a key', async () => {
  const google = await startGoogle({ accessTokenTtl: 300 });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  const logged = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'];
  const originals = Object.fromEntries(methods.map((m) => [m, console[m]]));
  for (const m of methods) console[m] = (...args) => { logged.push(util.format(...args)); };
  const errors = [];
  const capture = async (promise) => {
    try {
      await promise;
    } catch (error) {
      errors.push(error);
    }
  };
  try {
    const rt = await google.issueRefreshToken('acct-scan');
    const user = userWith(rt);
    const c = clock();
    const mgmt = { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' };
    const good = tokens(google, c, { management: mgmt });
    const { accessToken } = await good.accessToken(user);

    await capture(tokens(google, c, { clientSecret: 'GOCSPX-a-wrong-secret-xyz' }).accessToken(user)); // invalid_client
    await capture(tokens(google, c, { fetch: async () => new Response('{"error":"invalid_scope"}', { status: 400 }) }).accessToken(user)); // ERR_PROVIDER_REJECTED
    await capture(tokens(google, c, { requiredScopes: ['https://www.googleapis.com/auth/drive.file'] }).accessToken(user)); // ERR_SCOPE_NOT_GRANTED
    await capture(tokens(google, c, { management: mgmt, revokeEndpoint: 'http://127.0.0.1:9/revoke' }).disconnect(user)); // revoke unreachable
    await capture(tokens(google, c, { keys: OTHER_KEYS }).accessToken(user)); // ERR_KEY_UNKNOWN
    await capture(tokens(google, c).accessToken({ ...user, user_id: OTHER_USER_ID })); // ERR_SUBJECT_MISMATCH
    await capture(tokens(google, c, { tokenEndpoint: 'http://127.0.0.1:9/token' }).accessToken(user)); // unreachable
    await capture(tokens(google, c, { fetch: async () => new Response('{"access_token":"' + accessToken + '","token_type":"mac"}') }).accessToken(user)); // ERR_PROVIDER_RESPONSE
    await capture(tokens(google, c, { saveSealed: async () => { throw new Error(`db down ${rt}`); }, fetch: async () => new Response(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 60, refresh_token: '1//rotated-secret-token' })) }).accessToken(user)); // ERR_SAVE_FAILED
    await capture(tokens(google, c, { management: { ...mgmt, clientSecret: 'm2m-wrong-secret-5678' } }).clearSealed(USER_ID)); // ERR_MGMT_UNAUTHORIZED
    await google.revoke(rt);
    c.advance(3600);
    await capture(good.accessToken(user)); // ERR_RECONSENT_REQUIRED
    await capture(good.accessToken({ user_id: USER_ID })); // ERR_SEALED_MISSING
    await capture(good.accessToken({})); // ERR_USER_INVALID

    const codes = errors.map((e) => e.code);
    for (const code of ['ERR_CLIENT_REJECTED', 'ERR_PROVIDER_REJECTED', 'ERR_SCOPE_NOT_GRANTED', 'ERR_KEY_UNKNOWN', 'ERR_SUBJECT_MISMATCH', 'ERR_PROVIDER_UNAVAILABLE', 'ERR_PROVIDER_RESPONSE', 'ERR_SAVE_FAILED', 'ERR_MGMT_UNAUTHORIZED', 'ERR_RECONSENT_REQUIRED', 'ERR_SEALED_MISSING', 'ERR_USER_INVALID']) {
      assert.ok(codes.includes(code), `${code} was exercised (got ${codes.join(', ')})`);
    }
    const secrets = [
      rt, accessToken, '1//rotated-secret-token', google.clientSecret, 'GOCSPX-a-wrong-secret-xyz', 'm2m-secret-value-1234', 'm2m-wrong-secret-5678',
      ...JSON.parse(KEYS).keys.map((k) => k.k), ...JSON.parse(OTHER_KEYS).keys.map((k) => k.k),
    ];
    for (const error of errors) {
      const texts = [error.message, String(error), error.stack, util.inspect(error, { depth: 5, showHidden: true }), JSON.stringify(error)];
      for (const text of texts) for (const secret of secrets) assert.ok(!String(text).includes(secret), `${error.code} leaks a secret`);
    }
    assert.deepEqual(logged, [], 'the module logs nothing');
  } finally {
    for (const m of methods) console[m] = originals[m];
    await Promise.all([google.close(), mgmtApi.close()]);
  }
});

test('a redirect from the token endpoint is refused: the client secret never reaches another origin', async (t) => {
  const http = require('node:http');
  const listen = async (handler) => {
    const srv = http.createServer(handler);
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => srv.close(resolve)));
    return `http://127.0.0.1:${srv.address().port}`;
  };
  const reached = [];
  const elsewhere = await listen((req, res) => { reached.push(req.url); req.resume(); res.end('{}'); });
  const redirector = await listen((req, res) => { req.resume(); res.writeHead(307, { location: `${elsewhere}/token` }).end(); });
  const google = { clientId: 'client.apps.googleusercontent.com', clientSecret: 'GOCSPX-never-forwarded', tokenEndpoint: `${redirector}/token` };
  const api = tokens(google, clock());
  const error = await rejectsWithCode(api.accessToken(userWith('1//0g-redirect-test')), 'ERR_PROVIDER_UNAVAILABLE');
  assert.ok(!error.message.includes('GOCSPX'));
  assert.deepEqual(reached, [], 'nothing reached the other origin');
});

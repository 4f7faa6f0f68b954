'use strict';
// createTokens (js-shim/backend.js) for providers other than Google, against the real
// OAuth 2.0 server on loopback (oidc-provider, google-standin.mjs) configured as each of
// them: a custom OpenID Connect connection found by discovery whose client authenticates
// with HTTP Basic and whose refresh tokens rotate (the used one is consumed, and
// presenting it again revokes the whole grant), and an Entra-like provider that refuses a
// refresh without `scope` and rotates too. The Management API is the local stand-in
// (tests/auth0-standin/management-api.cjs).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const core = require('../../pkg/tokenseal.js');
const backend = require('../../js-shim/backend.js');
const { startManagementApi } = require('../auth0-standin/management-api.cjs');

const standinModule = import(path.join(__dirname, 'google-standin.mjs'));
const startServer = async (o) => (await standinModule).startGoogleStandin(o);

const KEYS = core.generateKeySet();
const USER_ID = 'auth0|5f0c0000000000000000acme';
const ACME = 'acme-idp';

/** A user whose app_metadata holds `values` ({ key: refresh token }) sealed for them, each bound to its provider. */
function userWith(values, userId = USER_ID) {
  const sealed = {};
  for (const [key, token] of Object.entries(values)) sealed[key] = core.seal(token, KEYS, userId, key);
  return { user_id: userId, app_metadata: { sealed_refresh_tokens: sealed } };
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
  return caught;
}

/** A database row of sealed values with compare-and-set, as an app's saveSealed keeps it. */
function sealedStore(user) {
  const saved = [];
  return {
    saved,
    saveSealed: async (userId, sealed, replaces, provider) => {
      const map = user.app_metadata.sealed_refresh_tokens;
      if (map[provider] !== replaces) return false;
      map[provider] = sealed;
      saved.push({ userId, provider, sealed });
      return true;
    },
  };
}

/** A saveSealed for tests that do not look at what is stored (a rotating provider needs one). */
const keepRotation = async () => true;

test('a provider that rotates refresh tokens needs somewhere to store a rotation: refused at creation without saveSealed or management', () => {
  for (const key of ['waad', 'bitbucket', ACME]) {
    assert.throws(
      () => backend.createTokens({ keys: KEYS, providers: { [key]: { clientId: 'c', clientSecret: 's', tokenEndpoint: 'https://idp.example/token', scope: 'offline_access' } } }),
      (error) => error.code === 'ERR_CONFIG_INCOMPLETE' && /rotates refresh tokens/.test(error.message),
      key,
    );
    // With one, or with management, it is accepted.
    backend.createTokens({ keys: KEYS, providers: { [key]: { clientId: 'c', clientSecret: 's', tokenEndpoint: 'https://idp.example/token', scope: 'offline_access' } }, saveSealed: keepRotation });
  }
  // Google does not rotate: nothing to store, nothing required.
  backend.createTokens({ keys: KEYS, providers: { 'google-oauth2': { clientId: 'c', clientSecret: 's' } } });
});

test('a custom OpenID Connect connection by discovery: Basic client, rotation, 100 concurrent callers, one refresh, the old token never sent again', async () => {
  const idp = await startServer({ accessTokenTtl: 300, rotateRefreshToken: true, authMethod: 'client_secret_basic' });
  try {
    const rt0 = await idp.issueRefreshToken('acct-acme');
    const user = userWith({ [ACME]: rt0 });
    const first = user.app_metadata.sealed_refresh_tokens[ACME];
    const db = sealedStore(user);
    let nowMs = Date.now();
    const t = backend.createTokens({
      keys: KEYS,
      providers: { [ACME]: { clientId: idp.clientId, clientSecret: idp.clientSecret, issuer: idp.issuer } },
      saveSealed: db.saveSealed,
      now: () => nowMs,
    });

    const got = await Promise.all(Array.from({ length: 100 }, () => t.accessToken(user, ACME)));
    assert.equal(idp.refreshRequests().length, 1, 'one refresh for 100 callers');
    assert.equal(new Set(got.map((g) => g.accessToken)).size, 1);
    // The client authenticated as the discovery document allows and the core chose:
    // HTTP Basic, no secret in the body.
    const [request] = idp.refreshRequests();
    assert.match(request.authorization, /^Basic /);
    assert.equal(request.params.client_secret, undefined);
    assert.equal(request.params.refresh_token, rt0);

    // The rotated token was stored sealed, bound to the user, in place of the first value.
    assert.equal(db.saved.length, 1);
    const stored = user.app_metadata.sealed_refresh_tokens[ACME];
    assert.notEqual(stored, first);
    const rt1 = backend.openSealed(user.app_metadata, KEYS, USER_ID, ACME);
    assert.notEqual(rt1, rt0);
    assert.equal(core.inspect(stored).src, 'rotation');

    // After expiry: the rotated token is sent. oidc-provider would revoke the whole grant
    // had the consumed rt0 come again, so a second success proves it did not.
    nowMs += 300 * 1000;
    const again = await t.accessToken(user, ACME);
    const sent = idp.refreshRequests().map((r) => r.params.refresh_token);
    assert.deepEqual(sent, [rt0, rt1]);
    assert.equal(idp.refreshRequests()[1].status, 200);
    assert.notEqual(again.accessToken, got[0].accessToken);
    assert.equal(db.saved.length, 2, 'the second rotation is stored too');

    // A stale copy of the first token, as Auth0 still shows it on the identity, never
    // overwrites the rotated value at the next login (a Rule login through the connection).
    const plan = core.planLogin({
      user: {
        user_id: USER_ID,
        identities: [{ provider: 'oauth2', connection: ACME, user_id: `${ACME}|acct-acme`, refresh_token: rt0 }],
        app_metadata: { sealed_refresh_tokens: { [ACME]: first } },
      },
      providers: [ACME], connectionStrategy: 'oauth2', connectionName: ACME, loginsCount: 3, read: 'never',
    }, KEYS);
    assert.equal(plan.outcome, 'unchanged', 'the value the login captured is kept');
    const rotatedPlan = core.planLogin({
      user: {
        user_id: USER_ID,
        identities: [{ provider: 'oauth2', connection: ACME, user_id: `${ACME}|acct-acme`, refresh_token: rt0 }],
        app_metadata: { sealed_refresh_tokens: { [ACME]: user.app_metadata.sealed_refresh_tokens[ACME] } },
      },
      providers: [ACME], connectionStrategy: 'oauth2', connectionName: ACME, loginsCount: 3, read: 'never',
    }, KEYS);
    assert.equal(rotatedPlan.outcome, 'unchanged', 'a rotation is never replaced by the stale copy it succeeded');
    assert.deepEqual(rotatedPlan.metadataWrites, []);
  } finally {
    await idp.close();
  }
});

test('an Entra-like provider: scope is sent with every refresh; without a configured scope nothing is sent', async () => {
  const entra = await startServer({ accessTokenTtl: 300, rotateRefreshToken: true, requireRefreshScope: true });
  try {
    const rt0 = await entra.issueRefreshToken('acct-entra');
    const user = userWith({ waad: rt0 });
    // The provider table says Entra's refresh needs a scope: refused at creation.
    assert.throws(
      () => backend.createTokens({ keys: KEYS, providers: { waad: { clientId: entra.clientId, clientSecret: entra.clientSecret, tokenEndpoint: entra.tokenEndpoint } }, saveSealed: keepRotation }),
      { code: 'ERR_CONFIG_INCOMPLETE' },
    );
    // Without the core's rule (a plain RFC 6749 refresh), the server refuses, as Entra does.
    const plain = await fetch(entra.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt0, client_id: entra.clientId, client_secret: entra.clientSecret }),
    });
    assert.equal(plain.status, 400);

    const db = sealedStore(user);
    let nowMs = Date.now();
    const t = backend.createTokens({
      keys: KEYS,
      providers: { waad: { clientId: entra.clientId, clientSecret: entra.clientSecret, tokenEndpoint: entra.tokenEndpoint, scope: 'openid offline_access' } },
      saveSealed: db.saveSealed,
      now: () => nowMs,
    });
    const got = await Promise.all(Array.from({ length: 100 }, () => t.accessToken(user)));
    assert.equal(new Set(got.map((g) => g.accessToken)).size, 1);
    const ok = entra.refreshRequests().filter((r) => r.status === 200);
    assert.equal(ok.length, 1, 'one refresh for 100 callers');
    assert.equal(ok[0].params.scope, 'openid offline_access');
    assert.ok(ok[0].params.client_secret, 'client_secret_post, as Entra documents');
    assert.equal(db.saved.length, 1, 'the rotation is stored');
    nowMs += 300 * 1000;
    await t.accessToken(user);
    const sent = entra.refreshRequests().filter((r) => r.status === 200).map((r) => r.params.refresh_token);
    assert.equal(sent.length, 2);
    assert.equal(sent[0], rt0);
    assert.notEqual(sent[1], rt0, 'the rotated token, never the consumed one');
  } finally {
    await entra.close();
  }
});

test('without an issuer nothing is discovered: the only request is the refresh; a connection with neither endpoint nor issuer fails at creation', async () => {
  const google = await startServer({ accessTokenTtl: 300 });
  try {
    const rt = await google.issueRefreshToken('acct-no-discovery');
    const user = userWith({ 'google-oauth2': rt });
    const fetched = [];
    // The app's own fetch: every URL it is asked for is recorded (a proxying fetch would
    // send each one somewhere).
    const spy = (url, init) => { fetched.push(String(url)); return fetch(url, init); };
    const t = backend.createTokens({
      keys: KEYS,
      providers: { 'google-oauth2': { clientId: google.clientId, clientSecret: google.clientSecret, tokenEndpoint: google.tokenEndpoint } },
      fetch: spy,
    });
    await t.accessToken(user);
    assert.deepEqual(fetched, [google.tokenEndpoint]);
    // Configuration faults throw at creation, this one included (the README promises it).
    assert.throws(
      () => backend.createTokens({ keys: KEYS, providers: { [ACME]: { clientId: 'c', clientSecret: 's' } }, saveSealed: keepRotation, fetch: spy }),
      { code: 'ERR_CONFIG_INCOMPLETE' },
    );
    assert.deepEqual(fetched, [google.tokenEndpoint]);
  } finally {
    await google.close();
  }
});

test('a rotating token endpoint whose 200 lacks expires_in, or is otherwise unusable: the rotated token is stored, never lost', async () => {
  // A hand-written endpoint: oidc-provider always sends expires_in. It consumes the token
  // it is sent and answers with the next one, as a rotating server does; its answers
  // leave out expires_in (RFC 6749 §5.1 only recommends it), and the third also
  // token_type, which tokenseal refuses.
  let live = '1//acme-rotating-0';
  let n = 0;
  const server = require('node:http').createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const sent = new URLSearchParams(body).get('refresh_token');
      if (sent !== live) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
        return;
      }
      n += 1;
      live = `1//acme-rotating-${n}`;
      const answer = { access_token: `at-${n}`, refresh_token: live, ...(n === 3 ? {} : { token_type: 'Bearer' }) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const user = userWith({ [ACME]: '1//acme-rotating-0' });
    const db = sealedStore(user);
    let nowMs = Date.now();
    const t = backend.createTokens({
      keys: KEYS,
      providers: { [ACME]: { clientId: 'c', clientSecret: 's', tokenEndpoint: `http://127.0.0.1:${server.address().port}/token` } },
      saveSealed: db.saveSealed,
      now: () => nowMs,
    });
    const first = await t.accessToken(user, ACME);
    assert.equal(first.accessToken, 'at-1');
    // No lifetime given: taken as five minutes (core ASSUMED_LIFETIME_SECONDS).
    assert.equal(first.expiresAt, Math.floor(nowMs / 1000) + 300);
    assert.equal(db.saved.length, 1);
    nowMs += 300 * 1000;
    assert.equal((await t.accessToken(user, ACME)).accessToken, 'at-2');
    nowMs += 300 * 1000;
    await rejectsWithCode(t.accessToken(user, ACME), 'ERR_PROVIDER_RESPONSE');
    assert.equal(db.saved.length, 3, 'the rotation the unusable answer carried is stored');
    assert.equal(core.open(db.saved[2].sealed, KEYS, USER_ID, ACME), '1//acme-rotating-3');
    // The next call sends the token the server issued last, so it still works.
    assert.equal((await t.accessToken(user, ACME)).accessToken, 'at-4');
  } finally {
    server.close();
  }
});

test('forget() during a refresh under way: the rotation its answer carries is still stored', async () => {
  // A rotating provider's answer is held until forget() has been called.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const answer = (o) => ({ status: 200, text: async () => JSON.stringify(o), headers: { get: () => null } });
  const fetchImpl = async () => {
    await held;
    return answer({ access_token: 'at-held', token_type: 'Bearer', expires_in: 3600, refresh_token: '0.A-rotated-held' });
  };
  const user = userWith({ waad: '0.A-before-forget' });
  const db = sealedStore(user);
  const t = backend.createTokens({
    keys: KEYS, fetch: fetchImpl, saveSealed: db.saveSealed,
    providers: { waad: { clientId: 'c', clientSecret: 's', tokenEndpoint: 'https://login.example/token', scope: 'openid offline_access' } },
  });
  const running = t.accessToken(user, 'waad');
  await new Promise((resolve) => setImmediate(resolve));
  t.forget(USER_ID);
  release();
  assert.equal((await running).accessToken, 'at-held');
  assert.equal(db.saved.length, 1, 'the rotation was stored');
  assert.equal(core.open(db.saved[0].sealed, KEYS, USER_ID, 'waad'), '0.A-rotated-held');
});

test('two providers in one backend: each refreshes at its own endpoint, under its own key', async () => {
  const google = await startServer({ accessTokenTtl: 300 });
  const idp = await startServer({ accessTokenTtl: 300, authMethod: 'client_secret_basic' });
  try {
    const user = userWith({ 'google-oauth2': await google.issueRefreshToken('acct-g'), [ACME]: await idp.issueRefreshToken('acct-a') });
    const t = backend.createTokens({
      keys: KEYS,
      providers: {
        'google-oauth2': { clientId: google.clientId, clientSecret: google.clientSecret, tokenEndpoint: google.tokenEndpoint },
        [ACME]: { clientId: idp.clientId, clientSecret: idp.clientSecret, tokenEndpoint: idp.tokenEndpoint },
      },
      saveSealed: keepRotation,
    });
    const [g, a] = await Promise.all([t.accessToken(user, 'google-oauth2'), t.accessToken(user, ACME)]);
    assert.notEqual(g.accessToken, a.accessToken);
    assert.equal(google.refreshRequests().length, 1);
    assert.equal(idp.refreshRequests().length, 1);
    assert.equal((await google.userinfo(g.accessToken)).status, 200);
    assert.equal((await idp.userinfo(a.accessToken)).status, 200);
    assert.equal((await google.userinfo(a.accessToken)).status, 401, 'each token is its provider\'s');
    // With more than one provider, the provider is named.
    await rejectsWithCode(t.accessToken(user), 'ERR_CONFIG_INVALID');
    await rejectsWithCode(t.accessToken(user, 'bitbucket'), 'ERR_CONFIG_INVALID');
    // Consent again, per provider: the connection, then the provider's parameters.
    assert.deepEqual(t.reconsentAuthorizeParams(ACME), { connection: ACME, prompt: 'consent', connection_scope: 'offline_access' });
    assert.deepEqual(
      t.reconsentAuthorizeParams(ACME, { connectionScope: ['email', 'offline_access'] }),
      { connection: ACME, prompt: 'consent', connection_scope: 'offline_access,email' },
    );
    assert.deepEqual(t.reconsentAuthorizeParams('google-oauth2'), { connection: 'google-oauth2', access_type: 'offline', prompt: 'consent' });
    assert.deepEqual(backend.reconsentAuthorizeParams('waad', { connection: 'contoso' }), { connection: 'contoso', prompt: 'consent' });
    assert.deepEqual(backend.reconsentAuthorizeParams('bitbucket'), { connection: 'bitbucket' });
    // A value moved from Google's member to the custom connection's: refused, nothing sent.
    const moved = { user_id: 'auth0|moved', app_metadata: { sealed_refresh_tokens: { [ACME]: core.seal('1//0g-google', KEYS, 'auth0|moved') } } };
    await rejectsWithCode(t.accessToken(moved, ACME), 'ERR_PROVIDER_MISMATCH');
    assert.equal(idp.refreshRequests().length, 1);
    // A user without the provider's value.
    await rejectsWithCode(t.accessToken(userWith({ 'google-oauth2': 'x' }, 'auth0|other'), ACME), 'ERR_SEALED_MISSING');
  } finally {
    await Promise.all([google.close(), idp.close()]);
  }
});

test('discovery: only the issuer\'s own document is used; an issuer that does not answer is ERR_PROVIDER_UNAVAILABLE, and a later call tries again', async () => {
  const idp = await startServer({ accessTokenTtl: 300 });
  try {
    const user = userWith({ [ACME]: await idp.issueRefreshToken('acct-disc') });
    const create = (issuer, fetchImpl) => backend.createTokens({
      keys: KEYS, providers: { [ACME]: { clientId: idp.clientId, clientSecret: idp.clientSecret, issuer } }, saveSealed: keepRotation, ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
    // The document at <issuer>/x/.well-known/... does not exist: a 404.
    await rejectsWithCode(create(`${idp.issuer}/x`).accessToken(user), 'ERR_DISCOVERY_INVALID');
    // A document that names another issuer (RFC 8414 §3.3) is not used.
    const lying = async (url, init) => {
      const response = await fetch(url, init);
      if (!String(url).endsWith('/.well-known/openid-configuration')) return response;
      const document = await response.json();
      return new Response(JSON.stringify({ ...document, issuer: 'https://evil.example' }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    await rejectsWithCode(create(idp.issuer, lying).accessToken(user), 'ERR_DISCOVERY_INVALID');
    assert.equal(idp.refreshRequests().length, 0, 'nothing sent to an endpoint it named');
    // Down, then up: calls fail fast for 5 s (nothing fetched), then try again.
    let down = true;
    let fetches = 0;
    const flaky = (url, init) => {
      fetches += 1;
      return down ? Promise.reject(new Error('ECONNREFUSED')) : fetch(url, init);
    };
    let nowMs = Date.now();
    const t = backend.createTokens({
      keys: KEYS, providers: { [ACME]: { clientId: idp.clientId, clientSecret: idp.clientSecret, issuer: idp.issuer } }, saveSealed: keepRotation, fetch: flaky, now: () => nowMs,
    });
    await rejectsWithCode(t.accessToken(user), 'ERR_PROVIDER_UNAVAILABLE');
    down = false;
    await rejectsWithCode(t.accessToken(user), 'ERR_PROVIDER_UNAVAILABLE');
    assert.equal(fetches, 1, 'no fetch while the failure is fresh');
    nowMs += 5000;
    assert.ok((await t.accessToken(user)).accessToken);
    assert.equal(fetches, 3, 'the document, then the refresh');
    // An issuer the client secret must not travel to is refused at creation.
    assert.throws(() => create('http://idp.example.com'), { code: 'ERR_CONFIG_INVALID' });
  } finally {
    await idp.close();
  }
});

test('offline_access not granted: requiredScopes names it (ERR_SCOPE_NOT_GRANTED)', async () => {
  const idp = await startServer({ accessTokenTtl: 300 });
  try {
    const user = userWith({ [ACME]: await idp.issueRefreshToken('acct-no-offline', 'openid email') });
    const t = backend.createTokens({
      keys: KEYS,
      providers: { [ACME]: { clientId: idp.clientId, clientSecret: idp.clientSecret, issuer: idp.issuer, requiredScopes: ['offline_access'] } },
      saveSealed: keepRotation,
    });
    const error = await rejectsWithCode(t.accessToken(user, ACME), 'ERR_SCOPE_NOT_GRANTED');
    assert.deepEqual(error.missingScopes, ['offline_access']);
  } finally {
    await idp.close();
  }
});

test('disconnect where the provider has no revocation endpoint: nothing is cleared unless asked', async () => {
  const entra = await startServer({ accessTokenTtl: 300, requireRefreshScope: true });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID, identities: [{ provider: 'waad', connection: 'contoso', user_id: 'w1' }] }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  try {
    const user = userWith({ waad: await entra.issueRefreshToken('acct-entra-d') });
    user.app_metadata.sealed_refresh_tokens['google-oauth2'] = 'kept-as-it-is';
    mgmtApi.store.updateUser(USER_ID, { app_metadata: user.app_metadata });
    const t = backend.createTokens({
      keys: KEYS,
      providers: { waad: { clientId: entra.clientId, clientSecret: entra.clientSecret, tokenEndpoint: entra.tokenEndpoint, scope: 'openid offline_access' } },
      management: { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' },
    });
    await rejectsWithCode(t.disconnect(USER_ID, 'waad'), 'ERR_CONFIG_INCOMPLETE');
    assert.ok(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens.waad, 'still stored');
    assert.deepEqual(
      await t.disconnect(USER_ID, 'waad', { clearOnRevokeFailure: true }),
      { revoked: false, cleared: true, code: 'ERR_CONFIG_INCOMPLETE' },
    );
    assert.deepEqual(mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens, { 'google-oauth2': 'kept-as-it-is' });
  } finally {
    await Promise.all([entra.close(), mgmtApi.close()]);
  }
});

test('two providers rotating at once for one user: both rotations are stored, neither lost', async () => {
  const a = await startServer({ accessTokenTtl: 300, rotateRefreshToken: true });
  const b = await startServer({ accessTokenTtl: 300, rotateRefreshToken: true, authMethod: 'client_secret_basic' });
  const mgmtApi = await startManagementApi({
    users: [{ user_id: USER_ID, identities: [{ provider: 'auth0', connection: 'db', user_id: 'x' }] }],
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret-value-1234', scopes: ['read:users', 'update:users_app_metadata'] }],
  });
  try {
    const user = userWith({ [ACME]: await a.issueRefreshToken('acct-race-a'), 'other-idp': await b.issueRefreshToken('acct-race-b') });
    mgmtApi.store.updateUser(USER_ID, { app_metadata: user.app_metadata });
    const t = backend.createTokens({
      keys: KEYS,
      providers: {
        [ACME]: { clientId: a.clientId, clientSecret: a.clientSecret, tokenEndpoint: a.tokenEndpoint },
        'other-idp': { clientId: b.clientId, clientSecret: b.clientSecret, tokenEndpoint: b.tokenEndpoint },
      },
      management: { baseUrl: mgmtApi.baseUrl, clientId: 'm2m', clientSecret: 'm2m-secret-value-1234' },
    });
    await Promise.all([t.accessToken(user, ACME), t.accessToken(user, 'other-idp')]);
    const stored = mgmtApi.store.getUser(USER_ID).app_metadata.sealed_refresh_tokens;
    for (const [key, server] of [[ACME, a], ['other-idp', b]]) {
      const sent = server.refreshRequests()[0].params.refresh_token;
      const now = backend.openSealed(stored[key], KEYS, USER_ID, key);
      assert.notEqual(now, sent, `${key}: the rotated token is stored, not the one the refresh used`);
      assert.equal(core.inspect(stored[key]).src, 'rotation');
    }
  } finally {
    await Promise.all([a.close(), b.close(), mgmtApi.close()]);
  }
});

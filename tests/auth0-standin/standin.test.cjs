'use strict';
// Tests of the Auth0 stand-in itself: run with `node --test tests/auth0-standin/`.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createPostLoginRun, createCache, CACHE_LIMITS } = require('./actions.cjs');
const { startManagementApi } = require('./management-api.cjs');

const GOOGLE_USER = Object.freeze({
  user_id: 'google-oauth2|1001',
  email: 'ada@example.com',
  email_verified: true,
  name: 'Ada',
  logins_count: 4,
  last_ip: '10.0.0.1', // not an Action event.user field
  app_metadata: { plan: 'pro', keep: 1 },
  user_metadata: { theme: 'dark' },
  identities: [{
    connection: 'google-oauth2', provider: 'google-oauth2', user_id: '1001', isSocial: true,
    access_token: 'ya29.at', refresh_token: '1//rt-old', expires_in: 3599,
    profileData: { email: 'ada@example.com' },
  }],
});
const CLIENT = { clientId: 'm2m', clientSecret: 's3cret', scopes: ['read:users', 'read:user_idp_tokens', 'update:users'] };

function clock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  const now = () => t;
  now.advance = (ms) => { t += ms; };
  return now;
}

async function getToken(mgmt, { clientId = CLIENT.clientId, clientSecret = CLIENT.clientSecret, scope, form = false } = {}) {
  const params = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, audience: mgmt.audience, ...(scope ? { scope } : {}) };
  const res = await fetch(`${mgmt.baseUrl}/oauth/token`, form
    ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() }
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
  return { status: res.status, body: await res.json(), res };
}
async function call(mgmt, token, method, path, body) {
  const res = await fetch(`${mgmt.baseUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, body: json, text, res };
}
const userPath = (id) => `/api/v2/users/${encodeURIComponent(id)}`;

// ---------------------------------------------------------------- event shape
test('event.user has Action-shaped identities without IdP tokens, and event is frozen', () => {
  const { event } = createPostLoginRun({ user: GOOGLE_USER, secrets: { KEY: 'v' }, clientId: 'app1' });
  assert.deepEqual(event.user.identities, [{
    connection: 'google-oauth2', provider: 'google-oauth2', user_id: '1001', isSocial: true,
    profileData: { email: 'ada@example.com' },
  }]);
  assert.equal(event.user.last_ip, undefined);
  assert.equal(event.connection.strategy, 'google-oauth2');
  assert.equal(event.connection.name, 'google-oauth2');
  assert.equal(event.stats.logins_count, 4);
  assert.equal(event.client.client_id, 'app1');
  assert.ok(Object.isFrozen(event) && Object.isFrozen(event.user.identities[0]) && Object.isFrozen(event.secrets));
  assert.throws(() => { 'use strict'; event.secrets.KEY = 'x'; }, TypeError);
  assert.throws(() => { event.user.app_metadata.plan = 'free'; }, TypeError);
  // the caller's object is untouched
  assert.equal(GOOGLE_USER.identities[0].refresh_token, '1//rt-old');
});

test('event.request.query and body lose the parameters Auth0 hides since 2025-09-16', () => {
  const { event } = createPostLoginRun({
    user: GOOGLE_USER,
    request: {
      query: { prompt: 'consent', refresh_token: 'x', client_secret: 'y', auth_session: 'z', authn_response: 'w', client_assertion: 'v', access_type: 'offline' },
      body: { refresh_token: 'x', foo: 'bar' },
    },
    transaction: { prompt: 'consent login' },
  });
  assert.deepEqual(event.request.query, { prompt: 'consent', access_type: 'offline' });
  assert.deepEqual(event.request.body, { foo: 'bar' });
  assert.deepEqual(event.transaction.prompt, ['consent', 'login']);
});

test('secrets over the documented limits are refused', () => {
  assert.throws(() => createPostLoginRun({ user: GOOGLE_USER, secrets: { BIG: 'x'.repeat(4097) } }), RangeError);
  assert.throws(() => createPostLoginRun({ user: GOOGLE_USER, secrets: { ['K'.repeat(129)]: 'v' } }), RangeError);
});

// ------------------------------------------------------------------ metadata
test('metadata writes are collected and applied only by finish(); null deletes', () => {
  const { event, api, finish } = createPostLoginRun({ user: GOOGLE_USER });
  api.user.setAppMetadata('refresh_token', 'sealed-1').user.setAppMetadata('plan', null); // returns the api object
  api.user.setAppMetadata('refresh_token', 'sealed-2'); // last write wins
  api.user.setUserMetadata('theme', null);
  api.user.setUserMetadata('lang', { primary: 'en' });
  assert.deepEqual(event.user.app_metadata, { plan: 'pro', keep: 1 }, 'not visible during the run');
  const r = finish();
  assert.deepEqual(r.appMetadata, { keep: 1, refresh_token: 'sealed-2' });
  assert.deepEqual(r.userMetadata, { lang: { primary: 'en' } });
  assert.deepEqual(r.errors, []);
  assert.equal(r.denied, null);
  assert.throws(() => finish(), /twice/);
  assert.throws(() => api.user.setAppMetadata('a', 1), /after finish/);
});

test('non-JSON metadata values are rejected', () => {
  const { api } = createPostLoginRun({ user: GOOGLE_USER });
  const cyclic = {}; cyclic.self = cyclic;
  for (const bad of [undefined, () => 1, Symbol('s'), 10n, NaN, Infinity, cyclic, new Date(), { nested: undefined }, [1, () => 2], new Map()]) {
    assert.throws(() => api.user.setAppMetadata('k', bad), TypeError, String(bad));
  }
  assert.throws(() => api.user.setAppMetadata('', 1), TypeError);
  assert.throws(() => api.user.setUserMetadata(42, 1), TypeError);
  api.user.setAppMetadata('ok', { a: [1, 'two', true, null, { b: 1.5 }] }); // fine
});

test('app_metadata writes over 32 kB per session are reported and not persisted', () => {
  const { api, finish } = createPostLoginRun({ user: GOOGLE_USER });
  api.user.setAppMetadata('blob', 'x'.repeat(32 * 1024));
  api.user.setUserMetadata('small', 1);
  const r = finish();
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].code, 'app_metadata_too_large');
  assert.deepEqual(r.appMetadata, GOOGLE_USER.app_metadata);
  assert.equal(r.userMetadata.small, 1, 'the user_metadata budget is separate');
});

test('api.access.deny records the reason and metadata changes still apply', () => {
  const { api, finish } = createPostLoginRun({ user: GOOGLE_USER });
  api.user.setAppMetadata('tokenseal_error', 'E1');
  api.access.deny('no wasm');
  api.access.deny('second');
  const r = finish();
  assert.equal(r.denied, 'no wasm');
  assert.equal(r.appMetadata.tokenseal_error, 'E1');
});

// -------------------------------------------------------------------- claims
test('custom claims: namespacing and restricted names follow create-custom-claims', () => {
  const { api, finish } = createPostLoginRun({ user: GOOGLE_USER, accessTokenAudience: 'https://tenant.auth0.com/api/v2/' });
  api.idToken.setCustomClaim('https://tokenseal.example/status', 'ok');
  api.idToken.setCustomClaim('https://auth0.com/x', 1);          // Auth0 domain
  api.idToken.setCustomClaim('https://foo.webtask.run/x', 1);    // subdomain of one
  api.idToken.setCustomClaim('http://webtask.io/x', 1);
  api.idToken.setCustomClaim('urn:auth0:x', 1);                   // reserved URN
  api.idToken.setCustomClaim('urn:acme:x', 2);                    // other URN: fine
  api.idToken.setCustomClaim('sub', 'evil');                      // restricted
  api.idToken.setCustomClaim('x5t#S256', 'evil');
  api.idToken.setCustomClaim('$bad', 1);
  api.idToken.setCustomClaim('favorite_color', 'blue');           // non-namespaced: allowed on ID tokens
  api.accessToken.setCustomClaim('favorite_color', 'blue');       // ...not on an Auth0-API access token
  api.accessToken.setCustomClaim('email', 'ada@example.com');     // OIDC profile claim: allowed
  api.accessToken.setCustomClaim('https://tokenseal.example/a', true);
  const r = finish();
  assert.deepEqual(r.idTokenClaims, { 'https://tokenseal.example/status': 'ok', 'urn:acme:x': 2, favorite_color: 'blue' });
  assert.deepEqual(r.accessTokenClaims, { email: 'ada@example.com', 'https://tokenseal.example/a': true });
  assert.deepEqual(r.droppedClaims.map((d) => d.name).sort(),
    ['$bad', 'favorite_color', 'http://webtask.io/x', 'https://auth0.com/x', 'https://foo.webtask.run/x', 'sub', 'urn:auth0:x', 'x5t#S256'].sort());
});

test('custom claims: private claims allowed for a custom API audience, strict mode drops them, 100 kB cap', () => {
  let run = createPostLoginRun({ user: GOOGLE_USER, accessTokenAudience: 'https://api.example.com' });
  run.api.accessToken.setCustomClaim('tier', 'gold');
  assert.deepEqual(run.finish().accessTokenClaims, { tier: 'gold' });

  run = createPostLoginRun({ user: GOOGLE_USER, strictNamespaces: true });
  run.api.idToken.setCustomClaim('tier', 'gold');
  assert.deepEqual(run.finish().idTokenClaims, {});

  run = createPostLoginRun({ user: GOOGLE_USER });
  assert.throws(() => run.api.idToken.setCustomClaim('https://x.example/f', () => 1), TypeError);
  run.api.idToken.setCustomClaim('https://x.example/big', 'y'.repeat(100 * 1024));
  const r = run.finish();
  assert.equal(r.errors[0].code, 'custom_claims_too_large');
  assert.equal(r.errors[0].token, 'id');
});

// --------------------------------------------------------------------- cache
test('cache: record shape, ttl (ms), expires_at, earlier-wins, 24 h cap, default lifetime', () => {
  const now = clock();
  const cache = createCache({ now });
  assert.equal(cache.get('missing'), undefined);
  assert.deepEqual(cache.set('a', 'v1', { ttl: 1000 }), { type: 'success' });
  assert.deepEqual(cache.get('a'), { value: 'v1', expires_at: now() + 1000 });
  cache.set('b', 'v', { expires_at: now() + 5000 });
  assert.equal(cache.get('b').expires_at, now() + 5000);
  cache.set('c', 'v', { ttl: 9000, expires_at: now() + 2000 });
  assert.equal(cache.get('c').expires_at, now() + 2000, 'earlier of ttl and expires_at');
  cache.set('d', 'v', { ttl: 48 * 3600 * 1000 });
  assert.equal(cache.get('d').expires_at, now() + CACHE_LIMITS.maxTtlMs, 'capped at 24 h');
  cache.set('e', 'v');
  assert.equal(cache.get('e').expires_at, now() + CACHE_LIMITS.defaultTtlMs);
  now.advance(1000);
  assert.equal(cache.get('a'), undefined, 'expired at expires_at');
  assert.equal(cache.get('b').value, 'v');
  assert.deepEqual(cache.delete('b'), { type: 'success' });
  assert.deepEqual(cache.delete('never'), { type: 'success' });
  assert.equal(cache.get('b'), undefined);
  assert.equal(createCache({ now, defaultTtlMs: 86400000 }).set('x', 'y').type, 'success');
});

test('cache: documented limits give { type: "error", code }', () => {
  const cache = createCache();
  const code = (r) => (assert.equal(r.type, 'error'), r.code);
  assert.equal(code(cache.set('k', 42)), 'invalid_value');
  assert.equal(code(cache.set('k', { a: 1 })), 'invalid_value');
  assert.equal(code(cache.set('k'.repeat(65), 'v')), 'key_too_large');
  assert.equal(cache.set('é'.repeat(32), 'v').type, 'success', '64 bytes of UTF-8 is allowed');
  assert.equal(code(cache.set('é'.repeat(33), 'v')), 'key_too_large', 'key size counts bytes, not chars');
  assert.equal(code(cache.set('k', 'v'.repeat(4097))), 'value_too_large');
  assert.equal(code(cache.set('k', 'v', { ttl: -1 })), 'invalid_ttl');
  cache.clear();
  assert.equal(cache.set('big1', 'v'.repeat(4000)).type, 'success');
  assert.equal(cache.set('big2', 'v'.repeat(4000)).type, 'success');
  assert.equal(code(cache.set('big3', 'v'.repeat(200))), 'cache_full', 'keys + values over 8 kB');
  assert.equal(cache.set('big2', 'v'.repeat(4090)).type, 'success', 'replacing an entry frees its own bytes');
  cache.clear();
  for (let i = 0; i < 20; i++) assert.equal(cache.set(`k${i}`, 'v').type, 'success');
  assert.equal(code(cache.set('k20', 'v')), 'too_many_entries');
  assert.equal(cache.set('k0', 'again').type, 'success', 'updating an existing key is not a new entry');
  assert.equal(cache.size, 20);
});

test('cache shared between runs models reuse on one instance; api.cache is the same store', () => {
  const cache = createCache();
  const a = createPostLoginRun({ user: GOOGLE_USER, cache });
  a.api.cache.set('mgmt_token', 'tok', { ttl: 60000 });
  a.finish();
  const b = createPostLoginRun({ user: GOOGLE_USER, cache });
  assert.equal(b.api.cache.get('mgmt_token').value, 'tok');
  const c = createPostLoginRun({ user: GOOGLE_USER }); // fresh instance: empty
  assert.equal(c.api.cache.get('mgmt_token'), undefined);
});

// ---------------------------------------------------- run <-> store linkage
test('a run linked to the store reads the user, bumps logins_count and writes metadata back', async () => {
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT] });
  try {
    const run1 = createPostLoginRun({ store: mgmt.store, userId: GOOGLE_USER.user_id, idpTokens: { refresh_token: '1//rt-new', access_token: 'ya29.new' } });
    assert.equal(run1.event.stats.logins_count, 5);
    assert.equal(run1.event.user.identities[0].refresh_token, undefined);
    run1.api.user.setAppMetadata('refresh_token', null);
    run1.api.user.setAppMetadata('sealed', 'jwe-1');
    run1.finish();
    assert.equal(mgmt.store.getUser(GOOGLE_USER.user_id).identities[0].refresh_token, '1//rt-new');
    const run2 = createPostLoginRun({ store: mgmt.store, userId: GOOGLE_USER.user_id, idpTokens: { refresh_token: undefined } });
    assert.deepEqual(run2.event.user.app_metadata, { plan: 'pro', keep: 1, sealed: 'jwe-1' });
    assert.equal(mgmt.store.getUser(GOOGLE_USER.user_id).identities[0].refresh_token, '1//rt-new', 'no token from IdP keeps the old one');
    assert.equal(run2.event.stats.logins_count, 6);
  } finally {
    await mgmt.close();
  }
});

// ----------------------------------------------------------- token endpoint
test('POST /oauth/token: client credentials (JSON and form), bad credentials, audience, scopes', async () => {
  const mgmt = await startManagementApi({ clients: [CLIENT, { clientId: 'ro', clientSecret: 'ro-secret', scopes: ['read:users'] }], domain: 'tenant.auth0.com' });
  try {
    let r = await getToken(mgmt);
    assert.equal(r.status, 200);
    assert.equal(r.body.token_type, 'Bearer');
    assert.equal(r.body.expires_in, 86400);
    assert.equal(r.body.scope, 'read:users read:user_idp_tokens update:users');
    assert.match(r.body.access_token, /^standin\./);
    r = await getToken(mgmt, { form: true, scope: 'read:users' });
    assert.equal(r.status, 200);
    assert.equal(r.body.scope, 'read:users');
    r = await getToken(mgmt, { clientSecret: 'wrong' });
    assert.deepEqual([r.status, r.body.error], [401, 'access_denied']);
    r = await getToken(mgmt, { clientId: 'nobody' });
    assert.deepEqual([r.status, r.body.error], [401, 'access_denied']);
    r = await getToken(mgmt, { clientId: 'ro', clientSecret: 'ro-secret', scope: 'read:users read:user_idp_tokens' });
    assert.deepEqual([r.status, r.body.error], [403, 'access_denied']);
    const post = (body) => fetch(`${mgmt.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let res = await post({ grant_type: 'client_credentials', client_id: 'm2m', client_secret: 's3cret', audience: 'https://elsewhere/api/v2/' });
    assert.equal(res.status, 403);
    res = await post({ grant_type: 'client_credentials', client_id: 'm2m', client_secret: 's3cret', audience: 'https://tenant.auth0.com/api/v2/' });
    assert.equal(res.status, 200, 'the configured domain audience is accepted');
    res = await post({ grant_type: 'password', client_id: 'm2m', client_secret: 's3cret', audience: mgmt.audience });
    assert.equal(res.status, 400);
    assert.equal(mgmt.count('token'), 8);
  } finally {
    await mgmt.close();
  }
});

// ----------------------------------------------------------------- users API
test('GET /api/v2/users/{id}: auth, 404, IdP tokens only with read:user_idp_tokens, token expiry', async () => {
  const now = clock();
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT, { clientId: 'ro', clientSecret: 'x', scopes: ['read:users'] }, { clientId: 'none', clientSecret: 'y', scopes: [] }], now });
  try {
    const full = (await getToken(mgmt)).body.access_token;
    const ro = (await getToken(mgmt, { clientId: 'ro', clientSecret: 'x' })).body.access_token;
    const bare = (await getToken(mgmt, { clientId: 'none', clientSecret: 'y' })).body.access_token;
    let r = await call(mgmt, null, 'GET', userPath(GOOGLE_USER.user_id));
    assert.equal(r.status, 401);
    r = await call(mgmt, 'forged', 'GET', userPath(GOOGLE_USER.user_id));
    assert.equal(r.status, 401);
    r = await call(mgmt, bare, 'GET', userPath(GOOGLE_USER.user_id));
    assert.deepEqual([r.status, r.body.errorCode], [403, 'insufficient_scope']);
    r = await call(mgmt, ro, 'GET', userPath(GOOGLE_USER.user_id));
    assert.equal(r.status, 200);
    assert.equal(r.body.identities[0].refresh_token, undefined);
    assert.equal(r.body.identities[0].access_token, undefined);
    assert.equal(r.body.identities[0].user_id, '1001');
    r = await call(mgmt, full, 'GET', userPath(GOOGLE_USER.user_id));
    assert.equal(r.body.identities[0].refresh_token, '1//rt-old');
    assert.equal(r.body.app_metadata.plan, 'pro');
    r = await call(mgmt, full, 'GET', userPath('google-oauth2|nope'));
    assert.deepEqual([r.status, r.body.errorCode], [404, 'inexistent_user']);
    now.advance(86400 * 1000);
    r = await call(mgmt, full, 'GET', userPath(GOOGLE_USER.user_id));
    assert.equal(r.status, 401, 'token expired after expires_in');
    assert.equal(mgmt.count('users.get'), 7);
    assert.deepEqual(mgmt.requests.filter((x) => x.route === 'users.get').map((x) => x.status), [401, 401, 403, 200, 200, 404, 401]);
  } finally {
    await mgmt.close();
  }
});

test('PATCH /api/v2/users/{id}: top-level merge, null deletes, {} empties, scope and body checks', async () => {
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT, { clientId: 'ro', clientSecret: 'x', scopes: ['read:users'] }] });
  try {
    const tok = (await getToken(mgmt)).body.access_token;
    const id = userPath(GOOGLE_USER.user_id);
    let r = await call(mgmt, tok, 'PATCH', id, { app_metadata: { refresh_token: null, sealed: { v: 1, blob: 'a' } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.app_metadata, { plan: 'pro', keep: 1, sealed: { v: 1, blob: 'a' } });
    r = await call(mgmt, tok, 'PATCH', id, { app_metadata: { sealed: { v: 2 }, plan: null } });
    assert.deepEqual(r.body.app_metadata, { keep: 1, sealed: { v: 2 } }, 'nested objects are replaced, not merged');
    assert.deepEqual(r.body.user_metadata, { theme: 'dark' });
    r = await call(mgmt, tok, 'PATCH', id, { user_metadata: {} });
    assert.deepEqual(r.body.user_metadata, {});
    assert.deepEqual(mgmt.store.getUser(GOOGLE_USER.user_id).app_metadata, { keep: 1, sealed: { v: 2 } });
    r = await call(mgmt, tok, 'PATCH', id, { email: 'x@y' });
    assert.equal(r.status, 400);
    r = await call(mgmt, tok, 'PATCH', userPath('auth0|ghost'), { app_metadata: { a: 1 } });
    assert.equal(r.status, 404);
    const ro = (await getToken(mgmt, { clientId: 'ro', clientSecret: 'x' })).body.access_token;
    r = await call(mgmt, ro, 'PATCH', id, { app_metadata: { a: 1 } });
    assert.equal(r.status, 403);
  } finally {
    await mgmt.close();
  }
});

test('GET /api/v2/users search: minimal Lucene subset, include_totals, per_page max, 1000-result paging cap', async () => {
  const users = [];
  for (let i = 0; i < 130; i++) {
    users.push({
      user_id: `google-oauth2|${String(i).padStart(4, '0')}`,
      app_metadata: i % 2 === 0 ? { refresh_token: `rt-${i}` } : (i % 3 === 0 ? { refresh_token: {} } : {}),
      identities: [{ connection: 'google-oauth2', provider: 'google-oauth2', user_id: String(i), isSocial: true, refresh_token: `idp-${i}` }],
    });
  }
  const mgmt = await startManagementApi({ users, clients: [CLIENT, { clientId: 'ro', clientSecret: 'x', scopes: ['read:users'] }] });
  try {
    const tok = (await getToken(mgmt)).body.access_token;
    const ro = (await getToken(mgmt, { clientId: 'ro', clientSecret: 'x' })).body.access_token;
    const search = (t, qs) => call(mgmt, t, 'GET', `/api/v2/users?${new URLSearchParams(qs)}`);
    let r = await search(tok, { q: '_exists_:app_metadata.refresh_token', search_engine: 'v3', per_page: '100', page: '0', include_totals: 'true' });
    assert.equal(r.status, 200);
    assert.equal(r.body.total, 65, 'empty objects are not indexed');
    assert.deepEqual([r.body.start, r.body.limit, r.body.length], [0, 100, 65]);
    assert.ok(r.body.users.every((u) => typeof u.app_metadata.refresh_token === 'string'));
    assert.equal(r.body.users[0].identities[0].refresh_token, 'idp-0');
    r = await search(ro, { q: '_exists_:app_metadata.refresh_token', search_engine: 'v3' });
    assert.ok(Array.isArray(r.body), 'without include_totals the body is an array');
    assert.equal(r.body.length, 50, 'default page size 50');
    assert.equal(r.body[0].identities[0].refresh_token, undefined, 'no IdP tokens without read:user_idp_tokens');
    r = await search(tok, { q: 'NOT _exists_:app_metadata.refresh_token AND user_id:"google-oauth2|0003"' });
    assert.deepEqual(r.body.map((u) => u.user_id), ['google-oauth2|0003']);
    r = await search(tok, { q: 'user_id:google-oauth2\\|0004' });
    assert.deepEqual(r.body.map((u) => u.user_id), ['google-oauth2|0004']);
    r = await search(tok, { per_page: '101' });
    assert.deepEqual([r.status, r.body.errorCode], [400, 'invalid_query_string']);
    r = await search(tok, { per_page: '100', page: '9' });
    assert.equal(r.status, 200, 'page 9 x 100 reaches exactly 1000');
    assert.deepEqual(r.body, []);
    r = await search(tok, { per_page: '100', page: '10' });
    assert.deepEqual([r.status, r.body.errorCode], [400, 'invalid_paging']);
    r = await search(tok, { per_page: '50', page: '20' });
    assert.equal(r.status, 400, 'refused even though only 130 users exist');
    r = await search(tok, { q: 'name:jo* OR x:y' });
    assert.equal(r.status, 400, 'unsupported syntax is loud');
    r = await search(tok, { search_engine: 'v2' });
    assert.equal(r.status, 400);
    assert.equal(mgmt.count('users.search'), 10);
  } finally {
    await mgmt.close();
  }
});

// -------------------------------------------------------------------- faults
test('faults: 5xx for n requests then normal service; 401; malformed; reset; RegExp paths', async () => {
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT] });
  try {
    const tok = (await getToken(mgmt)).body.access_token;
    mgmt.setFault({ path: 'user', kind: '5xx', times: 2 });
    const id = userPath(GOOGLE_USER.user_id);
    assert.equal((await call(mgmt, tok, 'GET', id)).status, 503);
    assert.equal((await call(mgmt, tok, 'GET', id)).status, 503);
    assert.equal((await call(mgmt, tok, 'GET', id)).status, 200);
    mgmt.setFault({ path: 'user', kind: '5xx', status: 500, times: 1 });
    assert.equal((await call(mgmt, tok, 'GET', id)).status, 500);

    mgmt.setFault({ path: 'token', kind: '401', times: 1 });
    let r = await getToken(mgmt);
    assert.deepEqual([r.status, r.body.error], [401, 'access_denied']);
    assert.equal((await getToken(mgmt)).status, 200);
    mgmt.setFault({ path: 'user', kind: '401', times: 1 });
    assert.equal((await call(mgmt, tok, 'GET', id)).status, 401);

    mgmt.setFault({ path: 'token', kind: 'malformed', times: 1 });
    const res = await fetch(`${mgmt.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 200);
    await assert.rejects(res.json(), SyntaxError);

    mgmt.setFault({ path: /^\/api\/v2\/users\//, kind: 'reset', times: 1 });
    await assert.rejects(fetch(`${mgmt.baseUrl}${id}`, { headers: { authorization: `Bearer ${tok}` } }));
    assert.equal((await call(mgmt, tok, 'GET', id)).status, 200);

    mgmt.setFault({ path: 'search', kind: '5xx' }); // no times: until cleared
    assert.equal((await call(mgmt, tok, 'GET', '/api/v2/users')).status, 503);
    assert.equal((await call(mgmt, tok, 'GET', '/api/v2/users')).status, 503);
    mgmt.clearFaults();
    assert.equal((await call(mgmt, tok, 'GET', '/api/v2/users')).status, 200);
    assert.throws(() => mgmt.setFault({ kind: 'bogus' }), TypeError);
    assert.equal(mgmt.requests.filter((x) => x.fault).length, 9);
  } finally {
    await mgmt.close();
  }
});

test('faults: 429 carries Retry-After and X-RateLimit-Reset (UNIX seconds)', async () => {
  const now = clock();
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT], now, faults: [{ path: 'token', kind: '429', retryAfter: 7, times: 1 }] });
  try {
    let r = await getToken(mgmt);
    assert.equal(r.status, 429);
    assert.equal(r.res.headers.get('retry-after'), '7');
    assert.equal(r.res.headers.get('x-ratelimit-reset'), String(now() / 1000 + 7));
    assert.equal(r.res.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(r.body.error, 'too_many_requests');
    r = await getToken(mgmt);
    assert.equal(r.status, 200);
    assert.ok(r.res.headers.get('x-ratelimit-limit'), 'rate-limit headers on normal answers too');
    mgmt.setFault({ path: 'user', kind: '429', retryAfter: 2, times: 1 });
    const u = await call(mgmt, r.body.access_token, 'GET', userPath(GOOGLE_USER.user_id));
    assert.deepEqual([u.status, u.body.statusCode, u.res.headers.get('retry-after')], [429, 429, '2']);
  } finally {
    await mgmt.close();
  }
});

test('faults: a hanging request never answers, and close() still finishes promptly', async () => {
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT] });
  mgmt.setFault({ path: 'token', kind: 'hang', times: 1 });
  const pending = fetch(`${mgmt.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  pending.catch(() => {}); // settled below
  const timeout = Symbol('timeout');
  const raced = await Promise.race([pending.then(() => 'answered', () => 'failed'), new Promise((r) => setTimeout(r, 300, timeout))]);
  assert.equal(raced, timeout, 'no answer while hanging');
  assert.equal(mgmt.requests.at(-1).fault, 'hang');
  assert.equal(mgmt.requests.at(-1).status, null);
  const t0 = Date.now();
  await mgmt.close();
  assert.ok(Date.now() - t0 < 1000, 'close() does not wait for the hanging socket');
  await assert.rejects(pending, 'the hanging client sees the connection drop');
  await mgmt.close(); // idempotent
});

test('request log and per-route counts', async () => {
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT] });
  try {
    const tok = (await getToken(mgmt)).body.access_token;
    await call(mgmt, tok, 'GET', userPath(GOOGLE_USER.user_id));
    await call(mgmt, tok, 'GET', userPath(GOOGLE_USER.user_id));
    await call(mgmt, tok, 'GET', '/api/v2/nothing');
    assert.deepEqual(mgmt.counts, { token: 1, 'users.get': 2, unknown: 1 });
    assert.equal(mgmt.count(/^\/api\/v2\/users\//), 2);
    assert.deepEqual(mgmt.requests[1], { method: 'GET', path: '/api/v2/users/google-oauth2%7C1001', route: 'users.get', status: 200 });
  } finally {
    await mgmt.close();
  }
});

// ------------------------------------------------ the pieces used together
test('example: an Action fetches a cached Management API token and reads the IdP refresh token', async () => {
  const mgmt = await startManagementApi({ users: [GOOGLE_USER], clients: [CLIENT] });
  // A miniature Action, written the way a real one would be.
  const action = {
    async onExecutePostLogin(event, api) {
      let token = api.cache.get('mgmt')?.value;
      if (!token) {
        const res = await fetch(`${event.secrets.BASE}/oauth/token`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: 'client_credentials', client_id: event.secrets.ID, client_secret: event.secrets.SECRET, audience: `${event.secrets.BASE}/api/v2/` }),
        });
        const body = await res.json();
        token = body.access_token;
        api.cache.set('mgmt', token, { ttl: (body.expires_in - 60) * 1000 });
      }
      const res = await fetch(`${event.secrets.BASE}/api/v2/users/${encodeURIComponent(event.user.user_id)}`, { headers: { authorization: `Bearer ${token}` } });
      const full = await res.json();
      const rt = full.identities.find((i) => i.connection === event.connection.name)?.refresh_token;
      if (rt) api.user.setAppMetadata('sealed', `sealed(${rt})`);
    },
  };
  try {
    const cache = createCache();
    const secrets = { BASE: mgmt.baseUrl, ID: CLIENT.clientId, SECRET: CLIENT.clientSecret };
    for (const rt of ['1//rt-a', '1//rt-b']) {
      const run = createPostLoginRun({ store: mgmt.store, userId: GOOGLE_USER.user_id, idpTokens: { refresh_token: rt }, secrets, cache });
      await action.onExecutePostLogin(run.event, run.api);
      assert.equal(run.finish().appMetadata.sealed, `sealed(${rt})`);
    }
    assert.equal(mgmt.store.getUser(GOOGLE_USER.user_id).app_metadata.sealed, 'sealed(1//rt-b)');
    assert.deepEqual(mgmt.counts, { token: 1, 'users.get': 2 }, 'the second login reused the cached token');
  } finally {
    await mgmt.close();
  }
});

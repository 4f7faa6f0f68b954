'use strict';
// dist/rule.js end to end in the real @simulacrum/auth0-simulator (see harness.cjs for
// what the simulator does and does not provide). Build first: `node scripts/bundle.mjs`.
// Run: node --test tests/rule-e2e/   (after `npm ci` in tests/rule-e2e/)
//
// The simulator copies the whole user, identities and their tokens included, into the
// id_token. So a rule that does not hand on a sanitized user leaks there, which makes the
// id_token a strict witness: the last test shows the same check failing on a variant of
// the rule whose sanitizing is undone.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startSimulator, startRecorder, wrapRule, DEFAULT_USERS } = require('./harness.cjs');
const tokenseal = require('../../pkg/tokenseal.js');

const RULE = fs.readFileSync(path.join(__dirname, '..', '..', 'dist', 'rule.js'), 'utf8');
const RT = '1//0gE2E-google-refresh-token-not-real-0123456789';
const AT = 'ya29.E2E-google-access-token-not-real-0123456789';
const KEYS = tokenseal.generateKeySet();
const NAMESPACE = 'https://tokenseal.test/';
const CLAIM = `${NAMESPACE}google_offline_access`;
const USER_ID = DEFAULT_USERS[0].id;
const JWE = /eyJ[\w-]*\.\.[\w-]+\.[\w-]+\.[\w-]+/;

const googleIdentities = () => [
  {
    provider: 'google-oauth2',
    user_id: '101234567890123456789',
    connection: 'google-oauth2',
    isSocial: true,
    refresh_token: RT,
    access_token: AT,
    expires_in: 3599,
  },
];

/** Names of the secrets found anywhere in `value` (serialized). */
function leaksIn(value, sealedValues = []) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const found = [];
  if (text.includes(RT)) found.push('refresh token');
  if (text.includes(AT)) found.push('access token');
  if (sealedValues.some((sealed) => text.includes(sealed)) || JWE.test(text)) found.push('sealed value');
  if (JSON.parse(KEYS).keys.some((key) => text.includes(key.k))) found.push('key material');
  return found;
}

/** The assertion helper used on every id_token: no token, no sealed value, no key. */
function assertNoLeaks(value, sealedValues = []) {
  const found = leaksIn(value, sealedValues);
  assert.deepEqual(found, [], `leaked: ${found.join(', ')}`);
}

// A later rule that only passes the user on: what it reports to the recorder is what
// rules after tokenseal see.
const OBSERVER_RULE = `function (user, context, callback) {
  callback(null, user, context);
}`;

// The tokenseal rule with its sanitizing undone, as the old rule behaved: the rule runs
// on a copy of the user, and the original (tokens included) is handed on together with
// the app_metadata that was persisted. Persisting is unchanged.
const UNSANITIZED_RULE = `function (user, context, callback) {
  var realAuth0 = auth0;
  var persisted = null;
  var sealingRule = (function (auth0) {
    return (
${RULE}
    );
  })({ users: { updateAppMetadata: function (id, metadata) { persisted = metadata; return realAuth0.users.updateAppMetadata(id, metadata); } } });
  sealingRule(JSON.parse(JSON.stringify(user)), context, function (error) {
    if (persisted) user.app_metadata = persisted;
    callback(error, user, context);
  });
}`;

// Auth0 loads the stored user before rules run and merges app_metadata into the root of
// the user object (docs "User Object Properties in Rules"). The simulator does neither
// (its users have no app_metadata), so this rule, run first, puts there what a tenant
// migrated from the old "Store Google Refresh Token" rule holds: the plaintext in
// app_metadata.refresh_token and its root mirror user.refresh_token.
const LEGACY_RT = '1//0gE2E-legacy-plaintext-refresh-token-0123456789';
const LEGACY_PROFILE_RULE = `function (user, context, callback) {
  user.app_metadata = { plan: 'pro', refresh_token: '${LEGACY_RT}' };
  user.refresh_token = user.app_metadata.refresh_token;
  user.plan = user.app_metadata.plan;
  callback(null, user, context);
}`;

async function startWith(ruleSource, recorder, configuration, { before = [] } = {}) {
  return startSimulator({
    rules: [
      ...before.map((code, i) => ({ name: `before${i}`, code: wrapRule(code, { recorderUrl: recorder.url }), order: 0 })),
      // textCodecs: false: the simulator's own vm has no TextEncoder/TextDecoder, and the
      // rule must cope without the harness supplying them.
      { name: 'tokenseal', code: wrapRule(ruleSource, { configuration, recorderUrl: recorder.url, textCodecs: false }), order: 1 },
      { name: 'observer', code: wrapRule(OBSERVER_RULE, { recorderUrl: recorder.url }), order: 2 },
    ],
  });
}

describe('dist/rule.js in @simulacrum/auth0-simulator', () => {
  const configuration = { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE };
  let recorder;
  let sim;
  let failUpdates = false;
  before(async () => {
    recorder = await startRecorder({
      respond: (call) => (call.method === 'updateAppMetadata' && failUpdates ? { status: 500, body: { error: 'boom' } } : undefined),
    });
    sim = await startWith(RULE, recorder, configuration);
  });
  after(async () => {
    if (sim) await sim.close();
    if (recorder) await recorder.close();
  });

  it('seals the Google refresh token, and the signed id_token carries neither token nor the sealed value', async () => {
    recorder.calls.length = 0;
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const { payload, protectedHeader } = await sim.verifyIdToken(res.id_token); // RS256, the simulator's JWKS
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, USER_ID);

    const updates = recorder.of('updateAppMetadata');
    assert.equal(updates.length, 1, 'persisted once');
    assert.equal(updates[0].userId, USER_ID);
    const sealed = updates[0].metadata.sealed_refresh_tokens['google-oauth2'];
    assert.deepEqual(updates[0].metadata, { sealed_refresh_tokens: { 'google-oauth2': sealed } });
    assert.equal(tokenseal.open(sealed, KEYS, USER_ID), RT, 'what reached updateAppMetadata opens to the refresh token');
    assert.equal(tokenseal.inspect(sealed).sub, USER_ID);
    assert.deepEqual(leaksIn(updates[0].metadata, []).filter((l) => l !== 'sealed value'), [], 'no plaintext persisted');

    assertNoLeaks(payload, [sealed]);
    assert.deepEqual(payload.identities, [
      { provider: 'google-oauth2', user_id: '101234567890123456789', connection: 'google-oauth2', isSocial: true },
    ]);
    assert.equal(payload[CLAIM], 'stored');

    // Both rules called back without error; the later rule saw no secret either.
    const callbacks = recorder.of('callback');
    assert.equal(callbacks.length, 2);
    for (const cb of callbacks) {
      assert.equal(cb.error, null);
      assertNoLeaks(cb.user, [sealed]);
    }
    // Nothing secret in what the simulator process printed (rule logs included).
    assertNoLeaks(sim.output(), [sealed]);
    assert.doesNotMatch(sim.output(), /tokenseal: ERR_/);
  });

  it('a failed updateAppMetadata: the login goes on sanitized, one ERR_ line, no claim', async () => {
    recorder.calls.length = 0;
    failUpdates = true;
    let res;
    try {
      res = await sim.passwordLogin({ identities: googleIdentities() });
    } finally {
      failUpdates = false;
    }
    const { payload } = await sim.verifyIdToken(res.id_token);
    assertNoLeaks(payload);
    assert.equal(payload[CLAIM], undefined);
    assert.equal(recorder.of('updateAppMetadata').length, 1);
    assert.equal(recorder.of('callback')[0].error, null);
    assert.match(sim.output(), /tokenseal: ERR_MGMT_FAILED/);
    assertNoLeaks(sim.output());
  });

  it('a database user: nothing persisted, no claim, nothing logged', async () => {
    recorder.calls.length = 0;
    const before = sim.output();
    const res = await sim.passwordLogin({ identities: [{ provider: 'auth0', user_id: 'tokenseal-e2e-user', connection: 'Username-Password-Authentication', isSocial: false }] });
    const { payload } = await sim.verifyIdToken(res.id_token);
    assert.deepEqual(payload.identities, [{ provider: 'auth0', user_id: 'tokenseal-e2e-user', connection: 'Username-Password-Authentication', isSocial: false }]);
    assert.equal(payload[CLAIM], undefined);
    assert.equal(recorder.of('updateAppMetadata').length, 0);
    assert.equal(sim.output().slice(before.length).includes('tokenseal:'), false);
  });
});

describe('a user migrated from the old rule: app_metadata and its root mirror hold the plaintext', () => {
  let recorder;
  let sim;
  before(async () => {
    recorder = await startRecorder();
    sim = await startWith(RULE, recorder, { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE }, { before: [LEGACY_PROFILE_RULE] });
  });
  after(async () => {
    if (sim) await sim.close();
    if (recorder) await recorder.close();
  });

  it('the verified id_token carries neither the plaintext (root or app_metadata) nor the sealed value', async () => {
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const { payload } = await sim.verifyIdToken(res.id_token);
    const updates = recorder.of('updateAppMetadata');
    assert.equal(updates.length, 1);
    const sealed = updates[0].metadata.sealed_refresh_tokens['google-oauth2'];
    // The identity's token is sealed; the plaintext is deleted in the same write.
    assert.equal(tokenseal.open(sealed, KEYS, USER_ID), RT);
    assert.equal(updates[0].metadata.refresh_token, null);
    assert.equal(updates[0].metadata.plan, 'pro');

    assertNoLeaks(payload, [sealed]);
    assert.ok(!JSON.stringify(payload).includes(LEGACY_RT), 'no legacy plaintext in the id_token');
    assert.equal(payload.refresh_token, undefined, 'the root mirror is removed');
    assert.equal(payload.sealed_refresh_tokens, undefined);
    assert.deepEqual(payload.app_metadata, { plan: 'pro' });
    assert.equal(payload.plan, 'pro', 'other root members stay');
    // The first callback is the profile rule's own; tokenseal's and the observer's follow.
    const callbacks = recorder.of('callback');
    assert.equal(callbacks.length, 3);
    for (const cb of callbacks.slice(1)) {
      assert.ok(!JSON.stringify(cb.user).includes(LEGACY_RT), 'tokenseal and later rules hand on no plaintext');
    }
    assert.ok(!sim.output().includes(LEGACY_RT));
  });
});

describe('the check fails on a rule that does not sanitize', () => {
  let recorder;
  let sim;
  before(async () => {
    recorder = await startRecorder();
    sim = await startWith(UNSANITIZED_RULE, recorder, { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE });
  });
  after(async () => {
    if (sim) await sim.close();
    if (recorder) await recorder.close();
  });

  it('the same helper reports the tokens and the sealed value in the id_token', async () => {
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const { payload } = await sim.verifyIdToken(res.id_token);
    const updates = recorder.of('updateAppMetadata');
    assert.equal(updates.length, 1);
    const sealed = updates[0].metadata.sealed_refresh_tokens['google-oauth2'];
    assert.equal(tokenseal.open(sealed, KEYS, USER_ID), RT, 'persisting still works: only sanitizing is missing');

    assert.deepEqual(leaksIn(payload, [sealed]), ['refresh token', 'access token', 'sealed value']);
    assert.throws(() => assertNoLeaks(payload, [sealed]), { name: 'AssertionError', message: /leaked: refresh token, access token, sealed value/ });
    assert.equal(payload.identities[0].refresh_token, RT);
    assert.equal(payload.app_metadata.sealed_refresh_tokens['google-oauth2'], sealed);
    // ...and later rules would see them too.
    assert.throws(() => assertNoLeaks(recorder.of('callback').at(-1).user, [sealed]), { name: 'AssertionError' });
  });
});

describe('TOKENSEAL_PROVIDERS: a user with Google, Entra ID and a custom OAuth 2.0 identity', () => {
  const ENTRA_RT = '0.AXEA-e2e-entra-refresh-token-not-real-0123456789';
  const ACME_RT = 'acme-e2e-custom-oauth2-refresh-token-0123456789';
  const OTHER_RT = 'other-e2e-unconfigured-refresh-token-0123456789';
  const identities = () => [
    ...googleIdentities(),
    { provider: 'waad', user_id: 'entra-oid-1', connection: 'contoso', isSocial: false, refresh_token: ENTRA_RT, access_token: 'eyJ0eXAi.entra-access' },
    { provider: 'oauth2', user_id: 'acme-idp|7', connection: 'acme-idp', isSocial: true, refresh_token: ACME_RT, access_token: 'acme-access-token-0123' },
    { provider: 'oauth2', user_id: 'other-idp|8', connection: 'other-idp', isSocial: true, refresh_token: OTHER_RT },
  ];
  let recorder;
  let sim;
  before(async () => {
    recorder = await startRecorder();
    sim = await startWith(RULE, recorder, {
      TOKENSEAL_KEYS: KEYS,
      TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE,
      TOKENSEAL_PROVIDERS: 'google-oauth2, waad, acme-idp',
    });
  });
  after(async () => {
    if (sim) await sim.close();
    if (recorder) await recorder.close();
  });

  it('seals each configured provider under its key, bound to the primary user, and hands on none of them', async () => {
    const res = await sim.passwordLogin({ identities: identities() });
    const { payload } = await sim.verifyIdToken(res.id_token);
    const updates = recorder.of('updateAppMetadata');
    assert.equal(updates.length, 1, 'one write for every provider');
    const map = updates[0].metadata.sealed_refresh_tokens;
    assert.deepEqual(Object.keys(map), ['google-oauth2', 'waad', 'acme-idp'], 'configured providers only');
    for (const [key, token] of [['google-oauth2', RT], ['waad', ENTRA_RT], ['acme-idp', ACME_RT]]) {
      assert.equal(tokenseal.open(map[key], KEYS, USER_ID, key), token, `${key} opens for the primary user`);
      assert.equal(tokenseal.inspect(map[key]).sub, USER_ID);
    }
    const sealed = Object.values(map);
    assertNoLeaks(payload, sealed);
    const text = JSON.stringify(payload) + JSON.stringify(recorder.of('callback')) + sim.output();
    for (const secret of [ENTRA_RT, ACME_RT, OTHER_RT, 'eyJ0eXAi.entra-access', 'acme-access-token-0123']) {
      assert.ok(!text.includes(secret), 'no identity token of any provider is handed on');
    }
    assert.equal(payload[CLAIM], 'stored', 'Google\'s own claim stays');
    assert.deepEqual(payload[`${NAMESPACE}offline_access`], { 'google-oauth2': 'stored', waad: 'stored', 'acme-idp': 'stored' });
    assert.doesNotMatch(sim.output(), /tokenseal: ERR_/);
  });
});

'use strict';
// Proves tests/rule-e2e/harness.cjs with throwaway rules.
// Run: node --test tests/rule-e2e/   (after `npm ci` in tests/rule-e2e/)

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSimulator, startRecorder, wrapRule, DEFAULT_USERS } = require('./harness.cjs');

const RT = '1//0gTEST-google-refresh-token-not-real';
const AT = 'ya29.TEST-google-access-token-not-real';
const googleIdentities = () => [
  {
    provider: 'google-oauth2',
    user_id: '101234567890123456789',
    connection: 'google-oauth2',
    isSocial: true,
    refresh_token: RT,
    access_token: AT,
  },
];

const NOOP_RULE = `function (user, context, callback) {
  callback(null, user, context);
}`;

const SANITIZE_RULE = `function (user, context, callback) {
  user.identities = user.identities.map(i => { const c = { ...i }; delete c.refresh_token; delete c.access_token; return c; });
  callback(null, user, context);
}`;

function assertNoTokens(payload) {
  const text = JSON.stringify(payload);
  assert.ok(!text.includes(RT), 'refresh token must not be in the id_token');
  assert.ok(!text.includes(AT), 'access token must not be in the id_token');
}

describe('control: a rule that does nothing', () => {
  let sim;
  before(async () => {
    sim = await startSimulator({ rules: [{ name: 'noop', code: NOOP_RULE }] });
  });
  after(() => sim && sim.close());

  it('leaks the Google tokens into a validly signed id_token (remote JWKS)', async () => {
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    assert.equal(res.token_type, 'Bearer');
    const { payload, protectedHeader } = await sim.verifyIdToken(res.id_token);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.iss, sim.issuer);
    assert.equal(payload.aud, sim.clientId);
    assert.equal(payload.sub, DEFAULT_USERS[0].id);
    assert.equal(payload.identities[0].refresh_token, RT);
    assert.equal(payload.identities[0].access_token, AT);
  });

  it('verifies the same way with a local JWKS fetched from the simulator', async () => {
    const jose = await import('jose');
    const jwks = await sim.jwks();
    assert.equal(jwks.keys[0].kty, 'RSA');
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const { payload } = await jose.jwtVerify(res.id_token, jose.createLocalJWKSet(jwks), {
      issuer: sim.issuer,
      audience: sim.clientId,
    });
    assert.equal(payload.identities[0].refresh_token, RT);
    // A token signed by another key is rejected: the check is real.
    const { privateKey } = await jose.generateKeyPair('RS256');
    const forged = await new jose.SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: jwks.keys[0].kid })
      .setIssuer(sim.issuer)
      .setAudience(sim.clientId)
      .sign(privateKey);
    await assert.rejects(jose.jwtVerify(forged, jose.createLocalJWKSet(jwks)), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('rejects a wrong password with 401', async () => {
    await assert.rejects(sim.passwordLogin({ password: 'wrong' }), { status: 401 });
  });
});

describe('a rule that assigns sanitized copies', () => {
  let sim;
  before(async () => {
    sim = await startSimulator({ rules: [{ name: 'sanitize', code: SANITIZE_RULE }] });
  });
  after(() => sim && sim.close());

  it('keeps both tokens out of the id_token, other identity fields stay', async () => {
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const { payload } = await sim.verifyIdToken(res.id_token);
    assertNoTokens(payload);
    assert.deepEqual(payload.identities, [
      { provider: 'google-oauth2', user_id: '101234567890123456789', connection: 'google-oauth2', isSocial: true },
    ]);
  });
});

describe('simulator facts the harness relies on', () => {
  let sim;
  const PROBE = `function (user, context, callback) {
    globalThis.__runs = (globalThis.__runs || 0) + 1;
    context.idToken['https://probe/env'] = {
      require: typeof require,
      util: typeof require === 'function' && typeof require('util').TextEncoder,
      global: typeof global,
      globalThis: typeof globalThis,
      TextEncoder: typeof TextEncoder,
      TextDecoder: typeof TextDecoder,
      crypto: typeof crypto,
      configuration: typeof configuration,
      auth0: typeof auth0,
      runs: globalThis.__runs,
      userKeys: Object.keys(user).sort(),
      identitiesFrozen: Object.isFrozen(user.identities) && user.identities.every(Object.isFrozen),
    };
    // Replacing context.idToken or handing a new user to callback is ignored;
    // callback(err) does not deny the login.
    context.idToken = { replaced: true };
    callback(new Error('denied?'), { replaced: true }, context);
  }`;
  before(async () => {
    sim = await startSimulator({ rules: [{ name: 'probe', code: PROBE }] });
  });
  after(() => sim && sim.close());

  it('runs rules in a bare vm: require yes; global, configuration, auth0, TextEncoder no', async () => {
    const first = (await sim.verifyIdToken((await sim.passwordLogin({ identities: [] })).id_token)).payload;
    const second = (await sim.verifyIdToken((await sim.passwordLogin({ identities: [] })).id_token)).payload;
    const env = first['https://probe/env'];
    assert.deepEqual(
      { ...env, userKeys: undefined },
      {
        require: 'function',
        util: 'function',
        global: 'undefined',
        globalThis: 'object',
        TextEncoder: 'undefined',
        TextDecoder: 'undefined',
        crypto: 'undefined',
        configuration: 'undefined',
        auth0: 'undefined',
        runs: 1,
        userKeys: undefined,
        identitiesFrozen: true,
      },
    );
    assert.deepEqual(env.userKeys, ['email', 'email_verified', 'identities', 'name', 'nickname', 'picture', 'user_id']);
    assert.equal(second['https://probe/env'].runs, 1, 'a fresh vm context per run: nothing persists on globalThis');
    assert.equal(first.replaced, undefined);
    assert.equal(first.sub, DEFAULT_USERS[0].id);
  });
});

describe('identities are frozen: in-place sanitizing does not work', () => {
  const SLOPPY_IN_PLACE = `function (user, context, callback) {
  user.identities.forEach(i => { delete i.refresh_token; delete i.access_token; });
  callback(null, user, context);
}`;
  const STRICT_IN_PLACE = `function (user, context, callback) {
  'use strict';
  user.identities.forEach(i => { delete i.refresh_token; });
  callback(null, user, context);
}`;
  let sim;
  before(async () => {
    sim = await startSimulator({
      rules: [
        { name: 'a-sloppy', code: SLOPPY_IN_PLACE, order: 1 },
        { name: 'b-strict', code: STRICT_IN_PLACE, order: 2 },
      ],
    });
  });
  after(() => sim && sim.close());

  it('silently keeps the tokens (sloppy) and throws TypeError (strict), yet the login succeeds', async () => {
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const { payload } = await sim.verifyIdToken(res.id_token);
    assert.equal(payload.identities[0].refresh_token, RT);
    assert.equal(payload.identities[0].access_token, AT);
    assert.match(sim.output(), /TypeError: Cannot delete property 'refresh_token'/);
  });
});

describe('wrapRule: an unchanged Auth0 rule with configuration, auth0 and a recorder', () => {
  // Written the way Auth0 stores a rule; it uses configuration, auth0,
  // TextEncoder/TextDecoder and a promise from updateAppMetadata.
  const STORE_RULE = `function (user, context, callback) {
  const google = (user.identities || []).find(i => i.provider === 'google-oauth2');
  if (!google || !google.refresh_token) return callback(null, user, context);
  const bytes = new TextEncoder().encode(configuration.PREFIX + google.refresh_token);
  const roundTrip = new TextDecoder().decode(bytes);
  user.app_metadata = user.app_metadata || {};
  user.app_metadata.stored = Buffer.from(bytes).toString('base64');
  user.app_metadata.length = roundTrip.length;
  user.identities = user.identities.map(i => { const c = { ...i }; delete c.refresh_token; delete c.access_token; return c; });
  auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
    .then(function () { callback(null, user, context); })
    .catch(function (err) { callback(err); });
}`;
  const configuration = { PREFIX: 'sealed:' };
  let recorder;
  let sim;
  let failNext = false;
  before(async () => {
    recorder = await startRecorder({
      respond: (call) => (call.method === 'updateAppMetadata' && failNext ? { status: 500, body: { error: 'boom' } } : undefined),
    });
    sim = await startSimulator({
      rules: [{ name: 'store', code: wrapRule(STORE_RULE, { configuration, recorderUrl: recorder.url }) }],
    });
  });
  after(async () => {
    if (sim) await sim.close();
    if (recorder) await recorder.close();
  });

  it('lets the test observe what reached auth0.users.updateAppMetadata', async () => {
    recorder.calls.length = 0;
    const res = await sim.passwordLogin({ identities: googleIdentities() });
    const updates = recorder.of('updateAppMetadata');
    assert.equal(updates.length, 1);
    assert.equal(updates[0].userId, DEFAULT_USERS[0].id);
    assert.deepEqual(updates[0].metadata, {
      stored: Buffer.from(`sealed:${RT}`).toString('base64'),
      length: `sealed:${RT}`.length,
    });
    // The rule called back only after the update resolved, without error.
    assert.deepEqual(recorder.calls.map((c) => c.method), ['updateAppMetadata', 'callback']);
    assert.equal(recorder.of('callback')[0].error, null);
    const { payload } = await sim.verifyIdToken(res.id_token);
    assertNoTokens(payload);
    assert.equal(payload.app_metadata.length, `sealed:${RT}`.length);
  });

  it('reports a rejected updateAppMetadata through the callback error', async () => {
    recorder.calls.length = 0;
    failNext = true;
    try {
      // The simulator itself ignores callback(err): the login still succeeds.
      await sim.passwordLogin({ identities: googleIdentities() });
    } finally {
      failNext = false;
    }
    assert.equal(recorder.of('updateAppMetadata').length, 1);
    assert.match(recorder.of('callback')[0].error, /recorder answered 500/);
  });

  it('does not call updateAppMetadata without a Google refresh token', async () => {
    recorder.calls.length = 0;
    await sim.passwordLogin({ identities: [{ provider: 'auth0', user_id: 'x' }] });
    assert.equal(recorder.of('updateAppMetadata').length, 0);
    assert.equal(recorder.of('callback').length, 1);
  });
});

describe('wrapRule options', () => {
  const ENV_RULE = `function (user, context, callback) {
  context.idToken['https://probe/env'] = {
    TextEncoder: typeof TextEncoder, TextDecoder: typeof TextDecoder,
    global: typeof global, configuration: typeof configuration, auth0: typeof auth0,
  };
  callback(null, user, context);
}`;
  const IN_PLACE_RULE = `function (user, context, callback) {
  user.identities.forEach(i => { delete i.refresh_token; delete i.access_token; });
  callback(null, user, context);
}`;
  const NEW_USER_RULE = `function (user, context, callback) {
  const clean = { ...user, identities: user.identities.map(i => ({ provider: i.provider, user_id: i.user_id })) };
  callback(null, clean, context);
}`;

  async function loginWith(code) {
    const sim = await startSimulator({ rules: [{ name: 'r', code }] });
    try {
      const res = await sim.passwordLogin({ identities: googleIdentities() });
      return (await sim.verifyIdToken(res.id_token)).payload;
    } finally {
      await sim.close();
    }
  }

  it('supplies global/configuration/auth0 always and TextEncoder/TextDecoder unless textCodecs is false', async () => {
    const on = (await loginWith(wrapRule(ENV_RULE)))['https://probe/env'];
    assert.deepEqual(on, { TextEncoder: 'function', TextDecoder: 'function', global: 'object', configuration: 'object', auth0: 'object' });
    const off = (await loginWith(wrapRule(ENV_RULE, { textCodecs: false })))['https://probe/env'];
    assert.equal(off.TextEncoder, 'undefined');
    assert.equal(off.TextDecoder, 'undefined');
  });

  it('adopts the user handed to callback, which the bare simulator ignores', async () => {
    const bare = await loginWith(NEW_USER_RULE);
    assert.equal(bare.identities[0].refresh_token, RT, 'bare simulator keeps its own user object');
    assertNoTokens(await loginWith(wrapRule(NEW_USER_RULE)));
    const notAdopted = await loginWith(wrapRule(NEW_USER_RULE, { adoptCallbackUser: false }));
    assert.equal(notAdopted.identities[0].refresh_token, RT);
  });
});

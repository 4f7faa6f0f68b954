'use strict';
// Unit tests of dist/rule.js itself (build it first: `node scripts/bundle.mjs`).
// Run: node --test tests/rule/
//
// The file is compiled the way Auth0 compiles a rule: its text is evaluated as one
// expression in a fresh vm context that holds what a rule container provides
// (configuration, auth0, require, console, process, Buffer, timers, and `global`, the
// context's own global object) and lacks what the simulator and old runners lack
// (TextEncoder/TextDecoder, crypto). Google identities are deep-frozen, as the
// auth0-simulator hands them in, so the rule must assign copies.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { builtinModules } = require('node:module');
const tokenseal = require('../../pkg/tokenseal.js');

const RULE_PATH = path.join(__dirname, '..', '..', 'dist', 'rule.js');
const RULE = fs.readFileSync(RULE_PATH, 'utf8');

const RT = '1//0gRULE-TEST-google-refresh-token-not-real';
const RT_NEW = '1//0gRULE-TEST-second-refresh-token-not-real';
const LEGACY_RT = '1//0gRULE-TEST-legacy-plaintext-token-not-real';
const AT = 'ya29.RULE-TEST-google-access-token-not-real';
const IDP_ID_TOKEN = 'eyJRULE-TEST-google-id-token.not.real';
const AT_SECRET = 'RULE-TEST-access-token-secret';
const KEYS = tokenseal.generateKeySet();
const OTHER_KEYS = tokenseal.generateKeySet();
const NAMESPACE = 'https://app.example.com/';
const CLAIM = `${NAMESPACE}google_offline_access`;
const GOOGLE_ID = 'google-oauth2|101234567890123456789';

function deepFreeze(value) {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function googleIdentity(extra = {}) {
  return deepFreeze({
    provider: 'google-oauth2',
    user_id: '101234567890123456789',
    connection: 'google-oauth2',
    isSocial: true,
    access_token: AT,
    expires_in: 3599,
    ...extra,
  });
}

function googleUser({ refreshToken = RT, appMetadata = { plan: 'pro' }, identityExtra = {} } = {}) {
  const identity = googleIdentity(refreshToken ? { refresh_token: refreshToken, ...identityExtra } : identityExtra);
  return {
    user_id: GOOGLE_ID,
    email: 'ada@example.com',
    name: 'Ada',
    identities: deepFreeze([identity]),
    ...(appMetadata === undefined ? {} : { app_metadata: appMetadata }),
    user_metadata: { theme: 'dark' },
  };
}

/** An Auth0-like auth0 object whose updateAppMetadata records calls and answers as told. */
function fakeAuth0(answer = () => Promise.resolve()) {
  const calls = [];
  return {
    calls,
    auth0: {
      domain: 'tenant.example.com',
      users: {
        updateAppMetadata(userId, metadata) {
          calls.push({ userId, metadata: JSON.parse(JSON.stringify(metadata)) });
          return answer(userId, metadata);
        },
      },
    },
  };
}

/**
 * A rule container: a vm context with the rule compiled from the text of dist/rule.js.
 * Returns { run(user, context), logs, required, context }.
 */
function container(options = {}) {
  const { configuration = { TOKENSEAL_KEYS: KEYS }, webAssembly = true, extra = {} } = options;
  // auth0: undefined means a runner without an auth0 object.
  const auth0 = 'auth0' in options ? options.auth0 : fakeAuth0().auth0;
  const logs = [];
  const required = [];
  const record = (...args) => logs.push(args.map(String).join(' '));
  const sandbox = {
    configuration,
    ...(auth0 === undefined ? {} : { auth0 }),
    require(name) {
      required.push(name);
      if (!builtinModules.includes(String(name).replace(/^node:/, ''))) throw new Error(`not a built-in: ${name}`);
      return require(name);
    },
    console: { log: record, info: record, warn: record, error: record, debug: record },
    process,
    Buffer,
    setTimeout,
    clearTimeout,
    setImmediate,
    clearImmediate,
    ...extra,
  };
  const context = vm.createContext(sandbox);
  vm.runInContext('globalThis.global = globalThis;', context);
  if (!webAssembly) vm.runInContext('delete globalThis.WebAssembly;', context);
  // As Auth0 does: the stored text is one function expression.
  const rule = new vm.Script(`(${RULE}\n)`, { filename: 'dist/rule.js' }).runInContext(context);
  assert.equal(typeof rule, 'function');
  return {
    logs,
    required,
    context,
    /** Runs the rule once; resolves with what it handed to callback. */
    run(user, ruleContext = { clientID: 'app', idToken: {}, accessToken: {} }) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the rule never called back')), 5_000);
        let calls = 0;
        rule(user, ruleContext, (...args) => {
          calls += 1;
          clearTimeout(timer);
          setImmediate(() => {
            if (calls !== 1) reject(new Error(`callback called ${calls} times`));
            else resolve({ args, error: args[0], user: args[1], context: args[2], ruleUser: user, ruleContext });
          });
        });
      });
    },
  };
}

const SECRET_IDENTITY_FIELDS = ['access_token', 'refresh_token', 'access_token_secret', 'id_token', 'expires_in'];

/**
 * The secret scan: nothing the rule hands on (the user it passes on, the user object it
 * was given, context.idToken, every callback argument) nor anything it logged may hold a
 * token, a sealed value or key material.
 */
function assertNothingLeaks(result, logs, extraSecrets = []) {
  const keyMaterial = [KEYS, OTHER_KEYS].flatMap((set) => JSON.parse(set).keys.map((k) => k.k));
  const secrets = [RT, RT_NEW, LEGACY_RT, AT, IDP_ID_TOKEN, AT_SECRET, ...keyMaterial, ...extraSecrets];
  const handedOn = {
    args: result.args.map((arg) => (arg instanceof Error ? { message: arg.message, stack: arg.stack, code: arg.code } : arg)),
    ruleUser: result.ruleUser,
    idToken: result.ruleContext.idToken,
    logs,
  };
  const text = JSON.stringify(handedOn);
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret was handed on or logged: ${secret.slice(0, 12)}...`);
  assert.doesNotMatch(text, /eyJ[\w-]*\.\.[\w-]+\.[\w-]+\.[\w-]+/, 'no sealed value (compact dir JWE) is handed on');
  for (const user of [result.ruleUser, result.user].filter(Boolean)) {
    for (const identity of user.identities || []) {
      for (const field of SECRET_IDENTITY_FIELDS) assert.equal(identity[field], undefined, `identity.${field} is handed on`);
    }
    if (user.app_metadata) {
      assert.equal(user.app_metadata.refresh_token, undefined);
      assert.equal(user.app_metadata.sealed_refresh_tokens, undefined);
    }
  }
}

/** A copy made in this realm: objects built in the vm have another Object.prototype. */
function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function sealedOf(metadata) {
  return metadata.sealed_refresh_tokens['google-oauth2'];
}

describe('dist/rule.js as a file', () => {
  it('is exactly one function expression (user, context, callback), at most 100,000 bytes', () => {
    assert.ok(RULE.startsWith('function (user, context, callback) {'));
    assert.ok(RULE.endsWith('}\n'));
    assert.ok(Buffer.byteLength(RULE) <= 100_000, `${Buffer.byteLength(RULE)} bytes`);
    const compiled = new Function(`return (${RULE})`)();
    assert.equal(typeof compiled, 'function');
    assert.equal(compiled.length, 3);
    // Not a program with other statements around the function: as a statement it is an
    // anonymous function declaration, which does not parse.
    assert.throws(() => new vm.Script(RULE), SyntaxError);
  });

  it('requires nothing but Node built-ins', () => {
    const names = [...RULE.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
    assert.ok(names.length > 0);
    for (const name of names) assert.ok(builtinModules.includes(name.replace(/^node:/, '')), name);
  });

  it('runs where TextEncoder/TextDecoder, crypto and fetch are missing', () => {
    const box = container();
    assert.equal(vm.runInContext('typeof TextEncoder + typeof TextDecoder + typeof crypto', box.context), 'undefinedundefinedundefined');
  });
});

describe('logins', () => {
  it('first login: seals the refresh token, persists once, hands on a sanitized user and the claim', async () => {
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
    const user = googleUser({ identityExtra: { id_token: IDP_ID_TOKEN, access_token_secret: AT_SECRET } });
    const originalIdentity = user.identities[0];
    const result = await box.run(user);

    assert.equal(result.error, null);
    assert.equal(result.user, user, 'the same user object is handed on');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].userId, GOOGLE_ID);
    const sealed = sealedOf(calls[0].metadata);
    assert.equal(tokenseal.open(sealed, KEYS, GOOGLE_ID), RT);
    assert.deepEqual(calls[0].metadata, { plan: 'pro', sealed_refresh_tokens: { 'google-oauth2': sealed } });
    assert.ok(!JSON.stringify(calls[0].metadata).includes(RT), 'never persists plaintext');

    assert.deepEqual(plain(result.user.identities), [
      { provider: 'google-oauth2', user_id: '101234567890123456789', connection: 'google-oauth2', isSocial: true },
    ]);
    assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro' });
    assert.deepEqual(plain(result.user.user_metadata), { theme: 'dark' });
    assert.equal(result.user.email, 'ada@example.com');
    assert.equal(result.context.idToken[CLAIM], 'stored');
    // The frozen original was not touched: a copy was assigned.
    assert.equal(originalIdentity.refresh_token, RT);
    assert.notEqual(result.user.identities[0], originalIdentity);
    assert.deepEqual(box.logs, []);
    assertNothingLeaks(result, box.logs, [sealed]);
  });

  it('text that is not ASCII crosses into the core intact: the sub, member names and values', async () => {
    // Strings are copied into the module by scripts/glue.mjs's native copy; the user's
    // member names cross as the shape the core plans removals from.
    const id = 'ü中😀-101234567890123456789';
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0 });
    const user = {
      ...googleUser({ appMetadata: { plan: 'pro', 'präferenz 中文 😀': 'dünn' } }),
      user_id: `google-oauth2|${id}`,
      identities: deepFreeze([googleIdentity({ user_id: id, refresh_token: RT })]),
      'name 名前': 'Ada 😀',
    };
    const result = await box.run(user);
    assert.equal(result.error, null);
    assert.equal(calls.length, 1);
    const sealed = sealedOf(calls[0].metadata);
    const header = JSON.parse(Buffer.from(sealed.split('.')[0], 'base64url').toString('utf8'));
    assert.equal(header.sub, user.user_id);
    assert.equal(tokenseal.open(sealed, KEYS, user.user_id), RT);
    assert.equal(calls[0].metadata['präferenz 中文 😀'], 'dünn');
    assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro', 'präferenz 中文 😀': 'dünn' });
    assert.equal(result.user['name 名前'], 'Ada 😀');
    assert.equal(result.user.identities[0].refresh_token, undefined);
    assertNothingLeaks(result, box.logs, [sealed]);
  });

  it('returning login: the stored value opens, nothing is persisted, the claim says stored', async () => {
    const sealed = tokenseal.seal(RT, KEYS, GOOGLE_ID);
    for (const refreshToken of [null, RT]) {
      const { auth0, calls } = fakeAuth0();
      const box = container({ auth0, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
      const result = await box.run(googleUser({ refreshToken, appMetadata: { plan: 'pro', sealed_refresh_tokens: { 'google-oauth2': sealed } } }));
      assert.equal(result.error, null);
      assert.equal(calls.length, 0, `nothing persisted (identity token: ${refreshToken ? 'same' : 'none'})`);
      assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro' });
      assert.equal(result.context.idToken[CLAIM], 'stored');
      assert.deepEqual(box.logs, []);
      assertNothingLeaks(result, box.logs, [sealed]);
    }
  });

  it('a new refresh token replaces the stored one; other providers\' sealed values are kept', async () => {
    // The stored value as an earlier Rule login left it: captured from RT.
    const first = fakeAuth0();
    await container({ auth0: first.auth0 }).run(googleUser({ refreshToken: RT }));
    const old = sealedOf(first.calls[0].metadata);
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0 });
    const result = await box.run(googleUser({ refreshToken: RT_NEW, appMetadata: { sealed_refresh_tokens: { 'google-oauth2': old, other: 'kept' } } }));
    assert.equal(calls.length, 1);
    assert.equal(tokenseal.open(sealedOf(calls[0].metadata), KEYS, GOOGLE_ID), RT_NEW);
    assert.equal(calls[0].metadata.sealed_refresh_tokens.other, 'kept');
    assertNothingLeaks(result, box.logs, [old, sealedOf(calls[0].metadata)]);
  });

  it('a stale identity copy never replaces the token a backend rotated; a new consent token does', async () => {
    const first = fakeAuth0();
    await container({ auth0: first.auth0 }).run(googleUser({ refreshToken: RT }));
    const captured = sealedOf(first.calls[0].metadata);
    // The backend refreshed and the provider rotated RT to RT_ROTATED; Auth0 still has RT.
    const RT_ROTATED = '1//0g-rotated-by-the-backend-0123456789';
    const rotated = tokenseal.sealRotated(RT_ROTATED, captured, KEYS, GOOGLE_ID);
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0 });
    const result = await box.run(googleUser({ refreshToken: RT, appMetadata: { sealed_refresh_tokens: { 'google-oauth2': rotated } } }));
    assert.equal(calls.length, 0, 'nothing written: the rotated token is newer than Auth0\'s copy');
    assert.deepEqual(box.logs, []);
    assertNothingLeaks(result, box.logs, [rotated]);
    // A consent login that brought a new token replaces it.
    const again = fakeAuth0();
    const consent = container({ auth0: again.auth0 });
    await consent.run(googleUser({ refreshToken: RT_NEW, appMetadata: { sealed_refresh_tokens: { 'google-oauth2': rotated } } }),
      { request: { query: { prompt: 'consent' } } });
    assert.equal(tokenseal.open(sealedOf(again.calls[0].metadata), KEYS, GOOGLE_ID), RT_NEW);
  });

  it('the fallback removal lists are the core\'s (src/sanitize.rs)', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'sanitize.rs'), 'utf8');
    const list = (name) => JSON.parse(`[${source.match(new RegExp(`pub const ${name}: &\\[&str\\] = &\\[([^\\]]*)\\]`))[1].trim().replace(/,$/, '')}]`);
    const rule = fs.readFileSync(path.join(__dirname, '..', '..', 'rules', 'rule.js'), 'utf8');
    const js = (name) => JSON.parse(rule.match(new RegExp(`const ${name} = (\\[[^\\]]*\\])`))[1].replace(/'/g, '"').replace(/\s+/g, ' '));
    assert.deepEqual(js('TOKENSEAL_IDENTITY_SECRETS'), list('IDENTITY_SECRET_FIELDS'));
    assert.deepEqual(js('TOKENSEAL_APP_METADATA_SECRETS'), list('APP_METADATA_SECRET_FIELDS'));
    assert.deepEqual(new Set(js('TOKENSEAL_ROOT_SECRETS')), new Set([...list('ROOT_SECRET_FIELDS'), ...list('APP_METADATA_SECRET_FIELDS')]));
  });

  it('legacy plaintext: sealed and deleted (null) in the same single write, other keys kept', async () => {
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
    const result = await box.run(googleUser({ refreshToken: null, appMetadata: { plan: 'pro', refresh_token: LEGACY_RT } }));
    assert.equal(result.error, null);
    assert.equal(calls.length, 1);
    const sealed = sealedOf(calls[0].metadata);
    assert.equal(tokenseal.open(sealed, KEYS, GOOGLE_ID), LEGACY_RT);
    assert.deepEqual(calls[0].metadata, { plan: 'pro', refresh_token: null, sealed_refresh_tokens: { 'google-oauth2': sealed } });
    assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro' });
    assert.equal(result.context.idToken[CLAIM], 'stored');
    assertNothingLeaks(result, box.logs, [sealed]);
  });

  it('a database user: nothing persisted, no claim, nothing logged, the user handed on unchanged', async () => {
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
    const user = {
      user_id: 'auth0|5f1c0ffee',
      email: 'bob@example.com',
      identities: deepFreeze([{ provider: 'auth0', user_id: '5f1c0ffee', connection: 'Username-Password-Authentication', isSocial: false }]),
      app_metadata: { roles: ['admin'] },
    };
    const before = JSON.parse(JSON.stringify(user));
    const result = await box.run(user);
    assert.equal(result.error, null);
    assert.equal(calls.length, 0);
    assert.deepEqual(JSON.parse(JSON.stringify(result.user)), before);
    assert.deepEqual(plain(result.context.idToken), {});
    assert.deepEqual(box.logs, []);
    assertNothingLeaks(result, box.logs);
  });

  it('members nothing is removed from are handed on as the same objects, never serialized to compare', async () => {
    const box = container();
    const metadata = { theme: 'dark' };
    const user = { ...googleUser(), user_metadata: metadata };
    const identitiesBefore = user.identities;
    // A member that cannot be serialized: comparing by JSON would throw on it.
    user.user_metadata.cycle = user.user_metadata;
    const result = await box.run(user);
    assert.equal(result.error, null);
    assert.deepEqual(box.logs, []);
    assert.ok(result.user.user_metadata === metadata, 'the same user_metadata object');
    assert.ok(result.user.identities !== identitiesBefore, 'identities with tokens are replaced by clean copies');
    assert.ok(!('refresh_token' in result.user.identities[0]));
  });

  it('a stored value that does not open is never overwritten without a fresh token (and never leaked)', async () => {
    const foreign = tokenseal.seal(RT, OTHER_KEYS, GOOGLE_ID); // retired key
    const otherUsers = tokenseal.seal(RT, KEYS, 'google-oauth2|someone-else');
    for (const [stored, code] of [[foreign, 'ERR_KEY_UNKNOWN'], [otherUsers, 'ERR_SUBJECT_MISMATCH']]) {
      const { auth0, calls } = fakeAuth0();
      const box = container({ auth0, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
      const result = await box.run(googleUser({ refreshToken: null, appMetadata: { sealed_refresh_tokens: { 'google-oauth2': stored } } }));
      assert.equal(result.error, null);
      assert.equal(calls.length, 0);
      assert.equal(result.context.idToken[CLAIM], 'missing');
      assert.deepEqual(box.logs, [`tokenseal: ${code}`]);
      assertNothingLeaks(result, box.logs, [stored]);
    }
  });

  it('an invalid claim namespace: no claim, one notice, the login goes on', async () => {
    const box = container({ configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: 'https://tenant.auth0.com/' } });
    const result = await box.run(googleUser());
    assert.equal(result.error, null);
    assert.deepEqual(plain(result.context.idToken), {});
    assert.deepEqual(box.logs, ['tokenseal: ERR_NAMESPACE_INVALID']);
    assertNothingLeaks(result, box.logs);
  });
});

describe('errors', () => {
  it('bad keys: logs the code (no key material), persists nothing, still sanitizes, goes on', async () => {
    const badLength = JSON.stringify({ keys: [{ kty: 'oct', kid: 'k1', alg: 'A256GCM', k: JSON.parse(KEYS).keys[0].k.slice(0, 20) }] });
    for (const [keys, code] of [[undefined, 'ERR_KEYSET_JSON'], ['not json', 'ERR_KEYSET_JSON'], ['{"keys":[]}', 'ERR_KEYSET_EMPTY'], [badLength, 'ERR_KEY_LENGTH']]) {
      const { auth0, calls } = fakeAuth0();
      const box = container({ auth0, configuration: { TOKENSEAL_KEYS: keys, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
      const result = await box.run(googleUser({ appMetadata: { plan: 'pro', refresh_token: LEGACY_RT, sealed_refresh_tokens: { 'google-oauth2': 'eyJx..a.b.c' } } }));
      assert.equal(result.error, null);
      assert.equal(result.user, result.ruleUser);
      assert.equal(calls.length, 0);
      assert.deepEqual(box.logs, [`tokenseal: ${code}`]);
      assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro' });
      assert.deepEqual(plain(result.context.idToken), {}, 'no claim without a plan');
      assertNothingLeaks(result, box.logs, [JSON.parse(KEYS).keys[0].k.slice(0, 20)]);
    }
  });

  it('updateAppMetadata rejects (or throws, or auth0 is missing): ERR_MGMT_FAILED, sanitized, no claim', async () => {
    const hostile = () => Promise.reject(new Error(`Bad request: ${RT}`)); // an error that echoes its input
    const throwing = () => {
      throw new Error(`sync ${RT}`);
    };
    for (const auth0 of [fakeAuth0(hostile).auth0, fakeAuth0(throwing).auth0, undefined]) {
      const box = container({ auth0, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
      const result = await box.run(googleUser());
      assert.equal(result.error, null);
      assert.equal(result.user, result.ruleUser);
      assert.deepEqual(box.logs, ['tokenseal: ERR_MGMT_FAILED']);
      assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro' });
      assert.equal(result.context.idToken[CLAIM], undefined, 'the plan\'s "stored" is not claimed when its write failed');
      assertNothingLeaks(result, box.logs);
    }
  });

  it('no WebAssembly: the fallback strips every token field by assigning copies, persists nothing', async () => {
    const { auth0, calls } = fakeAuth0();
    const box = container({ auth0, webAssembly: false, configuration: { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE } });
    const sealed = tokenseal.seal(RT, KEYS, GOOGLE_ID);
    const user = googleUser({
      identityExtra: { id_token: IDP_ID_TOKEN, access_token_secret: AT_SECRET },
      appMetadata: { plan: 'pro', refresh_token: LEGACY_RT, sealed_refresh_tokens: { 'google-oauth2': sealed } },
    });
    user.identities = deepFreeze([...user.identities, { provider: 'auth0', user_id: 'x', refresh_token: RT_NEW }]);
    const result = await box.run(user);
    assert.equal(result.error, null);
    assert.equal(calls.length, 0);
    assert.deepEqual(box.logs, ['tokenseal: ERR_WASM_UNAVAILABLE']);
    assert.deepEqual(plain(result.user.identities), [
      { provider: 'google-oauth2', user_id: '101234567890123456789', connection: 'google-oauth2', isSocial: true },
      { provider: 'auth0', user_id: 'x' },
    ]);
    assert.deepEqual(plain(result.user.app_metadata), { plan: 'pro' });
    assert.deepEqual(plain(result.user.user_metadata), { theme: 'dark' });
    assert.deepEqual(plain(result.context.idToken), {});
    assertNothingLeaks(result, box.logs, [sealed]);
  });

  it('the fallback and the core sanitize the same way', async () => {
    const user = () => googleUser({
      identityExtra: { id_token: IDP_ID_TOKEN, access_token_secret: AT_SECRET, expires_at: 1, profileData: { a: 1 } },
      appMetadata: { plan: 'pro', refresh_token: LEGACY_RT, sealed_refresh_tokens: {} },
    });
    const withCore = await container({ configuration: { TOKENSEAL_KEYS: 'bad' } }).run(user());
    const withoutCore = await container({ webAssembly: false }).run(user());
    const normalize = (u) => JSON.parse(JSON.stringify(u, (k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v)));
    assert.deepEqual(normalize(withoutCore.user), normalize(withCore.user));
    assert.deepEqual(normalize(withCore.user), normalize(tokenseal.sanitize(user())));
  });
});

describe('deny mode (TOKENSEAL_ON_ERROR=deny)', () => {
  const deny = (extra = {}) => ({ TOKENSEAL_KEYS: KEYS, TOKENSEAL_ON_ERROR: 'deny', TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE, ...extra });

  it('bad keys, a failed write, no WebAssembly: callback(error) with the code only, user still sanitized', async () => {
    const cases = [
      [{ configuration: deny({ TOKENSEAL_KEYS: 'nope' }) }, 'ERR_KEYSET_JSON'],
      [{ configuration: deny(), auth0: fakeAuth0(() => Promise.reject(new Error(RT))).auth0 }, 'ERR_MGMT_FAILED'],
      [{ configuration: deny(), webAssembly: false }, 'ERR_WASM_UNAVAILABLE'],
      // "deny" as pasted into the dashboard, with a newline, with and without the core.
      [{ configuration: deny({ TOKENSEAL_ON_ERROR: 'deny\n' }), webAssembly: false }, 'ERR_WASM_UNAVAILABLE'],
      [{ configuration: deny({ TOKENSEAL_ON_ERROR: ' deny\r\n', TOKENSEAL_KEYS: 'nope' }) }, 'ERR_KEYSET_JSON'],
    ];
    for (const [options, code] of cases) {
      const box = container(options);
      const result = await box.run(googleUser({ appMetadata: { refresh_token: LEGACY_RT } }));
      assert.ok(result.error instanceof Error || (result.error && result.error.constructor.name === 'Error'), code);
      assert.equal(result.error.message, `tokenseal: ${code}`);
      assert.equal(result.args.length, 1, 'only the error is passed');
      assert.deepEqual(box.logs, [`tokenseal: ${code}`]);
      assertNothingLeaks(result, box.logs);
    }
  });

  it('a write that never settles: called back after the core\'s budget, ERR_MGMT_TIMEOUT, no claim', async () => {
    // The container's timers are replaced so that the budget can be run out at once;
    // its length is what the core says (src/calls.rs CALL_BUDGET_MS).
    for (const configuration of [{ TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE }, deny()]) {
      const timers = [];
      let settle = null;
      const auth0 = { users: { updateAppMetadata: () => new Promise((resolve) => { settle = resolve; }) } };
      const extra = {
        setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
        clearTimeout: () => {},
      };
      const box = container({ auth0, configuration, extra });
      const running = box.run(googleUser());
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(timers.map((t) => t.ms), [10_000]);
      timers[0].fn();
      const result = await running;
      assert.deepEqual(box.logs, ['tokenseal: ERR_MGMT_TIMEOUT']);
      if (configuration.TOKENSEAL_ON_ERROR === 'deny') {
        assert.equal(result.error.message, 'tokenseal: ERR_MGMT_TIMEOUT');
      } else {
        assert.equal(result.error, null);
        assert.equal(result.context.idToken[CLAIM], undefined, 'no claim: the write may not have happened');
        assert.equal(result.user.identities[0].refresh_token, undefined, 'handed on sanitized');
      }
      // The write settling later finishes nothing a second time (it would log again).
      settle();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(box.logs, ['tokenseal: ERR_MGMT_TIMEOUT']);
      assertNothingLeaks(result, box.logs);
    }
  });

  it('uses Auth0\'s UnauthorizedError where the runner provides it', async () => {
    class UnauthorizedError extends Error {}
    const box = container({ configuration: deny({ TOKENSEAL_KEYS: '' }), extra: { UnauthorizedError } });
    const result = await box.run(googleUser());
    assert.ok(result.error instanceof UnauthorizedError);
    assert.equal(result.error.message, 'tokenseal: ERR_KEYSET_JSON');
  });

  it('a login without errors goes on; notices (a value that does not open) do not deny', async () => {
    const { auth0, calls } = fakeAuth0();
    const ok = await container({ configuration: deny(), auth0 }).run(googleUser());
    assert.equal(ok.error, null);
    assert.equal(calls.length, 1);
    const stale = tokenseal.seal(RT, OTHER_KEYS, GOOGLE_ID);
    const box = container({ configuration: deny() });
    const notice = await box.run(googleUser({ refreshToken: null, appMetadata: { sealed_refresh_tokens: { 'google-oauth2': stale } } }));
    assert.equal(notice.error, null);
    assert.deepEqual(box.logs, ['tokenseal: ERR_KEY_UNKNOWN']);
  });
});

describe('the core is cached on the global object', () => {
  it('compiles once per container and reuses it across runs', async () => {
    const box = container();
    for (let i = 0; i < 3; i += 1) assertNothingLeaks(await box.run(googleUser()), box.logs);
    assert.equal(box.required.filter((name) => name === 'zlib').length, 1, 'the .wasm is inflated once');
    const cached = vm.runInContext('globalThis.__tokensealCore', box.context);
    assert.equal(typeof cached.core.planLogin, 'function');
    assert.match(cached.build, /^\d+\.\d+\.\d+.*\+[0-9a-f]{16}$/);
    assert.equal(vm.runInContext('global.__tokensealCore === globalThis.__tokensealCore', box.context), true);
  });

  it('asks the core for its reading of the settings once per container, and again when they change', async () => {
    const box = container();
    await box.run(googleUser());
    box.context.__asked = { actionConfig: 0, loginFields: 0 };
    vm.runInContext(`(function () {
      const core = globalThis.__tokensealCore.core;
      for (const name of ['actionConfig', 'loginFields']) {
        const f = core[name];
        core[name] = function (...args) { __asked[name] += 1; return f.apply(this, args); };
      }
    })();`, box.context);
    for (let i = 0; i < 3; i += 1) assertNothingLeaks(await box.run(googleUser()), box.logs);
    assert.deepEqual({ ...box.context.__asked }, { actionConfig: 0, loginFields: 0 }, 'unchanged settings are not read again');
    // A changed configuration is read at the next run, and takes effect there.
    box.context.configuration = { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE };
    const result = await box.run(googleUser());
    assert.deepEqual({ ...box.context.__asked }, { actionConfig: 1, loginFields: 0 });
    assert.equal(result.context.idToken[CLAIM], 'stored');
    assertNothingLeaks(result, box.logs);
    // The settings' text (key material included) is not kept where other rules could
    // read it: the entry holds the core and two functions, nothing else.
    const ownKeys = (expression) => Array.from(vm.runInContext(`Reflect.ownKeys(${expression})`, box.context));
    assert.deepEqual(ownKeys('globalThis.__tokensealCore'), ['build', 'core', 'settingsMemo']);
    assert.deepEqual(ownKeys('globalThis.__tokensealCore.settingsMemo'), ['config', 'fields']);
    assert.equal(vm.runInContext('typeof globalThis.__tokensealCore.settingsMemo.config', box.context), 'function');
  });

  it('settings that JSON cannot hold: the core refuses them with a code, and the core is kept', async () => {
    const box = container();
    await box.run(googleUser());
    const core = vm.runInContext('globalThis.__tokensealCore.core', box.context);
    box.context.configuration = { TOKENSEAL_KEYS: KEYS, TOKENSEAL_CLAIM_NAMESPACE: NAMESPACE, oops: 10n };
    const result = await box.run(googleUser());
    assert.equal(result.error, null);
    assert.deepEqual(box.logs, ['tokenseal: ERR_INPUT_INVALID']);
    assertNothingLeaks(result, box.logs);
    assert.equal(vm.runInContext('globalThis.__tokensealCore.core', box.context), core, 'not taken for a trap');
  });

  it('an entry of this build without its settings memo is foreign: a fresh entry replaces it', async () => {
    const box = container();
    await box.run(googleUser());
    // The shape an entry had before the memo existed, under this build's digest.
    vm.runInContext('globalThis.__tokensealCore = { build: globalThis.__tokensealCore.build, core: globalThis.__tokensealCore.core };', box.context);
    const result = await box.run(googleUser());
    assert.equal(result.error, null);
    assert.deepEqual(box.logs, []);
    assertNothingLeaks(result, box.logs);
    assert.equal(vm.runInContext('typeof globalThis.__tokensealCore.settingsMemo.config', box.context), 'function');
  });

  it('does not use a core cached by another build', async () => {
    const box = container();
    vm.runInContext('globalThis.__tokensealCore = { build: "0.0.0+stale", core: { planLogin() { throw new Error("stale core used"); } } };', box.context);
    const result = await box.run(googleUser());
    assert.equal(result.error, null);
    assert.deepEqual(box.logs, []);
    assert.notEqual(vm.runInContext('globalThis.__tokensealCore.build', box.context), '0.0.0+stale');
  });

  it('drops a core that failed without a code (a trap) so the next run gets a fresh one', async () => {
    const box = container();
    await box.run(googleUser());
    const build = vm.runInContext('globalThis.__tokensealCore.build', box.context);
    // A core that traps, cached under the current build.
    box.context.__brokenBuild = build;
    box.context.__callsAfterTrap = [];
    // Every export records a call made after the trap.
    vm.runInContext(`(function () {
      let trapped = false;
      const after = (name, f) => function (...args) { if (trapped) __callsAfterTrap.push(name); return f.apply(this, args); };
      globalThis.__tokensealCore = { build: __brokenBuild, settingsMemo: { config: (core, s) => core.actionConfig(s), fields: (core) => core.loginFields() }, core: {
        actionConfig: after('actionConfig', () => ({ read: 'auto', claimNamespace: null, denyOnError: false, management: null, notices: [] })),
        loginFields: after('loginFields', () => ({ user: ['user_id', 'identities', 'app_metadata'], identity: ['provider'], appMetadata: [], query: [] })),
        planLogin: after('planLogin', () => { trapped = true; throw new WebAssembly.RuntimeError('unreachable'); }),
        sanitize: after('sanitize', () => { throw new WebAssembly.RuntimeError('unreachable'); }),
      } };
    })();`, box.context);
    const broken = await box.run(googleUser({ appMetadata: { refresh_token: LEGACY_RT } }));
    assert.equal(broken.error, null);
    assert.deepEqual(box.logs, ['tokenseal: ERR_INTERNAL']);
    assert.deepEqual(box.context.__callsAfterTrap, [], 'the trapped instance is not used again in this login');
    assertNothingLeaks(broken, box.logs); // the fallback sanitized
    assert.equal(vm.runInContext('globalThis.__tokensealCore', box.context), undefined);
    box.logs.length = 0;
    const { auth0, calls } = fakeAuth0();
    box.context.auth0 = auth0;
    const healed = await box.run(googleUser());
    assert.equal(healed.error, null);
    assert.deepEqual(box.logs, []);
    assert.equal(calls.length, 1);
  });

  it('works where the runner has no `global`, only globalThis', async () => {
    const box = container();
    vm.runInContext('delete globalThis.global;', box.context);
    const { calls, auth0 } = fakeAuth0();
    box.context.auth0 = auth0;
    const result = await box.run(googleUser());
    assert.equal(result.error, null);
    assert.equal(calls.length, 1);
    assert.equal(vm.runInContext('typeof global', box.context), 'undefined');
  });
});

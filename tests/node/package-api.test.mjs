// The wasm-pack package (pkg/tokenseal.js) as Node code uses it: sealing and opening,
// key rotation, the error contract (stable `.code`, fixed messages that never carry a
// token or key), the sanitizer, the login planner and key generation.
//
// All key material and tokens below are fake and derived from fixed labels, so a leak
// check can search the test output for them. Assertions that compare secrets use
// assert.ok(a === b) so that a failure never prints the values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { inspect as utilInspect } from 'node:util';

const require = createRequire(import.meta.url);
const tokenseal = require('../../pkg/tokenseal.js');
const { seal, open, inspect, sanitize, planLogin, generateKeySet } = tokenseal;

/** 32 deterministic bytes that look like a real key; not a secret. */
const fakeKeyBytes = (label) => createHash('sha256').update(`tokenseal-test-key:${label}`).digest();
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const jwk = (kid, k) => ({ kty: 'oct', kid, k, alg: 'A256GCM', use: 'enc' });
const keySet = (...keys) => JSON.stringify({ keys });

const KID_A = 'test-2026-11-a';
const KID_B = 'test-2026-12-b';
const K_A = b64url(fakeKeyBytes('A'));
const K_B = b64url(fakeKeyBytes('B'));
const K_OTHER = b64url(fakeKeyBytes('other'));
const KEYS_A = keySet(jwk(KID_A, K_A));
const KEYS_B = keySet(jwk(KID_B, K_B));
const KEYS_BA = keySet(jwk(KID_B, K_B), jwk(KID_A, K_A));
const KEYS_A_WRONG = keySet(jwk(KID_A, K_OTHER)); // right kid, wrong key material

const SUB = 'google-oauth2|103547991597142817347';
const OTHER_SUB = 'google-oauth2|118326734059267734112';
/** Shaped like Google tokens, obviously fake. */
const TOKEN = `1//0gFAKE-${createHash('sha512').update('tokenseal-test-token').digest('base64url')}`;
const TOKEN_2 = `1//0gFAKE-${createHash('sha512').update('tokenseal-test-token-2').digest('base64url')}`;
const ACCESS_TOKEN = `ya29.FAKE-${createHash('sha256').update('tokenseal-test-access').digest('base64url')}`;
const ID_TOKEN = `eyJhbGciOiJSUzI1NiJ9.FAKE.${createHash('sha256').update('tokenseal-test-id').digest('base64url')}`;
const TOKEN_SECRET = `FAKE-secret-${createHash('sha256').update('tokenseal-test-secret').digest('hex')}`;

/** Every string the tests treat as secret. */
const SECRETS = [TOKEN, TOKEN_2, ACCESS_TOKEN, ID_TOKEN, TOKEN_SECRET, K_A, K_B, K_OTHER];

/** Asserts that `text` contains none of `secrets`, without printing either. */
function assertNoSecrets(text, what, secrets = SECRETS) {
  for (const [i, secret] of secrets.entries()) {
    assert.ok(!String(text).includes(secret), `${what} contains secret #${i}`);
  }
}

/** Asserts that `fn` throws a tokenseal error with `code`; returns the error. */
function throwsCode(fn, code) {
  let caught;
  assert.throws(fn, (err) => {
    caught = err;
    assert.ok(err instanceof Error, 'tokenseal throws Error instances');
    assert.equal(err.code, code);
    return true;
  });
  return caught;
}

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** `sealed` with its protected header replaced (the other four parts unchanged). */
function withHeader(sealed, header) {
  const parts = sealed.split('.');
  parts[0] = b64json(header);
  return parts.join('.');
}
const HEADER = { typ: 'tokenseal.v1+jwe', alg: 'dir', enc: 'A256GCM', kid: KID_A, sub: SUB, iat: 1700000000 };

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function nested(depth) {
  const root = {};
  let node = root;
  for (let i = 1; i < depth; i++) {
    node.next = {};
    node = node.next;
  }
  return root;
}

/** A user as a Rule sees it: the Google identity carries the IdP tokens. */
function ruleUser() {
  return {
    user_id: SUB,
    email: 'ada.lovelace@example.com',
    email_verified: true,
    name: 'Ada Lovelace',
    logins_count: 7,
    identities: [
      {
        provider: 'google-oauth2',
        connection: 'google-oauth2',
        user_id: '103547991597142817347',
        isSocial: true,
        access_token: ACCESS_TOKEN,
        refresh_token: TOKEN,
        id_token: ID_TOKEN,
        expires_in: 3599,
        profileData: { email: 'ada.lovelace@example.com', given_name: 'Ada' },
      },
    ],
    app_metadata: { plan: 'pro' },
    user_metadata: { theme: 'dark' },
  };
}

// ---------------------------------------------------------------------------------------
// seal / open / inspect

test('round trip: seal then open returns the token; inspect shows the public header', () => {
  const sealed = seal(TOKEN, KEYS_A, SUB);
  assert.equal(typeof sealed, 'string');
  assertNoSecrets(sealed, 'the sealed value');
  assert.ok(open(sealed, KEYS_A, SUB) === TOKEN, 'open returns the sealed token');
  const header = inspect(sealed);
  assert.equal(header.typ, 'tokenseal.v1+jwe');
  assert.equal(header.alg, 'dir');
  assert.equal(header.enc, 'A256GCM');
  assert.equal(header.kid, KID_A);
  assert.equal(header.sub, SUB);
  assert.ok(Number.isSafeInteger(header.iat));
  // A fresh IV each time: the same input never seals to the same value.
  assert.notEqual(seal(TOKEN, KEYS_A, SUB), sealed);
});

test('round trip at the size limits: 1 byte and 4096 bytes seal and open', () => {
  for (const token of ['x', `1//0gFAKE-${'A'.repeat(4096 - 10)}`]) {
    assert.ok(open(seal(token, KEYS_A, SUB), KEYS_A, SUB) === token, `length ${token.length}`);
  }
  throwsCode(() => seal(`1//0gFAKE-${'A'.repeat(4097 - 10)}`, KEYS_A, SUB), 'ERR_TOKEN_INVALID');
});

test('rotation: a value sealed under A opens with the ring [B, A]; [B, A] seals under B', () => {
  const underA = seal(TOKEN, KEYS_A, SUB);
  assert.ok(open(underA, KEYS_BA, SUB) === TOKEN, 'the old key still opens');

  const underB = seal(TOKEN, KEYS_BA, SUB);
  assert.equal(inspect(underB).kid, KID_B, 'the first key of the ring seals');
  assert.ok(open(underB, KEYS_BA, SUB) === TOKEN, 'the ring opens its own value');
  assert.ok(open(underB, KEYS_B, SUB) === TOKEN, 'B alone opens it');
  // Once A is retired, what it sealed names an unknown key.
  throwsCode(() => open(underA, KEYS_B, SUB), 'ERR_KEY_UNKNOWN');
  throwsCode(() => open(underB, KEYS_A, SUB), 'ERR_KEY_UNKNOWN');
});

// ---------------------------------------------------------------------------------------
// The error contract

const sealedA = seal(TOKEN, KEYS_A, SUB);

/** One way to reach each code from JavaScript, with the secrets that input holds. */
const ERROR_CASES = [
  ['ERR_KEYSET_JSON', () => seal(TOKEN, `{"keys":[{"kty":"oct","kid":"${KID_A}","k":"${K_A}"`, SUB)],
  ['ERR_KEYSET_JSON', () => open(sealedA, JSON.stringify({ keys: { 0: jwk(KID_A, K_A) } }), SUB)],
  ['ERR_KEYSET_EMPTY', () => seal(TOKEN, '{"keys":[]}', SUB)],
  ['ERR_KEY_TYPE', () => seal(TOKEN, keySet({ ...jwk(KID_A, K_A), kty: 'RSA' }), SUB)],
  ['ERR_KEY_ALG', () => seal(TOKEN, keySet({ ...jwk(KID_A, K_A), alg: 'A128GCM' }), SUB)],
  ['ERR_KEY_ENCODING', () => seal(TOKEN, keySet(jwk(KID_A, `${K_A}=`)), SUB)],
  ['ERR_KEY_ENCODING', () => seal(TOKEN, keySet(jwk(KID_A, Buffer.from(K_A, 'base64url').toString('base64'))), SUB)],
  ['ERR_KEY_LENGTH', () => seal(TOKEN, keySet(jwk(KID_A, b64url(fakeKeyBytes('A').subarray(0, 16)))), SUB)],
  ['ERR_KEY_LENGTH', () => open(sealedA, keySet(jwk(KID_A, b64url(Buffer.concat([fakeKeyBytes('A'), Buffer.from([7])])))), SUB)],
  ['ERR_KEY_KID_MISSING', () => seal(TOKEN, keySet({ kty: 'oct', k: K_A }), SUB)],
  ['ERR_KEY_KID_DUPLICATE', () => open(sealedA, keySet(jwk(KID_A, K_A), jwk(KID_A, K_B)), SUB)],
  ['ERR_TOKEN_INVALID', () => seal('', KEYS_A, SUB)],
  ['ERR_TOKEN_INVALID', () => seal(`${TOKEN}\n`, KEYS_A, SUB)],
  ['ERR_TOKEN_INVALID', () => seal(`${TOKEN}é`, KEYS_A, SUB)],
  ['ERR_USER_ID_INVALID', () => seal(TOKEN, KEYS_A, '')],
  ['ERR_USER_ID_INVALID', () => seal(TOKEN, KEYS_A, 'google-oauth2|1\n')],
  ['ERR_SEALED_MALFORMED', () => open('a.b.c', KEYS_A, SUB)],
  ['ERR_SEALED_MALFORMED', () => open(sealedA.replace('..', '.AAAA.'), KEYS_A, SUB)],
  ['ERR_SEALED_MALFORMED', () => inspect(`${sealedA}.extra`)],
  ['ERR_HEADER_INVALID', () => open(withHeader(sealedA, { ...HEADER, typ: undefined }), KEYS_A, SUB)],
  ['ERR_HEADER_INVALID', () => inspect(withHeader(sealedA, { ...HEADER, crit: ['exp'] }))],
  ['ERR_VERSION_UNSUPPORTED', () => open(withHeader(sealedA, { ...HEADER, typ: 'tokenseal.v2+jwe' }), KEYS_A, SUB)],
  ['ERR_ALG_UNSUPPORTED', () => open(withHeader(sealedA, { ...HEADER, enc: 'A128GCM' }), KEYS_A, SUB)],
  ['ERR_ALG_UNSUPPORTED', () => inspect(withHeader(sealedA, { ...HEADER, alg: 'none' }))],
  ['ERR_SUBJECT_MISMATCH', () => open(sealedA, KEYS_A, OTHER_SUB)],
  ['ERR_KEY_UNKNOWN', () => open(sealedA, KEYS_B, SUB)],
  ['ERR_DECRYPT', () => open(sealedA, KEYS_A_WRONG, SUB)],
  ['ERR_DECRYPT', () => open(withHeader(sealedA, HEADER), KEYS_A, SUB)], // header changed: AAD differs
  ['ERR_USER_INVALID', () => sanitize([{ user_id: SUB, refresh_token: TOKEN }])],
  ['ERR_USER_INVALID', () => planLogin({ user: { user_id: 42 } }, KEYS_A)],
  ['ERR_INPUT_INVALID', () => planLogin({ user: ruleUser(), read: 'sometimes' }, KEYS_A)],
  ['ERR_INPUT_INVALID', () => planLogin({ user: ruleUser(), readUsr: 'never' }, KEYS_A)],
];

for (const [index, [code, run]] of ERROR_CASES.entries()) {
  test(`error contract: case ${index} throws ${code} as an Error with fixed, secret-free text`, () => {
    const err = throwsCode(run, code);
    assert.equal(err.name, 'TokenSealError');
    assert.equal(typeof err.message, 'string');
    assert.ok(err.message.length > 0);
    assert.ok(!err.message.includes('ERR_'), 'the code is in .code, not in the message');
    assertNoSecrets(err.message, 'err.message');
    assertNoSecrets(String(err), 'String(err)');
    assertNoSecrets(err.stack, 'err.stack');
    assertNoSecrets(utilInspect(err, { depth: 5, showHidden: true }), 'util.inspect(err)');
    assertNoSecrets(JSON.stringify(err), 'JSON.stringify(err)');
  });
}

test('error contract: every documented code is reachable from JavaScript', () => {
  const required = [
    'ERR_DECRYPT', 'ERR_SUBJECT_MISMATCH', 'ERR_KEY_UNKNOWN', 'ERR_KEYSET_JSON', 'ERR_KEY_LENGTH',
    'ERR_TOKEN_INVALID', 'ERR_SEALED_MALFORMED', 'ERR_HEADER_INVALID', 'ERR_VERSION_UNSUPPORTED',
    'ERR_ALG_UNSUPPORTED', 'ERR_USER_INVALID', 'ERR_INPUT_INVALID',
  ];
  const covered = new Set(ERROR_CASES.map(([code]) => code));
  for (const code of required) assert.ok(covered.has(code), `${code} has a case`);
});

test('error contract: a code has one message, whatever the input', () => {
  const messagesByCode = new Map();
  for (const [code, run] of ERROR_CASES) {
    const { message } = throwsCode(run, code);
    const seen = messagesByCode.get(code);
    if (seen === undefined) messagesByCode.set(code, message);
    else assert.equal(message, seen, `${code} has one message`);
  }
  // ERR_DECRYPT is opaque: wrong key, changed ciphertext and changed tag look the same.
  const parts = sealedA.split('.');
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const changedCiphertext = [parts[0], '', parts[2], flip(parts[3], 0), parts[4]].join('.');
  const changedTag = [parts[0], '', parts[2], parts[3], flip(parts[4], 0)].join('.');
  for (const value of [changedCiphertext, changedTag]) {
    assert.equal(throwsCode(() => open(value, KEYS_A, SUB), 'ERR_DECRYPT').message, messagesByCode.get('ERR_DECRYPT'));
  }
});

test('a 1 MiB refresh token is refused with ERR_TOKEN_INVALID (and the module still works)', () => {
  const huge = `1//0gFAKE-${'x'.repeat(1024 * 1024 - 10)}`;
  assert.equal(huge.length, 1024 * 1024);
  const err = throwsCode(() => seal(huge, KEYS_A, SUB), 'ERR_TOKEN_INVALID');
  assert.ok(!err.message.includes('xxxxxxxx'));
  assert.ok(err.message.length < 200);
  assert.ok(open(seal(TOKEN, KEYS_A, SUB), KEYS_A, SUB) === TOKEN, 'round trip after the refusal');
});

// ---------------------------------------------------------------------------------------
// sanitize

test('sanitize removes identity tokens and stored tokens, keeps everything else', () => {
  const user = {
    user_id: SUB,
    name: 'Ada Lovelace',
    identities: [
      {
        provider: 'google-oauth2',
        connection: 'google-oauth2',
        user_id: '103547991597142817347',
        isSocial: true,
        access_token: ACCESS_TOKEN,
        refresh_token: TOKEN,
        id_token: ID_TOKEN,
        access_token_secret: TOKEN_SECRET,
        expires_in: 3599,
        profileData: { email: 'ada.lovelace@example.com', picture: 'https://example.com/ada.png' },
        x_custom_identity_field: [1, { nested: null }],
      },
      { provider: 'auth0', connection: 'Username-Password-Authentication', user_id: '64f1c0ffee', isSocial: false },
    ],
    app_metadata: {
      plan: 'pro',
      refresh_token: TOKEN_2,
      sealed_refresh_tokens: { 'google-oauth2': seal(TOKEN, KEYS_A, SUB) },
      roles: ['admin'],
    },
    user_metadata: { theme: 'dark' },
    x_unknown_top_level: { a: [true, 1.5, 'text'] },
  };
  const clean = sanitize(user);
  assertNoSecrets(JSON.stringify(clean), 'the sanitized user');
  assert.ok(!JSON.stringify(clean).includes('sealed_refresh_tokens'));
  assert.deepEqual(clean, {
    user_id: SUB,
    name: 'Ada Lovelace',
    identities: [
      {
        provider: 'google-oauth2',
        connection: 'google-oauth2',
        user_id: '103547991597142817347',
        isSocial: true,
        profileData: { email: 'ada.lovelace@example.com', picture: 'https://example.com/ada.png' },
        x_custom_identity_field: [1, { nested: null }],
      },
      { provider: 'auth0', connection: 'Username-Password-Authentication', user_id: '64f1c0ffee', isSocial: false },
    ],
    app_metadata: { plan: 'pro', roles: ['admin'] },
    user_metadata: { theme: 'dark' },
    x_unknown_top_level: { a: [true, 1.5, 'text'] },
  });
  assert.deepEqual(sanitize(clean), clean, 'idempotent');
});

test('sanitize works on a deeply frozen user and does not mutate it', () => {
  const user = deepFreeze(ruleUser());
  const before = JSON.stringify(user);
  const clean = sanitize(user);
  assert.ok(JSON.stringify(user) === before, 'the input is unchanged');
  assert.ok(Object.isFrozen(user.identities[0]));
  assert.ok(user.identities[0].refresh_token === TOKEN, 'the input still holds its token');
  assert.notEqual(clean, user);
  assertNoSecrets(JSON.stringify(clean), 'the sanitized user');
  assert.equal(clean.identities[0].provider, 'google-oauth2');
  assert.deepEqual(clean.identities[0].profileData, user.identities[0].profileData);
  assert.deepEqual(clean.app_metadata, { plan: 'pro' });
  // The result is a plain, mutable copy.
  clean.name = 'changed';
  assert.equal(user.name, 'Ada Lovelace');
});

test('sanitize keeps realistic nesting (100 levels) intact', () => {
  const user = { user_id: SUB, user_metadata: nested(100) };
  assert.deepEqual(sanitize(user), user);
});

test('sanitize of a 10,000-deep object throws ERR_USER_INVALID and the module keeps working', () => {
  throwsCode(() => sanitize({ user_id: SUB, user_metadata: nested(10_000) }), 'ERR_USER_INVALID');
  let deepArray = [];
  for (let i = 0; i < 10_000; i++) deepArray = [deepArray];
  throwsCode(() => sanitize({ user_id: SUB, x: deepArray }), 'ERR_USER_INVALID');
  throwsCode(() => planLogin({ user: { user_id: SUB, user_metadata: nested(10_000) } }, KEYS_A), 'ERR_INPUT_INVALID');
  const cyclic = { user_id: SUB };
  cyclic.self = cyclic;
  throwsCode(() => sanitize(cyclic), 'ERR_USER_INVALID');
  // The instance is still usable: no trap, no exhausted stack.
  const sealed = seal(TOKEN, KEYS_A, SUB);
  assert.ok(open(sealed, KEYS_A, SUB) === TOKEN, 'round trip after the refusals');
  assertNoSecrets(JSON.stringify(sanitize(ruleUser())), 'the sanitized user');
});

test('arguments of the wrong type are coded errors, not faults inside the module', () => {
  // wasm-bindgen's release glue does not check string parameters; a number used to
  // reach the allocator and fault with "memory access out of bounds".
  const cases = [
    [() => seal(12345, KEYS_A, SUB), 'ERR_TOKEN_INVALID'],
    [() => seal(TOKEN, 12345, SUB), 'ERR_KEYSET_JSON'],
    [() => seal(TOKEN, KEYS_A, {}), 'ERR_USER_ID_INVALID'],
    [() => seal(undefined, KEYS_A, SUB), 'ERR_TOKEN_INVALID'],
    [() => open(seal(TOKEN, KEYS_A, SUB), KEYS_A, 7), 'ERR_USER_ID_INVALID'],
    [() => open(null, KEYS_A, SUB), 'ERR_SEALED_MALFORMED'],
    [() => inspect(42), 'ERR_SEALED_MALFORMED'],
    [() => planLogin({ user: ruleUser(), read: 'never' }, 5), 'ERR_KEYSET_JSON'],
  ];
  for (const [call, code] of cases) {
    const err = throwsCode(call, code);
    assert.ok(!(err instanceof WebAssembly.RuntimeError), 'not a wasm trap');
  }
  assert.ok(open(seal(TOKEN, KEYS_A, SUB), KEYS_A, SUB) === TOKEN, 'the module still works');
});

test('integers beyond 2^53 and key order pass through sanitize and planLogin unchanged', () => {
  const user = { ...ruleUser(), zeta: 1, big: 2 ** 53 + 2, alpha: { n: -1.5e300 } };
  const clean = sanitize(user);
  assert.equal(clean.big, 2 ** 53 + 2);
  assert.equal(clean.alpha.n, -1.5e300);
  assert.deepEqual(Object.keys(clean), Object.keys(user));
  // planLogin reads numbers it does not need without losing them either (they are
  // kept as their text, never as a double).
  const plan = planLogin({ user, read: 'never' }, KEYS_A);
  assert.equal(plan.outcome, 'sealed');
});

// ---------------------------------------------------------------------------------------
// planLogin

test('planLogin: a Rule user with a Google refresh token is sealed into app_metadata', () => {
  const user = ruleUser();
  const plan = planLogin({ user, read: 'never', claimNamespace: 'https://example.com/' }, KEYS_A);
  assertNoSecrets(JSON.stringify(plan), 'the plan');
  assert.equal(plan.outcome, 'sealed');
  assert.equal(plan.readUser, false);
  assert.equal(plan.offlineAccess, 'stored');
  assert.equal(plan.metadataWrites.length, 1);
  assert.equal(plan.metadataWrites[0].key, 'sealed_refresh_tokens');
  const sealed = plan.metadataWrites[0].value['google-oauth2'];
  assert.equal(typeof sealed, 'string');
  assert.ok(open(sealed, KEYS_A, SUB) === TOKEN, 'the written value opens to the token');
  assert.equal(inspect(sealed).kid, KID_A);
  assert.equal(inspect(sealed).src, 'login');
  assert.equal(inspect(sealed).cap_kid, KID_A);
  assert.deepEqual(plan.claims, [{ name: 'https://example.com/google_offline_access', value: 'stored' }]);
  assert.deepEqual(plan.notices, []);
  assert.equal(plan.removals, null, 'no shape, no removals');
  const shaped = planLogin({ user, shape: { root: Object.keys(user), identities: [Object.keys(user.identities[0])], appMetadata: Object.keys(user.app_metadata) }, read: 'never' }, KEYS_A);
  assert.deepEqual(shaped.removals, {
    root: [],
    identities: [['access_token', 'refresh_token', 'id_token', 'expires_in']],
    appMetadata: [],
  });
});

test('planLogin: the next login keeps the stored value; a new primary key rotates it', () => {
  const first = planLogin({ user: ruleUser(), read: 'never' }, KEYS_A);
  const stored = { ...ruleUser(), app_metadata: { ...ruleUser().app_metadata, [first.metadataWrites[0].key]: first.metadataWrites[0].value } };

  const again = planLogin({ user: stored, read: 'never' }, KEYS_A);
  assert.equal(again.outcome, 'unchanged');
  assert.deepEqual(again.metadataWrites, []);
  assert.equal(again.offlineAccess, 'stored');

  const rotated = planLogin({ user: stored, read: 'never' }, KEYS_BA);
  assert.equal(rotated.outcome, 'rotated');
  const resealed = rotated.metadataWrites[0].value['google-oauth2'];
  assert.equal(inspect(resealed).kid, KID_B);
  assert.ok(open(resealed, KEYS_B, SUB) === TOKEN, 'the re-sealed value opens under B');

  const replaced = planLogin(
    { user: { ...stored, identities: [{ ...stored.identities[0], refresh_token: TOKEN_2 }] }, read: 'never' },
    KEYS_A,
  );
  assert.equal(replaced.outcome, 'replaced');
  assert.ok(open(replaced.metadataWrites[0].value['google-oauth2'], KEYS_A, SUB) === TOKEN_2, 'the new token is sealed');
  assertNoSecrets(JSON.stringify([again, rotated, replaced]), 'the plans');
});

test('planLogin: a user without a Google identity is left alone', () => {
  const plan = planLogin(
    { user: { user_id: 'auth0|64f1c0ffee', identities: [{ provider: 'auth0', user_id: '64f1c0ffee' }] }, read: 'never' },
    KEYS_A,
  );
  assert.equal(plan.outcome, 'not_google');
  assert.deepEqual(plan.metadataWrites, []);
  assert.equal(plan.offlineAccess, null);
});

// ---------------------------------------------------------------------------------------
// generateKeySet

test('generateKeySet returns a JWK Set with one 32-byte A256GCM oct key and a fresh kid', () => {
  const first = JSON.parse(generateKeySet());
  const second = JSON.parse(generateKeySet());
  for (const set of [first, second]) {
    assert.ok(Array.isArray(set.keys));
    assert.equal(set.keys.length, 1);
    const [key] = set.keys;
    assert.equal(key.kty, 'oct');
    assert.equal(key.alg, 'A256GCM');
    assert.equal(key.use, 'enc');
    assert.equal(typeof key.kid, 'string');
    assert.ok(key.kid.length > 0);
    assert.ok(/^[A-Za-z0-9_-]{43}$/.test(key.k), 'k is unpadded base64url of 32 bytes');
    assert.equal(Buffer.from(key.k, 'base64url').length, 32);
  }
  assert.notEqual(first.keys[0].kid, second.keys[0].kid);
  assert.ok(first.keys[0].k !== second.keys[0].k, 'fresh key material');
  // The generated set is usable as is.
  const generated = JSON.stringify(first);
  const sealed = seal(TOKEN, generated, SUB);
  assert.equal(inspect(sealed).kid, first.keys[0].kid);
  assert.ok(open(sealed, generated, SUB) === TOKEN, 'round trip with a generated key');
});

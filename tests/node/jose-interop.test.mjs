// Interoperability of the sealed format with an independent JOSE implementation, the
// `jose` npm package: what tokenseal seals, jose opens, and what jose encrypts with the
// tokenseal header, tokenseal opens (or rejects with the documented code).
//
// All key material and tokens below are fake and derived from fixed labels, so a leak
// check can search the test output for them. Assertions that compare secrets use
// assert.ok(a === b) so that a failure never prints the values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as jose from 'jose';

const require = createRequire(import.meta.url);
const tokenseal = require('../../pkg/tokenseal.js');

/** 32 deterministic bytes that look like a real key; not a secret. */
const fakeKeyBytes = (label) =>
  new Uint8Array(createHash('sha256').update(`tokenseal-test-key:${label}`).digest());

const KID_A = 'test-2026-11-a';
const KEY_A = fakeKeyBytes('A');
const KEY_OTHER = fakeKeyBytes('other');
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const jwk = (kid, bytes) => ({ kty: 'oct', kid, k: b64url(bytes), alg: 'A256GCM', use: 'enc' });
const KEYS_A = JSON.stringify({ keys: [jwk(KID_A, KEY_A)] });

const SUB = 'google-oauth2|103547991597142817347';
const OTHER_SUB = 'google-oauth2|118326734059267734112';
/** Shaped like a Google refresh token (`1//0g...`), obviously fake. */
const TOKEN = `1//0gFAKE-${createHash('sha512').update('tokenseal-test-token').digest('base64url')}`;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Asserts that `fn` throws a tokenseal error with `code`. */
function throwsCode(fn, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, 'tokenseal throws Error instances');
    assert.equal(err.code, code);
    return true;
  });
}

/** A JWE made by jose with the tokenseal header (overridable) and `plaintext`. */
async function joseSeal({ key = KEY_A, header = {}, plaintext = TOKEN } = {}) {
  return new jose.CompactEncrypt(enc.encode(plaintext))
    .setProtectedHeader({
      typ: 'tokenseal.v1+jwe',
      alg: 'dir',
      enc: 'A256GCM',
      kid: KID_A,
      sub: SUB,
      ...header,
    })
    .encrypt(key);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Replaces the base64url character at `index` of `part` with a different one. */
function flipChar(part, index) {
  const c = part[index];
  const replacement = ALPHABET[(ALPHABET.indexOf(c) + 1) % ALPHABET.length];
  return part.slice(0, index) + replacement + part.slice(index + 1);
}

test('tokenseal -> jose: a sealed value opens with compactDecrypt (key via importJWK)', async () => {
  const sealed = tokenseal.seal(TOKEN, KEYS_A, SUB);
  const key = await jose.importJWK(jwk(KID_A, KEY_A), 'A256GCM');
  const { plaintext, protectedHeader } = await jose.compactDecrypt(sealed, key, {
    keyManagementAlgorithms: ['dir'],
    contentEncryptionAlgorithms: ['A256GCM'],
  });
  assert.ok(dec.decode(plaintext) === TOKEN, 'jose recovers the sealed token');
  assert.equal(protectedHeader.typ, 'tokenseal.v1+jwe');
  assert.equal(protectedHeader.alg, 'dir');
  assert.equal(protectedHeader.enc, 'A256GCM');
  assert.equal(protectedHeader.kid, KID_A);
  assert.equal(protectedHeader.sub, SUB);
  assert.ok(Number.isSafeInteger(protectedHeader.iat), 'iat is an integer');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(protectedHeader.iat - now) <= 60, 'iat is the current time in seconds');
  assert.deepEqual(Object.keys(protectedHeader).sort(), ['alg', 'enc', 'iat', 'kid', 'sub', 'typ']);
});

test('tokenseal -> jose: compact shape is dir (empty key), 96-bit IV, 128-bit tag', async () => {
  const sealed = tokenseal.seal(TOKEN, KEYS_A, SUB);
  const parts = sealed.split('.');
  assert.equal(parts.length, 5);
  assert.equal(parts[1], '', 'dir has an empty JWE Encrypted Key');
  assert.equal(Buffer.from(parts[2], 'base64url').length, 12);
  assert.equal(Buffer.from(parts[4], 'base64url').length, 16);
  assert.equal(Buffer.from(parts[3], 'base64url').length, Buffer.byteLength(TOKEN));
  // jose also opens it with the raw key bytes, and agrees with tokenseal's inspect().
  const { plaintext, protectedHeader } = await jose.compactDecrypt(sealed, KEY_A);
  assert.ok(dec.decode(plaintext) === TOKEN, 'jose recovers the sealed token');
  assert.deepEqual(tokenseal.inspect(sealed), protectedHeader);
  assert.deepEqual(jose.decodeProtectedHeader(sealed), protectedHeader);
});

test('tokenseal -> jose: values with provenance (a login capture, a backend rotation) open too', async () => {
  const user = { user_id: SUB, identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', refresh_token: TOKEN }] };
  const captured = tokenseal.planLogin({ user, read: 'never' }, KEYS_A).metadataWrites[0].value['google-oauth2'];
  const rotated = tokenseal.sealRotated(`${TOKEN}-rotated`, captured, KEYS_A, SUB);
  for (const [sealed, token, src] of [[captured, TOKEN, 'login'], [rotated, `${TOKEN}-rotated`, 'rotation']]) {
    const { plaintext, protectedHeader } = await jose.compactDecrypt(sealed, KEY_A, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    assert.ok(dec.decode(plaintext) === token, 'jose recovers the sealed token');
    assert.equal(protectedHeader.src, src);
    assert.match(protectedHeader.cap, /^[A-Za-z0-9_-]{22}$/, 'a 16-byte fingerprint');
    assert.equal(protectedHeader.cap_kid, KID_A);
    assert.deepEqual(tokenseal.inspect(sealed), protectedHeader);
  }
});

test('jose -> tokenseal: a header with a repeated member is refused (ERR_HEADER_INVALID)', async () => {
  // jose (like JSON.parse) keeps the last of two members; tokenseal refuses the value, so
  // no reader can act on a different alg or sub than tokenseal authenticated.
  const header = '{"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":"' + KID_A + '","sub":"' + OTHER_SUB + '","sub":"' + SUB + '"}';
  const valid = await joseSeal();
  const rest = valid.slice(valid.indexOf('.'));
  assert.throws(() => tokenseal.open(b64url(enc.encode(header)) + rest, KEYS_A, SUB), { code: 'ERR_HEADER_INVALID' });
});

test('jose -> tokenseal: a CompactEncrypt JWE with the tokenseal header opens', async () => {
  const jwe = await joseSeal();
  assert.ok(tokenseal.open(jwe, KEYS_A, SUB) === TOKEN, 'tokenseal recovers the token');
  // jose adds no iat; tokenseal's header reader treats it as optional.
  assert.deepEqual(tokenseal.inspect(jwe), {
    typ: 'tokenseal.v1+jwe',
    alg: 'dir',
    enc: 'A256GCM',
    kid: KID_A,
    sub: SUB,
  });
  // With an iat, and with the header members in another order, it opens as well.
  const withIat = await new jose.CompactEncrypt(enc.encode(TOKEN))
    .setProtectedHeader({ sub: SUB, kid: KID_A, iat: 1795312800, enc: 'A256GCM', alg: 'dir', typ: 'tokenseal.v1+jwe' })
    .encrypt(KEY_A);
  assert.ok(tokenseal.open(withIat, KEYS_A, SUB) === TOKEN, 'tokenseal recovers the token');
  assert.equal(tokenseal.inspect(withIat).iat, 1795312800);
});

test('jose -> tokenseal: a JWE bound to another user fails with ERR_SUBJECT_MISMATCH', async () => {
  const jwe = await joseSeal({ header: { sub: OTHER_SUB } });
  throwsCode(() => tokenseal.open(jwe, KEYS_A, SUB), 'ERR_SUBJECT_MISMATCH');
  assert.ok(tokenseal.open(jwe, KEYS_A, OTHER_SUB) === TOKEN, 'opens for the user it is bound to');
});

test('jose -> tokenseal: a JWE naming an unknown kid fails with ERR_KEY_UNKNOWN', async () => {
  const jwe = await joseSeal({ header: { kid: 'test-retired-key' } });
  throwsCode(() => tokenseal.open(jwe, KEYS_A, SUB), 'ERR_KEY_UNKNOWN');
});

test('jose -> tokenseal: another key under the same kid fails with ERR_DECRYPT', async () => {
  const jwe = await joseSeal({ key: KEY_OTHER });
  throwsCode(() => tokenseal.open(jwe, KEYS_A, SUB), 'ERR_DECRYPT');
});

test('jose -> tokenseal: enc A128GCM fails with ERR_ALG_UNSUPPORTED', async () => {
  const jwe = await joseSeal({ key: KEY_A.slice(0, 16), header: { enc: 'A128GCM' } });
  throwsCode(() => tokenseal.open(jwe, KEYS_A, SUB), 'ERR_ALG_UNSUPPORTED');
  throwsCode(() => tokenseal.inspect(jwe), 'ERR_ALG_UNSUPPORTED');
});

test('jose -> tokenseal: key wrapping (A256KW) is refused as not a dir JWE', async () => {
  // A256KW carries an encrypted key, and tokenseal checks the compact shape (empty
  // encrypted key for dir) before it reads the header, so this is ERR_SEALED_MALFORMED,
  // not ERR_ALG_UNSUPPORTED.
  const jwe = await joseSeal({ header: { alg: 'A256KW' } });
  assert.notEqual(jwe.split('.')[1], '');
  throwsCode(() => tokenseal.open(jwe, KEYS_A, SUB), 'ERR_SEALED_MALFORMED');
});

test('tampering: one changed ciphertext character fails in jose and in tokenseal', async () => {
  const sealed = tokenseal.seal(TOKEN, KEYS_A, SUB);
  const parts = sealed.split('.');
  // A character away from the end: every one of its six bits is significant, so the
  // decoded ciphertext changes for every decoder, lenient or strict.
  for (const index of [0, Math.floor(parts[3].length / 2), parts[3].length - 2]) {
    const tampered = [...parts];
    tampered[3] = flipChar(parts[3], index);
    const value = tampered.join('.');
    await assert.rejects(jose.compactDecrypt(value, KEY_A), (err) => {
      assert.equal(err.code, 'ERR_JWE_DECRYPTION_FAILED');
      return true;
    });
    throwsCode(() => tokenseal.open(value, KEYS_A, SUB), 'ERR_DECRYPT');
  }
});

test('tampering: a changed tag, or a header rebound to another user, fails in both', async () => {
  const sealed = tokenseal.seal(TOKEN, KEYS_A, SUB);
  const parts = sealed.split('.');
  const tag = [...parts];
  tag[4] = flipChar(parts[4], 3);
  await assert.rejects(jose.compactDecrypt(tag.join('.'), KEY_A));
  throwsCode(() => tokenseal.open(tag.join('.'), KEYS_A, SUB), 'ERR_DECRYPT');

  // Rewriting the header to name another user (valid JSON, same key) must not verify:
  // the encoded header is the AAD.
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  const rebound = [...parts];
  rebound[0] = Buffer.from(JSON.stringify({ ...header, sub: OTHER_SUB })).toString('base64url');
  await assert.rejects(jose.compactDecrypt(rebound.join('.'), KEY_A));
  throwsCode(() => tokenseal.open(rebound.join('.'), KEYS_A, OTHER_SUB), 'ERR_DECRYPT');
});

test('tokenseal rejects non-canonical base64url (a changed padding bit)', async () => {
  // A 16-byte plaintext encodes to 22 characters; the last one carries 2 data bits and
  // 4 padding bits. Changing only padding bits leaves the bytes unchanged for a lenient
  // decoder, but tokenseal decodes canonically only.
  const token16 = '1//0gFAKE-16byte';
  assert.equal(token16.length, 16);
  const sealed = tokenseal.seal(token16, KEYS_A, SUB);
  const parts = sealed.split('.');
  assert.equal(parts[3].length, 22);
  const last = parts[3].at(-1);
  const sibling = ALPHABET[ALPHABET.indexOf(last) ^ 1]; // flips a padding bit only
  const tampered = [...parts];
  tampered[3] = parts[3].slice(0, -1) + sibling;
  throwsCode(() => tokenseal.open(tampered.join('.'), KEYS_A, SUB), 'ERR_SEALED_MALFORMED');
});

test('a value bound to a provider (idp): jose opens it and reads idp; tokenseal opens it only as that provider', async () => {
  const sealed = tokenseal.seal(TOKEN, KEYS_A, SUB, 'waad');
  const { plaintext, protectedHeader } = await jose.compactDecrypt(sealed, KEY_A);
  assert.ok(dec.decode(plaintext) === TOKEN, 'jose opens it to the token');
  assert.equal(protectedHeader.idp, 'waad');
  assert.ok(tokenseal.open(sealed, KEYS_A, SUB, 'waad') === TOKEN);
  throwsCode(() => tokenseal.open(sealed, KEYS_A, SUB), 'ERR_PROVIDER_MISMATCH');
  // jose's own value with idp opens as that provider; the same value made without idp is
  // Google's, and one with idp is never Google's.
  const bound = await joseSeal({ header: { idp: 'acme-idp' } });
  assert.ok(tokenseal.open(bound, KEYS_A, SUB, 'acme-idp') === TOKEN);
  throwsCode(() => tokenseal.open(bound, KEYS_A, SUB, 'google-oauth2'), 'ERR_PROVIDER_MISMATCH');
  const google = await joseSeal();
  throwsCode(() => tokenseal.open(google, KEYS_A, SUB, 'acme-idp'), 'ERR_PROVIDER_MISMATCH');
  const odd = await joseSeal({ header: { idp: 7 } });
  throwsCode(() => tokenseal.open(odd, KEYS_A, SUB, 'acme-idp'), 'ERR_HEADER_INVALID');
});

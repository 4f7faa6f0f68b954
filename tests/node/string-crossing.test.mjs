// Strings crossing into the WebAssembly module. Every shipped file copies them with one
// native encodeInto (scripts/glue.mjs) instead of wasm-bindgen's per-character loop; these
// tests hold each file to that and show that text which is not ASCII still arrives byte
// for byte: the `sub` a sealed value is bound to is the user_id it was given.
//
//   node --test tests/node/string-crossing.test.mjs     (after `bash scripts/build.sh`)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { withNativeStringCopy } from '../../scripts/glue.mjs';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path) => readFileSync(join(ROOT, path), 'utf8');
const tokenseal = require(join(ROOT, 'pkg/tokenseal.js'));
const { createPostLoginRun } = require(join(ROOT, 'tests/auth0-standin/actions.cjs'));

const GOOGLE = 'google-oauth2';
const KEYS = JSON.stringify({
  keys: [{ kty: 'oct', kid: 'crossing-test', alg: 'A256GCM', use: 'enc', k: createHash('sha256').update('tokenseal string-crossing test key').digest('base64url') }],
});
const TOKEN = `1//0gCROSSING-${createHash('sha512').update('tokenseal string-crossing test token').digest('base64url')}`.slice(0, 103);

/** Identifiers (a sub is at most 512 bytes) whose UTF-8 takes 2, 3 and 4 bytes per character, at the start, the end
 * and after a long ASCII run (the stock loop's switch to encodeInto came at the first
 * such character). */
const IDS = [
  'ü', 'é-x', 'x-é', '中文-user', '😀', 'a😀b', `${'a'.repeat(400)}ü`, `ü${'a'.repeat(400)}`,
  `${'ßü中😀'.repeat(40)}`, 'plain-ascii-103547991597142817347',
];

/** The protected header of a compact JWE. */
const headerOf = (sealed) => JSON.parse(Buffer.from(sealed.split('.')[0], 'base64url').toString('utf8'));

test('pkg/tokenseal.js carries the native copy (scripts/glue.mjs finds nothing left to replace)', () => {
  const glue = read('pkg/tokenseal.js');
  assert.equal(withNativeStringCopy(glue), glue);
  assert.ok(!glue.includes('arg.charCodeAt(offset)'), "wasm-bindgen's per-character loop is gone");
});

test('the stock glue is recognised and replaced; a changed one fails the build', () => {
  const stock = read('target/wasm-action/tokenseal.js');
  const replaced = withNativeStringCopy(stock);
  assert.notEqual(replaced, stock);
  assert.ok(replaced.includes("Buffer.byteLength(arg, 'utf8')"));
  assert.equal(withNativeStringCopy(replaced), replaced, 'applying it twice changes nothing');
  const changed = stock.replace('if (code > 0x7F) break;', 'if (code > 0x7E) break;');
  assert.notEqual(changed, stock);
  assert.throws(() => withNativeStringCopy(changed), /not the one scripts\/glue\.mjs replaces/);
  assert.throws(() => withNativeStringCopy('module.exports = {};'), /no passStringToWasm0/);
});

for (const file of ['dist/action.js', 'dist/rule.js']) {
  test(`${file} copies strings natively`, () => {
    const text = read(file);
    // The minified glue: the stock loop read each character with charCodeAt, which
    // nothing else in these files uses.
    assert.ok(!text.includes('charCodeAt('), 'no per-character copy');
    assert.match(text, /Buffer\.byteLength\(\w+,"utf8"\)/);
  });
}

// The sealing tests below pass with wasm-bindgen's own copy too: they hold the change
// to the same bytes. (A lone surrogate becomes U+FFFD in both, as TextEncoder does.)
test('pkg: a sealed value is bound to the exact sub it was given, whatever Unicode it holds', () => {
  for (const id of IDS) {
    const sub = `${GOOGLE}|${id}`;
    const sealed = tokenseal.seal(TOKEN, KEYS, sub);
    assert.equal(headerOf(sealed).sub, sub);
    assert.ok(tokenseal.open(sealed, KEYS, sub) === TOKEN, `opens for ${JSON.stringify(sub).slice(0, 40)}`);
  }
});

test('dist/action.js: a first login seals for a user_id that is not ASCII, bound to it', async () => {
  const action = require(join(ROOT, 'dist/action.js'));
  for (const id of IDS) {
    const user = {
      user_id: `${GOOGLE}|${id}`,
      logins_count: 3,
      app_metadata: { refresh_token: TOKEN, note: `präferenz ${id}` },
      identities: [{ provider: GOOGLE, connection: GOOGLE, user_id: id, isSocial: true }],
    };
    const run = createPostLoginRun({ user, secrets: { TOKENSEAL_KEYS: KEYS } });
    await action.onExecutePostLogin(run.event, run.api);
    const sealed = run.finish().appMetadata.sealed_refresh_tokens?.[GOOGLE];
    assert.equal(typeof sealed, 'string', `sealed for ${JSON.stringify(id).slice(0, 40)}`);
    assert.equal(headerOf(sealed).sub, user.user_id);
    assert.ok(tokenseal.open(sealed, KEYS, user.user_id) === TOKEN);
  }
});

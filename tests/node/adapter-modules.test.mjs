// Each Auth0 file inlines a module built for it alone (scripts/build.sh: features
// wasm-action and wasm-rule), so that neither carries the other's code: the Action's
// size has a budget (bench/action.mjs). This holds each module's exports to exactly the
// core functions its adapter's sources call (`core.name(`), so an export added to the
// shared boundary without its feature, or a call the module cannot answer, fails here
// rather than in a deployed login.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

const ADAPTERS = {
  'target/wasm-action': ['js-shim/action.js', 'js-shim/http.js', 'js-shim/common.js'],
  'target/wasm-rule': ['rules/rule.js', 'js-shim/common.js'],
};
const BUNDLES = { 'dist/action.js': 'target/wasm-action', 'dist/rule.js': 'target/wasm-rule' };

/** The core functions the sources call, as `core.name(`. */
function calledBy(sources) {
  const names = new Set();
  for (const source of sources) {
    for (const [, name] of readFileSync(join(ROOT, source), 'utf8').matchAll(/\bcore\.([A-Za-z]\w*)\(/g)) names.add(name);
  }
  return [...names].sort();
}

/** The module's exported functions, without wasm-bindgen's own (memory, allocation,
 * the externref table, start). */
function exportedBy(dir) {
  const module = new WebAssembly.Module(readFileSync(join(ROOT, dir, 'tokenseal_bg.wasm')));
  return WebAssembly.Module.exports(module)
    .filter(({ kind, name }) => kind === 'function' && !name.startsWith('__'))
    .map(({ name }) => name)
    .sort();
}

for (const [dir, sources] of Object.entries(ADAPTERS)) {
  test(`${dir} exports exactly what ${sources[0]} and its helpers call`, () => {
    const called = calledBy(sources);
    assert.ok(called.includes('planLogin'), 'the sources were read');
    assert.deepEqual(exportedBy(dir), called);
  });
}

for (const [file, dir] of Object.entries(BUNDLES)) {
  test(`${file} inlines ${dir}'s module, byte for byte`, () => {
    const literals = [...readFileSync(join(ROOT, file), 'utf8').matchAll(/["']([A-Za-z0-9+/=]{10000,})["']/g)];
    assert.equal(literals.length, 1, 'one inlined module');
    const inlined = brotliDecompressSync(Buffer.from(literals[0][1], 'base64'));
    assert.ok(inlined.equals(readFileSync(join(ROOT, dir, 'tokenseal_bg.wasm'))));
  });
}

// The feature split itself: the Action's module cannot plan removals (a shape is an
// unknown member), the Rule's can.
const G = 'google-oauth2';
const input = {
  user: { user_id: `${G}|1`, identities: [{ provider: G, connection: G, user_id: '1' }], app_metadata: {} },
  shape: { root: ['user_id', 'identities', 'app_metadata', 'access_token'], identities: [['provider', 'connection', 'user_id']], appMetadata: [] },
  read: 'never',
};
const KEYS = JSON.stringify({ keys: [{ kty: 'oct', kid: 'k', k: Buffer.alloc(32, 7).toString('base64url') }] });

test('target/wasm-action plans no removals: a shape is refused with ERR_INPUT_INVALID', () => {
  const core = require(join(ROOT, 'target/wasm-action/tokenseal.js'));
  assert.throws(() => core.planLogin(input, KEYS), (error) => error.code === 'ERR_INPUT_INVALID');
  const { shape, ...withoutShape } = input;
  assert.ok(shape);
  assert.equal(core.planLogin(withoutShape, KEYS).removals, null);
});

test('target/wasm-rule plans removals', () => {
  const core = require(join(ROOT, 'target/wasm-rule/tokenseal.js'));
  assert.deepEqual(core.planLogin(input, KEYS).removals.root, ['access_token']);
});

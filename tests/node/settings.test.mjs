// The one setting the adapters read without the core (TOKENSEAL_ON_ERROR, when there is
// no WebAssembly) is read as the core reads it (src/action.rs): the two must never
// disagree on whether a login is denied.
//
//   node --test tests/node/settings.test.mjs     (after `bash scripts/build.sh`)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const core = require(join(ROOT, 'pkg/tokenseal.js'));
const { deniesWithoutCore } = require(join(ROOT, 'js-shim/common.js'));

test('deniesWithoutCore agrees with the core on TOKENSEAL_ON_ERROR, whitespace of every kind included', () => {
  // Every character Rust's str::trim removes, and two that JavaScript's trim() treats
  // differently (U+FEFF removed by it, U+0085 kept), around "deny", and other values.
  const spaces = ['\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u200b'];
  const values = ['deny', 'Deny', 'continue', '', 'denyx', ...spaces.flatMap((s) => [`${s}deny`, `deny${s}`, `${s}deny${s}`])];
  for (const value of values) {
    const withCore = core.actionConfig({ TOKENSEAL_ON_ERROR: value }).denyOnError;
    assert.equal(deniesWithoutCore({ TOKENSEAL_ON_ERROR: value }), withCore, JSON.stringify(value));
  }
  assert.equal(deniesWithoutCore({ TOKENSEAL_ON_ERROR: 1 }), false);
  assert.equal(deniesWithoutCore({}), false);
});

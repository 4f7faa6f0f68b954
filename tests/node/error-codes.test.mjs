// Every error code is defined once, in src/error.rs, and reaches TypeScript users as the
// closed union `ErrorCode` in pkg/tokenseal.d.ts. The JavaScript hosts (the Action, the
// Rule, the backend module) raise some codes themselves; this test holds them to that one
// list, so a code invented in a shim fails here instead of surprising a backend that
// switches on `error.code`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function unionCodes() {
  const dts = readFileSync(join(ROOT, 'pkg', 'tokenseal.d.ts'), 'utf8');
  const union = dts.match(/export type ErrorCode =([^;]*);/);
  assert.ok(union, 'pkg/tokenseal.d.ts declares ErrorCode');
  return [...union[1].matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1]);
}

function hostCodes() {
  const found = new Map();
  for (const dir of ['js-shim', 'rules']) {
    for (const file of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(ROOT, dir, file), 'utf8');
      for (const m of text.matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) found.set(m[1], `${dir}/${file}`);
    }
  }
  return found;
}

test('thrown errors and verdicts are typed with the ErrorCode union', () => {
  const dts = readFileSync(join(ROOT, 'pkg', 'tokenseal.d.ts'), 'utf8');
  assert.match(dts, /interface TokenSealError extends Error \{ code: ErrorCode \}/);
  assert.match(dts, /\{ action: "fail"; code: ErrorCode \}/);
  assert.ok(!/notices: string\[\]/.test(dts), 'notices are typed ErrorCode[]');
});

test('the ErrorCode union lists each code once', () => {
  const codes = unionCodes();
  assert.ok(codes.length > 30, `only ${codes.length} codes`);
  assert.equal(new Set(codes).size, codes.length);
});

test('every code the JavaScript hosts raise is in the ErrorCode union', () => {
  const union = new Set(unionCodes());
  const found = hostCodes();
  assert.ok(found.has('ERR_WASM_UNAVAILABLE') && found.has('ERR_SAVE_FAILED'), 'the scan sees the shims');
  for (const [code, file] of found) assert.ok(union.has(code), `${code} (${file}) is not defined in src/error.rs`);
});

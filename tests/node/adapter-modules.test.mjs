// Each Auth0 file inlines a module built for it alone (scripts/build.sh: features
// wasm-action and wasm-rule), so that neither carries the other's code: the Action's
// size has a budget (bench/action.mjs). This holds each module's exports to exactly the
// core functions its adapter's sources call (`core.name(`), so an export added to the
// shared boundary without its feature, or a call the module cannot answer, fails here
// rather than in a deployed login.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const ADAPTERS = {
  'target/wasm-action': ['js-shim/action.js', 'js-shim/http.js', 'js-shim/common.js'],
  'target/wasm-rule': ['rules/rule.js', 'js-shim/common.js'],
};

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

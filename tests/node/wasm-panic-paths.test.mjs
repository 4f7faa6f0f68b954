// The optimized module must not link core's string-slicing panic. `&s[a..b]` on a str,
// where the compiler cannot prove the bounds, links `str::slice_error_fail`; its message
// formatting pulls `char`'s Debug and the Unicode tables into the wasm. That costs 7 to 9 KB
// of a module with a size budget, and one such slice anywhere in the core is enough (a
// `&str` pattern search in management_base was the last one). The panic message's text
// lies in the module's data whenever the path is linked, so its absence is the check.
//
// A failure is fixed in the Rust code (`str::get`, `split_at_checked`, `strip_prefix`,
// byte-wise scanning), not here. Sizes themselves are measured by bench/, not asserted.
//
// TOKENSEAL_PKG_DIR points the test at another wasm-pack output directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// pkg/ (every export), target/wasm-action/ and target/wasm-rule/ (the modules inlined
// into dist/action.js and dist/rule.js).
const MODULES = process.env.TOKENSEAL_PKG_DIR
  ? [resolve(process.env.TOKENSEAL_PKG_DIR)]
  : [join(ROOT, 'pkg'), join(ROOT, 'target', 'wasm-action'), join(ROOT, 'target', 'wasm-rule')];

for (const dir of MODULES) {
  test(`${dir}: the module links no panicking string slice`, () => {
    const wasm = readFileSync(join(dir, 'tokenseal_bg.wasm'));
    // A sanity check that the data section is searchable at all: text every module
    // carries (an error code of tokenseal's own, from src/error.rs).
    assert.ok(wasm.includes('ERR_DECRYPT'), 'the module data is searchable');
    for (const marker of ['is not a char boundary', 'is out of bounds of `']) {
      assert.ok(!wasm.includes(marker), `tokenseal_bg.wasm carries core's str-slicing panic message ("${marker}")`);
    }
  });
}

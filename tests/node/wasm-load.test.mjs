// Load test of the optimized module as shipped: pkg/tokenseal_bg.wasm must compile, and
// the generated glue must instantiate it and run a seal/open round trip in a fresh Node
// process. A broken wasm-opt pass can emit a module that validates and builds but fails
// at instantiation (for example "WebAssembly.Table.set(): Argument 1 is invalid" from
// the externref table setup); only loading it the way users do catches that.
//
// Sizes are deliberately not asserted here: they belong to bench/seal-open.mjs.
//
// TOKENSEAL_PKG_DIR points the test at another wasm-pack output directory (for example
// a candidate build); the default is the repository's pkg/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG_DIR = process.env.TOKENSEAL_PKG_DIR
  ? resolve(process.env.TOKENSEAL_PKG_DIR)
  : fileURLToPath(new URL('../../pkg/', import.meta.url));
const PKG_JS = join(PKG_DIR, 'tokenseal.js');
const PKG_WASM = join(PKG_DIR, 'tokenseal_bg.wasm');

const EXPORTED_FUNCTIONS = ['seal', 'open', 'inspect', 'sanitize', 'planLogin', 'generateKeySet'];

test('pkg/tokenseal_bg.wasm is a valid module that compiles', () => {
  const bytes = readFileSync(PKG_WASM);
  assert.ok(bytes.length > 8);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'wasm magic');
  assert.ok(WebAssembly.validate(bytes), 'WebAssembly.validate accepts it');
  const module = new WebAssembly.Module(bytes);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of [...EXPORTED_FUNCTIONS, 'memory']) {
    assert.ok(exports.includes(name), `the module exports ${name}`);
  }
});

test('every import of the module is provided by the generated glue', () => {
  const module = new WebAssembly.Module(readFileSync(PKG_WASM));
  const glue = readFileSync(PKG_JS, 'utf8');
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    assert.ok(glue.includes(name), `the glue defines ${from}.${name}`);
  }
});

test('a fresh Node process loads pkg/tokenseal.js and round-trips a token', () => {
  // The child generates its own key and uses a fake token; it prints only a verdict.
  const script = `
    const tokenseal = require(${JSON.stringify(PKG_JS)});
    const keys = tokenseal.generateKeySet();
    const token = '1//0gFAKE-wasm-load-test-' + 'A'.repeat(80);
    const sub = 'google-oauth2|103547991597142817347';
    const sealed = tokenseal.seal(token, keys, sub);
    const header = tokenseal.inspect(sealed);
    let code = null;
    try { tokenseal.open(sealed, keys, 'auth0|someone-else'); } catch (err) { code = err.code; }
    const clean = tokenseal.sanitize({ user_id: sub, identities: [{ provider: 'google-oauth2', refresh_token: token }] });
    const result = {
      roundTrip: tokenseal.open(sealed, keys, sub) === token,
      header: { typ: header.typ, alg: header.alg, enc: header.enc, sub: header.sub },
      mismatchCode: code,
      sanitized: !('refresh_token' in clean.identities[0]),
    };
    process.stdout.write(JSON.stringify(result));
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.error, undefined);
  // On failure show stderr (the load error), which holds no secret: the child only has a
  // generated key and a fake token, and tokenseal errors never include either.
  assert.equal(child.status, 0, `the child failed to load or run the module:\n${child.stderr}`);
  assert.doesNotMatch(child.stderr, /WebAssembly|RuntimeError|CompileError|LinkError/);
  assert.deepEqual(JSON.parse(child.stdout), {
    roundTrip: true,
    header: { typ: 'tokenseal.v1+jwe', alg: 'dir', enc: 'A256GCM', sub: 'google-oauth2|103547991597142817347' },
    mismatchCode: 'ERR_SUBJECT_MISMATCH',
    sanitized: true,
  });
});

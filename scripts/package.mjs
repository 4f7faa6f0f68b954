// Makes pkg/ (wasm-pack's output, built with --no-pack) the npm package `tokenseal`:
// a package.json with the version of Cargo.toml, and the backend module beside the core,
// so that backends `require('tokenseal')` and `require('tokenseal/backend')`. The core's
// glue gets the one change scripts/glue.mjs makes (strings copied in natively).
//
//   node scripts/package.mjs          (run by scripts/build.sh)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { withNativeStringCopy } from './glue.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path) => readFileSync(join(root, path), 'utf8');

function fail(message) {
  console.error(`[package] ${message}`);
  process.exit(1);
}

const cargo = read('Cargo.toml');
const field = (name) => (cargo.match(new RegExp(`^${name} = "([^"]+)"`, 'm')) || fail(`no ${name} in Cargo.toml`))[1];

// In the repository the backend module finds the core at ../pkg/; in the package it sits
// beside it. That one require is the only line that differs.
const CORE_REQUIRE = "require('../pkg/tokenseal.js')";
const backend = read('js-shim/backend.js');
if (backend.split(CORE_REQUIRE).length !== 2) fail('js-shim/backend.js no longer loads the core the expected way: update scripts/package.mjs');
// The core's glue copies strings into the module natively (scripts/glue.mjs).
try {
  writeFileSync(join(root, 'pkg', 'tokenseal.js'), withNativeStringCopy(read('pkg/tokenseal.js')));
} catch (error) {
  fail(`pkg/tokenseal.js: ${error.message}`);
}
writeFileSync(join(root, 'pkg', 'backend.js'), backend.replace(CORE_REQUIRE, "require('./tokenseal.js')"));
writeFileSync(join(root, 'pkg', 'http.js'), read('js-shim/http.js'));
writeFileSync(join(root, 'pkg', 'store.js'), read('js-shim/store.js'));

const manifest = {
  name: 'tokenseal',
  version: field('version'),
  description: field('description'),
  license: field('license'),
  main: 'tokenseal.js',
  types: 'tokenseal.d.ts',
  exports: {
    '.': { types: './tokenseal.d.ts', default: './tokenseal.js' },
    './backend': './backend.js',
    './package.json': './package.json',
  },
  files: ['tokenseal.js', 'tokenseal.d.ts', 'tokenseal_bg.wasm', 'tokenseal_bg.wasm.d.ts', 'backend.js', 'http.js', 'store.js'],
  // The backend's optional shared store takes the app's own node-redis client; none is
  // required, and the package requires none itself.
  peerDependencies: { redis: '>=4' },
  peerDependenciesMeta: { redis: { optional: true } },
  engines: { node: '>=18' },
  keywords: ['auth0', 'refresh-token', 'jwe', 'webassembly', 'google'],
};
writeFileSync(join(root, 'pkg', 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`[package] pkg/: npm package ${manifest.name}@${manifest.version} (core and ./backend)`);

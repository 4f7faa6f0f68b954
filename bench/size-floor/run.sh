#!/usr/bin/env bash
# Size benchmark: builds the dependency-floor probe in this folder with tokenseal's
# release profile and compares it with pkg/tokenseal_bg.wasm (run scripts/build.sh
# first). Also checks that the probe works, so the number is of a module that loads.
#   bash bench/size-floor/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/scripts/env.sh"
out="$root/bench/results/size-floor"
CARGO_TARGET_DIR="$root/target/size-floor" wasm-pack --log-level warn build "$here" --release --target nodejs --out-dir "$out" --out-name floor --no-pack >&2
node - "$out/floor.js" "$out/floor_bg.wasm" "$root/pkg/tokenseal_bg.wasm" <<'JS'
const fs = require('node:fs');
const zlib = require('node:zlib');
const [glue, floorWasm, tokensealWasm] = process.argv.slice(2);
const floor = require(glue);
const key = Buffer.alloc(32, 7).toString('base64url');
const sealed = floor.seal('1//0g-floor-probe', key, 'user');
if (floor.open(sealed, key) !== '1//0g-floor-probe') throw new Error('the probe does not round-trip');
const size = (path) => {
  const bytes = fs.readFileSync(path);
  return { raw: bytes.length, gzip9: zlib.gzipSync(bytes, { level: 9 }).length };
};
const f = size(floorWasm);
const t = fs.existsSync(tokensealWasm) ? size(tokensealWasm) : null;
console.log('| module | raw bytes | gzip -9 bytes |');
console.log('|---|---:|---:|');
console.log(`| dependency floor (bench/size-floor) | ${f.raw} | ${f.gzip9} |`);
if (t) console.log(`| pkg/tokenseal_bg.wasm | ${t.raw} | ${t.gzip9} |`);
if (t) console.log(`| difference: tokenseal's own logic | ${t.raw - f.raw} | ${t.gzip9 - f.gzip9} |`);
JS

#!/usr/bin/env bash
# Builds everything: the WebAssembly package pkg/ and the Action's and Rule's module
# target/wasm-login/ (wasm-pack, --target nodejs, release
# profile tuned for size, wasm-opt -Oz), the deployable dist/action.js and dist/rule.js,
# and the command line target/release/tokenseal (feature "cli").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# pkg/: every export (feature wasm-full). target/wasm-login/: only what the Action and
# the Rule call (feature wasm), the module scripts/bundle.mjs inlines into dist/.
wasm-pack --log-level warn build --release --target nodejs --out-dir pkg --out-name tokenseal --no-pack -- --features wasm-full
wasm-pack --log-level warn build --release --target nodejs --out-dir target/wasm-login --out-name tokenseal --no-pack -- --features wasm
for module in pkg/tokenseal_bg.wasm target/wasm-login/tokenseal_bg.wasm; do
  test -f "$module" || { echo "[build] $module was not produced" >&2; exit 1; }
  echo "[build] $module: $(wc -c <"$module") bytes ($(gzip -9 -c "$module" | wc -c) gzipped)"
done
node scripts/package.mjs
node scripts/bundle.mjs
cargo build --release --quiet --features cli --bin tokenseal --example refresh
echo "[build] target/release/tokenseal: $(wc -c <target/release/tokenseal) bytes"

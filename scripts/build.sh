#!/usr/bin/env bash
# Builds everything: the WebAssembly package pkg/ (wasm-pack, --target nodejs, release
# profile tuned for size, wasm-opt -Oz), the deployable dist/action.js and dist/rule.js,
# and the command line target/release/tokenseal (feature "cli").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
wasm-pack --log-level warn build --release --target nodejs --out-dir pkg --out-name tokenseal --no-pack -- --features wasm
test -f pkg/tokenseal_bg.wasm || { echo "[build] pkg/tokenseal_bg.wasm was not produced" >&2; exit 1; }
raw=$(wc -c <pkg/tokenseal_bg.wasm)
gz=$(gzip -9 -c pkg/tokenseal_bg.wasm | wc -c)
echo "[build] pkg/tokenseal_bg.wasm: $raw bytes ($gz gzipped)"
node scripts/bundle.mjs
cargo build --release --quiet --features cli --bin tokenseal --example refresh
echo "[build] target/release/tokenseal: $(wc -c <target/release/tokenseal) bytes"

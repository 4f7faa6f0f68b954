#!/usr/bin/env bash
# Builds everything: the WebAssembly package pkg/, the Action's module target/wasm-action/
# and the Rule's target/wasm-rule/ (wasm-pack, --target nodejs, release profile tuned for
# size, wasm-opt -Oz), the deployable dist/action.js and dist/rule.js, and the command
# line target/release/tokenseal (feature "cli").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# pkg/: every export (feature wasm-full). target/wasm-action/ and target/wasm-rule/: only
# what that adapter calls (features wasm-action, wasm-rule; no default features, so the
# Action's leaves out the Rule's removals), the modules scripts/bundle.mjs inlines into
# dist/action.js and dist/rule.js.
wasm-pack --log-level warn build --release --target nodejs --out-dir pkg --out-name tokenseal --no-pack -- --features wasm-full
for adapter in action rule; do
  wasm-pack --log-level warn build --release --target nodejs --out-dir "target/wasm-$adapter" --out-name tokenseal --no-pack -- --no-default-features --features "wasm-$adapter"
done
for module in pkg/tokenseal_bg.wasm target/wasm-action/tokenseal_bg.wasm target/wasm-rule/tokenseal_bg.wasm; do
  test -f "$module" || { echo "[build] $module was not produced" >&2; exit 1; }
  echo "[build] $module: $(wc -c <"$module") bytes ($(gzip -9 -c "$module" | wc -c) gzipped)"
done
node scripts/package.mjs
node scripts/bundle.mjs
cargo build --release --quiet --features cli --bin tokenseal --example refresh
echo "[build] target/release/tokenseal: $(wc -c <target/release/tokenseal) bytes"

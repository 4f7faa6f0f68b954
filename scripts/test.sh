#!/usr/bin/env bash
# Sets up and runs every test of tokenseal: formatting, lints, native Rust tests
# (unit, integration, known-answer vectors, proptest, doctests), the wasm-bindgen tests
# in Node, the release build, the Node test suites, and the Python wheel with pytest.
# Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh

step() { printf '\n== %s ==\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy (native and wasm32, all targets, warnings are errors)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --no-default-features -- -D warnings
cargo clippy --all-targets --features cli -- -D warnings
cargo clippy --all-targets --target wasm32-unknown-unknown --no-default-features --features wasm-action -- -D warnings
cargo clippy --all-targets --target wasm32-unknown-unknown --no-default-features --features wasm-rule -- -D warnings
cargo clippy --all-targets --target wasm32-unknown-unknown --features wasm-full -- -D warnings
cargo clippy -p tokenseal-python --all-targets -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet --features cli

step "the crate as crates.io would take it: cargo publish --dry-run"
cargo publish --dry-run --allow-dirty --quiet

step "native tests: cargo test --features cli, and the library without default features"
cargo test --features cli
# The Action's module is built without feature removals: its decisions are tested too.
cargo test --lib --no-default-features

step "wasm-bindgen tests in Node: wasm-pack test --node"
wasm-pack --log-level warn test --node -- --features wasm-full --test wasm_boundary

step "release build: pkg/, dist/, target/release/tokenseal"
bash scripts/build.sh

step "Node tests: node --test"
# A test that hangs fails after five minutes instead of holding CI until its limit.
node --test --test-timeout=300000 --test-reporter=spec tests/node/ tests/cli/ tests/auth0-standin/ tests/rule/ tests/rule-e2e/ tests/backend/ tests/package/ tests/action/ deploy/

step "Python: build the wheel (maturin), install it into .venv, run pytest"
rm -f target/wheels/tokenseal-*.whl
.venv/bin/maturin build --release --quiet -m python/Cargo.toml -o target/wheels
.venv/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/tokenseal-*.whl
.venv/bin/pytest -q python/tests

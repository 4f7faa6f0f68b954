#!/usr/bin/env bash
# Installs exactly what is missing to build and test tokenseal, from the package
# registries only (crates.io, npm, Debian). Idempotent: a second run checks and exits in
# seconds. A fresh machine needs only Rust (rustup), Node and npm (and apt-get, for
# redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

WASM_PACK_VERSION=0.15.1
# The wasm-bindgen CLI must be exactly the crate version in Cargo.lock, or the glue it
# generates does not match the crate (../shared/TOOLCHAIN.md). Cargo.toml pins it with "=".
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "[setup] cannot read the wasm-bindgen version from Cargo.lock" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"
have cargo || { echo "[setup] cargo not found: install Rust with rustup first" >&2; exit 1; }
have node && have npm || { echo "[setup] node and npm are required" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding rustup component $component"
    rustup component add "$component"
  fi
done

# The npm package "wasm-pack" downloads its binary from GitHub at install: it fails
# here. cargo builds it from crates.io instead.
if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  say "installing wasm-pack $WASM_PACK_VERSION (about two minutes)"
  cargo install wasm-pack --locked --version "$WASM_PACK_VERSION"
fi
# No --locked: the CLI's own lockfile pins a crate version the registry lacks.
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ] \
  || ! have wasm-bindgen-test-runner; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about two minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm tools: binaryen's wasm-opt (Debian's v108 emits a .wasm that crashes on load),
# esbuild to minify the Auth0 files, jose for interop tests. The lockfile makes the
# install exact.
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/esbuild ] || ! npm ls --silent >/dev/null 2>&1; then
  say "installing npm dev dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Test suites with their own pinned npm dependencies (the rules simulator, the OAuth
# server), kept out of the root package so the product has no npm dependencies.
for lock in tests/*/package-lock.json; do
  dir=$(dirname "$lock")
  if ! (cd "$dir" && npm ls --silent >/dev/null 2>&1); then
    say "installing npm dependencies of $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
# redis-server, Debian's, for the tests that share state across backend processes
# (tests/backend/replicas.test.cjs starts and stops its own on a free loopback port).
if ! have redis-server; then
  say "installing redis-server (Debian)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
# The Python package's build and test tools (maturin, pytest, jwcrypto,
# requests-oauthlib), pinned in python/requirements-test.txt, in .venv/ (git-ignored).
if [ ! -x .venv/bin/python ]; then
  say "creating .venv (Python $(python3 --version | awk '{print $2}'))"
  # Debian's own python3 needs python3-venv for this; pip's virtualenv is the fallback.
  python3 -m venv .venv 2>/dev/null || { rm -rf .venv; python3 -m pip install --quiet --user virtualenv && python3 -m virtualenv --quiet .venv; }
fi
missing=$(grep -v '^#' python/requirements-test.txt | grep . | grep -vixF -f <(.venv/bin/pip freeze 2>/dev/null) || true)
if [ -n "$missing" ]; then
  say "installing the Python test tools into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
fi
say "ok: $(redis-server --version | awk '{print $3}'), $(wasm-pack --version), $(wasm-bindgen --version), wasm-opt $(node_modules/.bin/wasm-opt --version | awk '{print $3}'), node $(node --version)"

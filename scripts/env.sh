# Sourced by the project's scripts: puts cargo's bin and the project-local npm tools
# (wasm-opt from binaryen) on PATH, so wasm-pack finds the right wasm-opt.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

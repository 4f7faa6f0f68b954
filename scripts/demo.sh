#!/usr/bin/env bash
# The main job: sets up, builds, and runs the end-to-end story through the real
# dist/action.js against a local Auth0 on loopback (scripts/story.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
node scripts/story.mjs

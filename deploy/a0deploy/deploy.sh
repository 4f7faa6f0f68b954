#!/usr/bin/env bash
# Deploys tokenseal with the Auth0 Deploy CLI (a0deploy): copies ../../dist/action.js to
# ./actions/tokenseal/code.js (the path tenant.yaml names), checks that every keyword the
# import needs has a value, then runs
#   a0deploy import --config_file config.json --input_file tenant.yaml
#
#   export AUTH0_CLIENT_SECRET=...              # the Deploy CLI's own application (config.json names its id)
#   export TOKENSEAL_KEYS='{"keys":[...]}'      # the Action's secrets, by keyword:
#   export TOKENSEAL_AUTH0_CLIENT_ID=...  TOKENSEAL_AUTH0_CLIENT_SECRET=...
#   bash deploy/a0deploy/deploy.sh [extra a0deploy arguments, e.g. --debug]
#
# TOKENSEAL_AUTH0_DOMAIN, TOKENSEAL_FETCH, TOKENSEAL_ON_ERROR and TOKENSEAL_RECHECK_HOURS
# come from config.json unless set in the environment. Secret values are never printed by
# this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

die() { printf '[tokenseal a0deploy] error: %s\n' "$*" >&2; exit 2; }

[[ -f config.json ]] || die "config.json not found next to tenant.yaml"
[[ -f "$root/dist/action.js" ]] || die "dist/action.js not found: run 'bash scripts/build.sh' first"
command -v node >/dev/null 2>&1 || die "node is needed"

# Every @@KEYWORD@@ of tenant.yaml must resolve, from config.json or the environment: an
# unresolved one would reach the tenant as the literal text, or be skipped.
node - <<'NODE' || exit 2
const fs = require('fs');
const yaml = fs.readFileSync('tenant.yaml', 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
const config = JSON.parse(fs.readFileSync('config.json', 'utf8'));
const mappings = { ...(config.AUTH0_KEYWORD_REPLACE_MAPPINGS || {}), ...process.env };
const missing = [...new Set([...yaml.matchAll(/(?:@@|##)([A-Za-z0-9_]+)(?:@@|##)/g)].map((m) => m[1]))]
  .filter((k) => typeof mappings[k] !== 'string' || mappings[k].trim() === '');
if (missing.length) {
  console.error(`[tokenseal a0deploy] error: no value for keyword(s) ${missing.join(', ')}: set them in the environment (secrets) or in config.json`);
  process.exit(2);
}
if (!process.env.AUTH0_CLIENT_SECRET && !process.env.AUTH0_ACCESS_TOKEN && !config.AUTH0_CLIENT_SECRET) {
  console.error('[tokenseal a0deploy] error: the Deploy CLI needs its own credentials: AUTH0_CLIENT_SECRET (or AUTH0_ACCESS_TOKEN)');
  process.exit(2);
}
NODE

mkdir -p actions/tokenseal
cp "$root/dist/action.js" actions/tokenseal/code.js

# With environment ingestion on, every environment variable is a keyword mapping, and the
# Deploy CLI replaces keywords inside the code file too: make sure none occurs there.
node - <<'NODE' || exit 2
const code = require('fs').readFileSync('actions/tokenseal/code.js', 'utf8');
const hit = Object.keys(process.env).find((k) => code.includes(`@@${k}@@`) || code.includes(`##${k}##`));
if (hit) {
  console.error(`[tokenseal a0deploy] error: the Action code contains the keyword marker of environment variable ${hit}`);
  process.exit(2);
}
NODE

A0DEPLOY="${A0DEPLOY:-a0deploy}"
command -v "$A0DEPLOY" >/dev/null 2>&1 || die "a0deploy is not on PATH (npm install -g auth0-deploy-cli)"
exec "$A0DEPLOY" import --config_file config.json --input_file tenant.yaml "$@"

#!/usr/bin/env bash
# Creates (or updates) the tokenseal post-login Action with the Auth0 CLI, deploys it and
# binds it to the Login flow (trigger post-login).
#
#   export TOKENSEAL_KEYS='{"keys":[...]}'            # the JWK Set (see deploy/README.md)
#   export AUTH0_DOMAIN=example.us.auth0.com          # the tenant's canonical domain
#   export AUTH0_CLIENT_ID=...  AUTH0_CLIENT_SECRET=...   # the M2M app with read:users, read:user_idp_tokens
#   export TOKENSEAL_CLAIM_NAMESPACE=https://app.example.com/   # optional
#   export TOKENSEAL_FETCH=always  TOKENSEAL_ON_ERROR=deny      # optional
#   export TOKENSEAL_RECHECK_HOURS=24                           # optional
#   export TOKENSEAL_PROVIDERS=google-oauth2,waad,acme-idp      # optional (default google-oauth2)
#   auth0 login                                        # once: the CLI's own (admin) login
#   bash deploy/auth0-cli.sh
#
# The environment variables above carry the Action's secrets and have the secrets' names.
# Script settings: TOKENSEAL_ACTION_NAME (default tokenseal), TOKENSEAL_RUNTIME (node22 or
# node18, default node22), AUTH0_CLI_TENANT (passed as --tenant to every auth0 command).
#
# The CLI's own credentials come from its saved login (`auth0 login`). Its opt-in
# environment mode (AUTH0_CLI_AUTH_MODE=env) reads AUTH0_DOMAIN, AUTH0_CLIENT_ID and
# AUTH0_CLIENT_SECRET, the very names of the Action's secrets here, so this script refuses
# to run in that mode and removes those three variables from the CLI's environment.
#
# Secret values are never printed. They do travel as `auth0 actions create/update -s
# NAME=VALUE` arguments, as the Auth0 CLI takes them, so other local users can see them in
# the process list while the command runs: run this on a machine you trust.
set -euo pipefail

cd "$(dirname "$0")/.."

REQUIRED=(TOKENSEAL_KEYS AUTH0_DOMAIN AUTH0_CLIENT_ID AUTH0_CLIENT_SECRET)
OPTIONAL=(TOKENSEAL_CLAIM_NAMESPACE TOKENSEAL_FETCH TOKENSEAL_ON_ERROR TOKENSEAL_RECHECK_HOURS TOKENSEAL_PROVIDERS)
NAME="${TOKENSEAL_ACTION_NAME:-tokenseal}"
RUNTIME="${TOKENSEAL_RUNTIME:-node22}"
TRIGGER=post-login
CODE_FILE=dist/action.js
CODE_LIMIT=100000 # Auth0: Action code at most 100 kB (customize/actions/limitations)

say() { printf '[tokenseal deploy] %s\n' "$*"; }
die() { printf '[tokenseal deploy] error: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------
# Check everything before the first auth0 command.

missing=()
for name in "${REQUIRED[@]}"; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
if ((${#missing[@]} > 0)); then
  die "missing environment variable(s): ${missing[*]} (see deploy/README.md); nothing was changed"
fi

if [[ -n "${AUTH0_CLI_AUTH_MODE:-}" ]]; then
  die "AUTH0_CLI_AUTH_MODE is set: in that mode the Auth0 CLI would log in with AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET, which here are the Action's read-only M2M credentials. Unset it and use 'auth0 login'."
fi

case "$RUNTIME" in node22 | node18) ;; *) die "TOKENSEAL_RUNTIME must be node22 or node18" ;; esac
case "${TOKENSEAL_FETCH:-}" in '' | auto | always) ;; *) die "TOKENSEAL_FETCH must be 'always' or 'auto' (or unset)" ;; esac
case "${TOKENSEAL_ON_ERROR:-}" in '' | deny | continue) ;; *) die "TOKENSEAL_ON_ERROR must be 'deny' or 'continue' (or unset)" ;; esac
# Whole hours from 0 to 8760, leading zeros allowed as the Action allows them; at most four
# digits after them, so bash arithmetic cannot overflow.
if [[ -n "${TOKENSEAL_RECHECK_HOURS:-}" ]] &&
  ! { [[ "$TOKENSEAL_RECHECK_HOURS" =~ ^0*[0-9]{1,4}$ ]] && ((10#$TOKENSEAL_RECHECK_HOURS <= 8760)); }; then
  die "TOKENSEAL_RECHECK_HOURS must be a whole number of hours from 0 to 8760 (or unset)"
fi

# Comma-separated keys: built-in provider names or connection names (letters, digits,
# hyphens). The Action reports a key it refuses and goes on; this catches typos first.
if [[ -n "${TOKENSEAL_PROVIDERS:-}" ]] &&
  ! [[ "$TOKENSEAL_PROVIDERS" =~ ^\ *[A-Za-z0-9-]+\ *(,\ *[A-Za-z0-9-]+\ *)*$ ]]; then
  die "TOKENSEAL_PROVIDERS must be comma-separated provider keys, e.g. google-oauth2,waad,my-connection (or unset)"
fi

[[ -f "$CODE_FILE" ]] || die "$CODE_FILE not found: run 'bash scripts/build.sh' first"
code_bytes=$(wc -c <"$CODE_FILE" | tr -d ' ')
((code_bytes <= CODE_LIMIT)) || die "$CODE_FILE is $code_bytes bytes, over Auth0's $CODE_LIMIT-byte Action code limit"

command -v node >/dev/null 2>&1 || die "node is needed to read the Auth0 CLI's JSON answers"
AUTH0_BIN="${AUTH0_CLI:-auth0}"
command -v "$AUTH0_BIN" >/dev/null 2>&1 || die "the Auth0 CLI ('$AUTH0_BIN') is not on PATH: https://github.com/auth0/auth0-cli"

# Values are read by node from the environment, never from its arguments.
node - <<'NODE' || die "secret values failed validation (the message above names the variable, never its value)"
const fail = (message) => { console.error(`[tokenseal deploy] error: ${message}`); process.exit(1); };
let set;
try { set = JSON.parse(process.env.TOKENSEAL_KEYS); } catch { fail('TOKENSEAL_KEYS is not JSON (it must be a JWK Set)'); }
if (!set || !Array.isArray(set.keys) || set.keys.length === 0) fail('TOKENSEAL_KEYS must be a JWK Set with at least one key');
for (const [i, jwk] of set.keys.entries()) {
  if (!jwk || jwk.kty !== 'oct' || typeof jwk.kid !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(String(jwk.k))) {
    fail(`TOKENSEAL_KEYS key #${i} is not a 256-bit "oct" key with a kid`);
  }
}
if (new Set(set.keys.map((k) => k.kid)).size !== set.keys.length) fail('TOKENSEAL_KEYS has two keys with the same kid');
const domain = process.env.AUTH0_DOMAIN;
if (!/^(https:\/\/)?[A-Za-z0-9.-]+\.[A-Za-z0-9-]+\/?$/.test(domain)) {
  fail('AUTH0_DOMAIN must be the tenant domain, e.g. example.us.auth0.com');
}
const ns = process.env.TOKENSEAL_CLAIM_NAMESPACE;
if (ns && !/^https?:\/\/[^/\s]+/.test(ns)) fail('TOKENSEAL_CLAIM_NAMESPACE must be an http(s) URL');
// The CLI parses each `-s NAME=VALUE` with pflag's stringToString: an argument with more
// than one '=' is read as CSV (commas split it, quotes break it) and a single pair loses
// trailing double quotes. Refuse values that would not arrive intact.
for (const name of ['TOKENSEAL_KEYS', 'AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET',
  'TOKENSEAL_CLAIM_NAMESPACE', 'TOKENSEAL_FETCH', 'TOKENSEAL_ON_ERROR', 'TOKENSEAL_RECHECK_HOURS']) {
  const value = process.env[name];
  if (!value) continue;
  if (value.length > 4096) fail(`${name} is longer than Auth0's 4096-character secret limit`);
  if (/[\r\n]/.test(value) || value.endsWith('"') || (value.includes('=') && /[,"]/.test(value))) {
    fail(`${name} holds characters the Auth0 CLI's -s flag would alter; set this secret with Terraform, the Deploy CLI or the dashboard`);
  }
}
NODE

# ---------------------------------------------------------------------------------------
# The auth0 commands. Output goes to a private temporary directory; on failure the CLI's
# error output is shown with every secret value replaced by [redacted].

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

tenant_args=(--no-color --no-input)
if [[ -n "${AUTH0_CLI_TENANT:-}" ]]; then tenant_args+=(--tenant "$AUTH0_CLI_TENANT"); fi

redacted() {
  node -e '
    let text = require("fs").readFileSync(process.argv[1], "utf8");
    for (const name of ["TOKENSEAL_KEYS","AUTH0_CLIENT_ID","AUTH0_CLIENT_SECRET","TOKENSEAL_CLAIM_NAMESPACE"]) {
      const value = process.env[name];
      if (value && value.length >= 4) text = text.split(value).join("[redacted]");
    }
    process.stderr.write(text.slice(-4000));
  ' "$1"
}

# a0 <what> <args...>: runs the Auth0 CLI without the Action's AUTH0_* variables in its
# environment, stdin closed (it reads piped stdin as request data); its stdout is left in
# $work/out. Stops the script with the redacted error output when the command fails.
a0() {
  local what=$1
  shift
  if ! env -u AUTH0_DOMAIN -u AUTH0_CLIENT_ID -u AUTH0_CLIENT_SECRET \
    "$AUTH0_BIN" "$@" "${tenant_args[@]}" </dev/null >"$work/out" 2>"$work/err"; then
    printf '[tokenseal deploy] error: %s failed:\n' "$what" >&2
    redacted "$work/err"
    exit 1
  fi
}

# json <expression>: evaluates a JavaScript expression on the JSON in $work/out (as `d`);
# fails when the CLI's answer is not JSON.
json() {
  node -e '
    let d;
    try { d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch {
      console.error("[tokenseal deploy] error: the Auth0 CLI did not answer with JSON");
      process.exit(3);
    }
    const v = (0, eval)("(d) => (" + process.argv[2] + ")")(d);
    if (v !== undefined && v !== null) process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$work/out" "$1"
}

# The secrets, as -s NAME=VALUE arguments (values straight from the environment).
secret_args=()
secret_names=()
for name in "${REQUIRED[@]}" "${OPTIONAL[@]}"; do
  if [[ -n "${!name:-}" ]]; then
    secret_args+=(-s "$name=${!name}")
    secret_names+=("$name")
  fi
done

# 1. Create or update. GET /api/v2/actions/actions filtered by triggerId and actionName.
a0 "looking up the Action" api get "actions/actions" -q "triggerId=$TRIGGER" -q "actionName=$NAME"
action_id=$(NAME="$NAME" json '((d && d.actions) || []).filter((a) => a.name === process.env.NAME).map((a) => a.id)[0]')

if [[ -z "$action_id" ]]; then
  say "creating Action '$NAME' ($TRIGGER, $RUNTIME, $code_bytes bytes of code, secrets: ${secret_names[*]})"
  a0 "auth0 actions create" actions create -n "$NAME" -t "$TRIGGER" -r "$RUNTIME" -c "$(cat "$CODE_FILE")" "${secret_args[@]}" --json
  a0 "looking up the new Action" api get "actions/actions" -q "triggerId=$TRIGGER" -q "actionName=$NAME"
  action_id=$(NAME="$NAME" json '((d && d.actions) || []).filter((a) => a.name === process.env.NAME).map((a) => a.id)[0]')
  [[ -n "$action_id" ]] || die "the Action was created but cannot be found by name"
else
  say "updating Action '$NAME' ($action_id): code, runtime $RUNTIME and secrets"
  a0 "auth0 actions update" actions update "$action_id" -n "$NAME" -r "$RUNTIME" -c "$(cat "$CODE_FILE")" "${secret_args[@]}" --force --json
fi

# 2. A new draft must be built before it can be deployed.
for ((i = 0; i < 60; i++)); do
  a0 "reading the Action's status" api get "actions/actions/$action_id"
  status=$(json 'd && d.status')
  [[ "$status" == built ]] && break
  [[ "$status" == failed ]] && die "Auth0 failed to build the Action; open it in the dashboard to see why"
  sleep 2
done
[[ "$status" == built ]] || die "the Action is still '$status' after two minutes; run this script again"

# 3. Deploy: a new immutable version; if already bound it runs from now on.
a0 "auth0 actions deploy" actions deploy "$action_id" --json
say "deployed Action $action_id"

# 4. Bind to post-login. PATCH .../bindings replaces the whole list, so the current
# bindings are kept, in order, and tokenseal is appended when it is not bound yet.
a0 "reading the $TRIGGER bindings" api get "actions/triggers/$TRIGGER/bindings" -q "per_page=100"
[[ -z "$(json '(d && typeof d.total === "number" && d.total > ((d.bindings || []).length)) ? "partial" : undefined')" ]] ||
  die "the $TRIGGER flow has more bindings than one page holds; bind tokenseal in the dashboard instead"
if [[ -n "$(ID="$action_id" json '((d && d.bindings) || []).some((b) => b.action && b.action.id === process.env.ID) ? "bound" : undefined')" ]]; then
  say "already bound to $TRIGGER"
else
  body=$(ID="$action_id" NAME="$NAME" json '({ bindings: ((d && d.bindings) || [])
      .map((b) => ({ ref: { type: "action_id", value: b.action.id }, display_name: b.display_name }))
      .concat([{ ref: { type: "action_id", value: process.env.ID }, display_name: process.env.NAME }]) })')
  a0 "binding to $TRIGGER" api patch "actions/triggers/$TRIGGER/bindings" --data "$body"
  a0 "checking the $TRIGGER bindings" api get "actions/triggers/$TRIGGER/bindings" -q "per_page=100"
  [[ -n "$(ID="$action_id" json '((d && d.bindings) || []).some((b) => b.action && b.action.id === process.env.ID) ? "bound" : undefined')" ]] ||
    die "the binding did not take: add the Action to the Login flow in the dashboard (Actions > Triggers > post-login)"
  say "bound to $TRIGGER (last in the flow; reorder it in the dashboard if needed)"
fi
say "done. Log in once through Google and look for 'tokenseal:' lines in the tenant logs."

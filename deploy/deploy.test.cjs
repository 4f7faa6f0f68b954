'use strict';
// Local checks of deploy/: what can be verified without an Auth0 tenant.
//
//   node --test deploy/
//
// - the probe Action runs with a stub event/api and prints its verdict, and with
//   WebAssembly removed (node --no-expose-wasm) says "cannot" without throwing;
// - the Deploy CLI and Terraform files name exactly the Action's secrets and use
//   dist/action.js;
// - deploy/auth0-cli.sh and deploy/a0deploy/deploy.sh refuse to run without their
//   environment variables, and with them drive a fake `auth0` / `a0deploy` that records
//   its arguments: the secret names reach the CLI, the secret values never reach the
//   scripts' own output.
//
// Assumption: the fake CLIs answer with the JSON shapes of the Management API endpoints
// the script calls (GET actions/actions -> {actions}, GET actions/actions/{id} -> action
// with status, GET/PATCH actions/triggers/{trigger}/bindings -> {bindings}); the real
// Auth0 CLI is not run here.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DEPLOY = __dirname;
const DIST = path.join(ROOT, 'dist', 'action.js');
const PROBE = path.join(DEPLOY, 'probe-action.js');

// The Action's contract: the secrets it reads, exactly.
const REQUIRED_SECRETS = ['TOKENSEAL_KEYS', 'AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'];
const OPTIONAL_SECRETS = ['TOKENSEAL_CLAIM_NAMESPACE', 'TOKENSEAL_FETCH', 'TOKENSEAL_ON_ERROR', 'TOKENSEAL_RECHECK_HOURS', 'TOKENSEAL_PROVIDERS'];
const CONTRACT = [...REQUIRED_SECRETS, ...OPTIONAL_SECRETS].sort();

const read = (p) => fs.readFileSync(p, 'utf8');
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const sorted = (xs) => [...xs].sort();

// ------------------------------------------------------------------------------ probe

test('the probe Action runs with a stub event/api and prints a verdict', async () => {
  const probe = require(PROBE);
  const lines = [];
  const original = console.log;
  console.log = (...args) => lines.push(args.join(' '));
  try {
    const api = new Proxy({}, { get: () => { throw new Error('the probe must not use api'); } });
    await probe.onExecutePostLogin({ secrets: {}, user: { user_id: 'auth0|probe' } }, api);
  } finally {
    console.log = original;
  }
  assert.ok(lines.length >= 2, 'prints its checks and a verdict');
  for (const line of lines) {
    assert.ok(line.startsWith('tokenseal-probe: '), line);
    assert.ok(line.length <= 256, 'Auth0 keeps 256 characters of a console.log line');
  }
  assert.equal(lines.at(-1), 'tokenseal-probe: verdict: tokenseal can run here');
  assert.ok(lines.some((l) => l.includes(process.version)), 'reports the node version');
  const report = probe.probe();
  assert.equal(report.canRun, true);
  assert.deepEqual(
    report.checks.map((c) => c.name),
    ['node', 'webassembly', 'compile', 'memory', 'brotli', 'fetch', 'text', 'random'],
  );
});

test('without WebAssembly (node --no-expose-wasm) the probe says "cannot" and does not throw', () => {
  const script = `
    const probe = require(${JSON.stringify(PROBE)});
    probe.onExecutePostLogin({}, {}).then(
      () => console.log('RESOLVED'),
      (e) => { console.log('REJECTED ' + e); process.exitCode = 3; });`;
  const r = spawnSync(process.execPath, ['--no-expose-wasm', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.at(-1), 'RESOLVED');
  const verdict = lines.at(-2);
  assert.match(verdict, /^tokenseal-probe: verdict: cannot: /);
  assert.match(verdict, /webassembly \(WebAssembly is not defined\)/);
  assert.match(lines.join('\n'), /FAIL compile/);
  assert.match(lines.join('\n'), /ok {3}brotli/, 'the other checks still run');
});

test('the probe survives a runtime whose checks themselves throw', () => {
  // zlib and crypto missing, console.log throwing: still no exception.
  const script = `
    const Module = require('module');
    const load = Module._load;
    Module._load = function (name, ...rest) {
      if (name === 'zlib' || name === 'crypto' || name === 'util') throw new Error('not allowed: ' + name);
      return load.call(this, name, ...rest);
    };
    const probe = require(${JSON.stringify(PROBE)});
    const report = probe.probe();
    process.stdout.write(JSON.stringify({ canRun: report.canRun, verdict: report.verdict }) + '\\n');
    console.log = () => { throw new Error('console is gone'); };
    probe.onExecutePostLogin({}, {}).then(() => process.stdout.write('RESOLVED\\n'));`;
  const r = spawnSync(process.execPath, ['--no-expose-wasm', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [first, second] = r.stdout.trim().split('\n');
  const report = JSON.parse(first);
  assert.equal(report.canRun, false);
  assert.match(report.verdict, /^cannot: .*brotli \(not allowed: zlib\)/);
  assert.equal(second, 'RESOLVED');
});

// --------------------------------------------------------------------------- a0deploy

/** The `- name:` entries under `secrets:` of tenant.yaml: active ones and commented ones. */
function yamlSecrets(text) {
  const active = [];
  const commented = [];
  for (const line of text.split('\n')) {
    const m = /^(\s*)(#\s*)?- name: (\S+)\s*$/.exec(line);
    if (!m) continue;
    if (line.trimStart().startsWith('- name: tokenseal')) continue; // the action's own name
    (m[2] ? commented : active).push(m[3]);
  }
  return { active, commented };
}

/** a0deploy's documented keyword replacement for @@KEY@@ (quotes around it included). */
function replaceArrayKeywords(text, mappings) {
  let out = text;
  for (const [key, value] of Object.entries(mappings)) {
    out = out.replace(new RegExp(`'@@${key}@@'|"@@${key}@@"|@@${key}@@`, 'g'), () => JSON.stringify(value));
  }
  return out;
}

test('a0deploy tenant.yaml: one post-login Action with exactly the contract secrets', () => {
  const text = read(path.join(DEPLOY, 'a0deploy', 'tenant.yaml'));
  const { active, commented } = yamlSecrets(text);
  assert.deepEqual(sorted([...active, ...commented]), CONTRACT, 'every contract secret, no other');
  for (const name of REQUIRED_SECRETS) assert.ok(active.includes(name), `${name} is set`);
  assert.match(text, /^actions:\n {2}- name: tokenseal\n {4}code: \.\/actions\/tokenseal\/code\.js\n/m);
  assert.match(text, /^ {4}runtime: node22$/m);
  assert.match(text, /^ {4}dependencies: \[\]$/m);
  assert.match(text, /^ {4}deployed: true$/m);
  assert.match(text, /^ {4}supported_triggers:\n {6}- id: post-login\n {8}version: v3$/m);
  assert.match(text, /^triggers:\n {2}post-login:\n {4}- action_name: tokenseal\n {6}display_name: tokenseal$/m);
  // Every active secret value is a keyword; the Action's own M2M credentials do not use
  // the AUTH0_* names, which the Deploy CLI reads as its own login.
  const values = [...text.matchAll(/^ {8}value: '@@([A-Z0-9_]+)@@'$/gm)].map((m) => m[1]);
  assert.equal(values.length, active.length);
  assert.ok(values.every((k) => k.startsWith('TOKENSEAL_')), values.join());
});

test('a0deploy keyword replacement keeps a JWK Set (quotes and all) one YAML string', () => {
  const text = read(path.join(DEPLOY, 'a0deploy', 'tenant.yaml'));
  const keys = JSON.stringify({ keys: [{ kty: 'oct', kid: "it's-2026", alg: 'A256GCM', use: 'enc', k: 'x'.repeat(43) }] });
  const replaced = replaceArrayKeywords(text, { TOKENSEAL_KEYS: keys, TOKENSEAL_AUTH0_CLIENT_SECRET: 'a"b\\c' });
  const keyLine = replaced.split('\n').find((l) => l.includes('kty'));
  const scalar = keyLine.replace(/^ {8}value: /, '');
  assert.equal(JSON.parse(scalar), keys, 'a double-quoted YAML scalar that is also a JSON string');
  const secretLine = replaced.split('\n').find((l) => l.includes('a\\"b'));
  assert.equal(JSON.parse(secretLine.replace(/^ {8}value: /, '')), 'a"b\\c');
});

test('a0deploy config.json: Deploy CLI settings, non-secret mappings only', () => {
  const config = JSON.parse(read(path.join(DEPLOY, 'a0deploy', 'config.json')));
  assert.deepEqual(config.AUTH0_INCLUDED_ONLY, ['actions', 'triggers'], 'touches nothing else in the tenant');
  assert.equal(config.AUTH0_ALLOW_DELETE, false);
  assert.equal(config.AUTH0_CLIENT_SECRET, undefined, 'the Deploy CLI secret comes from the environment');
  const mappings = config.AUTH0_KEYWORD_REPLACE_MAPPINGS;
  assert.ok(mappings && typeof mappings === 'object');
  for (const secret of ['TOKENSEAL_KEYS', 'TOKENSEAL_AUTH0_CLIENT_ID', 'TOKENSEAL_AUTH0_CLIENT_SECRET']) {
    assert.equal(mappings[secret], undefined, `${secret} comes from the environment, not the file`);
  }
  assert.equal(mappings.TOKENSEAL_FETCH, 'auto');
  assert.equal(mappings.TOKENSEAL_ON_ERROR, 'continue');
  assert.equal(mappings.TOKENSEAL_RECHECK_HOURS, '24', 'the Action\'s default, as a string');
});

function writeExecutable(file, text) {
  fs.writeFileSync(file, text);
  fs.chmodSync(file, 0o755);
}

test('a0deploy/deploy.sh refuses without its secrets, then copies dist/action.js and imports', () => {
  const dir = tmp('tokenseal-a0deploy-');
  const log = path.join(dir, 'calls.jsonl');
  const fake = path.join(dir, 'a0deploy');
  writeExecutable(
    fake,
    `#!${process.execPath}
require('fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd() }) + '\\n');
`,
  );
  const script = path.join(DEPLOY, 'a0deploy', 'deploy.sh');
  const base = { PATH: process.env.PATH, HOME: process.env.HOME, A0DEPLOY: fake };

  const refused = spawnSync('bash', [script], { encoding: 'utf8', env: base });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /TOKENSEAL_KEYS/);
  assert.match(refused.stderr, /TOKENSEAL_AUTH0_CLIENT_ID/);
  assert.match(refused.stderr, /TOKENSEAL_AUTH0_CLIENT_SECRET/);
  assert.ok(!fs.existsSync(log), 'a0deploy was not run');

  const secrets = {
    TOKENSEAL_KEYS: JSON.stringify({ keys: [{ kty: 'oct', kid: 'k1', k: crypto.randomBytes(32).toString('base64url') }] }),
    TOKENSEAL_AUTH0_CLIENT_ID: crypto.randomBytes(16).toString('hex'),
    TOKENSEAL_AUTH0_CLIENT_SECRET: crypto.randomBytes(32).toString('base64url'),
    AUTH0_CLIENT_SECRET: crypto.randomBytes(32).toString('base64url'),
  };
  const ok = spawnSync('bash', [script, '--debug'], { encoding: 'utf8', env: { ...base, ...secrets } });
  assert.equal(ok.status, 0, ok.stderr);
  const calls = read(log).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].argv, ['import', '--config_file', 'config.json', '--input_file', 'tenant.yaml', '--debug']);
  assert.equal(calls[0].cwd, path.join(DEPLOY, 'a0deploy'));
  const copied = path.join(DEPLOY, 'a0deploy', 'actions', 'tokenseal', 'code.js');
  assert.ok(fs.readFileSync(copied).equals(fs.readFileSync(DIST)), 'code.js is dist/action.js, byte for byte');
  for (const value of Object.values(secrets)) {
    assert.ok(!ok.stdout.includes(value) && !ok.stderr.includes(value), 'no secret value in the output');
  }
});

// -------------------------------------------------------------------------- terraform

/** The blocks `secrets { name = "..." }` of main.tf, plus the names in local.optional_secrets. */
function terraformSecrets(text) {
  const blocks = [...text.matchAll(/^ {2}secrets \{\n {4}name {2}= "([A-Z0-9_]+)"\n {4}value = ([^\n]+)\n {2}\}$/gm)];
  const optional = /optional_secrets = \{\n\s+for name, value in \{\n([\s\S]*?)\n\s+\} : name => value if value != null\n\s+\}/.exec(text);
  assert.ok(optional, 'local.optional_secrets');
  const optionalNames = [...optional[1].matchAll(/^\s+([A-Z0-9_]+)\s+= var\.[a-z0-9_]+$/gm)].map((m) => m[1]);
  return { fixed: blocks.map((m) => ({ name: m[1], value: m[2] })), optional: optionalNames };
}

test('terraform: auth0_action with exactly the contract secrets, code from dist/action.js', () => {
  const main = read(path.join(DEPLOY, 'terraform', 'main.tf'));
  const { fixed, optional } = terraformSecrets(main);
  assert.deepEqual(sorted(fixed.map((s) => s.name)), sorted(REQUIRED_SECRETS));
  assert.deepEqual(sorted(optional), sorted(OPTIONAL_SECRETS));
  assert.deepEqual(Object.fromEntries(fixed.map((s) => [s.name, s.value])), {
    TOKENSEAL_KEYS: 'var.tokenseal_keys',
    AUTH0_DOMAIN: 'var.auth0_domain',
    AUTH0_CLIENT_ID: 'auth0_client.tokenseal_m2m.client_id',
    AUTH0_CLIENT_SECRET: 'auth0_client_credentials.tokenseal_m2m.client_secret',
  });
  assert.match(main, /dynamic "secrets" \{\n\s+for_each = local\.optional_secrets\n/);

  const code = /code {4}= file\("\$\{path\.module\}\/([^"]+)"\)/.exec(main);
  assert.ok(code, 'code = file("${path.module}/...")');
  assert.equal(path.resolve(DEPLOY, 'terraform', code[1]), DIST);
  assert.match(main, /resource "auth0_action" "tokenseal" \{[\s\S]*?deploy {2}= true/);
  assert.match(main, /supported_triggers \{\n {4}id {6}= "post-login"\n {4}version = "v3"\n {2}\}/);
  assert.match(main, /runtime = var\.runtime/);

  // The M2M application: non-interactive, client credentials, exactly two scopes.
  assert.match(main, /resource "auth0_client" "tokenseal_m2m" \{[\s\S]*?app_type {4}= "non_interactive"/);
  assert.match(main, /grant_types = \["client_credentials"\]/);
  assert.match(main, /audience {2}= "https:\/\/\$\{var\.auth0_domain\}\/api\/v2\/"/);
  assert.match(main, /scopes {4}= \["read:users", "read:user_idp_tokens"\]/);
  assert.match(main, /authentication_method = "client_secret_post"/);
  // Bound to post-login.
  assert.match(main, /resource "auth0_trigger_action" "tokenseal" \{\n {2}trigger {3}= "post-login"\n {2}action_id = auth0_action\.tokenseal\.id\n\}/);

  const variables = read(path.join(DEPLOY, 'terraform', 'variables.tf'));
  const keysVariable = /^variable "tokenseal_keys" \{\n[\s\S]*?\n\}$/m.exec(variables)[0];
  assert.match(keysVariable, /^ {2}sensitive {3}= true$/m, 'TOKENSEAL_KEYS is a sensitive variable');
  for (const v of ['auth0_domain', 'tokenseal_keys', 'claim_namespace', 'fetch', 'on_error', 'recheck_hours', 'capture_providers', 'runtime']) {
    assert.match(variables, new RegExp(`^variable "${v}" \\{$`, 'm'));
  }
  for (const v of main.matchAll(/var\.([a-z0-9_]+)/g)) {
    assert.match(variables, new RegExp(`^variable "${v[1]}" \\{$`, 'm'), `var.${v[1]} is declared`);
  }
});

/**
 * The part of `terraform fmt` that hand formatting gets wrong: two-space indentation by
 * brace depth, no tabs or trailing spaces, and the `=` of consecutive one-line
 * arguments at the same depth aligned.
 */
function fmtProblems(text) {
  const problems = [];
  const lines = text.split('\n');
  let depth = 0;
  let run = [];
  const flush = () => {
    if (new Set(run.map((r) => r.col)).size > 1) problems.push(`unaligned "=" at lines ${run.map((r) => r.n).join(', ')}`);
    run = [];
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    if (/\t/.test(line)) problems.push(`tab at line ${n}`);
    if (/ +$/.test(line)) problems.push(`trailing space at line ${n}`);
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/, '');
    const trimmed = code.trim();
    const closes = /^[}\]]/.test(trimmed) ? 1 : 0;
    if (trimmed !== '' && !/^#/.test(line.trim())) {
      const expected = 2 * (depth - closes);
      const actual = line.length - line.trimStart().length;
      if (actual !== expected) problems.push(`indent ${actual} instead of ${expected} at line ${n}`);
    }
    const arg = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*)=(?!=)/.exec(line);
    const opensBlock = /[{[(]\s*$/.test(trimmed);
    if (arg && !opensBlock && trimmed !== '') {
      if (run.length && run[0].indent !== arg[1].length) flush();
      run.push({ n, col: arg[1].length + arg[2].length + arg[3].length, indent: arg[1].length });
    } else {
      flush();
      if (arg && opensBlock) run = [];
    }
    for (const ch of code) {
      if ('{[('.includes(ch)) depth += 1;
      if ('}])'.includes(ch)) depth -= 1;
    }
  });
  flush();
  if (depth !== 0) problems.push(`unbalanced braces (${depth})`);
  return problems;
}

test('terraform files follow terraform fmt layout', () => {
  for (const file of ['main.tf', 'variables.tf']) {
    assert.deepEqual(fmtProblems(read(path.join(DEPLOY, 'terraform', file))), [], file);
  }
  // The checker itself catches a misaligned argument.
  assert.notDeepEqual(fmtProblems('resource "a" "b" {\n  name = "x"\n  runtime = "y"\n}\n'), []);
});

// ------------------------------------------------------------------------ auth0-cli.sh

const FAKE_AUTH0 = `#!${process.execPath}
// A stand-in for the Auth0 CLI: records its arguments and environment, keeps a little
// tenant state, and answers with the Management API's JSON shapes.
const fs = require('fs');
const path = require('path');
const dir = process.env.FAKE_AUTH0_DIR;
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify({
  argv,
  sawActionSecretsInEnv: ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'].filter((k) => k in process.env),
}) + '\\n');
const stateFile = path.join(dir, 'state.json');
const state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8'))
  : { actions: [], bindings: [{ id: 'bnd_other', action: { id: 'act_other', name: 'other' }, display_name: 'other' }] };
const save = () => fs.writeFileSync(stateFile, JSON.stringify(state));
const flag = (short, long) => { const i = argv.findIndex((a) => a === short || a === long); return i >= 0 ? argv[i + 1] : undefined; };
const queries = Object.fromEntries(argv.flatMap((a, i) => (argv[i - 1] === '-q' ? [a.split('=')] : [])));
const out = (v) => process.stdout.write(JSON.stringify(v, null, 2) + '\\n');
const [group, verb, target] = argv;
if (process.env.FAKE_AUTH0_FAIL && process.env.FAKE_AUTH0_FAIL === group + ' ' + verb) {
  // A careless CLI that repeats its request in the error.
  process.stderr.write('Error: failed to ' + verb + ' action: 400 Bad Request: ' + argv.join(' ') + '\\n');
  process.exit(1);
}
if (group === 'api' && verb === 'get' && target === 'actions/actions') {
  out({ actions: state.actions.filter((a) => a.name === queries.actionName), total: 0, page: 0, per_page: 50 });
} else if (group === 'api' && verb === 'get' && target.startsWith('actions/actions/')) {
  const a = state.actions.find((x) => x.id === target.split('/')[2]);
  out(a ? { ...a, status: 'built' } : { statusCode: 404 });
} else if (group === 'actions' && verb === 'create') {
  state.actions.push({ id: 'act_tokenseal', name: flag('-n', '--name') });
  save();
  out({ id: 'act_tokenseal', name: flag('-n', '--name') });
} else if (group === 'actions' && (verb === 'update' || verb === 'deploy')) {
  out({ id: target });
} else if (group === 'api' && verb === 'get' && target === 'actions/triggers/post-login/bindings') {
  out({ bindings: state.bindings, total: state.bindings.length, page: 0, per_page: 100 });
} else if (group === 'api' && verb === 'patch' && target === 'actions/triggers/post-login/bindings') {
  const body = JSON.parse(flag('-d', '--data'));
  state.bindings = body.bindings.map((b, i) => ({ id: 'bnd_' + i, action: { id: b.ref.value, name: b.display_name }, display_name: b.display_name }));
  save();
  out({ bindings: state.bindings });
} else {
  process.stderr.write('fake auth0: unexpected command ' + argv.slice(0, 3).join(' ') + '\\n');
  process.exit(9);
}
`;

function fakeAuth0() {
  const dir = tmp('tokenseal-auth0-cli-');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  writeExecutable(path.join(bin, 'auth0'), FAKE_AUTH0);
  const calls = () => (fs.existsSync(path.join(dir, 'calls.jsonl'))
    ? read(path.join(dir, 'calls.jsonl')).trim().split('\n').map((l) => JSON.parse(l))
    : []);
  return { dir, bin, calls };
}

function secretValues() {
  return {
    TOKENSEAL_KEYS: JSON.stringify({
      keys: [{ kty: 'oct', kid: 'deploy-test', alg: 'A256GCM', use: 'enc', k: crypto.randomBytes(32).toString('base64url') }],
    }),
    AUTH0_DOMAIN: 'tenant-under-test.eu.auth0.com',
    AUTH0_CLIENT_ID: crypto.randomBytes(16).toString('hex'),
    AUTH0_CLIENT_SECRET: crypto.randomBytes(48).toString('base64url'),
    TOKENSEAL_CLAIM_NAMESPACE: `https://${crypto.randomBytes(6).toString('hex')}.example.com/`,
    TOKENSEAL_FETCH: 'always',
    TOKENSEAL_ON_ERROR: 'deny',
    TOKENSEAL_RECHECK_HOURS: '72',
    TOKENSEAL_PROVIDERS: 'google-oauth2,waad,acme-idp',
  };
}

const CLI_SCRIPT = path.join(DEPLOY, 'auth0-cli.sh');

function runCli(env, fake) {
  return spawnSync('bash', [CLI_SCRIPT], {
    encoding: 'utf8',
    env: { PATH: `${fake.bin}${path.delimiter}${process.env.PATH}`, HOME: process.env.HOME, FAKE_AUTH0_DIR: fake.dir, ...env },
  });
}

function assertNoSecretIn(result, secrets) {
  for (const [name, value] of Object.entries(secrets)) {
    if (['AUTH0_DOMAIN', 'TOKENSEAL_FETCH', 'TOKENSEAL_ON_ERROR', 'TOKENSEAL_RECHECK_HOURS', 'TOKENSEAL_PROVIDERS'].includes(name)) continue; // not secret
    assert.ok(!result.stdout.includes(value), `${name} value on stdout`);
    assert.ok(!result.stderr.includes(value), `${name} value on stderr`);
  }
  const k = JSON.parse(secrets.TOKENSEAL_KEYS).keys[0].k;
  assert.ok(!result.stdout.includes(k) && !result.stderr.includes(k), 'the key material never appears');
}

test('auth0-cli.sh passes bash -n', () => {
  const r = spawnSync('bash', ['-n', CLI_SCRIPT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('auth0-cli.sh refuses to run without the required environment variables', () => {
  const fake = fakeAuth0();
  const none = runCli({}, fake);
  assert.equal(none.status, 2);
  for (const name of REQUIRED_SECRETS) assert.match(none.stderr, new RegExp(name));
  const secrets = secretValues();
  const partial = runCli({ TOKENSEAL_KEYS: secrets.TOKENSEAL_KEYS, AUTH0_DOMAIN: secrets.AUTH0_DOMAIN }, fake);
  assert.equal(partial.status, 2);
  assert.match(partial.stderr, /AUTH0_CLIENT_ID AUTH0_CLIENT_SECRET/);
  assert.doesNotMatch(partial.stderr, /TOKENSEAL_KEYS/);
  assertNoSecretIn(partial, secrets);
  assert.deepEqual(fake.calls(), [], 'the Auth0 CLI was never called');
});

test('auth0-cli.sh refuses bad values and the CLI environment mode, before calling auth0', () => {
  const fake = fakeAuth0();
  const secrets = secretValues();
  const cases = [
    [{ TOKENSEAL_KEYS: 'not json' }, /TOKENSEAL_KEYS is not JSON/],
    [{ TOKENSEAL_FETCH: 'sometimes' }, /TOKENSEAL_FETCH must be/],
    [{ TOKENSEAL_PROVIDERS: 'google oauth2' }, /TOKENSEAL_PROVIDERS must be/],
    [{ TOKENSEAL_RECHECK_HOURS: '8761' }, /TOKENSEAL_RECHECK_HOURS must be/],
    [{ TOKENSEAL_RECHECK_HOURS: '-1' }, /TOKENSEAL_RECHECK_HOURS must be/],
    [{ TOKENSEAL_RECHECK_HOURS: '1.5' }, /TOKENSEAL_RECHECK_HOURS must be/],
    [{ TOKENSEAL_RECHECK_HOURS: '24h' }, /TOKENSEAL_RECHECK_HOURS must be/],
    // 2^64: wraps to 0 in bash arithmetic, so it must be refused before any.
    [{ TOKENSEAL_RECHECK_HOURS: '18446744073709551616' }, /TOKENSEAL_RECHECK_HOURS must be/],
    [{ AUTH0_DOMAIN: 'http://evil.example/x' }, /AUTH0_DOMAIN must be/],
    // pflag's stringToString would split this value at the comma.
    [{ AUTH0_CLIENT_SECRET: 'abc=def,ghi' }, /AUTH0_CLIENT_SECRET holds characters/],
    [{ AUTH0_CLI_AUTH_MODE: 'env' }, /AUTH0_CLI_AUTH_MODE is set/],
  ];
  for (const [override, message] of cases) {
    const r = runCli({ ...secrets, ...override }, fake);
    assert.equal(r.status, 2, `${JSON.stringify(override)}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assertNoSecretIn(r, secrets);
  }
  assert.deepEqual(fake.calls(), []);
});

test('auth0-cli.sh accepts TOKENSEAL_RECHECK_HOURS from 0 to 8760, leading zeros included', () => {
  for (const hours of ['0', '8760', '0024', '000008760']) {
    const fake = fakeAuth0();
    const r = runCli({ ...secretValues(), TOKENSEAL_RECHECK_HOURS: hours }, fake);
    assert.equal(r.status, 0, `${hours}: ${r.stderr}`);
    const create = fake.calls().find((c) => c.argv[0] === 'actions' && c.argv[1] === 'create');
    assert.ok(create.argv.includes(`TOKENSEAL_RECHECK_HOURS=${hours}`), `${hours} reaches the CLI unchanged`);
  }
});

test('auth0-cli.sh creates, deploys and binds; secrets reach the CLI, never the output', () => {
  const fake = fakeAuth0();
  const secrets = secretValues();
  const r = runCli(secrets, fake);
  assert.equal(r.status, 0, r.stderr);
  assertNoSecretIn(r, secrets);

  const calls = fake.calls();
  assert.ok(calls.every((c) => c.sawActionSecretsInEnv.length === 0), 'the CLI never sees the Action secrets as its own AUTH0_* login');
  assert.ok(calls.every((c) => c.argv.includes('--no-input')));
  const create = calls.find((c) => c.argv[0] === 'actions' && c.argv[1] === 'create');
  assert.ok(create, 'auth0 actions create');
  const arg = (c, flag) => c.argv[c.argv.indexOf(flag) + 1];
  assert.equal(arg(create, '-n'), 'tokenseal');
  assert.equal(arg(create, '-t'), 'post-login');
  assert.equal(arg(create, '-r'), 'node22');
  assert.equal(arg(create, '-c'), read(DIST).replace(/\n+$/, ''), 'the code is dist/action.js');
  const passed = Object.fromEntries(
    create.argv.flatMap((a, i) => (create.argv[i - 1] === '-s' ? [[a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]] : [])),
  );
  assert.deepEqual(Object.keys(passed).sort(), CONTRACT, 'every contract secret, by name');
  assert.deepEqual(passed, secrets, 'with its value from the environment');

  const sequence = calls.map((c) => c.argv.slice(0, 3).join(' '));
  assert.deepEqual(sequence, [
    'api get actions/actions',
    'actions create -n',
    'api get actions/actions',
    'api get actions/actions/act_tokenseal',
    'actions deploy act_tokenseal',
    'api get actions/triggers/post-login/bindings',
    'api patch actions/triggers/post-login/bindings',
    'api get actions/triggers/post-login/bindings',
  ]);
  const patch = calls.find((c) => c.argv[1] === 'patch');
  assert.deepEqual(JSON.parse(arg(patch, '--data')), {
    bindings: [
      { ref: { type: 'action_id', value: 'act_other' }, display_name: 'other' },
      { ref: { type: 'action_id', value: 'act_tokenseal' }, display_name: 'tokenseal' },
    ],
  }, 'the other binding is kept, tokenseal appended');

  // A second run updates the same Action and leaves the bindings alone.
  const again = runCli(secrets, fake);
  assert.equal(again.status, 0, again.stderr);
  assertNoSecretIn(again, secrets);
  const second = fake.calls().slice(calls.length);
  const update = second.find((c) => c.argv[1] === 'update');
  assert.ok(update && update.argv[2] === 'act_tokenseal' && update.argv.includes('--force'));
  assert.ok(!second.some((c) => c.argv[1] === 'create' || c.argv[1] === 'patch'));
  assert.match(again.stdout, /already bound to post-login/);
});

test('auth0-cli.sh shows a failing CLI error with the secret values redacted', () => {
  const fake = fakeAuth0();
  const secrets = secretValues();
  const r = runCli({ ...secrets, FAKE_AUTH0_FAIL: 'actions create' }, fake);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /auth0 actions create failed/);
  assert.match(r.stderr, /TOKENSEAL_KEYS=\[redacted\]/);
  assertNoSecretIn(r, secrets);
});

'use strict';
// The tokenseal command line (target/release/tokenseal, built by scripts/build.sh),
// against the loopback Management API stand-in: keygen, inspect, and migrate over a
// tenant larger than Auth0's 1,000-result search cap, with injected 429s.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startManagementApi } = require('../auth0-standin/management-api.cjs');
const tokenseal = require('../../pkg/tokenseal.js');

const BIN = path.join(__dirname, '../../target/release/tokenseal');
const CLIENT = { clientId: 'migrator', clientSecret: 'migrator-secret-value', scopes: ['read:users', 'update:users'] };
const KEYS = tokenseal.generateKeySet();
const OLD_KEYS = tokenseal.generateKeySet();

/** A fake Google refresh token, unique per user and recognisable in a leak scan. */
const tokenOf = (i) => `1//0gFAKE-${String(i).padStart(5, '0')}-refresh-token-for-tests_${'x'.repeat(40)}`;

function run(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** 3,300 users: 1,600 with plaintext only, 400 with plaintext next to a valid sealed
 * value (an Action sealed a newer token), 300 already sealed, 1,000 with nothing. */
function tenant() {
  const users = [];
  for (let i = 0; i < 3300; i += 1) {
    const user_id = i % 3 === 0 ? `auth0|${String(i).padStart(6, '0')}` : `google-oauth2|${String(i).padStart(6, '0')}`;
    const identities = [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: String(i), isSocial: true }];
    const app_metadata = { plan: i % 2 ? 'pro' : 'free', roles: ['reader'] };
    if (i < 1600) app_metadata.refresh_token = tokenOf(i);
    else if (i < 2000) {
      app_metadata.refresh_token = tokenOf(i);
      app_metadata.sealed_refresh_tokens = { 'google-oauth2': tokenseal.seal(`1//0gNEWER-${i}`, KEYS, user_id), github: 'kept' };
    } else if (i < 2300) app_metadata.sealed_refresh_tokens = { 'google-oauth2': tokenseal.seal(tokenOf(i), KEYS, user_id) };
    users.push({ user_id, email: `user${i}@example.com`, identities, app_metadata, user_metadata: { theme: 'dark' } });
  }
  return users;
}

let api;
const before0 = new Map();
const env = () => ({ AUTH0_DOMAIN: api.baseUrl, AUTH0_CLIENT_ID: CLIENT.clientId, AUTH0_CLIENT_SECRET: CLIENT.clientSecret, TOKENSEAL_KEYS: KEYS });

before(async () => {
  assert.ok(fs.existsSync(BIN), 'build target/release/tokenseal first (bash scripts/build.sh)');
  const users = tenant();
  users.forEach((u) => before0.set(u.user_id, u));
  api = await startManagementApi({ users, clients: [CLIENT] });
});
after(() => api && api.close());

function assertNoSecrets(text) {
  for (const secret of [CLIENT.clientSecret, JSON.parse(KEYS).keys[0].k, tokenOf(0), tokenOf(1599), '1//0gNEWER']) {
    assert.ok(!text.includes(secret), 'output holds a secret');
  }
}

test('a bad key set exits 2 with an ERR_ code before any request', async () => {
  const requests = api.requests.length;
  for (const keys of ['not json', '{"keys":[]}', '{"keys":[{"kty":"oct","kid":"a","k":"AAEC"}]}']) {
    const r = await run(['migrate'], { ...env(), TOKENSEAL_KEYS: keys });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_KEY/);
  }
  const r = await run(['migrate'], { ...env(), AUTH0_DOMAIN: 'http://evil.example' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ERR_CONFIG_INVALID/);
  assert.equal(api.requests.length, requests, 'nothing was sent');
});

test('--dry-run reports and writes nothing', async () => {
  const r = await run(['migrate', '--dry-run'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(api.count('users.patch'), 0);
  // Only the first 1,000 results of a search can be examined without changing anything.
  assert.match(r.stdout, /1000 users with plaintext; \d+ would be sealed, \d+ would be cleaned/);
  assertNoSecrets(r.stdout + r.stderr);
});

test('on a terminal, migrate draws a progress bar (and off one it does not)', async (t) => {
  const script = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim();
  if (!script) return t.skip('util-linux script(1) is not installed');
  // script(1) runs the command on a pseudo-terminal; --dry-run keeps the tenant as it is.
  const command = `${BIN} migrate --dry-run`;
  const r = await new Promise((resolve) => {
    const child = spawn(script, ['-q', '-e', '-c', command, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm', ...env() } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /[1-9]\d*\/2000 users \[/, 'the bar shows position, length and the bar itself');
  assertNoSecrets(r.out);
  const plain = await run(['migrate', '--dry-run'], env());
  assert.doesNotMatch(plain.stderr + plain.stdout, / users \[/);
});

test('migrate seals every plaintext exactly once, across the 1,000-result cap and 429s', async () => {
  api.setFault({ path: 'search', kind: '429', retryAfter: 1, times: 2 });
  api.setFault({ path: 'user', kind: '429', retryAfter: 1, times: 2, method: 'PATCH' });
  const started = Date.now();
  const r = await run(['migrate'], env());
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assertNoSecrets(r.stdout + r.stderr);
  assert.match(r.stdout, /2000 users with plaintext; 1600 sealed, 400 cleaned \(already sealed\), 0 already done, 0 skipped; 4 rate-limit waits/);

  const patches = new Map();
  for (const q of api.requests.filter((q) => q.route === 'users.patch' && q.status < 300)) {
    const id = decodeURIComponent(q.path.split('/').pop());
    patches.set(id, (patches.get(id) || 0) + 1);
  }
  assert.equal(patches.size, 2000);
  assert.ok([...patches.values()].every((n) => n === 1), 'every user patched exactly once');

  for (const [id, was] of before0) {
    const now = api.store.getUser(id);
    const i = Number(id.split('|')[1]);
    assert.equal(now.app_metadata.refresh_token, undefined, `${id}: no plaintext left`);
    assert.equal(now.app_metadata.plan, was.app_metadata.plan, `${id}: other members unchanged`);
    assert.deepEqual(now.user_metadata, was.user_metadata);
    const sealed = now.app_metadata.sealed_refresh_tokens && now.app_metadata.sealed_refresh_tokens['google-oauth2'];
    if (i < 1600) {
      assert.equal(tokenseal.inspect(sealed).sub, id, 'bound to its own user');
      assert.ok(tokenseal.open(sealed, KEYS, id) === tokenOf(i), `${id}: opens to its plaintext`);
    } else if (i < 2000) {
      assert.ok(tokenseal.open(sealed, KEYS, id) === `1//0gNEWER-${i}`, 'a valid stored value is never overwritten');
      assert.equal(now.app_metadata.sealed_refresh_tokens.github, 'kept');
    } else {
      assert.deepEqual(now.app_metadata, was.app_metadata, `${id}: untouched`);
    }
  }
  console.log(`# migrate: 2000 users in ${seconds.toFixed(1)} s (${Math.round(2000 / seconds)} users/s, 4 waits of 1 s)`);
});

test('a second run changes nothing', async () => {
  const patches = api.count('users.patch');
  const r = await run(['migrate'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0 users with plaintext/);
  assert.equal(api.count('users.patch'), patches);
});

test('users that must not be touched are skipped, reported, and the exit code says so', async () => {
  api.store.addUser({ user_id: 'auth0|not-a-token', identities: [], app_metadata: { refresh_token: 12345 } });
  const foreign = tokenseal.seal('1//0gSOMEONE-ELSE', KEYS, 'auth0|victim');
  api.store.addUser({ user_id: 'auth0|copied', identities: [], app_metadata: { refresh_token: tokenOf(7), sealed_refresh_tokens: { 'google-oauth2': foreign } } });
  const r = await run(['migrate'], env());
  assert.equal(r.code, 1);
  assert.match(r.stdout, /2 skipped/);
  assert.match(r.stdout, /skipped 1: ERR_SUBJECT_MISMATCH/);
  assert.match(r.stdout, /skipped 1: ERR_TOKEN_INVALID/);
  assert.equal(api.store.getUser('auth0|copied').app_metadata.sealed_refresh_tokens['google-oauth2'], foreign, 'never re-bound');
  assertNoSecrets(r.stdout + r.stderr);
});

test('redirects are refused: the client secret never follows a 307 to another origin', async (t) => {
  const received = [];
  const listen = (handler) => new Promise((resolve) => {
    const srv = http.createServer(handler).listen(0, '127.0.0.1', () => resolve(srv));
  });
  const elsewhere = await listen((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { received.push(`${req.url} ${body}`); res.end('{}'); });
  });
  // The token request reaches the real stand-in; every other call answers 307.
  const redirector = await listen((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      if (req.url === '/oauth/token') {
        const grant = { ...JSON.parse(body), audience: `${api.baseUrl}/api/v2/` }; // the stand-in's own
        const answer = await fetch(`${api.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(grant) });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
        return;
      }
      res.writeHead(307, { location: `http://127.0.0.1:${elsewhere.address().port}${req.url}` }).end();
    });
  });
  t.after(() => { elsewhere.close(); redirector.close(); });
  const r = await run(['migrate', '--dry-run'], { ...env(), AUTH0_DOMAIN: `http://127.0.0.1:${redirector.address().port}` });
  assert.notEqual(r.code, 0);
  assert.deepEqual(received, [], 'nothing reached the other origin');
  assert.match(r.stderr, /ERR_MGMT_/);
  assertNoSecrets(r.stdout + r.stderr);
});

test('keygen prints a usable key set; --add-to appends a non-primary key', () => {
  const r = spawnSync(BIN, ['keygen'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const set = JSON.parse(r.stdout);
  assert.equal(set.keys.length, 1);
  assert.equal(Buffer.from(set.keys[0].k, 'base64url').length, 32);
  assert.ok(tokenseal.open(tokenseal.seal('1//0gK', r.stdout, 'u'), r.stdout, 'u') === '1//0gK');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-keys-'));
  const file = path.join(dir, 'keys.json');
  fs.writeFileSync(file, OLD_KEYS);
  const added = spawnSync(BIN, ['keygen', '--add-to', file], { encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
  const ring = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(ring.keys.length, 2);
  assert.equal(ring.keys[0].kid, JSON.parse(OLD_KEYS).keys[0].kid, 'the old key stays primary');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'readable by its owner only');
  assert.equal(added.stdout, '', 'keys are written to the file, not printed');
  assert.ok(!added.stderr.includes(ring.keys[1].k));
  fs.writeFileSync(file, 'garbage');
  assert.equal(spawnSync(BIN, ['keygen', '--add-to', file]).status, 2);
  assert.equal(fs.readFileSync(file, 'utf8'), 'garbage', 'an invalid file is left alone');
  fs.rmSync(dir, { recursive: true });
  assert.match(spawnSync(BIN, ['keygen', '--help'], { encoding: 'utf8' }).stdout, /three steps/);
});

test('inspect prints the header and never the token; junk exits non-zero', () => {
  const sealed = tokenseal.seal(tokenOf(42), KEYS, 'google-oauth2|42');
  const r = spawnSync(BIN, ['inspect', sealed], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const header = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(header).sort(), ['alg', 'enc', 'iat', 'kid', 'sub', 'typ']);
  assert.equal(header.sub, 'google-oauth2|42');
  assert.equal(header.kid, JSON.parse(KEYS).keys[0].kid);
  assert.ok(!r.stdout.includes(tokenOf(42)));
  const piped = spawnSync(BIN, ['inspect', '-'], { input: `${sealed}\n`, encoding: 'utf8' });
  assert.equal(piped.stdout, r.stdout);
  for (const junk of ['junk', sealed.slice(0, -3), `${sealed}.x`]) {
    const bad = spawnSync(BIN, ['inspect', junk], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /ERR_/);
  }
});

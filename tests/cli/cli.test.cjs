'use strict';
// The tokenseal command line (target/release/tokenseal, built by scripts/build.sh),
// against the loopback Management API stand-in: keygen, inspect, and migrate over a
// tenant past Auth0's 1,000-result search cap, whose first 1,050 users (in id order) are
// skipped, with a rate limit, injected 429s, search index lag and tokens that expire
// mid-run.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const crypto = require('node:crypto');
const os = require('node:os');
const path = require('node:path');
const { startManagementApi } = require('../auth0-standin/management-api.cjs');
const tokenseal = require('../../pkg/tokenseal.js');

const BIN = path.join(__dirname, '../../target/release/tokenseal');
// The minimal scopes: read:users (search, export, read) and update:users_app_metadata.
const CLIENT = { clientId: 'migrator', clientSecret: 'migrator-secret-value', scopes: ['read:users', 'update:users_app_metadata'] };
const LEGACY_PASSWORD = 'the old rule password';
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

/** The old rule's commented-out advice: createCipher('aes-256-cbc', password), hex. Node
 * removed createCipher; this is its EVP_BytesToKey (MD5, one round, no salt) by hand. */
function createCipherHex(token, password) {
  const md5 = (...parts) => crypto.createHash('md5').update(Buffer.concat(parts)).digest();
  const pw = Buffer.from(password);
  const d1 = md5(pw);
  const d2 = md5(d1, pw);
  const d3 = md5(d2, pw);
  const key = Buffer.concat([d1, d2]);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, d3);
  return Buffer.concat([cipher.update(token), cipher.final()]).toString('hex');
}

/** 3,400 users, in user_id order:
 *    0..1049  the old rule's ciphertext (1,040 with the right password, 10 with another):
 *             skipped without TOKENSEAL_LEGACY_PASSWORD, and first in every search;
 *    1050..2649  plaintext only;
 *    2650..3049  plaintext next to a valid sealed value (a newer token);
 *    3050..3079  plaintext next to a sealed_refresh_tokens that is not an object;
 *    3080..3099  plaintext next to another user's sealed value;
 *    3100..3299  sealed already, no plaintext;  3300..3399  nothing. */
const SPANS = { cipher: [0, 1050], plain: [1050, 2650], newer: [2650, 3050], malformed: [3050, 3080], copied: [3080, 3100], sealed: [3100, 3300] };
const kind = (i) => Object.keys(SPANS).find((k) => i >= SPANS[k][0] && i < SPANS[k][1]) || 'nothing';
const idOf = (i) => `${i % 3 === 0 ? 'auth0' : 'google-oauth2'}|${String(i).padStart(6, '0')}`;
const indexOf = (id) => Number(id.split('|')[1]);
function tenant() {
  const users = [];
  for (let i = 0; i < 3400; i += 1) {
    const user_id = idOf(i);
    const identities = [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: String(i), isSocial: true }];
    const app_metadata = { plan: i % 2 ? 'pro' : 'free', roles: ['reader'] };
    const k = kind(i);
    if (k === 'cipher') app_metadata.refresh_token = createCipherHex(tokenOf(i), i < 1040 ? LEGACY_PASSWORD : 'some other password');
    if (['plain', 'newer', 'malformed', 'copied'].includes(k)) app_metadata.refresh_token = tokenOf(i);
    if (k === 'newer') app_metadata.sealed_refresh_tokens = { 'google-oauth2': tokenseal.seal(`1//0gNEWER-${i}`, KEYS, user_id), github: 'kept' };
    if (k === 'malformed') app_metadata.sealed_refresh_tokens = 'not an object';
    if (k === 'copied') app_metadata.sealed_refresh_tokens = { 'google-oauth2': tokenseal.seal(`1//0gSOMEONE-${i}`, KEYS, 'auth0|victim') };
    if (k === 'sealed') app_metadata.sealed_refresh_tokens = { 'google-oauth2': tokenseal.seal(tokenOf(i), KEYS, user_id) };
    users.push({ user_id, email: `user${i}@example.com`, identities, app_metadata, user_metadata: { theme: 'dark' } });
  }
  return users;
}

let api;
const before0 = new Map();
const env = (extra = {}) => ({ AUTH0_DOMAIN: api.baseUrl, AUTH0_CLIENT_ID: CLIENT.clientId, AUTH0_CLIENT_SECRET: CLIENT.clientSecret, TOKENSEAL_KEYS: KEYS, ...extra });

before(async () => {
  assert.ok(fs.existsSync(BIN), 'build target/release/tokenseal first (bash scripts/build.sh)');
  const users = tenant();
  users.forEach((u) => before0.set(u.user_id, u));
  // A documented-style limit (token bucket, burst 100, 400 per second: fast enough for
  // CI, slow enough to be hit), writes visible to search 1.5 s later, tokens that
  // expire every 4 seconds.
  api = await startManagementApi({ users, clients: [CLIENT], rateLimit: { burst: 100, perSecond: 400 }, indexLagMs: 1500, tokenTtlSeconds: 4 });
});
after(() => api && api.close());

function assertNoSecrets(text) {
  for (const secret of [CLIENT.clientSecret, JSON.parse(KEYS).keys[0].k, tokenOf(0), tokenOf(1599), tokenOf(2000), '1//0gNEWER', LEGACY_PASSWORD]) {
    assert.ok(!text.includes(secret), 'output holds a secret');
  }
}

/** Successful PATCHes per user since request number `from`. */
function patchesSince(from) {
  const patches = new Map();
  for (const q of api.requests.slice(from).filter((q) => q.route === 'users.patch' && q.status < 300)) {
    const id = decodeURIComponent(q.path.split('/').pop());
    patches.set(id, (patches.get(id) || 0) + 1);
  }
  return patches;
}

test('a bad key set exits 2 with an ERR_ code before any request', async () => {
  const requests = api.requests.length;
  for (const keys of ['not json', '{"keys":[]}', '{"keys":[{"kty":"oct","kid":"a","k":"AAEC"}]}']) {
    const r = await run(['migrate'], env({ TOKENSEAL_KEYS: keys }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_KEY/);
  }
  const r = await run(['migrate'], env({ AUTH0_DOMAIN: 'http://evil.example' }));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ERR_CONFIG_INVALID/);
  assert.equal(api.requests.length, requests, 'nothing was sent');
});

let dryRunLine;
test('--dry-run counts every user the real run will change, past the cap, and writes nothing', async () => {
  const r = await run(['migrate', '--dry-run'], env());
  assert.equal(r.code, 1, r.stderr); // skipped users are reported
  assert.equal(api.count('users.patch'), 0);
  dryRunLine = r.stdout.match(/(\d+) users with plaintext \(from the export\); (\d+) would be sealed, (\d+) would be cleaned \(already sealed\), (\d+) already done, (\d+) skipped/);
  assert.ok(dryRunLine, r.stdout);
  assert.deepEqual(dryRunLine.slice(1).map(Number), [3100, 1600, 400, 0, 1100]);
  assert.match(r.stdout, /skipped 1050: ERR_LEGACY_ENCRYPTED/);
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
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /[1-9]\d*\/3100 users \[/, 'the bar shows position, length and the bar itself');
  assertNoSecrets(r.out);
  const plain = await run(['migrate', '--dry-run'], env());
  assert.doesNotMatch(plain.stderr + plain.stdout, / users \[/);
});

test('migrate seals every plaintext exactly once past the cap, through 429s, index lag and expiring tokens', async () => {
  api.setFault({ path: 'user', kind: '429', retryAfter: 1, times: 3, method: 'PATCH' });
  const from = api.requests.length;
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-report-')), 'report.jsonl');
  const started = Date.now();
  const r = await run(['migrate', '--report', report], env());
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 1, r.stderr); // done, with skipped users reported
  assertNoSecrets(r.stdout + r.stderr);
  const line = r.stdout.match(/(\d+) users with plaintext \(from the export\); (\d+) sealed, (\d+) cleaned \(already sealed\), (\d+) already done, (\d+) skipped; (\d+) remaining; (\d+) requests, (\d+) rate limited, (\d+) new tokens/);
  assert.ok(line, r.stdout);
  const [found, sealed, cleaned, done, skipped, remaining, , rateLimited, newTokens] = line.slice(1).map(Number);
  assert.deepEqual([found, sealed, cleaned, done, skipped], dryRunLine.slice(1).map(Number), 'the dry run counted exactly this');
  assert.equal(remaining, 1100, 'verified: what remains is what was skipped');
  assert.ok(newTokens >= 1, 'tokens that expired mid-run were replaced');
  assert.ok(rateLimited >= 3, 'the injected 429s were waited out');
  assert.match(r.stdout, /skipped 1050: ERR_LEGACY_ENCRYPTED/);
  assert.match(r.stdout, /skipped 30: ERR_USER_INVALID/);
  assert.match(r.stdout, /skipped 20: ERR_SUBJECT_MISMATCH/);

  const patches = patchesSince(from);
  assert.equal(patches.size, 2000);
  assert.ok([...patches.values()].every((n) => n === 1), 'every user patched exactly once');
  for (const [id, was] of before0) {
    const now = api.store.getUser(id);
    const i = indexOf(id);
    const k = kind(i);
    const stored = now.app_metadata.sealed_refresh_tokens;
    if (k === 'plain') {
      assert.equal(now.app_metadata.refresh_token, undefined, `${id}: no plaintext left`);
      assert.equal(tokenseal.inspect(stored['google-oauth2']).sub, id, 'bound to its own user');
      assert.ok(tokenseal.open(stored['google-oauth2'], KEYS, id) === tokenOf(i), `${id}: opens to its plaintext`);
      assert.equal(now.app_metadata.plan, was.app_metadata.plan, `${id}: other members unchanged`);
      assert.deepEqual(now.user_metadata, was.user_metadata);
    } else if (k === 'newer') {
      assert.equal(now.app_metadata.refresh_token, undefined);
      assert.ok(tokenseal.open(stored['google-oauth2'], KEYS, id) === `1//0gNEWER-${i}`, 'a valid stored value is never overwritten');
      assert.equal(stored.github, 'kept');
    } else {
      assert.deepEqual(now.app_metadata, was.app_metadata, `${id} (${k}): untouched`);
    }
  }
  // The report: one line per user found, its outcome, and nothing secret.
  const text = fs.readFileSync(report, 'utf8');
  assertNoSecrets(text);
  assert.ok(!/eyJ/.test(text), 'no sealed value');
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3100);
  const outcomes = {};
  for (const l of lines) {
    const expected = { cipher: 'skipped', plain: 'sealed', newer: 'cleaned', malformed: 'skipped', copied: 'skipped' }[kind(indexOf(l.user_id))];
    assert.equal(l.outcome, expected, l.user_id);
    assert.deepEqual(Object.keys(l).sort(), l.outcome === 'skipped' ? ['code', 'outcome', 'user_id'] : ['outcome', 'user_id']);
    outcomes[l.code || l.outcome] = (outcomes[l.code || l.outcome] || 0) + 1;
  }
  assert.deepEqual(outcomes, { sealed: 1600, cleaned: 400, ERR_LEGACY_ENCRYPTED: 1050, ERR_USER_INVALID: 30, ERR_SUBJECT_MISMATCH: 20 });
  console.log(`# migrate: 3100 users in ${seconds.toFixed(1)} s (${Math.round(3100 / seconds)} users/s) at 400 requests/s; ${rateLimited} answers 429, ${newTokens} new tokens`);
});

test('a second run retries the skipped users and changes nothing else', async () => {
  const from = api.requests.length;
  const r = await run(['migrate'], env());
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /1100 users with plaintext \(from the export\); 0 sealed, 0 cleaned/);
  assert.equal(patchesSince(from).size, 0);
});

test('with TOKENSEAL_LEGACY_PASSWORD the old rule\'s ciphertext is opened and sealed', async () => {
  const from = api.requests.length;
  const r = await run(['migrate'], env({ TOKENSEAL_LEGACY_PASSWORD: LEGACY_PASSWORD }));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /1040 sealed/);
  assert.match(r.stdout, /skipped 10: ERR_LEGACY_DECRYPT/);
  assertNoSecrets(r.stdout + r.stderr);
  assert.equal(patchesSince(from).size, 1040);
  for (let i = 0; i < 1050; i += 1) {
    const now = api.store.getUser(idOf(i)).app_metadata;
    if (i < 1040) {
      assert.equal(now.refresh_token, undefined);
      assert.ok(tokenseal.open(now.sealed_refresh_tokens['google-oauth2'], KEYS, idOf(i)) === tokenOf(i));
    } else {
      assert.equal(now.refresh_token, before0.get(idOf(i)).app_metadata.refresh_token, 'a wrong password leaves it as it is');
    }
  }
});

test('--source search past the cap cannot reach everyone: the final count says so (exit 4)', async (t) => {
  const users = Array.from({ length: 1200 }, (_, i) => ({ user_id: `auth0|cap${String(i).padStart(5, '0')}`, app_metadata: { refresh_token: tokenOf(i) } }));
  const small = await startManagementApi({ users, clients: [CLIENT] });
  t.after(() => small.close());
  const smallEnv = env({ AUTH0_DOMAIN: small.baseUrl });
  let r = await run(['migrate', '--source', 'search', '--settle-seconds', '1'], smallEnv);
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stdout, /1000 users with plaintext \(from the search\); 1000 sealed.*200 remaining/);
  assert.match(r.stderr, /200 users still hold plaintext/);
  // The default (auto) run finishes the job; a third run finds nothing.
  r = await run(['migrate'], smallEnv);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /200 users with plaintext \(from the search\); 200 sealed.*0 remaining/);
  r = await run(['migrate'], smallEnv);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /0 users with plaintext/);
});

test('credentials without update:users_app_metadata stop the run at the first write (exit 3)', async (t) => {
  const readOnly = { clientId: 'reader', clientSecret: 'reader-secret-value', scopes: ['read:users'] };
  const users = [{ user_id: 'auth0|one', app_metadata: { refresh_token: tokenOf(1) } }, { user_id: 'auth0|two', app_metadata: { refresh_token: tokenOf(2) } }];
  const small = await startManagementApi({ users, clients: [readOnly] });
  t.after(() => small.close());
  const r = await run(['migrate', '--concurrency', '1'], env({ AUTH0_DOMAIN: small.baseUrl, AUTH0_CLIENT_ID: readOnly.clientId, AUTH0_CLIENT_SECRET: readOnly.clientSecret }));
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /ERR_MGMT_FORBIDDEN/);
  assert.equal(small.count('users.patch'), 1, 'stopped at the first refusal');
  assert.equal(small.store.getUser('auth0|two').app_metadata.refresh_token, tokenOf(2));
});

test('odd users are migrated or skipped one by one, never the end of a run', async (t) => {
  const nested = (depth) => { let v = {}; for (let i = 0; i < depth; i += 1) v = { v }; return v; };
  const users = [
    // Fields migrate does not read are not read at all.
    { user_id: 'auth0|surrogate-name', name: 'Ada \ud800', app_metadata: { refresh_token: tokenOf(1) } },
    { user_id: 'auth0|deep-profile', user_metadata: nested(300), app_metadata: { refresh_token: tokenOf(2) } },
    // A lone surrogate inside app_metadata: this user is skipped and reported...
    { user_id: 'auth0|surrogate-metadata', app_metadata: { refresh_token: tokenOf(3), note: 'x\udfff' } },
    // ...and one without plaintext is passed over, in the export too.
    { user_id: 'auth0|surrogate-no-plaintext', app_metadata: { note: 'y\ud800' } },
    { user_id: 'auth0|plain', app_metadata: { refresh_token: tokenOf(4) } },
  ];
  for (const source of ['search', 'export']) {
    const small = await startManagementApi({ users, clients: [CLIENT] });
    t.after(() => small.close());
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-odd-')), 'report.jsonl');
    const r = await run(['migrate', '--source', source, '--report', report, '--settle-seconds', '1'], env({ AUTH0_DOMAIN: small.baseUrl }));
    assert.equal(r.code, 1, `${source}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /4 users with plaintext .* 3 sealed, 0 cleaned .* 1 skipped; 1 remaining/, source);
    const lines = fs.readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => l.outcome === 'skipped').map((l) => [l.user_id, l.code]), [['auth0|surrogate-metadata', 'ERR_USER_INVALID']]);
    for (const id of ['auth0|surrogate-name', 'auth0|deep-profile', 'auth0|plain']) {
      assert.equal(small.store.getUser(id).app_metadata.refresh_token, undefined, `${source}: ${id} sealed`);
    }
  }
});

test('refused credentials exit 3 before any user; an unwritable report exits 2 before any request', async () => {
  let r = await run(['migrate'], env({ AUTH0_CLIENT_SECRET: 'not-the-secret' }));
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /stopped before any user: the token request failed: ERR_MGMT_UNAUTHORIZED/);
  assertNoSecrets(r.stdout + r.stderr);
  const requests = api.requests.length;
  r = await run(['migrate', '--report', '/nonexistent-dir/report.jsonl'], env());
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /ERR_CONFIG_INVALID: cannot write the report/);
  assert.equal(api.requests.length, requests, 'nothing was sent');
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


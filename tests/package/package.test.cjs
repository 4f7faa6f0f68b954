'use strict';
// pkg/ the way a backend meets it: `npm pack`, the tarball installed into a new project
// with no access to this repository, and a smoke test there that requires 'tokenseal'
// and 'tokenseal/backend' by name, opens a sealed value and refreshes an access token
// against a real OAuth 2.0 server on loopback (oidc-provider, tests/backend/).
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const PKG = path.join(ROOT, 'pkg');
const standin = import(path.join(ROOT, 'tests', 'backend', 'google-standin.mjs'));

// What the new project runs: only package names, never a path into the repository.
const SMOKE = `'use strict';
const tokenseal = require('tokenseal');
const { createGoogleTokens, openSealed, memoryStore } = require('tokenseal/backend');
const { version } = require('tokenseal/package.json');
(async () => {
  const { TOKENSEAL_KEYS: keys, REFRESH_TOKEN: rt, TOKEN_ENDPOINT, CLIENT_ID, CLIENT_SECRET } = process.env;
  const userId = 'google-oauth2|1234567890';
  const sealed = tokenseal.seal(rt, keys, userId);
  if (openSealed(sealed, keys, userId) !== rt) throw new Error('round trip');
  const user = { user_id: userId, app_metadata: { sealed_refresh_tokens: { 'google-oauth2': sealed } } };
  const google = createGoogleTokens({ keys, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenEndpoint: TOKEN_ENDPOINT, store: memoryStore() });
  const { accessToken, expiresAt } = await google.accessToken(user);
  let code = null;
  try { tokenseal.open('not a jwe', keys, userId); } catch (error) { code = error.code; }
  console.log(JSON.stringify({ version, accessToken: typeof accessToken, expiresAt: typeof expiresAt, code }));
})().catch((error) => { console.error(error.code || error.message); process.exit(1); });
`;

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('npm pack, install the tarball in a new project, require the core and the backend by name', async (t) => {
  assert.ok(fs.existsSync(path.join(PKG, 'package.json')), 'build pkg/ first (bash scripts/build.sh)');
  const manifest = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  const cargoVersion = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m)[1];
  assert.equal(manifest.name, 'tokenseal');
  assert.equal(manifest.version, cargoVersion, 'the version comes from Cargo.toml');
  assert.equal(manifest.dependencies, undefined, 'no runtime dependencies');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-package-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  const tarball = path.join(work, execFileSync('npm', ['pack', PKG, '--pack-destination', work, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop());
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  assert.deepEqual(listing, ['package/backend.js', 'package/http.js', 'package/package.json', 'package/store.js', 'package/tokenseal.d.ts', 'package/tokenseal.js', 'package/tokenseal_bg.wasm', 'package/tokenseal_bg.wasm.d.ts']);
  assert.deepEqual(manifest.peerDependenciesMeta, { redis: { optional: true } }, 'the Redis client stays optional');

  const project = path.join(work, 'app');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  execFileSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--silent', '--prefer-offline'], { cwd: project });
  fs.writeFileSync(path.join(project, 'smoke.cjs'), SMOKE);

  const google = await (await standin).startGoogleStandin({ accessTokenTtl: 300 });
  t.after(() => google.close());
  const refreshToken = await google.issueRefreshToken('package-smoke');
  const keys = require(path.join(PKG, 'tokenseal.js')).generateKeySet();
  const r = await run(process.execPath, ['smoke.cjs'], {
    cwd: project,
    env: { PATH: process.env.PATH, TOKENSEAL_KEYS: keys, REFRESH_TOKEN: refreshToken, TOKEN_ENDPOINT: google.tokenEndpoint, CLIENT_ID: google.clientId, CLIENT_SECRET: google.clientSecret },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { version: cargoVersion, accessToken: 'string', expiresAt: 'number', code: 'ERR_SEALED_MALFORMED' });
  assert.equal(google.refreshRequests().length, 1, 'one refresh at the real OAuth server');
});

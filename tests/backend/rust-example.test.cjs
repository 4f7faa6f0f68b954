'use strict';
// examples/refresh.rs (the Rust backend path) against the same real OAuth 2.0 server on
// loopback that plays Google's token endpoint (oidc-provider, google-standin.mjs).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const core = require('../../pkg/tokenseal.js');

const BIN = path.join(__dirname, '../../target/release/examples/refresh');
const USER_ID = 'google-oauth2|104200000000000000009';
const KEYS = core.generateKeySet();

/** `promise`, or a rejection naming `step` after `ms`: a step that hangs fails the test
 * at once, saying where, instead of holding the file until the runner's timeout. */
function within(ms, step, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Runs the example without blocking this process, which also serves the provider. */
function refresh(google, sealed, userId) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, [sealed, userId], {
      env: {
        PATH: process.env.PATH,
        TOKENSEAL_KEYS: KEYS,
        CLIENT_ID: google.clientId,
        CLIENT_SECRET: google.clientSecret,
        TOKEN_ENDPOINT: google.tokenEndpoint,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // The example's own HTTP timeout is 10 s; past 20 s it is killed and reported.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', () => clearTimeout(timer));
  });
}

test('the Rust example opens a sealed value and refreshes at the token endpoint; invalid_grant is ERR_RECONSENT_REQUIRED', async (t) => {
  assert.ok(fs.existsSync(BIN), 'build it first: bash scripts/build.sh');
  const { startGoogleStandin } = await within(30_000, 'loading the OAuth server', import('./google-standin.mjs'));
  const google = await within(30_000, 'starting the OAuth server', startGoogleStandin({ accessTokenTtl: 600 }));
  t.after(() => within(10_000, 'closing the OAuth server', google.close()));
  const refreshToken = await within(10_000, 'issuing a refresh token', google.issueRefreshToken('acct-rust'));
  const sealed = core.seal(refreshToken, KEYS, USER_ID);

  const ok = await refresh(google, sealed, USER_ID);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^access token .{1,6}…\(\d+ chars\), expires in (59\d|600) s/);
  assert.equal(google.refreshRequests().length, 1);
  for (const secret of [refreshToken, google.clientSecret]) {
    assert.ok(!(ok.stdout + ok.stderr).includes(secret), 'no secret in the output');
  }

  const other = await refresh(google, sealed, 'google-oauth2|someone-else');
  assert.equal(other.code, 1);
  assert.match(other.stderr, /ERR_SUBJECT_MISMATCH/);
  assert.equal(google.refreshRequests().length, 1, 'nothing sent for a value that does not open');

  await within(10_000, 'revoking at the OAuth server', google.revoke(refreshToken));
  const dead = await refresh(google, sealed, USER_ID);
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /ERR_RECONSENT_REQUIRED/);
  assert.ok(!(dead.stdout + dead.stderr).includes(refreshToken));
});

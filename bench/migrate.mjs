#!/usr/bin/env node
// Benchmark (not a test): `tokenseal migrate` (target/release/tokenseal) against the
// loopback Management API stand-in (tests/auth0-standin/management-api.cjs).
//
//   node bench/migrate.mjs [--limited-users 500] [--per-second 50] [--burst 50]
//                          [--latency-ms 50] [--tenant 50000]
//
// (a) At a rate limit: --limited-users users with plaintext, a token bucket of --burst
//     requests refilled at --per-second (Auth0's documented shape: "Burst limit: Equal to
//     bucket size", "Sustained rate limit: Refill rate"; Enterprise production is 50 and
//     16/s), and --latency-ms added to every answer as a network round trip would. Side by
//     side in one run: the default (paced, up to 8 calls in flight) and --concurrency 1 (one
//     call at a time, as migrate worked before). Reports users per second and the share of
//     the limit used: requests that got a token, over the tokens the bucket offered in the
//     run's time (burst plus refill).
// (b) At tenant scale: a --tenant user tenant (40% plaintext, 1% with a sealed_refresh_tokens
//     that is not an object, 2% holding the old rule's createCipher ciphertext, 10% sealed
//     already, the rest nothing), no rate limit, no latency, but search index lag, tokens
//     that expire every 2 seconds and injected 429s: the whole run's time through the bulk
//     export, a check that every plaintext user was written exactly once and its value
//     opens bound to it, and a second run (a no-op).
// Writes bench/results/migrate.json. Build first: bash scripts/build.sh.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { writeResults } from './results.mjs';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'target', 'release', 'tokenseal');
const { startManagementApi } = require(join(ROOT, 'tests', 'auth0-standin', 'management-api.cjs'));
const tokenseal = require(join(ROOT, 'pkg', 'tokenseal.js'));

const { values: args } = parseArgs({
  options: {
    'limited-users': { type: 'string' },
    'per-second': { type: 'string' },
    burst: { type: 'string' },
    'latency-ms': { type: 'string' },
    tenant: { type: 'string' },
  },
});
const int = (v, d) => {
  const n = Number(v ?? d);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a whole number: ${v}`);
  return n;
};
const LIMITED_USERS = int(args['limited-users'], 500);
const PER_SECOND = int(args['per-second'], 50);
const BURST = int(args.burst, 50);
const LATENCY_MS = int(args['latency-ms'], 50);
const TENANT = int(args.tenant, 50_000);
const GOAL_SHARE = 0.9;

assert.ok(existsSync(BIN), 'build target/release/tokenseal first (bash scripts/build.sh)');
const CLIENT = { clientId: 'bench-migrator', clientSecret: 'bench-migrator-secret (not a secret)', scopes: ['read:users', 'update:users_app_metadata'] };
const KEYS = tokenseal.generateKeySet();
const fakeToken = (i) => `1//0g${createHash('sha256').update(`migrate bench ${i}`).digest('base64url')}`;

/** Runs the command line; resolves to { code, stdout, stderr, seconds }. */
function migrate(api, extra = []) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(BIN, ['migrate', ...extra], {
      env: { PATH: process.env.PATH, AUTH0_DOMAIN: api.baseUrl, AUTH0_CLIENT_ID: CLIENT.clientId, AUTH0_CLIENT_SECRET: CLIENT.clientSecret, TOKENSEAL_KEYS: KEYS },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

// ---------------------------------------------------------------------------------------
// (a) at a rate limit

async function limitedRun(label, extra) {
  const users = Array.from({ length: LIMITED_USERS }, (_, i) => ({ user_id: `auth0|lim${String(i).padStart(6, '0')}`, app_metadata: { refresh_token: fakeToken(i) } }));
  const api = await startManagementApi({ users, clients: [CLIENT], rateLimit: { burst: BURST, perSecond: PER_SECOND }, latencyMs: LATENCY_MS });
  try {
    const r = await migrate(api, ['--settle-seconds', '0', ...extra]);
    assert.equal(r.code, 0, `${label}: ${r.stdout}${r.stderr}`);
    const management = api.requests.filter((q) => q.route !== 'token' && q.route !== 'export.file');
    const served = management.filter((q) => q.status !== 429).length;
    const limited = management.length - served;
    const offered = BURST + PER_SECOND * r.seconds;
    return { label, seconds: r.seconds, usersPerSecond: LIMITED_USERS / r.seconds, requests: management.length, served, limited, share: Math.min(1, served / offered) };
  } finally {
    await api.close();
  }
}

// ---------------------------------------------------------------------------------------
// (b) at tenant scale

function createCipherHex(token, password) {
  const md5 = (...parts) => createHash('md5').update(Buffer.concat(parts)).digest();
  const pw = Buffer.from(password);
  const d1 = md5(pw);
  const d2 = md5(d1, pw);
  const d3 = md5(d2, pw);
  const cipher = require('node:crypto').createCipheriv('aes-256-cbc', Buffer.concat([d1, d2]), d3);
  return Buffer.concat([cipher.update(token), cipher.final()]).toString('hex');
}

function bigTenant() {
  const users = [];
  const password = randomBytes(12).toString('hex');
  const counts = { plaintext: 0, malformed: 0, cipher: 0, sealed: 0, nothing: 0 };
  for (let i = 0; i < TENANT; i += 1) {
    const user_id = `${i % 3 ? 'google-oauth2' : 'auth0'}|${String(i).padStart(7, '0')}`;
    const r = i % 100;
    const app_metadata = { plan: 'pro' };
    if (r < 40) { app_metadata.refresh_token = fakeToken(i); counts.plaintext += 1; } else if (r < 41) {
      app_metadata.refresh_token = fakeToken(i);
      app_metadata.sealed_refresh_tokens = 'not an object';
      counts.malformed += 1;
    } else if (r < 43) { app_metadata.refresh_token = createCipherHex(fakeToken(i), password); counts.cipher += 1; } else if (r < 53) {
      app_metadata.sealed_refresh_tokens = { 'google-oauth2': `placeholder-${i}` }; // opaque: never read, no plaintext
      counts.sealed += 1;
    } else counts.nothing += 1;
    users.push({ user_id, app_metadata });
  }
  return { users, counts };
}

async function tenantRun() {
  const { users, counts } = bigTenant();
  const api = await startManagementApi({ users, clients: [CLIENT], exportDelayMs: 500, indexLagMs: 1500, tokenTtlSeconds: 2 });
  try {
    api.setFault({ path: 'user', kind: '429', retryAfter: 1, times: 5, method: 'PATCH' });
    const first = await migrate(api, ['--settle-seconds', '10']);
    assert.equal(first.code, 1, first.stdout + first.stderr); // the skipped users are reported
    const expected = `${counts.plaintext + counts.malformed + counts.cipher} users with plaintext (from the export); ${counts.plaintext} sealed`;
    assert.ok(first.stdout.includes(expected), `${first.stdout} (expected: ${expected})`);
    const written = new Map();
    for (const q of api.requests.filter((q) => q.route === 'users.patch' && q.status < 300)) {
      const id = decodeURIComponent(q.path.split('/').pop().split('?')[0]);
      written.set(id, (written.get(id) || 0) + 1);
    }
    assert.equal(written.size, counts.plaintext, 'every plaintext user written');
    assert.ok([...written.values()].every((n) => n === 1), 'each exactly once');
    for (const id of written.keys()) {
      const md = api.store.getUser(id).app_metadata;
      assert.equal(md.refresh_token, undefined, id);
      assert.ok(tokenseal.open(md.sealed_refresh_tokens['google-oauth2'], KEYS, id) === fakeToken(Number(id.split('|')[1])), `${id} opens bound to itself`);
    }
    const patches = api.count('users.patch');
    const second = await migrate(api, ['--settle-seconds', '5']);
    assert.equal(api.count('users.patch'), patches, 'the second run writes nothing');
    return { users: TENANT, counts, firstSeconds: first.seconds, firstSummary: first.stdout.trim().split('\n')[0], secondSeconds: second.seconds, secondSummary: second.stdout.trim().split('\n')[0] };
  } finally {
    await api.close();
  }
}

const paced = await limitedRun('paced (default, up to 8 in flight)', []);
const sequential = await limitedRun('one call at a time (--concurrency 1)', ['--concurrency', '1']);
const tenant = await tenantRun();

const pct = (x) => `${(x * 100).toFixed(1)}%`;
const lines = [
  `tokenseal migrate benchmark: Node ${process.version}; limit: bucket ${BURST}, ${PER_SECOND}/s, ${LATENCY_MS} ms per answer; ${LIMITED_USERS} users with plaintext`,
  '',
  '| run | users/s | wall (s) | requests | answered 429 | share of the limit | goal |',
  '|---|---:|---:|---:|---:|---:|---|',
  ...[paced, sequential].map((r) => `| ${r.label} | ${r.usersPerSecond.toFixed(1)} | ${r.seconds.toFixed(1)} | ${r.requests} | ${r.limited} | ${pct(r.share)} | ${r === paced ? `≥ ${pct(GOAL_SHARE)}: ${r.share >= GOAL_SHARE ? 'met' : '**not met**'}` : '—'} |`),
  '',
  `tenant of ${TENANT.toLocaleString('en-US')} users (${JSON.stringify(tenant.counts)}), no rate limit; 1.5 s index lag, tokens expiring every 2 s, 5 injected 429s: first run ${tenant.firstSeconds.toFixed(1)} s; second run ${tenant.secondSeconds.toFixed(1)} s (no writes).`,
  `  ${tenant.firstSummary}`,
  `  ${tenant.secondSummary}`,
];
console.log(lines.join('\n'));
writeResults('migrate', { limit: { burst: BURST, perSecond: PER_SECOND, latencyMs: LATENCY_MS, users: LIMITED_USERS }, paced, sequential, tenant });

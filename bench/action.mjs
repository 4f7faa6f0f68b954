#!/usr/bin/env node
// Benchmark (not a test): the deployable Action dist/action.js against the same Action
// written in plain JavaScript on node:crypto (bench/reference-action.cjs), both run in the
// local Auth0 stand-in (tests/auth0-standin/).
//
//   node bench/action.mjs [--cold-runs 15] [--batch 1000] [--rounds 21] [--warmup 1000]
//                         [--logins 1000] [--users 200] [--seed 1] [--no-token-share 0.1]
//
// Measures, side by side:
//   (a) file size in bytes;
//   (b) cold start: a fresh `node` process requires the file and runs one first login
//       that reads the user from the stand-in's Management API (started here, its URL
//       passed in the environment) and seals; timed inside the child from just before
//       require() to the end of the login; median of --cold-runs runs per side;
//   (c) warm CPU per login (process.cpuUsage user+system), median over rounds of --batch
//       logins, on the sealing path (a returning login with legacy plaintext
//       app_metadata.refresh_token: it seals without a Management API read) and on the
//       no-read path (a returning login with a valid sealed value: nothing to do);
//   (d) Management API reads per 1,000 logins in a mix: --logins logins over --users
//       users, 5% of them first or consent logins with a fresh token in the stand-in's
//       store, the rest returning logins; GET /api/v2/users/{id} and token requests are
//       counted by the stand-in. One api.cache for the whole mix, as one warm Action
//       instance would have. A second run of the same mix, where --no-token-share of the
//       existing users never granted offline access, shows how sensitive the figure is.
// Before timing anything it checks that both implementations make the same decisions on
// a set of scenarios. Prints a markdown table with the goals and writes
// bench/results/action.json. dist/action.js is copied to a temporary directory first, so
// a rebuild during the run does not mix two builds. Build first: bash scripts/build.sh.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

import { writeResults } from './results.mjs';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist', 'action.js');
const REFERENCE = join(ROOT, 'bench', 'reference-action.cjs');
const STANDIN_ACTIONS = join(ROOT, 'tests', 'auth0-standin', 'actions.cjs');
const STANDIN_MGMT = join(ROOT, 'tests', 'auth0-standin', 'management-api.cjs');

const GOALS = { sizeBytes: 64 * 1024, warmRatio: 1.25, coldRatio: 2, readsPer1000: 60 };

// ---------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    'cold-runs': { type: 'string' },
    batch: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    logins: { type: 'string' },
    users: { type: 'string' },
    seed: { type: 'string' },
    'no-token-share': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: node bench/action.mjs [--cold-runs N] [--batch N] [--rounds N] [--warmup N] [--logins N] [--users N] [--seed N]');
  process.exit(0);
}
function positiveInt(value, fallback, name) {
  const n = Number(value ?? fallback);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
  return n;
}
const COLD_RUNS = positiveInt(args['cold-runs'], 15, 'cold-runs');
// process.cpuUsage() counts every thread of the process, V8's background compiler and
// GC included. With batches of 200 logins (about 5 ms) over 15 rounds the reference's
// median moved from 16 to 28 us per login between runs; batches of 1,000 over 21
// rounds keep three runs within about 10% of each other.
const BATCH = positiveInt(args.batch, 1000, 'batch');
const ROUNDS = positiveInt(args.rounds, 21, 'rounds');
const WARMUP = positiveInt(args.warmup, 1000, 'warmup');
const LOGINS = positiveInt(args.logins, 1000, 'logins');
const USERS = positiveInt(args.users, 200, 'users');
const SEED = positiveInt(args.seed, 1, 'seed');
// Share of the existing users who never granted Google offline access (no refresh token
// anywhere), for a second, sensitivity run of (d): nothing valid is stored for them, so
// every one of their Google logins reads the user.
const NO_TOKEN_SHARE = Number(args['no-token-share'] ?? 0.1);
if (!(NO_TOKEN_SHARE >= 0 && NO_TOKEN_SHARE < 1)) {
  console.error('--no-token-share must be in [0, 1)');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Inputs: fixed fake keys, Google-shaped fake tokens, one M2M client in the stand-in.

const { createPostLoginRun, createCache } = require(STANDIN_ACTIONS);
const { startManagementApi } = require(STANDIN_MGMT);

const keyMaterial = (label) => createHash('sha256').update(`tokenseal-action-bench ${label} (not a secret)`).digest('base64url');
const KEYS = JSON.stringify({ keys: [{ kty: 'oct', kid: 'bench-2026-11', alg: 'A256GCM', use: 'enc', k: keyMaterial('primary') }] });
const KEYS_ROTATED = JSON.stringify({
  keys: [
    { kty: 'oct', kid: 'bench-2027-05', alg: 'A256GCM', use: 'enc', k: keyMaterial('next') },
    { kty: 'oct', kid: 'bench-2026-11', alg: 'A256GCM', use: 'enc', k: keyMaterial('primary') },
  ],
});
const fakeToken = (label) => `1//0g${createHash('sha512').update(`token ${label}`).digest('base64url')}`.slice(0, 103);
const CLIENT = { clientId: 'bench-m2m-client-0000000000000000', clientSecret: 'bench-m2m-secret (not a secret)', scopes: ['read:users', 'read:user_idp_tokens'] };
const GOOGLE = 'google-oauth2';

function googleUser(id, { token, appMetadata = {}, loginsCount = 5 } = {}) {
  const identity = { provider: GOOGLE, connection: GOOGLE, user_id: id, isSocial: true, profileData: { email: `u${id}@example.com` } };
  if (token) Object.assign(identity, { refresh_token: token, access_token: 'ya29.bench-access' });
  return {
    user_id: `${GOOGLE}|${id}`,
    email: `u${id}@example.com`,
    email_verified: true,
    name: `User ${id}`,
    logins_count: loginsCount,
    app_metadata: appMetadata,
    user_metadata: {},
    identities: [identity],
  };
}

const secretsFor = (mgmt, extra = {}) => ({
  TOKENSEAL_KEYS: KEYS,
  AUTH0_DOMAIN: mgmt.baseUrl,
  AUTH0_CLIENT_ID: CLIENT.clientId,
  AUTH0_CLIENT_SECRET: CLIENT.clientSecret,
  ...extra,
});

/** Runs fn with console.log captured; returns [result, lines]. */
async function captured(fn) {
  const original = console.log;
  const lines = [];
  console.log = (...a) => lines.push(a.join(' '));
  try {
    return [await fn(), lines];
  } finally {
    console.log = original;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------
// The two implementations, from a snapshot of this moment's files.

const snapshot = mkdtempSync(join(os.tmpdir(), 'tokenseal-action-bench-'));
process.on('exit', () => rmSync(snapshot, { recursive: true, force: true }));
const FILES = {
  'dist/action.js': join(snapshot, 'action.js'),
  reference: join(snapshot, 'reference-action.cjs'),
};
try {
  copyFileSync(DIST, FILES['dist/action.js']);
} catch {
  console.error('dist/action.js not found: run bash scripts/build.sh first');
  process.exit(1);
}
copyFileSync(REFERENCE, FILES.reference);
const IMPLS = Object.keys(FILES);
const modules = Object.fromEntries(IMPLS.map((name) => [name, require(FILES[name])]));
const reference = modules.reference; // its seal/open prepare sealed values for both sides

// ---------------------------------------------------------------------------------------
// 0. Same decisions on a set of scenarios.

/** A login's observable result, with each sealed value replaced by what it opens to. */
function normalized(result, userId, keys, logs, counts) {
  const metadata = JSON.parse(JSON.stringify(result.appMetadata));
  const sealed = metadata.sealed_refresh_tokens;
  if (sealed && typeof sealed[GOOGLE] === 'string') {
    try {
      sealed[GOOGLE] = `sealed(${reference.open(sealed[GOOGLE], keys, userId)})`;
    } catch (error) {
      sealed[GOOGLE] = `unopenable(${error.code})`;
    }
  }
  return { appMetadata: metadata, claims: result.idTokenClaims, denied: result.denied, errors: result.errors, logs, counts };
}

const SCENARIOS = [
  { name: 'first login, token in store', user: () => googleUser('1', { token: fakeToken('s1'), loginsCount: 0 }) },
  { name: 'returning, valid sealed value', user: () => googleUser('2', { token: fakeToken('s2'), appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(fakeToken('s2'), KEYS, `${GOOGLE}|2`) } } }) },
  { name: 'returning, legacy plaintext', user: () => googleUser('3', { appMetadata: { refresh_token: fakeToken('s3'), plan: 'pro' } }) },
  {
    name: 'consent login, new token',
    user: () => googleUser('4', { token: fakeToken('old4'), appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(fakeToken('old4'), KEYS, `${GOOGLE}|4`) } } }),
    idpTokens: { refresh_token: fakeToken('new4') },
    request: { query: { prompt: 'login consent' } },
  },
  {
    name: 'rotation to a new primary key',
    user: () => googleUser('5', { appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(fakeToken('s5'), KEYS, `${GOOGLE}|5`) } } }),
    secrets: { TOKENSEAL_KEYS: KEYS_ROTATED },
    keys: KEYS_ROTATED,
  },
  { name: 'value of another user, token in store', user: () => googleUser('6', { token: fakeToken('s6'), appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(fakeToken('x'), KEYS, `${GOOGLE}|other`) } } }) },
  { name: 'not a Google user', user: () => ({ user_id: 'auth0|7', logins_count: 1, identities: [{ provider: 'auth0', connection: 'Username-Password-Authentication', user_id: '7', isSocial: false }] }), connection: { name: 'Username-Password-Authentication', strategy: 'auth0' } },
  { name: 'claim namespace', user: () => googleUser('8', { token: fakeToken('s8'), loginsCount: 0 }), secrets: { TOKENSEAL_CLAIM_NAMESPACE: 'https://app.example.com/' } },
  { name: 'no M2M credentials, deny on error', user: () => googleUser('9', { token: fakeToken('s9'), loginsCount: 0 }), secrets: { AUTH0_CLIENT_SECRET: '', TOKENSEAL_ON_ERROR: 'deny' } },
  { name: 'Management API 503 once', user: () => googleUser('10', { token: fakeToken('s10'), loginsCount: 0 }), fault: { path: 'user', kind: '5xx', times: 1 } },
  { name: 'Management API 401 on a cached token', user: () => googleUser('11', { token: fakeToken('s11'), loginsCount: 0 }), staleToken: true },
  { name: 'TOKENSEAL_FETCH=always, returning', user: () => googleUser('12', { token: fakeToken('s12'), appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(fakeToken('s12'), KEYS, `${GOOGLE}|12`) } } }), secrets: { TOKENSEAL_FETCH: 'always' } },
  { name: 'bad settings', user: () => googleUser('13', { appMetadata: { refresh_token: fakeToken('s13') } }), secrets: { TOKENSEAL_FETCH: 'sometimes', TOKENSEAL_CLAIM_NAMESPACE: 'https://x.auth0.com/' } },
  { name: 'invalid legacy value, nothing stored', user: () => googleUser('14', { appMetadata: { refresh_token: 42 } }) },
];

async function scenarioResult(impl, s) {
  const user = s.user();
  const mgmt = await startManagementApi({ users: [user], clients: [CLIENT], faults: s.fault ? [s.fault] : [] });
  try {
    const cache = createCache();
    if (s.staleToken) cache.set(`tokenseal:m2m:${CLIENT.clientId}`, 'standin.revoked-token', { ttl: 60_000 });
    const run = createPostLoginRun({
      store: mgmt.store,
      userId: user.user_id,
      idpTokens: s.idpTokens,
      connection: s.connection,
      request: s.request,
      secrets: secretsFor(mgmt, s.secrets),
      cache,
    });
    const [, logs] = await captured(() => modules[impl].onExecutePostLogin(run.event, run.api));
    return normalized(run.finish(), user.user_id, s.keys || KEYS, logs, mgmt.counts);
  } finally {
    await mgmt.close();
  }
}

async function checkDecisions() {
  const mismatches = [];
  for (const s of SCENARIOS) {
    const [a, b] = [await scenarioResult(IMPLS[0], s), await scenarioResult(IMPLS[1], s)];
    try {
      assert.deepEqual(a, b);
    } catch {
      mismatches.push({ scenario: s.name, [IMPLS[0]]: a, [IMPLS[1]]: b });
    }
  }
  return { scenarios: SCENARIOS.length, mismatches };
}

// ---------------------------------------------------------------------------------------
// (a) sizes

function sizes(file) {
  const bytes = readFileSync(file);
  return {
    raw: bytes.length,
    gzip9: zlib.gzipSync(bytes, { level: 9 }).length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

// ---------------------------------------------------------------------------------------
// (b) cold start

const COLD_CHILD = `
const { createPostLoginRun } = require(process.env.BENCH_STANDIN);
const user = JSON.parse(process.env.BENCH_USER);
const secrets = JSON.parse(process.env.BENCH_SECRETS);
const run = createPostLoginRun({ user, secrets });
const log = console.log;
const lines = [];
console.log = (...a) => lines.push(a.join(' '));
(async () => {
  const t0 = process.hrtime.bigint();
  const action = require(process.env.BENCH_FILE);
  await action.onExecutePostLogin(run.event, run.api);
  const t1 = process.hrtime.bigint();
  console.log = log;
  const result = run.finish();
  const sealed = result.appMetadata.sealed_refresh_tokens;
  process.stdout.write(JSON.stringify({ ms: Number(t1 - t0) / 1e6, sealed: !!(sealed && typeof sealed['${GOOGLE}'] === 'string'), logs: lines }) + '\\n');
})();
`;

async function coldStart() {
  const user = googleUser('cold', { token: fakeToken('cold'), loginsCount: 1 });
  const mgmt = await startManagementApi({ users: [user], clients: [CLIENT] });
  const samples = Object.fromEntries(IMPLS.map((n) => [n, { ms: [], processMs: [] }]));
  try {
    for (let i = 0; i < COLD_RUNS; i++) {
      const order = i % 2 ? [...IMPLS].reverse() : IMPLS;
      for (const impl of order) {
        const started = process.hrtime.bigint();
        // Asynchronous spawn: the stand-in in this process must keep answering.
        const out = await new Promise((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', COLD_CHILD], {
            env: {
              ...process.env,
              BENCH_STANDIN: STANDIN_ACTIONS,
              BENCH_FILE: FILES[impl],
              BENCH_USER: JSON.stringify(user),
              BENCH_SECRETS: JSON.stringify(secretsFor(mgmt)),
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => { stdout += d; });
          child.stderr.on('data', (d) => { stderr += d; });
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`cold child (${impl}) exited ${code}: ${stderr}`))));
        });
        const processMs = Number(process.hrtime.bigint() - started) / 1e6;
        const r = JSON.parse(out.trim().split('\n').at(-1));
        assert.ok(r.sealed, `${impl}: the cold login sealed (logs: ${r.logs.join(' | ')})`);
        samples[impl].ms.push(r.ms);
        samples[impl].processMs.push(processMs);
      }
    }
    const reads = mgmt.count('users.get');
    assert.equal(reads, COLD_RUNS * IMPLS.length, 'every cold login read the user once');
  } finally {
    await mgmt.close();
  }
  return Object.fromEntries(
    IMPLS.map((n) => [n, { medianMs: median(samples[n].ms), medianProcessMs: median(samples[n].processMs), runsMs: samples[n].ms }]),
  );
}

// ---------------------------------------------------------------------------------------
// (c) warm CPU per login

const WARM_PATHS = {
  sealing: {
    description: 'returning login, legacy plaintext app_metadata.refresh_token: seals without a read',
    user: () => googleUser('warm-seal', { appMetadata: { refresh_token: fakeToken('warm-seal'), plan: 'pro' }, loginsCount: 7 }),
    check: (r) => typeof r.appMetadata.sealed_refresh_tokens?.[GOOGLE] === 'string' && !('refresh_token' in r.appMetadata),
  },
  noRead: {
    description: 'returning login, valid sealed value: no read, no write',
    user: () => googleUser('warm-keep', {
      appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(fakeToken('warm-keep'), KEYS, `${GOOGLE}|warm-keep`) }, plan: 'pro' },
      loginsCount: 7,
    }),
    check: (r, before) => JSON.stringify(r.appMetadata) === JSON.stringify(before.app_metadata),
  },
};

async function warmCpu() {
  const mgmt = await startManagementApi({ users: [], clients: [CLIENT] });
  const secrets = secretsFor(mgmt);
  const out = {};
  try {
    for (const [pathName, p] of Object.entries(WARM_PATHS)) {
      const user = p.user();
      const cache = createCache();
      const makeRuns = (n) => Array.from({ length: n }, () => createPostLoginRun({ user, secrets, cache }));
      const batch = async (impl, runs) => {
        const action = modules[impl];
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (const r of runs) await action.onExecutePostLogin(r.event, r.api);
        const wall = Number(process.hrtime.bigint() - t0) / 1e3 / runs.length;
        const cpu = process.cpuUsage(cpu0);
        return { cpuUs: (cpu.user + cpu.system) / runs.length, wallUs: wall };
      };
      const [, logs] = await captured(async () => {
        for (const impl of IMPLS) {
          const runs = makeRuns(WARMUP);
          await batch(impl, runs);
          for (const r of runs.slice(0, 3)) assert.ok(p.check(r.finish(), user), `${impl} ${pathName}: expected effect`);
        }
      });
      assert.deepEqual(logs, [], `${pathName}: no log lines expected`);
      const samples = Object.fromEntries(IMPLS.map((n) => [n, { cpuUs: [], wallUs: [] }]));
      await captured(async () => {
        for (let round = 0; round < ROUNDS; round++) {
          for (const impl of round % 2 ? [...IMPLS].reverse() : IMPLS) {
            const runs = makeRuns(BATCH);
            const s = await batch(impl, runs);
            samples[impl].cpuUs.push(s.cpuUs);
            samples[impl].wallUs.push(s.wallUs);
          }
        }
      });
      out[pathName] = {
        description: p.description,
        ...Object.fromEntries(IMPLS.map((n) => [n, {
          medianCpuUsPerLogin: median(samples[n].cpuUs),
          medianWallUsPerLogin: median(samples[n].wallUs),
          roundsCpuUs: samples[n].cpuUs,
        }])),
      };
    }
    assert.equal(mgmt.requests.length, 0, 'the warm paths make no Management API request');
  } finally {
    await mgmt.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// (d) Management API reads per 1,000 logins

/** The login sequence: who logs in, and which logins are first or consent logins. */
function loginMix() {
  const random = mulberry32(SEED);
  const special = Math.round(LOGINS * 0.05);
  const firstLogins = Math.ceil(special / 2);
  const consentLogins = special - firstLogins;
  const existing = USERS - firstLogins;
  assert.ok(existing > 0, '--users must exceed the number of first logins');
  const kinds = [...Array(firstLogins).fill('first'), ...Array(consentLogins).fill('consent'), ...Array(LOGINS - special).fill('returning')];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  const active = Array.from({ length: existing }, (_, i) => `m${i}`);
  let next = 0;
  return {
    existing: active.slice(),
    steps: kinds.map((kind, i) => {
      if (kind === 'first') {
        const id = `n${next++}`;
        active.push(id);
        return { kind, id, token: fakeToken(`mix ${id} first`) };
      }
      const id = active[Math.floor(random() * active.length)];
      return kind === 'consent' ? { kind, id, token: fakeToken(`mix ${id} consent ${i}`) } : { kind, id };
    }),
  };
}

async function readsPer1000(mix, noTokenShare = 0) {
  const out = {};
  const noToken = new Set(mix.existing.slice(0, Math.round(mix.existing.length * noTokenShare)));
  for (const impl of IMPLS) {
    const users = mix.existing.map((id) => {
      if (noToken.has(id)) return googleUser(id, { loginsCount: 2 + (id.length % 7) });
      const token = fakeToken(`mix ${id} initial`);
      return googleUser(id, {
        token,
        appMetadata: { sealed_refresh_tokens: { [GOOGLE]: reference.seal(token, KEYS, `${GOOGLE}|${id}`) } },
        loginsCount: 2 + (id.length % 7),
      });
    });
    const mgmt = await startManagementApi({ users, clients: [CLIENT] });
    const latest = new Map(users.map((u) => [u.user_id, u.identities[0].refresh_token ?? null]));
    const outcomes = {};
    try {
      const cache = createCache();
      const secrets = secretsFor(mgmt);
      const [, logs] = await captured(async () => {
        for (const step of mix.steps) {
          const userId = `${GOOGLE}|${step.id}`;
          if (step.kind === 'first') mgmt.store.addUser(googleUser(step.id, { loginsCount: 0 }));
          if (step.token) latest.set(userId, step.token);
          const run = createPostLoginRun({
            store: mgmt.store,
            userId,
            idpTokens: step.token ? { refresh_token: step.token } : undefined,
            request: step.kind === 'consent' ? { query: { prompt: 'consent', access_type: 'offline' } } : undefined,
            secrets,
            cache,
          });
          await modules[impl].onExecutePostLogin(run.event, run.api);
          const r = run.finish();
          const wrote = JSON.stringify(r.appMetadata) !== JSON.stringify(run.event.user.app_metadata);
          const key = `${step.kind}:${wrote ? 'wrote' : 'unchanged'}`;
          outcomes[key] = (outcomes[key] || 0) + 1;
        }
      });
      assert.deepEqual(logs, [], `${impl}: no error logged in the mix`);
      // Every user ends with a sealed value of the last token Google gave.
      for (const u of mgmt.store.listUsers()) {
        const sealed = u.app_metadata.sealed_refresh_tokens?.[GOOGLE];
        if (latest.get(u.user_id) === null) {
          assert.equal(sealed, undefined, `${impl}: ${u.user_id} never had a token`);
          continue;
        }
        assert.equal(reference.open(sealed, KEYS, u.user_id), latest.get(u.user_id), `${impl}: ${u.user_id} holds its latest token`);
      }
      const reads = mgmt.count('users.get');
      const tokens = mgmt.count('token');
      out[impl] = {
        noTokenUsers: noToken.size,
        logins: mix.steps.length,
        users: mgmt.store.listUsers().length,
        userReads: reads,
        tokenRequests: tokens,
        userReadsPer1000: (reads * 1000) / mix.steps.length,
        tokenRequestsPer1000: (tokens * 1000) / mix.steps.length,
        outcomes,
      };
    } finally {
      await mgmt.close();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Run and report


const fileSizes = Object.fromEntries(IMPLS.map((n) => [n, sizes(FILES[n])]));
const decisions = await checkDecisions();
if (decisions.mismatches.length) {
  console.error(`WARNING: the implementations decide differently in ${decisions.mismatches.length} scenario(s):`);
  for (const m of decisions.mismatches) console.error(JSON.stringify(m, null, 1).slice(0, 3000));
}
const cold = await coldStart();
const warm = await warmCpu();
const mix = loginMix();
const reads = await readsPer1000(mix);
const readsNoToken = NO_TOKEN_SHARE > 0 ? await readsPer1000(mix, NO_TOKEN_SHARE) : null;

const [A, B] = IMPLS;
const ratio = (a, b) => a / b;
const rows = [
  {
    measure: 'file size (bytes)',
    a: fileSizes[A].raw, b: fileSizes[B].raw, unit: '',
    goal: `≤ ${GOALS.sizeBytes.toLocaleString('en-US')} (64 KB)`, met: fileSizes[A].raw <= GOALS.sizeBytes,
  },
  {
    measure: `cold start: require + first login that reads and seals (ms, median of ${COLD_RUNS})`,
    a: cold[A].medianMs, b: cold[B].medianMs, digits: 1,
    goal: `≤ ${GOALS.coldRatio}× reference`, met: ratio(cold[A].medianMs, cold[B].medianMs) <= GOALS.coldRatio,
  },
  {
    measure: 'warm CPU per login, sealing path (µs, user+system)',
    a: warm.sealing[A].medianCpuUsPerLogin, b: warm.sealing[B].medianCpuUsPerLogin, digits: 1,
    goal: `≤ ${GOALS.warmRatio}× reference`, met: ratio(warm.sealing[A].medianCpuUsPerLogin, warm.sealing[B].medianCpuUsPerLogin) <= GOALS.warmRatio,
  },
  {
    measure: 'warm CPU per login, no-read path (µs, user+system)',
    a: warm.noRead[A].medianCpuUsPerLogin, b: warm.noRead[B].medianCpuUsPerLogin, digits: 1,
    goal: `≤ ${GOALS.warmRatio}× reference`, met: ratio(warm.noRead[A].medianCpuUsPerLogin, warm.noRead[B].medianCpuUsPerLogin) <= GOALS.warmRatio,
  },
  {
    measure: `Management API user reads per 1,000 logins (${reads[A].logins} logins, ${reads[A].users} users, 5% first/consent)`,
    a: reads[A].userReadsPer1000, b: reads[B].userReadsPer1000, digits: 1,
    goal: `≤ ${GOALS.readsPer1000}`, met: reads[A].userReadsPer1000 <= GOALS.readsPer1000,
  },
  {
    measure: 'token requests per 1,000 logins (one api.cache)',
    a: reads[A].tokenRequestsPer1000, b: reads[B].tokenRequestsPer1000, digits: 1,
    goal: '—', met: null,
  },
];
const num = (x, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const table = [
  `tokenseal Action benchmark: Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}; ` +
    `dist/action.js sha256 ${fileSizes[A].sha256.slice(0, 12)}; decisions identical on ${decisions.scenarios - decisions.mismatches.length}/${decisions.scenarios} scenarios`,
  '',
  `| measure | ${A} | reference (node:crypto) | ratio | goal | met |`,
  '|---|---:|---:|---:|---|:---:|',
  ...rows.map((r) => {
    const q = r.b === 0 ? '—' : `${num(r.a / r.b, 2)}×`;
    return `| ${r.measure} | ${num(r.a, r.digits)} | ${num(r.b, r.digits)} | ${q} | ${r.goal} | ${r.met === null ? '' : r.met ? 'yes' : '**no**'} |`;
  }),
  '',
  `cold start, whole process (spawn to exit, median): ${A} ${num(cold[A].medianProcessMs, 1)} ms, reference ${num(cold[B].medianProcessMs, 1)} ms; ` +
    `warm wall time per login: sealing ${num(warm.sealing[A].medianWallUsPerLogin, 1)} vs ${num(warm.sealing[B].medianWallUsPerLogin, 1)} µs, ` +
    `no-read ${num(warm.noRead[A].medianWallUsPerLogin, 1)} vs ${num(warm.noRead[B].medianWallUsPerLogin, 1)} µs; ` +
    `gzip -9: ${num(fileSizes[A].gzip9)} vs ${num(fileSizes[B].gzip9)} B.`,
  ...(readsNoToken
    ? [`sensitivity of (d): with ${readsNoToken[A].noTokenUsers} of the ${mix.existing.length} existing users never having granted offline access, ` +
      `user reads per 1,000 logins: ${A} ${num(readsNoToken[A].userReadsPer1000, 1)}, reference ${num(readsNoToken[B].userReadsPer1000, 1)} (goal ≤ ${GOALS.readsPer1000}).`]
    : []),
];
console.log(table.join('\n'));

writeResults('action', {
  parameters: { coldRuns: COLD_RUNS, batch: BATCH, rounds: ROUNDS, warmup: WARMUP, logins: LOGINS, users: USERS, seed: SEED, noTokenShare: NO_TOKEN_SHARE },
  goals: GOALS,
  decisions,
  sizes: fileSizes,
  coldStart: cold,
  warmCpu: warm,
  managementApi: reads,
  managementApiSensitivity: readsNoToken && { noTokenShare: NO_TOKEN_SHARE, ...readsNoToken },
  table: rows,
});
process.exit(0);

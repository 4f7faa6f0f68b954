// The backend module across replicas: 8 processes (tests/backend/replica.cjs) x 200
// concurrent callers for the same 50 users, refreshing at oidc-provider on loopback
// (tests/backend/google-standin.mjs), with a shared Redis store (a real redis-server on
// loopback) and without one, side by side in one run; and the latency of accessToken()
// in a replica whose own cache is empty while Redis holds every user's grant. Not a
// test: it prints a table and writes bench/results/backend-replicas.json.
//
//   bash scripts/setup.sh && node bench/backend-replicas.mjs

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { writeResults } from './results.mjs';

const require = createRequire(import.meta.url);
const core = require('../pkg/tokenseal.js');
const { startRedis } = require('../tests/backend/redis-server.cjs');
const { startGoogleStandin } = await import('../tests/backend/google-standin.mjs');
const REPLICA = fileURLToPath(new URL('../tests/backend/replica.cjs', import.meta.url));

const REPLICAS = 8;
const USERS = 50;
const CALLERS_PER_USER = 4; // 200 concurrent callers per process
const ROUNDS = 3;

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const median = (xs) => pct(xs, 50);

function replica(init) {
  const child = fork(REPLICA, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (message) => new Promise((resolve) => { child.once('message', resolve); child.send(message); });
  const exit = () => new Promise((resolve) => { child.once('exit', resolve); child.send({ type: 'exit' }); });
  return ask({ type: 'init', ...init }).then(() => ({ ask, exit }));
}

const google = await startGoogleStandin({ accessTokenTtl: 3600 });
const redis = await startRedis();
const keys = core.generateKeySet();
let serial = 0;
async function users(count) {
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const userId = `google-oauth2|bench${(serial += 1)}`;
    const rt = await google.issueRefreshToken(`bench-${serial}`);
    out.push({ user_id: userId, app_metadata: { sealed_refresh_tokens: { 'google-oauth2': core.seal(rt, keys, userId) } } });
  }
  return out;
}
const googleOf = { tokenEndpoint: google.tokenEndpoint, clientId: google.clientId, clientSecret: google.clientSecret };

/** Refreshes per user for one round of REPLICAS processes, with or without Redis. */
async function round(redisUrl) {
  const group = await Promise.all(Array.from({ length: REPLICAS }, () => replica({ redisUrl, keys, google: googleOf, options: { storeTimeoutMs: 3000 } })));
  const before = google.refreshRequests().length;
  const batch = await users(USERS);
  const started = performance.now();
  const results = await Promise.all(group.map((r) => r.ask({ type: 'run', users: batch, callersPerUser: CALLERS_PER_USER })));
  const wallMs = performance.now() - started;
  await Promise.all(group.map((r) => r.exit()));
  const failed = results.reduce((n, r) => n + r.codes.length, 0);
  return { refreshesPerUser: (google.refreshRequests().length - before) / USERS, failed, wallMs };
}

try {
  const rows = { withRedis: [], withoutRedis: [] };
  for (let i = 0; i < ROUNDS; i += 1) {
    rows.withRedis.push(await round(redis.url));
    rows.withoutRedis.push(await round(undefined));
  }
  // Latency with a warm shared cache: Redis holds every user's grant; a new replica's
  // first call per user reads it (get + open the sealed entry); its second is memory.
  const warm = await users(USERS);
  const filler = await replica({ redisUrl: redis.url, keys, google: googleOf });
  await filler.ask({ type: 'run', users: warm, callersPerUser: 1 });
  await filler.exit();
  const refreshesBefore = google.refreshRequests().length;
  const shared = [];
  const memory = [];
  for (let i = 0; i < 10; i += 1) {
    // Forget locally, so the next calls go to Redis again: a new replica each time.
    const r = await replica({ redisUrl: redis.url, keys, google: googleOf });
    shared.push(...(await r.ask({ type: 'run', users: warm, callersPerUser: 1, sequential: true })).latenciesMs);
    memory.push(...(await r.ask({ type: 'run', users: warm, callersPerUser: 1, sequential: true })).latenciesMs);
    await r.exit();
  }
  const refreshesDuringLatency = google.refreshRequests().length - refreshesBefore;

  const summarize = (list) => ({
    refreshesPerUser: list.map((r) => r.refreshesPerUser),
    failed: list.reduce((n, r) => n + r.failed, 0),
    wallMsMedian: median(list.map((r) => r.wallMs)),
  });
  const record = {
    replicas: REPLICAS, users: USERS, concurrentCallersPerProcess: USERS * CALLERS_PER_USER, rounds: ROUNDS,
    withRedis: summarize(rows.withRedis),
    withoutRedis: summarize(rows.withoutRedis),
    accessTokenMs: {
      warmSharedCache: { calls: shared.length, p50: pct(shared, 50), p99: pct(shared, 99) },
      warmLocalCache: { calls: memory.length, p50: pct(memory, 50), p99: pct(memory, 99) },
      refreshesWhileMeasuring: refreshesDuringLatency,
    },
  };
  const f = (x) => x.toFixed(3);
  console.log(`${REPLICAS} processes x ${USERS * CALLERS_PER_USER} concurrent callers, ${USERS} users, ${ROUNDS} rounds each`);
  console.log(`  refreshes per user, with Redis:    ${record.withRedis.refreshesPerUser.join(', ')} (wall ${f(record.withRedis.wallMsMedian)} ms median)`);
  console.log(`  refreshes per user, without Redis: ${record.withoutRedis.refreshesPerUser.join(', ')} (wall ${f(record.withoutRedis.wallMsMedian)} ms median)`);
  console.log(`  failed calls: ${record.withRedis.failed} with, ${record.withoutRedis.failed} without`);
  console.log(`accessToken() latency, ${shared.length} calls each (refreshes meanwhile: ${refreshesDuringLatency})`);
  console.log(`  warm shared cache (Redis get + open): p50 ${f(record.accessTokenMs.warmSharedCache.p50)} ms, p99 ${f(record.accessTokenMs.warmSharedCache.p99)} ms`);
  console.log(`  warm local cache (memory):            p50 ${f(record.accessTokenMs.warmLocalCache.p50)} ms, p99 ${f(record.accessTokenMs.warmLocalCache.p99)} ms`);
  writeResults('backend-replicas', record);
} finally {
  await Promise.all([google.close(), redis.stop()]);
}

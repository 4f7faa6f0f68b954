'use strict';
// The backend module across processes: replicas (child processes, tests/backend/
// replica.cjs) sharing one real redis-server on loopback (started and stopped here),
// refreshing at a real OAuth 2.0 server (oidc-provider, google-standin.mjs). Also the
// store contract, the same test for the Redis store and the in-memory one.
//
// Run: node --test tests/backend/ (redis-server on PATH: scripts/setup.sh installs it).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const net = require('node:net');
const { fork } = require('node:child_process');
const { createClient } = require('redis');

const core = require('../../pkg/tokenseal.js');
const backend = require('../../js-shim/backend.js');
const { startRedis } = require('./redis-server.cjs');

const standinModule = import(path.join(__dirname, 'google-standin.mjs'));
const startGoogle = async (o) => (await standinModule).startGoogleStandin(o);

const KEYS = core.generateKeySet();
const REPLICAS = 8;
const USERS = 50;
const CALLERS_PER_PROCESS = 200; // for the same 50 users: 4 concurrent callers per user

/** `count` users whose sealed refresh tokens the provider issued. */
async function issueUsers(google, prefix, count) {
  const users = [];
  for (let i = 0; i < count; i += 1) {
    const userId = `google-oauth2|${prefix}${String(i).padStart(4, '0')}`;
    const refreshToken = await google.issueRefreshToken(`${prefix}-${i}`);
    users.push({ user_id: userId, app_metadata: { sealed_refresh_tokens: { 'google-oauth2': core.seal(refreshToken, KEYS, userId) } } });
  }
  return users;
}

/** A replica process, initialised; `ask(message)` resolves to its next answer. */
async function startReplica(init) {
  const child = fork(path.join(__dirname, 'replica.cjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answers = [];
  const waiting = [];
  child.on('message', (message) => (waiting.length > 0 ? waiting.shift()(message) : answers.push(message)));
  const next = () => new Promise((resolve) => (answers.length > 0 ? resolve(answers.shift()) : waiting.push(resolve)));
  const ask = (message) => { child.send(message); return next(); };
  const ready = await ask({ type: 'init', keys: KEYS, ...init });
  assert.equal(ready.type, 'ready', JSON.stringify(ready));
  return {
    ask,
    kill: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL'); }),
    exit: () => new Promise((resolve) => { child.once('exit', resolve); child.send({ type: 'exit' }); }),
  };
}

const googleOf = (google) => ({ tokenEndpoint: google.tokenEndpoint, clientId: google.clientId, clientSecret: google.clientSecret });

/** Token-endpoint refreshes per user id (the refresh token is the user's: one per user). */
function refreshesPerToken(google) {
  const counts = new Map();
  for (const r of google.refreshRequests()) counts.set(r.params.refresh_token, (counts.get(r.params.refresh_token) || 0) + 1);
  return counts;
}

/** The store contract: the same checks for every implementation. */
async function checkContract(store) {
  assert.equal(await store.get('k'), null);
  await store.set('k', 'v1', 60000);
  assert.equal(await store.get('k'), 'v1');
  await store.delete('k');
  assert.equal(await store.get('k'), null);
  await store.set('short', 'v', 30);
  await new Promise((resolve) => { setTimeout(resolve, 80); });
  assert.equal(await store.get('short'), null, 'set honours its ttl');
  assert.equal(await store.acquire('lock', 'owner-a', 60000), true);
  assert.equal(await store.acquire('lock', 'owner-b', 60000), false, 'a held lock is not acquired again');
  await store.release('lock', 'owner-b');
  assert.equal(await store.acquire('lock', 'owner-b', 60000), false, 'only the owner releases');
  await store.release('lock', 'owner-a');
  assert.equal(await store.acquire('lock', 'owner-b', 30), true);
  await new Promise((resolve) => { setTimeout(resolve, 80); });
  assert.equal(await store.acquire('lock', 'owner-c', 60000), true, 'a lock expires after its ttl');
  await store.release('lock', 'owner-c');
}

test('the store contract holds for the Redis store and the in-memory one', async () => {
  await checkContract(backend.memoryStore());
  const redis = await startRedis();
  const client = createClient({ url: redis.url, disableOfflineQueue: true });
  client.on('error', () => {});
  try {
    await client.connect();
    await checkContract(backend.redisStore(client, { prefix: 'contract:' }));
    // The prefix is applied, and the contract's keys are gone after their deletes and
    // releases (what the backend writes is checked for plaintext in the next test).
    assert.deepEqual(await client.keys('contract:*'), []);
  } finally {
    client.destroy();
    await redis.stop();
  }
});

test(`${REPLICAS} processes x ${CALLERS_PER_PROCESS} concurrent callers for the same ${USERS} users: exactly one refresh per user`, async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  const redis = await startRedis();
  const replicas = [];
  try {
    const users = await issueUsers(google, 'r', USERS);
    // storeTimeoutMs: eight processes and redis-server share two cores here; the
    // default (250 ms) is for production latencies.
    for (let i = 0; i < REPLICAS; i += 1) {
      replicas.push(await startReplica({ redisUrl: redis.url, google: googleOf(google), options: { storeTimeoutMs: 3000 } }));
    }
    const results = await Promise.all(replicas.map((r) => r.ask({ type: 'run', users, callersPerUser: CALLERS_PER_PROCESS / USERS })));
    for (const result of results) {
      assert.equal(result.type, 'done');
      assert.deepEqual(result.codes, [], 'every caller got a token');
      assert.equal(result.ok, CALLERS_PER_PROCESS);
      assert.deepEqual(result.notices, []);
    }
    const perToken = refreshesPerToken(google);
    assert.equal(perToken.size, USERS, 'every user was refreshed');
    assert.deepEqual([...new Set(perToken.values())], [1], 'exactly once each, across all processes');

    // What Redis holds is sealed: no access token and no refresh token in any value.
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
    try {
      const keys = await client.keys('tokenseal:*');
      assert.equal(keys.length, USERS, 'one shared grant per user, no lock left behind');
      const values = await Promise.all(keys.map((k) => client.get(k)));
      const secrets = google.requests.flatMap((r) => [r.params.refresh_token, r.response && r.response.access_token]).filter(Boolean);
      for (const value of values) {
        for (const secret of secrets) assert.ok(!value.includes(secret), 'a credential in Redis in plain text');
      }
    } finally {
      client.destroy();
    }
  } finally {
    await Promise.all(replicas.map((r) => r.exit()));
    await Promise.all([google.close(), redis.stop()]);
  }
});

test('Redis killed mid-run: every request is still served, within a bounded time, and the outage is reported', async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  const redis = await startRedis();
  const replicas = [];
  try {
    const users = await issueUsers(google, 'k', 20);
    for (let i = 0; i < 4; i += 1) {
      replicas.push(await startReplica({ redisUrl: redis.url, google: googleOf(google), options: { storeTimeoutMs: 250 } }));
    }
    const started = Date.now();
    const running = Promise.all(replicas.map((r) => r.ask({ type: 'run', users, callersPerUser: 5 })));
    await new Promise((resolve) => { setTimeout(resolve, 15); });
    await redis.kill();
    const results = await running;
    const elapsed = Date.now() - started;
    for (const result of results) {
      assert.deepEqual(result.codes, [], 'every caller got a token');
      assert.equal(result.ok, 100);
    }
    assert.ok(elapsed < 15000, `bounded: ${elapsed} ms`);
    // Users no replica has seen, with Redis gone: served per process, reported once.
    const later = await issueUsers(google, 'l', 5);
    const after = await Promise.all(replicas.map((r) => r.ask({ type: 'run', users: later, callersPerUser: 3 })));
    for (const result of after) assert.deepEqual(result.codes, []);
    const notices = [...results, ...after].flatMap((r) => r.notices);
    assert.ok(notices.includes('ERR_STORE_UNAVAILABLE'), notices.join(','));
    assert.ok(notices.every((n) => n === 'ERR_STORE_UNAVAILABLE'), notices.join(','));
  } finally {
    await Promise.all(replicas.map((r) => r.exit()));
    await Promise.all([google.close(), redis.stop()]);
  }
});

test('a lock holder that dies mid-refresh: another replica takes over after the lock expires', async () => {
  const google = await startGoogle({ accessTokenTtl: 600 });
  const redis = await startRedis();
  // A token endpoint that accepts and never answers: the holder is stuck in its refresh.
  const sockets = new Set();
  const hang = net.createServer((s) => { sockets.add(s); });
  await new Promise((resolve) => hang.listen(0, '127.0.0.1', resolve));
  const LOCK_TTL_MS = 1500;
  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  let holder;
  let taker;
  try {
    await client.connect();
    const [user] = await issueUsers(google, 'd', 1);
    holder = await startReplica({
      redisUrl: redis.url,
      google: { ...googleOf(google), tokenEndpoint: `http://127.0.0.1:${hang.address().port}/token` },
      options: { lockTtlMs: LOCK_TTL_MS, timeoutMs: 60000 },
    });
    taker = await startReplica({ redisUrl: redis.url, google: googleOf(google), options: { lockTtlMs: LOCK_TTL_MS } });
    holder.ask({ type: 'run', users: [user], callersPerUser: 1 }); // never answers
    const lockKey = `tokenseal:lock:google-oauth2:${user.user_id}`;
    while ((await client.get(lockKey)) === null) await new Promise((resolve) => { setTimeout(resolve, 10); });
    await holder.kill();
    const started = Date.now();
    const result = await taker.ask({ type: 'run', users: [user], callersPerUser: 3 });
    const waited = Date.now() - started;
    assert.deepEqual(result.codes, []);
    assert.equal(result.ok, 3);
    assert.equal(google.refreshRequests().length, 1, 'one refresh, by the replica that took over');
    assert.ok(waited >= LOCK_TTL_MS - 400 && waited < 2 * LOCK_TTL_MS + 1000, `took over after the lock expired: ${waited} ms`);
  } finally {
    if (taker) await taker.exit();
    client.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => hang.close(resolve));
    await Promise.all([google.close(), redis.stop()]);
  }
});

'use strict';
// One replica of an app's backend, as a child process of tests/backend/replicas.test.cjs
// (and bench/backend-replicas.mjs): js-shim/backend.js with or without a Redis store,
// driven over IPC. It reports what its callers got (codes only, never a token) and the
// notices the module gave.
//
//   init { redisUrl?, google: { tokenEndpoint, clientId, clientSecret }, keys, options }
//   run  { users: [{ user_id, app_metadata }], callersPerUser, sequential? }
//        -> done { ok, codes, latenciesMs, notices }   (sequential: one call at a time)
//   exit

const { performance } = require('node:perf_hooks');
const backend = require('../../js-shim/backend.js');

let tokens;
let client;
const notices = [];

async function init({ redisUrl, google, keys, options = {} }) {
  let store;
  if (redisUrl) {
    const { createClient } = require('redis');
    client = createClient({
      url: redisUrl,
      disableOfflineQueue: true,
      socket: { connectTimeout: 500, reconnectStrategy: (retries) => Math.min(50 * (retries + 1), 500) },
    });
    client.on('error', () => {}); // outages are the module's to report, through onNotice
    await client.connect();
    store = backend.redisStore(client);
  }
  tokens = backend.createGoogleTokens({
    keys,
    clientId: google.clientId,
    clientSecret: google.clientSecret,
    tokenEndpoint: google.tokenEndpoint,
    store,
    onNotice: (code) => notices.push(code),
    ...options,
  });
}

async function run({ users, callersPerUser, sequential = false }) {
  const latenciesMs = [];
  const calls = [];
  for (let i = 0; i < callersPerUser; i += 1) {
    for (const user of users) {
      if (sequential) await Promise.all(calls);
      calls.push((async () => {
        const started = performance.now();
        try {
          const got = await tokens.accessToken(user);
          if (typeof got.accessToken !== 'string' || got.accessToken === '') throw Object.assign(new Error('empty'), { code: 'EMPTY' });
          return null;
        } finally {
          latenciesMs.push(performance.now() - started);
        }
      })().catch((error) => (error && error.code) || 'UNCODED'));
    }
  }
  const codes = (await Promise.all(calls)).filter((code) => code !== null);
  return { ok: calls.length - codes.length, codes, latenciesMs, notices: notices.splice(0) };
}

process.on('message', async (message) => {
  try {
    if (message.type === 'init') {
      await init(message);
      process.send({ type: 'ready' });
    } else if (message.type === 'run') {
      process.send({ type: 'done', ...(await run(message)) });
    } else if (message.type === 'exit') {
      if (client) await client.destroy();
      process.exit(0);
    }
  } catch (error) {
    process.send({ type: 'failed', code: (error && error.code) || 'UNCODED' });
  }
});

// Refresh latency of js-shim/backend.js on loopback, against oidc-provider playing
// Google's token endpoint (tests/backend/google-standin.mjs). Not a test: it prints a
// table and writes bench/results/backend-refresh.json.
//
//   (cd tests/backend && npm ci) && node bench/backend-refresh.mjs
//
// Measured:
// - refresh: accessToken() that must refresh (the user's cache entry is dropped before
//   each call): open the sealed value, build the body, POST, parse, cache;
// - raw POST: the same token-endpoint request with fetch alone, the floor for the above;
// - cached: accessToken() answered from memory (per call, batches of 1,000);
// - 100 concurrent cold calls for one user: wall time until all resolve (one refresh).

import { createRequire } from 'node:module';

import { writeResults } from './results.mjs';

const require = createRequire(import.meta.url);
const core = require('../pkg/tokenseal.js');
const backend = require('../js-shim/backend.js');
const { startGoogleStandin } = await import('../tests/backend/google-standin.mjs');

const RUNS = 50;
const WARMUP = 5;
const CACHED_BATCHES = 20;
const CACHED_BATCH = 1000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const summary = (xs) => ({ runs: xs.length, median: median(xs), p95: pct(xs, 95), min: Math.min(...xs), max: Math.max(...xs) });
const ms = () => Number(process.hrtime.bigint()) / 1e6;

const google = await startGoogleStandin({ accessTokenTtl: 3600 });
try {
  const keys = core.generateKeySet();
  const userId = 'google-oauth2|bench';
  const rt = await google.issueRefreshToken('acct-bench');
  const user = { user_id: userId, app_metadata: { sealed_refresh_tokens: { 'google-oauth2': core.seal(rt, keys, userId) } } };
  const tokens = backend.createGoogleTokens({ keys, clientId: google.clientId, clientSecret: google.clientSecret, tokenEndpoint: google.tokenEndpoint });

  const refresh = [];
  for (let i = 0; i < WARMUP + RUNS; i += 1) {
    tokens.forget(userId);
    const t0 = ms();
    await tokens.accessToken(user);
    if (i >= WARMUP) refresh.push(ms() - t0);
  }

  const body = core.refreshRequestBody(rt, google.clientId, google.clientSecret);
  const raw = [];
  for (let i = 0; i < WARMUP + RUNS; i += 1) {
    const t0 = ms();
    const res = await fetch(google.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    await res.text();
    if (res.status !== 200) throw new Error(`raw POST answered ${res.status}`);
    if (i >= WARMUP) raw.push(ms() - t0);
  }

  await tokens.accessToken(user);
  const cachedUs = [];
  for (let b = 0; b < CACHED_BATCHES; b += 1) {
    const t0 = ms();
    for (let i = 0; i < CACHED_BATCH; i += 1) await tokens.accessToken(user);
    cachedUs.push(((ms() - t0) * 1000) / CACHED_BATCH);
  }

  const concurrent = [];
  for (let i = 0; i < 10; i += 1) {
    tokens.forget(userId);
    const before = google.refreshRequests().length;
    const t0 = ms();
    await Promise.all(Array.from({ length: 100 }, () => tokens.accessToken(user)));
    concurrent.push(ms() - t0);
    if (google.refreshRequests().length !== before + 1) throw new Error('more than one refresh for 100 concurrent calls');
  }

  const round = (o, d) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' && k !== 'runs' ? Number(v.toFixed(d)) : v]));
  const result = {
    server: 'oidc-provider on 127.0.0.1 (tests/backend/google-standin.mjs), refresh_token grant, openid scope (id_token signed RS256)',
    refresh_ms: round(summary(refresh), 3),
    raw_post_ms: round(summary(raw), 3),
    cached_us_per_call: round({ ...summary(cachedUs), runs: `${CACHED_BATCHES} batches of ${CACHED_BATCH}` }, 3),
    concurrent_100_cold_ms: round(summary(concurrent), 3),
  };
  writeResults('backend-refresh', result);
  console.log(`refresh (accessToken, cold)   median ${result.refresh_ms.median} ms  p95 ${result.refresh_ms.p95} ms  (${RUNS} runs)`);
  console.log(`raw POST to the token endpoint median ${result.raw_post_ms.median} ms  p95 ${result.raw_post_ms.p95} ms`);
  console.log(`cached accessToken()          median ${result.cached_us_per_call.median} µs per call`);
  console.log(`100 concurrent cold calls     median ${result.concurrent_100_cold_ms.median} ms (one refresh each time)`);
} finally {
  await google.close();
}

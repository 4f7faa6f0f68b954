#!/usr/bin/env node
// Benchmark (not a test): the legacy Rule dist/rule.js against the same Rule written in
// plain JavaScript on node:crypto (bench/reference-rule.js), both run as Auth0 runs a
// rule: the stored text compiled as one function expression in a vm context that holds
// `configuration`, `auth0` (whose updateAppMetadata answers at once) and `require`.
//
//   node bench/rule.mjs [--runs 15] [--batch 1000] [--rounds 21] [--warmup 1000]
//
// Measures, side by side (the Rule path always sanitizes the user it hands on):
//   (a) file size in bytes;
//   (b) the first execution in a new container, in-process: a fresh `node` process
//       compiles the rule text and runs one execution on the sealing path; median of
//       --runs per side;
//   (c) warm CPU per execution (process.cpuUsage), median over --rounds rounds of
//       --batch executions, on the sealing path (legacy plaintext app_metadata.refresh_token
//       sealed, the plaintext deleted) and the no-read path (a valid sealed value: nothing
//       written), with the range of the per-round ratios.
// Writes bench/results/rule.json. Build first: bash scripts/build.sh.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { builtinModules, createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import vm from 'node:vm';

import { writeResults } from './results.mjs';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILES = {
  'dist/rule.js': join(ROOT, 'dist', 'rule.js'),
  reference: join(ROOT, 'bench', 'reference-rule.js'),
};
const REFERENCE_ACTION = join(ROOT, 'bench', 'reference-action.cjs');
const GOALS = { firstRatio: 2, sealingRatio: 1.25, noReadRatio: 1.0 };

const { values: args } = parseArgs({
  options: { runs: { type: 'string' }, batch: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' } },
});
const int = (value, fallback) => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${value}`);
  return n;
};
const RUNS = int(args.runs, 15);
const BATCH = int(args.batch, 1000);
const ROUNDS = int(args.rounds, 21);
const WARMUP = int(args.warmup, 1000);

const reference = require(REFERENCE_ACTION);
const material = createHash('sha256').update('tokenseal-rule-bench (not a secret)').digest('base64url');
const KEYS = JSON.stringify({ keys: [{ kty: 'oct', kid: 'bench-rule', alg: 'A256GCM', use: 'enc', k: material }] });
const TOKEN = `1//0g${createHash('sha512').update('rule bench token').digest('base64url')}`.slice(0, 103);
const USER_ID = 'google-oauth2|4242';

function user(appMetadata) {
  return {
    user_id: USER_ID,
    email: 'rule@example.com',
    name: 'Rule Bench',
    identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '4242', isSocial: true }],
    app_metadata: appMetadata,
    user_metadata: { theme: 'dark' },
  };
}
const PATHS = {
  sealing: () => user({ refresh_token: TOKEN, plan: 'pro' }),
  noRead: () => user({
    sealed_refresh_tokens: { 'google-oauth2': reference.seal(TOKEN, KEYS, USER_ID, { src: 'login', ...reference.capture(TOKEN, KEYS) }) },
    plan: 'pro',
  }),
};

/** The rule compiled as Auth0 does, in a container of its own. */
function container(file) {
  const writes = [];
  const sandbox = {
    configuration: { TOKENSEAL_KEYS: KEYS },
    auth0: { users: { updateAppMetadata: (id, metadata) => { writes.push(metadata); return Promise.resolve(); } } },
    require(name) {
      if (name === './reference-action.cjs') return reference;
      if (!builtinModules.includes(String(name).replace(/^node:/, ''))) throw new Error(`not a built-in: ${name}`);
      return require(name);
    },
    console: { log() {} },
    Buffer,
    process,
    setTimeout,
    clearTimeout,
    setImmediate,
  };
  const context = vm.createContext(sandbox);
  const rule = new vm.Script(`(${readFileSync(file, 'utf8')}\n)`, { filename: file }).runInContext(context);
  const run = (u) => new Promise((resolve) => {
    rule(u, { clientID: 'app', connectionStrategy: 'google-oauth2', stats: { loginsCount: 7 }, idToken: {}, accessToken: {} }, (error, handedOn) => resolve({ error, handedOn }));
  });
  return { run, writes };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const IMPLS = Object.keys(FILES);
const [A, B] = IMPLS;

// (b) the first execution in a new container, in a fresh process.
const FIRST = `
const vm = require('node:vm');
const u = JSON.parse(process.env.USER_JSON);
const sandbox = {
  configuration: { TOKENSEAL_KEYS: process.env.KEYS },
  auth0: { users: { updateAppMetadata: () => Promise.resolve() } },
  // The reference's code (and node:crypto) loads at its first use, inside the timing.
  require: (name) => require(name === './reference-action.cjs' ? process.env.REFERENCE_ACTION : name),
  console: { log() {} }, Buffer, process, setTimeout, clearTimeout, setImmediate,
};
const text = require('node:fs').readFileSync(process.env.FILE, 'utf8');
const t0 = process.hrtime.bigint();
const context = vm.createContext(sandbox);
const rule = new vm.Script('(' + text + '\\n)').runInContext(context);
rule(u, { clientID: 'app', connectionStrategy: 'google-oauth2', stats: { loginsCount: 7 }, idToken: {}, accessToken: {} }, (error, handed) => {
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ ms, ok: !error && !('refresh_token' in handed.app_metadata) }));
});
`;
function firstExecution() {
  const samples = Object.fromEntries(IMPLS.map((n) => [n, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const impl of i % 2 ? [...IMPLS].reverse() : IMPLS) {
      const child = spawnSync(process.execPath, ['-e', FIRST], {
        env: { ...process.env, FILE: FILES[impl], KEYS, USER_JSON: JSON.stringify(PATHS.sealing()), REFERENCE_ACTION },
        encoding: 'utf8',
      });
      assert.equal(child.status, 0, child.stderr);
      const r = JSON.parse(child.stdout);
      assert.ok(r.ok, `${impl}: the first execution sealed and sanitized`);
      samples[impl].push(r.ms);
    }
  }
  return Object.fromEntries(IMPLS.map((n) => [n, { medianMs: median(samples[n]), runsMs: samples[n] }]));
}

// (c) warm CPU per execution.
async function warm(pathName) {
  const containers = Object.fromEntries(IMPLS.map((n) => [n, container(FILES[n])]));
  const batch = async (impl, n) => {
    const { run } = containers[impl];
    const users = Array.from({ length: n }, PATHS[pathName]);
    const cpu0 = process.cpuUsage();
    for (const u of users) await run(u);
    const cpu = process.cpuUsage(cpu0);
    return (cpu.user + cpu.system) / n;
  };
  for (const impl of IMPLS) {
    await batch(impl, WARMUP);
    const { handedOn } = await containers[impl].run(PATHS[pathName]());
    assert.ok(!('sealed_refresh_tokens' in handedOn.app_metadata) && !('refresh_token' in handedOn.app_metadata), `${impl}: sanitized`);
  }
  const rounds = Object.fromEntries(IMPLS.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const impl of round % 2 ? [...IMPLS].reverse() : IMPLS) rounds[impl].push(await batch(impl, BATCH));
  }
  const writes = IMPLS.map((n) => containers[n].writes.length);
  if (pathName === 'noRead') assert.deepEqual(writes, [0, 0], 'the no-read path writes nothing');
  else assert.ok(writes.every((w) => w > 0), 'the sealing path writes');
  return Object.fromEntries(IMPLS.map((n) => [n, { medianCpuUs: median(rounds[n]), roundsCpuUs: rounds[n] }]));
}

const sizes = Object.fromEntries(IMPLS.map((n) => [n, readFileSync(FILES[n]).length]));
const first = firstExecution();
const sealing = await warm('sealing');
const noRead = await warm('noRead');

const num = (x, d = 1) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const spread = (path) => {
  const ratios = path[A].roundsCpuUs.map((a, i) => a / path[B].roundsCpuUs[i]);
  return `${num(Math.min(...ratios), 2)}–${num(Math.max(...ratios), 2)}×`;
};
const rows = [
  ['file size (bytes; the reference needs bench/reference-action.cjs beside it)', sizes[A], sizes[B], 0, '—'],
  [`first execution in a new container, in-process: compile the rule + the first execution that seals (ms, median of ${RUNS})`, first[A].medianMs, first[B].medianMs, 1, `≤ ${GOALS.firstRatio}×`],
  [`warm CPU per execution, sealing path (µs; median of ${ROUNDS} rounds, per-round ratio ${spread(sealing)})`, sealing[A].medianCpuUs, sealing[B].medianCpuUs, 1, `≤ ${GOALS.sealingRatio}×`],
  [`warm CPU per execution, no-read path (µs; median of ${ROUNDS} rounds, per-round ratio ${spread(noRead)})`, noRead[A].medianCpuUs, noRead[B].medianCpuUs, 1, `≤ ${GOALS.noReadRatio}×`],
];
console.log(`tokenseal Rule benchmark: Node ${process.version}\n`);
console.log(`| measure | ${A} | reference (node:crypto) | ratio | budget |`);
console.log('|---|---:|---:|---:|---|');
for (const [measure, a, b, d, goal] of rows) console.log(`| ${measure} | ${num(a, d)} | ${num(b, d)} | ${num(a / b, 2)}× | ${goal} |`);
writeResults('rule', { parameters: { runs: RUNS, batch: BATCH, rounds: ROUNDS, warmup: WARMUP }, goals: GOALS, sizes, first, sealing, noRead });
process.exit(0);

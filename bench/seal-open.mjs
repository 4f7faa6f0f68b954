#!/usr/bin/env node
// Benchmark (not a test): per-call time of seal() and open() through the wasm package
// (pkg/tokenseal.js) against the same work done directly on node:crypto
// (bench/reference-node-crypto.mjs), plus the size of the shipped .wasm.
//
//   node bench/seal-open.mjs [--iterations N] [--rounds R] [--warmup W]
//   BENCH_ITERATIONS=N BENCH_ROUNDS=R BENCH_WARMUP=W node bench/seal-open.mjs
//
// Each operation is warmed up, then timed over N calls (default 20000) in R rounds
// (default 3), the four operations interleaved within a round; the median round is
// reported. Prints markdown tables and writes bench/results/seal-open.json. Build
// pkg/ first (bash scripts/build.sh). The key and token are fixed fakes.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

import * as reference from './reference-node-crypto.mjs';
import { writeResults } from './results.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG_JS = fileURLToPath(new URL('../pkg/tokenseal.js', import.meta.url));
const PKG_WASM = fileURLToPath(new URL('../pkg/tokenseal_bg.wasm', import.meta.url));

// ---------------------------------------------------------------------------------------
// Options

function positiveInt(value, name) {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', short: 'n' },
    rounds: { type: 'string', short: 'r' },
    warmup: { type: 'string', short: 'w' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: node bench/seal-open.mjs [--iterations N] [--rounds R] [--warmup W]');
  process.exit(0);
}
const iterations = positiveInt(args.iterations ?? process.env.BENCH_ITERATIONS ?? 20000, 'iterations');
const rounds = positiveInt(args.rounds ?? process.env.BENCH_ROUNDS ?? 3, 'rounds');
const warmup = positiveInt(args.warmup ?? process.env.BENCH_WARMUP ?? Math.max(2000, Math.ceil(iterations / 4)), 'warmup');

// ---------------------------------------------------------------------------------------
// Inputs: a fixed fake key and a Google-shaped fake token of realistic length (~100 B).

const require = createRequire(import.meta.url);
const tokenseal = require(PKG_JS);

const KEY_SET = JSON.stringify({
  keys: [
    {
      kty: 'oct',
      kid: 'bench-2026-11',
      k: createHash('sha256').update('tokenseal-bench-key (not a secret)').digest('base64url'),
      alg: 'A256GCM',
      use: 'enc',
    },
  ],
});
const TOKEN = `1//0gFAKE-${['1', '2'].map((n) => createHash('sha512').update(`tokenseal-bench-token-${n}`).digest('base64url')).join('')}`.slice(0, 103);
const SUB = 'google-oauth2|103547991597142817347';

// ---------------------------------------------------------------------------------------
// The reference must produce the same format: check both directions once.

function checkEquivalence() {
  const byReference = reference.seal(TOKEN, KEY_SET, SUB);
  assert.ok(tokenseal.open(byReference, KEY_SET, SUB) === TOKEN, "tokenseal's open() accepts the reference's value");
  const byTokenseal = tokenseal.seal(TOKEN, KEY_SET, SUB);
  assert.ok(reference.open(byTokenseal, KEY_SET, SUB) === TOKEN, "the reference opens tokenseal's value");
  // Same header bytes (up to iat) and same part lengths.
  const header = (sealed) => {
    const parsed = JSON.parse(Buffer.from(sealed.split('.')[0], 'base64url').toString());
    return JSON.stringify({ ...parsed, iat: 0 });
  };
  assert.equal(header(byReference), header(byTokenseal), 'identical protected header JSON');
  assert.deepEqual(
    byReference.split('.').map((p) => p.length).slice(1),
    byTokenseal.split('.').map((p) => p.length).slice(1),
    'identical part lengths',
  );
  assert.deepEqual(tokenseal.inspect(byReference).kid, tokenseal.inspect(byTokenseal).kid);
  return byTokenseal;
}

// ---------------------------------------------------------------------------------------
// Timing

let sink = 0; // keeps results observable so no call can be optimized away

function timeLoop(fn, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn().length;
  const end = process.hrtime.bigint();
  return Number(end - start) / 1000 / n; // µs per call
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function run() {
  const sealed = checkEquivalence();
  const ops = {
    'seal/wasm': () => tokenseal.seal(TOKEN, KEY_SET, SUB),
    'seal/node': () => reference.seal(TOKEN, KEY_SET, SUB),
    'open/wasm': () => tokenseal.open(sealed, KEY_SET, SUB),
    'open/node': () => reference.open(sealed, KEY_SET, SUB),
  };
  for (const fn of Object.values(ops)) timeLoop(fn, warmup);
  const samples = Object.fromEntries(Object.keys(ops).map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no operation always runs first.
    const names = Object.keys(ops);
    const order = names.slice(r % names.length).concat(names.slice(0, r % names.length));
    for (const name of order) samples[name].push(timeLoop(ops[name], iterations));
  }
  assert.ok(sink > 0);
  const results = {};
  for (const op of ['seal', 'open']) {
    const wasm = median(samples[`${op}/wasm`]);
    const node = median(samples[`${op}/node`]);
    results[op] = {
      wasmUsPerCall: wasm,
      nodeUsPerCall: node,
      ratioWasmToNode: wasm / node,
      wasmRoundsUs: samples[`${op}/wasm`],
      nodeRoundsUs: samples[`${op}/node`],
    };
  }
  return results;
}

// ---------------------------------------------------------------------------------------
// Sizes

/** `gzip -9` as scripts/build.sh measures it (the CLI), or node:zlib where gzip is absent. */
function gzip9(path, bytes) {
  try {
    const out = execFileSync('gzip', ['-9', '-c', '-n', path], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });
    return { bytes: out.length, tool: 'gzip' };
  } catch {
    return { bytes: zlib.gzipSync(bytes, { level: 9 }).length, tool: 'node:zlib' };
  }
}

function sizes(path) {
  const bytes = readFileSync(path);
  const gz = gzip9(path, bytes);
  return {
    raw: bytes.length,
    gzip9: gz.bytes,
    gzip9Tool: gz.tool,
    brotli11: zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }).length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}


// ---------------------------------------------------------------------------------------
// Report

const fmt = (x, digits = 2) => x.toFixed(digits);

const results = run();
const wasmSizes = sizes(PKG_WASM);
const glueSizes = sizes(PKG_JS);

const lines = [
  `tokenseal seal/open: ${iterations} calls × ${rounds} rounds (median round), warm-up ${warmup}; ` +
    `token ${TOKEN.length} B; Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
  '',
  '| operation | tokenseal (wasm) µs/call | node:crypto µs/call | ratio wasm/node |',
  '|---|---:|---:|---:|',
  ...['seal', 'open'].map((op) => {
    const r = results[op];
    return `| ${op} | ${fmt(r.wasmUsPerCall)} | ${fmt(r.nodeUsPerCall)} | ${fmt(r.ratioWasmToNode)}× |`;
  }),
  '',
  '| file | raw bytes | gzip -9 bytes | brotli q11 bytes |',
  '|---|---:|---:|---:|',
  `| pkg/tokenseal_bg.wasm | ${wasmSizes.raw} | ${wasmSizes.gzip9} | ${wasmSizes.brotli11} |`,
  `| pkg/tokenseal.js (glue) | ${glueSizes.raw} | ${glueSizes.gzip9} | ${glueSizes.brotli11} |`,
];
console.log(lines.join('\n'));

writeResults('seal-open', {
  parameters: { iterations, rounds, warmup, tokenBytes: TOKEN.length, statistic: 'median of rounds' },
  results,
  sizes: { 'pkg/tokenseal_bg.wasm': wasmSizes, 'pkg/tokenseal.js': glueSizes },
});

// tokenseal probe: can tokenseal run in this Auth0 Actions runtime?
//
// Auth0 does not document whether WebAssembly is available to Actions. Before deploying
// tokenseal, paste this file into a new post-login Action (Dashboard > Actions > Library >
// Create Action > Build from scratch, trigger "Login / Post Login", the same runtime you
// will use for tokenseal), then press Test. Do not deploy or bind it: it changes nothing,
// it only prints a few lines to the test console, the last one being the verdict:
//
//   tokenseal-probe: verdict: tokenseal can run here
//   tokenseal-probe: verdict: cannot: <reasons>
//
// It checks exactly what dist/action.js needs: the WebAssembly object, synchronous
// compilation and instantiation (new WebAssembly.Module / new WebAssembly.Instance) of a
// tiny inline module, linear memory that can grow, zlib's brotliDecompressSync (the core
// is inlined brotli-compressed), global fetch and AbortController (Management API calls),
// TextEncoder/TextDecoder, and a source of randomness (fresh IVs). It never throws.

'use strict';

// A hand-assembled WebAssembly module (41 bytes) exporting add(i32, i32) -> i32:
// header; type section [(i32, i32) -> i32]; function section [type 0]; export "add";
// code: local.get 0, local.get 1, i32.add, end.
const ADD_WASM_BASE64 = 'AGFzbQEAAAABBwFgAn9/AX8DAgEABwcBA2FkZAAACgkBBwAgACABags=';
// The word "tokenseal", brotli-compressed.
const BROTLI_BASE64 = 'CwSAdG9rZW5zZWFsAw==';
const MIN_NODE_MAJOR = 18;

/** Runs one check; a check returns a short detail string or throws with the reason. */
function check(name, fn) {
  const started = Date.now();
  try {
    const detail = fn();
    return { name, ok: true, detail: String(detail), ms: Date.now() - started };
  } catch (error) {
    const reason = error && error.message ? String(error.message) : String(error);
    return { name, ok: false, detail: reason.slice(0, 120), ms: Date.now() - started };
  }
}

function nodeMajor() {
  const match = /^v(\d+)\./.exec(typeof process === 'object' && process ? String(process.version) : '');
  return match ? Number(match[1]) : 0;
}

/** Every check, in order, and the verdict. Pure apart from the checks themselves. */
function probe() {
  const checks = [];
  checks.push(
    check('node', () => {
      const major = nodeMajor();
      const version = typeof process === 'object' && process ? process.version : 'unknown';
      if (major < MIN_NODE_MAJOR) throw new Error(`${version}; tokenseal needs node${MIN_NODE_MAJOR} or later`);
      const v8 = process.versions && process.versions.v8 ? ` (v8 ${process.versions.v8})` : '';
      return `${version}${v8}`;
    }),
  );
  checks.push(
    check('webassembly', () => {
      if (typeof WebAssembly !== 'object' || WebAssembly === null) throw new Error('WebAssembly is not defined');
      for (const name of ['Module', 'Instance', 'Memory']) {
        if (typeof WebAssembly[name] !== 'function') throw new Error(`WebAssembly.${name} is missing`);
      }
      return 'defined';
    }),
  );
  checks.push(
    check('compile', () => {
      if (typeof WebAssembly !== 'object' || WebAssembly === null) throw new Error('no WebAssembly');
      const module = new WebAssembly.Module(Buffer.from(ADD_WASM_BASE64, 'base64'));
      const instance = new WebAssembly.Instance(module, {});
      const sum = instance.exports.add(2, 40);
      if (sum !== 42) throw new Error(`add(2, 40) returned ${sum}`);
      return 'add(2, 40) = 42';
    }),
  );
  checks.push(
    check('memory', () => {
      if (typeof WebAssembly !== 'object' || WebAssembly === null) throw new Error('no WebAssembly');
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
      memory.grow(31); // to 2 MiB, more than the core needs at start
      return `${memory.buffer.byteLength} bytes after grow`;
    }),
  );
  checks.push(
    check('brotli', () => {
      const zlib = require('zlib');
      if (typeof zlib.brotliDecompressSync !== 'function') throw new Error('zlib.brotliDecompressSync is missing');
      const text = zlib.brotliDecompressSync(Buffer.from(BROTLI_BASE64, 'base64')).toString('utf8');
      if (text !== 'tokenseal') throw new Error('brotliDecompressSync returned the wrong bytes');
      return 'brotliDecompressSync ok';
    }),
  );
  checks.push(
    check('fetch', () => {
      if (typeof fetch !== 'function') throw new Error('global fetch is missing');
      if (typeof AbortController !== 'function') throw new Error('AbortController is missing');
      return 'fetch and AbortController defined';
    }),
  );
  checks.push(
    check('text', () => {
      const util = require('util');
      const Encoder = typeof TextEncoder === 'function' ? TextEncoder : util.TextEncoder;
      const Decoder = typeof TextDecoder === 'function' ? TextDecoder : util.TextDecoder;
      if (typeof Encoder !== 'function' || typeof Decoder !== 'function') throw new Error('TextEncoder/TextDecoder missing');
      const round = new Decoder().decode(new Encoder().encode('tokenseal'));
      if (round !== 'tokenseal') throw new Error('text round trip failed');
      return 'TextEncoder/TextDecoder ok';
    }),
  );
  checks.push(
    check('random', () => {
      const bytes = new Uint8Array(12);
      if (globalThis.crypto && typeof globalThis.crypto.getRandomValues === 'function') {
        globalThis.crypto.getRandomValues(bytes);
        return 'crypto.getRandomValues ok';
      }
      const nodeCrypto = require('crypto');
      if (typeof nodeCrypto.randomFillSync !== 'function') throw new Error('no source of randomness');
      nodeCrypto.randomFillSync(bytes);
      return 'crypto.randomFillSync ok';
    }),
  );
  const failed = checks.filter((c) => !c.ok);
  const verdict =
    failed.length === 0
      ? 'tokenseal can run here'
      : `cannot: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
  return { canRun: failed.length === 0, verdict, checks };
}

/** Auth0 keeps 256 characters of each console.log line. */
function say(line) {
  try {
    console.log(`tokenseal-probe: ${line}`.slice(0, 256));
  } catch {
    // nothing to do: the probe never throws
  }
}

exports.probe = probe;

exports.onExecutePostLogin = async (event, api) => {
  let report;
  try {
    report = probe();
  } catch (error) {
    report = { canRun: false, verdict: `cannot: probe failed (${error && error.message})`, checks: [] };
  }
  for (const c of report.checks) say(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.ms > 0 ? ` (${c.ms} ms)` : ''}`);
  say(`verdict: ${report.verdict}`);
};

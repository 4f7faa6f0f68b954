// Builds the deployable single files from the adapters' modules (each a wasm-pack build
// with only what that adapter calls) and the shims:
//
//   dist/action.js  CommonJS, exports onExecutePostLogin (js-shim/action.js), with
//                   target/wasm-action/ (feature wasm-action)
//   dist/rule.js    one function expression (rules/rule.js), for legacy Rules, with
//                   target/wasm-rule/ (feature wasm-rule)
//
// The .wasm is inlined brotli-compressed and base64-encoded, and inflated with Node's
// built-in zlib: by the Action when its file is loaded, by the Rule at its first execution
// in a container. The JavaScript around it is minified with esbuild (a build
// dependency only; the files have no dependencies): the Action's size has a budget, and
// the sources in js-shim/ and rules/ stay the readable ones. wasm-bindgen's nodejs glue
// is wrapped in a factory that takes the compiled WebAssembly.Module and the host's Web
// Crypto instead of reading a file and a global, so the module is compiled once per
// instance (the Action starts compiling it when the file is loaded; the Rule at its first
// execution in a container).
//
//   node scripts/bundle.mjs          (run by scripts/build.sh)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import { builtinModules } from 'node:module';
import { transformSync } from 'esbuild';

import { withNativeStringCopy } from './glue.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path) => readFileSync(join(root, path), 'utf8');
const LIMIT = 100_000; // Auth0: Action and Rule code at most 100 kB

function fail(message) {
  console.error(`[bundle] ${message}`);
  process.exit(1);
}

/**
 * One adapter's module from its wasm-pack output directory: the .wasm (bytes), its
 * brotli+base64 text, and its glue as the body of the core factory.
 */
function moduleFrom(dir) {
  const wasm = readFileSync(join(root, dir, 'tokenseal_bg.wasm'));
  const base64 = brotliCompressSync(wasm, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: wasm.length },
  }).toString('base64');
  // The glue reads the .wasm from disk at load; that is the one line pair replaced.
  const LOAD = /const wasmPath = `\$\{__dirname\}\/tokenseal_bg\.wasm`;\nconst wasmBytes = require\('fs'\)\.readFileSync\(wasmPath\);\nconst wasmModule = new WebAssembly\.Module\(wasmBytes\);\n/;
  let glue;
  try {
    // Strings are copied into the module natively, as in pkg/ (scripts/glue.mjs).
    glue = withNativeStringCopy(read(`${dir}/tokenseal.js`));
  } catch (error) {
    fail(`${dir}/tokenseal.js: ${error.message}`);
  }
  if (!LOAD.test(glue)) fail(`${dir}/tokenseal.js no longer loads the .wasm the expected way: update scripts/bundle.mjs`);
  // getrandom's wasm_js backend calls the Web Crypto global, which Node 18 (an Action
  // runtime, and what rules ran on) exposes only behind --experimental-global-webcrypto:
  // the bundle binds the same API from node:crypto there instead of touching globals.
  const RANDOM = 'globalThis.crypto.getRandomValues(';
  if (glue.split(RANDOM).length !== 2) fail(`${dir}/tokenseal.js no longer draws randomness the expected way: update scripts/bundle.mjs`);
  glue = glue
    .replace(RANDOM, 'hostCrypto.getRandomValues(')
    .replace(LOAD, 'const wasmModule = compiledModule;\n')
    // Documentation comments are for pkg/ users; the bundle does not need them.
    .replace(/^\s*\/\*\*[\s\S]*?\*\/\n/gm, '')
    .replace(/^\s*\/\/.*\n/gm, '');
  return { dir, wasm, base64, glue };
}
const actionModule = moduleFrom('target/wasm-action');
const ruleModule = moduleFrom('target/wasm-rule');

const commit = (() => {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const version = (read('Cargo.toml').match(/^version = "([^"]+)"/m) || fail('no version in Cargo.toml'))[1];

/**
 * The core factory: wasm-bindgen's glue, given a compiled module and the host's Web
 * Crypto (for getRandomValues). It (and compileTokenseal) uses the enclosing code's own
 * `require` (the Action module's, a rule's free variable), never a parameter: minified, a
 * parameter would be renamed, and the built-in modules a rule requires must stay visible
 * as require('...').
 */
const factory = ({ glue }) => `function instantiateTokenseal(compiledModule, hostCrypto) {
  const module = { exports: {}, require };
  const exports = module.exports;
  const TextEncoder = globalThis.TextEncoder || require('util').TextEncoder;
  const TextDecoder = globalThis.TextDecoder || require('util').TextDecoder;
${glue}
  return module.exports;
}`;

/** Inflates and compiles the inlined module; throws where WebAssembly is missing (the
 * Rule: a rule is compiled anew per container, and keeps its core on globalThis). */
const compileSync = `function compileTokenseal() {
  if (typeof WebAssembly !== 'object' || WebAssembly === null) throw new Error('WebAssembly is not available');
  const bytes = require('zlib').brotliDecompressSync(Buffer.from(TOKENSEAL_WASM, 'base64'));
  return new WebAssembly.Module(bytes);
}`;

/** js-shim/common.js in a scope of its own, bound to the names the adapters use. */
const common = `const { log, codeOf, deniesWithoutCore, settingsCache, isObject, narrowUser, narrowQuery } = (function () {
  const module = { exports: {} };
${read('js-shim/common.js').replace("'use strict';\n", '')}
  return module.exports;
})();`;

const banner = (what) => `/*! tokenseal ${version} (${commit}): ${what}. Built by scripts/bundle.mjs; do not edit.
 * Seals upstream refresh tokens into app_metadata.sealed_refresh_tokens as user-bound JWEs.
 * Source, tests and documentation: the tokenseal repository. */`;

const actionBody = `'use strict';
const TOKENSEAL_WASM = '${actionModule.base64}';
${factory(actionModule)}
/**
 * The compiled module, started when the file is loaded: the bytes are inflated then
 * (synchronously, about 2 ms) and compiled on V8's background threads, so that the first
 * login of a new instance finds the module ready or nearly. A failure (no WebAssembly,
 * bad data) is kept for the first login to report; loading the file never throws.
 */
const tokensealModule = new Promise((resolve) => {
  if (typeof WebAssembly !== 'object' || WebAssembly === null) throw new Error('WebAssembly is not available');
  resolve(WebAssembly.compile(require('zlib').brotliDecompressSync(Buffer.from(TOKENSEAL_WASM, 'base64'))));
});
tokensealModule.catch(() => {});
/**
 * The host's Web Crypto, bound while the module compiles: Node loads it at first use, and
 * that took about 2.5 ms of the main thread that the first login would otherwise spend
 * after the compile. As when it was bound at instantiation: a Node whose crypto module
 * fails to load has no core (the first login reports ERR_WASM_UNAVAILABLE), and one
 * without Web Crypto has a core whose sealing throws ERR_RANDOM.
 */
const tokensealCrypto = (() => {
  try {
    return { api: globalThis.crypto || require('crypto').webcrypto };
  } catch (error) {
    return { error };
  }
})();
let tokensealCore = null;
/** The core, instantiated once per Action instance (concurrent first logins share the
 * one instance); rejects where WebAssembly (or crypto) is missing. */
function loadCore() {
  if (!tokensealCore) {
    tokensealCore = tokensealModule.then((compiled) => {
      if (tokensealCrypto.error) throw tokensealCrypto.error;
      return instantiateTokenseal(compiled, tokensealCrypto.api);
    });
  }
  return tokensealCore;
}
/** js-shim/http.js, in a scope of its own. */
const { call: httpCall, clientCredentialsRequest, judged, withToken } = (function () {
  const module = { exports: {} };
${read('js-shim/http.js').replace("'use strict';\n", '')}
  return module.exports;
})();
${common}
/** Forgets the instance after a trap (a WebAssembly RuntimeError leaves it unusable);
 * the next login instantiates a new one from the compiled module. */
function dropCore() {
  tokensealCore = null;
}
${read('js-shim/action.js')}`;
const action = `${banner('Auth0 post-login Action')}\n${minified(actionBody)}\n`;

// The Rule: Auth0 stores a rule as one function expression and compiles it anew for each
// container, so everything lives inside the function, and the instantiated core is kept
// on the global object between runs in one container, with the core's reading of the
// settings. `globalThis`, not `global`: some rule runners (the auth0-simulator) define
// only the former. The cache entry carries the build, a digest of the whole rule body
// (module, glue and code), so a container that ran another build of the rule never hands
// its core or its memo to this one.
const ruleCode = `const TOKENSEAL_WASM = '${ruleModule.base64}';
${compileSync}
${factory(ruleModule)}
/** The core, instantiated once per container and kept on globalThis with its reading of
 * the settings (settingsCache): \`{ core, settingsMemo }\`. Throws where WebAssembly (or
 * require, or crypto) is missing. */
function loadCore() {
  const cached = globalThis.__tokensealCore;
  if (cached && cached.build === TOKENSEAL_BUILD && cached.core && cached.settingsMemo) return cached;
  const core = instantiateTokenseal(compileTokenseal(), globalThis.crypto || require('crypto').webcrypto);
  const entry = { build: TOKENSEAL_BUILD, core, settingsMemo: settingsCache() };
  globalThis.__tokensealCore = entry;
  return entry;
}
${common}
${read('rules/rule.js')}`;
const build = `${version}+${createHash('sha256').update(ruleCode).digest('hex').slice(0, 16)}`;
const ruleBody = `'use strict';
const TOKENSEAL_BUILD = '${build}';
${ruleCode}`;
const rule = `function (user, context, callback) {\n${banner('legacy Auth0 Rule')}\n${minified(ruleBody)}\n}\n`;

/**
 * `code` minified as the body of a function: wrapped in an arrow called at once, so
 * that its own names are local and can be shortened, while the names it finds around it
 * (`require`, `exports`, a rule's `user`, `context`, `callback`, `configuration`,
 * `auth0`) stay as they are. Node 18 syntax, no comments kept.
 */
function minified(code) {
  const out = transformSync(`(() => {\n${code}\n})();`, {
    minify: true, target: 'node18', legalComments: 'none', charset: 'utf8',
  });
  return out.code.trim();
}

/** A rule can only require Node's built-in modules (Auth0 vets the rest). */
function checkRuleRequires(text) {
  for (const [, name] of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    if (!builtinModules.includes(name.replace(/^node:/, ''))) fail(`dist/rule.js requires ${name}, which is not a Node built-in`);
  }
  if (!text.startsWith('function (user, context, callback) {') || !text.endsWith('}\n')) fail('dist/rule.js is not one function expression');
}
checkRuleRequires(rule);

mkdirSync(join(root, 'dist'), { recursive: true });
const outputs = [['dist/action.js', action, actionModule], ['dist/rule.js', rule, ruleModule]];
for (const [path, text, { dir, wasm, base64 }] of outputs) {
  const bytes = Buffer.byteLength(text);
  if (bytes > LIMIT) fail(`${path} is ${bytes} bytes, over Auth0's ${LIMIT}-byte code limit`);
  writeFileSync(join(root, path), text);
  console.log(`[bundle] ${path}: ${bytes} bytes (${dir}: wasm ${wasm.length} B, inlined brotli+base64 ${base64.length} B)`);
}

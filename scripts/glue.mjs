// The one change tokenseal makes inside wasm-bindgen's generated JavaScript, shared by
// scripts/package.mjs (pkg/tokenseal.js) and scripts/bundle.mjs (the modules inlined into
// dist/): how a string is copied into the module's memory.
//
// wasm-bindgen's passStringToWasm0 copies a string's ASCII prefix one UTF-16 unit at a
// time in a JavaScript loop, and only the rest with TextEncoder.encodeInto. Every
// planLogin input crosses that way whole (the narrowed user as JSON text, a sealed value
// being most of it), so the loop was the largest single cost of a warm login's crossing:
// about 11% of planLogin on the no-read path, 5% on the sealing path, side by side in
// one process. The replacement measures the string's UTF-8 length natively
// (Buffer.byteLength) and copies it with one encodeInto. Both produce the same bytes,
// lone surrogates included (each becomes U+FFFD, three bytes, in both):
// tests/node/string-crossing.test.mjs holds every shipped file to that.
//
// wasm-bindgen is pinned exactly (Cargo.toml); the stock function is recognised by its
// digest, so a new version that changes it fails the build until someone reviews it.
import { createHash } from 'node:crypto';

const STOCK = /^function passStringToWasm0\(arg, malloc, realloc\) \{\n[\s\S]*?\n\}\n/m;
/** SHA-256 of passStringToWasm0 as wasm-bindgen 0.2.130 generates it for --target nodejs. */
const STOCK_SHA256 = 'edc66798a68412bc90d10b47313f26d7eb71cc77a8a1cec40f23702fbc633738';

// `realloc` stays in the signature: the generated callers pass it. A copy that is not
// whole would hand the core a `&str` of uninitialised bytes; it cannot happen (both
// lengths are UTF-8 of the same string), and if it ever did the call throws instead.
const NATIVE = `function passStringToWasm0(arg, malloc, realloc) {
    const len = Buffer.byteLength(arg, 'utf8');
    const ptr = malloc(len, 1) >>> 0;
    const { read, written } = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr, ptr + len));
    if (read !== arg.length || written !== len) throw new Error('tokenseal: a string was not copied whole');
    WASM_VECTOR_LEN = len;
    return ptr;
}
`;

/**
 * `glue` (wasm-bindgen's --target nodejs output) with passStringToWasm0 copying strings
 * natively.
 *
 * @param {string} glue the generated JavaScript
 * @returns {string} the glue with the one function replaced
 * @throws {Error} when the glue has no passStringToWasm0 or a different one than the
 *   pinned wasm-bindgen generates
 */
export function withNativeStringCopy(glue) {
  if (glue.includes(NATIVE)) return glue; // already done (scripts/package.mjs run again)
  const found = glue.match(STOCK);
  if (!found || glue.split('function passStringToWasm0(').length !== 2) {
    throw new Error('the glue has no passStringToWasm0, or more than one');
  }
  if (createHash('sha256').update(found[0]).digest('hex') !== STOCK_SHA256) {
    throw new Error("wasm-bindgen's passStringToWasm0 is not the one scripts/glue.mjs replaces: review the new one and update it");
  }
  return glue.replace(STOCK, () => NATIVE);
}

// Generates tokenseal-v1.json: known-answer vectors for the tokenseal v1 sealed format,
// computed with Node's own AES-256-GCM (node:crypto, OpenSSL), independently of the
// Rust crate. The Rust tests check that tokenseal's seal() reproduces every value byte
// for byte and that every tampered twin fails with the stated code.
//
//   node tests/vectors/generate-tokenseal-v1.mjs > tests/vectors/tokenseal-v1.json
import { createCipheriv } from 'node:crypto';

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const range = (n, start = 0) => Array.from({ length: n }, (_, i) => (start + i) & 0xff);

function seal({ key, kid, sub, iat, iv, token }) {
  // Member order matches tokenseal's header serialization: typ, alg, enc, kid, sub, iat.
  const header = b64(JSON.stringify({ typ: 'tokenseal.v1+jwe', alg: 'dir', enc: 'A256GCM', kid, sub, iat }));
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key), Buffer.from(iv));
  cipher.setAAD(Buffer.from(header, 'ascii')); // RFC 7516 §5.1 step 14
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return `${header}..${b64(iv)}.${b64(ciphertext)}.${b64(cipher.getAuthTag())}`;
}

/** Replaces part `index` of a compact JWE. */
const withPart = (jwe, index, value) => jwe.split('.').map((p, i) => (i === index ? value : p)).join('.');
/** Flips the low bit of byte `at` of part `index`, keeping canonical base64url. */
function flipByte(jwe, index, at) {
  const bytes = Buffer.from(jwe.split('.')[index], 'base64url');
  bytes[at] ^= 1;
  return withPart(jwe, index, b64(bytes));
}

const rfcCek = [177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246, 138, 7, 110, 91, 112, 46, 34, 105, 47, 130, 203, 46, 122, 234, 64, 252];
const inputs = [
  {
    name: 'google-primary',
    key: range(32), kid: 'k-2026-11', sub: 'google-oauth2|109876543210987654321', iat: 1763769600,
    iv: range(12), token: '1//0gExampleRefreshToken-abc_DEF.ghi~jkl',
    tamper: (jwe) => ({ what: 'last tag byte flipped', sealed: flipByte(jwe, 4, 15), open_as: null, code: 'ERR_DECRYPT' }),
  },
  {
    name: 'linked-identity-rfc-key',
    key: rfcCek, kid: 'rfc7516-a1-cek', sub: 'auth0|65f0c0ffee00112233445566', iat: 1700000000,
    iv: range(12, 0xa0), token: '1//04_linked-google-identity-token',
    // Re-binding: an attacker rewrites sub to their own user id. The header still
    // parses, the binding check passes for the attacker, and the AAD check must fail.
    tamper: (jwe) => {
      const header = JSON.parse(Buffer.from(jwe.split('.')[0], 'base64url').toString());
      header.sub = 'auth0|attacker';
      return { what: 'sub rewritten to another user', sealed: withPart(jwe, 0, b64(JSON.stringify(header))), open_as: 'auth0|attacker', code: 'ERR_DECRYPT' };
    },
  },
  {
    name: 'every-vschar',
    key: range(32, 0x40), kid: 'all-printable', sub: 'google-oauth2|1', iat: 0,
    iv: range(12, 0xf4), token: Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join(''),
    tamper: (jwe) => ({ what: 'first ciphertext byte flipped', sealed: flipByte(jwe, 3, 0), open_as: null, code: 'ERR_DECRYPT' }),
  },
  {
    name: 'iv-swapped',
    key: range(32, 7), kid: 'k', sub: 'google-oauth2|42', iat: 1763769601,
    iv: range(12, 0x30), token: '1//short',
    tamper: (jwe) => ({ what: 'IV replaced by another valid IV', sealed: withPart(jwe, 2, b64(range(12, 0x31))), open_as: null, code: 'ERR_DECRYPT' }),
  },
];

const vectors = inputs.map(({ tamper, ...v }) => {
  const sealed = seal(v);
  return {
    name: v.name,
    key_set: { keys: [{ kty: 'oct', kid: v.kid, alg: 'A256GCM', use: 'enc', k: b64(v.key) }] },
    sub: v.sub, iat: v.iat, iv: b64(v.iv), token: v.token, sealed,
    tampered: tamper(sealed),
  };
});
process.stdout.write(`${JSON.stringify({
  source: 'Computed by tests/vectors/generate-tokenseal-v1.mjs with node:crypto AES-256-GCM (OpenSSL), independently of the Rust implementation. Key of linked-identity-rfc-key: the CEK of RFC 7516 Appendix A.1.',
  format: 'tokenseal v1: compact JWE, protected header {typ,alg:dir,enc:A256GCM,kid,sub,iat}, empty encrypted key, AAD = ASCII of the encoded header (RFC 7516 §5.1)',
  vectors,
}, null, 2)}\n`);

// A reference implementation of the tokenseal v1 sealed format on node:crypto, for the
// benchmark only: it does per call the same work tokenseal's seal()/open() do (parse the
// JWK Set JSON, validate the token and user id, build or check the protected header,
// AES-256-GCM with the encoded header as AAD), so that timings compare like for like.
//
// Format (RFC 7516 compact serialization, "dir" + "A256GCM"):
//   BASE64URL(header) . "" . BASE64URL(IV, 12 bytes) . BASE64URL(ciphertext) . BASE64URL(tag, 16 bytes)
// header = {"typ":"tokenseal.v1+jwe","alg":"dir","enc":"A256GCM","kid":...,"sub":...,"iat":...}
// AAD = ASCII(BASE64URL(header)) exactly as it appears in the value (RFC 7516 §5.1).
//
// It mirrors tokenseal's checks on the success path; its error codes are a best effort
// and it is not a supported implementation.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const TYP_V1 = 'tokenseal.v1+jwe';
const MAX_TOKEN_LEN = 4096;
const MAX_SEALED_LEN = 2 * MAX_TOKEN_LEN + 2048;
const MAX_SUB_LEN = 512;
const B64URL = /^[A-Za-z0-9_-]*$/;

function fail(code) {
  const err = new Error(`reference: ${code}`);
  err.code = code;
  return err;
}

/** Canonical unpadded base64url to bytes (rejects what Buffer would silently accept). */
function decodeB64url(text, code) {
  if (!B64URL.test(text) || text.length % 4 === 1) throw fail(code);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw fail(code);
  return bytes;
}

/** Parses a JWK Set JSON string into [{ kid, key }], first key primary. */
function parseKeySet(json) {
  let set;
  try {
    set = JSON.parse(json);
  } catch {
    throw fail('ERR_KEYSET_JSON');
  }
  if (!set || typeof set !== 'object' || !Array.isArray(set.keys)) throw fail('ERR_KEYSET_JSON');
  if (set.keys.length === 0) throw fail('ERR_KEYSET_EMPTY');
  const keys = [];
  for (const jwk of set.keys) {
    if (jwk?.kty !== 'oct') throw fail('ERR_KEY_TYPE');
    if (typeof jwk.kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(jwk.kid)) throw fail('ERR_KEY_KID_MISSING');
    if ((jwk.alg !== undefined && jwk.alg !== 'A256GCM') || (jwk.use !== undefined && jwk.use !== 'enc')) {
      throw fail('ERR_KEY_ALG');
    }
    if (typeof jwk.k !== 'string') throw fail('ERR_KEY_ENCODING');
    const key = decodeB64url(jwk.k, 'ERR_KEY_ENCODING');
    if (key.length !== 32) throw fail('ERR_KEY_LENGTH');
    if (keys.some((k) => k.kid === jwk.kid)) throw fail('ERR_KEY_KID_DUPLICATE');
    keys.push({ kid: jwk.kid, key });
  }
  return keys;
}

function checkToken(token) {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LEN || !/^[\x20-\x7e]+$/.test(token)) {
    throw fail('ERR_TOKEN_INVALID');
  }
}

function checkSub(sub) {
  // eslint-disable-next-line no-control-regex
  if (typeof sub !== 'string' || sub.length === 0 || Buffer.byteLength(sub) > MAX_SUB_LEN || /[\x00-\x1f\x7f-\x9f]/.test(sub)) {
    throw fail('ERR_USER_ID_INVALID');
  }
}

/** Seals `token` for `sub` under the first key of the JWK Set. */
export function seal(token, keySetJson, sub) {
  checkToken(token);
  const [primary] = parseKeySet(keySetJson);
  checkSub(sub);
  const header = { typ: TYP_V1, alg: 'dir', enc: 'A256GCM', kid: primary.kid, sub, iat: Math.floor(Date.now() / 1000) };
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', primary.key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `${encodedHeader}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`;
}

/** Opens a sealed value bound to `expectedSub` and returns the token. */
export function open(sealed, keySetJson, expectedSub) {
  const keys = parseKeySet(keySetJson);
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LEN) throw fail('ERR_SEALED_MALFORMED');
  const parts = sealed.split('.');
  if (parts.length !== 5) throw fail('ERR_SEALED_MALFORMED');
  const [encodedHeader, encryptedKey, ivText, ciphertextText, tagText] = parts;
  if (encryptedKey !== '' || encodedHeader === '' || ivText.length !== 16 || tagText.length !== 22) {
    throw fail('ERR_SEALED_MALFORMED');
  }
  let header;
  try {
    header = JSON.parse(decodeB64url(encodedHeader, 'ERR_SEALED_MALFORMED').toString('utf8'));
  } catch (err) {
    throw err.code ? err : fail('ERR_HEADER_INVALID');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw fail('ERR_HEADER_INVALID');
  if (header.typ !== TYP_V1) throw fail(/^tokenseal\.v\d+\+jwe$/.test(header.typ) ? 'ERR_VERSION_UNSUPPORTED' : 'ERR_HEADER_INVALID');
  if (header.alg !== 'dir' || header.enc !== 'A256GCM') throw fail('ERR_ALG_UNSUPPORTED');
  if ('crit' in header || 'zip' in header) throw fail('ERR_HEADER_INVALID');
  if (typeof header.kid !== 'string' || typeof header.sub !== 'string') throw fail('ERR_HEADER_INVALID');
  if (header.iat !== undefined && !(Number.isSafeInteger(header.iat) && header.iat >= 0)) throw fail('ERR_HEADER_INVALID');
  if (header.sub !== expectedSub) throw fail('ERR_SUBJECT_MISMATCH');
  const key = keys.find((k) => k.kid === header.kid);
  if (!key) throw fail('ERR_KEY_UNKNOWN');
  const iv = decodeB64url(ivText, 'ERR_SEALED_MALFORMED');
  const tag = decodeB64url(tagText, 'ERR_SEALED_MALFORMED');
  const ciphertext = decodeB64url(ciphertextText, 'ERR_SEALED_MALFORMED');
  let plaintext;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw fail('ERR_DECRYPT');
  }
  const token = plaintext.toString('utf8');
  checkToken(token);
  return token;
}

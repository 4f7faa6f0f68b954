'use strict';
// The tokenseal post-login Action written in plain JavaScript on node:crypto, for
// bench/action.mjs only: a yardstick for dist/action.js, not a supported implementation.
//
// It keeps the Action's contract (the secrets TOKENSEAL_KEYS, AUTH0_DOMAIN,
// AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, TOKENSEAL_CLAIM_NAMESPACE, TOKENSEAL_FETCH,
// TOKENSEAL_ON_ERROR, TOKENSEAL_RECHECK_HOURS) and makes the same decisions as the Rust
// core (src/login.rs, src/jwe.rs, src/derive.rs, src/action.rs) driven by
// js-shim/action.js:
// - when to read the user through the Management API: never when the execution did not
//   go to Google (refresh token exchange, prompt=none, an old `federated` timestamp);
//   otherwise when the login may bring a new token, or nothing valid is stored and no
//   read in the last TOKENSEAL_RECHECK_HOURS found the identity without a token
//   (app_metadata.tokenseal.no_token_at, written and removed here as the core does);
// - the Management API client: its token cached in api.cache sealed under a derived key
//   (an entry that does not open is dropped), one retry for 429/5xx, one
//   re-authentication when a cached token is refused, every call inside a 10 s budget;
// - what to seal: a fresh token replaces a valid value only when its fingerprint differs
//   from the value's capture record, or, without a checkable record, at a login that may
//   bring a new token; lazy re-seal under a new primary key keeping the provenance;
//   legacy plaintext migration; the old rule's hex ciphertext left as it is;
// - the sealed format: compact JWE, "dir" + "A256GCM", protected header {typ, alg, enc,
//   kid, sub, iat, src, cap, cap_kid} (duplicate members refused) as the AAD, 96-bit
//   random IV; `cap` is an AES-256-CMAC fingerprint under a key derived with the
//   SP 800-108 counter-mode KDF (node:crypto has no CMAC: it is built here on AES-ECB);
// - the app_metadata writes, the status claim and the logged codes.
// The Action hands the core only the fields it reads; this file reads those fields where
// they are and copies nothing, which is what plain JavaScript would do.
// bench/action.mjs checks the CMAC and KDF against tests/vectors/kdf-cmac.json and that
// both implementations decide alike on a set of scenarios before it times anything.

const { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } = require('node:crypto');

const GOOGLE = 'google-oauth2';
const SEALED_KEY = 'sealed_refresh_tokens';
const LEGACY_KEY = 'refresh_token';
const STATE_KEY = 'tokenseal';
const NO_TOKEN_AT = 'no_token_at';
const CLAIM_NAME = 'google_offline_access';
const TYP = 'tokenseal.v1+jwe';
const TYP_CACHE = 'tokenseal-cache.v1+jwe';
const SOURCES = ['login', 'rotation'];
const FINGERPRINT_LABEL = 'tokenseal fingerprint';
const CACHE_LABEL = 'tokenseal cache';
const MAX_TOKEN_LEN = 4096;
const MAX_SEALED_LEN = 2 * MAX_TOKEN_LEN + 2048;
const MAX_SUB_LEN = 512;
const REFRESH_TOKEN_PROTOCOL = 'oauth2-refresh-token';
const FEDERATED_RECENT_SECONDS = 600;
const DEFAULT_RECHECK_SECONDS = 24 * 60 * 60;
const MAX_RECHECK_HOURS = 365 * 24;
const CALL_BUDGET_MS = 10_000;
const CALL_TIMEOUT_MS = 4_000;
const MIN_CALL_MS = 500;
const MAX_RETRY_WAIT_MS = 3_000;
const MAX_CACHE_TTL_MS = 24 * 60 * 60 * 1000;
const TOKEN_CACHE_PREFIX = 'tokenseal:m2m:';
const REQUIRED_SCOPES = ['read:users', 'read:user_idp_tokens'];
const RESERVED_DOMAINS = ['auth0.com', 'webtask.io', 'webtask.run'];

class CodedError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}
const fail = (code) => { throw new CodedError(code); };
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------- values

function checkedToken(value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TOKEN_LEN || !/^[\x20-\x7e]+$/.test(value)) {
    fail('ERR_TOKEN_INVALID');
  }
  return value;
}

function checkedSub(sub) {
  // Rust's char::is_control: the Unicode Cc category.
  // eslint-disable-next-line no-control-regex
  if (typeof sub !== 'string' || sub === '' || Buffer.byteLength(sub) > MAX_SUB_LEN || /[\x00-\x1f\x7f-\x9f]/.test(sub)) {
    fail('ERR_USER_ID_INVALID');
  }
  return sub;
}

/** Canonical unpadded base64url only (Buffer alone accepts more). */
function b64(text, code) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) fail(code);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) fail(code);
  return bytes;
}

/** A count of the login input: absent, or a non-negative integer (the core's u64). */
function count(value, fallback) {
  if (value === undefined || value === null) return fallback;
  return Number.isSafeInteger(value) && value >= 0 ? value : fail('ERR_INPUT_INVALID');
}

// ------------------------------------------------------------ CMAC and derived keys

const ZERO_BLOCK = Buffer.alloc(16);

/** Doubling in GF(2^128) (SP 800-38B §6.1): a left shift, 0x87 folded in on carry. */
function double(block) {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 15; i++) out[i] = (block[i] << 1) | (block[i + 1] >>> 7);
  out[15] = (block[15] << 1) ^ (block[0] & 0x80 ? 0x87 : 0);
  return out;
}

/**
 * AES-256-CMAC under `key` (RFC 4493, NIST SP 800-38B) as a function of the message.
 * One ECB cipher per key for the key's lifetime: each block is one update() call, so
 * the chaining (CBC-MAC) is done here.
 */
function cmacOf(key) {
  const aes = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const k1 = double(aes.update(ZERO_BLOCK));
  const k2 = double(k1);
  return (message) => {
    const blocks = Math.max(1, Math.ceil(message.length / 16));
    const whole = message.length > 0 && message.length % 16 === 0;
    let x = ZERO_BLOCK;
    for (let b = 0; b < blocks - 1; b++) {
      const y = Buffer.allocUnsafe(16);
      for (let i = 0; i < 16; i++) y[i] = x[i] ^ message[16 * b + i];
      x = aes.update(y);
    }
    const last = Buffer.alloc(16);
    message.copy(last, 0, 16 * (blocks - 1));
    if (!whole) last[message.length - 16 * (blocks - 1)] = 0x80;
    const subkey = whole ? k1 : k2;
    for (let i = 0; i < 16; i++) last[i] ^= x[i] ^ subkey[i];
    return aes.update(last);
  };
}

/** The key for one purpose (`label`): SP 800-108r1 counter mode, AES-256-CMAC as PRF,
 * L = 256, empty context: CMAC(K, [i]32 || label || 0x00 || [256]32) for i = 1, 2. */
function deriveKey(key, label) {
  const prf = cmacOf(key);
  const input = (i) => {
    const bytes = Buffer.alloc(4 + label.length + 1 + 4);
    bytes.writeUInt32BE(i, 0);
    bytes.write(label, 4, 'latin1');
    bytes.writeUInt32BE(256, 4 + label.length + 1);
    return bytes;
  };
  return Buffer.concat([prf(input(1)), prf(input(2))]);
}

// --------------------------------------------------------------------------- key ring

let ringCache = null; // { text, ring }: the key set parsed once per instance, as the core does

function keyRing(text) {
  if (ringCache && ringCache.text === text) return ringCache.ring;
  if (typeof text !== 'string') fail('ERR_KEYSET_JSON');
  let set;
  try {
    set = JSON.parse(text);
  } catch {
    fail('ERR_KEYSET_JSON');
  }
  if (!isObject(set) || !Array.isArray(set.keys)) fail('ERR_KEYSET_JSON');
  if (set.keys.length === 0) fail('ERR_KEYSET_EMPTY');
  const ring = set.keys.map((jwk, index) => {
    if (!isObject(jwk) || jwk.kty !== 'oct') fail('ERR_KEY_TYPE');
    if (typeof jwk.kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(jwk.kid)) fail('ERR_KEY_KID_MISSING');
    if ((jwk.alg !== undefined && jwk.alg !== 'A256GCM') || (jwk.use !== undefined && jwk.use !== 'enc')) fail('ERR_KEY_ALG');
    const key = b64(jwk.k, 'ERR_KEY_ENCODING');
    if (key.length !== 32) fail('ERR_KEY_LENGTH');
    if (set.keys.slice(0, index).some((k) => k.kid === jwk.kid)) fail('ERR_KEY_KID_DUPLICATE');
    // Derived keys are made at first use and kept, as the core keeps them per ring key.
    return { kid: jwk.kid, key, fingerprintMac: null, cacheKey: null };
  });
  ringCache = { text, ring };
  return ring;
}

/** The keyed fingerprint of `token` under ring key `entry` (16 bytes). */
function fingerprint(entry, token) {
  if (!entry.fingerprintMac) entry.fingerprintMac = cmacOf(deriveKey(entry.key, FINGERPRINT_LABEL));
  return entry.fingerprintMac(Buffer.from(token, 'latin1'));
}

/** The AES-256-GCM key of api.cache entries sealed under ring key `entry`. */
function cacheKeyOf(entry) {
  if (!entry.cacheKey) entry.cacheKey = deriveKey(entry.key, CACHE_LABEL);
  return entry.cacheKey;
}

// ----------------------------------------------------------------------- sealed format

/** A compact JWE of `plaintext` under the primary key (or its derived cache key), the
 * header members in the core's order and undefined provenance members left out. */
function sealJwe(typ, plaintext, ring, sub, provenance = {}) {
  const [primary] = ring;
  const header = JSON.stringify({
    typ, alg: 'dir', enc: 'A256GCM', kid: primary.kid, sub: checkedSub(sub), iat: nowSeconds(),
    src: provenance.src, cap: provenance.cap, cap_kid: provenance.cap_kid,
  });
  const encodedHeader = Buffer.from(header).toString('base64url');
  const iv = randomBytes(12);
  const key = typ === TYP_CACHE ? cacheKeyOf(primary) : primary.key;
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${encodedHeader}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

/** The capture record of `token` under the primary key: header members cap, cap_kid. */
function captureOf(token, ring) {
  return { cap: fingerprint(ring[0], token).toString('base64url'), cap_kid: ring[0].kid };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * True when an object of the JSON text `text` (which JSON.parse accepted) repeats a
 * member name. The core refuses such a header (RFC 7515 §4 allows refusing), so that no
 * reader can see another value than the one authenticated; JSON.parse keeps the last.
 */
function repeatsMember(text) {
  const objects = []; // per open bracket: { names, expectName } for objects, null for arrays
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      const top = objects[objects.length - 1];
      if (top && top.expectName) {
        const name = JSON.parse(text.slice(i, end + 1));
        if (top.names.has(name)) return true;
        top.names.add(name);
        top.expectName = false;
      }
      i = end;
    } else if (c === 0x7b) {
      objects.push({ names: new Set(), expectName: true });
    } else if (c === 0x5b) {
      objects.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      objects.pop();
    } else if (c === 0x2c && objects[objects.length - 1]) {
      objects[objects.length - 1].expectName = true;
    }
  }
  return false;
}

/** The header of a sealed value or cache entry: shape, version, algorithms, members,
 * checked in the core's order. */
function inspect(sealed) {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LEN) fail('ERR_SEALED_MALFORMED');
  const parts = sealed.split('.');
  if (parts.length !== 5) fail('ERR_SEALED_MALFORMED');
  const [encodedHeader, encryptedKey, iv, ciphertext, tag] = parts;
  if (encryptedKey !== '' || encodedHeader === '' || iv.length !== 16 || tag.length !== 22) fail('ERR_SEALED_MALFORMED');
  const headerBytes = b64(encodedHeader, 'ERR_SEALED_MALFORMED');
  let header;
  try {
    const text = utf8.decode(headerBytes);
    header = JSON.parse(text);
    if (repeatsMember(text)) fail('ERR_HEADER_INVALID');
  } catch {
    fail('ERR_HEADER_INVALID');
  }
  if (!isObject(header)) fail('ERR_HEADER_INVALID');
  const text = (name) => {
    const value = header[name];
    if (value !== undefined && typeof value !== 'string') fail('ERR_HEADER_INVALID');
    return value;
  };
  const typ = text('typ');
  if (typ !== TYP && typ !== TYP_CACHE) {
    fail(typeof typ === 'string' && /^tokenseal\.v\d+\+jwe$/.test(typ) ? 'ERR_VERSION_UNSUPPORTED' : 'ERR_HEADER_INVALID');
  }
  const [alg, enc] = [text('alg'), text('enc')];
  if (alg === undefined || enc === undefined) fail('ERR_HEADER_INVALID');
  if (alg !== 'dir' || enc !== 'A256GCM') fail('ERR_ALG_UNSUPPORTED');
  if ('crit' in header || 'zip' in header) fail('ERR_HEADER_INVALID');
  if (text('kid') === undefined || text('sub') === undefined) fail('ERR_HEADER_INVALID');
  if (header.iat !== undefined && !(Number.isSafeInteger(header.iat) && header.iat >= 0)) fail('ERR_HEADER_INVALID');
  const src = text('src');
  if (src !== undefined && !SOURCES.includes(src)) fail('ERR_HEADER_INVALID');
  const [cap, capKid] = [text('cap'), text('cap_kid')];
  if ((cap === undefined) !== (capKid === undefined)) fail('ERR_HEADER_INVALID');
  const capture = cap === undefined ? null : { fingerprint: b64(cap, 'ERR_HEADER_INVALID'), kid: capKid };
  if (capture && capture.fingerprint.length !== 16) fail('ERR_HEADER_INVALID');
  return { header, capture, encodedHeader, iv, ciphertext, tag };
}

/** Opens a value of type `typ` bound to `sub`: the plaintext token and the header. */
function openJwe(typ, sealed, ring, sub) {
  const { header, capture, encodedHeader, iv, ciphertext, tag } = inspect(sealed);
  if (header.typ !== typ) fail('ERR_HEADER_INVALID');
  if (header.sub !== sub) fail('ERR_SUBJECT_MISMATCH');
  const entry = ring.find((k) => k.kid === header.kid);
  if (!entry) fail('ERR_KEY_UNKNOWN');
  const ivBytes = b64(iv, 'ERR_SEALED_MALFORMED');
  const tagBytes = b64(tag, 'ERR_SEALED_MALFORMED');
  const data = b64(ciphertext, 'ERR_SEALED_MALFORMED');
  if (ivBytes.length !== 12 || tagBytes.length !== 16) fail('ERR_SEALED_MALFORMED');
  let plaintext;
  try {
    const decipher = createDecipheriv('aes-256-gcm', typ === TYP_CACHE ? cacheKeyOf(entry) : entry.key, ivBytes, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
    decipher.setAuthTag(tagBytes);
    plaintext = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    fail('ERR_DECRYPT');
  }
  const token = plaintext.toString('utf8');
  if (!Buffer.from(token, 'utf8').equals(plaintext)) fail('ERR_TOKEN_INVALID');
  return { token: checkedToken(token), header, capture };
}

const sameBytes = (x, y) => x.length === y.length && timingSafeEqual(x, y);
const sameToken = (a, b) => sameBytes(Buffer.from(a), Buffer.from(b));

// ----------------------------------------------------------------------------- users

/** The core's view of a user: refuses what is not Auth0's user shape. */
function checkedUser(user) {
  if (!isObject(user) || typeof user.user_id !== 'string') fail('ERR_USER_INVALID');
  if (user.identities !== undefined && user.identities !== null) {
    if (!Array.isArray(user.identities)) fail('ERR_USER_INVALID');
    for (const identity of user.identities) {
      if (!isObject(identity)) fail('ERR_USER_INVALID');
      for (const f of ['provider', 'connection']) {
        if (identity[f] !== undefined && identity[f] !== null && typeof identity[f] !== 'string') fail('ERR_USER_INVALID');
      }
    }
  }
  if (user.app_metadata !== undefined && user.app_metadata !== null && !isObject(user.app_metadata)) fail('ERR_USER_INVALID');
  return user;
}

const googleIdentity = (user) => (user.identities || []).find((i) => i.provider === GOOGLE);
const hasValue = (v) => v !== undefined && v !== null;

// ------------------------------------------------------------------------ the decision

function validNamespace(ns) {
  const m = /^https?:\/\/(.*)$/.exec(ns);
  if (!m) return false;
  const host = m[1].split(/[/:?#]/)[0].toLowerCase();
  // eslint-disable-next-line no-control-regex
  return host !== '' && !/[\x00-\x1f\x7f-\x9f ]/.test(ns)
    && !RESERVED_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`));
}

/** The values of one /authorize query parameter: a string, or the strings of an array. */
function queryValues(query, name) {
  const v = isObject(query) ? query[name] : undefined;
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
}

function consentRequested(query) {
  return queryValues(query, 'prompt').some((p) => p.split(' ').includes('consent'))
    || queryValues(query, 'approval_prompt').includes('force')
    || queryValues(query, 'connection_scope').some((s) => s.trim() !== '');
}

/** The execution did not go to Google, so no new token can exist. */
function silent(facts, now) {
  return facts.protocol === REFRESH_TOKEN_PROTOCOL
    || queryValues(facts.authorizeQuery, 'prompt').some((p) => p.split(' ').includes('none'))
    || facts.transactionPrompt.includes('none')
    || (facts.federatedAt !== null && now - facts.federatedAt > FEDERATED_RECENT_SECONDS);
}

/** A first login, or a request for consent or new scopes. */
function mayBringNewToken(facts) {
  return (facts.loginsCount !== null && facts.loginsCount <= 1)
    || consentRequested(facts.authorizeQuery)
    || facts.transactionPrompt.includes('consent');
}

/** The login facts of the input, refused as the core refuses them. */
function loginFacts(input) {
  const text = (v) => (v === undefined || v === null ? null : typeof v === 'string' ? v : fail('ERR_INPUT_INVALID'));
  const prompts = input.transactionPrompt || [];
  if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== 'string')) fail('ERR_INPUT_INVALID');
  return {
    connectionStrategy: text(input.connectionStrategy),
    loginsCount: count(input.loginsCount, null),
    authorizeQuery: isObject(input.authorizeQuery) ? input.authorizeQuery : null,
    transactionPrompt: prompts,
    protocol: text(input.protocol),
    federatedAt: count(input.federatedAt, null),
    recheckSeconds: count(input.recheckSeconds, DEFAULT_RECHECK_SECONDS),
  };
}

/** app_metadata.tokenseal.no_token_at["google-oauth2"], if recorded. */
function noTokenAt(metadata) {
  const state = metadata[STATE_KEY];
  const at = isObject(state) && isObject(state[NO_TOKEN_AT]) ? state[NO_TOKEN_AT][GOOGLE] : undefined;
  return Number.isSafeInteger(at) && at >= 0 ? at : null;
}

/** The tokenseal member with the Google record set to `at` (or removed); other members
 * and providers kept, null when nothing is left. */
function stateWith(metadata, at) {
  const state = isObject(metadata[STATE_KEY]) ? { ...metadata[STATE_KEY] } : {};
  const records = isObject(state[NO_TOKEN_AT]) ? { ...state[NO_TOKEN_AT] } : {};
  delete records[GOOGLE];
  if (at !== null) records[GOOGLE] = at;
  delete state[NO_TOKEN_AT];
  if (Object.keys(records).length > 0) state[NO_TOKEN_AT] = records;
  return Object.keys(state).length > 0 ? state : null;
}

/** True for hex of whole AES blocks: the old rule's createCipher('aes-256-cbc') output. */
const isCbcHex = (value) => value.length > 0 && value.length % 32 === 0 && /^[0-9a-fA-F]+$/.test(value);

/** Every effect of a login, as the core's planLogin returns it (without removals, which
 * only Rules ask for). */
function planLogin(input, keySetJson) {
  const user = checkedUser(input.user);
  const facts = loginFacts(input);
  const fresh0 = hasValue(input.freshUser) ? checkedUser(input.freshUser) : null;
  let ring = null;
  let ringError = null;
  try {
    ring = keyRing(keySetJson);
  } catch (error) {
    ringError = error;
  }
  checkedSub(user.user_id);
  const now = nowSeconds();
  const notices = [];
  let freshUser = fresh0;
  if (freshUser && freshUser.user_id !== user.user_id) {
    notices.push('ERR_INPUT_INVALID');
    freshUser = null;
  }
  if (!googleIdentity(user) && !(freshUser && googleIdentity(freshUser))) {
    if (ringError) notices.push(ringError.code);
    return { readUser: false, outcome: 'not_google', metadataWrites: [], offlineAccess: null, claims: [], notices };
  }
  if (ringError) throw ringError;

  const metadata = user.app_metadata || {};
  const sealedRaw = metadata[SEALED_KEY];
  if (hasValue(sealedRaw) && !isObject(sealedRaw)) fail('ERR_USER_INVALID');
  let stored = { state: 'absent' };
  const storedValue = sealedRaw ? sealedRaw[GOOGLE] : undefined;
  if (hasValue(storedValue)) {
    try {
      if (typeof storedValue !== 'string') fail('ERR_SEALED_MALFORMED');
      const opened = openJwe(TYP, storedValue, ring, user.user_id);
      const { src, cap, cap_kid: capKid } = opened.header;
      stored = {
        state: 'valid', token: opened.token, underPrimary: opened.header.kid === ring[0].kid,
        provenance: { src, cap, cap_kid: capKid }, capture: opened.capture,
      };
    } catch (error) {
      notices.push(error.code || 'ERR_INTERNAL');
      stored = { state: 'unreadable' };
    }
  }

  let legacy = null;
  const legacyRaw = metadata[LEGACY_KEY];
  if (hasValue(legacyRaw)) {
    if (typeof legacyRaw === 'string' && isCbcHex(legacyRaw)) {
      notices.push('ERR_LEGACY_ENCRYPTED');
    } else {
      try {
        legacy = checkedToken(legacyRaw);
      } catch (error) {
        notices.push(error.code);
      }
    }
  }

  const tokenUser = freshUser || user;
  const withToken = (tokenUser.identities || []).filter((i) => i.provider === GOOGLE && hasValue(i.refresh_token));
  if (withToken.length > 1) notices.push('ERR_IDENTITY_AMBIGUOUS');
  let fresh = null;
  const freshIdentity = googleIdentity(tokenUser);
  if (freshIdentity && hasValue(freshIdentity.refresh_token)) {
    try {
      fresh = checkedToken(freshIdentity.refresh_token);
    } catch (error) {
      notices.push(error.code);
    }
  }

  // A fresh token that differs from a valid stored one replaces it only when Auth0
  // received it since the value was captured: its fingerprint differs from the record.
  // Without a checkable record: never for a value a backend rotated, else only at a
  // login that may bring a new token.
  const recordSays = (token) => {
    const entry = stored.capture && ring.find((k) => k.kid === stored.capture.kid);
    return entry ? sameBytes(fingerprint(entry, token), stored.capture.fingerprint) : null;
  };
  const freshIsNew = () => {
    const same = recordSays(fresh);
    if (same !== null) return !same;
    if (stored.provenance.src === 'rotation') return false;
    return mayBringNewToken(facts) && !silent(facts, now);
  };
  const captured = (token) => ({ token, provenance: { src: 'login', ...captureOf(token, ring) } });
  // Re-sealed under the primary, provenance kept; the record is recomputed under the
  // primary when this login shows the token it was captured from.
  const keep = (seen) => {
    if (stored.underPrimary) return [null, 'unchanged'];
    const provenance = seen === null ? stored.provenance : { ...stored.provenance, ...captureOf(seen, ring) };
    return [{ token: stored.token, provenance }, 'rotated'];
  };
  let toSeal = null;
  let outcome;
  if (fresh !== null && stored.state === 'valid') {
    const seen = (sameToken(fresh, stored.token) && stored.provenance.src !== 'rotation') || recordSays(fresh) === true ? fresh : null;
    [toSeal, outcome] = !sameToken(fresh, stored.token) && freshIsNew() ? [captured(fresh), 'replaced'] : keep(seen);
  } else if (fresh !== null) {
    [toSeal, outcome] = [captured(fresh), stored.state === 'absent' ? 'sealed' : 'replaced'];
  } else if (stored.state === 'valid') {
    [toSeal, outcome] = keep(null);
  } else if (stored.state === 'absent' && legacy !== null) {
    // The old rule copied Auth0's identity token verbatim: captured as such.
    [toSeal, outcome] = [captured(legacy), 'migrated'];
  } else {
    outcome = 'missing';
  }

  const metadataWrites = [];
  if (toSeal !== null) {
    const map = { ...(sealedRaw || {}) };
    map[GOOGLE] = sealJwe(TYP, toSeal.token, ring, user.user_id, toSeal.provenance);
    metadataWrites.push({ key: SEALED_KEY, value: map });
  }
  const validAfter = toSeal !== null || outcome === 'unchanged';
  if (legacy !== null && validAfter) metadataWrites.push({ key: LEGACY_KEY, value: null });
  const recorded = noTokenAt(metadata);
  const freshGoogle = freshUser && googleIdentity(freshUser);
  const readFoundNothing = freshUser !== null && !(freshGoogle && hasValue(freshGoogle.refresh_token));
  const record = validAfter ? null : readFoundNothing ? now : recorded;
  if (record !== recorded) metadataWrites.push({ key: STATE_KEY, value: stateWith(metadata, record) });

  const offlineAccess = validAfter ? 'stored' : 'missing';
  const claims = [];
  if (typeof input.claimNamespace === 'string') {
    if (validNamespace(input.claimNamespace)) claims.push({ name: input.claimNamespace + CLAIM_NAME, value: offlineAccess });
    else notices.push('ERR_NAMESPACE_INVALID');
  }
  let readUser = false;
  if (!freshUser && facts.connectionStrategy === GOOGLE && !silent(facts, now)) {
    const recentlyEmpty = record !== null && Math.max(0, now - record) < facts.recheckSeconds;
    readUser = input.read === 'always'
      || (input.read !== 'never' && (mayBringNewToken(facts) || (!validAfter && !recentlyEmpty)));
  }
  return { readUser, outcome, metadataWrites, offlineAccess, claims, notices };
}

// ------------------------------------------------------------------- configuration

function managementBase(domain) {
  const d = domain.trim().replace(/\/+$/, '');
  let scheme = 'https';
  let hostPort = d;
  const i = d.indexOf('://');
  if (i >= 0) {
    scheme = d.slice(0, i);
    hostPort = d.slice(i + 3);
    if (scheme !== 'https' && scheme !== 'http') return null;
  }
  const port = /^(.*):(\d+)$/.exec(hostPort);
  const host = port ? port[1] : hostPort;
  const hostOk = host !== '' && (/^[A-Za-z0-9.-]+$/.test(host) || host === '[::1]');
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(host);
  if (!hostOk || (scheme === 'http' && !loopback)) return null;
  return `${scheme}://${hostPort}`;
}

function actionConfig(secrets) {
  const notices = [];
  const text = (name) => (typeof secrets[name] === 'string' && secrets[name].trim() !== '' ? secrets[name] : null);
  let read = 'auto';
  const fetchSetting = text('TOKENSEAL_FETCH');
  if (fetchSetting === 'always') read = 'always';
  else if (fetchSetting !== null && fetchSetting !== 'auto') notices.push('ERR_CONFIG_INVALID');
  let denyOnError = false;
  const onError = text('TOKENSEAL_ON_ERROR');
  if (onError === 'deny') denyOnError = true;
  else if (onError !== null && onError !== 'continue') notices.push('ERR_CONFIG_INVALID');
  let recheckSeconds = DEFAULT_RECHECK_SECONDS;
  const recheck = text('TOKENSEAL_RECHECK_HOURS');
  if (recheck !== null) {
    // Rust's u64 parse: ASCII digits, an optional leading '+'.
    const hours = /^\+?\d+$/.test(recheck.trim()) ? Number(recheck.trim()) : NaN;
    if (hours <= MAX_RECHECK_HOURS) recheckSeconds = hours * 3600;
    else notices.push('ERR_CONFIG_INVALID');
  }
  let claimNamespace = text('TOKENSEAL_CLAIM_NAMESPACE');
  if (claimNamespace !== null && !validNamespace(claimNamespace)) {
    notices.push('ERR_NAMESPACE_INVALID');
    claimNamespace = null;
  }
  let management = null;
  const [domain, clientId, clientSecret] = ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'].map(text);
  if (domain && clientId && clientSecret) {
    const base = managementBase(domain);
    if (base) {
      management = {
        tokenUrl: `${base}/oauth/token`, audience: `${base}/api/v2/`, usersUrl: `${base}/api/v2/users/`,
        cacheKey: TOKEN_CACHE_PREFIX + clientId.trim(), clientId: clientId.trim(), clientSecret: clientSecret.trim(),
      };
    } else {
      notices.push('ERR_CONFIG_INVALID');
    }
  }
  return { read, claimNamespace, denyOnError, recheckSeconds, management, notices };
}

// -------------------------------------------------------------- Management API calls

function judge({ status, timedOut, retryAfter, attempt, remainingMs, cachedToken }) {
  if (status >= 200 && status <= 299) return { action: 'done' };
  if (status === 401 && cachedToken && attempt === 0 && remainingMs >= 2 * MIN_CALL_MS) return { action: 'reauthenticate' };
  if (status === 401) return { action: 'fail', code: 'ERR_MGMT_UNAUTHORIZED' };
  if (status === 403) return { action: 'fail', code: 'ERR_MGMT_FORBIDDEN' };
  let retryable = false;
  let code = 'ERR_MGMT_FAILED';
  let wait = 0;
  if (status === 0 && timedOut) code = 'ERR_MGMT_TIMEOUT';
  else if (status === 0 || (status >= 500 && status <= 599)) [retryable, code, wait] = [true, 'ERR_MGMT_UNAVAILABLE', 250];
  else if (status === 429) [retryable, code, wait] = [true, 'ERR_MGMT_RATE_LIMITED', 1000];
  if (!retryable || attempt > 0) return { action: 'fail', code };
  // Rust's u64 parse: ASCII digits, an optional leading '+', no overflow.
  const seconds = typeof retryAfter === 'string' && /^\+?\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : NaN;
  if (seconds < 2 ** 64) wait = seconds * 1000;
  return wait <= MAX_RETRY_WAIT_MS && wait + MIN_CALL_MS <= remainingMs ? { action: 'retry', waitMs: wait } : { action: 'fail', code };
}

function cacheTtlMs(expiresIn) {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) return 0;
  const lifetime = Math.floor(expiresIn);
  const margin = Math.max(Math.floor(lifetime / 10), 60);
  return Math.min(Math.max(lifetime - margin, 0) * 1000, MAX_CACHE_TTL_MS);
}

/** One call that ends by `deadline`; none starts with less than MIN_CALL_MS left. */
async function call(url, init, deadline) {
  const timeoutMs = Math.min(CALL_TIMEOUT_MS, deadline - Date.now());
  if (timeoutMs < MIN_CALL_MS) return { status: 0, retryAfter: null, body: '', timedOut: true };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, { ...init, redirect: 'error', signal: controller.signal });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text(), timedOut: false };
  } catch {
    return { status: 0, retryAfter: null, body: '', timedOut: controller.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}

const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

async function withRetries(request, endsAt, usedCachedToken, reauthenticate) {
  for (let attempt = 0; ; attempt += 1) {
    const r = await request();
    const verdict = judge({ ...r, attempt, remainingMs: Math.max(0, endsAt - Date.now()), cachedToken: usedCachedToken() });
    if (verdict.action === 'done') return { body: parse(r.body) };
    if (verdict.action === 'fail') return { code: verdict.code };
    if (verdict.action === 'retry') await new Promise((resolve) => setTimeout(resolve, verdict.waitMs));
    if (verdict.action === 'reauthenticate') {
      const renewed = await reauthenticate();
      if (renewed.code) return renewed;
    }
  }
}

/** A Management API token: from api.cache, where it is kept sealed under the derived
 * cache key and bound to its cache key, or by the client-credentials grant. */
async function token(m, keySetJson, cache, endsAt, codes) {
  const cached = cache.get(m.cacheKey);
  if (cached && typeof cached.value === 'string') {
    try {
      return { token: openJwe(TYP_CACHE, cached.value, keyRing(keySetJson), m.cacheKey).token, fromCache: true };
    } catch {
      cache.delete(m.cacheKey);
    }
  }
  const body = JSON.stringify({ grant_type: 'client_credentials', client_id: m.clientId, client_secret: m.clientSecret, audience: m.audience });
  const r = await withRetries(
    () => call(m.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, endsAt),
    endsAt, () => false, async () => ({}),
  );
  if (r.code) return r;
  const accessToken = r.body && r.body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return { code: 'ERR_MGMT_RESPONSE' };
  const scope = r.body.scope;
  if (typeof scope === 'string' && REQUIRED_SCOPES.some((s) => !scope.split(' ').includes(s))) codes.push('ERR_MGMT_FORBIDDEN');
  const ttl = cacheTtlMs(r.body.expires_in);
  if (ttl > 0) {
    try {
      cache.set(m.cacheKey, sealJwe(TYP_CACHE, checkedToken(accessToken), keyRing(keySetJson), m.cacheKey), { ttl });
    } catch {
      // No usable key ring (or a token of an odd shape): the token is not cached.
    }
  }
  return { token: accessToken, fromCache: false };
}

async function readUser(m, keySetJson, userId, cache, codes) {
  const endsAt = Date.now() + CALL_BUDGET_MS;
  let auth = await token(m, keySetJson, cache, endsAt, codes);
  if (auth.code) return auth;
  const r = await withRetries(
    () => call(m.usersUrl + encodeURIComponent(userId), { headers: { authorization: `Bearer ${auth.token}` } }, endsAt),
    endsAt, () => auth.fromCache,
    async () => {
      cache.delete(m.cacheKey);
      auth = await token(m, keySetJson, cache, endsAt, codes);
      return auth.code ? auth : {};
    },
  );
  if (r.code) return r;
  return isObject(r.body) ? { user: r.body } : { code: 'ERR_MGMT_RESPONSE' };
}

// -------------------------------------------------------------------------- the Action

function log(codes) {
  if (codes.length) console.log(`tokenseal: ${codes.join(' ')}`.slice(0, 256));
}

/** When the session's `federated` method was recorded, in seconds, or null. */
function federatedAt(event) {
  const methods = event.authentication && event.authentication.methods;
  const federated = Array.isArray(methods) ? methods.find((m) => m && m.name === 'federated') : undefined;
  const at = federated ? (typeof federated.timestamp === 'number' ? federated.timestamp : Date.parse(federated.timestamp)) : NaN;
  return Number.isFinite(at) && at >= 0 ? Math.floor(at / 1000) : null;
}

exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const codes = [];
  let config = { denyOnError: false };
  try {
    config = actionConfig(secrets);
    codes.push(...config.notices);
    const transaction = event.transaction;
    const input = {
      user: event.user,
      connectionStrategy: (event.connection && event.connection.strategy) || null,
      loginsCount: (event.stats && event.stats.logins_count) ?? null,
      authorizeQuery: (event.request && event.request.query) || null,
      transactionPrompt: (transaction && [].concat(transaction.prompt || [])) || null,
      protocol: (transaction && transaction.protocol) || null,
      federatedAt: federatedAt(event),
      read: config.read,
      claimNamespace: config.claimNamespace,
      recheckSeconds: config.recheckSeconds,
    };
    let plan = planLogin(input, secrets.TOKENSEAL_KEYS);
    let failed = false;
    if (plan.readUser) {
      const read = config.management
        ? await readUser(config.management, secrets.TOKENSEAL_KEYS, event.user.user_id, api.cache, codes)
        : { code: 'ERR_CONFIG_INCOMPLETE' };
      if (read.user) {
        try {
          plan = planLogin({ ...input, freshUser: read.user }, secrets.TOKENSEAL_KEYS);
        } catch (error) {
          codes.push(error.code || 'ERR_INTERNAL');
          failed = true;
        }
      } else {
        codes.push(read.code);
        failed = true;
      }
    }
    for (const w of plan.metadataWrites) api.user.setAppMetadata(w.key, w.value);
    for (const c of plan.claims) api.idToken.setCustomClaim(c.name, c.value);
    codes.push(...plan.notices);
    if (failed && config.denyOnError) api.access.deny(`tokenseal: ${codes.join(' ')}`.slice(0, 200));
  } catch (error) {
    const code = error && typeof error.code === 'string' && error.code.startsWith('ERR_') ? error.code : 'ERR_INTERNAL';
    codes.push(code);
    if (config.denyOnError) api.access.deny(`tokenseal: ${code}`);
  } finally {
    log(codes);
  }
};

// For the benchmark's set-up and checks only.
/** Seals `token` as a value stored by an earlier login, with the header members of
 * `provenance` ({ src, cap, cap_kid }; none by default, as the core's seal()). */
exports.seal = (token, keySetJson, sub, provenance) => sealJwe(TYP, checkedToken(token), keyRing(keySetJson), sub, provenance);
/** The capture record of `token` under the primary key of a key set: { cap, cap_kid }. */
exports.capture = (token, keySetJson) => captureOf(checkedToken(token), keyRing(keySetJson));
exports.open = (sealed, keySetJson, sub) => openJwe(TYP, sealed, keyRing(keySetJson), sub).token;
exports.sealCacheEntry = (secret, keySetJson, context) => sealJwe(TYP_CACHE, checkedToken(secret), keyRing(keySetJson), context);
exports.openCacheEntry = (entry, keySetJson, context) => openJwe(TYP_CACHE, entry, keyRing(keySetJson), context).token;
exports.planLogin = planLogin;
exports.cmac = (key, message) => cmacOf(key)(message);
exports.deriveKey = deriveKey;

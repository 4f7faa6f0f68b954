'use strict';
// The tokenseal post-login Action written in plain JavaScript on node:crypto, for
// bench/action.mjs only: a yardstick for dist/action.js, not a supported implementation.
//
// It keeps the Action's contract (the secrets TOKENSEAL_KEYS, AUTH0_DOMAIN,
// AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, TOKENSEAL_CLAIM_NAMESPACE, TOKENSEAL_FETCH,
// TOKENSEAL_ON_ERROR) and makes the same decisions as the Rust core on the paths the
// benchmark measures: when to read the user through the Management API (client
// credentials token cached in api.cache, one retry for 429/5xx, one re-authentication
// when a cached token is refused, 4 s per call, 10 s in all), what to seal (fresh token
// that differs from the stored one, re-seal under a new primary key, legacy plaintext
// migration), the sealed format (compact JWE, "dir" + "A256GCM", protected header
// {typ, alg, enc, kid, sub, iat}, the encoded header as AAD, 96-bit random IV), the
// app_metadata writes, the status claim, and the sanitized user (computed, as the core
// computes it for every plan, though an Action has no use for it). bench/action.mjs
// checks that both implementations decide alike on a set of scenarios before it times
// anything.

const { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } = require('node:crypto');

const GOOGLE = 'google-oauth2';
const SEALED_KEY = 'sealed_refresh_tokens';
const LEGACY_KEY = 'refresh_token';
const CLAIM_NAME = 'google_offline_access';
const TYP = 'tokenseal.v1+jwe';
const MAX_TOKEN_LEN = 4096;
const MAX_SEALED_LEN = 2 * MAX_TOKEN_LEN + 2048;
const MAX_SUB_LEN = 512;
const CALL_BUDGET_MS = 10_000;
const CALL_TIMEOUT_MS = 4_000;
const MAX_RETRY_WAIT_MS = 3_000;
const MAX_CACHE_TTL_MS = 24 * 60 * 60 * 1000;
const IDENTITY_SECRETS = ['access_token', 'refresh_token', 'access_token_secret', 'id_token', 'expires_in',
  'expires_at', 'refresh_token_expires_in', 'refresh_token_expires_at'];
const RESERVED_DOMAINS = ['auth0.com', 'webtask.io', 'webtask.run'];

class CodedError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}
const fail = (code) => { throw new CodedError(code); };
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

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
    return { kid: jwk.kid, key };
  });
  ringCache = { text, ring };
  return ring;
}

// ----------------------------------------------------------------------- sealed format

function seal(token, ring, sub, iat = Math.floor(Date.now() / 1000)) {
  const [primary] = ring;
  const header = JSON.stringify({ typ: TYP, alg: 'dir', enc: 'A256GCM', kid: primary.kid, sub: checkedSub(sub), iat });
  const encodedHeader = Buffer.from(header).toString('base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', primary.key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return `${encodedHeader}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

/** The header of a sealed value: shape, version, algorithms, in the core's order. */
function inspect(sealed) {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LEN) fail('ERR_SEALED_MALFORMED');
  const parts = sealed.split('.');
  if (parts.length !== 5) fail('ERR_SEALED_MALFORMED');
  const [encodedHeader, encryptedKey, iv, ciphertext, tag] = parts;
  if (encryptedKey !== '' || encodedHeader === '' || iv.length !== 16 || tag.length !== 22) fail('ERR_SEALED_MALFORMED');
  let header;
  try {
    header = JSON.parse(b64(encodedHeader, 'ERR_SEALED_MALFORMED').toString('utf8'));
  } catch (error) {
    throw error.code ? error : new CodedError('ERR_HEADER_INVALID');
  }
  if (!isObject(header) || typeof header.typ !== 'string') fail('ERR_HEADER_INVALID');
  if (header.typ !== TYP) fail(/^tokenseal\.v\d+\+jwe$/.test(header.typ) ? 'ERR_VERSION_UNSUPPORTED' : 'ERR_HEADER_INVALID');
  if (typeof header.alg !== 'string' || typeof header.enc !== 'string') fail('ERR_HEADER_INVALID');
  if (header.alg !== 'dir' || header.enc !== 'A256GCM') fail('ERR_ALG_UNSUPPORTED');
  if ('crit' in header || 'zip' in header) fail('ERR_HEADER_INVALID');
  if (typeof header.kid !== 'string' || typeof header.sub !== 'string') fail('ERR_HEADER_INVALID');
  if (header.iat !== undefined && !(Number.isSafeInteger(header.iat) && header.iat >= 0)) fail('ERR_HEADER_INVALID');
  return { header, encodedHeader, iv, ciphertext, tag };
}

function open(sealed, ring, sub) {
  const { header, encodedHeader, iv, ciphertext, tag } = inspect(sealed);
  if (header.sub !== sub) fail('ERR_SUBJECT_MISMATCH');
  const key = ring.find((k) => k.kid === header.kid);
  if (!key) fail('ERR_KEY_UNKNOWN');
  const ivBytes = b64(iv, 'ERR_SEALED_MALFORMED');
  const tagBytes = b64(tag, 'ERR_SEALED_MALFORMED');
  const data = b64(ciphertext, 'ERR_SEALED_MALFORMED');
  if (ivBytes.length !== 12 || tagBytes.length !== 16) fail('ERR_SEALED_MALFORMED');
  let plaintext;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, ivBytes, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
    decipher.setAuthTag(tagBytes);
    plaintext = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    fail('ERR_DECRYPT');
  }
  const token = plaintext.toString('utf8');
  if (!Buffer.from(token, 'utf8').equals(plaintext)) fail('ERR_TOKEN_INVALID');
  return { token: checkedToken(token), kid: header.kid };
}

const sameToken = (a, b) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

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

function without(object, names) {
  const out = {};
  for (const [k, v] of Object.entries(object)) if (!names.includes(k)) out[k] = v;
  return out;
}

/** A copy of the user with every token and sealed value removed (fails closed). */
function sanitize(user) {
  const out = {};
  for (const [name, value] of Object.entries(user)) {
    if (name === 'identities') {
      if (Array.isArray(value)) out.identities = value.filter(isObject).map((i) => without(i, IDENTITY_SECRETS));
    } else if (name === 'app_metadata') {
      if (isObject(value)) out.app_metadata = without(value, [SEALED_KEY, LEGACY_KEY]);
      else if (value === null) out.app_metadata = null;
    } else {
      out[name] = value;
    }
  }
  return JSON.parse(JSON.stringify(out));
}

// ------------------------------------------------------------------------ the decision

function validNamespace(ns) {
  const m = /^https?:\/\/(.*)$/.exec(ns);
  if (!m) return false;
  const host = m[1].split(/[/:?#]/)[0].toLowerCase();
  // eslint-disable-next-line no-control-regex
  return host !== '' && !/[\x00-\x1f\x7f-\x9f ]/.test(ns)
    && !RESERVED_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`));
}

function consentRequested(query) {
  if (!isObject(query)) return false;
  const values = (name) => {
    const v = query[name];
    if (typeof v === 'string') return [v];
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  };
  return values('prompt').some((p) => p.split(' ').includes('consent'))
    || values('approval_prompt').includes('force')
    || values('connection_scope').some((s) => s.trim() !== '');
}

/** Every effect of a login, as the core's planLogin returns it. */
function planLogin(input, keySetJson) {
  const user = checkedUser(input.user);
  const fresh0 = input.freshUser == null ? null : checkedUser(input.freshUser);
  const ring = keyRing(keySetJson);
  checkedSub(user.user_id);
  const sanitizedUser = sanitize(user);
  const notices = [];
  let freshUser = fresh0;
  if (freshUser && freshUser.user_id !== user.user_id) {
    notices.push('ERR_INPUT_INVALID');
    freshUser = null;
  }
  const none = { readUser: false, outcome: 'not_google', metadataWrites: [], offlineAccess: null, claims: [], notices, sanitizedUser };
  if (!googleIdentity(user) && !(freshUser && googleIdentity(freshUser))) return none;

  const metadata = user.app_metadata || {};
  const sealedRaw = metadata[SEALED_KEY];
  if (sealedRaw !== undefined && sealedRaw !== null && !isObject(sealedRaw)) fail('ERR_USER_INVALID');
  const sealedMap = { ...(sealedRaw || {}) };

  let stored = { state: 'absent' };
  const storedValue = sealedMap[GOOGLE];
  if (storedValue !== undefined && storedValue !== null) {
    try {
      if (typeof storedValue !== 'string') fail('ERR_SEALED_MALFORMED');
      const opened = open(storedValue, ring, user.user_id);
      stored = { state: 'valid', token: opened.token, underPrimary: opened.kid === ring[0].kid };
    } catch (error) {
      notices.push(error.code || 'ERR_INTERNAL');
      stored = { state: 'unreadable' };
    }
  }

  let legacy = null;
  if (metadata[LEGACY_KEY] !== undefined && metadata[LEGACY_KEY] !== null) {
    try {
      legacy = checkedToken(metadata[LEGACY_KEY]);
    } catch {
      notices.push('ERR_TOKEN_INVALID');
    }
  }

  let fresh = null;
  const freshIdentity = googleIdentity(freshUser || user);
  if (freshIdentity && freshIdentity.refresh_token !== undefined && freshIdentity.refresh_token !== null) {
    try {
      fresh = checkedToken(freshIdentity.refresh_token);
    } catch (error) {
      notices.push(error.code);
    }
  }

  let toSeal = null;
  let outcome;
  if (fresh !== null && stored.state === 'valid' && sameToken(fresh, stored.token)) {
    [toSeal, outcome] = stored.underPrimary ? [null, 'unchanged'] : [fresh, 'rotated'];
  } else if (fresh !== null) {
    [toSeal, outcome] = [fresh, stored.state === 'absent' ? 'sealed' : 'replaced'];
  } else if (stored.state === 'valid') {
    [toSeal, outcome] = stored.underPrimary ? [null, 'unchanged'] : [stored.token, 'rotated'];
  } else if (stored.state === 'absent' && legacy !== null) {
    [toSeal, outcome] = [legacy, 'migrated'];
  } else {
    outcome = 'missing';
  }

  const metadataWrites = [];
  if (toSeal !== null) {
    sealedMap[GOOGLE] = seal(toSeal, ring, user.user_id);
    metadataWrites.push({ key: SEALED_KEY, value: sealedMap });
  }
  const validAfter = toSeal !== null || stored.state === 'valid';
  if (legacy !== null && validAfter) metadataWrites.push({ key: LEGACY_KEY, value: null });
  const offlineAccess = validAfter ? 'stored' : 'missing';
  const claims = [];
  if (typeof input.claimNamespace === 'string') {
    if (validNamespace(input.claimNamespace)) claims.push({ name: input.claimNamespace + CLAIM_NAME, value: offlineAccess });
    else notices.push('ERR_NAMESPACE_INVALID');
  }
  const readUser = !freshUser && input.connectionStrategy === GOOGLE && (
    input.read === 'always' || (input.read !== 'never' && (
      (typeof input.loginsCount === 'number' && input.loginsCount <= 1)
      || (stored.state !== 'valid' && legacy === null)
      || consentRequested(input.authorizeQuery))));
  return { readUser, outcome, metadataWrites, offlineAccess, claims, notices, sanitizedUser };
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
      management = { tokenUrl: `${base}/oauth/token`, audience: `${base}/api/v2/`, usersUrl: `${base}/api/v2/users/`, cacheKey: `tokenseal:m2m:${clientId}` };
    } else {
      notices.push('ERR_CONFIG_INVALID');
    }
  }
  return { read, claimNamespace, denyOnError, management, notices };
}

// -------------------------------------------------------------- Management API calls

function judge({ status, timedOut, retryAfter, attempt, remainingMs, cachedToken }) {
  if (status >= 200 && status <= 299) return { action: 'done' };
  if (status === 401 || status === 403) {
    return cachedToken && attempt === 0 ? { action: 'reauthenticate' } : { action: 'fail', code: 'ERR_MGMT_UNAUTHORIZED' };
  }
  let retryable = false;
  let code = 'ERR_MGMT_FAILED';
  let wait = 0;
  if (status === 0 && timedOut) code = 'ERR_MGMT_TIMEOUT';
  else if (status === 0 || (status >= 500 && status <= 599)) [retryable, code, wait] = [true, 'ERR_MGMT_UNAVAILABLE', 250];
  else if (status === 429) [retryable, code, wait] = [true, 'ERR_MGMT_RATE_LIMITED', 1000];
  if (!retryable || attempt > 0) return { action: 'fail', code };
  if (retryAfter !== null && /^\d+$/.test(retryAfter.trim())) wait = Number(retryAfter.trim()) * 1000;
  return wait <= MAX_RETRY_WAIT_MS && wait + CALL_TIMEOUT_MS <= remainingMs ? { action: 'retry', waitMs: wait } : { action: 'fail', code };
}

function cacheTtlMs(expiresIn) {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) return 0;
  const lifetime = Math.floor(expiresIn);
  const margin = Math.max(Math.floor(lifetime / 10), 60);
  return Math.min(Math.max(lifetime - margin, 0) * 1000, MAX_CACHE_TTL_MS);
}

async function call(url, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CALL_TIMEOUT_MS);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
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

async function token(m, secrets, cache, endsAt) {
  const cached = cache.get(m.cacheKey);
  if (cached && typeof cached.value === 'string') return { token: cached.value, fromCache: true };
  const body = JSON.stringify({ grant_type: 'client_credentials', client_id: secrets.AUTH0_CLIENT_ID, client_secret: secrets.AUTH0_CLIENT_SECRET, audience: m.audience });
  const r = await withRetries(
    () => call(m.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    endsAt, () => false, async () => ({}),
  );
  if (r.code) return r;
  const accessToken = r.body && r.body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return { code: 'ERR_MGMT_RESPONSE' };
  const ttl = cacheTtlMs(r.body.expires_in);
  if (ttl > 0) cache.set(m.cacheKey, accessToken, { ttl });
  return { token: accessToken, fromCache: false };
}

async function readUser(m, secrets, userId, cache) {
  const endsAt = Date.now() + CALL_BUDGET_MS;
  let auth = await token(m, secrets, cache, endsAt);
  if (auth.code) return auth;
  const r = await withRetries(
    () => call(m.usersUrl + encodeURIComponent(userId), { headers: { authorization: `Bearer ${auth.token}` } }),
    endsAt, () => auth.fromCache,
    async () => {
      cache.delete(m.cacheKey);
      auth = await token(m, secrets, cache, endsAt);
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

exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const codes = [];
  let config = { denyOnError: false };
  try {
    config = actionConfig(secrets);
    codes.push(...config.notices);
    const input = {
      user: event.user,
      connectionStrategy: (event.connection && event.connection.strategy) || null,
      loginsCount: (event.stats && event.stats.logins_count) ?? null,
      authorizeQuery: (event.request && event.request.query) || null,
      read: config.read,
      claimNamespace: config.claimNamespace,
    };
    let plan = planLogin(input, secrets.TOKENSEAL_KEYS);
    let failed = false;
    if (plan.readUser) {
      const read = config.management
        ? await readUser(config.management, secrets, event.user.user_id, api.cache)
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
exports.seal = (token, keySetJson, sub) => seal(checkedToken(token), keyRing(keySetJson), sub);
exports.open = (sealed, keySetJson, sub) => open(sealed, keyRing(keySetJson), sub).token;

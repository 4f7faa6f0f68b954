'use strict';
// Local stand-in for Auth0's post-login Action runtime (trigger post-login v3).
// No third-party runtime exists, so every rule below follows a documented
// statement; the doc path (auth0/docs-v2, under main/docs/) is cited next to it.
// Where the docs are silent, the choice is marked ASSUMPTION.
//
//   const { event, api, finish } = createPostLoginRun({ user, ... });
//   await action.onExecutePostLogin(event, api);
//   const result = finish();

const KB = 1024;

// customize/actions/limitations ("Cached data"): 20 entries per trigger, key
// 64 bytes, value 4kB, keys+values 8kB, items persist at most 24 hours.
// ASSUMPTION: "kB" read as 1024 bytes (the docs do not say 1000 or 1024).
const CACHE_LIMITS = Object.freeze({
  maxEntries: 20,
  maxKeyBytes: 64,
  maxValueBytes: 4 * KB,
  maxTotalBytes: 8 * KB,
  maxTtlMs: 24 * 60 * 60 * 1000,
  // The docs disagree on the default lifetime: older post-login pages (and the
  // credentials-exchange page) say 15 minutes; the current
  // customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object
  // says 24 hours. The shorter one is the default here so an Action that
  // leans on the default is caught; pass createCache({ defaultTtlMs }) to change it.
  defaultTtlMs: 15 * 60 * 1000,
});

// customize/actions/limitations ("User metadata and app metadata"): at most
// 32kB of app_metadata and 32kB of user_metadata persisted per session.
const METADATA_LIMIT_BYTES = 32 * KB;
// secure/tokens/json-web-tokens/create-custom-claims ("General restrictions"):
// custom claims payload at most 100KB.
const CLAIMS_LIMIT_BYTES = 100 * KB;
// customize/actions/limitations ("Secrets"): key <= 128 chars, value <= 4096 chars.
const SECRET_KEY_MAX = 128;
const SECRET_VALUE_MAX = 4096;

// troubleshoot/product-lifecycle/deprecations-and-migrations ("Remove Access to
// Specific Event Request Properties in Actions", end of life 2025-09-16): these
// names are no longer exposed in event.request.query / event.request.body.
const HIDDEN_REQUEST_PARAMS = Object.freeze([
  'auth_session', 'authn_response', 'client_secret', 'client_assertion', 'refresh_token',
]);

// secure/tokens/json-web-tokens/create-custom-claims: claims subject to Auth0's
// restrictions (cannot be customized); setting them is silently ignored
// ("the transaction won't fail, but your custom claim won't be added").
const RESTRICTED_CLAIMS = new Set([
  'acr', 'act', 'active', 'amr', 'at_hash', 'ath', 'attest', 'aud', 'auth_time',
  'authorization_details', 'azp', 'c_hash', 'client_id', 'cnf', 'cty', 'dest',
  'entitlements', 'events', 'exp', 'groups', 'gty', 'htm', 'htu', 'iat',
  'internalService', 'iss', 'jcard', 'jku', 'jti', 'jwe', 'jwk', 'kid', 'may_act',
  'mky', 'nbf', 'nonce', 'object_id', 'org_id', 'org_name', 'orig', 'origid',
  'permissions', 'roles', 'rph', 's_hash', 'sid', 'sip_callid', 'sip_cseq_num',
  'sip_date', 'sip_from_tag', 'sip_via_branch', 'sub', 'sub_jwk', 'toe', 'txn',
  'typ', 'uuid', 'vot', 'vtm', 'x5t#S256',
]);
// Same page, "Non-restricted claims": OIDC profile claims, only subject to the
// general restrictions (and the ones allowed on access tokens).
const OIDC_PROFILE_CLAIMS = new Set([
  'address', 'birthdate', 'email', 'email_verified', 'family_name', 'gender',
  'given_name', 'locale', 'middle_name', 'name', 'nickname', 'phone_number',
  'phone_number_verified', 'picture', 'preferred_username', 'profile',
  'updated_at', 'website', 'zoneinfo',
]);
// Same page, "Namespaced guidelines": Auth0 domains cannot be namespaces.
const AUTH0_DOMAINS = ['auth0.com', 'webtask.io', 'webtask.run'];

// customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-event-object:
// the documented event.user properties; identities carry only these five.
const USER_FIELDS = [
  'app_metadata', 'created_at', 'email', 'email_verified', 'family_name', 'given_name',
  'last_password_reset', 'name', 'nickname', 'phone_number', 'phone_verified', 'picture',
  'updated_at', 'user_id', 'user_metadata', 'username', 'enrolledFactors', 'multifactor',
];
const IDENTITY_FIELDS = ['connection', 'provider', 'user_id', 'profileData', 'isSocial'];

const bytes = (s) => Buffer.byteLength(s, 'utf8');
const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function deepFreeze(o) {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

// Metadata and claims end up as JSON in Auth0's store and in JWTs. JSON.stringify
// would silently drop or coerce some values, so they are refused loudly instead.
// ASSUMPTION: Auth0 does not document whether it throws at the call or fails
// later; failing at the call points at the offending line.
function assertJson(value, what, seen = new Set()) {
  const t = typeof value;
  if (value === null || t === 'string' || t === 'boolean') return;
  if (t === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${what}: ${value} is not representable in JSON`);
    return;
  }
  if (t !== 'object') throw new TypeError(`${what}: a ${t} is not JSON`);
  if (seen.has(value)) throw new TypeError(`${what}: circular structure is not JSON`);
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${what}: ${proto.constructor?.name || 'object'} instances are not plain JSON`);
  }
  seen.add(value);
  for (const [k, v] of Object.entries(value)) assertJson(v, `${what}.${k}`, seen);
  seen.delete(value);
}

// --- api.cache --------------------------------------------------------------
// customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object
// ("api.cache"): get returns a record { value, expires_at } or nothing; set
// takes ttl (ms) or expires_at (ms since epoch), the earlier expiry wins when
// both are given. The write result shape { type: 'success' } / { type: 'error',
// code } comes from the CacheWriteResult wording of the sibling trigger pages
// (e.g. post-user-registration api object). ASSUMPTION: the error codes are not
// documented; the ones below are this stand-in's. ASSUMPTION: over-limit writes
// are refused rather than evicting older entries; over-long lifetimes are
// clamped to 24 h rather than refused.
function createCache({ now = Date.now, defaultTtlMs = CACHE_LIMITS.defaultTtlMs } = {}) {
  const entries = new Map(); // key -> { value, expires_at }
  const purge = () => {
    const t = now();
    for (const [k, e] of entries) if (e.expires_at <= t) entries.delete(k);
  };
  const totalBytes = (skipKey) => {
    let n = 0;
    for (const [k, e] of entries) if (k !== skipKey) n += bytes(k) + bytes(e.value);
    return n;
  };
  const error = (code) => ({ type: 'error', code });

  const cache = {
    get(key) {
      purge();
      const e = entries.get(key);
      return e ? { value: e.value, expires_at: e.expires_at } : undefined;
    },
    set(key, value, options = {}) {
      purge();
      if (typeof key !== 'string' || key === '') return error('invalid_key');
      if (typeof value !== 'string') return error('invalid_value'); // "Store or update a string value"
      if (bytes(key) > CACHE_LIMITS.maxKeyBytes) return error('key_too_large');
      if (bytes(value) > CACHE_LIMITS.maxValueBytes) return error('value_too_large');
      if (!entries.has(key) && entries.size >= CACHE_LIMITS.maxEntries) return error('too_many_entries');
      if (totalBytes(key) + bytes(key) + bytes(value) > CACHE_LIMITS.maxTotalBytes) return error('cache_full');
      const t = now();
      const { ttl, expires_at: at } = options || {};
      if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) return error('invalid_ttl');
      if (at !== undefined && !(Number.isFinite(at) && at > t)) return error('invalid_expires_at');
      const candidates = [t + CACHE_LIMITS.maxTtlMs];
      if (ttl !== undefined) candidates.push(t + ttl);
      if (at !== undefined) candidates.push(at);
      if (ttl === undefined && at === undefined) candidates.push(t + defaultTtlMs);
      entries.set(key, { value, expires_at: Math.min(...candidates) });
      return { type: 'success' };
    },
    delete(key) {
      purge();
      entries.delete(key);
      return { type: 'success' };
    },
    // Test helpers (not part of Auth0's api.cache): the docs say the cache is
    // not guaranteed to survive between executions, so tests should also run
    // with an emptied cache.
    clear() { entries.clear(); },
    get size() { purge(); return entries.size; },
    keys() { purge(); return [...entries.keys()]; },
  };
  return cache;
}

// --- claims -----------------------------------------------------------------
function claimDropReason(name, token, accessTokenAudience, strictNamespaces) {
  if (typeof name !== 'string' || name === '') return 'claim name must be a non-empty string';
  if (RESTRICTED_CLAIMS.has(name)) return 'restricted claim';
  // troubleshoot/product-lifecycle/past-migrations ("Legacy Custom Claims"):
  // Auth0 restricts custom claims starting with "$".
  if (name.startsWith('$')) return 'claims may not start with $';
  if (/^urn:auth0(:|$)/i.test(name)) return 'urn:auth0 is reserved';
  const isUrl = /^https?:\/\//i.test(name);
  if (isUrl) {
    let host = '';
    try { host = new URL(name).hostname.toLowerCase(); } catch { return 'malformed URL namespace'; }
    if (AUTH0_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`))) return `${host} is an Auth0 domain`;
    return null;
  }
  if (/^urn:/i.test(name)) return null;
  if (OIDC_PROFILE_CLAIMS.has(name)) return null;
  // Non-namespaced private claims are allowed since 2023-01-30
  // (past-migrations, "Legacy Custom Claims"), except on access tokens whose
  // audience is an Auth0 API other than /userinfo (create-custom-claims).
  if (strictNamespaces) return 'non-namespaced claim (strictNamespaces)';
  if (token === 'access' && isAuth0ApiAudience(accessTokenAudience)) {
    return 'non-namespaced claim on an access token for an Auth0 API';
  }
  return null;
}
function isAuth0ApiAudience(aud) {
  return typeof aud === 'string' && /\/(api\/v2|mfa|me)\/?$/.test(aud);
}

// --- event ------------------------------------------------------------------
function toActionUser(full) {
  const u = {};
  for (const f of USER_FIELDS) if (full[f] !== undefined) u[f] = clone(full[f]);
  u.app_metadata = u.app_metadata || {};
  u.user_metadata = u.user_metadata || {};
  // customize/actions/migrate/actions-migration-limitations and
  // customize/actions/limitations ("Upstream tokens from external IdPs"):
  // IdP tokens are not in event.user.identities.
  u.identities = (full.identities || []).map((id) => {
    const o = {};
    for (const f of IDENTITY_FIELDS) if (id[f] !== undefined) o[f] = clone(id[f]);
    return o;
  });
  return u;
}
function withoutHidden(params) {
  const o = clone(params || {});
  for (const k of HIDDEN_REQUEST_PARAMS) delete o[k];
  return o;
}
function checkSecrets(secrets) {
  const out = {};
  for (const [k, v] of Object.entries(secrets || {})) {
    if (k.length > SECRET_KEY_MAX) throw new RangeError(`secret name ${k.slice(0, 20)}... exceeds ${SECRET_KEY_MAX} chars`);
    if (typeof v !== 'string') throw new TypeError(`secret ${k} must be a string`);
    if (v.length > SECRET_VALUE_MAX) throw new RangeError(`secret ${k} exceeds ${SECRET_VALUE_MAX} chars`);
    out[k] = v;
  }
  return out;
}

// Top-level merge, null deletes: the documented rule for api.user.set*Metadata
// (post-login-api-object: "This may be set to null to remove the metadata
// property") and for PATCH /api/v2/users/{id}
// (manage-users/user-accounts/metadata/manage-metadata-api).
function mergeTopLevel(base, changes) {
  const out = clone(base || {});
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = clone(v);
  }
  return out;
}

/**
 * Build one post-login execution.
 * @param {object} o
 * @param {object} [o.user]        full Auth0 user (Management API shape); tokens are stripped
 * @param {object} [o.store]       store from startManagementApi(); with userId, the user is read
 *                                 from it and finish() writes metadata back
 * @param {string} [o.userId]
 * @param {object} [o.idpTokens]   { access_token, refresh_token, ... } Auth0 received from the IdP
 *                                 in this login; written into the store identity before the run.
 *                                 ASSUMPTION (AUTH0-FACTS): a GET made during post-login already
 *                                 sees tokens from the same login.
 * @param {object} [o.connection]  { id, name, strategy, metadata }
 * @param {object} [o.stats]       { logins_count }
 * @param {object} [o.request]     { query, body, ip, hostname, method, user_agent, language, geoip }
 * @param {object} [o.transaction]
 * @param {object} [o.secrets]
 * @param {object} [o.cache]       a createCache() instance; share it to model reuse on one instance
 * @param {string} [o.clientId]
 * @param {string} [o.tenant]
 * @param {string} [o.accessTokenAudience]  audience of the access token being issued
 * @param {boolean}[o.strictNamespaces]     also drop non-namespaced claims (pre-2023 rule)
 * @param {object} [o.refreshTokenExchange] { id, created_at }: the execution is a refresh
 *                                 token exchange, not a login (see below)
 * @param {number} [o.authenticatedAt]      ms since the epoch when the session's federated
 *                                 authentication happened (default: now, a fresh login)
 * @param {() => number} [o.now]
 */
function createPostLoginRun(o = {}) {
  const now = o.now || Date.now;
  let full = o.user;
  const userId = o.userId || (full && full.user_id);
  if (o.store && userId) {
    if (o.idpTokens) o.store.setIdpTokens(userId, o.connection?.name, o.idpTokens);
    // A real login bumps logins_count; a refresh token exchange is no login.
    if (!full) full = o.refreshTokenExchange ? o.store.getUser(userId) : o.store.recordLogin(userId);
  }
  if (!full) throw new Error('createPostLoginRun needs user, or store + userId');
  const user = toActionUser(full);
  const firstId = user.identities[0] || {};
  const connName = o.connection?.name || firstId.connection || 'google-oauth2';
  const audience = o.accessTokenAudience || o.transaction?.audience;

  // A refresh token exchange also runs post-login (docs:
  // secure/tokens/refresh-tokens/manage-refresh-tokens-actions, "This object is
  // populated by refresh token exchange flows"): event.refresh_token is set, and
  // event.transaction.protocol is "oauth2-refresh-token"
  // (secure/tokens/refresh-tokens/use-refresh-tokens). Auth0 does not go to the IdP,
  // so the session's federated method keeps the time of the original login.
  const exchange = o.refreshTokenExchange || null;
  const authenticatedAt = o.authenticatedAt ?? (exchange ? now() - 3600 * 1000 : now());
  const transaction = {
    id: 'tx_standin',
    protocol: exchange ? 'oauth2-refresh-token' : 'oidc-basic-profile',
    requested_scopes: ['openid', 'profile', 'email'],
    redirect_uri: 'https://app.example.com/callback',
    response_type: ['code'],
    metadata: {},
    ...clone(o.transaction || {}),
  };
  // post-login-event-object: transaction.prompt is an array of strings.
  if (typeof transaction.prompt === 'string') transaction.prompt = transaction.prompt.split(/\s+/).filter(Boolean);
  delete transaction.audience;

  const event = deepFreeze({
    // post-login event object: methods[] of { name, timestamp } with ISO 8601 strings
    // (customize/actions/redirect-with-actions: "Timestamps are rendered as ISO8601
    // strings"); "federated" for a social or enterprise first factor.
    authentication: { methods: [{ name: 'federated', timestamp: new Date(authenticatedAt).toISOString() }] },
    authorization: { roles: [] },
    client: { client_id: o.clientId || 'standin_client_id', name: 'Stand-in App', metadata: {} },
    // post-login-event-object: for social connections strategy === name.
    connection: {
      id: 'con_standin',
      name: connName,
      strategy: connName,
      metadata: {},
      ...clone(o.connection || {}),
    },
    request: {
      ip: '127.0.0.1',
      method: 'GET',
      hostname: 'standin.auth0.local',
      user_agent: 'node-test',
      language: 'en',
      geoip: {},
      ...clone(o.request || {}),
      query: withoutHidden(o.request?.query),
      body: withoutHidden(o.request?.body),
    },
    ...(audience ? { resource_server: { identifier: audience } } : {}),
    ...(exchange ? { refresh_token: { id: exchange.id || 'rt_standin', created_at: exchange.created_at || new Date(authenticatedAt).toISOString() } } : {}),
    secrets: checkSecrets(o.secrets),
    stats: { logins_count: full.logins_count ?? 1, ...clone(o.stats || {}) },
    tenant: { id: o.tenant || 'standin-tenant' },
    transaction,
    user,
  });

  const cache = o.cache || createCache({ now });
  const pending = { app: new Map(), user: new Map() };
  const claims = { id: new Map(), access: new Map() };
  const dropped = [];
  const scopes = { added: [], removed: [] };
  const calls = [];
  let denied = null;
  let finished = false;

  const guard = () => { if (finished) throw new Error('api used after finish()'); };
  const setMeta = (kind) => (key, value) => {
    guard();
    if (typeof key !== 'string' || key === '') throw new TypeError(`set${kind === 'app' ? 'App' : 'User'}Metadata: key must be a non-empty string`);
    if (value === undefined) throw new TypeError('metadata value undefined is not JSON (use null to delete)');
    assertJson(value, `${kind}_metadata.${key}`);
    pending[kind].set(key, clone(value));
    return api;
  };
  const setClaim = (token) => (name, value) => {
    guard();
    if (value === undefined) throw new TypeError(`claim ${name}: undefined is not JSON`);
    assertJson(value, `claim ${name}`);
    const reason = claimDropReason(name, token, audience, o.strictNamespaces);
    if (reason) dropped.push({ token, name, reason });
    else claims[token].set(name, clone(value));
    return api;
  };
  // Setters return the api object, as older api-object pages state ("Returns a
  // reference to the api object"); the current pages do not say.
  const record = (name) => (...args) => { guard(); calls.push({ name, args: clone(args) }); return api; };

  const api = {
    access: {
      // post-login-api-object: deny does NOT cancel metadata changes.
      // ASSUMPTION: if called twice, the first reason is the one reported.
      deny(reason) { guard(); calls.push({ name: 'access.deny', args: [reason] }); if (denied === null) denied = String(reason); return api; },
    },
    accessToken: {
      setCustomClaim: setClaim('access'),
      addScope(s) { guard(); scopes.added.push(s); return api; },
      removeScope(s) { guard(); scopes.removed.push(s); return api; },
    },
    idToken: { setCustomClaim: setClaim('id') },
    user: { setAppMetadata: setMeta('app'), setUserMetadata: setMeta('user') },
    cache: Object.freeze({
      get: (k) => cache.get(k),
      set: (k, v, opt) => cache.set(k, v, opt),
      delete: (k) => cache.delete(k),
    }),
    // Recorded only; their effects are outside this stand-in.
    authentication: {
      challengeWith: record('authentication.challengeWith'),
      challengeWithAny: record('authentication.challengeWithAny'),
      enrollWith: record('authentication.enrollWith'),
      enrollWithAny: record('authentication.enrollWithAny'),
      recordMethod: record('authentication.recordMethod'),
      setPrimaryUser: record('authentication.setPrimaryUser'),
    },
    multifactor: { enable: record('multifactor.enable') },
    redirect: { sendUserTo: record('redirect.sendUserTo') },
    validation: { error: record('validation.error') },
  };
  deepFreeze(api);

  function finish() {
    if (finished) throw new Error('finish() called twice');
    finished = true;
    const errors = [];
    const applied = {};
    for (const kind of ['app', 'user']) {
      const changes = Object.fromEntries(pending[kind]);
      const size = bytes(JSON.stringify(changes));
      // ASSUMPTION: the 32kB limit is measured on what this session writes,
      // and an over-limit write is not persisted at all.
      if (size > METADATA_LIMIT_BYTES) {
        errors.push({ code: `${kind}_metadata_too_large`, message: `${kind}_metadata writes are ${size} bytes; limit ${METADATA_LIMIT_BYTES} per session`, bytes: size });
        applied[kind] = {};
      } else {
        applied[kind] = changes;
      }
    }
    const appMetadata = mergeTopLevel(event.user.app_metadata, applied.app);
    const userMetadata = mergeTopLevel(event.user.user_metadata, applied.user);
    const idTokenClaims = Object.fromEntries(claims.id);
    const accessTokenClaims = Object.fromEntries(claims.access);
    for (const [token, c] of [['id', idTokenClaims], ['access', accessTokenClaims]]) {
      const size = bytes(JSON.stringify(c));
      // ASSUMPTION: the docs give the 100KB cap but not the failure mode.
      if (size > CLAIMS_LIMIT_BYTES) errors.push({ code: 'custom_claims_too_large', token, message: `${token} token custom claims are ${size} bytes; limit ${CLAIMS_LIMIT_BYTES}`, bytes: size });
    }
    // Metadata is written once, at the end of the flow, even when denied
    // (post-login-api-object, api.user.setAppMetadata and api.access.deny).
    const patch = {};
    if (Object.keys(applied.app).length) patch.app_metadata = applied.app;
    if (Object.keys(applied.user).length) patch.user_metadata = applied.user;
    if (o.store && userId && Object.keys(patch).length && o.store.hasUser(userId)) {
      o.store.updateUser(userId, patch);
    }
    return {
      appMetadata, userMetadata, idTokenClaims, accessTokenClaims,
      denied, errors, droppedClaims: dropped, scopes, calls,
    };
  }

  return { event, api, finish };
}

module.exports = {
  createPostLoginRun,
  createCache,
  mergeTopLevel,
  CACHE_LIMITS,
  METADATA_LIMIT_BYTES,
  CLAIMS_LIMIT_BYTES,
  HIDDEN_REQUEST_PARAMS,
  RESTRICTED_CLAIMS,
};

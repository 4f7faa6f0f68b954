'use strict';
// tokenseal: the Node backend module.
//
// It opens the sealed Google refresh token of a user (app_metadata.sealed_refresh_tokens
// ["google-oauth2"], written by the post-login Action), keeps a valid Google access token
// per user in memory, refreshes it at Google's token endpoint when the core says so,
// seals and stores a refresh token that Google rotated, and tells the single-page app how
// to send the user through Google consent again.
//
// Every decision comes from the core (pkg/tokenseal.js): the per-user refresh states
// (which refresh token a refresh sends, what a rotation becomes, tokenseal::backend),
// needsRefresh, missingScopes, whether a shared grant serves a user, the revocation,
// judgeResponse, tokenCacheTtlMs. Refresh tokens stay inside the core: this file sees sealed values and
// access tokens, and does I/O, caching and concurrency only. It logs nothing but the
// codes of its notices (onNotice), and no error it makes carries a refresh token, an
// access token, a client secret or a key: messages are fixed text.
//
// Every constant (the app_metadata member, Google's key, endpoints, consent parameters,
// the refresh skew) is the core's provider table (`core.providerTable()`, defined in
// src/providers/): nothing here redefines one. What Auth0 forwards to Google, with its
// sources, is documented there, in src/providers/google.rs.

/** The provider key createGoogleTokens serves: its member of sealed_refresh_tokens. */
const GOOGLE = 'google-oauth2';

const { randomUUID } = require('node:crypto');
const { call, clientCredentialsRequest, judged, withToken } = require('./http.js');
const { bounded, isStore, memoryStore, redisStore } = require('./store.js');

/** How often a replica waiting for another's refresh looks at the store, in ms. */
const STORE_POLL_MS = 50;
/** After a store call failed, the store is left alone this long, in ms. */
const STORE_RETRY_MS = 5000;

let defaultCore;
function loadDefaultCore() {
  defaultCore = defaultCore || require('../pkg/tokenseal.js');
  return defaultCore;
}

/** The core's shared constants: `{ sealedKey, skewSeconds, google }` (Google's entry). */
function constantsOf(core) {
  const table = core.providerTable();
  return { sealedKey: table.sealedKey, skewSeconds: table.defaultSkewSeconds, google: table.providers[GOOGLE] };
}

/** An error with a stable code and fixed text, shaped like the core's. */
function failure(code, message, details = {}) {
  const error = new Error(message);
  error.name = 'TokenSealError';
  error.code = code;
  return Object.assign(error, details);
}

/**
 * The /authorize parameters that make Google show its consent screen and return a new
 * refresh token (pass them in auth0-spa-js's `authorizationParams`): the connection,
 * Google's reconsent parameters from the core's table, and `connection_scope`.
 * @param {object} core
 * @param {{ connectionScope?: string | string[] }} [options] extra Google scopes
 */
function reconsentAuthorizeParams(core, options = {}) {
  const params = { connection: GOOGLE, ...constantsOf(core).google.reconsentParams };
  const scope = options.connectionScope;
  if (Array.isArray(scope) ? scope.length > 0 : typeof scope === 'string' && scope !== '') {
    // Auth0 takes a comma-separated list (adding-scopes-for-an-external-idp.mdx).
    params.connection_scope = Array.isArray(scope) ? scope.join(',') : scope;
  }
  return params;
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A Management API client for the two user calls this module makes. */
function managementClient(core, management, fetchImpl, now, timeoutMs) {
  const { sealedKey } = constantsOf(core);
  // The endpoints, budget and loopback-only http rule are the core's, as for the Action.
  const endpoints = core.actionConfig({
    AUTH0_DOMAIN: management.baseUrl || management.domain,
    AUTH0_CLIENT_ID: management.clientId,
    AUTH0_CLIENT_SECRET: management.clientSecret,
  }).management;
  if (!endpoints) throw failure('ERR_CONFIG_INVALID', 'management needs a tenant domain (or a loopback base URL), clientId and clientSecret');
  const audience = management.audience || endpoints.audience;
  const budgetMs = management.budgetMs || endpoints.budgetMs;
  let cached = null; // { token, until }

  async function token() {
    if (cached && now() < cached.until) return { token: cached.token, fromCache: true };
    cached = null;
    const result = await judged(
      core,
      () => call(fetchImpl, endpoints.tokenUrl, clientCredentialsRequest({ ...management, audience }), timeoutMs),
      { budgetEndsAt: Date.now() + budgetMs, cachedToken: () => false, onReauthenticate: async () => ({}) },
    );
    if (result.code) throw failure(result.code, 'the Management API call failed');
    const value = result.body && result.body.access_token;
    if (typeof value !== 'string' || value === '') throw failure('ERR_MGMT_RESPONSE', 'the Management API token answer is unusable');
    const ttl = core.tokenCacheTtlMs(result.body.expires_in);
    if (ttl > 0) cached = { token: value, until: now() + ttl };
    return { token: value, fromCache: false };
  }

  /** One authenticated users call; a refused cached token is replaced once. */
  async function users(method, userId, body) {
    const url = `${endpoints.usersUrl}${encodeURIComponent(userId)}${method === 'GET' ? '?fields=app_metadata&include_fields=true' : ''}`;
    const result = await withToken(
      core,
      {
        getToken: () => token().catch((error) => ({ code: error.code || 'ERR_MGMT_FAILED' })),
        dropToken: () => { cached = null; },
        budgetEndsAt: Date.now() + budgetMs,
      },
      (bearer) => call(fetchImpl, url, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      }, timeoutMs),
    );
    if (result.code) throw failure(result.code, 'the Management API call failed');
    if (!isPlainObject(result.body)) throw failure('ERR_MGMT_RESPONSE', 'the Management API answer is unusable');
    return result.body;
  }

  /** The user's sealed_refresh_tokens as stored now (an object; {} when absent). */
  async function sealedMap(userId) {
    const user = await users('GET', userId);
    const appMetadata = user.app_metadata == null ? {} : user.app_metadata;
    const map = isPlainObject(appMetadata) ? appMetadata[sealedKey] : undefined;
    if (map == null) return {};
    // Like the login planner: never overwrite what cannot be read.
    if (!isPlainObject(map)) throw failure('ERR_USER_INVALID', 'app_metadata.sealed_refresh_tokens is not an object');
    return map;
  }

  return {
    getUser: (userId) => users('GET', userId),
    /**
     * Writes the Google entry, keeping other providers' entries (PATCH merges top-level
     * keys only), only while the stored value is still `replaces`, the one the refresh
     * started from: a value a login (or another replica) stored since, or a value cleared
     * since, is never overwritten. Resolves to true when written. Auth0 has no
     * conditional update, so a write between this read and the PATCH can still be lost.
     */
    async setSealed(userId, sealed, replaces) {
      const map = await sealedMap(userId);
      if (map[GOOGLE] !== replaces) return false;
      await users('PATCH', userId, { app_metadata: { [sealedKey]: { ...map, [GOOGLE]: sealed } } });
      return true;
    },
    /** Removes the Google entry; null removes sealed_refresh_tokens when nothing else is left. */
    async clearSealed(userId) {
      const map = await sealedMap(userId);
      if (!(GOOGLE in map)) return false;
      const { [GOOGLE]: removed, ...rest } = map;
      await users('PATCH', userId, { app_metadata: { [sealedKey]: Object.keys(rest).length > 0 ? rest : null } });
      return true;
    },
  };
}

/**
 * createGoogleTokens's options with their defaults (the core's, from `constants`), or a
 * TypeError naming the bad one.
 */
function tokensOptions(o, constants, core) {
  const {
    keys,
    clientId,
    clientSecret,
    tokenEndpoint = constants.google.tokenEndpoint,
    revokeEndpoint = constants.google.revokeEndpoint,
    requiredScopes = [],
    skewSeconds = constants.skewSeconds,
    now = () => Date.now(),
    fetch: fetchImpl = globalThis.fetch,
    timeoutMs = 5000,
    loadUser,
    saveSealed,
    management,
    store,
    storeTimeoutMs = 250,
    lockTtlMs = 3 * timeoutMs,
    onNotice = (code) => console.warn(`tokenseal backend: ${code}`),
  } = o;
  for (const [name, value] of [['keys', keys], ['clientId', clientId], ['clientSecret', clientSecret], ['tokenEndpoint', tokenEndpoint]]) {
    if (typeof value !== 'string' || value === '') throw new TypeError(`createGoogleTokens: ${name} must be a non-empty string`);
  }
  for (const [name, url] of [['tokenEndpoint', tokenEndpoint], ['revokeEndpoint', revokeEndpoint]]) {
    // The client secret and the refresh token travel to these: https only, or loopback.
    if (!core.endpointAllowed(url)) throw failure('ERR_CONFIG_INVALID', `createGoogleTokens: ${name} must be an https URL (http only to a loopback host)`);
  }
  if (!Array.isArray(requiredScopes) || !requiredScopes.every((scope) => typeof scope === 'string' && scope !== '')) {
    throw new TypeError('createGoogleTokens: requiredScopes must be an array of scope names');
  }
  if (typeof fetchImpl !== 'function') throw new TypeError('createGoogleTokens: no fetch implementation');
  if (!(Number.isFinite(skewSeconds) && skewSeconds >= 0)) throw new TypeError('createGoogleTokens: skewSeconds must be a number >= 0');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createGoogleTokens: timeoutMs must be a number > 0');
  if (store !== undefined && !isStore(store)) throw new TypeError('createGoogleTokens: store needs get, set, delete, acquire and release');
  for (const [name, value] of [['storeTimeoutMs', storeTimeoutMs], ['lockTtlMs', lockTtlMs]]) {
    if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`createGoogleTokens: ${name} must be a number > 0`);
  }
  if (typeof onNotice !== 'function') throw new TypeError('createGoogleTokens: onNotice must be a function');
  if (management !== undefined) {
    if (!isPlainObject(management) || !(management.domain || management.baseUrl)
      || typeof management.clientId !== 'string' || typeof management.clientSecret !== 'string') {
      throw new TypeError('createGoogleTokens: management needs domain (or baseUrl), clientId and clientSecret');
    }
  }
  return {
    keys, clientId, clientSecret, tokenEndpoint, revokeEndpoint, requiredScopes, skewSeconds, now, fetchImpl, timeoutMs, loadUser, saveSealed, management,
    store, storeTimeoutMs, lockTtlMs, onNotice,
  };
}

/**
 * The shared state of one provider's tokens in a store: per user, the last grant sealed
 * for that user (`access:<provider>:<user_id>`, under a key derived from the ring,
 * bound to that name) and a lock (`lock:<provider>:<user_id>`). Every call is bounded
 * by `timeoutMs` and never rejects: `ok: false` means "go on without the store", which
 * is then left alone for STORE_RETRY_MS and reported once through `onNotice`.
 */
function sharedState(store, { core, keys, provider, timeoutMs, onNotice }) {
  let downUntil = 0;
  async function use(run) {
    if (Date.now() < downUntil) return { ok: false };
    const result = await bounded(run, timeoutMs);
    if (!result.ok) {
      downUntil = Date.now() + STORE_RETRY_MS;
      onNotice('ERR_STORE_UNAVAILABLE');
    }
    return result;
  }
  const name = (kind, userId) => `${kind}:${provider}:${userId}`;
  return {
    /** `{ ok, grant }`: the shared grant `{ accessToken, expiresAt, scope, refreshTokenExpiresAt, sealed }`, or null. */
    async read(userId) {
      const got = await use(() => store.get(name('access', userId)));
      if (!got.ok || typeof got.value !== 'string') return { ok: got.ok, grant: null };
      try {
        return { ok: true, grant: JSON.parse(core.openCacheEntry(got.value, keys, name('access', userId))) };
      } catch {
        return { ok: true, grant: null }; // another key ring, a retired key, tampering: ignored
      }
    },
    /** Shares a grant; one that cannot be sealed (too large) stays unshared. */
    async write(userId, grant, ttlMs) {
      if (ttlMs <= 0) return;
      let sealed;
      try {
        sealed = core.sealCacheEntry(JSON.stringify(grant), keys, name('access', userId));
      } catch {
        return;
      }
      await use(() => store.set(name('access', userId), sealed, ttlMs));
    },
    drop: (userId) => use(() => store.delete(name('access', userId))),
    /** `{ ok, held }`: whether `owner` now holds the user's lock. */
    async lock(userId, owner, ttlMs) {
      const got = await use(() => store.acquire(name('lock', userId), owner, ttlMs));
      return { ok: got.ok, held: got.ok && got.value === true };
    },
    unlock: (userId, owner) => use(() => store.release(name('lock', userId), owner)),
  };
}

/** The user `accessToken` was given, or the one `loadUser` or the Management API returns for an id. */
async function resolveUser(userOrId, loadUser, mgmt) {
  let user = userOrId;
  if (typeof userOrId === 'string') {
    if (typeof loadUser === 'function') user = await loadUser(userOrId);
    else if (mgmt) user = await mgmt.getUser(userOrId);
    else throw failure('ERR_CONFIG_INCOMPLETE', 'a user id needs loadUser or management');
    if (isPlainObject(user) && user.user_id === undefined) user = { ...user, user_id: userOrId };
    if (isPlainObject(user) && user.user_id !== userOrId) throw failure('ERR_USER_INVALID', 'the loaded user has another user_id');
  }
  if (!isPlainObject(user) || typeof user.user_id !== 'string' || user.user_id === '') {
    throw failure('ERR_USER_INVALID', 'accessToken needs a user with a string user_id');
  }
  return user;
}

/**
 * Runs `run` once per key at a time: a call while one is pending for the same key gets
 * the pending promise. Returns `once(key, run)` and `pending(key)`, the promise in flight
 * for a key or undefined.
 */
function singleFlights() {
  const pending = new Map();
  function once(key, run) {
    const current = pending.get(key);
    if (current) return current;
    const promise = run().finally(() => {
      if (pending.get(key) === promise) pending.delete(key);
    });
    pending.set(key, promise);
    return promise;
  }
  return { once, pending: (key) => pending.get(key) };
}

/**
 * POSTs each revocation body (RFC 7009) in turn; resolves to null when every token no
 * longer works, else to the first failure's code (and stops there).
 */
async function revokeAll(core, bodies, { fetchImpl, revokeEndpoint, timeoutMs }) {
  for (const body of bodies) {
    const response = await call(fetchImpl, revokeEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    }, timeoutMs);
    try {
      core.parseRevokeResponse(response.status, response.body);
    } catch (error) {
      return (error && error.code) || 'ERR_PROVIDER_UNAVAILABLE';
    }
  }
  return null;
}

/**
 * The refresh across replicas: an adoptable shared grant is taken as it is; otherwise
 * the replica that takes the user's lock refreshes (`refresh(sharedSealed)`, which
 * shares the new grant) and releases the lock, while the others poll for the grant. Bounded: a lock whose holder died expires after lockTtlMs, and after
 * twice that a waiter refreshes `alone` (ERR_STORE_LOCK_TIMEOUT). A store that fails or
 * is slow is left out: `alone` too.
 */
async function sharedRefresh(shared, userId, { lockTtlMs, onNotice, adoptable, adopt, refresh, alone }) {
  const owner = randomUUID();
  const gaveUpAt = Date.now() + 2 * lockTtlMs;
  for (;;) {
    const seen = await shared.read(userId);
    if (!seen.ok) return alone();
    if (adoptable(seen.grant)) return adopt(seen.grant);
    const lock = await shared.lock(userId, owner, lockTtlMs);
    if (!lock.ok) return alone();
    if (lock.held) {
      try {
        // Another replica may have shared a grant between the read and the lock.
        const again = await shared.read(userId);
        if (again.ok && adoptable(again.grant)) return adopt(again.grant);
        const last = (again.ok ? again.grant : null) || seen.grant;
        return await refresh(last ? last.sealed : undefined);
      } finally {
        await shared.unlock(userId, owner);
      }
    }
    if (Date.now() >= gaveUpAt) {
      onNotice('ERR_STORE_LOCK_TIMEOUT');
      return alone();
    }
    await new Promise((resolve) => { setTimeout(resolve, STORE_POLL_MS); });
  }
}

/**
 * Google access tokens for one app's backend process (what createGoogleTokens returns).
 * The refresh decisions (which token to send, what a rotation becomes) and the refresh
 * tokens themselves live in the core's per-user states; this keeps access tokens:
 * userId -> { accessToken, expiresAt, scope, missingScopes, refreshTokenExpiresAt,
 * unsaved }, `unsaved` true while a rotation waits to be stored.
 */
class GoogleTokens {
  constructor(core, options) {
    this.core = core;
    this.o = options;
    this.shared = options.store
      ? sharedState(options.store, { core, keys: options.keys, provider: GOOGLE, timeoutMs: options.storeTimeoutMs, onNotice: options.onNotice })
      : null;
    this.mgmt = options.management ? managementClient(core, options.management, options.fetchImpl, options.now, options.timeoutMs) : null;
    this.states = core.refreshStates();
    this.entries = new Map();
    this.flights = singleFlights(); // one refresh (or save) at a time per user
  }

  nowSeconds() {
    return Math.floor(this.o.now() / 1000);
  }

  /** True for a grant whose access token is not within the skew of its expiry. */
  usable(grant) {
    return Boolean(grant) && !this.core.needsRefresh(grant.expiresAt, this.nowSeconds(), this.o.skewSeconds);
  }

  fresh(entry) {
    return this.usable(entry) && !entry.unsaved;
  }

  /** A grant (the token endpoint's, or one another replica shared) as the user's entry. */
  remember(userId, grant, unsaved) {
    const { accessToken, expiresAt, scope, refreshTokenExpiresAt } = grant;
    const missingScopes = this.core.missingScopes(scope, this.o.requiredScopes);
    const entry = { accessToken, expiresAt, scope, refreshTokenExpiresAt, missingScopes, unsaved };
    this.entries.set(userId, entry);
    return entry;
  }

  /**
   * Stores the user's rotation, if one waits: the sealed successor in place of the value
   * it replaces, through saveSealed(userId, sealed, replaces), whose third argument lets
   * the app compare-and-set, or through the Management API, which writes only while the
   * stored value is still `replaces`. A failure leaves it waiting (and rejects).
   */
  async storeRotation(userId) {
    const unsaved = this.states.unsaved(userId);
    if (unsaved === null) return;
    let stored = true;
    if (typeof this.o.saveSealed === 'function') {
      try {
        stored = (await this.o.saveSealed(userId, unsaved.sealed, unsaved.replaces)) !== false;
      } catch {
        throw failure('ERR_SAVE_FAILED', 'saveSealed failed to store the rotated refresh token');
      }
    } else if (this.mgmt) {
      stored = await this.mgmt.setSealed(userId, unsaved.sealed, unsaved.replaces);
    }
    // Neither: the rotated token lives in this process only (documented).
    const entry = this.entries.get(userId);
    if (entry) entry.unsaved = false;
    if (stored) {
      this.states.saved(userId);
      return;
    }
    // The stored value changed since the refresh began (a new consent, a clear): it wins.
    // The rotation of the older grant is forgotten here and in the shared store, so the
    // next refresh starts from what is stored.
    this.states.forget(userId);
    if (this.shared) await this.shared.drop(userId);
  }

  /** Shares the user's grant with the other replicas, with the sealed value it stands on. */
  async share(userId, entry) {
    const { accessToken, expiresAt, scope, refreshTokenExpiresAt } = entry;
    const grant = { accessToken, expiresAt, scope, refreshTokenExpiresAt, sealed: this.states.sealed(userId) };
    await this.shared.write(userId, grant, expiresAt * 1000 - this.o.now());
  }

  /**
   * True when another replica's grant serves this user: usable, and standing on the
   * user's stored value or a later one (not on a value the user has since replaced by a
   * new consent, and never for a user whose value was cleared).
   */
  adoptable(user, grant) {
    if (!this.usable(grant) || typeof grant.sealed !== 'string') return false;
    const appMetadata = isPlainObject(user.app_metadata) ? user.app_metadata : {};
    return this.states.sharedGrantServes(user.user_id, appMetadata, grant.sealed, this.o.keys);
  }

  /**
   * One refresh at the token endpoint for this process; resolves to the user's entry.
   * `sharedSealed` is the sealed value a shared store holds, if any.
   */
  async refresh(user, sharedSealed) {
    const { keys, clientId, clientSecret, tokenEndpoint, fetchImpl, timeoutMs } = this.o;
    const userId = user.user_id;
    await this.storeRotation(userId); // a rotation whose save failed earlier goes first
    const cached = this.entries.get(userId);
    if (this.fresh(cached)) return cached;
    try {
      this.states.begin(userId, user.app_metadata == null ? {} : user.app_metadata, sharedSealed || null, keys);
    } catch (error) {
      this.entries.delete(userId);
      throw error;
    }
    const response = await call(fetchImpl, tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: this.states.refreshRequestBody(userId, clientId, clientSecret),
    }, timeoutMs);
    if (response.status === 0) {
      throw failure('ERR_PROVIDER_UNAVAILABLE', response.timedOut ? 'the token endpoint did not answer in time' : 'the token endpoint could not be reached');
    }
    let grant;
    try {
      grant = this.states.finish(userId, response.status, response.body, keys, this.nowSeconds());
    } catch (error) {
      // ERR_RECONSENT_REQUIRED: the refresh token is dead (the core dropped its state).
      // Forget the cached access token; the sealed value stays where it is (clearSealed
      // is the app's decision). Every other refusal (ERR_CLIENT_REJECTED, a configuration
      // fault; ERR_ADMIN_POLICY) keeps everything.
      if (error && error.code === 'ERR_RECONSENT_REQUIRED') this.entries.delete(userId);
      throw error;
    }
    const entry = this.remember(userId, grant, grant.unsaved !== null);
    // Shared before the lasting save: a replica that refreshes next sends the rotated
    // token even if that save fails or outlives the lock.
    if (this.shared) await this.share(userId, entry);
    await this.storeRotation(userId);
    return entry;
  }

  /** The refresh across replicas (see sharedRefresh), with this process's pieces. */
  refreshShared(user) {
    const userId = user.user_id;
    if (this.states.unsaved(userId) !== null) return this.refresh(user); // store the rotation first
    return sharedRefresh(this.shared, userId, {
      lockTtlMs: this.o.lockTtlMs,
      onNotice: this.o.onNotice,
      adoptable: (grant) => this.adoptable(user, grant),
      adopt: (grant) => this.remember(userId, grant, false),
      refresh: (sharedSealed) => this.refresh(user, sharedSealed),
      alone: () => this.refresh(user),
    });
  }

  /**
   * A valid Google access token for the user: the cached one, or a new one from one
   * shared refresh. Resolves to { accessToken, expiresAt (epoch seconds), scope,
   * refreshTokenExpiresAt }; rejects with ERR_SCOPE_NOT_GRANTED (and `missingScopes`)
   * when the grant lacks a required scope.
   * @param {{ user_id: string, app_metadata?: object } | string} userOrId
   */
  async accessToken(userOrId) {
    const userId = typeof userOrId === 'string' ? userOrId : isPlainObject(userOrId) ? userOrId.user_id : undefined;
    if (typeof userId !== 'string' || userId === '') {
      throw failure('ERR_USER_INVALID', 'accessToken needs a user with a string user_id (or a user id)');
    }
    const cached = this.entries.get(userId);
    const entry = this.fresh(cached) ? cached : await this.flights.once(userId, async () => {
      const user = await resolveUser(userOrId, this.o.loadUser, this.mgmt);
      return this.shared ? this.refreshShared(user) : this.refresh(user);
    });
    if (entry.missingScopes.length > 0) {
      throw failure('ERR_SCOPE_NOT_GRANTED', 'the user did not grant every required scope', { missingScopes: [...entry.missingScopes] });
    }
    return { accessToken: entry.accessToken, expiresAt: entry.expiresAt, scope: entry.scope, refreshTokenExpiresAt: entry.refreshTokenExpiresAt };
  }

  /** Forgets the user here and in the shared store, after any refresh in flight. */
  async drop(userId) {
    const pending = this.flights.pending(userId);
    if (pending) await pending.catch(() => {});
    this.forget(userId);
    if (this.shared) await this.shared.drop(userId);
  }

  /**
   * Removes app_metadata.sealed_refresh_tokens["google-oauth2"] through the Management
   * API (other providers' entries are kept; sealed_refresh_tokens becomes null when none
   * is left), so the next login's claim says "missing". Resolves to true when something
   * was removed. Never called by this module itself.
   */
  async clearSealed(userId) {
    if (!this.mgmt) throw failure('ERR_CONFIG_INCOMPLETE', 'clearSealed needs management');
    if (typeof userId !== 'string' || userId === '') throw failure('ERR_USER_ID_INVALID', 'clearSealed needs a user id');
    await this.drop(userId);
    return this.mgmt.clearSealed(userId);
  }

  /**
   * Disconnects the user from Google: revokes every refresh token the user may still
   * hold at the revocation endpoint (RFC 7009; Google revokes the whole grant), then
   * removes the sealed value as clearSealed does. When the revocation fails
   * (ERR_PROVIDER_UNAVAILABLE, ERR_CLIENT_REJECTED, ...) it rejects with that code and
   * clears nothing, unless `clearOnRevokeFailure` asks to clear anyway; the result then
   * reports the code. Resolves to { revoked, cleared, code? }.
   * @param {{ user_id: string, app_metadata?: object } | string} userOrId
   * @param {{ clearOnRevokeFailure?: boolean }} [options]
   */
  async disconnect(userOrId, options = {}) {
    if (!this.mgmt) throw failure('ERR_CONFIG_INCOMPLETE', 'disconnect needs management to clear the sealed value');
    const { keys, clientId, clientSecret } = this.o;
    const user = await resolveUser(userOrId, this.o.loadUser, this.mgmt);
    const userId = user.user_id;
    const pending = this.flights.pending(userId);
    if (pending) await pending.catch(() => {});
    let bodies = [];
    let code = null;
    try {
      bodies = this.states.revokeRequestBodies(userId, user.app_metadata == null ? {} : user.app_metadata, keys, clientId, clientSecret);
    } catch (error) {
      code = (error && error.code) || 'ERR_DECRYPT'; // a stored value that does not open cannot be revoked
    }
    if (code === null) code = await revokeAll(this.core, bodies, this.o);
    if (code !== null && options.clearOnRevokeFailure !== true) {
      throw failure(code, 'the provider did not confirm the revocation; nothing was cleared');
    }
    await this.drop(userId);
    const cleared = await this.mgmt.clearSealed(userId);
    return code === null ? { revoked: bodies.length > 0, cleared } : { revoked: false, cleared, code };
  }

  /**
   * Drops what this process caches for a user (for example after the user logged out).
   * A grant in the shared store stays (other replicas use it until it expires);
   * clearSealed and disconnect drop that too.
   */
  forget(userId) {
    this.entries.delete(userId);
    this.states.forget(userId);
  }
}

function bind(coreOrLoader) {
  const getCore = typeof coreOrLoader === 'function' ? coreOrLoader : () => coreOrLoader;

  /**
   * Opens a sealed value: the JWE itself, or the user's app_metadata (the Google entry
   * of sealed_refresh_tokens is read there). Throws the core's coded errors.
   */
  function openSealed(source, keySetJson, userId) {
    return getCore().open(source, keySetJson, userId);
  }

  /**
   * Google access tokens for the app's backend.
   * @param {object} o
   * @param {string} o.keys           the JWK Set (TOKENSEAL_KEYS)
   * @param {string} o.clientId       the Google OAuth client of the Auth0 google-oauth2 connection
   * @param {string} o.clientSecret
   * @param {string} [o.tokenEndpoint]  https (http only to loopback); default Google's, from the core
   * @param {string} [o.revokeEndpoint] the same, for disconnect()
   * @param {string[]} [o.requiredScopes] scopes accessToken() insists on (ERR_SCOPE_NOT_GRANTED)
   * @param {number} [o.skewSeconds]  refresh this long before expiry
   * @param {() => number} [o.now]    clock in milliseconds
   * @param {typeof fetch} [o.fetch]
   * @param {number} [o.timeoutMs]    per HTTP call
   * @param {(userId: string) => Promise<object>} [o.loadUser] lets accessToken() take a user id
   * @param {(userId: string, sealedJwe: string, replaces: string) => Promise<boolean | void>} [o.saveSealed]
   *        stores a rotated token's sealed successor in place of `replaces`; resolves to
   *        false when the stored value is no longer `replaces` (then it wins)
   * @param {{ domain?: string, baseUrl?: string, audience?: string, clientId: string, clientSecret: string, budgetMs?: number }} [o.management]
   *        a machine-to-machine application with read:users and update:users_app_metadata
   * @param {object} [o.store]        a shared store for many replicas: redisStore(client),
   *        memoryStore(), or any object with get, set, delete, acquire, release (store.js)
   * @param {number} [o.storeTimeoutMs] per store call (250)
   * @param {number} [o.lockTtlMs]    how long a replica's refresh lock lives (3 x timeoutMs)
   * @param {(code: string) => void} [o.onNotice] store outages (codes only; console.warn)
   * @param {object} [o.core]         the tokenseal core (tests)
   * @returns {{ accessToken, clearSealed, disconnect, forget }} see GoogleTokens
   */
  function createGoogleTokens(o) {
    if (!o || typeof o !== 'object') throw new TypeError('createGoogleTokens needs an options object');
    const core = o.core || getCore();
    const tokens = new GoogleTokens(core, tokensOptions(o, constantsOf(core), core));
    return {
      accessToken: (userOrId) => tokens.accessToken(userOrId),
      clearSealed: (userId) => tokens.clearSealed(userId),
      disconnect: (userOrId, options) => tokens.disconnect(userOrId, options),
      forget: (userId) => tokens.forget(userId),
    };
  }

  return {
    openSealed,
    createGoogleTokens,
    /** See the module-level reconsentAuthorizeParams. */
    reconsentAuthorizeParams: (options) => reconsentAuthorizeParams(getCore(), options),
  };
}

module.exports = {
  ...bind(loadDefaultCore),
  redisStore,
  memoryStore,
  /** The same API over another core (tests, or a core loaded some other way). */
  withCore: bind,
};

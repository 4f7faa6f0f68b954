'use strict';
// tokenseal: the Node backend module.
//
// It opens a user's sealed refresh token of each configured provider
// (app_metadata.sealed_refresh_tokens[<key>], written by the post-login Action), keeps a
// valid access token per user and provider in memory, refreshes it at the provider's
// token endpoint when the core says so, seals and stores a refresh token the provider
// rotated, and tells the single-page app how to send the user through consent again.
//
// Every decision comes from the core (pkg/tokenseal.js): the per-user refresh states
// (which refresh token a refresh sends, what a rotation becomes, tokenseal::backend),
// needsRefresh, missingScopes, whether a shared grant serves a user, the revocation,
// judgeResponse, tokenCacheTtlMs. Refresh tokens stay inside the core: this file sees sealed values and
// access tokens, and does I/O, caching and concurrency only. It logs nothing but the
// codes of its notices (onNotice), and no error it makes carries a refresh token, an
// access token, a client secret or a key: messages are fixed text.
//
// Every constant (the app_metadata member, each provider's endpoints, client
// authentication and consent parameters, the refresh skew) is the core's provider table
// (`core.providerInfo(key)`, `core.resolveEndpoints(...)`, defined in src/providers/):
// nothing here redefines one. What Auth0 forwards to each provider, with its sources, is
// documented there, one module per provider.

/** The provider key createGoogleTokens serves: its member of sealed_refresh_tokens. */
const GOOGLE = 'google-oauth2';

const { randomUUID } = require('node:crypto');
const { call, clientCredentialsRequest, judged, withToken } = require('./http.js');
const { bounded, isStore, memoryStore, redisStore } = require('./store.js');

/** How often a replica waiting for another's refresh looks at the store, in ms. */
const STORE_POLL_MS = 50;
/** After a store call failed, the store is left alone this long, in ms. */
const STORE_RETRY_MS = 5000;
/** After a discovery document could not be used, calls fail fast this long, in ms. */
const DISCOVERY_RETRY_MS = 5000;

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

let defaultCore;
function loadDefaultCore() {
  defaultCore = defaultCore || require('../pkg/tokenseal.js');
  return defaultCore;
}

/** The core's shared constants: `{ sealedKey, skewSeconds, maxUsers }`. */
function constantsOf(core) {
  const table = core.providerTable();
  return { sealedKey: table.sealedKey, skewSeconds: table.defaultSkewSeconds, maxUsers: table.defaultMaxUsers };
}

/** An error with a stable code and fixed text, shaped like the core's. */
function failure(code, message, details = {}) {
  const error = new Error(message);
  error.name = 'TokenSealError';
  error.code = code;
  return Object.assign(error, details);
}

/**
 * The /authorize parameters that make a provider show its consent screen and return a
 * new refresh token (pass them in auth0-spa-js's `authorizationParams`), from the core
 * (`reconsentAuthorizeParams`): the connection, the provider's parameters, and
 * `connection_scope` (the provider's consent scopes, then the app's).
 * @param {object} core
 * @param {string} [provider] the provider's key (default "google-oauth2")
 * @param {{ connection?: string, connectionScope?: string | string[] }} [options]
 *        the Auth0 connection's name when it is not the key (an Entra ID connection),
 *        and extra scopes
 */
function reconsentAuthorizeParams(core, provider = GOOGLE, options = {}) {
  if (isPlainObject(provider)) return core.reconsentAuthorizeParams(GOOGLE, provider); // (options), as before
  return core.reconsentAuthorizeParams(provider, options);
}

/** A Management API client for the two user calls this module makes. */
function managementClient(core, management, fetchImpl, now, timeoutMs) {
  const { sealedKey } = constantsOf(core);
  // The endpoints, budget and loopback-only http rule are the core's, as for the Action.
  const config = core.actionConfig({
    AUTH0_DOMAIN: management.baseUrl || management.domain,
    AUTH0_CLIENT_ID: management.clientId,
    AUTH0_CLIENT_SECRET: management.clientSecret,
  });
  const endpoints = config.management;
  if (!endpoints) throw failure('ERR_CONFIG_INVALID', 'management needs a tenant domain (or a loopback base URL), clientId and clientSecret');
  const audience = management.audience || endpoints.audience;
  const budgetMs = management.budgetMs || config.callBudgetMs;
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

  // One read-modify-write of a user's sealed_refresh_tokens at a time in this process:
  // the map is written whole, so two providers rotating at once would otherwise each
  // write back the other's old value.
  const writing = new Map();
  function serialized(userId, run) {
    const before = writing.get(userId) || Promise.resolve();
    const mine = before.then(run, run);
    const settled = mine.then(() => {}, () => {});
    writing.set(userId, settled);
    settled.then(() => { if (writing.get(userId) === settled) writing.delete(userId); });
    return mine;
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
     * Writes the provider's entry, keeping other providers' entries (PATCH merges
     * top-level keys only), only while the stored value is still `replaces`, the one the
     * refresh started from: a value a login (or another replica) stored since, or a value
     * cleared since, is never overwritten. Resolves to true when written. Auth0 has no
     * conditional update, so a write between this read and the PATCH can still be lost.
     */
    setSealed(userId, key, sealed, replaces) {
      return serialized(userId, async () => {
        const map = await sealedMap(userId);
        if (map[key] !== replaces) return false;
        await users('PATCH', userId, { app_metadata: { [sealedKey]: { ...map, [key]: sealed } } });
        return true;
      });
    },
    /**
     * Removes the provider's entry (sealed_refresh_tokens goes when nothing else is left)
     * and records the cleared value's capture under app_metadata.tokenseal.cleared, so
     * that no login seals Auth0's copy of that token again, and for Google deletes the
     * old rule's plaintext token: the core's plan (planClear), in one PATCH. Resolves to
     * true when something was removed.
     */
    clearSealed(userId, key) {
      return serialized(userId, async () => {
        const user = await users('GET', userId);
        const writes = core.planClear(user.app_metadata === undefined ? null : user.app_metadata, key);
        if (writes.length === 0) return false;
        await users('PATCH', userId, { app_metadata: Object.fromEntries(writes.map((w) => [w.key, w.value])) });
        return true;
      });
    },
  };
}

/** The members of a provider's options (`providers[<key>]`) the core resolves endpoints from. */
const ENDPOINT_OPTIONS = ['tokenEndpoint', 'revokeEndpoint', 'issuer', 'scope', 'tokenEndpointAuthMethod'];

/**
 * One provider's options, checked: `{ key, clientId, clientSecret, requiredScopes,
 * endpointOptions }`, or a TypeError naming the bad one. `name` prefixes messages.
 */
function providerOptions(name, key, p) {
  if (!isPlainObject(p)) throw new TypeError(`${name}: providers["${key}"] must be an object`);
  for (const field of ['clientId', 'clientSecret']) {
    if (typeof p[field] !== 'string' || p[field] === '') throw new TypeError(`${name}: ${field} of "${key}" must be a non-empty string`);
  }
  for (const field of ENDPOINT_OPTIONS) {
    // A string of any kind goes to the core, which says what it accepts (ERR_CONFIG_INVALID).
    if (p[field] !== undefined && typeof p[field] !== 'string') throw new TypeError(`${name}: ${field} of "${key}" must be a string`);
  }
  const requiredScopes = p.requiredScopes === undefined ? [] : p.requiredScopes;
  if (!Array.isArray(requiredScopes) || !requiredScopes.every((scope) => typeof scope === 'string' && scope !== '')) {
    throw new TypeError(`${name}: requiredScopes must be an array of scope names`);
  }
  const endpointOptions = {};
  for (const field of ENDPOINT_OPTIONS) if (typeof p[field] === 'string') endpointOptions[field] = p[field];
  return { key, clientId: p.clientId, clientSecret: p.clientSecret, requiredScopes, endpointOptions };
}

/**
 * createTokens's options with their defaults (the core's, from `constants`), or a
 * TypeError naming the bad one. `name` is the function the app called.
 */
function tokensOptions(name, o, constants) {
  const {
    keys,
    providers,
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
  if (typeof keys !== 'string' || keys === '') throw new TypeError(`${name}: keys must be a non-empty string`);
  if (!isPlainObject(providers) || Object.keys(providers).length === 0) {
    throw new TypeError(`${name}: providers must map at least one provider key to its client`);
  }
  if (typeof fetchImpl !== 'function') throw new TypeError(`${name}: no fetch implementation`);
  if (!(Number.isFinite(skewSeconds) && skewSeconds >= 0)) throw new TypeError(`${name}: skewSeconds must be a number >= 0`);
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError(`${name}: timeoutMs must be a number > 0`);
  if (store !== undefined && !isStore(store)) throw new TypeError(`${name}: store needs get, set, delete, acquire and release`);
  for (const [field, value] of [['storeTimeoutMs', storeTimeoutMs], ['lockTtlMs', lockTtlMs]]) {
    if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`${name}: ${field} must be a number > 0`);
  }
  if (typeof onNotice !== 'function') throw new TypeError(`${name}: onNotice must be a function`);
  if (management !== undefined) {
    if (!isPlainObject(management) || !(management.domain || management.baseUrl)
      || typeof management.clientId !== 'string' || typeof management.clientSecret !== 'string') {
      throw new TypeError(`${name}: management needs domain (or baseUrl), clientId and clientSecret`);
    }
  }
  return {
    keys,
    providers: Object.entries(providers).map(([key, p]) => providerOptions(name, key, p)),
    skewSeconds, now, fetchImpl, timeoutMs, loadUser, saveSealed, management, store, storeTimeoutMs, lockTtlMs, onNotice,
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

/** The fetch init of one POST the core built: `{ body, authorization }` (TokenRequest). */
function postOf(request) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (request.authorization) headers.authorization = request.authorization;
  return { method: 'POST', headers, body: request.body };
}

/**
 * POSTs each revocation request (RFC 7009) in turn; resolves to null when every token no
 * longer works, else to the first failure's code (and stops there).
 */
async function revokeAll(core, requests, { fetchImpl, revokeEndpoint, timeoutMs, key }) {
  for (const request of requests) {
    const response = await call(fetchImpl, revokeEndpoint, postOf(request), timeoutMs);
    try {
      core.parseRevokeResponse(response.status, response.body, key);
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
 * One provider's access tokens for one app's backend process. The refresh decisions
 * (which token to send, what a rotation becomes) and the refresh tokens themselves live
 * in the core's per-user states; this keeps access tokens: userId -> { accessToken,
 * expiresAt, scope, missingScopes, refreshTokenExpiresAt, unsaved }, `unsaved` true while
 * a rotation waits to be stored.
 */
class ProviderTokens {
  /**
   * @param {object} core
   * @param {object} o     the common options (tokensOptions)
   * @param {object} p     this provider's options (providerOptions)
   * @param {object|null} mgmt the Management API client, shared by every provider
   */
  constructor(core, o, p, mgmt) {
    this.core = core;
    this.o = o;
    this.p = p;
    this.key = p.key;
    this.mgmt = mgmt;
    this.shared = o.store
      ? sharedState(o.store, { core, keys: o.keys, provider: p.key, timeoutMs: o.storeTimeoutMs, onNotice: o.onNotice })
      : null;
    this.entries = new Map(); // userId -> the access token entry, least recently used first
    this.maxUsers = constantsOf(core).maxUsers;
    this.flights = singleFlights(); // one refresh (or save) at a time per user
    this.endpoints = null;
    this.states = null;
    this.resolving = null;
    this.failedUntil = 0;
    this.failure = null;
    // A configuration fault throws here: everything is checked now but what only the
    // issuer's discovery document can say, which the first call fetches.
    this.discoveryUrl = core.discoveryUrl(p.key, p.endpointOptions);
    if (this.discoveryUrl == null) this.use(core.resolveEndpoints(p.key, p.endpointOptions, null));
  }

  /** Takes the resolved endpoints, and the core's per-user states for this client. */
  use(endpoints) {
    this.endpoints = endpoints;
    this.states = this.core.refreshStates({
      provider: this.key,
      clientId: this.p.clientId,
      clientSecret: this.p.clientSecret,
      tokenEndpointAuthMethod: endpoints.tokenEndpointAuthMethod,
      scope: endpoints.scope,
    });
  }

  /**
   * Resolves the endpoints from the issuer's discovery document, once. The core judges
   * the answer. A failure is kept for DISCOVERY_RETRY_MS, during which calls fail fast
   * with its code; the next call after that tries again.
   */
  async ready() {
    if (this.states) return;
    if (this.o.now() < this.failedUntil) throw failure(this.failure, 'the discovery document was not usable a moment ago');
    if (!this.resolving) {
      this.resolving = (async () => {
        const answer = await call(this.o.fetchImpl, this.discoveryUrl, { headers: { accept: 'application/json' } }, this.o.timeoutMs);
        try {
          this.use(this.core.resolveEndpoints(this.key, this.p.endpointOptions, { status: answer.status, body: answer.body }));
        } catch (error) {
          this.failure = (error && error.code) || 'ERR_DISCOVERY_INVALID';
          this.failedUntil = this.o.now() + DISCOVERY_RETRY_MS;
          throw error;
        }
      })().finally(() => { this.resolving = null; });
    }
    await this.resolving;
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
    const missingScopes = this.core.missingScopes(scope, this.p.requiredScopes);
    const entry = { accessToken, expiresAt, scope, refreshTokenExpiresAt, missingScopes, unsaved };
    // Bounded as the core bounds its refresh states (providerTable().defaultMaxUsers):
    // a Map keeps insertion order, and an entry is moved to the end when stored or used,
    // so the first key is the least recently used.
    this.entries.delete(userId);
    this.entries.set(userId, entry);
    while (this.entries.size > this.maxUsers) this.entries.delete(this.entries.keys().next().value);
    return entry;
  }

  /**
   * Stores the user's rotation, if one waits: the sealed successor in place of the value
   * it replaces, through saveSealed(userId, sealed, replaces, provider), whose third
   * argument lets the app compare-and-set, or through the Management API, which writes
   * only while the stored value is still `replaces`. A failure leaves it waiting (and
   * rejects).
   */
  async storeRotation(userId) {
    const unsaved = this.states.unsaved(userId);
    if (unsaved === null) return;
    let stored = true;
    if (typeof this.o.saveSealed === 'function') {
      try {
        stored = (await this.o.saveSealed(userId, unsaved.sealed, unsaved.replaces, this.key)) !== false;
      } catch {
        throw failure('ERR_SAVE_FAILED', 'saveSealed failed to store the rotated refresh token');
      }
    } else if (this.mgmt) {
      stored = await this.mgmt.setSealed(userId, this.key, unsaved.sealed, unsaved.replaces);
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
    const { keys, fetchImpl, timeoutMs } = this.o;
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
    const response = await call(fetchImpl, this.endpoints.tokenEndpoint, postOf(this.states.refreshRequest(userId)), timeoutMs);
    if (response.status === 0) {
      // No answer: the core's state for the user is no longer under way (it may be
      // forgotten again under the memory bound); its reading of status 0 is this error.
      try {
        this.states.finish(userId, 0, '', keys, this.nowSeconds());
      } catch {
        // ERR_PROVIDER_UNAVAILABLE, as thrown below
      }
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
      // A successful answer whose other members were unusable may still carry the
      // rotated refresh token, which the core has sealed: the provider consumed the one
      // it was sent, so it is stored now (a failed save is retried first thing on the
      // next call, as always).
      if (this.states.unsaved(userId) !== null) await this.storeRotation(userId).catch(() => {});
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
   * A valid access token of this provider for the user: the cached one, or a new one
   * from one shared refresh. Resolves to { accessToken, expiresAt (epoch seconds), scope,
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
    const hit = this.fresh(cached);
    if (hit) {
      // Used now: moved to the end of the entries' order (the last to be forgotten).
      this.entries.delete(userId);
      this.entries.set(userId, cached);
    }
    const entry = hit ? cached : await this.flights.once(userId, async () => {
      await this.ready();
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
   * Removes app_metadata.sealed_refresh_tokens[<key>] through the Management API (other
   * providers' entries are kept; sealed_refresh_tokens becomes null when none is left),
   * leaving its capture record under app_metadata.tokenseal.cleared and, for Google,
   * deleting the old rule's plaintext token (the core's planClear), so the next login's
   * claim says "missing" until a token Auth0 received since. Resolves to true when something was
   * removed. Never called by this module itself.
   */
  async clearSealed(userId) {
    if (!this.mgmt) throw failure('ERR_CONFIG_INCOMPLETE', 'clearSealed needs management');
    if (typeof userId !== 'string' || userId === '') throw failure('ERR_USER_ID_INVALID', 'clearSealed needs a user id');
    await this.drop(userId);
    return this.mgmt.clearSealed(userId, this.key);
  }

  /**
   * Disconnects the user from the provider: revokes every refresh token the user may
   * still hold at the revocation endpoint (RFC 7009; Google revokes the whole grant),
   * then removes the sealed value as clearSealed does. When the revocation fails
   * (ERR_PROVIDER_UNAVAILABLE, ERR_CLIENT_REJECTED, ...), or the provider has no
   * revocation endpoint (ERR_CONFIG_INCOMPLETE: Entra ID, Bitbucket), it rejects with
   * that code and clears nothing, unless `clearOnRevokeFailure` asks to clear anyway;
   * the result then reports the code. Resolves to { revoked, cleared, code? }.
   * @param {{ user_id: string, app_metadata?: object } | string} userOrId
   * @param {{ clearOnRevokeFailure?: boolean }} [options]
   */
  async disconnect(userOrId, options = {}) {
    if (!this.mgmt) throw failure('ERR_CONFIG_INCOMPLETE', 'disconnect needs management to clear the sealed value');
    await this.ready();
    const { keys } = this.o;
    const user = await resolveUser(userOrId, this.o.loadUser, this.mgmt);
    const userId = user.user_id;
    const pending = this.flights.pending(userId);
    if (pending) await pending.catch(() => {});
    let requests = [];
    let code = null;
    try {
      requests = this.states.revokeRequests(userId, user.app_metadata == null ? {} : user.app_metadata, keys);
    } catch (error) {
      code = (error && error.code) || 'ERR_DECRYPT'; // a stored value that does not open cannot be revoked
    }
    const revokeEndpoint = this.endpoints.revokeEndpoint;
    if (code === null && requests.length > 0 && revokeEndpoint === null) code = 'ERR_CONFIG_INCOMPLETE';
    if (code === null) code = await revokeAll(this.core, requests, { ...this.o, revokeEndpoint, key: this.key });
    if (code !== null && options.clearOnRevokeFailure !== true) {
      throw failure(code, 'the provider did not confirm the revocation; nothing was cleared');
    }
    await this.drop(userId);
    const cleared = await this.mgmt.clearSealed(userId, this.key);
    return code === null ? { revoked: requests.length > 0, cleared } : { revoked: false, cleared, code };
  }

  /**
   * Drops what this process caches for a user (for example after the user logged out).
   * A grant in the shared store stays (other replicas use it until it expires);
   * clearSealed and disconnect drop that too.
   */
  forget(userId) {
    this.entries.delete(userId);
    // A refresh under way finishes first: its answer may carry a rotation only the core's
    // state for the user can seal (and this process must store).
    const pending = this.flights.pending(userId);
    const forgetState = () => { if (this.states) this.states.forget(userId); };
    if (pending) {
      pending.then(() => { this.entries.delete(userId); forgetState(); }, forgetState);
    } else {
      forgetState();
    }
  }
}

/** The configured providers' tokens, by key, with the one Management API client. */
function providerTokens(core, options) {
  // A provider that rotates refresh tokens consumes the old one at each refresh: a
  // rotation kept only in this process's memory is lost at its next restart, and the
  // user must consent again. Refused here, not discovered then.
  if (typeof options.saveSealed !== 'function' && !options.management) {
    for (const p of options.providers) {
      if (core.providerInfo(p.key).rotates) {
        throw failure('ERR_CONFIG_INCOMPLETE', `"${p.key}" rotates refresh tokens: give saveSealed or management, so that a rotation outlives this process`);
      }
    }
  }
  const mgmt = options.management ? managementClient(core, options.management, options.fetchImpl, options.now, options.timeoutMs) : null;
  return new Map(options.providers.map((p) => [p.key, new ProviderTokens(core, options, p, mgmt)]));
}

function bind(coreOrLoader) {
  const getCore = typeof coreOrLoader === 'function' ? coreOrLoader : () => coreOrLoader;

  /**
   * Opens a sealed value: the JWE itself, or the user's app_metadata (the provider's
   * entry of sealed_refresh_tokens is read there; default "google-oauth2"). Throws the
   * core's coded errors.
   */
  function openSealed(source, keySetJson, userId, provider) {
    return getCore().open(source, keySetJson, userId, provider);
  }

  /**
   * Access tokens of every configured provider for the app's backend.
   * @param {object} o
   * @param {string} o.keys           the JWK Set (TOKENSEAL_KEYS)
   * @param {Record<string, object>} o.providers  by key ("google-oauth2", "waad",
   *        "bitbucket", or a custom connection's name): { clientId, clientSecret,
   *        tokenEndpoint?, issuer?, revokeEndpoint?, scope?, tokenEndpointAuthMethod?,
   *        requiredScopes? }. tokenEndpoint and revokeEndpoint default to the issuer's
   *        discovery document, then to the provider's own; scope is sent with every
   *        refresh (Entra ID needs it)
   * @param {(userId: string, sealedJwe: string, replaces: string, provider: string) => Promise<boolean | void>} [o.saveSealed]
   * @returns {{ accessToken, clearSealed, disconnect, forget, reconsentAuthorizeParams }}
   *        each taking the provider's key after the user (optional with one provider);
   *        every other option is createGoogleTokens's
   */
  function createTokens(o) {
    if (!o || typeof o !== 'object') throw new TypeError('createTokens needs an options object');
    const core = o.core || getCore();
    const all = providerTokens(core, tokensOptions('createTokens', o, constantsOf(core)));
    const only = all.size === 1 ? [...all.keys()][0] : undefined;
    const of = (provider) => {
      const key = provider === undefined ? only : provider;
      const tokens = all.get(key);
      if (!tokens) throw failure('ERR_CONFIG_INVALID', 'that provider is not configured (name it when more than one is)');
      return tokens;
    };
    const rejecting = (run) => {
      try {
        return run();
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return {
      accessToken: (userOrId, provider) => rejecting(() => of(provider).accessToken(userOrId)),
      clearSealed: (userId, provider) => rejecting(() => of(provider).clearSealed(userId)),
      disconnect: (userOrId, provider, options) => rejecting(() => of(provider).disconnect(userOrId, options)),
      /** Forgets the user for one provider, or for all of them. */
      forget: (userId, provider) => {
        for (const tokens of provider === undefined ? all.values() : [of(provider)]) tokens.forget(userId);
      },
      /** (provider?, options?) or (options): provider is optional with one configured. */
      reconsentAuthorizeParams: (provider, options) => (isPlainObject(provider)
        ? reconsentAuthorizeParams(core, of(undefined).key, provider)
        : reconsentAuthorizeParams(core, of(provider).key, options)),
    };
  }

  /**
   * Google access tokens for the app's backend: createTokens with Google alone.
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
   * @returns {{ accessToken, clearSealed, disconnect, forget }} see ProviderTokens
   */
  function createGoogleTokens(o) {
    if (!o || typeof o !== 'object') throw new TypeError('createGoogleTokens needs an options object');
    const core = o.core || getCore();
    const { clientId, clientSecret, tokenEndpoint, revokeEndpoint, requiredScopes, providers: ignored, ...common } = o;
    const google = { clientId, clientSecret, tokenEndpoint, revokeEndpoint, requiredScopes };
    const options = tokensOptions('createGoogleTokens', { ...common, providers: { [GOOGLE]: google } }, constantsOf(core));
    const tokens = providerTokens(core, options).get(GOOGLE);
    return {
      accessToken: (userOrId) => tokens.accessToken(userOrId),
      clearSealed: (userId) => tokens.clearSealed(userId),
      disconnect: (userOrId, options) => tokens.disconnect(userOrId, options),
      forget: (userId) => tokens.forget(userId),
    };
  }

  return {
    openSealed,
    createTokens,
    createGoogleTokens,
    /** See the module-level reconsentAuthorizeParams: (provider?, options?) or (options). */
    reconsentAuthorizeParams: (provider, options) => reconsentAuthorizeParams(getCore(), provider, options),
  };
}

module.exports = {
  ...bind(loadDefaultCore),
  redisStore,
  memoryStore,
  /** The same API over another core (tests, or a core loaded some other way). */
  withCore: bind,
};

// tokenseal: the Auth0 post-login Action adapter.
//
// scripts/bundle.mjs builds dist/action.js from this file and the core: it defines
// `loadCore()` above this code, which resolves to the tokenseal core (the WebAssembly
// module, compiled in the background from the moment the file is loaded, instantiated
// once per Action instance) or rejects where WebAssembly is unavailable, and
// `dropCore()`, which forgets an instance that trapped, `httpCall`, `judged` and
// `withToken` from js-shim/http.js, and `log`, `codeOf`, `deniesWithoutCore`,
// `settingsCache`, `narrowUser` and `narrowQuery` from js-shim/common.js.
//
// Every decision comes from the core (planLogin, actionConfig, judgeResponse,
// tokenCacheTtlMs). This file only moves data between Auth0's event/api objects, the
// Management API and the core, and never logs more than a code: no token, key, client
// secret or Management API token ever reaches the console.

/**
 * One HTTP call that ends by `deadline`: its timeout is the smaller of the per-call
 * timeout and the budget left, and no call starts with less than `minCallMs` left.
 * `httpCall` (js-shim/http.js, inlined by the bundle) refuses redirects and never
 * rejects.
 */
function call(url, init, management, deadline) {
  const timeoutMs = Math.min(management.timeoutMs, deadline - Date.now());
  if (timeoutMs < management.minCallMs) return Promise.resolve({ status: 0, retryAfter: null, rateLimitReset: null, body: '', timedOut: true });
  return httpCall(fetch, url, init, timeoutMs);
}

/**
 * A Management API token: from api.cache, or by the client-credentials grant. Every
 * Action of the trigger can read api.cache, so the token (which can read every user's
 * IdP tokens) is cached only sealed under a key derived from TOKENSEAL_KEYS and bound to
 * its cache key; an entry that does not open (rotated keys, another Action's write) is
 * dropped and a new token fetched.
 */
async function managementToken(core, management, keys, cache, budgetEndsAt) {
  const cached = cache.get(management.cacheKey);
  if (cached && typeof cached.value === 'string') {
    try {
      return { token: core.openCacheEntry(cached.value, keys, management.cacheKey), fromCache: true };
    } catch {
      cache.delete(management.cacheKey);
    }
  }
  const result = await judged(
    core,
    () =>
      call(
        management.tokenUrl,
        clientCredentialsRequest(management),
        management,
        budgetEndsAt,
      ),
    { budgetEndsAt, cachedToken: () => false, onReauthenticate: async () => ({}) },
  );
  if (result.code) return result;
  const token = result.body && result.body.access_token;
  if (typeof token !== 'string' || token.length === 0) return { code: 'ERR_MGMT_RESPONSE' };
  // A token that cannot read the user, or cannot see IdP tokens in it, is not used: a
  // read with it would look like "no token" and be recorded as such. Nor is it cached,
  // so that the grant, once fixed, takes effect at the next login (tokens for Auth0's own
  // APIs do not count toward the M2M quota).
  const scopeNotice = core.tokenScopeNotice(result.body.scope);
  if (scopeNotice) return { code: scopeNotice };
  const ttl = core.tokenCacheTtlMs(result.body.expires_in);
  if (ttl > 0) {
    try {
      cache.set(management.cacheKey, core.sealCacheEntry(token, keys, management.cacheKey), { ttl });
    } catch {
      // No usable key ring (or a token of an odd shape): the token is not cached.
    }
  }
  return { token, fromCache: false };
}

/** GET /api/v2/users/{id}: the user with its IdP tokens. Resolves to { user } or { code }. */
async function readUser(core, management, budgetMs, keys, userId, cache) {
  const budgetEndsAt = Date.now() + budgetMs;
  const result = await withToken(
    core,
    {
      getToken: () => managementToken(core, management, keys, cache, budgetEndsAt),
      dropToken: () => cache.delete(management.cacheKey),
      budgetEndsAt,
    },
    (token) => call(management.usersUrl + encodeURIComponent(userId), { headers: { authorization: `Bearer ${token}` } }, management, budgetEndsAt),
  );
  if (result.code) return result;
  if (!result.body || typeof result.body !== 'object' || Array.isArray(result.body)) return { code: 'ERR_MGMT_RESPONSE' };
  return { user: result.body };
}

/** The core's reading of the secrets and its field list, for this instance. Kept when a
 * trapped core is dropped (dropCore): it is plain data, the same from any instance of
 * the same module. */
const settingsMemo = settingsCache();

/** The time the latest `federated` method was recorded in this session, in seconds (the
 * event gives ISO 8601 strings), or null. */
function federatedAt(event) {
  const methods = event.authentication && event.authentication.methods;
  if (!Array.isArray(methods)) return null;
  // The latest, if the session records more than one.
  let latest = NaN;
  for (const m of methods) {
    if (!m || m.name !== 'federated') continue;
    const at = typeof m.timestamp === 'number' ? m.timestamp : Date.parse(m.timestamp);
    if (Number.isFinite(at) && at >= 0 && !(at <= latest)) latest = at;
  }
  return Number.isFinite(latest) ? Math.floor(latest / 1000) : null;
}

/** Carries out a plan: metadata writes, claims. */
function apply(plan, api) {
  for (const write of plan.metadataWrites) api.user.setAppMetadata(write.key, write.value);
  for (const claim of plan.claims) api.idToken.setCustomClaim(claim.name, claim.value);
}

exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  let core;
  try {
    core = await loadCore();
  } catch {
    // Without the core nothing can be decided; the one setting read here is whether to
    // deny, because that is the admin's explicit instruction for any failure.
    log(['ERR_WASM_UNAVAILABLE']);
    if (deniesWithoutCore(secrets)) api.access.deny('tokenseal: ERR_WASM_UNAVAILABLE');
    return;
  }

  const codes = [];
  let config = { read: 'auto', providers: null, claimNamespace: null, denyOnError: false, management: null, recheckSeconds: null };
  try {
    config = settingsMemo.config(core, secrets);
    codes.push(...config.notices);
    const fields = settingsMemo.fields(core);
    const input = {
      // Only what the decision reads. An Action cannot change what the client sees
      // through event.user, so no shape is sent and no removals come back.
      user: narrowUser(event.user, fields),
      connectionStrategy: (event.connection && event.connection.strategy) || null,
      connectionName: (event.connection && event.connection.name) || null,
      providers: config.providers,
      loginsCount: (event.stats && event.stats.logins_count) ?? null,
      authorizeQuery: narrowQuery(event.request && event.request.query, fields),
      transactionPrompt: (event.transaction && [].concat(event.transaction.prompt || [])) || null,
      protocol: (event.transaction && event.transaction.protocol) || null,
      federatedAt: federatedAt(event),
      read: config.read,
      claimNamespace: config.claimNamespace,
      recheckSeconds: config.recheckSeconds,
    };
    let plan = core.planLogin(input, secrets.TOKENSEAL_KEYS);
    let failed = false;
    if (plan.readUser) {
      const read = config.management
        ? await readUser(core, config.management, config.callBudgetMs, secrets.TOKENSEAL_KEYS, event.user.user_id, api.cache)
        : { code: 'ERR_CONFIG_INCOMPLETE' };
      if (read.user) {
        try {
          plan = core.planLogin({ ...input, freshUser: narrowUser(read.user, fields) }, secrets.TOKENSEAL_KEYS);
        } catch (error) {
          codes.push(codeOf(error)); // a malformed read: the first plan still stands
          if (codeOf(error) === 'ERR_INTERNAL') dropCore();
          failed = true;
        }
      } else {
        codes.push(read.code);
        failed = true;
      }
    }
    apply(plan, api);
    codes.push(...plan.notices);
    if (failed && config.denyOnError) api.access.deny(`tokenseal: ${codes.join(' ')}`.slice(0, 200));
  } catch (error) {
    codes.push(codeOf(error));
    // The core throws coded errors; anything else may be a trap, after which the
    // instance must not be used again.
    if (codeOf(error) === 'ERR_INTERNAL') dropCore();
    if (config.denyOnError) api.access.deny(`tokenseal: ${codeOf(error)}`);
  } finally {
    log(codes);
  }
};

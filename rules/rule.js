// tokenseal: the legacy Auth0 Rule adapter.
//
// scripts/bundle.mjs builds dist/rule.js, one function expression
// `function (user, context, callback) { ... }`, from the core and this file, which is the
// end of that function's body: `user`, `context` and `callback` are the rule's own
// parameters, and `loadCore()` (defined above this code) returns `{ core, settingsMemo }`:
// the tokenseal core, instantiated once per container and kept on globalThis, and its
// reading of the settings (settingsCache: asked again only when the configuration
// changes); it throws where WebAssembly (or require, or crypto) is unavailable. Auth0
// provides `configuration` (the rule's settings) and `auth0` (its Management API client)
// as free variables of the rule.
//
// Every decision comes from the core: actionConfig reads the settings, planLogin decides
// the login (with read: "never": a rule sees user.identities[].refresh_token directly,
// so there is nothing to fetch) and what to remove from the user before it is handed on.
// This file only moves data between the rule's arguments, one
// auth0.users.updateAppMetadata call and the core, and logs codes, never a token, a key
// or an error message. `log`, `codeOf`, `deniesWithoutCore`, `settingsCache`,
// `isObject`, `narrowUser` and `narrowQuery` come from js-shim/common.js (inlined by the
// bundle). The removals the core decides are applied here by building copies (identity
// objects may be frozen).

/**
 * The core throws errors with an ERR_ code; anything else is a trap (a WebAssembly
 * RuntimeError, e.g. from a panic), after which the instance must not be used again: it
 * is dropped from the cache, with its reading of the settings, so the next run in this
 * container instantiates a fresh one, and the caller stops using it for the rest of this
 * run. Returns true for a trap.
 */
function tokensealDropBrokenCore(error) {
  if (codeOf(error) !== 'ERR_INTERNAL') return false;
  globalThis.__tokensealCore = undefined;
  return true;
}

// FALLBACK REMOVALS, used only when the core is unavailable (no WebAssembly) or failed:
// every field the core's rule (src/sanitize.rs) can remove, whatever the user holds, so
// the user is handed on without tokens even then. src/sanitize.rs stays the reference;
// a test holds this list to it.
const TOKENSEAL_IDENTITY_SECRETS = ['access_token', 'refresh_token', 'access_token_secret', 'id_token',
  'expires_in', 'expires_at', 'refresh_token_expires_in', 'refresh_token_expires_at'];
const TOKENSEAL_APP_METADATA_SECRETS = ['sealed_refresh_tokens', 'refresh_token'];
const TOKENSEAL_ROOT_SECRETS = ['refresh_token', 'access_token', 'id_token', 'access_token_secret', 'sealed_refresh_tokens'];
function tokensealFallbackRemovals(user) {
  const root = TOKENSEAL_ROOT_SECRETS.slice();
  if (user.identities != null && !Array.isArray(user.identities)) root.push('identities');
  if (user.app_metadata != null && !isObject(user.app_metadata)) root.push('app_metadata');
  return {
    root,
    identities: Array.isArray(user.identities) ? user.identities.map((id) => (isObject(id) ? TOKENSEAL_IDENTITY_SECRETS : null)) : null,
    appMetadata: TOKENSEAL_APP_METADATA_SECRETS,
  };
}

/** The member names of a user, for the core to decide what to remove (no values). */
function userShape(user) {
  const kind = (value, names) => (value === undefined || value === null ? null : names(value));
  return {
    root: Object.keys(user),
    identities: kind(user.identities, (ids) => (Array.isArray(ids) ? ids.map((id) => (isObject(id) ? Object.keys(id) : null)) : 'other')),
    appMetadata: kind(user.app_metadata, (md) => (isObject(md) ? Object.keys(md) : 'other')),
  };
}

/**
 * A copy of `user` without what `removals` (from the core) lists: root members, identity
 * entries (null) or their members, app_metadata members. Nothing is changed in place, and
 * a member nothing is removed from stays the very same object, so a caller can tell what
 * changed by identity (`clean.identities !== user.identities`) without comparing contents.
 */
function withoutRemovals(user, removals) {
  const without = (object, names) => {
    if (!names.some((name) => Object.prototype.hasOwnProperty.call(object, name))) return object;
    const copy = Object.assign({}, object);
    for (const name of names) delete copy[name];
    return copy;
  };
  const clean = Object.assign({}, user);
  for (const name of removals.root) delete clean[name];
  if (removals.identities && Array.isArray(user.identities)) {
    const identities = [];
    user.identities.forEach((identity, i) => {
      const names = removals.identities[i];
      if (Array.isArray(names) && isObject(identity)) identities.push(without(identity, names));
    });
    const same = identities.length === user.identities.length && identities.every((identity, i) => identity === user.identities[i]);
    if (!same) clean.identities = identities;
  }
  if (removals.appMetadata && isObject(user.app_metadata)) clean.app_metadata = without(user.app_metadata, removals.appMetadata);
  return clean;
}

/**
 * Makes `user` (the object later rules and the ID token see) match the sanitized copy
 * `clean`: members the sanitizer changed are replaced by its copies, members it dropped
 * are deleted, and nothing is changed in place below the top level. withoutRemovals
 * keeps every member it did not change as the same object, so identity tells what
 * changed: no member is serialized to compare it (a user with megabytes of
 * user_metadata costs nothing here).
 */
function tokensealHandOn(user, clean) {
  for (const name of Object.keys(user)) {
    if (!Object.prototype.hasOwnProperty.call(clean, name)) delete user[name];
  }
  for (const name of Object.keys(clean)) {
    if (user[name] !== clean[name]) user[name] = clean[name];
  }
}

function tokensealRule(user, context, callback) {
  const settings = typeof configuration === 'object' && configuration !== null ? configuration : {};
  const codes = [];
  // Without the core nothing can be decided; the one setting read then is whether to
  // deny, because that is the admin's explicit instruction for any failure.
  let denyOnError = deniesWithoutCore(settings);
  let failed = false;
  let plan = null;
  let core = null;
  let settingsMemo = null;
  let writeBudgetMs = 0; // set with the plan, from the core's reading of the settings
  try {
    ({ core, settingsMemo } = loadCore());
  } catch {
    codes.push('ERR_WASM_UNAVAILABLE');
    failed = true;
  }
  if (core) {
    try {
      const config = settingsMemo.config(core, settings);
      denyOnError = config.denyOnError;
      writeBudgetMs = config.callBudgetMs;
      codes.push(...config.notices);
      const fields = settingsMemo.fields(core);
      const input = {
        user: narrowUser(user, fields),
        shape: userShape(user),
        connectionStrategy: typeof context.connectionStrategy === 'string' ? context.connectionStrategy : null,
        connectionName: typeof context.connection === 'string' ? context.connection : null,
        providers: config.providers,
        loginsCount: (context.stats && context.stats.loginsCount) ?? null,
        authorizeQuery: narrowQuery(context.request && context.request.query, fields),
        protocol: typeof context.protocol === 'string' ? context.protocol : null,
        read: 'never',
        claimNamespace: config.claimNamespace,
      };
      plan = core.planLogin(input, settings.TOKENSEAL_KEYS);
      codes.push(...plan.notices);
    } catch (error) {
      codes.push(codeOf(error));
      failed = true;
      plan = null;
      if (tokensealDropBrokenCore(error)) core = null;
    }
  }

  const userId = user.user_id;
  const appMetadata = user.app_metadata;
  let handOn = user;
  let finished = false;
  function finish(ok) {
    if (finished) return;
    finished = true;
    // The plan's claims describe the state after its write; if the write failed they
    // may not hold, so then no claim is set.
    if (ok && plan && plan.claims.length > 0) {
      if (typeof context.idToken !== 'object' || context.idToken === null) context.idToken = {};
      for (const claim of plan.claims) context.idToken[claim.name] = claim.value;
    }
    log(codes);
    if (!ok && denyOnError) {
      const reason = `tokenseal: ${codes.join(' ')}`.slice(0, 200);
      callback(typeof UnauthorizedError === 'function' ? new UnauthorizedError(reason) : new Error(reason));
      return;
    }
    callback(null, handOn, context);
  }

  // Hand on a user without tokens before anything else, whatever happened above: the
  // core's removals, or every field the rule can remove when there is no plan.
  try {
    const clean = withoutRemovals(user, (plan && plan.removals) || tokensealFallbackRemovals(user));
    handOn = clean;
    tokensealHandOn(user, clean);
    handOn = user;
  } catch {
    // The user object refused the change (a frozen user): the clean copy is what the
    // callback hands on, and the login goes on unless deny is configured.
    codes.push('ERR_INTERNAL');
    failed = true;
  }

  if (!plan || plan.metadataWrites.length === 0) {
    finish(!failed);
    return;
  }
  // One write of the whole app_metadata: the plan's writes merged into what is stored
  // (null deletes under the Management API's merge semantics), the rest kept.
  const merged = Object.assign({}, typeof appMetadata === 'object' && appMetadata !== null ? appMetadata : {});
  for (const write of plan.metadataWrites) merged[write.key] = write.value;
  // Bounded by the core's budget for Management API calls: a write that never settles
  // would otherwise hold the login until the chain's 20 s run out. One that settles
  // later is not waited for, and the claims are not set, as after a failed write.
  const timer = setTimeout(() => {
    if (finished) return;
    codes.push('ERR_MGMT_TIMEOUT');
    finish(false);
  }, writeBudgetMs);
  new Promise((resolve) => resolve(auth0.users.updateAppMetadata(userId, merged))).then(
    () => {
      clearTimeout(timer);
      finish(!failed);
    },
    () => {
      clearTimeout(timer);
      if (finished) return;
      codes.push('ERR_MGMT_FAILED');
      finish(false);
    },
  );
}

tokensealRule(user, context, callback);

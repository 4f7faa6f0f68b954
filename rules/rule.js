// tokenseal: the legacy Auth0 Rule adapter.
//
// scripts/bundle.mjs builds dist/rule.js, one function expression
// `function (user, context, callback) { ... }`, from the core and this file, which is the
// end of that function's body: `user`, `context` and `callback` are the rule's own
// parameters, and `loadCore()` (defined above this code) returns the tokenseal core,
// instantiated once per container and kept on globalThis, or throws where WebAssembly is
// unavailable. Auth0 provides `configuration` (the rule's settings) and `auth0` (its
// Management API client) as free variables of the rule.
//
// Every decision comes from the core: actionConfig reads the settings, planLogin decides
// the login (with read: "never": a rule sees user.identities[].refresh_token directly,
// so there is nothing to fetch), sanitize cleans a user the plan could not be made for.
// This file only moves data between the rule's arguments, one
// auth0.users.updateAppMetadata call and the core, and logs codes, never a token, a key
// or an error message.

/** One short log line of codes. */
function tokensealLog(codes) {
  if (codes.length > 0) console.log(`tokenseal: ${codes.join(' ')}`.slice(0, 256));
}

/** The stable code of an error thrown by the core, or a generic one. */
function tokensealCodeOf(error) {
  return error && typeof error.code === 'string' && error.code.startsWith('ERR_') ? error.code : 'ERR_INTERNAL';
}

/**
 * The core throws errors with an ERR_ code; anything else is a trap (a WebAssembly
 * RuntimeError, e.g. from a panic), after which the instance must not be used again. It is
 * dropped from the cache so the next run in this container instantiates a fresh one.
 */
function tokensealDropBrokenCore(error) {
  if (tokensealCodeOf(error) === 'ERR_INTERNAL') globalThis.__tokensealCore = undefined;
}

// FALLBACK SANITIZER, used only when the core is unavailable (no WebAssembly) or cannot
// read the user. It strips the same fields as the core's sanitizer (src/sanitize.rs,
// IDENTITY_SECRET_FIELDS and APP_METADATA_SECRET_FIELDS), which stays the reference, and
// like it drops what it cannot inspect. It builds copies: identity objects may be frozen.
const TOKENSEAL_IDENTITY_SECRETS = ['access_token', 'refresh_token', 'access_token_secret', 'id_token',
  'expires_in', 'expires_at', 'refresh_token_expires_in', 'refresh_token_expires_at'];
const TOKENSEAL_APP_METADATA_SECRETS = ['sealed_refresh_tokens', 'refresh_token'];
function tokensealFallbackSanitize(user) {
  const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
  const without = (object, fields) => {
    const copy = Object.assign({}, object);
    for (const field of fields) delete copy[field];
    return copy;
  };
  const clean = Object.assign({}, user);
  delete clean.identities;
  delete clean.app_metadata;
  if (Array.isArray(user.identities)) {
    clean.identities = user.identities.filter(isObject).map((identity) => without(identity, TOKENSEAL_IDENTITY_SECRETS));
  }
  if (isObject(user.app_metadata)) clean.app_metadata = without(user.app_metadata, TOKENSEAL_APP_METADATA_SECRETS);
  else if (user.app_metadata === null) clean.app_metadata = null;
  return clean;
}

/**
 * Makes `user` (the object later rules and the ID token see) match the sanitized copy
 * `clean`: members the sanitizer changed are replaced by its copies, members it dropped
 * are deleted, and nothing is changed in place below the top level.
 */
function tokensealHandOn(user, clean) {
  for (const name of Object.keys(user)) {
    if (!Object.prototype.hasOwnProperty.call(clean, name)) delete user[name];
  }
  for (const name of Object.keys(clean)) {
    if (JSON.stringify(user[name]) !== JSON.stringify(clean[name])) user[name] = clean[name];
  }
}

function tokensealRule(user, context, callback) {
  const settings = typeof configuration === 'object' && configuration !== null ? configuration : {};
  const codes = [];
  // Without the core nothing can be decided; the one setting read then is whether to
  // deny, because that is the admin's explicit instruction for any failure.
  let denyOnError = settings.TOKENSEAL_ON_ERROR === 'deny';
  let failed = false;
  let plan = null;
  let core = null;
  try {
    core = loadCore();
  } catch {
    codes.push('ERR_WASM_UNAVAILABLE');
    failed = true;
  }
  if (core) {
    try {
      const config = core.actionConfig(settings);
      denyOnError = config.denyOnError;
      codes.push(...config.notices);
      const input = { user, read: 'never', claimNamespace: config.claimNamespace };
      plan = core.planLogin(input, settings.TOKENSEAL_KEYS);
      codes.push(...plan.notices);
    } catch (error) {
      codes.push(tokensealCodeOf(error));
      failed = true;
      tokensealDropBrokenCore(error);
    }
  }

  const userId = user.user_id;
  // Sanitize before anything else, whatever happened above.
  let clean = plan && plan.sanitizedUser;
  if (!clean && core) {
    try {
      clean = core.sanitize(user);
    } catch (error) {
      codes.push(tokensealCodeOf(error));
      tokensealDropBrokenCore(error);
    }
  }
  tokensealHandOn(user, clean || tokensealFallbackSanitize(user));

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
    tokensealLog(codes);
    if (!ok && denyOnError) {
      const reason = `tokenseal: ${codes.join(' ')}`.slice(0, 200);
      callback(typeof UnauthorizedError === 'function' ? new UnauthorizedError(reason) : new Error(reason));
      return;
    }
    callback(null, user, context);
  }

  if (!plan || !plan.appMetadata) {
    finish(!failed);
    return;
  }
  // One write of the whole app_metadata the plan computed: the sealed value added, the
  // legacy plaintext set to null (deleted by the Management API's merge), the rest kept.
  new Promise((resolve) => resolve(auth0.users.updateAppMetadata(userId, plan.appMetadata))).then(
    () => finish(!failed),
    () => {
      codes.push('ERR_MGMT_FAILED');
      finish(false);
    },
  );
}

tokensealRule(user, context, callback);

'use strict';
// What the Action and the Rule adapters share: logging codes, keeping the core's reading
// of the settings, and building the narrow input of the core's login decision.
// scripts/bundle.mjs inlines this file into dist/action.js and dist/rule.js, each in a
// scope of its own.
//
// The core names the fields it reads (loginFields()); these helpers copy just those, so
// that nothing else of a user (megabytes of user_metadata, a lone UTF-16 surrogate in a
// name) crosses into the core.

/** One short log line of codes: Auth0 keeps 256 characters of each. */
function log(codes) {
  if (codes.length > 0) console.log(`tokenseal: ${codes.join(' ')}`.slice(0, 256));
}

/** The stable code of an error thrown by the core, or a generic one. */
function codeOf(error) {
  return error && typeof error.code === 'string' && error.code.startsWith('ERR_') ? error.code : 'ERR_INTERNAL';
}

/**
 * Whether the settings ask to deny a login on failure, for the one case the core cannot
 * say it (the core is not there: no WebAssembly). Read as the core reads every setting
 * (src/action.rs): `TOKENSEAL_ON_ERROR` is "deny", whitespace around it ignored.
 */
function deniesWithoutCore(settings) {
  const value = settings.TOKENSEAL_ON_ERROR;
  return typeof value === 'string' && value.replace(RUST_TRIMMED, '') === 'deny';
}

/** What Rust's str::trim removes (Unicode White_Space), which JavaScript's trim() does
 * not match exactly (it also removes U+FEFF and keeps U+0085). */
const RUST_TRIMMED = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/**
 * The core's reading of the settings (`actionConfig`) and its list of the fields it reads
 * (`loginFields`), asked again only when the settings change: an Action instance sees the
 * same secrets at every login, and a rule's container the same configuration, and asking
 * the core costs a crossing each. The settings' text is kept in this closure, never on an
 * object other code can read. `config(core, settings)` and `fields(core)` return what the
 * core returned; callers must not change it.
 */
function settingsCache() {
  let memo = { text: null, config: null };
  let fields = null;
  return {
    config(core, settings) {
      let text;
      try {
        text = JSON.stringify(settings);
      } catch {
        // Settings JSON cannot hold (a cycle, a BigInt): the core refuses them with its
        // coded error, as it did before this memo.
        return core.actionConfig(settings);
      }
      if (memo.text !== text) memo = { text, config: core.actionConfig(settings) };
      return memo.config;
    },
    fields(core) {
      if (!fields) fields = core.loginFields();
      return fields;
    },
  };
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (object, name) => Object.prototype.hasOwnProperty.call(object, name);

/** A copy of `object` with only the members named in `names` that it has. */
function pick(object, names) {
  const out = {};
  for (const name of names) if (own(object, name) && object[name] !== undefined) out[name] = object[name];
  return out;
}

/**
 * The user as the core reads it: the fields of `fields.user`, each identity reduced to
 * `fields.identity`, app_metadata to `fields.appMetadata`. Members of the wrong type are
 * passed as they are, so the core can refuse them with a typed error.
 */
function narrowUser(user, fields) {
  if (!isObject(user)) return user;
  const out = pick(user, fields.user);
  if (Array.isArray(out.identities)) {
    out.identities = out.identities.map((identity) => (isObject(identity) ? pick(identity, fields.identity) : identity));
  }
  if (isObject(out.app_metadata)) out.app_metadata = pick(out.app_metadata, fields.appMetadata);
  return out;
}

/** The /authorize query members the core reads, or null. */
function narrowQuery(query, fields) {
  return isObject(query) ? pick(query, fields.query) : null;
}

module.exports = { log, codeOf, deniesWithoutCore, settingsCache, isObject, narrowUser, narrowQuery };

'use strict';
// What the Action and the Rule adapters share: logging codes, keeping the core's reading
// of the settings, and building the narrow input of the core's login decision. scripts/bundle.mjs inlines this file into
// dist/action.js and dist/rule.js, each in a scope of its own.
//
// The core names the fields it reads (loginFields()); these helpers copy just those, so
// that nothing else of a user (megabytes of user_metadata, a lone UTF-16 surrogate in a
// name) crosses into the core, and the removals the core decides are applied here by
// building copies (identity objects may be frozen).

/** One short log line of codes: Auth0 keeps 256 characters of each. */
function log(codes) {
  if (codes.length > 0) console.log(`tokenseal: ${codes.join(' ')}`.slice(0, 256));
}

/** The stable code of an error thrown by the core, or a generic one. */
function codeOf(error) {
  return error && typeof error.code === 'string' && error.code.startsWith('ERR_') ? error.code : 'ERR_INTERNAL';
}

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
      const text = JSON.stringify(settings);
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

module.exports = { log, codeOf, settingsCache, narrowUser, narrowQuery, userShape, withoutRemovals };

'use strict';
// What the Action and the Rule adapters share: logging codes, the member names of a user
// (for the core to decide what to remove) and applying those removals by building copies
// (identity objects may be frozen). scripts/bundle.mjs inlines this file into
// dist/action.js and dist/rule.js, each in a scope of its own. (Which fields of a user
// the login decision reads is the core's business: planLogin copies only those.)

/** One short log line of codes: Auth0 keeps 256 characters of each. */
function log(codes) {
  if (codes.length > 0) console.log(`tokenseal: ${codes.join(' ')}`.slice(0, 256));
}

/** The stable code of an error thrown by the core, or a generic one. */
function codeOf(error) {
  return error && typeof error.code === 'string' && error.code.startsWith('ERR_') ? error.code : 'ERR_INTERNAL';
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

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
 * entries (null) or their members, app_metadata members. Nothing is changed in place.
 */
function withoutRemovals(user, removals) {
  const without = (object, names) => {
    const copy = Object.assign({}, object);
    for (const name of names) delete copy[name];
    return copy;
  };
  const clean = without(user, removals.root);
  if (removals.identities && Array.isArray(user.identities)) {
    clean.identities = [];
    user.identities.forEach((identity, i) => {
      const names = removals.identities[i];
      if (Array.isArray(names) && isObject(identity)) clean.identities.push(without(identity, names));
    });
  }
  if (removals.appMetadata && isObject(user.app_metadata)) clean.app_metadata = without(user.app_metadata, removals.appMetadata);
  return clean;
}

module.exports = { log, codeOf, userShape, withoutRemovals };

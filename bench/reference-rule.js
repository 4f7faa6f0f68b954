// The tokenseal Rule written in plain JavaScript on node:crypto, for bench/rule.mjs only:
// a yardstick for dist/rule.js, not a supported implementation. Like dist/rule.js it is
// one function expression, run by bench/rule.mjs as Auth0 runs a rule, with the free
// variables `configuration`, `auth0` and `require`.
//
// It keeps the Rule's contract with the decisions of bench/reference-action.cjs's
// planLogin (the same as the core's; bench/action.mjs checks them against the Action on
// its scenarios), read "never" (a rule sees the identities' tokens), and hands on the
// user without the fields src/sanitize.rs removes: the identity secrets, app_metadata's
// sealed values and legacy plaintext, and the root mirrors. One updateAppMetadata of the
// whole app_metadata when the plan writes, then the claims, then the callback.
function (user, context, callback) {
  const { planLogin } = require('./reference-action.cjs');
  const IDENTITY = ['access_token', 'refresh_token', 'access_token_secret', 'id_token', 'expires_in', 'expires_at', 'refresh_token_expires_in', 'refresh_token_expires_at'];
  const APP_METADATA = ['sealed_refresh_tokens', 'refresh_token'];
  const ROOT = ['refresh_token', 'access_token', 'id_token', 'access_token_secret', 'sealed_refresh_tokens'];
  const settings = configuration || {};
  let plan = null;
  const codes = [];
  try {
    plan = planLogin({
      user,
      connectionStrategy: context.connectionStrategy,
      loginsCount: context.stats && context.stats.loginsCount,
      authorizeQuery: context.request && context.request.query,
      protocol: context.protocol,
      read: 'never',
      claimNamespace: settings.TOKENSEAL_CLAIM_NAMESPACE || null,
    }, settings.TOKENSEAL_KEYS);
    codes.push(...plan.notices);
  } catch (error) {
    codes.push(error && error.code ? error.code : 'ERR_INTERNAL');
  }
  const appMetadata = user.app_metadata;
  // Hand on a user without tokens, whatever happened above.
  for (const name of ROOT) delete user[name];
  if (Array.isArray(user.identities)) {
    user.identities = user.identities.map((identity) => {
      const clean = { ...identity };
      for (const name of IDENTITY) delete clean[name];
      return clean;
    });
  }
  if (appMetadata && typeof appMetadata === 'object') {
    const clean = { ...appMetadata };
    for (const name of APP_METADATA) delete clean[name];
    user.app_metadata = clean;
  }
  const finish = (ok) => {
    if (ok && plan) for (const claim of plan.claims) context.idToken[claim.name] = claim.value;
    if (codes.length) console.log(`tokenseal: ${codes.join(' ')}`);
    callback(null, user, context);
  };
  if (!plan || plan.metadataWrites.length === 0) {
    finish(true);
    return;
  }
  const merged = { ...(appMetadata || {}) };
  for (const write of plan.metadataWrites) merged[write.key] = write.value;
  auth0.users.updateAppMetadata(user.user_id, merged).then(() => finish(true), () => {
    codes.push('ERR_MGMT_FAILED');
    finish(false);
  });
}

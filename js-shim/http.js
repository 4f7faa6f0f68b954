'use strict';
// The HTTP helpers of the JavaScript adapters (the Action and the backend module):
// scripts/bundle.mjs inlines it into dist/action.js; js-shim/backend.js requires it.

/**
 * One HTTP call with a timeout. Redirects are refused: a redirect could carry a client
 * secret (in the body) or a bearer token to another origin. Never rejects: status 0
 * means no response, with `timedOut` telling why. Nothing of the request or of a
 * network error is kept.
 */
async function call(fetchImpl, url, init, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchImpl(url, { ...init, redirect: 'error', signal: controller.signal });
    const body = await response.text();
    const header = (name) => response.headers.get(name);
    return { status: response.status, retryAfter: header('retry-after'), rateLimitReset: header('x-ratelimit-reset'), body, timedOut: false };
  } catch {
    return { status: 0, retryAfter: null, rateLimitReset: null, body: '', timedOut: controller.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}

/** The fetch init of a client-credentials token request (RFC 6749 §4.4) for the Auth0
 * Management API. */
function clientCredentialsRequest({ clientId, clientSecret, audience }) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, audience }),
  };
}

/** JSON.parse that gives undefined instead of throwing. */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Makes a call as often as the core's verdicts (judgeResponse) say: once, or once more
 * after a wait, or once more after `onReauthenticate` (which resolves to `{}` to go on or
 * `{ code }` to stop). Terminates: the core grants one retry or one re-authentication
 * per call, then fails. Resolves to `{ body }` (parsed JSON) or `{ code }`.
 */
async function judged(core, request, { budgetEndsAt, cachedToken, onReauthenticate }) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await request();
    const verdict = core.judgeResponse({
      status: response.status,
      timedOut: response.timedOut,
      retryAfter: response.retryAfter,
      rateLimitReset: response.rateLimitReset,
      attempt,
      remainingMs: Math.max(0, budgetEndsAt - Date.now()),
      cachedToken: cachedToken(),
    });
    if (verdict.action === 'done') return { body: parseJson(response.body) };
    if (verdict.action === 'fail') return { code: verdict.code };
    if (verdict.action === 'retry') await sleep(verdict.waitMs);
    if (verdict.action === 'reauthenticate') {
      const renewed = await onReauthenticate();
      if (renewed.code) return renewed;
    }
  }
}

/**
 * A call made with a bearer token, as the core's verdicts say: `getToken()` resolves to
 * `{ token, fromCache }` or `{ code }`, `request(token)` makes the call, and a refused
 * token that came from a cache is dropped (`dropToken()`) and replaced once. The Action
 * and the backend module share this flow. Resolves to `{ body }` or `{ code }`.
 */
async function withToken(core, { getToken, dropToken, budgetEndsAt }, request) {
  let auth = await getToken();
  if (auth.code) return auth;
  return judged(core, () => request(auth.token), {
    budgetEndsAt,
    cachedToken: () => auth.fromCache,
    onReauthenticate: async () => {
      dropToken();
      auth = await getToken();
      return auth.code ? auth : {};
    },
  });
}

module.exports = { call, clientCredentialsRequest, judged, parseJson, withToken };

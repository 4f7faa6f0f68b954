'use strict';
// The one HTTP helper of the JavaScript adapters (the Action and the backend module):
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
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body, timedOut: false };
  } catch {
    return { status: 0, retryAfter: null, body: '', timedOut: controller.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}

/** JSON.parse that gives undefined instead of throwing. */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

module.exports = { call, parseJson };

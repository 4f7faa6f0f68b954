'use strict';
// Local stand-in for the parts of Auth0's Authentication API (client-credentials
// grant) and Management API v2 (users) that tokenseal touches. Plain node:http
// on 127.0.0.1, port 0. Doc paths are in auth0/docs-v2 under main/docs/;
// ASSUMPTION marks behaviour the docs leave open.

const http = require('node:http');
const crypto = require('node:crypto');
const { mergeTopLevel } = require('./actions.cjs');

const TOKEN_TTL_S = 86400;
// secure/tokens/access-tokens/identity-provider-access-tokens: IdP tokens sit in
// identities[] and are returned only with read:user_idp_tokens.
// ASSUMPTION: these three are the token-bearing identity fields.
const IDP_TOKEN_FIELDS = ['access_token', 'refresh_token', 'access_token_secret'];
// manage-users/user-search/view-search-results-by-page: at most 1000 users
// reachable by paging; 50 per page when not set. Per-page maximum 100 and the
// 400 bodies below are as Auth0 returns them (seen in auth0/node-auth0#648,
// #1246 and auth0/auth0.net#979).
const SEARCH_MAX_RESULTS = 1000;
const PER_PAGE_MAX = 100;
const PER_PAGE_DEFAULT = 50;

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

function createStore(users, now) {
  const byId = new Map();
  const tokens = new Map(); // access_token -> { clientId, scopes, exp }
  const put = (u) => {
    if (!u || typeof u.user_id !== 'string') throw new TypeError('every user needs a string user_id');
    byId.set(u.user_id, { app_metadata: {}, user_metadata: {}, identities: [], logins_count: 0, ...clone(u) });
  };
  users.forEach(put);
  const must = (id) => {
    const u = byId.get(id);
    if (!u) throw new Error(`no user ${id} in the stand-in store`);
    return u;
  };
  const touch = (u) => { u.updated_at = new Date(now()).toISOString(); };
  return {
    tokens,
    addUser: put,
    hasUser: (id) => byId.has(id),
    getUser: (id) => clone(byId.get(id)),
    listUsers: () => [...byId.values()].map(clone),
    // PATCH semantics (manage-users/user-accounts/metadata/manage-metadata-api):
    // root-level properties merge, null deletes one, {} empties the metadata.
    updateUser(id, patch) {
      const u = must(id);
      for (const k of ['app_metadata', 'user_metadata']) {
        if (patch[k] === undefined) continue;
        u[k] = Object.keys(patch[k] || {}).length === 0 ? {} : mergeTopLevel(u[k], patch[k]);
      }
      touch(u);
      return clone(u);
    },
    // What Auth0 does at login with a social connection: keep the IdP tokens on
    // the identity. Never erase a refresh token with nothing (AUTH0-FACTS,
    // Google: later logins usually bring none).
    // ASSUMPTION: Auth0 keeps the old refresh_token when the IdP sends none.
    setIdpTokens(id, connection, idpTokens) {
      const u = must(id);
      const ident = u.identities.find((i) => !connection || i.connection === connection);
      if (!ident) throw new Error(`user ${id} has no identity for ${connection}`);
      for (const [k, v] of Object.entries(idpTokens)) if (v !== undefined && v !== null) ident[k] = v;
      touch(u);
    },
    recordLogin(id) {
      const u = must(id);
      u.logins_count = (u.logins_count || 0) + 1;
      u.last_login = new Date(now()).toISOString();
      return clone(u);
    },
  };
}

function stripIdpTokens(user) {
  const u = clone(user);
  for (const ident of u.identities || []) for (const f of IDP_TOKEN_FIELDS) delete ident[f];
  return u;
}

// --- minimal v3 query language (manage-users/user-search/user-search-query-syntax)
// Supported: `_exists_:path`, `NOT _exists_:path`, `field:value`, `field:"value"`,
// terms joined by AND, and `*`/empty for everything. Anything else is a 400 so a
// test never silently relies on an unsupported query.
function valuesAt(obj, path) {
  let cur = [obj];
  for (const part of path.split('.')) {
    // "use the path to the field and ignore the array level"
    cur = cur.flatMap((v) => (Array.isArray(v) ? v : [v]))
      .filter((v) => v && typeof v === 'object' && part in v).map((v) => v[part]);
  }
  return cur.flatMap((v) => (Array.isArray(v) ? v : [v]));
}
// "Metadata fields that contain an empty array, empty object, or null value are
// not indexed and cannot be searched for."
const indexed = (v) => v !== null && v !== undefined && !(typeof v === 'object' && Object.keys(v).length === 0);

function compileQuery(q) {
  const text = (q || '').trim();
  if (text === '' || text === '*') return () => true;
  const preds = text.split(/\s+AND\s+/).map((term) => {
    let m = /^(NOT\s+)?_exists_:([\w.]+)$/.exec(term);
    if (m) {
      const [, not, path] = m;
      return (u) => valuesAt(u, path).some(indexed) !== Boolean(not);
    }
    m = /^([\w.]+):(?:"((?:[^"\\]|\\.)*)"|([^\s"*()]+))$/.exec(term);
    if (m) {
      const [, path, quoted, bare] = m;
      const want = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare.replace(/\\(.)/g, '$1');
      return (u) => valuesAt(u, path).some((v) => indexed(v) && String(v) === want);
    }
    return null;
  });
  if (preds.includes(null)) return null;
  return (u) => preds.every((p) => p(u));
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * @param {object} [o]
 * @param {object[]} [o.users]    full Auth0 users (identities may hold access_token/refresh_token)
 * @param {object[]} [o.clients]  [{ clientId, clientSecret, scopes: [...] }]
 * @param {object[]} [o.faults]   initial faults (see setFault)
 * @param {string}   [o.audience] extra accepted audience, e.g. 'https://tenant.auth0.com/api/v2/'
 * @param {string}   [o.domain]   accept 'https://<domain>/api/v2/' as audience too
 * @param {() => number} [o.now]  clock (ms) for token expiry, timestamps and rate-limit headers
 */
async function startManagementApi(o = {}) {
  const now = o.now || Date.now;
  const store = createStore(o.users || [], now);
  const clients = new Map((o.clients || []).map((c) => [c.clientId, c]));
  const faults = [];
  const requests = [];
  const sockets = new Set();
  let baseUrl = '';

  const audiences = () => new Set([`${baseUrl}/api/v2/`, o.audience, o.domain && `https://${o.domain}/api/v2/`].filter(Boolean));

  /**
   * Inject a fault. f.path: 'token' | 'user' (GET/PATCH /api/v2/users/{id}) |
   * 'search' | a path prefix string | a RegExp on the path | omitted (all).
   * f.kind: '5xx' (f.status, default 503) | '429' (f.retryAfter seconds,
   * default 1) | '401' | 'hang' (never answers) | 'malformed' (200, broken JSON)
   * | 'reset' (socket destroyed). f.times: requests affected (default: until
   * clearFaults()). f.method: optional HTTP method filter.
   */
  function setFault(f) {
    const kinds = ['5xx', '429', 'hang', '401', 'malformed', 'reset'];
    if (!kinds.includes(f.kind)) throw new TypeError(`fault kind must be one of ${kinds.join(', ')}`);
    faults.push({ times: Infinity, retryAfter: 1, ...f });
  }
  (o.faults || []).forEach(setFault);

  function matchFault(route, path, method) {
    const i = faults.findIndex((f) => f.times > 0 && (!f.method || f.method === method) && (
      f.path instanceof RegExp ? f.path.test(path)
        : f.path === 'token' ? route === 'token'
          : f.path === 'user' ? route === 'users.get' || route === 'users.patch'
            : f.path === 'search' ? route === 'users.search'
              : typeof f.path === 'string' ? path.startsWith(f.path) : true));
    if (i < 0) return null;
    const f = faults[i];
    f.times -= 1;
    if (f.times <= 0) faults.splice(i, 1);
    return f;
  }

  function routeOf(method, path) {
    if (path === '/oauth/token') return method === 'POST' ? 'token' : 'token.other';
    if (path === '/api/v2/users') return method === 'GET' ? 'users.search' : 'users.other';
    if (/^\/api\/v2\/users\/[^/]+$/.test(path)) {
      return method === 'GET' ? 'users.get' : method === 'PATCH' ? 'users.patch' : 'users.other';
    }
    return 'unknown';
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = url.pathname;
    const route = routeOf(req.method, path);
    const entry = { method: req.method, path, route, status: null };
    requests.push(entry);
    // Rate-limit headers on every answer: x-ratelimit-reset is a UNIX timestamp
    // (troubleshoot/customer-support/operational-policies/rate-limit-policy).
    const nowS = Math.floor(now() / 1000);
    const send = (status, body, headers = {}) => {
      entry.status = status;
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ratelimit-limit': '50',
        'x-ratelimit-remaining': status === 429 ? '0' : '49',
        'x-ratelimit-reset': String(nowS + 1),
        ...headers,
      });
      res.end(raw);
    };
    const mgmtError = (status, error, message, errorCode) => send(status, { statusCode: status, error, message, ...(errorCode ? { errorCode } : {}) });

    const fault = matchFault(route, path, req.method);
    if (fault) {
      entry.fault = fault.kind;
      if (fault.kind === 'hang') return; // keep the socket open; close() destroys it
      if (fault.kind === 'reset') { entry.status = 'reset'; req.socket.destroy(); return; }
      if (fault.kind === 'malformed') return send(200, '{"access_token": "trunc');
      if (fault.kind === '401') {
        return route === 'token'
          ? send(401, { error: 'access_denied', error_description: 'Unauthorized' })
          : mgmtError(401, 'Unauthorized', 'Invalid token');
      }
      if (fault.kind === '5xx') return mgmtError(fault.status || 503, 'Service Unavailable', 'stand-in injected fault');
      // '429'. ASSUMPTION: Retry-After is sent as well; Auth0 documents only the
      // x-ratelimit-* headers.
      const wait = fault.retryAfter;
      return send(429, route === 'token'
        ? { error: 'too_many_requests', error_description: 'Global limit has been reached' }
        : { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' },
      { 'retry-after': String(wait), 'x-ratelimit-reset': String(nowS + wait) });
    }

    try {
      if (route === 'token') return handleToken(await readBody(req), req.headers, send);
      if (route === 'unknown' || route.endsWith('.other')) return mgmtError(404, 'Not Found', 'Not Found');

      // Management API: Bearer token from /oauth/token, unexpired.
      const m = /^Bearer (\S+)$/i.exec(req.headers.authorization || '');
      if (!m) return mgmtError(401, 'Unauthorized', 'Missing authentication');
      const grant = store.tokens.get(m[1]);
      if (!grant) return mgmtError(401, 'Unauthorized', 'Invalid token');
      if (grant.exp <= nowS) return mgmtError(401, 'Unauthorized', 'Expired token received for JSON Web Token validation');
      const has = (s) => grant.scopes.includes(s);
      const view = (u) => (has('read:user_idp_tokens') ? clone(u) : stripIdpTokens(u));

      if (route === 'users.get' || route === 'users.patch') {
        const id = decodeURIComponent(path.slice('/api/v2/users/'.length));
        if (route === 'users.get') {
          if (!has('read:users')) return mgmtError(403, 'Forbidden', 'Insufficient scope, expected any of: read:users,read:current_user,read:user_idp_tokens', 'insufficient_scope');
          const u = store.getUser(id);
          return u ? send(200, view(u)) : mgmtError(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
        }
        if (!has('update:users') && !has('update:users_app_metadata')) return mgmtError(403, 'Forbidden', 'Insufficient scope, expected any of: update:users,update:users_app_metadata,update:current_user_metadata', 'insufficient_scope');
        let body;
        try { body = JSON.parse(await readBody(req)); } catch { return mgmtError(400, 'Bad Request', 'Invalid request payload JSON format'); }
        const extra = Object.keys(body || {}).filter((k) => k !== 'app_metadata' && k !== 'user_metadata');
        if (!body || typeof body !== 'object' || extra.length) return mgmtError(400, 'Bad Request', `Payload validation error: stand-in supports only app_metadata/user_metadata (got ${extra.join(', ')})`, 'invalid_body');
        for (const k of ['app_metadata', 'user_metadata']) {
          if (body[k] !== undefined && (body[k] === null || typeof body[k] !== 'object' || Array.isArray(body[k]))) return mgmtError(400, 'Bad Request', `Payload validation error: '${k}' must be an object`, 'invalid_body');
        }
        if (!store.hasUser(id)) return mgmtError(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
        return send(200, view(store.updateUser(id, body)));
      }

      // route === 'users.search'
      if (!has('read:users')) return mgmtError(403, 'Forbidden', 'Insufficient scope, expected any of: read:users', 'insufficient_scope');
      const p = url.searchParams;
      const engine = p.get('search_engine');
      if (engine && engine !== 'v3') return mgmtError(400, 'Bad Request', 'Query validation error: search_engine must be v3 in this stand-in', 'invalid_query_string');
      const perPage = p.has('per_page') ? Number(p.get('per_page')) : PER_PAGE_DEFAULT;
      const page = p.has('page') ? Number(p.get('page')) : 0;
      if (!Number.isInteger(perPage) || perPage < 0) return mgmtError(400, 'Bad Request', "Query validation error: 'per_page' must be an integer", 'invalid_query_string');
      if (perPage > PER_PAGE_MAX) return mgmtError(400, 'Bad Request', `Query validation error: 'Value ${perPage} is greater than maximum ${PER_PAGE_MAX}' on property per_page (Number of results per page. Defaults to 50).`, 'invalid_query_string');
      if (!Number.isInteger(page) || page < 0) return mgmtError(400, 'Bad Request', "Query validation error: 'page' must be an integer >= 0", 'invalid_query_string');
      // (page + 1) * per_page beyond 1000 is refused even when fewer users
      // exist (same rule spelled out for connections in
      // troubleshoot/product-lifecycle/deprecations-and-migrations).
      if ((page + 1) * perPage > SEARCH_MAX_RESULTS) return mgmtError(400, 'Bad Request', 'You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation', 'invalid_paging');
      const pred = compileQuery(p.get('q'));
      if (!pred) return mgmtError(400, 'Bad Request', `Query not supported by the stand-in: ${p.get('q')}`, 'invalid_query_string');
      // Deterministic order (list-and-search-users: results come in a
      // deterministic order); here: by user_id.
      const all = store.listUsers().filter(pred).sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0));
      const users = all.slice(page * perPage, (page + 1) * perPage).map(view);
      if (p.get('include_totals') === 'true') {
        return send(200, { start: page * perPage, limit: perPage, length: users.length, users, total: all.length });
      }
      return send(200, users);
    } catch (err) {
      return mgmtError(500, 'Internal Server Error', `stand-in bug: ${err.message}`);
    }
  });

  // Authentication API, client-credentials grant (AUTH0-FACTS; error bodies as
  // Auth0 returns them: 401 access_denied "Unauthorized" for bad credentials,
  // 403 access_denied for an unknown audience or ungranted scopes).
  function handleToken(raw, headers, send) {
    let body = {};
    const ct = headers['content-type'] || '';
    try {
      body = ct.includes('application/json') ? JSON.parse(raw || '{}')
        : Object.fromEntries(new URLSearchParams(raw));
    } catch {
      return send(400, { error: 'invalid_request', error_description: 'Invalid JSON body' });
    }
    const basic = /^Basic (\S+)$/i.exec(headers.authorization || '');
    if (basic) {
      const [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
      body.client_id = body.client_id || decodeURIComponent(id);
      body.client_secret = body.client_secret || decodeURIComponent(secret || '');
    }
    if (body.grant_type !== 'client_credentials') {
      return send(400, { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${body.grant_type}` });
    }
    const c = clients.get(body.client_id);
    const ok = c && typeof body.client_secret === 'string' && body.client_secret.length === c.clientSecret.length
      && crypto.timingSafeEqual(Buffer.from(body.client_secret), Buffer.from(c.clientSecret));
    if (!ok) return send(401, { error: 'access_denied', error_description: 'Unauthorized' });
    if (!audiences().has(body.audience)) {
      return send(403, { error: 'access_denied', error_description: `Service not enabled within domain: ${body.audience}` });
    }
    const granted = c.scopes || [];
    const asked = body.scope ? String(body.scope).split(/\s+/).filter(Boolean) : granted;
    const missing = asked.filter((s) => !granted.includes(s));
    if (missing.length) return send(403, { error: 'access_denied', error_description: `Client has not been granted scopes: ${missing.join(',')}` });
    const token = `standin.${crypto.randomBytes(24).toString('base64url')}`;
    store.tokens.set(token, { clientId: c.clientId, scopes: asked, exp: Math.floor(now() / 1000) + TOKEN_TTL_S });
    return send(200, { access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_S, scope: asked.join(' ') });
  }

  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  baseUrl = `http://127.0.0.1:${port}`;

  let closed;
  return {
    baseUrl,
    port,
    audience: `${baseUrl}/api/v2/`,
    requests,
    store,
    setFault,
    clearFaults() { faults.length = 0; },
    /** Number of logged requests for a route ('token', 'users.get', 'users.patch', 'users.search') or matching a RegExp on the path. */
    count(which) {
      return requests.filter((r) => (which instanceof RegExp ? which.test(r.path) : r.route === which)).length;
    },
    get counts() {
      const out = {};
      for (const r of requests) out[r.route] = (out[r.route] || 0) + 1;
      return out;
    },
    close() {
      // Destroy open sockets (a 'hang' fault leaves one waiting forever).
      closed = closed || new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}

module.exports = { startManagementApi, compileQuery, stripIdpTokens, IDP_TOKEN_FIELDS, SEARCH_MAX_RESULTS, PER_PAGE_MAX };

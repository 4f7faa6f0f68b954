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

function createStore(users, now, indexLagMs = 0) {
  const byId = new Map();
  const tokens = new Map(); // access_token -> { clientId, scopes, exp }
  // The search index (manage-users/user-search: "the search index is eventually
  // consistent"; writes show up in search results after a delay). Each user's indexed
  // versions, oldest first: [time in ms, user]. ASSUMPTION: one lag for every write.
  const versions = new Map();
  let sortedIds = null; // user ids in code-unit order, for sorted searches
  const index = (u) => {
    if (indexLagMs <= 0) return;
    const list = versions.get(u.user_id) || [];
    list.push([now(), clone(u)]);
    // Only the newest version older than the lag can still be seen.
    const cut = now() - indexLagMs;
    while (list.length > 1 && list[1][0] <= cut) list.shift();
    versions.set(u.user_id, list);
  };
  const put = (u) => {
    if (!u || typeof u.user_id !== 'string') throw new TypeError('every user needs a string user_id');
    const stored = { app_metadata: {}, user_metadata: {}, identities: [], logins_count: 0, ...clone(u) };
    if (!byId.has(u.user_id)) sortedIds = null;
    byId.set(u.user_id, stored);
    if (indexLagMs > 0) versions.set(u.user_id, [[-Infinity, clone(stored)]]);
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
    /** User ids in ascending code-unit order. */
    sortedIds() {
      if (!sortedIds) sortedIds = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return sortedIds;
    },
    /** The user as the search index shows it now (not cloned: read only). */
    indexed(id) {
      if (indexLagMs <= 0) return byId.get(id);
      const list = versions.get(id);
      const cut = now() - indexLagMs;
      let seen = list[0][1];
      for (const [t, u] of list) if (t <= cut) seen = u;
      return seen;
    },
    // PATCH semantics (manage-users/user-accounts/metadata/manage-metadata-api):
    // root-level properties merge, null deletes one, {} empties the metadata.
    updateUser(id, patch) {
      const u = must(id);
      for (const k of ['app_metadata', 'user_metadata']) {
        if (patch[k] === undefined) continue;
        u[k] = Object.keys(patch[k] || {}).length === 0 ? {} : mergeTopLevel(u[k], patch[k]);
      }
      touch(u);
      index(u);
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
      index(u);
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
// ranges `field:[a TO b]`, `{a TO b}` and mixed brackets ("For inclusive ranges use
// square brackets ... exclusive ranges use curly brackets"), with `*` for an open end
// and quoted bounds, compared as strings; terms joined by AND, and `*`/empty for
// everything. Anything else is a 400 so a test never silently relies on an
// unsupported query.
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
    m = /^([\w.]+):([[{])\s*("(?:[^"\\]|\\.)*"|[^\s"]+)\s+TO\s+("(?:[^"\\]|\\.)*"|[^\s"]+)\s*([\]}])$/.exec(term);
    if (m) {
      const [, path, open, low, high, close] = m;
      const bound = (b) => (b === '*' ? null : b.startsWith('"') ? b.slice(1, -1).replace(/\\(.)/g, '$1') : b);
      const [lo, hi] = [bound(low), bound(high)];
      const inRange = (v) => (lo === null || (open === '[' ? v >= lo : v > lo)) && (hi === null || (close === ']' ? v <= hi : v < hi));
      return Object.assign((u) => valuesAt(u, path).some((v) => indexed(v) && inRange(String(v))), { range: { path, lo, open } });
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
  const pred = (u) => preds.every((p) => p(u));
  // A lower bound on user_id lets a sorted search start there instead of at the first user.
  const range = preds.find((p) => p.range && p.range.path === 'user_id');
  if (range) pred.userIdFrom = range.range;
  return pred;
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
 * @param {number}   [o.tokenTtlSeconds] lifetime of issued tokens (default 86400, the
 *                   documented default: secure/tokens/access-tokens/management-api-access-tokens)
 * @param {{ burst: number, perSecond: number }} [o.rateLimit] enforce Auth0's token bucket on
 *                   the Management API (troubleshoot/customer-support/operational-policies/
 *                   rate-limit-policy: "token bucket algorithm"; burst = bucket size,
 *                   sustained = refill rate); without it every answer says 49 of 50 left
 * @param {number}   [o.latencyMs]   delay before each answer, as a network round trip adds
 * @param {number}   [o.indexLagMs]  writes reach search results this much later
 */
async function startManagementApi(o = {}) {
  const now = o.now || Date.now;
  const tokenTtl = o.tokenTtlSeconds ?? TOKEN_TTL_S;
  const store = createStore(o.users || [], now, o.indexLagMs || 0);
  const bucket = o.rateLimit ? { tokens: o.rateLimit.burst, at: now(), ...o.rateLimit } : null;
  const exportJobs = new Map(); // job id -> { status, ready, location, fields, body }
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
    if (path === '/api/v2/jobs/users-exports') return method === 'POST' ? 'jobs.export' : 'jobs.other';
    if (/^\/api\/v2\/jobs\/[^/]+$/.test(path)) return method === 'GET' ? 'jobs.get' : 'jobs.other';
    if (/^\/exports\/[^/]+$/.test(path)) return method === 'GET' ? 'export.file' : 'export.other';
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
    // The bucket (Management API only; the token endpoint is the Authentication API).
    // "x-ratelimit-reset: UNIX timestamp, in seconds, of the expected time when
    // additional requests will be added to the bucket" (rate-limit-use-cases).
    let limited = false;
    let rateHeaders = { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '49', 'x-ratelimit-reset': String(nowS + 1) };
    if (bucket && route !== 'token' && route !== 'export.file') {
      const t = now();
      bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((t - bucket.at) / 1000) * bucket.perSecond);
      bucket.at = t;
      if (bucket.tokens >= 1) bucket.tokens -= 1;
      else limited = true;
      const nextToken = t + ((1 - (bucket.tokens % 1)) * 1000) / bucket.perSecond;
      rateHeaders = {
        'x-ratelimit-limit': String(bucket.burst),
        'x-ratelimit-remaining': String(Math.floor(bucket.tokens)),
        'x-ratelimit-reset': String(Math.ceil(nextToken / 1000)),
      };
    }
    const sendNow = (status, body, headers = {}) => {
      entry.status = status;
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        ...rateHeaders,
        ...(status === 429 && !bucket ? { 'x-ratelimit-remaining': '0' } : {}),
        ...headers,
      });
      res.end(raw);
    };
    const send = o.latencyMs ? (...args) => setTimeout(() => sendNow(...args), o.latencyMs) : sendNow;
    if (limited) {
      // The documented 429 carries the x-ratelimit-* headers only (no Retry-After).
      return send(429, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' });
    }
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
      if (route === 'export.file') return sendExport(path, url, res, entry);
      if (route === 'unknown' || route.endsWith('.other')) return mgmtError(404, 'Not Found', 'Not Found');

      // Management API: Bearer token from /oauth/token, unexpired.
      const m = /^Bearer (\S+)$/i.exec(req.headers.authorization || '');
      if (!m) return mgmtError(401, 'Unauthorized', 'Missing authentication');
      const grant = store.tokens.get(m[1]);
      if (!grant) return mgmtError(401, 'Unauthorized', 'Invalid token');
      if (grant.exp <= nowS) return mgmtError(401, 'Unauthorized', 'Expired token received for JSON Web Token validation');
      const has = (s) => grant.scopes.includes(s);
      // GET /api/v2/users and /users/{id}: "fields: Comma-separated list of fields to
      // include or exclude (based on value provided for include_fields) in the result.
      // Leave empty to retrieve all fields"; include_fields defaults to true.
      const fields = url.searchParams.get('fields');
      const include = url.searchParams.get('include_fields') !== 'false';
      const project = (u) => {
        if (!fields) return u;
        const names = new Set(fields.split(',').map((f) => f.trim()).filter(Boolean));
        return Object.fromEntries(Object.entries(u).filter(([k]) => names.has(k) === include));
      };
      const view = (u) => project(has('read:user_idp_tokens') ? clone(u) : stripIdpTokens(u));

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

      if (route === 'jobs.export' || route === 'jobs.get') return handleJob(route, path, req, has, send, mgmtError);

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
      // `sort` is field:order, 1 ascending (GET /api/v2/users reference). The stand-in
      // knows one order, by user_id, which is also its deterministic default
      // (primary_order: "results are returned in a deterministic order").
      if (p.has('sort') && p.get('sort') !== 'user_id:1') return mgmtError(400, 'Bad Request', `Sort not supported by the stand-in: ${p.get('sort')}`, 'invalid_query_string');
      // Search reads the index, which lags behind writes (indexLagMs).
      const ids = store.sortedIds();
      let from = 0;
      if (pred.userIdFrom && pred.userIdFrom.lo !== null) {
        const { lo, open } = pred.userIdFrom;
        let hi = ids.length;
        while (from < hi) {
          const mid = (from + hi) >> 1;
          if (open === '[' ? ids[mid] < lo : ids[mid] <= lo) from = mid + 1; else hi = mid;
        }
      }
      const wantTotal = p.get('include_totals') === 'true';
      const start = page * perPage;
      const users = [];
      let total = 0;
      for (let i = from; i < ids.length; i += 1) {
        const u = store.indexed(ids[i]);
        if (!pred(u)) continue;
        if (total >= start && users.length < perPage) users.push(view(u));
        total += 1;
        if (!wantTotal && users.length >= perPage) break;
      }
      if (wantTotal) return send(200, { start, limit: perPage, length: users.length, users, total });
      return send(200, users);
    } catch (err) {
      return mgmtError(500, 'Internal Server Error', `stand-in bug: ${err.message}`);
    }
  });

  // Bulk user export (manage-users/user-migration/bulk-user-exports; GET /jobs/{id}).
  // POST /api/v2/jobs/users-exports { format: "json", fields: [{ name }] } with
  // read:users makes a pending job; GET /api/v2/jobs/{id} reports it, with `location`
  // once completed. "Our JSON-compatible export files are in NDJSON format."
  // ASSUMPTION: the file is gzipped (the old page's sample location ends in .gz) and
  // served without the bearer token from another origin, as a pre-signed URL is; here a
  // path on this server. The export reads the users as they are when the job completes.
  async function handleJob(route, path, req, has, send, mgmtError) {
    if (route === 'jobs.export') {
      if (!has('read:users')) return mgmtError(403, 'Forbidden', 'Insufficient scope, expected any of: read:users', 'insufficient_scope');
      let body;
      try { body = JSON.parse(await readBody(req)); } catch { return mgmtError(400, 'Bad Request', 'Invalid request payload JSON format'); }
      if (!body || body.format !== 'json' || !Array.isArray(body.fields) || body.fields.some((f) => !f || typeof f.name !== 'string')) {
        return mgmtError(400, 'Bad Request', 'Payload validation error: the stand-in exports format json with fields [{ name }]', 'invalid_body');
      }
      const id = `job_${crypto.randomBytes(8).toString('hex')}`;
      exportJobs.set(id, { id, type: 'users_export', status: 'pending', format: 'json', fields: body.fields, created_at: new Date(now()).toISOString(), ready: now() + (o.exportDelayMs ?? 100) });
      return send(201, viewJob(exportJobs.get(id)));
    }
    if (!has('read:users') && !has('create:users')) return mgmtError(403, 'Forbidden', 'Insufficient scope, expected any of: create:users,read:users', 'insufficient_scope');
    const job = exportJobs.get(decodeURIComponent(path.slice('/api/v2/jobs/'.length)));
    if (!job) return mgmtError(404, 'Not Found', 'The job does not exist.', 'inexistent_job');
    if (job.status === 'pending' && now() >= job.ready) {
      const names = job.fields.map((f) => f.name);
      const lines = store.listUsers().map((u) => JSON.stringify(Object.fromEntries(names.filter((n) => u[n] !== undefined).map((n) => [n, u[n]]))));
      job.file = require('node:zlib').gzipSync(lines.join('\n') + '\n');
      job.status = 'completed';
      job.location = `${baseUrl}/exports/${job.id}.json.gz?Expires=${Math.floor(now() / 1000) + 60}`;
    }
    return send(200, viewJob(job));
  }
  const viewJob = (job) => {
    const { file, ready, ...rest } = job;
    return { ...rest, ...(job.status === 'pending' ? { time_left_seconds: Math.max(0, Math.ceil((ready - now()) / 1000)) } : {}) };
  };
  function sendExport(path, url, res, entry) {
    const job = exportJobs.get(path.slice('/exports/'.length).replace(/\.json\.gz$/, ''));
    // "The download link is valid for 60 seconds."
    if (!job || !job.file || Number(url.searchParams.get('Expires')) < Math.floor(now() / 1000)) {
      entry.status = 403;
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
      return undefined;
    }
    entry.status = 200;
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(job.file);
    return undefined;
  }

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
    store.tokens.set(token, { clientId: c.clientId, scopes: asked, exp: Math.floor(now() / 1000) + tokenTtl });
    return send(200, { access_token: token, token_type: 'Bearer', expires_in: tokenTtl, scope: asked.join(' ') });
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

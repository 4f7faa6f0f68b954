'use strict';
// End-to-end harness: runs legacy Auth0 Rules inside @simulacrum/auth0-simulator
// (pinned in ./package.json, installed by `npm ci` in this folder).
//
// What the simulator (0.11.4) does, as read from its dist/ sources and checked
// by harness.test.cjs:
//
// * Server. simulation({ options, initialState }).listen(...args) builds an
//   express app served over HTTPS only (@simulacrum/foundation-simulator). The
//   certificate is read from $HOME/.simulacrum/certs/localhost.pem and
//   localhost-key.pem, a path computed from os.homedir() when the foundation
//   module is first required. listen() hands its arguments to
//   https.Server#listen, so listen(0, '127.0.0.1') gives a free loopback port.
// * options (zod-validated, merged over defaults and over any cosmiconfig
//   "auth0Simulator" config found in the cwd):
//     clientID  default "00000000000000000000000000000000" (max 32 chars),
//     audience  default "https://thefrontside.auth0.com/api/v1/",
//     scope     default "openid profile email offline_access" (a string, or a
//               list of { clientID, audience?, scope } per application),
//     port      only 3000..9999 if given (so not 0; we pass the port to listen),
//     rulesDirectory  path joined onto process.cwd(); all *.js files there are
//               rules and each needs a sibling <name>.json
//               {"enabled": true, "order": N} (disabled ones are skipped,
//               rules run in ascending order). Read once, at start-up.
// * Users: initialState { users: [{ id?, name, email?, password? = "12345",
//   picture? }] } replaces the single built-in default user
//   (default@example.com / 12345). Missing id/email/picture are made up by faker.
// * POST /oauth/token (JSON or urlencoded body; identities need JSON).
//   grant_type "password": the store user whose email equals body.username
//   (case-insensitive) and whose password equals body.password, else 401.
//   client_id / audience in the body override the options; the scope always
//   comes from options (body.scope is ignored). Then the rule input is built:
//     user = { name: body.name ?? stored.name, email: body.email ?? stored.email,
//              email_verified: true, user_id: body.id ?? stored.id,
//              nickname: body.nickname, picture: body.picture ?? stored.picture,
//              identities: body.identities }
//     context = { clientID, accessToken: { scope, sub }, idToken: { alg, typ,
//              iss, exp, iat, email, aud: clientID, sub, nonce? } }
//   Nothing else of the body reaches the user (no app_metadata, for example).
//   user.identities is the request body's own array, and it is deep-frozen:
//   the foundation simulator logs every request body into its starfx (immer)
//   store before routing, which freezes it. So a rule cannot delete or change
//   fields of an identity in place (silently ignored in sloppy mode, TypeError
//   in strict mode); it has to assign new objects (user.identities = copies).
//   Response: { access_token, id_token, refresh_token (if scope has
//   offline_access), expires_in, token_type }. id_token is RS256, kid from the
//   JWKS, payload { ...user, ...context.idToken } -- so the whole user,
//   identities and their tokens included, lands in the id_token (this is a
//   simulator artifact; real Auth0 does not put the user object in it).
//   iss is "<scheme>://<Host header>/", aud is the client id.
// * GET /.well-known/jwks.json (fixed RSA key shipped in the package) and
//   GET /.well-known/openid-configuration (jwks_uri etc.).
// * Rule execution (dist/rules/rules-runner.cjs): for each rule a fresh
//   vm context is made from { process, Buffer, set/clear Timeout/Interval/
//   Immediate, console, require, module, resolve, reject, __simulator } and
//   `(async function(exports){ await (CODE)(__simulator.user,
//   __simulator.context, resolve) })(module.exports)` is run in it. Hence:
//     - CODE must be an expression (a function expression as Auth0 stores it);
//     - `require` is the simulator's own module require: any Node built-in
//       (util, http, fs, crypto ...) and the simulator's dependencies load;
//     - no `configuration`, no `auth0`, no `global` (only `globalThis`, which
//       is the fresh sandbox), no TextEncoder/TextDecoder/crypto/URL/fetch;
//     - a new context per rule per request: nothing survives on globalThis
//       between logins (real Auth0 keeps `global` per container);
//     - user is the same object across rules; context is a shallow copy, so
//       only in-place changes to user and context.idToken / accessToken survive;
//     - the callback is the promise's resolve: callback(err) and the user /
//       context passed to it are ignored, an exception is only logged, and a
//       rule that never calls back hangs the token request (the vm timeout of
//       20 s applies to synchronous code only).
//
// wrapRule() below closes most of these gaps for a rule kept byte-for-byte
// as Auth0 would store it: it supplies configuration, auth0 (whose calls are
// reported to a loopback recorder the test runs), global, TextEncoder/
// TextDecoder, and it adopts the user handed to callback.

const { execFileSync, fork } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const DEFAULT_CLIENT_ID = 'tokensealtestclient0000000000000'; // 32 chars max
const DEFAULT_AUDIENCE = 'https://tokenseal.test/api/';
const DEFAULT_SCOPE = 'openid profile email offline_access';
const DEFAULT_USERS = [
  {
    id: 'auth0|tokenseal-e2e-user',
    name: 'Test User',
    email: 'user@tokenseal.test',
    password: 'correct-horse-battery',
    picture: 'https://tokenseal.test/avatar.png',
  },
];

const CHILD = path.join(__dirname, 'simulator-child.cjs');
const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;

function makeSelfSignedCert(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'localhost.pem');
  const key = path.join(dir, 'localhost-key.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-nodes',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', key, '-out', cert,
      '-days', '2',
      '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { cert, key };
}

function ruleFileName(name) {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
    throw new Error(`rule name must match [A-Za-z0-9][A-Za-z0-9_-]*: ${name}`);
  }
  return name;
}

// HTTPS (or plain HTTP) request that trusts `ca`; resolves { status, headers, text }.
function request(url, { method = 'GET', headers = {}, body, ca, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      { method, headers, ca, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Start the simulator in a child process.
 *
 * @param {object} args
 * @param {string} [args.rulesDir]  existing folder in the simulator's format
 *   (*.js + sibling .json); its files are copied into the temporary rules dir.
 * @param {{name: string, code: string, order?: number, enabled?: boolean}[]} [args.rules]
 *   rules to write as <name>.js + <name>.json; order defaults to 1, 2, ...
 * @param {object[]} [args.users]  store users; default: DEFAULT_USERS.
 * @param {object} [args.options]  extra simulator options (clientID, audience, scope, ...).
 * @param {object} [args.env]  extra environment for the simulator process.
 */
async function startSimulator({ rulesDir, rules = [], users = DEFAULT_USERS, options = {}, env = {} } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenseal-rule-e2e-'));
  const cleanupTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const home = path.join(tmp, 'home');
    const work = path.join(tmp, 'work');
    const rulesPath = path.join(work, 'rules');
    fs.mkdirSync(rulesPath, { recursive: true });
    const { cert } = makeSelfSignedCert(path.join(home, '.simulacrum', 'certs'));
    const ca = fs.readFileSync(cert);

    if (rulesDir) {
      for (const f of fs.readdirSync(rulesDir)) {
        if (f.endsWith('.js') || f.endsWith('.json')) fs.copyFileSync(path.join(rulesDir, f), path.join(rulesPath, f));
      }
    }
    rules.forEach((rule, i) => {
      const base = ruleFileName(rule.name);
      fs.writeFileSync(path.join(rulesPath, `${base}.js`), rule.code);
      fs.writeFileSync(
        path.join(rulesPath, `${base}.json`),
        JSON.stringify({ enabled: rule.enabled !== false, order: rule.order ?? i + 1 }),
      );
    });

    const simOptions = {
      clientID: DEFAULT_CLIENT_ID,
      audience: DEFAULT_AUDIENCE,
      scope: DEFAULT_SCOPE,
      rulesDirectory: 'rules', // relative to the child's cwd (`work`)
      ...options,
    };
    const child = fork(CHILD, [], {
      cwd: work,
      env: {
        ...process.env,
        ...env,
        HOME: home,
        NODE_EXTRA_CA_CERTS: cert,
        SIMULATOR_TMP: tmp,
        SIMULATOR_CONFIG: JSON.stringify({ options: simOptions, initialState: { users } }),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    let port;
    try {
      port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('simulator did not start in time')), START_TIMEOUT_MS);
        child.on('message', (msg) => {
          if (msg && msg.type === 'ready') {
            clearTimeout(timer);
            resolve(msg.port);
          } else if (msg && msg.type === 'error') {
            clearTimeout(timer);
            reject(new Error(msg.message));
          }
        });
        exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`simulator exited early (code ${code}, signal ${signal})`));
        });
      });
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      err.message += `\n--- simulator output ---\n${output}`;
      throw err;
    }

    const baseUrl = `https://127.0.0.1:${port}`;
    const jwksUrl = `${baseUrl}/.well-known/jwks.json`;
    let closed = false;

    async function json(method, pathname, body) {
      const res = await request(baseUrl + pathname, {
        method,
        ca,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      let parsed;
      try {
        parsed = JSON.parse(res.text);
      } catch (_) {
        parsed = undefined;
      }
      if (res.status !== 200) {
        const err = new Error(`${method} ${pathname} -> ${res.status}: ${res.text.slice(0, 500)}`);
        err.status = res.status;
        err.body = parsed ?? res.text;
        throw err;
      }
      return parsed;
    }

    const sim = {
      baseUrl,
      issuer: `${baseUrl}/`,
      jwksUrl,
      ca, // PEM of the self-signed certificate, for clients in this process
      clientId: simOptions.clientID,
      audience: simOptions.audience,
      users,
      rulesPath,
      /** POST /oauth/token with any body. */
      tokenRequest: (body) => json('POST', '/oauth/token', body),
      /**
       * Resource-owner password grant. `identities` is what the rules see as
       * user.identities; `extra` goes into the body as is (name, nickname, id,
       * picture, email override the user fields the rules see).
       */
      passwordLogin({ username = users[0].email, password = users[0].password, identities, clientId, audience, ...extra } = {}) {
        return json('POST', '/oauth/token', {
          grant_type: 'password',
          username,
          password,
          client_id: clientId ?? simOptions.clientID,
          audience: audience ?? simOptions.audience,
          ...(identities === undefined ? {} : { identities }),
          ...extra,
        });
      },
      jwks: () => json('GET', '/.well-known/jwks.json'),
      openidConfiguration: () => json('GET', '/.well-known/openid-configuration'),
      /**
       * fetch()-compatible function that trusts the self-signed certificate:
       * pass it as jose's [customFetch] to createRemoteJWKSet.
       */
      async fetch(url, init = {}) {
        const res = await request(String(url), {
          method: init.method || 'GET',
          headers: Object.fromEntries(new Headers(init.headers || {})),
          body: init.body,
          ca,
        });
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
        return new Response(res.text, { status: res.status, headers });
      },
      /** Verify an id_token against the simulator's JWKS (fetched remotely with jose). */
      async verifyIdToken(idToken, { audience } = {}) {
        const jose = await import('jose');
        const keySet = jose.createRemoteJWKSet(new URL(jwksUrl), { [jose.customFetch]: sim.fetch });
        const { payload, protectedHeader } = await jose.jwtVerify(idToken, keySet, {
          issuer: `${baseUrl}/`,
          audience: audience ?? simOptions.clientID,
          algorithms: ['RS256'],
        });
        return { payload, protectedHeader };
      },
      /** Everything the simulator process printed so far (rule console output, rule errors). */
      output: () => output,
      /** Stop the simulator process and remove its temporary files. Idempotent. */
      async close() {
        if (closed) return;
        closed = true;
        if (child.exitCode === null && child.signalCode === null) {
          if (child.connected) child.send({ type: 'close' });
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        cleanupTmp();
      },
    };
    return sim;
  } catch (err) {
    cleanupTmp();
    throw err;
  }
}

/**
 * A loopback HTTP server in the test process that records what wrapped rules
 * report (auth0.users.* calls and callback arguments). The rule runs in the
 * simulator's vm in another process; it reaches this server via require('http').
 *
 * respond(call) may return { status, body } to make a call fail (e.g. to test
 * a rule's handling of a rejected updateAppMetadata); default 200 {}.
 */
async function startRecorder({ respond } = {}) {
  const calls = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let call;
      try {
        call = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        res.writeHead(400).end(String(err));
        return;
      }
      calls.push(call);
      for (const w of waiters.splice(0)) w();
      const answer = (respond && respond(call)) || { status: 200, body: {} };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return {
    url,
    calls,
    /** Calls of one kind, e.g. 'updateAppMetadata' or 'callback'. */
    of: (method) => calls.filter((c) => c.method === method),
    /** Resolve once `predicate(calls)` holds; reject after timeoutMs. */
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(calls)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`recorder: condition not met in ${timeoutMs} ms; calls: ${JSON.stringify(calls)}`);
        await new Promise((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Turn rule source as Auth0 stores it -- `function (user, context, callback) {...}`,
 * unchanged -- into the expression the simulator calls as (CODE)(user, context, cb),
 * with the Auth0 rule environment the simulator lacks:
 *
 *   configuration   the given object (rule settings / secrets);
 *   auth0           { domain, users: { updateAppMetadata(userId, md),
 *                   updateUserMetadata(userId, md) } } -- each call returns a
 *                   Promise, is POSTed as { method, userId, metadata } to the
 *                   recorder and resolves when the recorder answers 2xx (else
 *                   rejects); without recorderUrl the calls resolve without
 *                   being recorded;
 *   global          an object (default: the vm's globalThis);
 *   TextEncoder, TextDecoder   from require('util') when textCodecs (default
 *                   true; real Auth0 runs on Node, where they are globals).
 *                   Pass false to check a rule copes without them.
 *
 * These are bound as parameters of an enclosing function, so the rule text
 * sees them as free variables exactly as in Auth0 without being edited.
 * The callback is intercepted too: its arguments are reported to the recorder
 * as { method: 'callback', error, user } (error: message string or null; user:
 * JSON copy of the user passed back), and, as Auth0 continues with the user
 * handed to callback, that user's fields are copied onto the simulator's user
 * object in place (adoptCallbackUser, default true) -- otherwise the
 * simulator would ignore a rule that builds a new user object.
 */
function wrapRule(ruleSource, {
  configuration = {},
  recorderUrl = null,
  domain = 'tokenseal.test',
  textCodecs = true,
  adoptCallbackUser = true,
} = {}) {
  const settings = JSON.stringify({ configuration, recorderUrl, domain, textCodecs, adoptCallbackUser });
  return `(function (__h) {
  var __req = typeof require === 'function' ? require : null;
  function __record(call) {
    if (!__h.recorderUrl) return Promise.resolve();
    if (!__req) return Promise.reject(new Error('harness: require is not available in the rule vm'));
    var http = __req('http');
    var body = JSON.stringify(call);
    return new Promise(function (resolve, reject) {
      var r = http.request(__h.recorderUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, function (res) {
        var data = '';
        res.setEncoding('utf8');
        res.on('data', function (c) { data += c; });
        res.on('end', function () {
          if (res.statusCode >= 200 && res.statusCode < 300) resolve(data ? JSON.parse(data) : undefined);
          else reject(new Error('recorder answered ' + res.statusCode + ': ' + data));
        });
      });
      r.on('error', reject);
      r.end(body);
    });
  }
  var __util = __h.textCodecs && __req ? __req('util') : null;
  var auth0 = {
    domain: __h.domain,
    users: {
      updateAppMetadata: function (userId, metadata) {
        return __record({ method: 'updateAppMetadata', userId: userId, metadata: metadata === undefined ? null : metadata }).then(function () {});
      },
      updateUserMetadata: function (userId, metadata) {
        return __record({ method: 'updateUserMetadata', userId: userId, metadata: metadata === undefined ? null : metadata }).then(function () {});
      }
    }
  };
  var __rule = (function (configuration, auth0, global, TextEncoder, TextDecoder) {
    return (
${ruleSource}
    );
  })(
    __h.configuration,
    auth0,
    globalThis,
    __util ? __util.TextEncoder : (typeof TextEncoder === 'undefined' ? undefined : TextEncoder),
    __util ? __util.TextDecoder : (typeof TextDecoder === 'undefined' ? undefined : TextDecoder)
  );
  return function (user, context, callback) {
    var done = false;
    function cb(err, outUser, outContext) {
      if (done) return;
      done = true;
      if (!err && __h.adoptCallbackUser && outUser && outUser !== user) {
        Object.keys(user).forEach(function (k) { delete user[k]; });
        Object.assign(user, outUser);
      }
      var snapshot;
      try { snapshot = outUser === undefined ? null : JSON.parse(JSON.stringify(outUser)); } catch (e) { snapshot = '<unserializable: ' + e.message + '>'; }
      __record({ method: 'callback', error: err ? String(err && err.message || err) : null, user: snapshot })
        .then(function () { callback(err, outUser, outContext); }, function (e) { console.error(e); callback(err, outUser, outContext); });
    }
    try {
      return __rule(user, context, cb);
    } catch (e) {
      cb(e);
    }
  };
})(${settings})`;
}

module.exports = {
  startSimulator,
  startRecorder,
  wrapRule,
  request,
  DEFAULT_USERS,
  DEFAULT_CLIENT_ID,
  DEFAULT_AUDIENCE,
};

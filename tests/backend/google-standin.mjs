// A real OAuth 2.0 / OpenID Connect server on loopback playing Google's token endpoint:
// oidc-provider (OpenID Certified), configured like Google's web-server flow for one
// confidential client (client_secret_post, authorization_code + refresh_token,
// offline_access, openid so a refresh returns an id_token). Options make it the other
// providers tokenseal knows: a client authenticating with HTTP Basic (Bitbucket, many
// OpenID Connect servers), refresh-token rotation (Entra ID, Bitbucket, oidc-provider's
// own `rotateRefreshToken`: the used token is consumed, and presenting it again revokes
// the whole grant), and a refresh refused without `scope` (Entra ID). Its discovery
// document is oidc-provider's own, at /.well-known/openid-configuration.
//
// Refresh tokens are issued without a browser, through the provider's own models: a
// Grant and a RefreshToken saved through the provider's adapter (a small Map adapter
// here), exactly what the authorization_code grant would have stored.
//
// Every token-endpoint request is recorded (method, path, form parameters, status), so a
// test can count refreshes and see which refresh token each one carried.

import crypto from 'node:crypto';
import http from 'node:http';

// oidc-provider prints one warning at import on Node 20 (it asks for Node 22 LTS); it is
// noise for these tests and the only line filtered here.
const { default: Provider } = await (async () => {
  const warn = console.warn;
  console.warn = (...args) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    warn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
})();

// The Entra-like check hands oidc-provider a body it has read already, which
// oidc-provider supports and announces once with a warning: that one line is filtered.
{
  const warn = console.warn;
  console.warn = (...args) => {
    if (typeof args[0] === 'string' && args[0].includes('already parsed request body detected')) return;
    warn(...args);
  };
}

/** Reads a request body (the Entra-like check reads it before oidc-provider does). */
async function bodyOf(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** oidc-provider's adapter interface over Maps, one instance per model name. */
function mapAdapterFactory() {
  const stores = new Map();
  const grants = new Map(); // grantId -> Set of "name:id"
  return class MapAdapter {
    constructor(name) {
      this.name = name;
      if (!stores.has(name)) stores.set(name, new Map());
      this.store = stores.get(name);
    }

    async upsert(id, payload, expiresIn) {
      this.store.set(id, { payload: structuredClone(payload), expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null });
      if (payload.grantId) {
        if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
        grants.get(payload.grantId).add(`${this.name}:${id}`);
      }
    }

    async find(id) {
      const entry = this.store.get(id);
      if (!entry) return undefined;
      if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
        this.store.delete(id);
        return undefined;
      }
      return structuredClone(entry.payload);
    }

    async findByUserCode(userCode) {
      for (const { payload } of this.store.values()) if (payload.userCode === userCode) return structuredClone(payload);
      return undefined;
    }

    async findByUid(uid) {
      for (const { payload } of this.store.values()) if (payload.uid === uid) return structuredClone(payload);
      return undefined;
    }

    async consume(id) {
      const entry = this.store.get(id);
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      this.store.delete(id);
    }

    async revokeByGrantId(grantId) {
      for (const key of grants.get(grantId) || []) {
        const i = key.indexOf(':');
        stores.get(key.slice(0, i))?.delete(key.slice(i + 1));
      }
      grants.delete(grantId);
    }
  };
}

/**
 * @param {object} [o]
 * @param {number} [o.accessTokenTtl]  seconds (access token and id_token alike, as at Google)
 * @param {number} [o.idTokenTtl]      seconds, when it should differ from accessTokenTtl
 * @param {boolean} [o.rotateRefreshToken] oidc-provider's rotateRefreshToken setting
 * @param {number} [o.refreshTokenExpiresIn] seconds: adds Google's
 *        `refresh_token_expires_in` to refresh answers, as Google does for time-limited
 *        access ("Using OAuth 2.0 for Web Server Applications", time-based access)
 * @param {'client_secret_post' | 'client_secret_basic'} [o.authMethod] the client's
 *        token_endpoint_auth_method (default client_secret_post, as Google). With
 *        client_secret_basic, credentials in the body are refused (401 invalid_client),
 *        as Bitbucket documents HTTP Basic only; oidc-provider itself would accept them
 * @param {boolean} [o.requireRefreshScope] refuse a refresh without `scope` before it
 *        runs (400 invalid_request), as Microsoft's v2.0 endpoint does in practice
 */
export async function startGoogleStandin(o = {}) {
  const accessTokenTtl = o.accessTokenTtl ?? 600;
  const idTokenTtl = o.idTokenTtl ?? accessTokenTtl;
  const clientId = 'standin-client.apps.googleusercontent.com';
  const authMethod = o.authMethod || 'client_secret_post';
  const clientSecret = `GOCSPX-${crypto.randomBytes(18).toString('base64url')}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'standin-1', alg: 'RS256', use: 'sig' };

  const requests = [];
  const sockets = new Set();
  const server = http.createServer();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    adapter: mapAdapterFactory(),
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      token_endpoint_auth_method: authMethod,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://tenant.example/login/callback'],
    }],
    jwks: { keys: [signingKey] },
    scopes: ['openid', 'offline_access', 'email'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: (ctx, accountId) => ({
      accountId,
      claims: () => ({ sub: accountId, email: `${accountId}@standin.test`, email_verified: true }),
    }),
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: () => true },
      revocation: { enabled: true, allowedPolicy: () => true },
      userinfo: { enabled: true },
    },
    ttl: {
      AccessToken: accessTokenTtl,
      IdToken: idTokenTtl,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
    rotateRefreshToken: Boolean(o.rotateRefreshToken),
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  });
  // Record token-endpoint requests (a Koa middleware through oidc-provider's own
  // provider.use; ctx.oidc.params are the parsed form parameters).
  // Like Google, a refresh answer carries refresh_token only when it is a new one
  // (oidc-provider repeats the unchanged token; Google leaves it out).
  if (o.requireRefreshScope || authMethod === 'client_secret_basic') {
    // Before oidc-provider runs the grant, so a refused request rotates nothing. The body
    // read here is handed on as req.body, which oidc-provider reads when the stream is
    // consumed (lib/shared/selective_body.js).
    provider.use(async (ctx, next) => {
      if (ctx.method === 'POST' && ctx.path === '/token') {
        const text = await bodyOf(ctx.req);
        ctx.req.body = text;
        const params = new URLSearchParams(text);
        const refuse = (status, error) => {
          requests.push({ params: Object.fromEntries(params), contentType: ctx.get('content-type'), authorization: ctx.get('authorization'), status, response: { error } });
          ctx.status = status;
          ctx.body = { error };
        };
        if (authMethod === 'client_secret_basic' && (params.has('client_secret') || !/^Basic /.test(ctx.get('authorization')))) {
          refuse(401, 'invalid_client');
          return;
        }
        if (o.requireRefreshScope && params.get('grant_type') === 'refresh_token' && !params.get('scope')) {
          refuse(400, 'invalid_request');
          return;
        }
      }
      await next();
    });
  }
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token') {
      if (ctx.body && typeof ctx.body === 'object' && ctx.body.refresh_token !== undefined
        && ctx.body.refresh_token === ctx.oidc?.params?.refresh_token) {
        const { refresh_token: unchanged, ...rest } = ctx.body;
        ctx.body = rest;
      }
      if (o.refreshTokenExpiresIn !== undefined && ctx.status === 200 && ctx.oidc?.params?.grant_type === 'refresh_token') {
        ctx.body = { ...ctx.body, refresh_token_expires_in: o.refreshTokenExpiresIn };
      }
      requests.push({
        params: { ...(ctx.oidc?.params || {}) },
        contentType: ctx.get('content-type'),
        authorization: ctx.get('authorization'),
        status: ctx.status,
        response: ctx.body && typeof ctx.body === 'object' ? { ...ctx.body } : null,
      });
    }
  });
  server.on('request', provider.callback());

  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const form = (params) => (authMethod === 'client_secret_basic'
    ? {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams(params),
    }
    : {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, client_id: clientId, client_secret: clientSecret }),
    });

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    revokeEndpoint: `${issuer}/token/revocation`,
    clientId,
    clientSecret,
    provider,
    requests,
    /** Token-endpoint requests with grant_type=refresh_token. */
    refreshRequests: () => requests.filter((r) => r.params.grant_type === 'refresh_token'),
    /** What an authorization_code exchange with access_type=offline would have stored. */
    async issueRefreshToken(accountId, scope = 'openid email offline_access') {
      const client = await provider.Client.find(clientId);
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const refreshToken = new provider.RefreshToken({ accountId, client, grantId, scope, gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000) });
      return refreshToken.save();
    },
    /** RFC 7009 revocation at the provider (revokes the whole grant, as Google does). */
    async revoke(token, hint = 'refresh_token') {
      const res = await fetch(`${issuer}/token/revocation`, form({ token, token_type_hint: hint }));
      if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
    },
    /** RFC 7662 introspection. */
    async introspect(token) {
      const res = await fetch(`${issuer}/token/introspection`, form({ token }));
      return res.json();
    },
    /** OpenID Connect userinfo with the access token as Bearer. */
    async userinfo(accessToken) {
      const res = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      return { status: res.status, body: res.status === 200 ? await res.json() : null };
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

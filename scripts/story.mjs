// The main job, end to end: the deployable Action (dist/action.js) runs four logins
// against a local Auth0 stand-in (tests/auth0-standin/, started here on 127.0.0.1) with
// a freshly generated key set, and a backend opens what Auth0 would store.
//
//   bash scripts/build.sh && node scripts/story.mjs
//
// 1. a first Google login: the token is read through the Management API and sealed;
// 2. a returning login: no Management API call at all;
// 3. a consent login that brings a new token: the sealed value is replaced;
// 4. a user the old "Store Google Refresh Token" Rule left with a plaintext token:
//    migrated on the next login.
//
// Tokens are fake (shaped like Google's) and are only ever printed masked; the key's
// `k`, the client secret and the Management API token are never printed. Exits 1 when
// an expectation fails.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ACTION = join(root, 'dist', 'action.js');
for (const file of [ACTION, join(root, 'pkg', 'tokenseal.js')]) {
  if (!existsSync(file)) {
    console.error(`story: ${file} is missing; run \`bash scripts/build.sh\` first`);
    process.exit(2);
  }
}
const action = require(ACTION);
const tokenseal = require(join(root, 'pkg', 'tokenseal.js'));
const { createPostLoginRun, createCache } = require(join(root, 'tests', 'auth0-standin', 'actions.cjs'));
const { startManagementApi } = require(join(root, 'tests', 'auth0-standin', 'management-api.cjs'));

// ------------------------------------------------------------------ helpers
const NS = 'https://app.example.com/';
const CLAIM = `${NS}google_offline_access`;
const GOOGLE = { name: 'google-oauth2', strategy: 'google-oauth2' };
const fakeRefreshToken = () => `1//0g${randomBytes(75).toString('base64url')}`;
const fakeAccessToken = () => `ya29.${randomBytes(90).toString('base64url')}`;
const mask = (token) => `${token.slice(0, 5)}…(${token.length} chars)`;
const shortJwe = (jwe) => `${jwe.slice(0, 24)}…(${jwe.length} chars)`;

let failures = 0;
const issued = new Set(); // every refresh and IdP access token of the story
let passed = [];
function check(ok, what) {
  if (ok) passed.push(what);
  else {
    console.log(`   FAIL: ${what}`);
    failures += 1;
  }
}
/** Prints the checks that passed since the last call, wrapped. */
function printChecks() {
  let line = '   checks ok:';
  for (const what of passed) {
    if (line.length + what.length > 100) {
      console.log(line);
      line = '             ';
    }
    line += ` ${what};`;
  }
  if (passed.length) console.log(line);
  passed = [];
}
function section(title) {
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
}

/** app_metadata as one line of JSON, tokens masked and JWEs shortened. */
function showMetadata(appMetadata) {
  const shown = JSON.parse(JSON.stringify(appMetadata), (key, value) => {
    if (typeof value !== 'string') return value;
    if (/^eyJ[\w-]*\.\./.test(value)) return shortJwe(value);
    if (issued.has(value)) return `${mask(value)}  <- PLAINTEXT`;
    return value;
  });
  return redact(JSON.stringify(shown));
}

const client = { id: 'StoryM2mClient0123456789abcdefgh', secret: randomBytes(48).toString('base64url') };
const mgmt = await startManagementApi({
  clients: [{ clientId: client.id, clientSecret: client.secret, scopes: ['read:users', 'read:user_idp_tokens'] }],
});
const keySet = tokenseal.generateKeySet();
const kid = JSON.parse(keySet).keys[0].kid;
const secrets = {
  TOKENSEAL_KEYS: keySet,
  AUTH0_DOMAIN: mgmt.baseUrl,
  AUTH0_CLIENT_ID: client.id,
  AUTH0_CLIENT_SECRET: client.secret,
  TOKENSEAL_CLAIM_NAMESPACE: NS,
};
const cache = createCache(); // one Action instance: api.cache is shared by its logins

/** A text with every secret value replaced, so the story never prints one even if the Action leaks it. */
function redact(text) {
  let out = String(text);
  for (const value of secretValues()) if (value) out = out.split(value).join('[REDACTED]');
  return out;
}

/** Every value that must never appear in a log line or a claim. */
function secretValues() {
  return [
    ...issued,
    ...JSON.parse(keySet).keys.map((k) => k.k),
    secrets.AUTH0_CLIENT_SECRET,
    ...mgmt.store.tokens.keys(),
  ];
}

/**
 * One login through the real Action: what Auth0 would store, what the ID token
 * carries, the Management API calls, what was logged, and the backend's view.
 */
async function login({ userId, idpTokens, query, expect }) {
  for (const v of Object.values(idpTokens || {})) issued.add(v);
  const before = mgmt.requests.length;
  const storedBefore = mgmt.store.getUser(userId).app_metadata;
  const run = createPostLoginRun({ store: mgmt.store, userId, idpTokens, connection: GOOGLE, request: query ? { query } : undefined, secrets, cache });
  const lines = [];
  const saved = { log: console.log, error: console.error, warn: console.warn, info: console.info };
  const capture = (...args) => lines.push(args.map(String).join(' '));
  Object.assign(console, { log: capture, error: capture, warn: capture, info: capture });
  try {
    await action.onExecutePostLogin(run.event, run.api);
  } finally {
    Object.assign(console, saved);
  }
  const result = run.finish();
  const calls = mgmt.requests.slice(before);

  const visible = run.event.user.identities.some((i) => 'refresh_token' in i);
  console.log(`   Management API calls: ${calls.length}${calls.length ? `  (${calls.map((c) => `${c.method} ${c.path.replace(/%7C\d+/, '%7C…')} -> ${c.status}`).join(', ')})` : ''}`);
  console.log(`   Action log: ${lines.length ? redact(lines.join(' | ')) : '(nothing)'}`);
  console.log(`   Auth0 stores app_metadata: ${showMetadata(result.appMetadata)}`);
  const sealed = result.appMetadata.sealed_refresh_tokens?.['google-oauth2'];
  if (sealed) console.log(`   JWE header (public): ${JSON.stringify(tokenseal.inspect(sealed))}`);
  console.log(`   ID token claims: ${redact(JSON.stringify(result.idTokenClaims))}`);

  let opened = null;
  if (sealed) {
    try {
      opened = tokenseal.open(sealed, keySet, userId);
    } catch (error) {
      opened = null;
      console.log(`   backend open() failed: ${error.code}`);
    }
  }
  if (opened !== null) {
    console.log(`   backend: open(sealed, TOKENSEAL_KEYS, "${userId}") = ${mask(opened)}; equals the token ${expect.tokenName}: ${opened === expect.token ? 'yes' : 'NO'}`);
  }

  // Expectations.
  check(!visible, 'event.user shows no IdP token');
  check(calls.length === expect.calls, `${expect.calls} Management API call(s)`);
  check(opened !== null && opened === expect.token, `the stored value opens to the token ${expect.tokenName}`);
  check(sealed && tokenseal.inspect(sealed).sub === userId && tokenseal.inspect(sealed).kid === kid, 'bound to this user_id, under the primary kid');
  if (expect.unchanged) check(sealed === storedBefore.sealed_refresh_tokens?.['google-oauth2'], 'the stored value is left exactly as it was');
  check(result.idTokenClaims[CLAIM] === 'stored' && Object.keys(result.idTokenClaims).length === 1 && Object.keys(result.accessTokenClaims).length === 0,
    'the only claim is <ns>google_offline_access="stored"');
  check(!('refresh_token' in result.appMetadata), 'no plaintext in app_metadata');
  check(result.denied === null && lines.length === 0, 'not denied, nothing logged');
  const texts = [...lines, ...Object.entries({ ...result.idTokenClaims, ...result.accessTokenClaims }).map(([k, v]) => `${k}=${JSON.stringify(v)}`)];
  check(texts.every((text) => secretValues().every((s) => !text.includes(s))), 'no token, key, client secret or M2M token in logs or claims');
  return { sealed, printChecks };
}

// ------------------------------------------------------------------- the story
try {
  const banner = (readFileSync(ACTION, 'utf8').match(/tokenseal [\w.-]+ \([^)]*\)/) || ['tokenseal (unknown build)'])[0];
  console.log(`tokenseal story: dist/action.js, ${banner}`);
  console.log(`Auth0 stand-in (Actions runtime + Management API) on ${mgmt.baseUrl}`);
  console.log(`TOKENSEAL_KEYS: a fresh JWK Set, one A256GCM key, kid "${kid}" (k never printed)`);

  const ada = { id: '103547991597142817347', name: 'Ada' };
  const adaId = `google-oauth2|${ada.id}`;
  mgmt.store.addUser({
    user_id: adaId, email: 'ada@example.com', name: 'Ada', logins_count: 0, app_metadata: { plan: 'pro' },
    identities: [{ connection: 'google-oauth2', provider: 'google-oauth2', user_id: ada.id, isSocial: true }],
  });

  section('1. First Google login (Ada): read through the Management API, sealed');
  const rt1 = fakeRefreshToken();
  console.log(`   Google issues refresh token ${mask(rt1)}; Auth0 keeps it on Ada's identity, not in event.user`);
  const first = await login({ userId: adaId, idpTokens: { refresh_token: rt1, access_token: fakeAccessToken() }, expect: { calls: 2, token: rt1, tokenName: 'Google issued' } });
  printChecks();

  section('2. Returning login (Ada, no consent): nothing to read, nothing to write');
  const second = await login({ userId: adaId, expect: { calls: 0, token: rt1, tokenName: 'Google issued', unchanged: true } });
  check(second.sealed === first.sealed, 'same JWE as after login 1');
  printChecks();

  section('3. Consent login (Ada, prompt=consent): a new token replaces the old');
  const rt2 = fakeRefreshToken();
  console.log(`   Google issues a NEW refresh token ${mask(rt2)}`);
  const third = await login({ userId: adaId, idpTokens: { refresh_token: rt2 }, query: { prompt: 'consent', access_type: 'offline' }, expect: { calls: 1, token: rt2, tokenName: 'issued at consent' } });
  check(third.sealed !== first.sealed && tokenseal.open(third.sealed, keySet, adaId) !== rt1, 'the old token is gone');
  printChecks();

  section('4. Legacy user (Grace): plaintext from the old Rule, migrated');
  const grace = { id: '114477225588009966331' };
  const graceId = `google-oauth2|${grace.id}`;
  const legacy = fakeRefreshToken();
  issued.add(legacy);
  mgmt.store.addUser({
    user_id: graceId, email: 'grace@example.com', name: 'Grace', logins_count: 41,
    app_metadata: { plan: 'free', refresh_token: legacy },
    identities: [{ connection: 'google-oauth2', provider: 'google-oauth2', user_id: grace.id, isSocial: true, refresh_token: legacy }],
  });
  console.log(`   before (as the old Rule left it): ${showMetadata(mgmt.store.getUser(graceId).app_metadata)}`);
  await login({ userId: graceId, expect: { calls: 0, token: legacy, tokenName: 'the Rule stored' } });
  printChecks();

  section('Summary');
  console.log(`   Management API requests in all: ${JSON.stringify(mgmt.counts)} (the M2M token came from api.cache after login 1)`);
  const plaintextLeft = mgmt.store.listUsers().filter((u) => 'refresh_token' in (u.app_metadata || {})).length;
  check(plaintextLeft === 0, 'no user holds a plaintext refresh token in app_metadata');
  printChecks();
  console.log(failures === 0 ? '\nAll expectations met.' : `\n${failures} expectation(s) FAILED.`);
} catch (error) {
  console.error(`story: unexpected error: ${redact(error && error.message)}`);
  failures += 1;
} finally {
  await mgmt.close();
}
process.exitCode = failures === 0 ? 0 : 1;

// The short end-to-end demo of the core: a sample Google login as a Rule sees it, the
// decision that seals the refresh token, what Auth0 would store, what the client sees,
// and the backend opening the sealed value again. Uses the built pkg/ (Node backends'
// package). Run through `bash scripts/demo.sh`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tokenseal = require('../pkg/tokenseal.js');

// A demo key ring made on the spot; in production it lives in the TOKENSEAL_KEYS secret.
const keySet = tokenseal.generateKeySet();
const kid = JSON.parse(keySet).keys[0].kid;

// Fake, but shaped like Google's: "1//0" + 100 base64url-ish characters.
const refreshToken = `1//0g${'DemoRefreshTokenNotReal-'.repeat(4)}`;
const user = {
  user_id: 'google-oauth2|109876543210987654321',
  email: 'ada@example.com',
  identities: [{
    provider: 'google-oauth2', connection: 'google-oauth2', user_id: '109876543210987654321', isSocial: true,
    access_token: 'ya29.demo-access-token-not-real', refresh_token: refreshToken, expires_in: 3599,
  }],
  app_metadata: { plan: 'pro' },
};

const mask = (text) => `${text.slice(0, 6)}…(${text.length} chars)`;
const section = (title) => console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`);

section('1. A Google login arrives (refresh token in the identity, as a Rule sees it)');
console.log(`user ${user.user_id}, Google refresh token ${mask(refreshToken)}`);

const plan = tokenseal.planLogin({ user, read: 'never', claimNamespace: 'https://app.example.com/' }, keySet);
section('2. tokenseal decides');
console.log(`outcome: ${plan.outcome}; offline access: ${plan.offlineAccess}; notices: ${JSON.stringify(plan.notices)}`);

section('3. What Auth0 stores in app_metadata');
console.log(JSON.stringify(plan.appMetadata, null, 2));
const sealed = plan.appMetadata.sealed_refresh_tokens['google-oauth2'];
console.log('protected header (public):', JSON.stringify(tokenseal.inspect(sealed)));
console.log(`primary key: kid ${kid}`);

section('4. What the client sees (sanitized user + ID token claims)');
console.log(JSON.stringify(plan.sanitizedUser, null, 2));
console.log('claims:', JSON.stringify(plan.claims));
const leaked = JSON.stringify(plan.sanitizedUser).includes(refreshToken) || JSON.stringify(plan.claims).includes('1//');
console.log(`refresh token visible to the client: ${leaked ? 'YES (bug!)' : 'no'}`);

section('5. The backend opens the sealed value with the key');
const opened = tokenseal.open(sealed, keySet, user.user_id);
console.log(`opened ${mask(opened)}; equals the token Google issued: ${opened === refreshToken}`);
try {
  tokenseal.open(sealed, keySet, 'auth0|someone-else');
} catch (error) {
  console.log(`opening it for another user fails: ${error.code}`);
}
if (leaked || opened !== refreshToken) process.exit(1);

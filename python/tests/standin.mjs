// The Node test suite's real OAuth 2.0 server (oidc-provider, tests/backend/google-standin.mjs)
// for pytest: prints its endpoints, client and one issued refresh token as one JSON line,
// and stops when its standard input closes.
//
//   node python/tests/standin.mjs [--rotate] [--ttl=SECONDS] [--basic] [--require-scope]
import { startGoogleStandin } from '../../tests/backend/google-standin.mjs';

const ttl = Number((process.argv.find((a) => a.startsWith('--ttl=')) || '--ttl=600').slice(6));
const google = await startGoogleStandin({
  accessTokenTtl: ttl,
  rotateRefreshToken: process.argv.includes('--rotate'),
  authMethod: process.argv.includes('--basic') ? 'client_secret_basic' : 'client_secret_post',
  requireRefreshScope: process.argv.includes('--require-scope'),
});
const refreshToken = await google.issueRefreshToken('python-account');
process.stdout.write(`${JSON.stringify({
  issuer: google.issuer,
  tokenEndpoint: google.tokenEndpoint,
  revokeEndpoint: google.revokeEndpoint,
  userinfo: `${google.issuer}/me`,
  clientId: google.clientId,
  clientSecret: google.clientSecret,
  refreshToken,
})}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await google.close();
  process.exit(0);
});

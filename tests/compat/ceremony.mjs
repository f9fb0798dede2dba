// Browser ceremonies for the Python suite, which has no browser of its own:
//   node ceremony.mjs <apiUrl> <apiKey> <registerToken> <nickname>
// registers a passkey with the unchanged browser SDK on a fresh virtual authenticator, then
// signs in with it (signinWithDiscoverable), and prints one JSON object on stdout:
//   {origin, register: <register() result>, signin: <signinWithDiscoverable() result>,
//    credentials: <WebAuthn.getCredentials>}
// The verify tokens are left unverified so that the Python SDK is the first to redeem them.

import { startHarness } from './lib/harness.mjs';

const [apiUrl, apiKey, registerToken, nickname] = process.argv.slice(2);
if (!apiUrl || !apiKey || !registerToken) {
  console.error('usage: node ceremony.mjs <apiUrl> <apiKey> <registerToken> [nickname]');
  process.exit(2);
}

// Same rule as the Node suite: the page is on localhost, so the API is too.
const h = await startHarness({ apiUrl: apiUrl.replace('//127.0.0.1:', '//localhost:') });
let exitCode = 0;
try {
  const register = await h.client(apiKey, 'register', registerToken, nickname || undefined);
  // Only sign in when registration worked; the error is reported either way.
  const signin = register?.token ? await h.client(apiKey, 'signinWithDiscoverable') : null;
  const credentials = await h.credentials();
  process.stdout.write(`${JSON.stringify({ origin: h.origin, register, signin, credentials })}\n`);
} catch (e) {
  console.error(`ceremony failed: ${e?.stack || e}`);
  exitCode = 1;
} finally {
  await h.close();
}
process.exit(exitCode);

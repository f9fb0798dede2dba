// End-to-end test of the Harbor example, used as a person would: `npm start` (which starts its
// own passkeyd), then Debian's Chromium driven by playwright-core, with CDP virtual
// authenticators standing in for a laptop's passkey and a USB security key. A short second
// pass runs a copy with SESSION_CHECK=passage (sessions checked by passage-node).
//
// Every check prints "ok - …" or "not ok - …: reason"; the last line is
// "example: N passed, M failed" and the exit status is 1 when M > 0. Screenshots of every
// page and state go to examples/express/screenshots/.
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium), EXAMPLE_VERBOSE=1 (page console and the
// example's output).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { chromium } from 'playwright-core';
import { PasswordlessClient } from '@passwordlessdev/passwordless-nodejs';

const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = join(EXAMPLE_DIR, 'screenshots');
const VERBOSE = !!process.env.EXAMPLE_VERBOSE;
const TIMEOUT = 15_000; // for one visible change; WebAuthn with a virtual authenticator takes < 1 s

// ---- a tiny check runner ------------------------------------------------------------------

let passed = 0;
let failed = 0;
class Missing extends Error {}

async function check(name, fn) {
  try {
    const value = await fn();
    passed++;
    console.log(`ok - ${name}`);
    return value ?? true;
  } catch (e) {
    failed++;
    const reason = e instanceof Missing ? `not run: ${e.message}` : String(e?.message ?? e).split('\n')[0];
    console.log(`not ok - ${name}: ${reason}`);
    if (VERBOSE && e?.stack) console.error(e.stack);
    return undefined;
  }
}
const need = (value, what) => {
  if (value === undefined || value === null) throw new Missing(`${what} is missing (an earlier check failed)`);
  return value;
};
const assert = (cond, message) => {
  if (!cond) throw new Error(message);
};
const eq = (actual, expected, label) =>
  assert(actual === expected, `${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);

function finish() {
  console.log(`example: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

// ---- the example server --------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs `npm start` in its own process group; resolves once it says it is running. */
async function startExample(env, label) {
  const port = await freePort();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: EXAMPLE_DIR,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() ends npm, node and passkeyd together
  });
  let output = '';
  const onData = (chunk) => {
    output += chunk;
    if (VERBOSE) process.stderr.write(`[${label}] ${chunk}`);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const stop = async () => {
    if (child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 8000))]);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 180_000; // a first `cargo build --release` happens in run.sh, not here
  while (!/Harbor is running at/.test(output)) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error('npm start did not report "Harbor is running" within 180 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { origin: `http://localhost:${port}`, output: () => output, stop };
}

// ---- virtual authenticators: "devices" the person switches between ---------------------------

// A laptop's built-in authenticator whose passkeys sync (backup eligible), and a USB key.
const DEVICES = {
  laptop: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
    isUserVerified: true, automaticPresenceSimulation: true, defaultBackupEligibility: true, defaultBackupState: true,
  },
  key: {
    protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true,
    isUserVerified: true, automaticPresenceSimulation: true,
  },
};

/**
 * One device is attached at a time; its passkeys are kept when it is detached. Chromium's
 * virtual authenticator answers autofill at once (a person would pick the passkey from the
 * list), so `hide()` takes the passkeys away while the test wants to stay on the sign-in page.
 */
function deviceShelf(cdp) {
  const saved = { laptop: [], key: [] };
  let current = null;
  let id = null;
  const shelf = {
    get current() { return current; },
    async use(name) {
      if (current === name) return;
      if (current) {
        saved[current] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id });
      }
      ({ authenticatorId: id } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: DEVICES[name] }));
      for (const credential of saved[name]) await cdp.send('WebAuthn.addCredential', { authenticatorId: id, credential });
      current = name;
    },
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
    },
    async hide() {
      saved[current] = await shelf.credentials();
      await cdp.send('WebAuthn.clearCredentials', { authenticatorId: id });
    },
    async restore() {
      await cdp.send('WebAuthn.clearCredentials', { authenticatorId: id });
      for (const credential of saved[current]) await cdp.send('WebAuthn.addCredential', { authenticatorId: id, credential });
    },
    /** false: the person fails (or cancels) the fingerprint / PIN check. */
    async setUserVerified(isUserVerified) {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId: id, isUserVerified });
    },
  };
  return shelf;
}

// ---- the run ------------------------------------------------------------------------------

rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'harbor-e2e-'));
const passageDataDir = mkdtempSync(join(tmpdir(), 'harbor-e2e-passage-'));

// Only the example's own passkeyd: ignore any PASSKEYD_* of the calling shell.
for (const k of Object.keys(process.env)) if (k.startsWith('PASSKEYD_')) delete process.env[k];

let example;
let broken;
let passage;
let browser;
const pageErrors = [];

async function main() {
  example = await check('npm start: the example starts its own passkeyd and serves the app', () =>
    startExample({ HARBOR_DATA_DIR: dataDir }, 'example'));
  if (!example) return;
  const { origin } = example;

  browser = await check('browser: Debian Chromium starts with a virtual authenticator', () =>
    chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    }));
  if (!browser) return;
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'en-US' });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  if (VERBOSE) page.on('console', (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const devices = deviceShelf(cdp);
  await devices.use('laptop');

  let shotNo = 0;
  const shot = async (name) => {
    shotNo++;
    const file = join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  };
  const see = (text) => page.getByText(text, { exact: false }).first().waitFor({ state: 'visible' });
  const alertText = async () => (await page.locator('.alert').allInnerTexts()).join(' | ');
  const autofillSettled = () =>
    page.waitForSelector('#signin-form[data-autofill="done"], #signin-form[data-autofill="unsupported"]', { state: 'attached' });
  const rows = () => page.locator('#passkey-list .passkey');
  const row = (text) => rows().filter({ hasText: text });

  // What the backend of the example uses, read as an operator would: for cross-checks.
  const keys = JSON.parse(readFileSync(join(dataDir, 'harbor-keys.json'), 'utf8'));
  const configJs = await (await fetch(`${origin}/config.js`)).text();
  const passkeydUrl = JSON.parse(configJs.replace(/^export default /, '').replace(/;\s*$/, '')).apiUrl.replace('//localhost:', '//127.0.0.1:');
  const pl = new PasswordlessClient(keys.apiSecret, { baseUrl: passkeydUrl });

  const email = `alice-${Date.now().toString(36)}@example.com`;
  let userId;

  // ---- signed out -------------------------------------------------------------------------

  await check('landing page: the product pitch with "Create account" and "Sign in"', async () => {
    await page.goto(`${origin}/`);
    await see('locked with passkeys');
    await see('Create your account');
    await shot('landing');
  });

  await check('the dashboard needs a session: /dashboard redirects to /signin', async () => {
    await devices.hide(); // nothing to autofill yet anyway
    await page.goto(`${origin}/dashboard`);
    eq(new URL(page.url()).pathname, '/signin', 'path after /dashboard');
    await devices.restore();
  });

  // ---- sign-up ------------------------------------------------------------------------------

  const signedUp = await check('sign-up: e-mail + a new passkey → dashboard with the account', async () => {
    await page.goto(`${origin}/signup`);
    await page.getByLabel('Work e-mail').fill(email);
    await shot('signup');
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await page.waitForURL('**/dashboard');
    await see('Welcome to Harbor!');
    await see(`Signed in as ${email}`);
    await rows().first().waitFor();
    eq(await rows().count(), 1, 'passkeys listed');
    await see('Chrome on Linux');
    await see('Synced passkey');
    await see('This is your only passkey');
    await shot('dashboard-new-account');
    eq((await devices.credentials()).length, 1, 'passkeys on the laptop');
    return true;
  });

  await check('session cookie: HttpOnly, SameSite=Lax, an RS256 JWT from passkeyd that jose verifies', async () => {
    need(signedUp, 'the account');
    const cookie = (await context.cookies(origin)).find((c) => c.name === 'harbor_session');
    assert(cookie, 'no harbor_session cookie');
    eq(cookie.httpOnly, true, 'httpOnly');
    eq(cookie.sameSite, 'Lax', 'sameSite');
    eq(cookie.secure, false, 'secure (plain http on localhost)');
    eq(await page.evaluate(() => document.cookie.includes('harbor_session')), false, 'visible to page scripts');
    const header = decodeProtectedHeader(cookie.value);
    eq(header.alg, 'RS256', 'alg');
    assert(header.kid, 'no kid in the JWT header');
    const jwks = createRemoteJWKSet(new URL(`${passkeydUrl}/v1/apps/${keys.appId}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(cookie.value, jwks, { algorithms: ['RS256'], issuer: 'passkeyd', audience: keys.appId });
    assert(payload.sub && payload.exp > payload.iat, `claims ${JSON.stringify(payload)}`);
    userId = payload.sub;
    const aliases = await pl.listAliases(userId);
    eq(aliases?.[0]?.plaintext, email, 'the alias passkeyd keeps for the user');
  });

  await check('a forged or missing session is refused (401 on the API, redirect on pages)', async () => {
    const bad = [
      '',
      'not-a-jwt',
      // alg "none" with the right claims must never pass
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'passkeyd', sub: 'x', aud: [keys.appId], exp: 4e9 })).toString('base64url')}.`,
    ];
    for (const value of bad) {
      const headers = value ? { Cookie: `harbor_session=${value}` } : {};
      eq((await fetch(`${origin}/api/me`, { headers })).status, 401, `/api/me with cookie ${JSON.stringify(value.slice(0, 20))}`);
      const res = await fetch(`${origin}/dashboard`, { headers, redirect: 'manual' });
      eq(res.headers.get('location'), '/signin', '/dashboard redirect');
    }
  });

  // ---- sign-out, then two ways to sign in ---------------------------------------------------

  const signOut = async () => {
    await devices.hide(); // or the virtual authenticator would autofill on the sign-in page at once
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/signin');
    await autofillSettled();
    await devices.restore();
  };

  await check('sign-out: back on the sign-in page with a notice, and the session is gone', async () => {
    need(signedUp, 'the account');
    await signOut();
    await see("You're signed out");
    assert(!(await page.locator('.alert-error').count()), `unexpected error: ${await alertText()}`);
    await shot('signed-out');
    eq((await context.cookies(origin)).some((c) => c.name === 'harbor_session'), false, 'cookie still set');
  });

  await check('sign-up again with the same e-mail: "already exists", no second account', async () => {
    need(signedUp, 'the account');
    await page.goto(`${origin}/signup`);
    await page.getByLabel('Work e-mail').fill(email.toUpperCase());
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await see('already exists');
    await shot('signup-email-taken');
    eq((await devices.credentials()).length, 1, 'passkeys on the laptop');
  });

  await check('sign-in with the button and the e-mail address → dashboard', async () => {
    need(signedUp, 'the account');
    await devices.hide();
    await page.goto(`${origin}/signin`);
    await autofillSettled();
    await devices.restore();
    await page.getByLabel('E-mail').fill(email);
    await shot('signin');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL('**/dashboard');
    await see('You signed in with your passkey.');
    await see(`Signed in as ${email}`);
    await shot('dashboard-signed-in');
  });

  await check('sign-in with autofill: the passkey offered in the e-mail field → dashboard', async () => {
    need(signedUp, 'the account');
    await signOut();
    // The passkeys are back: the sign-in page's autofill request now finds one.
    await page.goto(`${origin}/signin`);
    await page.waitForURL('**/dashboard');
    await see('You signed in with passkey autofill.');
    await shot('dashboard-autofill');
  });

  // ---- managing passkeys --------------------------------------------------------------------

  const added = await check('add a second passkey on a USB security key → two passkeys listed', async () => {
    need(signedUp, 'the account');
    await devices.use('key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByLabel('Name for the new passkey').fill('YubiKey 5C');
    await shot('add-passkey');
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await see('Passkey added');
    await row('YubiKey 5C').waitFor();
    eq(await rows().count(), 2, 'passkeys listed');
    await row('YubiKey 5C').getByText('Security key').waitFor();
    await see('2 passkeys can sign in');
    await shot('two-passkeys');
    return true;
  });

  await check('rename a passkey → the new name in the list and in passkeyd', async () => {
    need(added, 'two passkeys');
    await row('Chrome on Linux').getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('Passkey name').fill('Work laptop');
    await shot('rename-passkey');
    await page.getByRole('button', { name: 'Save' }).click();
    await see('Passkey renamed');
    await row('Work laptop').waitFor();
    eq(await row('Chrome on Linux').count(), 0, 'rows with the old name');
    const nicknames = (await pl.listCredentials(need(userId, 'the user id'))).map((c) => c.nickname).sort();
    eq(nicknames.join(','), 'Work laptop,YubiKey 5C', 'nicknames in passkeyd (credentials/list)');
  });

  const removed = await check('remove a passkey (after a confirmation) → one left, and it cannot be removed', async () => {
    need(added, 'two passkeys');
    await row('YubiKey 5C').getByRole('button', { name: 'Remove' }).click();
    await see('Remove “YubiKey 5C”?');
    await shot('remove-passkey-confirm');
    await page.getByRole('button', { name: 'Remove passkey' }).click();
    await see('Passkey removed');
    await page.waitForFunction(() => document.querySelectorAll('#passkey-list .passkey').length === 1);
    await see('This is your only passkey');
    assert(await row('Work laptop').getByRole('button', { name: 'Remove' }).isDisabled(), 'Remove is enabled on the only passkey');
    await shot('one-passkey-left');
    eq((await pl.listCredentials(userId)).length, 1, 'credentials in passkeyd');
    // The server enforces it too, and never touches a passkey that is not the user's.
    const only = await row('Work laptop').getAttribute('data-id');
    const last = await page.request.delete(`${origin}/api/passkeys/${only}`, { data: {} });
    eq(last.status(), 409, 'DELETE of the last passkey');
    eq((await last.json()).error.code, 'last_passkey', 'error code');
    const foreign = await page.request.delete(`${origin}/api/passkeys/AAAA`, { data: {} });
    eq(foreign.status(), 404, 'DELETE of a passkey that is not the user\'s');
    return true;
  });

  // ---- step-up and the sensitive action -----------------------------------------------------

  await check('sensitive action: refused without step-up, then confirm with the passkey → token created', async () => {
    need(signedUp, 'the account');
    await devices.use('laptop');
    await see('Needs a fresh passkey check');
    const direct = await page.request.post(`${origin}/api/tokens`, { data: {} });
    eq(direct.status(), 403, 'POST /api/tokens before a step-up');
    eq((await direct.json()).error.code, 'step_up_required', 'error code');
    await page.getByRole('button', { name: 'Create API token' }).click();
    await see("Confirm it's you.");
    await shot('step-up-required');
    await page.getByRole('button', { name: 'Confirm with passkey' }).click();
    await see('Your new API token');
    await see('Identity confirmed until');
    const token = await page.locator('#token-value').innerText();
    assert(/^hbr_[0-9a-f]{40}$/.test(token), `token ${token}`);
    await shot('token-created');
  });

  await check('step-up refuses an ordinary sign-in token (purpose "sign-in") and a reused one', async () => {
    need(signedUp, 'the account');
    // Not a person's path: the browser SDK called directly, as a script on the page could.
    const signinToken = await page.evaluate(async (id) => {
      const { default: config } = await import('/config.js');
      const r = await new window.Passwordless.Client(config).signinWithId(id);
      return r.token ?? JSON.stringify(r.error);
    }, need(userId, 'the user id'));
    assert(signinToken.startsWith('verify_'), `sign-in: ${signinToken}`);
    const res = await page.request.post(`${origin}/api/step-up`, { data: { token: signinToken } });
    eq(res.status(), 403, 'POST /api/step-up with a sign-in token');
    eq((await res.json()).error.code, 'step_up_failed', 'error code');
    const again = await page.request.post(`${origin}/api/step-up`, { data: { token: signinToken } });
    eq(again.status(), 403, 'POST /api/step-up with the same token again');
  });

  // ---- bad states ----------------------------------------------------------------------------

  await check('cancelled passkey prompt (user verification fails) → a friendly message, still signed out', async () => {
    need(signedUp, 'the account');
    await signOut();
    await devices.setUserVerified(false);
    try {
      await page.goto(`${origin}/signin`);
      await autofillSettled();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await see('Passkey request cancelled');
      await see('closed or timed out');
      eq(new URL(page.url()).pathname, '/signin', 'path');
      await shot('error-prompt-cancelled');
    } finally {
      await devices.setUserVerified(true);
    }
  });

  await check('a removed passkey (still on the security key) → "Unknown passkey"', async () => {
    need(removed, 'the removed passkey');
    await devices.use('key'); // it still holds the passkey removed from the account
    await page.goto(`${origin}/signin`);
    await autofillSettled();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await see('Unknown passkey');
    await see('may have been removed from your account');
    eq(new URL(page.url()).pathname, '/signin', 'path');
    await shot('error-unknown-passkey');
    await devices.use('laptop');
  });

  await check('passkeyd unreachable → "Passkey service unavailable" on sign-up and sign-in', async () => {
    // A second copy of the example, configured with a passkeyd that is not running.
    const deadPort = await freePort();
    broken = await startExample({
      PASSKEYD_URL: `http://127.0.0.1:${deadPort}`,
      PASSKEYD_PUBLIC_URL: `http://localhost:${deadPort}`,
      PASSKEYD_API_KEY: `harbor:public:${'0'.repeat(32)}`,
      PASSKEYD_API_SECRET: `harbor:secret:${'0'.repeat(32)}`,
    }, 'broken');
    await page.goto(`${broken.origin}/signup`);
    await page.getByLabel('Work e-mail').fill('bob@example.com');
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await see('Passkey service unavailable');
    await see("can't reach the passkey service");
    await shot('error-passkeyd-unreachable-signup');
    await page.goto(`${broken.origin}/signin`);
    await see('Passkey service unavailable');
    await shot('error-passkeyd-unreachable-signin');
  });

  await passagePass();

  await check('no uncaught script errors on any page', async () => {
    eq(pageErrors.length, 0, `page errors (${pageErrors.join(' | ')})`);
  });
}

// ---- the Passage way: SESSION_CHECK=passage -------------------------------------------------

/**
 * A short second pass with sessions checked by the Passage Node SDK (passage-node 2.12.1,
 * loaded behind passkeyd's preload by `npm start`), on a second copy of the example with its
 * own passkeyd: sign up, sign out, sign in, and a tampered session refused.
 */
async function passagePass() {
  passage = await check('SESSION_CHECK=passage npm start: passage-node behind the preload, with its own passkeyd', async () => {
    const started = await startExample({ HARBOR_DATA_DIR: passageDataDir, SESSION_CHECK: 'passage' }, 'passage');
    assert(/sessions checked with passage-node/.test(started.output()), 'the example does not say it checks with passage-node');
    return started;
  });
  if (!passage || !browser) return;
  const { origin } = passage;

  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'en-US' });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  if (VERBOSE) page.on('console', (m) => process.stderr.write(`[passage page ${m.type()}] ${m.text()}\n`));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const devices = deviceShelf(cdp);
  await devices.use('laptop');

  let shotNo = 0;
  const shot = async (name) => {
    shotNo++;
    await page.screenshot({ path: join(SHOTS, `passage-${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const see = (text) => page.getByText(text, { exact: false }).first().waitFor({ state: 'visible' });
  const autofillSettled = () =>
    page.waitForSelector('#signin-form[data-autofill="done"], #signin-form[data-autofill="unsupported"]', { state: 'attached' });
  const sessionCookie = async () => (await context.cookies(origin)).find((c) => c.name === 'psg_auth_token');
  const me = (cookie) => fetch(`${origin}/api/me`, { headers: { Cookie: cookie } });

  const email = `pat-${Date.now().toString(36)}@example.com`;
  let token;

  const signedUp = await check('passage: sign-up → dashboard; the JWT is in the psg_auth_token cookie', async () => {
    await page.goto(`${origin}/signup`);
    await page.getByLabel('Work e-mail').fill(email);
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await page.waitForURL('**/dashboard');
    await see(`Signed in as ${email}`);
    const cookie = await sessionCookie();
    assert(cookie, 'no psg_auth_token cookie');
    eq(cookie.httpOnly, true, 'httpOnly');
    eq((await context.cookies(origin)).some((c) => c.name === 'harbor_session'), false, 'harbor_session set too');
    token = cookie.value;
    return true;
  });

  await check('passage: sign-out → sign-in page, and the cookie is gone', async () => {
    need(signedUp, 'the account');
    await devices.hide(); // or the virtual authenticator would autofill on the sign-in page at once
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/signin');
    await see("You're signed out");
    await autofillSettled();
    await devices.restore();
    eq(await sessionCookie(), undefined, 'psg_auth_token after sign-out');
  });

  const signedIn = await check('passage: sign-in → the dashboard shows the user, as authenticateRequest answered', async () => {
    need(signedUp, 'the account');
    await devices.hide();
    await page.goto(`${origin}/signin`);
    await autofillSettled();
    await devices.restore();
    await page.getByLabel('E-mail').fill(email);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL('**/dashboard');
    await see('You signed in with your passkey.');
    await see(`Signed in as ${email}`);
    await page.locator('#session-facts').getByText('passage-node', { exact: true }).waitFor();
    await see('passage.authenticateRequest');
    await shot('dashboard-signed-in');
    token = (await sessionCookie())?.value;
    assert(token, 'no psg_auth_token cookie');
    // The server's answer for this cookie: the user id is the JWT's sub, as passage-node read it.
    const res = await me(`psg_auth_token=${token}`);
    eq(res.status, 200, '/api/me with the cookie');
    const body = await res.json();
    eq(body.userId, decodeJwt(token).sub, 'user id vs the JWT sub');
    eq(body.email, email, 'e-mail');
    eq(body.session.checkedWith, 'passage-node', 'checked with');
    return true;
  });

  await check('passage: a tampered session cookie is refused (401 on the API, redirect to sign-in)', async () => {
    need(signedIn, 'a session');
    const [header, payload, signature] = token.split('.');
    const claims = decodeJwt(token);
    // The same signature over other claims: another user, and a later expiry.
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else', exp: claims.exp + 3600 })).toString('base64url')}.${signature}`;
    for (const value of [forged, `${header}.${payload}.${signature.slice(0, 40)}${signature[40] === 'A' ? 'B' : 'A'}${signature.slice(41)}`]) {
      eq((await me(`psg_auth_token=${value}`)).status, 401, '/api/me with a tampered cookie');
    }
    // passage-node reads psg_auth_token only: the valid JWT under jose mode's name is no session.
    eq((await me(`harbor_session=${token}`)).status, 401, '/api/me with the JWT in harbor_session');
    // In the browser: the tampered cookie in place of the real one.
    await context.addCookies([{ name: 'psg_auth_token', value: forged, url: origin, httpOnly: true, sameSite: 'Lax' }]);
    await devices.hide(); // stay on the sign-in page
    await page.goto(`${origin}/dashboard`);
    eq(new URL(page.url()).pathname, '/signin', 'path after /dashboard with the tampered cookie');
    await autofillSettled();
    await shot('tampered-cookie-signin');
  });

  await context.close();
}

let status = 1;
try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - the run stopped: ${String(e?.message ?? e).split('\n')[0]}`);
} finally {
  await browser?.close().catch(() => {});
  await broken?.stop();
  await passage?.stop();
  await example?.stop();
  if (failed && example && VERBOSE) console.error(example.output().split('\n').slice(-30).join('\n'));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(passageDataDir, { recursive: true, force: true });
  status = finish();
}
process.exit(status);

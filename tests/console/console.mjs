// The admin console in Chromium: sign in, create an app, register a passkey for one of its
// users with the published browser SDK (virtual authenticator), find the user in the console
// and delete the passkey, see that it no longer signs in, and read the event. Saves a
// screenshot of every page to screenshots/. Prints "console: N passed, M failed" last.
//
// Env: PASSKEYD_URL (http://localhost:<port>), PASSKEYD_MANAGEMENT_KEY, CHROMIUM_PATH.

import http from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, 'screenshots');
const BASE = process.env.PASSKEYD_URL;
const KEY = process.env.PASSKEYD_MANAGEMENT_KEY;
const require = createRequire(import.meta.url);
const SDK = readFileSync(join(dirname(require.resolve('@passwordlessdev/passwordless-client/package.json')),
  'dist/iife/passwordless.iife.js'));

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    const value = await fn();
    passed += 1;
    console.log(`ok   ${name}`);
    return value;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${e.message}`);
    return undefined;
  }
}
function ensure(cond, what) { if (!cond) throw new Error(what); }
function need(value, what) { if (value === undefined) throw new Error(`skipped: no ${what}`); return value; }

// The app's own page, on another origin, where the SDK runs as a customer's site would.
const appPage = http.createServer((req, res) => {
  if (req.url === '/sdk.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(SDK);
  } else {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><meta charset="utf-8"><title>shop</title><script src="/sdk.js"></script>');
  }
});
await new Promise((r) => appPage.listen(0, '127.0.0.1', r));
// localhost, not 127.0.0.1: an IP address cannot be a WebAuthn RP ID.
const APP_ORIGIN = `http://localhost:${appPage.address().port}`;

mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const consolePage = await context.newPage();
const shop = await context.newPage();
const cdp = await context.newCDPSession(shop);
await cdp.send('WebAuthn.enable', { enableUI: false });
await cdp.send('WebAuthn.addVirtualAuthenticator', {
  options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
    isUserVerified: true, automaticPresenceSimulation: true },
});

const shot = (name) => consolePage.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const go = async (path) => { await consolePage.goto(`${BASE}${path}`); };
const sdk = (apiKey, method, ...args) => shop.evaluate(
  async ({ apiKey, apiUrl, method, args }) => new Passwordless.Client({ apiKey, apiUrl })[method](...args),
  { apiKey, apiUrl: BASE, method, args },
);
const backend = async (secret, path, body) => {
  const res = await fetch(`${BASE}${path}`, {
    method: 'POST', headers: { ApiSecret: secret, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
};

const APP = `shop${Date.now().toString(36)}`;
const USER = `user-${Math.random().toString(36).slice(2, 8)}`;
const ALIAS = `${USER}@example.com`;

try {
  await check('the sign-in page asks for the management key', async () => {
    await go('/console');
    ensure(consolePage.url().endsWith('/console/signin'), `redirected to ${consolePage.url()}`);
    await shot('01-signin');
    await consolePage.fill('input[name=key]', 'not-the-key');
    await consolePage.click('button:has-text("Sign in")');
    ensure(await consolePage.isVisible('text=not the management key'), 'a wrong key is refused');
    await consolePage.fill('input[name=key]', KEY);
    await consolePage.click('button:has-text("Sign in")');
    ensure(consolePage.url().endsWith('/console/apps'), `after sign-in: ${consolePage.url()}`);
  });

  const keys = await check('create an app: its keys are shown once', async () => {
    await consolePage.fill('input[name=app_id]', APP);
    await consolePage.fill('input[name=admin_email]', 'ops@example.com');
    await consolePage.click('button:has-text("Create app")');
    const codes = await consolePage.locator('.secret code').allTextContents();
    ensure(codes.length === 4, `${codes.length} keys shown`);
    ensure(codes[0].startsWith(`${APP}:public:`) && codes[2].startsWith(`${APP}:secret:`), codes.join(' '));
    await shot('02-app-created');
    return { publicKey: codes[0], secret: codes[2] };
  });

  await check('the app list finds the new app', async () => {
    await go(`/console/apps?q=${APP.slice(0, 6)}`);
    ensure(await consolePage.isVisible(`a:has-text("${APP}")`), 'listed');
    await shot('03-apps');
  });

  await check('a passkey registers for a user of the app with the browser SDK', async () => {
    const { publicKey, secret } = need(keys, 'keys');
    await shop.goto(`${APP_ORIGIN}/`);
    await shop.waitForFunction(() => typeof window.Passwordless?.Client === 'function');
    const t = await backend(secret, '/register/token', { userId: USER, username: ALIAS, aliases: [ALIAS] });
    ensure(t.status === 200, `register/token ${t.status} ${JSON.stringify(t.body)}`);
    const r = await sdk(publicKey, 'register', t.body.token, 'Work laptop');
    ensure(r?.token?.startsWith('verify_'), `register: ${JSON.stringify(r)}`);
    const s = await sdk(publicKey, 'signinWithAlias', ALIAS);
    ensure(s?.token?.startsWith('verify_'), `sign-in before the deletion: ${JSON.stringify(s)}`);
  });

  await check('the console finds the user by alias and shows the passkey', async () => {
    await go(`/console/apps/${APP}/users?q=${encodeURIComponent(ALIAS)}`);
    await shot('04-users');
    await consolePage.click(`a:has-text("${USER}")`);
    const row = consolePage.locator('tr.passkey');
    ensure((await row.count()) === 1, `${await row.count()} passkeys listed`);
    const text = await row.first().textContent();
    ensure(text.includes('Work laptop'), `nickname missing: ${text}`);
    await shot('05-user');
  });

  await check('deleting the passkey asks first, then deletes it', async () => {
    await consolePage.click('tr.passkey a:has-text("Delete")');
    ensure(await consolePage.isVisible('text=Are you sure?'), 'a confirmation page');
    await shot('06-confirm');
    await consolePage.click('button:has-text("Yes, do it")');
    ensure(await consolePage.isVisible('text=The passkey was deleted.'), 'a notice');
    ensure((await consolePage.locator('tr.passkey').count()) === 0, 'no passkey left');
    await shot('07-user-after');
  });

  await check('the deleted passkey no longer signs in', async () => {
    const { publicKey } = need(keys, 'keys');
    for (const [method, args] of [['signinWithAlias', [ALIAS]], ['signinWithDiscoverable', []]]) {
      const r = await sdk(publicKey, method, ...args);
      ensure(!r?.token && r?.error, `${method} still works: ${JSON.stringify(r)}`);
    }
  });

  await check('the event log shows the deletion, made by the console', async () => {
    await go(`/console/apps/${APP}/events?type=ApiUserDeleteCredential`);
    const rows = await consolePage.locator('table.events tbody tr').allTextContents();
    ensure(rows.length === 1, `${rows.length} events`);
    ensure(rows[0].includes('console') && rows[0].includes(USER), rows[0]);
    await go(`/console/apps/${APP}/events`);
    await shot('08-events');
  });

  await check('keys, reports, settings, overview and health pages render', async () => {
    for (const [name, path, text] of [
      ['09-overview', `/console/apps/${APP}`, 'Features'],
      ['10-keys', `/console/apps/${APP}/keys`, 'API keys'],
      ['11-reports', `/console/apps/${APP}/reports`, 'Passkeys and users over time'],
      ['12-settings', `/console/apps/${APP}/settings`, 'Purposes'],
      ['13-health', '/console/health', 'Healthy'],
    ]) {
      await go(path);
      ensure(await consolePage.isVisible(`text=${text}`), `${path} shows ${text}`);
      if (name === '11-reports') ensure((await consolePage.locator('figure.chart svg').count()) === 2, 'two charts');
      await shot(name);
    }
  });

  await check('signing out ends the session', async () => {
    await consolePage.click('button:has-text("Sign out")');
    await go('/console/apps');
    ensure(consolePage.url().endsWith('/console/signin'), `after sign-out: ${consolePage.url()}`);
  });
} finally {
  await browser.close().catch(() => {});
  appPage.close();
}

console.log(`console: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// Passkey Flex suite: the published, unchanged @passageidentity/passage-flex-js 1.0.2 in Debian's
// Chromium, sent to a real passkeyd by clients/passage-flex-js/redirect.js. The back end is
// plain fetch with the app's API secret as the bearer key, as passage-flex-node would send it.
//
// Run: PASSKEYD_URL=http://127.0.0.1:<port> PASSKEYD_MANAGEMENT_KEY=… node flex.mjs
// Output: "ok - …" / "not ok - …: reason" / "note - …" lines, then "flex: N passed, M failed".

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const REDIRECT_JS = join(HERE, '../../clients/passage-flex-js/redirect.js');
const VERBOSE = !!process.env.FLEX_VERBOSE;

const need = (v, what) => {
  if (!v) throw new Error(`${what} is not set`);
  return v;
};
const baseUrl = need(process.env.PASSKEYD_URL, 'PASSKEYD_URL').replace(/\/+$/, '');
const managementKey = need(process.env.PASSKEYD_MANAGEMENT_KEY, 'PASSKEYD_MANAGEMENT_KEY');
// The page is on localhost, so the browser calls passkeyd there too (as tests/compat does).
const browserBaseUrl = baseUrl.replace('//127.0.0.1:', '//localhost:');

// ---- the published files, served byte for byte from node_modules -----------------------
// passage-flex-js ships an ES module that imports @passageidentity/webauthnutils, which
// imports ua-parser-js (a UMD script that sets window.UAParser). An import map resolves the
// two bare names, as an app's bundler would; no file is changed.
const require = createRequire(import.meta.url);
const flexDist = dirname(require.resolve('@passageidentity/passage-flex-js'));
const requireFromFlex = createRequire(join(flexDist, 'index.js'));
const utilsDist = dirname(requireFromFlex.resolve('@passageidentity/webauthnutils'));
const requireFromUtils = createRequire(join(utilsDist, 'index.js'));
const uaRoot = dirname(requireFromUtils.resolve('ua-parser-js/package.json'));

const FILES = {
  '/redirect.js': REDIRECT_JS,
  '/sdk/passage-flex-js.js': join(flexDist, 'index.js'),
  '/sdk/webauthnutils.js': join(utilsDist, 'index.js'),
  '/sdk/ua-parser.min.js': join(uaRoot, 'dist/ua-parser.min.js'),
};
const FLEX_VERSION = JSON.parse(readFileSync(join(flexDist, '../package.json'), 'utf8')).version;

const page = (passkeydUrl) => `<!doctype html>
<html><head><meta charset="utf-8"><title>passkeyd flex</title>
<script>window.PASSKEYD_URL = ${JSON.stringify(passkeydUrl).replace(/</g, '\\u003c')};</script>
<script src="/redirect.js"></script>
<script src="/sdk/ua-parser.min.js"></script>
<script type="importmap">
{"imports": {
  "@passageidentity/webauthnutils": "/sdk/webauthnutils.js",
  "ua-parser-js": "/sdk/ua-parser-js.mjs"
}}
</script>
<script type="module">
  import { PassageFlex } from '/sdk/passage-flex-js.js';
  window.PassageFlex = PassageFlex;
</script>
</head><body>
  <input id="username" name="username" autocomplete="username webauthn">
</body></html>`;

async function servePage(passkeydUrl) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    const js = (body) => {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(passkeydUrl));
    } else if (FILES[path]) {
      js(readFileSync(FILES[path]));
    } else if (path === '/sdk/ua-parser-js.mjs') {
      js('export default window.UAParser;\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  // Always localhost: an IP address is not a valid WebAuthn RP ID.
  return { server, origin: `http://localhost:${server.address().port}` };
}

// ---- the browser: the recipe of tests/compat/lib/harness.mjs --------------------------
const CHROMIUM_ARGS = [
  '--no-sandbox', // we run as root in CI containers
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// ctap2 + internal + resident keys + UV: a platform passkey that completes without UI.
const AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};
const CALL_TIMEOUT_MS = 30_000;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function startBrowser() {
  const { server, origin } = await servePage(browserBaseUrl);
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const context = await browser.newContext();
    const tab = await context.newPage();
    if (VERBOSE) tab.on('console', (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
    const cdp = await context.newCDPSession(tab);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
    const load = async (how) => {
      await how();
      await tab.waitForFunction(() => typeof window.PassageFlex === 'function', null, { timeout: 15_000 });
    };
    await load(() => tab.goto(`${origin}/`));
    return {
      tab,
      origin,
      /** A fresh page load, as when a user opens the sign-in page. */
      reload: () => load(() => tab.reload()),
      /**
       * `new PassageFlex(appId).passkey[method](arg)` in the page. Resolves to {value} or
       * {error: {name, message, statusCode}}: the SDK's PassageError, as an app would see it.
       */
      async sdk(appId, method, arg) {
        const call = tab.evaluate(
          async ({ appId, method, arg }) => {
            try {
              return { value: await new window.PassageFlex(appId).passkey[method](arg) };
            } catch (e) {
              return { error: { name: e?.name, message: e?.message, statusCode: e?.statusCode } };
            }
          },
          { appId, method, arg },
        );
        return withTimeout(call, CALL_TIMEOUT_MS, `passkey.${method}()`);
      },
      /** The virtual authenticator's credentials (ids in standard base64). */
      async credentials() {
        return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      },
      async close() {
        await browser.close().catch(() => {});
        server.close();
      },
    };
  } catch (e) {
    await browser?.close().catch(() => {});
    server.close();
    throw e;
  }
}

// ---- a tiny check runner ---------------------------------------------------------------
let passed = 0;
let failed = 0;
const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim();
const show = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
};

async function check(name, fn) {
  try {
    const value = await withTimeout(Promise.resolve().then(fn), 60_000, 'check');
    passed++;
    console.log(`ok - ${name}`);
    return value;
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${oneLine(e?.message || e)}`);
    if (VERBOSE && e?.stack) console.error(e.stack);
    return undefined;
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function eq(actual, expected, label) {
  if (actual !== expected) throw new Error(`${label}: expected ${show(expected)}, got ${show(actual)}`);
}
function got(v, what) {
  if (v === undefined || v === null) throw new Error(`not run: no ${what} (an earlier check failed)`);
  return v;
}

// ---- passkeyd over plain HTTP (the app's back end) -------------------------------------
async function call(method, path, { headers = {}, body } = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.status, type: res.headers.get('content-type') || '', body: parsed };
}

/** POST /v1/apps/{app}/<path> with `Authorization: Bearer <ApiSecret>`. */
const backend = (app, path, body, secret = app.secret) =>
  call('POST', `/v1/apps/${app.id}/${path}`, { headers: { Authorization: `Bearer ${secret}` }, body });

async function transaction(app, kind, body) {
  const r = await backend(app, `transactions/${kind}`, body);
  eq(r.status, 200, `POST transactions/${kind} status (${show(r.body)})`);
  assert(typeof r.body?.transaction_id === 'string' && r.body.transaction_id, `transaction_id in ${show(r.body)}`);
  return r.body.transaction_id;
}

/** The SDK's answer must be a nonce string. */
function nonceOf(result, what) {
  assert(!result.error, `${what} rejected: ${show(result.error)}`);
  assert(typeof result.value === 'string' && result.value.length > 0, `${what}: expected a nonce, got ${show(result.value)}`);
  return result.value;
}

async function verify(app, nonce, expected) {
  const r = await backend(app, 'authenticate/verify', { nonce });
  eq(r.status, 200, `POST authenticate/verify status (${show(r.body)})`);
  eq(r.body.external_id, expected.externalId, 'external_id');
  eq(r.body.ceremony, expected.ceremony, 'ceremony');
  if (expected.credentialId) eq(r.body.credential_id, expected.credentialId, 'credential_id');
  assert(!Number.isNaN(Date.parse(r.body.used_at)), `used_at is not a time: ${show(r.body.used_at)}`);
  return r.body;
}

/**
 * A refused call: the status, and problem+json with Passage's `code` (`invalid_request` for a
 * 400) and `error` members, plus passkeyd's own `errorCode`.
 */
function refused(r, status, errorCode, what) {
  eq(r.status, status, `${what} status (${show(r.body)})`);
  assert(/json/.test(r.type), `${what}: content-type ${r.type}`);
  eq(r.body?.errorCode, errorCode, `${what} errorCode`);
  if (status === 400) eq(r.body?.code, 'invalid_request', `${what} code`);
  assert(typeof r.body?.error === 'string' && r.body.error, `${what}: no error message in ${show(r.body)}`);
}

const rand = (n = 4) => randomBytes(n).toString('hex');

async function provisionApp(prefix, origin) {
  const id = `${prefix}${rand()}`;
  const admin = (path, body) => call('POST', `/admin/apps/${id}/${path}`, { headers: { ManagementKey: managementKey }, body });
  const created = await admin('create', { adminEmail: 'ops@example.com' });
  eq(created.status, 200, `POST /admin/apps/${id}/create status (${show(created.body)})`);
  const f = await admin('features', { allowedOrigins: [origin], allowedRpIds: ['localhost'] });
  assert(f.status >= 200 && f.status < 300, `POST /admin/apps/${id}/features: ${f.status} ${show(f.body)}`);
  return { id, secret: created.body.apiSecret1 };
}

// ---- the suite -------------------------------------------------------------------------
const b = await check(`browser: Chromium loads redirect.js and passage-flex-js ${FLEX_VERSION} (unchanged, from node_modules)`, startBrowser);
const browser = () => got(b, 'browser');
const apps = await check('admin: two apps with the page origin allowed and RP ID localhost', async () => ({
  a: await provisionApp('flexa', browser().origin),
  b: await provisionApp('flexb', browser().origin),
}));
const appA = () => got(apps, 'apps').a;
const appB = () => got(apps, 'apps').b;
const externalId = `user-${rand()}`;

try {
  await check('redirect.js leaves requests to other hosts alone', async () => {
    const r = await browser().tab.evaluate(async () => {
      const res = await fetch('/sdk/ua-parser-js.mjs');
      return { url: res.url, status: res.status };
    });
    eq(r.status, 200, 'status');
    eq(r.url, `${browser().origin}/sdk/ua-parser-js.mjs`, 'url');
  });

  await check('redirect.js sends a Request for auth.passage.id to passkeyd, and fails without PASSKEYD_URL', async () => {
    const r = await browser().tab.evaluate(async (appId) => {
      const url = `https://auth.passage.id/v1/apps/${appId}/authenticate/transactions/webauthn/start`;
      const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' };
      const res = await fetch(new Request(url, init));
      const out = { status: res.status, body: await res.json() };
      const saved = window.PASSKEYD_URL;
      delete window.PASSKEYD_URL;
      try {
        await fetch(url, init);
        out.unset = 'resolved';
      } catch (e) {
        out.unset = `${e.name}: ${e.message}`;
      } finally {
        window.PASSKEYD_URL = saved;
      }
      return out;
    }, appA().id);
    eq(r.status, 200, `discoverable start status (${show(r.body)})`);
    assert(typeof r.body?.handshake?.challenge?.publicKey?.challenge === 'string', `handshake in ${show(r.body)}`);
    assert(/^TypeError: .*PASSKEYD_URL/.test(r.unset), `without PASSKEYD_URL: ${r.unset}`);
  });

  const registered = await check('register: transaction → passkey.register → nonce → verify gives the external id', async () => {
    const tid = await transaction(appA(), 'register', { external_id: externalId, passkey_display_name: 'Flex test' });
    const nonce = nonceOf(await browser().sdk(appA().id, 'register', tid), 'passkey.register');
    const creds = await browser().credentials();
    eq(creds.length, 1, 'credentials in the virtual authenticator');
    eq(creds[0].isResidentCredential, true, 'resident credential');
    const credentialId = Buffer.from(creds[0].credentialId, 'base64').toString('base64url');
    await verify(appA(), nonce, { externalId, ceremony: 'register', credentialId });
    return { tid, credentialId };
  });
  const credentialId = () => got(registered, 'registered passkey').credentialId;

  const signedIn = await check('authenticate: transaction → passkey.authenticate({transactionId}) → nonce → verify gives the same external id', async () => {
    const tid = await transaction(appA(), 'authenticate', { external_id: externalId });
    const nonce = nonceOf(await browser().sdk(appA().id, 'authenticate', { transactionId: tid }), 'passkey.authenticate');
    await verify(appA(), nonce, { externalId, ceremony: 'authenticate', credentialId: credentialId() });
    return nonce;
  });

  await check('a replayed nonce is refused (400, errorCode invalid_nonce)', async () => {
    const r = await backend(appA(), 'authenticate/verify', { nonce: got(signedIn, 'used nonce') });
    refused(r, 400, 'invalid_nonce', 'second verify');
  });

  await check("another app's secret cannot verify a nonce; its own app still can", async () => {
    const tid = await transaction(appA(), 'authenticate', { external_id: externalId });
    const nonce = nonceOf(await browser().sdk(appA().id, 'authenticate', { transactionId: tid }), 'passkey.authenticate');
    // App B's back end, with its own id and secret.
    refused(await backend(appB(), 'authenticate/verify', { nonce }), 400, 'invalid_nonce', "app B's verify");
    // App B's secret on app A's path.
    const r = await backend(appA(), 'authenticate/verify', { nonce }, appB().secret);
    refused(r, 401, 'invalid_access_token', "app B's secret on app A's path");
    await verify(appA(), nonce, { externalId, ceremony: 'authenticate', credentialId: credentialId() });
  });

  await check('authenticate without a transaction (discoverable) → nonce → verify gives the external id', async () => {
    const nonce = nonceOf(await browser().sdk(appA().id, 'authenticate', {}), 'passkey.authenticate()');
    await verify(appA(), nonce, { externalId, ceremony: 'authenticate', credentialId: credentialId() });
  });

  await check('autofill: passkey.authenticate({isConditionalMediation: true}) on a fresh page → nonce → verify', async () => {
    // SDK 1.0.2 aborts a shared AbortController before each modal call and never renews it,
    // so autofill only works before any other passkey call on the page: start from a reload.
    await browser().reload();
    const nonce = nonceOf(
      await browser().sdk(appA().id, 'authenticate', { isConditionalMediation: true }),
      'passkey.authenticate({isConditionalMediation: true})',
    );
    await verify(appA(), nonce, { externalId, ceremony: 'authenticate', credentialId: credentialId() });
  });

  await check("a used register transaction is refused; the SDK's PassageError carries passkeyd's status and error", async () => {
    const tid = got(registered, 'used register transaction').tid;
    const { value, error } = await browser().sdk(appA().id, 'register', tid);
    assert(error, `passkey.register resolved ${show(value)}`);
    eq(error.name, 'PassageError', 'error.name');
    eq(error.statusCode, 400, 'error.statusCode');
    const direct = await call('POST', `/v1/apps/${appA().id}/register/transactions/webauthn/start`, {
      headers: { Origin: browser().origin },
      body: { transaction_id: tid, authenticator_attachment: 'platform' },
    });
    refused(direct, 400, 'invalid_transaction', 'register start with a used transaction');
    eq(error.message, direct.body.error, 'error.message');
  });
} finally {
  await b?.close();
}

console.log(`flex: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

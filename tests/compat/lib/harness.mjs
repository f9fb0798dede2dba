// Shared by sdk-compat.mjs and ceremony.mjs: a page origin served by node:http, Debian's
// Chromium driven by playwright-core, a CDP virtual authenticator, and small helpers to run
// the unchanged browser SDK inside that page.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

// The client package has no "exports" map, so its package.json resolves directly; we serve
// the published IIFE build exactly as it is on npm.
const CLIENT_DIR = dirname(require.resolve('@passwordlessdev/passwordless-client/package.json'));
const IIFE = readFileSync(join(CLIENT_DIR, 'dist/iife/passwordless.iife.js'));

// An autofill (conditional mediation) sign-in needs an input with this autocomplete token.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>passkeyd sdk compat</title></head>
<body>
  <input id="username" name="username" autocomplete="username webauthn">
  <script src="/passwordless.iife.js"></script>
</body></html>`;

// A WebAuthn call that needs no UI finishes in well under a second; this only guards hangs.
const CALL_TIMEOUT_MS = 30_000;

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

/** Serves the test page on 127.0.0.1:<free port>; the browser reaches it as localhost. */
async function servePage() {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path === '/passwordless.iife.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(IIFE);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  // Always localhost, never 127.0.0.1: an IP address is not a valid WebAuthn RP ID.
  const origin = `http://localhost:${server.address().port}`;
  return { server, origin };
}

/**
 * Starts the page server and Chromium, adds a virtual authenticator, then opens the page.
 * `apiUrl` is passkeyd's base URL as the browser SDK should see it.
 */
export async function startHarness({ apiUrl, verbose = false }) {
  const { server, origin } = await servePage();
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    // The SDK console.error()s every client-side failure; show them only when asked.
    if (verbose) page.on('console', (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    let authenticatorId = (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }))
      .authenticatorId;
    // The authenticator must exist before navigation so WebAuthn calls never wait for one.
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => typeof window.Passwordless?.Client === 'function');

    const reload = async () => {
      await page.reload();
      await page.waitForFunction(() => typeof window.Passwordless?.Client === 'function');
    };

    const harness = {
      page,
      origin,
      apiUrl,

      /** Calls `new Passwordless.Client({apiKey, apiUrl})[method](...args)` in the page. */
      async client(apiKey, method, ...args) {
        const call = page.evaluate(
          async ({ apiKey, apiUrl, method, args }) => new Passwordless.Client({ apiKey, apiUrl })[method](...args),
          { apiKey, apiUrl, method, args },
        );
        try {
          return await withTimeout(call, CALL_TIMEOUT_MS, `Passwordless.Client.${method}()`);
        } catch (e) {
          // Chromium allows one pending WebAuthn request per page: a stuck one would make
          // every later call fail, so start over with a fresh page load.
          if (/timed out/.test(e.message)) await reload();
          throw e;
        }
      },

      /** Credentials held by the current virtual authenticator (ids in standard base64). */
      async credentials() {
        return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      },

      /** The virtual authenticator keeps at most 3 resident keys: start a new one per user. */
      async freshAuthenticator() {
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
        authenticatorId = (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }))
          .authenticatorId;
      },

      /** Makes the authenticator misbehave, e.g. {isBogusSignature: true}; {} resets it. */
      async overrideBits(bits) {
        await cdp.send('WebAuthn.setResponseOverrideBits', {
          authenticatorId,
          isBogusSignature: false,
          isBadUV: false,
          isBadUP: false,
          ...bits,
        });
      },

      async close() {
        await browser.close().catch(() => {});
        server.close();
      },
    };
    return harness;
  } catch (e) {
    await browser?.close().catch(() => {});
    server.close();
    throw e;
  }
}

/** Rejects after `ms` so that a stuck WebAuthn call fails one check instead of the suite. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

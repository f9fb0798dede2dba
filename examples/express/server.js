// Harbor: a small Express app whose users sign up and sign in with passkeys, through passkeyd.
//
//   browser ──(WebAuthn ceremonies, @passwordlessdev/passwordless-client)──▶ passkeyd
//   browser ──(verify_… token)──▶ this server ──(ApiSecret)──▶ passkeyd
//
// The browser talks to passkeyd directly for the ceremonies and hands this server a one-time
// verify token. This server redeems it at passkeyd's POST /signin/session, which answers a
// signed session JWT; we keep that JWT in an HttpOnly cookie and check it against passkeyd's
// JWKS (session.js): with jose, or with SESSION_CHECK=passage through the Passage Node SDK.

import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { ApiException, Converters, PasswordlessClient } from '@passwordlessdev/passwordless-nodejs';
import { COOKIE, SESSION_CHECK, cookieOptions, preloadLoaded, sessionVerifier } from './session.js';
import { startLocalPasskeyd } from './local-passkeyd.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || '127.0.0.1';
const ORIGIN = `http://localhost:${PORT}`;
const STEP_UP_MINUTES = 5;
// Session id (the JWT's jti) → until when its step-up holds. In memory: one process, demo-sized.
const stepUps = new Map();

// ---- configuration: an existing passkeyd, or one started from this repository -------------

async function configure() {
  const { PASSKEYD_URL, PASSKEYD_API_KEY, PASSKEYD_API_SECRET, PASSKEYD_PUBLIC_URL } = process.env;
  const given = [PASSKEYD_URL, PASSKEYD_API_KEY, PASSKEYD_API_SECRET].filter(Boolean).length;
  if (given === 0) {
    console.log('No PASSKEYD_URL configured: starting a local passkeyd for development.');
    return startLocalPasskeyd({ appOrigin: ORIGIN });
  }
  if (given < 3) {
    throw new Error('Set all three of PASSKEYD_URL, PASSKEYD_API_KEY and PASSKEYD_API_SECRET, or none of them.');
  }
  const baseUrl = PASSKEYD_URL.replace(/\/+$/, '');
  const health = await fetch(`${baseUrl}/health/http`, { signal: AbortSignal.timeout(3000) }).catch(() => null);
  if (!health?.ok) console.warn(`Warning: passkeyd at ${baseUrl} does not answer /health/http yet; the app will say so to its users.`);
  return {
    baseUrl,
    publicUrl: (PASSKEYD_PUBLIC_URL || baseUrl).replace(/\/+$/, ''),
    apiKey: PASSKEYD_API_KEY,
    apiSecret: PASSKEYD_API_SECRET,
    // Keys look like "<appId>:public:<32 hex>".
    appId: PASSKEYD_API_KEY.split(':')[0],
  };
}

// What checks the session: jose (default) or passage-node, which must run behind passkeyd's
// preload (start.js starts it so for `npm start`).
const CHECKED_WITH = { jose: 'jose', passage: 'passage-node' }[SESSION_CHECK];
let passkeyd;
try {
  if (!CHECKED_WITH) throw new Error(`SESSION_CHECK must be "jose" or "passage", not ${JSON.stringify(SESSION_CHECK)}.`);
  if (SESSION_CHECK === 'passage' && !preloadLoaded()) {
    throw new Error('SESSION_CHECK=passage needs passkeyd\'s preload: start the example with `npm start`, or with '
      + '`node --require ../../clients/passage-node/preload.cjs server.js` and PASSKEYD_URL, PASSKEYD_API_KEY and PASSKEYD_API_SECRET set.');
  }
  passkeyd = await configure();
} catch (e) {
  console.error(`Cannot start: ${e.message}`);
  process.exit(1);
}
const { appId } = passkeyd;

// The official Passwordless.dev Node SDK, pointed at passkeyd.
const pl = new PasswordlessClient(passkeyd.apiSecret, { baseUrl: passkeyd.baseUrl });
const readSession = await sessionVerifier({ passkeydUrl: passkeyd.baseUrl, appId, apiSecret: passkeyd.apiSecret });

// ---- errors: every failure reaches the browser as {error: {code, message}}, never a stack ---

class AppError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const unreachable = () =>
  new AppError(503, 'passkeyd_unreachable', "We can't reach the passkey service right now. Please try again in a moment.");

/** Turns a passkeyd problem document ({status, errorCode, title}) into an AppError. */
function fromProblem(problem, status) {
  const code = problem?.errorCode ?? 'passkeyd_error';
  if (status === 429) return new AppError(429, 'rate_limited', 'Too many attempts. Please wait a minute and try again.');
  if (status === 503) return unreachable();
  if (status === 401) {
    return new AppError(502, 'passkeyd_rejected_secret', 'The passkey service did not accept this app\'s secret key (check PASSKEYD_API_SECRET).');
  }
  return new AppError(status >= 500 ? 502 : status, code, problem?.title ?? `passkeyd answered ${status}`);
}

/** Runs a call of the Node SDK; connection failures and problems become AppErrors. */
async function sdk(call) {
  try {
    return await call();
  } catch (e) {
    if (e instanceof ApiException) {
      const d = e.details;
      // The SDK reports "no answer at all" as errorCode unexpected_error without a status.
      if (!d.status) throw unreachable();
      throw fromProblem(d, d.status);
    }
    throw e;
  }
}

/** Calls passkeyd endpoints the Node SDK does not have (sessions, the Passage-style API). */
async function callPasskeyd(method, path, { body, bearer = false } = {}) {
  let res;
  try {
    res = await fetch(`${passkeyd.baseUrl}${path}`, {
      method,
      headers: {
        ...(bearer ? { Authorization: `Bearer ${passkeyd.apiSecret}` } : { ApiSecret: passkeyd.apiSecret }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw unreachable();
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON; handled below
  }
  if (!res.ok) throw fromProblem(json, res.status);
  return json;
}

// ---- the app ------------------------------------------------------------------------------

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '16kb' }));

// A strict Content-Security-Policy: our own scripts and styles, and calls to passkeyd.
app.use((req, res, next) => {
  res.set({
    'Content-Security-Policy': [
      "default-src 'self'",
      `connect-src 'self' ${passkeyd.publicUrl}`,
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; '),
    'Referrer-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
  });
  next();
});

// WebAuthn needs a host name: 127.0.0.1 is not a valid relying party id.
app.use((req, res, next) => {
  if (req.method === 'GET' && ['127.0.0.1', '::1', '[::1]'].includes(req.hostname)) {
    return res.redirect(`${ORIGIN}${req.originalUrl}`);
  }
  next();
});

// Mutating API calls must be JSON: with SameSite=Lax cookies this keeps other sites from
// posting forms to us, since a cross-site JSON request needs a CORS preflight we never allow.
app.use('/api', (req, res, next) => {
  if (req.method !== 'GET' && !req.is('application/json')) {
    return res.status(415).json({ error: { code: 'json_required', message: 'Send JSON.' } });
  }
  next();
});

/** Attaches req.session (or null) for every route after it. */
const withSession = async (req, res, next) => {
  try {
    req.session = await readSession(req);
    next();
  } catch {
    next(unreachable());
  }
};

const requireSession = (req, res, next) =>
  req.session ? next() : next(new AppError(401, 'signed_out', 'Your session has ended. Please sign in again.'));

// Static files: pages, styles, scripts, and the browser SDK exactly as published on npm.
const page = (name) => join(HERE, 'pages', `${name}.html`);
app.use(express.static(join(HERE, 'public'), { index: false }));
const CLIENT_IIFE = join(dirname(require.resolve('@passwordlessdev/passwordless-client/package.json')), 'dist/iife/passwordless.iife.js');
app.get('/vendor/passwordless.iife.js', (req, res) => res.sendFile(CLIENT_IIFE));
// What the browser needs to talk to passkeyd: its URL and the public API key (not a secret).
app.get('/config.js', (req, res) => {
  res.type('text/javascript').send(`export default ${JSON.stringify({ apiUrl: passkeyd.publicUrl, apiKey: passkeyd.apiKey })};\n`);
});

app.get('/', withSession, (req, res) => (req.session ? res.redirect('/dashboard') : res.sendFile(page('index'))));
app.get('/signup', withSession, (req, res) => (req.session ? res.redirect('/dashboard') : res.sendFile(page('signup'))));
app.get('/signin', withSession, (req, res) => (req.session ? res.redirect('/dashboard') : res.sendFile(page('signin'))));
app.get('/dashboard', withSession, (req, res) => (req.session ? res.sendFile(page('dashboard')) : res.redirect('/signin')));

// -- sign-up: a register token for a new user, with the e-mail address as alias

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

app.post('/api/signup', async (req, res) => {
  const email = String(req.body?.email ?? '').trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 200) {
    throw new AppError(400, 'invalid_email', 'Please enter a valid e-mail address.');
  }
  const userId = randomUUID();
  try {
    const { token } = await sdk(() =>
      pl.createRegisterToken({
        userId,
        username: email, // shown by the browser's passkey dialogs
        displayName: email,
        aliases: [email], // lets the user sign in by e-mail (signinWithAlias)
        aliasHashing: false, // keep the alias readable, so that the dashboard can show it
        discoverable: true, // a passkey that autofill and "Sign in with a passkey" can find
        userVerification: 'preferred',
        attestation: 'none',
      }),
    );
    res.json({ token });
  } catch (e) {
    if (e.code === 'alias_conflict') {
      throw new AppError(409, 'email_taken', 'An account with this e-mail address already exists. Sign in instead.');
    }
    throw e;
  }
});

// -- sign-in (and the end of sign-up): redeem the verify token for a session JWT

app.post('/api/session', async (req, res) => {
  const token = String(req.body?.token ?? '');
  if (!token.startsWith('verify_')) throw new AppError(400, 'invalid_token', 'That sign-in did not complete. Please try again.');
  let session;
  try {
    session = await callPasskeyd('POST', '/signin/session', { body: { token } });
  } catch (e) {
    if (e.status === 400) throw new AppError(400, 'invalid_token', 'That sign-in has expired or was already used. Please try again.');
    if (e.status === 403) throw new AppError(403, 'account_unavailable', 'This account cannot sign in right now.');
    throw e;
  }
  res.cookie(COOKIE, session.authToken, cookieOptions(req, new Date(session.authTokenExpiresAt)));
  res.json({ userId: session.userId, expiresAt: session.authTokenExpiresAt });
});

app.post('/api/signout', withSession, (req, res) => {
  if (req.session) stepUps.delete(req.session.sessionId);
  res.clearCookie(COOKIE, cookieOptions(req));
  res.json({ ok: true });
});

// -- the signed-in user

async function emailOf(userId) {
  const aliases = await sdk(() => pl.listAliases(userId));
  return aliases?.find((a) => a.plaintext)?.plaintext ?? null;
}

app.get('/api/me', withSession, requireSession, async (req, res) => {
  const { userId, sessionId, expiresAt, issuedAt, kid } = req.session;
  const until = stepUps.get(sessionId);
  res.json({
    userId,
    email: await emailOf(userId),
    session: { issuer: 'passkeyd', audience: appId, issuedAt, expiresAt, kid, checkedWith: CHECKED_WITH },
    stepUpUntil: until > Date.now() ? new Date(until) : null,
  });
});

// -- passkeys: list (Passage-style devices), add, rename, remove

async function passkeysOf(userId) {
  try {
    const { devices } = await callPasskeyd('GET', `/v1/apps/${appId}/users/${encodeURIComponent(userId)}/devices`, { bearer: true });
    return devices.map((d) => ({
      id: d.id, // the credential id, base64url
      nickname: d.friendly_name,
      type: d.type, // passkey (synced), platform, or security_key
      createdAt: d.created_at,
      lastUsedAt: d.last_login_at.startsWith('0001-') ? null : d.last_login_at, // 0001-01-01: never
      usageCount: d.usage_count,
    }));
  } catch (e) {
    if (e.status === 404) return []; // no passkeys left, so passkeyd no longer knows the user
    throw e;
  }
}

async function ownPasskey(req) {
  const list = await passkeysOf(req.session.userId);
  const found = list.find((p) => p.id === req.params.id);
  // Never act on an id the user does not own: credential ids are app-wide in the API.
  if (!found) throw new AppError(404, 'passkey_not_found', 'That passkey is not on your account.');
  return { found, list };
}

app.get('/api/passkeys', withSession, requireSession, async (req, res) => {
  res.json({ passkeys: await passkeysOf(req.session.userId) });
});

app.post('/api/passkeys/register-token', withSession, requireSession, async (req, res) => {
  const email = await emailOf(req.session.userId);
  const { token } = await sdk(() =>
    pl.createRegisterToken({
      userId: req.session.userId,
      username: email ?? req.session.userId,
      displayName: email ?? req.session.userId,
      discoverable: true,
      userVerification: 'preferred',
      attestation: 'none',
    }),
  );
  res.json({ token });
});

app.patch('/api/passkeys/:id', withSession, requireSession, async (req, res) => {
  const nickname = String(req.body?.nickname ?? '').trim();
  if (!nickname || nickname.length > 64) throw new AppError(400, 'invalid_nickname', 'A name needs 1 to 64 characters.');
  await ownPasskey(req);
  const path = `/v1/apps/${appId}/users/${encodeURIComponent(req.session.userId)}/devices/${encodeURIComponent(req.params.id)}`;
  await callPasskeyd('PATCH', path, { body: { friendly_name: nickname }, bearer: true });
  res.json({ ok: true });
});

app.delete('/api/passkeys/:id', withSession, requireSession, async (req, res) => {
  const { list } = await ownPasskey(req);
  if (list.length <= 1) {
    throw new AppError(409, 'last_passkey', "You can't remove your only passkey. Add another one first.");
  }
  await sdk(() => pl.deleteCredential(Converters.base64UrlToUint8Array(req.params.id)));
  res.json({ ok: true });
});

// -- step-up: a fresh passkey check, required for the sensitive action below

app.post('/api/step-up', withSession, requireSession, async (req, res) => {
  const token = String(req.body?.token ?? '');
  // verifyToken resolves null for any token passkeyd refuses; it can be redeemed only once.
  const v = await pl.verifyToken(token);
  const fresh = v && Date.now() - Date.parse(v.timestamp) < 2 * 60_000;
  if (!v?.success || v.userId !== req.session.userId || v.purpose !== 'step-up' || v.type !== 'passkey_signin' || !fresh) {
    throw new AppError(403, 'step_up_failed', "We couldn't confirm it was you. Please try again.");
  }
  const until = Date.now() + STEP_UP_MINUTES * 60_000;
  for (const [id, t] of stepUps) if (t < Date.now()) stepUps.delete(id); // forget expired ones
  stepUps.set(req.session.sessionId, until);
  res.json({ stepUpUntil: new Date(until) });
});

// The sensitive action: create a personal access token, only right after a step-up.
app.post('/api/tokens', withSession, requireSession, (req, res) => {
  if (!(stepUps.get(req.session.sessionId) > Date.now())) {
    throw new AppError(403, 'step_up_required', "Confirm it's you with your passkey first.");
  }
  res.json({ token: `hbr_${randomBytes(20).toString('hex')}`, createdAt: new Date() });
});

app.use('/api', (req, res) => res.status(404).json({ error: { code: 'not_found', message: 'No such API route.' } }));

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page (not JSON) for errors while loading a page, e.g. passkeyd down with no cached keys. */
const errorPage = (message) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harbor</title><link rel="icon" href="/logo.svg"><link rel="stylesheet" href="/styles.css"></head>
<body><header class="topbar"><div class="container topbar-inner"><a class="brand" href="/"><img src="/logo.svg" alt=""> Harbor</a></div></header>
<main class="container auth"><div class="card auth-card"><h1>We'll be right back</h1>
<p class="lead">${escapeHtml(message)}</p><a class="btn btn-primary" href="">Try again</a></div></main></body></html>`;

// Last: errors. Known ones are shown as they are; anything else is logged, not shown.
app.use((err, req, res, _next) => {
  let status = 500;
  let code = 'internal_error';
  let message = 'Something went wrong on our side. Please try again.';
  if (err instanceof AppError) {
    ({ status, code, message } = err);
    if (status >= 500) console.warn(`${req.method} ${req.path}: ${message}`);
  } else if (err?.type === 'entity.parse.failed') {
    [status, code, message] = [400, 'invalid_json', 'The request was not valid JSON.'];
  } else {
    console.error(`${req.method} ${req.path}:`, err);
  }
  if (req.path.startsWith('/api/')) return res.status(status).json({ error: { code, message } });
  res.status(status).type('html').send(errorPage(message));
});

const server = app.listen(PORT, HOST, () => {
  console.log(`Harbor is running at ${ORIGIN}  (passkeyd: ${passkeyd.baseUrl}, app "${appId}", sessions checked with ${CHECKED_WITH})`);
});
server.on('error', (e) => {
  console.error(`Cannot listen on ${HOST}:${PORT}: ${e.message}. Set PORT to use another port.`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    server.close();
    await passkeyd.stop?.();
    process.exit(0);
  });
}

// Passage suite: the published, unchanged @passageidentity/passage-node 2.6.0 and 2.12.1 (the
// last 2.x) against a real passkeyd, redirected by clients/passage-node/preload.cjs. The
// passkeys are real: Chromium registers and signs in with the Passwordless.dev browser client,
// and POST /signin/session turns the verify token into the JWT the SDK validates.
//
// Run: PASSKEYD_URL=… PASSKEYD_MANAGEMENT_KEY=… node --require ../../clients/passage-node/preload.cjs passage-node.mjs
// Output: "ok - …" / "not ok - …: reason" / "skip - …" lines, then "passage: N passed, M failed".

import https from 'node:https';
import { startHarness } from './lib/harness.mjs';
import { check, skip, summary, need, assert, eq, match, createApp, rand } from './lib/checks.mjs';

const baseUrl = need(process.env.PASSKEYD_URL, 'PASSKEYD_URL').replace(/\/$/, '');
const managementKey = need(process.env.PASSKEYD_MANAGEMENT_KEY, 'PASSKEYD_MANAGEMENT_KEY');
// As in sdk-compat.mjs: the page is on localhost, so the browser calls the API there too.
const browserApiUrl = baseUrl.replace('//127.0.0.1:', '//localhost:');

// Each SDK version is installed under an npm alias (package.json).
const VERSIONS = ['2.6.0', '2.12.1'];
const DEVICE_TYPES = ['passkey', 'security_key', 'platform'];

// ---- helpers ---------------------------------------------------------------------------

const show = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves to what `promise` rejected with; fails when it resolves. */
async function rejection(promise, what) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: expected a rejection, resolved ${show(value)}`);
}

/** One passkeyd call over plain HTTP; returns {status, body} (body parsed when JSON). */
async function http(method, path, { headers = {}, body } = {}) {
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
  return { status: res.status, body: parsed };
}

const admin = (path, body) => http('POST', `/admin/apps/${path}`, { headers: { ManagementKey: managementKey }, body });

/** Decodes a JWT's header and payload without checking anything. */
function decodeJwt(jwt) {
  const [h, p] = String(jwt).split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

/** An Express-like request: the SDK reads only req.headers (lower-case keys, as in Node). */
const cookieReq = (jwt) => ({ headers: { cookie: `theme=dark; psg_auth_token=${jwt}; other=1` } });
const headerReq = (jwt) => ({ headers: { authorization: `Bearer ${jwt}` } });

/** Asserts a browser result is {token: "verify_…"} and returns the token. */
function verifyTokenOf(result, what) {
  assert(result && !result.error, `${what} returned an error: ${show(result?.error)}`);
  match(result.token, /^verify_[A-Za-z0-9_-]+$/, `${what}.token`);
  return result.token;
}

/** An app with a public key, a secret, and the page origin allowed (magic links need it). */
async function provisionApp(prefix, origin) {
  const appId = `${prefix}${rand(4)}`;
  const created = await createApp(baseUrl, managementKey, appId);
  const r = await admin(`${appId}/features`, { allowedOrigins: [origin], allowedRpIds: ['localhost'] });
  assert(r.status >= 200 && r.status < 300, `POST /admin/apps/${appId}/features: ${r.status} ${show(r.body)}`);
  return { id: appId, apiKey: created.apiKey1, secret: created.apiSecret1 };
}

// ---- the suite -------------------------------------------------------------------------

const h = await check('browser: Chromium starts with a CDP virtual authenticator and loads the page', () =>
  startHarness({ apiUrl: browserApiUrl, verbose: !!process.env.COMPAT_VERBOSE }), { timeoutMs: 90_000 });
const browser = () => need(h, 'the browser harness');

const apps = await check('admin: two apps with the page origin allowed (POST /admin/apps/{appId}/features)', async () => ({
  a: await provisionApp('passagea', browser().origin),
  b: await provisionApp('passageb', browser().origin),
}));
if (!apps) {
  await h?.close();
  process.exit(summary('passage') > 0 ? 1 : 0);
}
const { a: appA, b: appB } = apps;

/** POST /register/token, then register(token, nickname) in the page. */
async function registerPasskey(app, userId, nickname) {
  const t = await http('POST', '/register/token', {
    headers: { ApiSecret: app.secret },
    body: { userId, username: `${nickname}-${userId}`, discoverable: true },
  });
  eq(t.status, 200, `POST /register/token status (${show(t.body)})`);
  return verifyTokenOf(await browser().client(app.apiKey, 'register', t.body.token, nickname), 'register');
}

/** POST /signin/session {token} → the response (status and body). */
const session = (app, token) => http('POST', '/signin/session', { headers: { ApiSecret: app.secret }, body: { token } });

/** A sign-in in the page, then POST /signin/session; returns the session JWT. */
async function signIn(app, method, arg) {
  const token = verifyTokenOf(await browser().client(app.apiKey, method, arg), method);
  const s = await session(app, token);
  eq(s.status, 200, `POST /signin/session status (${show(s.body)})`);
  match(s.body?.authToken, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'authToken');
  return { jwt: s.body.authToken, verifyToken: token, body: s.body };
}

try {
  await check('preload: https.get of the JWKS on auth.passage.id is answered by passkeyd', async () => {
    const viaPassage = await new Promise((resolve, reject) => {
      https.get(`https://auth.passage.id/v1/apps/${appA.id}/.well-known/jwks.json`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      }).on('error', reject);
    });
    eq(viaPassage.status, 200, 'status');
    const direct = await http('GET', `/v1/apps/${appA.id}/.well-known/jwks.json`);
    eq(viaPassage.text, JSON.stringify(direct.body), 'body (vs a direct GET)');
  });

  // The SDK never checks the JWKS contents itself; jose does. These checks pin what it needs.
  await check('http: GET /v1/apps/{app}/.well-known/jwks.json is a key set of RSA signing keys with kids', async () => {
    const r = await http('GET', `/v1/apps/${appA.id}/.well-known/jwks.json`);
    eq(r.status, 200, 'status');
    assert(Array.isArray(r.body?.keys) && r.body.keys.length > 0, `keys: ${show(r.body)}`);
    for (const k of r.body.keys) {
      eq(k.kty, 'RSA', 'kty');
      match(k.kid, /\S/, 'kid');
      if (k.alg !== undefined) eq(k.alg, 'RS256', 'alg');
      if (k.use !== undefined) eq(k.use, 'sig', 'use');
      assert(!('d' in k), 'the key set exposes a private key');
    }
  });

  await check('http: another app secret, or none, gets 401/404 {code, error} on this app\'s routes', async () => {
    for (const headers of [{ Authorization: `Bearer ${appB.secret}` }, {}, { Authorization: `Bearer ${appA.apiKey}` }]) {
      const r = await http('GET', `/v1/apps/${appA.id}`, { headers });
      assert([401, 404].includes(r.status), `GET /v1/apps/{a} with ${show(headers)}: status ${r.status}`);
      assert(typeof r.body?.code === 'string' && typeof r.body?.error === 'string', `error body ${show(r.body)}`);
    }
  });

  // The expiry check needs /admin/apps/{appId}/sessions; its GET gives the lifetime to restore.
  const probe = await http('GET', `/admin/apps/${appA.id}/sessions`, { headers: { ManagementKey: managementKey } });
  const sessionsAvailable = probe.status === 200;
  const lifetime = Number.isInteger(probe.body?.lifetimeSeconds) ? probe.body.lifetimeSeconds : 3600;

  for (const version of VERSIONS) {
    const v = (name) => `${version}: ${name}`;
    const newer = version !== '2.6.0'; // getByIdentifier, auth.*, error bodies, aud check

    const Passage = await check(v(`the package loads by its alias passage-node-${version}`), async () => {
      const mod = await import(`passage-node-${version}`);
      eq(typeof mod.default, 'function', 'typeof default export');
      return mod.default;
    });
    if (!Passage) continue;
    const passage = new Passage({ appID: appA.id, apiKey: appA.secret });
    const passageHeader = new Passage({ appID: appA.id, apiKey: appA.secret, authStrategy: 'HEADER' });
    const passageB = new Passage({ appID: appB.id, apiKey: appB.secret });
    // Chromium's virtual authenticator keeps at most 3 resident keys: a new one per version.
    await browser().freshAuthenticator();

    // ---- app and users --------------------------------------------------------------
    await check(v('getApp() returns the app, its id and name'), async () => {
      const app = await passage.getApp();
      eq(app?.id, appA.id, 'id');
      eq(typeof app.name, 'string', 'typeof name');
      assert(Array.isArray(app.user_metadata_schema) && Array.isArray(app.technologies), 'arrays');
    });

    const email = `passage-${rand()}@example.com`;
    const metadata = { plan: 'free', seats: 3 };
    const user = await check(v('user.create({email, user_metadata}) returns an active user with a generated id'), async () => {
      const u = await passage.user.create({ email, user_metadata: metadata });
      match(u?.id, /^\S+$/, 'id');
      eq(u.email, email, 'email');
      eq(u.status, 'active', 'status');
      eq(JSON.stringify(u.user_metadata), JSON.stringify(metadata), 'user_metadata');
      eq(u.webauthn, false, 'webauthn');
      eq(u.webauthn_devices.length, 0, 'webauthn_devices.length');
      assert(!Number.isNaN(u.created_at.getTime()), 'created_at is not a date');
      if (newer) eq(u.external_id, u.id, 'external_id (== id == passkeyd userId)');
      return u;
    });
    const userId = () => need(user, 'the created user').id;

    await check(v('user.get(id) returns the same user'), async () => {
      const u = await passage.user.get(userId());
      eq(u.id, userId(), 'id');
      eq(u.email, email, 'email');
      eq(u.status, 'active', 'status');
    });

    if (newer) {
      await check(v('user.getByIdentifier(email) finds the user'), async () =>
        eq((await passage.user.getByIdentifier(email)).id, userId(), 'id'));
      await check(v('user.getByIdentifier(external id) finds the user'), async () =>
        eq((await passage.user.getByIdentifier(userId())).id, userId(), 'id'));
      await check(v('user.getByIdentifier(unknown) rejects with "User not found."'), async () => {
        const e = await rejection(passage.user.getByIdentifier(`nobody-${rand()}@example.com`), 'getByIdentifier');
        match(e.message, /not found/i, 'message');
      });
    } else {
      skip(v('user.getByIdentifier'), 'added in passage-node 2.10.0');
    }

    const email2 = `passage-${rand()}@example.com`;
    const phone = '+15005550006';
    const metadata2 = { plan: 'pro', seats: 5, trial: false };
    const updated = await check(v('user.update(id, {email, phone, user_metadata}) returns the updated user'), async () => {
      const u = await passage.user.update(userId(), { email: email2, phone, user_metadata: metadata2 });
      eq(u.id, userId(), 'id');
      eq(u.email, email2, 'email');
      eq(u.phone, phone, 'phone');
      eq(JSON.stringify(u.user_metadata), JSON.stringify(metadata2), 'user_metadata');
      eq(JSON.stringify((await passage.user.get(userId())).user_metadata), JSON.stringify(metadata2), 'user_metadata on get');
      return true;
    });

    await check(v('user.create with an invalid email rejects; 2.12 carries the status and {code, error}'), async () => {
      const e = await rejection(passage.user.create({ email: 'not-an-email' }), 'user.create');
      if (newer) {
        eq(e.statusCode, 400, 'statusCode');
        eq(e.errorCode, 'invalid_request', 'errorCode');
        match(e.message, /^Could not create user: \S/, 'message (the SDK text, then the server error)');
      }
    });

    // ---- a real passkey, and the session JWT -------------------------------------------
    const nickname = `passage-${version}`;
    const registered = await check(v('browser: a passkey registers for the Passage user id (POST /register/token)'), () =>
      registerPasskey(appA, userId(), nickname));

    const signedIn = await check(v('browser: signinWithAlias(the updated email) → POST /signin/session gives a JWT'), async () => {
      need(registered, 'the registered passkey');
      need(updated, 'the updated email');
      // The Passage email is a passkeyd alias, so it names the user at sign-in.
      const s = await signIn(appA, 'signinWithAlias', email2);
      eq(s.body.success, true, 'success');
      eq(s.body.userId, userId(), 'userId');
      eq(s.body.type, 'passkey_signin', 'type');
      return s;
    });
    const jwt = () => need(signedIn, 'a session JWT').jwt;

    await check(v('the JWT is RS256 with a kid, sub = user id, aud = [app id], iss, iat, exp'), async () => {
      const { header, payload } = decodeJwt(jwt());
      eq(header.alg, 'RS256', 'alg');
      match(header.kid, /\S/, 'kid');
      eq(payload.sub, userId(), 'sub');
      assert(Array.isArray(payload.aud) && payload.aud.length === 1 && payload.aud[0] === appA.id,
        `aud: expected ["${appA.id}"], got ${show(payload.aud)}`);
      match(payload.iss, /\S/, 'iss');
      assert(Number.isInteger(payload.iat) && Number.isInteger(payload.exp) && payload.exp > payload.iat,
        `iat/exp: ${payload.iat}/${payload.exp}`);
      const expiresAt = Date.parse(signedIn.body.authTokenExpiresAt);
      assert(Math.abs(expiresAt - payload.exp * 1000) <= 1000,
        `authTokenExpiresAt ${signedIn.body.authTokenExpiresAt} vs exp ${payload.exp}`);
      const jwks = await http('GET', `/v1/apps/${appA.id}/.well-known/jwks.json`);
      assert(jwks.body.keys.some((k) => k.kid === header.kid), `kid ${header.kid} is not in the app's JWKS`);
      const other = await http('GET', `/v1/apps/${appB.id}/.well-known/jwks.json`);
      // 2.6.0 checks no audience: only a per-app key keeps another app's token out.
      assert(!other.body.keys.some((k) => k.kid === header.kid), "the signing key is also in another app's JWKS");
    });

    await check(v('POST /signin/session refuses the same verify token twice'), async () => {
      const s = await session(appA, need(signedIn, 'a redeemed verify token').verifyToken);
      assert(s.status >= 400 && s.status < 500, `second /signin/session: ${s.status} ${show(s.body)}`);
    });

    await check(v('authenticateRequest, cookie mode (psg_auth_token among other cookies) returns the user id'), async () =>
      eq(await passage.authenticateRequest(cookieReq(jwt())), userId(), 'user id'));
    await check(v('authenticateRequest, header mode (Authorization: Bearer) returns the user id'), async () =>
      eq(await passageHeader.authenticateRequest(headerReq(jwt())), userId(), 'user id'));
    if (newer) {
      await check(v('auth.validateJwt(jwt) returns the user id'), async () =>
        eq(await passage.auth.validateJwt(jwt()), userId(), 'user id'));
    }

    // ---- devices --------------------------------------------------------------------
    const device = await check(v('user.listDevices: the Chromium passkey, with friendly_name, type, usage_count ≥ 1'), async () => {
      need(signedIn, 'a sign-in');
      const devices = await passage.user.listDevices(userId());
      eq(devices?.length, 1, 'device count');
      const d = devices[0];
      match(d.id, /\S/, 'id');
      match(d.cred_id, /\S/, 'cred_id');
      eq(d.friendly_name, nickname, 'friendly_name');
      assert(DEVICE_TYPES.includes(d.type), `type ${show(d.type)} not in ${DEVICE_TYPES}`);
      assert(d.usage_count >= 1, `usage_count ${d.usage_count}`);
      for (const k of ['created_at', 'updated_at', 'last_login_at']) assert(!Number.isNaN(d[k].getTime()), `${k} is not a date`);
      const creds = await browser().credentials();
      const std = creds[0]?.credentialId;
      assert([std, Buffer.from(std, 'base64').toString('base64url')].includes(d.cred_id),
        `cred_id ${d.cred_id} is not the authenticator's credential ${std}`);
      return d;
    });

    await check(v('user.get shows webauthn: true and the device'), async () => {
      need(device, 'the listed device');
      const u = await passage.user.get(userId());
      eq(u.webauthn, true, 'webauthn');
      eq(u.webauthn_devices.length, 1, 'webauthn_devices.length');
      eq(u.webauthn_devices[0].id, device.id, 'webauthn_devices[0].id');
    });

    // ---- deactivate / activate ------------------------------------------------------
    const deactivated = await check(v('user.deactivate(id) returns status "inactive"'), async () => {
      eq((await passage.user.deactivate(userId())).status, 'inactive', 'status');
      return true;
    });

    // Discoverable: the authenticator holds only this user's passkey, so the page offers it
    // whatever the server says about the user beforehand.
    await check(v('a deactivated user cannot sign in (refused in the page or by /signin/session)'), async () => {
      need(deactivated, 'deactivate');
      need(registered, 'the registered passkey');
      const r = await browser().client(appA.apiKey, 'signinWithDiscoverable');
      if (r?.error) return; // refused during the ceremony
      const s = await session(appA, verifyTokenOf(r, 'signinWithDiscoverable'));
      assert(s.status >= 400 && s.status < 500, `/signin/session for an inactive user: ${s.status} ${show(s.body)}`);
    });

    const reactivated = await check(v('user.activate(id) returns status "active", and sign-in works again'), async () => {
      need(deactivated, 'deactivate');
      eq((await passage.user.activate(userId())).status, 'active', 'status');
      const s = await signIn(appA, 'signinWithId', userId());
      eq(await passage.authenticateRequest(cookieReq(s.jwt)), userId(), 'authenticateRequest');
      return s;
    });

    if (newer) {
      await check(v('user.revokeRefreshTokens(id) and user.signOut(id) return true'), async () => {
        eq(await passage.user.revokeRefreshTokens(userId()), true, 'revokeRefreshTokens');
        eq(await passage.user.signOut(userId()), true, 'signOut');
      });
    } else {
      await check(v('user.signOut(id) returns true'), async () => eq(await passage.user.signOut(userId()), true, 'signOut'));
    }

    // ---- magic links ----------------------------------------------------------------
    /** Checks a MagicLink and, when its URL carries a verify token, that it works once. */
    async function checkMagicLink(ml) {
      const url = new URL(ml.url);
      eq(url.origin, browser().origin, 'url origin (the app origin)');
      eq(url.pathname, '/magic', 'url path (magic_link_path)');
      eq(ml.user_id, userId(), 'user_id');
      eq(ml.app_id, appA.id, 'app_id');
      eq(ml.type, 'login', 'type');
      eq(ml.activated, false, 'activated');
      match(ml.id, /\S/, 'id');
      const token = [...url.searchParams.values()].find((x) => /^verify_/.test(x));
      if (!token) return 'no verify_ token in the URL, single use not observable';
      const first = await session(appA, token);
      eq(first.status, 200, `first /signin/session (${show(first.body)})`);
      eq(first.body.userId, userId(), 'userId');
      const second = await session(appA, token);
      assert(second.status >= 400 && second.status < 500, `second /signin/session: ${second.status}`);
      return null;
    }

    await check(v('createMagicLink({email, channel, send: false, magic_link_path, ttl}) builds a link on the app origin'), async () => {
      need(reactivated, 'an active user');
      const ml = await passage.createMagicLink({
        email: email2, channel: 'email', send: false, type: 'login', magic_link_path: '/magic', redirect_url: '/after', ttl: 5,
      });
      const note = await checkMagicLink(ml);
      if (note) console.log(`# ${v('createMagicLink')}: ${note}`);
      eq(ml.identifier, email2, 'identifier');
      eq(ml.ttl, 5, 'ttl');
      // Passage: redirect_url is where the user goes after signing in, not the link itself.
      eq(ml.redirect_url, '/after', 'redirect_url');
    });
    if (newer) {
      await check(v('auth.createMagicLink({userId, channel, type, send: false}, {magicLinkPath}) builds a link'), async () => {
        need(reactivated, 'an active user');
        const ml = await passage.auth.createMagicLink(
          { userId: userId(), channel: 'email', type: 'login', send: false }, { magicLinkPath: '/magic' });
        const note = await checkMagicLink(ml);
        if (note) console.log(`# ${v('auth.createMagicLink')}: ${note}`);
      });
    }

    // ---- tokens authenticateRequest must refuse --------------------------------------
    await check(v('authenticateRequest refuses a tampered token (payload sub changed, signature kept)'), async () => {
      const [hd, pl, sig] = jwt().split('.');
      const payload = JSON.parse(Buffer.from(pl, 'base64url'));
      payload.sub = `${payload.sub}x`;
      const forged = [hd, Buffer.from(JSON.stringify(payload)).toString('base64url'), sig].join('.');
      const e = await rejection(passage.authenticateRequest(cookieReq(forged)), 'tampered token');
      match(e.message, /signature/i, 'reason');
      await rejection(passageHeader.authenticateRequest(headerReq(forged)), 'tampered token (header mode)');
    });

    // An expired token needs a short session lifetime (see sessionsAvailable).
    if (!sessionsAvailable) {
      skip(v('authenticateRequest refuses an expired token'), '/admin/apps/{appId}/sessions is not available');
    } else {
      await check(v('authenticateRequest refuses an expired token (session lifetime set to 1 s)'), async () => {
        need(reactivated, 'an active user with a passkey');
        const set = await admin(`${appA.id}/sessions`, { lifetimeSeconds: 1 });
        try {
          assert(set.status >= 200 && set.status < 300, `POST /admin/apps/{appId}/sessions: ${set.status} ${show(set.body)}`);
          const s = await signIn(appA, 'signinWithId', userId());
          const { payload } = decodeJwt(s.jwt);
          eq(payload.exp - payload.iat, 1, 'exp - iat');
          // jose refuses once exp <= now, with no leeway.
          await sleep(Math.max(0, payload.exp * 1000 - Date.now()) + 1100);
          const e = await rejection(passage.authenticateRequest(cookieReq(s.jwt)), 'expired token');
          match(e.message, /exp/, 'reason');
        } finally {
          await admin(`${appA.id}/sessions`, { lifetimeSeconds: lifetime });
        }
      });
    }

    // ---- revokeDevice ---------------------------------------------------------------
    // Before another app's passkey joins this authenticator, so that the discoverable
    // sign-in below can only offer this one.
    const revoked = await check(v('user.revokeDevice(id, device.id) returns true and the device is gone'), async () => {
      const d = need(device, 'the listed device');
      eq(await passage.user.revokeDevice(userId(), d.id), true, 'revokeDevice');
      eq((await passage.user.listDevices(userId())).length, 0, 'devices left');
      return true;
    });
    await check(v('browser: the revoked passkey no longer signs in (unknown_credential)'), async () => {
      need(revoked, 'revokeDevice');
      const r = await browser().client(appA.apiKey, 'signinWithDiscoverable');
      assert(r?.error, `expected {error}, got ${show(r)}`);
      eq(r.error.from, 'server', `error.from (${show(r.error)})`);
      eq(r.error.errorCode, 'unknown_credential', 'errorCode');
    });

    // ---- another app's token, and another app's key -----------------------------------
    await check(v("authenticateRequest refuses another app's token (which that app's instance accepts)"), async () => {
      const userB = `passageb-${rand()}`;
      await registerPasskey(appB, userB, 'other-app');
      const { jwt: jwtB } = await signIn(appB, 'signinWithId', userB);
      eq(await passageB.authenticateRequest(cookieReq(jwtB)), userB, "app B's own authenticateRequest");
      await rejection(passage.authenticateRequest(cookieReq(jwtB)), "app A's cookie mode");
      await rejection(passageHeader.authenticateRequest(headerReq(jwtB)), "app A's header mode");
    });

    await check(v("another app's secret is refused on this app (getApp, user.get)"), async () => {
      const wrong = new Passage({ appID: appA.id, apiKey: appB.secret });
      const e1 = await rejection(wrong.getApp(), 'getApp');
      const e2 = await rejection(wrong.user.get(userId()), 'user.get');
      if (newer) {
        for (const e of [e1, e2]) assert([401, 404].includes(e.statusCode), `statusCode ${e.statusCode} (${e.message})`);
      }
      // And app B cannot see app A's user through its own routes.
      const e3 = await rejection(passageB.user.get(userId()), "app B's user.get of app A's user");
      if (newer) eq(e3.statusCode, 404, "app B's user.get statusCode");
    });

    // ---- delete ---------------------------------------------------------------------
    await check(v('user.delete(id) returns true, then user.get rejects (404 user_not_found)'), async () => {
      eq(await passage.user.delete(userId()), true, 'delete');
      const e = await rejection(passage.user.get(userId()), 'user.get after delete');
      if (newer) {
        eq(e.statusCode, 404, 'statusCode');
        eq(e.errorCode, 'user_not_found', 'errorCode');
      }
    });
  }
} finally {
  await h?.close();
}

process.exit(summary('passage') > 0 ? 1 : 0);

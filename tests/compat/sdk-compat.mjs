// Node suite: the official, unchanged @passwordlessdev/passwordless-client (in Chromium, with a
// CDP virtual authenticator) and @passwordlessdev/passwordless-nodejs against a real passkeyd.
//
// Env: PASSKEYD_URL (e.g. http://127.0.0.1:5701), PASSKEYD_MANAGEMENT_KEY.
// Output: "ok - …" / "not ok - …: reason" / "skip - …" lines, then "node: N passed, M failed".

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PasswordlessClient, ApiException, Converters } from '@passwordlessdev/passwordless-nodejs';
import { startHarness } from './lib/harness.mjs';
import {
  check, skip, summary, need, assert, eq, match, hasKeys, createApp, rand,
  GUID, UTC_TIME, STD_B64, B64URL, b64urlToStd, stdToB64url,
} from './lib/checks.mjs';

const baseUrl = need(process.env.PASSKEYD_URL, 'PASSKEYD_URL').replace(/\/$/, '');
const managementKey = need(process.env.PASSKEYD_MANAGEMENT_KEY, 'PASSKEYD_MANAGEMENT_KEY');
// The browser must see the API on "localhost" too: same-site with the page but cross-origin,
// so every call is preflighted exactly as in production.
const browserApiUrl = baseUrl.replace('//127.0.0.1:', '//localhost:');

const VERIFIED_KEYS = ['userId', 'timestamp', 'rpId', 'origin', 'success', 'device', 'country',
  'nickname', 'credentialId', 'purpose', 'expiresAt', 'tokenId', 'type'];

// ---- helpers ---------------------------------------------------------------------------

/** Asserts a `{token: "verify_…"}` browser result and returns the token. */
function verifyTokenOf(result, what) {
  assert(result && !result.error, `${what} returned an error: ${JSON.stringify(result?.error)}`);
  match(result.token, /^verify_[A-Za-z0-9_-]+$/, `${what}.token`);
  return result.token;
}

/** Asserts a browser result is a server error in the SDK's {error:{from:'server', …}} shape. */
function serverError(result, status, codes, what) {
  assert(result?.error, `${what}: expected {error}, got ${JSON.stringify(result)}`);
  const e = result.error;
  // from:'client' would mean the response never reached the SDK (CORS, non-JSON body, …).
  eq(e.from, 'server', `${what}: error.from (error was ${JSON.stringify(e)})`);
  eq(e.status, status, `${what}: error.status`);
  assert(codes.includes(e.errorCode), `${what}: error.errorCode ${JSON.stringify(e.errorCode)} not in ${codes}`);
  match(e.title, /\S/, `${what}: error.title`);
  return e;
}

/** Every VerifiedUser field, with the encodings the .NET/Java/Python SDKs need. */
function checkVerified(v, want, origin) {
  assert(v !== null && v !== undefined, 'verifyToken resolved null (the SDK swallows the server error)');
  hasKeys(v, VERIFIED_KEYS, 'verified user');
  eq(v.success, true, 'success');
  eq(v.userId, want.userId, 'userId');
  eq(v.type, want.type, 'type');
  match(v.timestamp, UTC_TIME, 'timestamp');
  match(v.expiresAt, UTC_TIME, 'expiresAt');
  assert(Date.parse(v.expiresAt) > Date.parse(v.timestamp), `expiresAt ${v.expiresAt} is not after timestamp ${v.timestamp}`);
  match(v.tokenId, GUID, 'tokenId');
  eq(v.purpose, want.purpose, 'purpose');
  if (want.type === 'generated_signin') return;
  match(v.credentialId, STD_B64, 'credentialId (standard base64 with padding)');
  eq(v.credentialId, want.credentialId, 'credentialId (vs WebAuthn.getCredentials)');
  eq(v.rpId, 'localhost', 'rpId');
  eq(v.origin, origin, 'origin');
  eq(typeof v.device, 'string', 'typeof device');
  eq(typeof v.country, 'string', 'typeof country');
  eq(v.nickname, want.nickname, 'nickname');
}

/** Catches the ApiException a Node SDK call must throw. */
async function apiException(promise, what) {
  try {
    const value = await promise;
    throw new Error(`${what}: expected an ApiException, resolved ${JSON.stringify(value?.data ?? value)}`);
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    return e.details;
  }
}

const aliasHash = (appId, alias) => createHash('sha256').update(appId + alias).digest('base64');

// ---- the suite -------------------------------------------------------------------------

const appId = `nodecompat${rand(4)}`;
const app = await check('admin: POST /admin/apps/{appId}/create returns two public keys and two secrets', async () => {
  const a = await createApp(baseUrl, managementKey, appId);
  for (const k of ['apiKey1', 'apiKey2']) match(a[k], new RegExp(`^${appId}:public:[0-9a-f]{32}$`), k);
  for (const k of ['apiSecret1', 'apiSecret2']) match(a[k], new RegExp(`^${appId}:secret:[0-9a-f]{32}$`), k);
  return a;
});
if (!app) {
  // Without an app nothing else can run.
  process.exit(summary('node') > 0 ? 1 : 0);
}
const apiKey = app.apiKey1;
const pl = new PasswordlessClient(app.apiSecret1, { baseUrl });

const h = await check('browser: Chromium starts with a CDP virtual authenticator and loads the page', () =>
  startHarness({ apiUrl: browserApiUrl, verbose: !!process.env.COMPAT_VERBOSE }), { timeoutMs: 90_000 });
const browser = () => need(h, 'the browser harness');

try {
  // ---- browser capabilities ----------------------------------------------------------
  await check('browser: isPlatformSupported() is true', async () =>
    eq(await browser().client(apiKey, 'isPlatformSupported'), true, 'isPlatformSupported()'));
  await check('browser: isAutofillSupported() is true', async () =>
    eq(await browser().client(apiKey, 'isAutofillSupported'), true, 'isAutofillSupported()'));

  // ---- registration ------------------------------------------------------------------
  const user1 = `user-${rand()}`;
  const alias1 = `alice-${rand()}@example.com`;
  const registerToken = await check('node: createRegisterToken returns {token: "register_…"}', async () => {
    const r = await pl.createRegisterToken({
      userId: user1, username: 'alice', displayName: 'Alice', aliases: [alias1], aliasHashing: true,
      discoverable: true, userVerification: 'preferred', attestation: 'none',
    });
    match(r?.token, /^register_[A-Za-z0-9_-]+$/, 'token');
    return r.token;
  });

  const registerVerify = await check('browser: register(token, "nickname") returns {token: "verify_…"}', async () => {
    const r = await browser().client(apiKey, 'register', need(registerToken, 'register token'), 'nickname');
    const t = verifyTokenOf(r, 'register');
    eq(Object.keys(r).join(','), 'token', 'result keys');
    return t;
  });

  // The authenticator's own view of the credential is the reference for every id check below.
  const cred1 = await check('browser: the virtual authenticator holds one resident credential for rpId localhost', async () => {
    need(registerVerify, 'a completed registration');
    const creds = await browser().credentials();
    eq(creds.length, 1, 'credential count');
    const c = creds[0];
    eq(c.isResidentCredential, true, 'isResidentCredential');
    eq(c.rpId, 'localhost', 'rpId');
    eq(c.userHandle, Buffer.from(user1).toString('base64'), 'userHandle (base64 of the UTF-8 userId)');
    return c;
  });

  await check('node: verifyToken (passkey_register) returns every field, credentialId in standard base64', async () => {
    const v = await pl.verifyToken(need(registerVerify, 'register verify token'));
    checkVerified(v, { type: 'passkey_register', userId: user1, credentialId: need(cred1, 'CDP credential').credentialId,
      nickname: 'nickname', purpose: null }, browser().origin);
  });

  await check('node: verify tokens are single-use in passkeyd (second verifyToken resolves null)', async () =>
    eq(await pl.verifyToken(need(registerVerify, 'register verify token')), null, 'second verifyToken'));

  // ---- sign-in, four ways, plus step-up ----------------------------------------------
  async function signinCheck(name, method, args, purpose) {
    await check(name, async () => {
      need(cred1, 'a registered credential');
      const r = await browser().client(apiKey, method, ...args);
      const v = await pl.verifyToken(verifyTokenOf(r, method));
      checkVerified(v, { type: 'passkey_signin', userId: user1, credentialId: cred1.credentialId,
        nickname: 'nickname', purpose }, browser().origin);
    });
  }
  await signinCheck('browser: signinWithAlias → verifyToken gives passkey_signin for the user', 'signinWithAlias', [alias1], 'sign-in');
  await signinCheck('browser: signinWithId → verifyToken gives passkey_signin', 'signinWithId', [user1], 'sign-in');
  await signinCheck('browser: signinWithDiscoverable (empty allowCredentials, no userHandle sent) → passkey_signin', 'signinWithDiscoverable', [], 'sign-in');
  await signinCheck('browser: signinWithAutofill (conditional mediation) → passkey_signin', 'signinWithAutofill', [], 'sign-in');
  await signinCheck('browser: stepup({signinMethod:{alias}, purpose:"step-up"}) → verifyToken purpose "step-up"',
    'stepup', [{ signinMethod: { alias: alias1 }, purpose: 'step-up' }], 'step-up');
  // A purpose configured with POST /auth-configs/add (no SDK method exists for it) is echoed.
  await check('http: POST /auth-configs/add {purpose: "pay"} answers 201', async () => {
    const res = await fetch(`${baseUrl}/auth-configs/add`, {
      method: 'POST',
      headers: { ApiSecret: app.apiSecret1, 'Content-Type': 'application/json' },
      body: JSON.stringify({ purpose: 'pay', userVerificationRequirement: 'required', timeToLive: '00:05:00', performedBy: 'compat' }),
    });
    eq(res.status, 201, `status (${await res.text()})`);
  });
  await signinCheck('browser: stepup({signinMethod:{alias}, purpose:"pay"}) → verifyToken purpose "pay" (configured purpose)',
    'stepup', [{ signinMethod: { alias: alias1 }, purpose: 'pay' }], 'pay');
  // Original behaviour: a purpose never configured falls back to the sign-in preset and is
  // reported as "sign-in" (contract §3.1.3).
  await signinCheck('browser: stepup purpose "unconfigured" → purpose "sign-in" [original fallback for unknown purposes]',
    'stepup', [{ signinMethod: { alias: alias1 }, purpose: 'unconfigured' }], 'sign-in');

  // ---- errors the browser SDK must see as {error:{from:'server', …}} ----------------------
  await check('browser: a bad public key gives a 401 server error (problem JSON with CORS headers)', async () => {
    const badKey = `${appId}:public:${'0'.repeat(32)}`;
    serverError(await browser().client(badKey, 'signinWithAlias', alias1), 401, ['unauthorized'], 'bad ApiKey');
  });

  await check('browser: register("register_bogus") gives a 400 invalid_token_format/invalid_token server error', async () =>
    serverError(await browser().client(apiKey, 'register', 'register_bogus'), 400,
      ['invalid_token_format', 'invalid_token'], 'register_bogus'));

  await check('browser: a bogus signature (setResponseOverrideBits isBogusSignature) gives signin_complete_error', async () => {
    need(cred1, 'a registered credential');
    await browser().overrideBits({ isBogusSignature: true });
    try {
      serverError(await browser().client(apiKey, 'signinWithId', user1), 400, ['signin_complete_error'], 'bogus signature');
    } finally {
      await browser().overrideBits({});
    }
  });

  await check('browser: replaying a used /signin/complete body gives 400 invalid_token', async () => {
    need(cred1, 'a registered credential');
    const { page } = browser();
    let body;
    // Observe (not alter) the SDK's own request; Chromium still talks to passkeyd.
    const spy = (route) => {
      if (route.request().method() === 'POST') body = route.request().postData();
      return route.continue();
    };
    await page.route('**/signin/complete', spy);
    try {
      verifyTokenOf(await browser().client(apiKey, 'signinWithId', user1), 'first sign-in');
    } finally {
      await page.unroute('**/signin/complete', spy);
    }
    assert(body, 'the /signin/complete request body was not captured');
    const replay = await page.evaluate(async ({ url, apiKey, body }) => {
      const res = await fetch(`${url}/signin/complete`, {
        method: 'POST', headers: { ApiKey: apiKey, 'Content-Type': 'application/json' }, body,
      });
      return { status: res.status, contentType: res.headers.get('content-type'), json: await res.json() };
    }, { url: browserApiUrl, apiKey, body });
    eq(replay.status, 400, 'replay status');
    eq(replay.contentType, 'application/problem+json', 'replay content-type');
    eq(replay.json.errorCode, 'invalid_token', 'replay errorCode');
  });

  // ---- Node SDK: errors ----------------------------------------------------------------
  await check('node: a bad secret throws ApiException {status: 401, errorCode: "unauthorized"} (bare problem+json)', async () => {
    const bad = new PasswordlessClient(`${appId}:secret:${'0'.repeat(32)}`, { baseUrl });
    const d = await apiException(bad.createRegisterToken({ userId: 'u', username: 'u' }), 'bad secret');
    eq(d.status, 401, 'details.status');
    eq(d.errorCode, 'unauthorized', 'details.errorCode');
    match(d.title, /ApiSecret/, 'details.title');
  });

  await check('node: createRegisterToken without username throws ApiException 400 validation_error', async () => {
    const d = await apiException(pl.createRegisterToken({ userId: `user-${rand()}` }), 'no username');
    eq(d.status, 400, 'details.status');
    eq(d.errorCode, 'validation_error', 'details.errorCode');
    assert(d.errors && 'username' in d.errors, `details.errors has no "username": ${JSON.stringify(d.errors)}`);
  });

  await check('node: verifyToken("invalid") resolves null', async () =>
    eq(await pl.verifyToken('invalid'), null, 'verifyToken("invalid")'));

  await check('http: POST /signin/verify {"token":"invalid"} answers 400 application/problem+json', async () => {
    const res = await fetch(`${baseUrl}/signin/verify`, {
      method: 'POST', headers: { ApiSecret: app.apiSecret1, 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: 'invalid' }),
    });
    eq(res.status, 400, 'status');
    eq(res.headers.get('content-type'), 'application/problem+json', 'content-type');
    const body = await res.json();
    hasKeys(body, ['type', 'title', 'status', 'errorCode'], 'problem');
    eq(body.status, 400, 'body.status');
    eq(body.errorCode, 'invalid_token', 'body.errorCode');
  });

  // ---- Node SDK: generated tokens and app isolation -----------------------------------
  await check('node: generateAuthenticationToken → verifyToken gives generated_signin', async () => {
    const g = await pl.generateAuthenticationToken({ userId: user1, timeToLive: 60 });
    assert(g, 'generateAuthenticationToken resolved null (the SDK swallows the server error)');
    match(g.token, /^verify_[A-Za-z0-9_-]+$/, 'token');
    const v = await pl.verifyToken(g.token);
    checkVerified(v, { type: 'generated_signin', userId: user1, purpose: 'sign-in' });
    const ttl = (Date.parse(v.expiresAt) - Date.parse(v.timestamp)) / 1000;
    assert(Math.abs(ttl - 60) <= 1, `expiresAt - timestamp is ${ttl}s, expected the 60s timeToLive`);
  });

  await check('node: a verify token is refused by another app and still works for its own', async () => {
    const other = await createApp(baseUrl, managementKey, `nodeother${rand(4)}`);
    const g = need(await pl.generateAuthenticationToken({ userId: user1 }), 'a generated token');
    const foreign = new PasswordlessClient(other.apiSecret1, { baseUrl });
    eq(await foreign.verifyToken(g.token), null, "another app's verifyToken");
    const v = await pl.verifyToken(g.token);
    assert(v?.userId === user1, `own app's verifyToken after the refusal: ${JSON.stringify(v)}`);
  });

  // ---- Node SDK: aliases and credentials (contract §3.2.4–§3.2.7) ---------------------
  await check('node: listAliases returns the hashed alias {userId, alias, plaintext: null, tenant}', async () => {
    const values = await pl.listAliases(user1);
    assert(Array.isArray(values), `expected response.data.values to be an array, got ${JSON.stringify(values)}`);
    eq(values.length, 1, 'alias count');
    hasKeys(values[0], ['userId', 'alias', 'plaintext', 'tenant'], 'alias');
    eq(values[0].userId, user1, 'userId');
    eq(values[0].alias, aliasHash(appId, alias1), 'alias (base64 SHA-256 of appId + alias)');
    eq(values[0].plaintext, null, 'plaintext');
    eq(values[0].tenant, appId, 'tenant');
  });

  const listed = await check('node: listCredentials returns the credential in the contract shape and encodings', async () => {
    const c1 = need(cred1, 'a registered credential');
    const values = await pl.listCredentials(user1);
    assert(Array.isArray(values), `expected response.data.values to be an array, got ${JSON.stringify(values)}`);
    eq(values.length, 1, 'credential count');
    const c = values[0];
    hasKeys(c, ['descriptor', 'publicKey', 'userHandle', 'signatureCounter', 'attestationFmt', 'createdAt',
      'aaGuid', 'lastUsedAt', 'rpid', 'origin', 'country', 'device', 'nickname', 'userId'], 'credential');
    eq(c.descriptor?.type, 'public-key', 'descriptor.type');
    match(c.descriptor?.id, B64URL, 'descriptor.id (base64url, unpadded)');
    eq(c.descriptor.id, stdToB64url(c1.credentialId), 'descriptor.id (vs WebAuthn.getCredentials)');
    match(c.publicKey, STD_B64, 'publicKey (standard base64)');
    assert(Buffer.from(c.publicKey, 'base64')[0] >> 5 === 5, 'publicKey does not decode to a CBOR map (COSE_Key)');
    match(c.userHandle, STD_B64, 'userHandle (standard base64)');
    eq(c.userHandle, c1.userHandle, 'userHandle (vs WebAuthn.getCredentials)');
    const now = (await browser().credentials())[0].signCount;
    eq(c.signatureCounter, now, 'signatureCounter (vs the authenticator\'s signCount)');
    assert(c.signatureCounter > 0, 'signatureCounter did not advance with the sign-ins');
    eq(c.attestationFmt, 'none', 'attestationFmt');
    assert(!Number.isNaN(Date.parse(c.createdAt)), `createdAt ${c.createdAt} is not a date-time`);
    assert(!Number.isNaN(Date.parse(c.lastUsedAt)), `lastUsedAt ${c.lastUsedAt} is not a date-time`);
    match(c.aaGuid, GUID, 'aaGuid');
    eq(c.rpid, 'localhost', 'rpid (lower-case key)');
    eq(c.origin, browser().origin, 'origin');
    eq(typeof c.country, 'string', 'typeof country');
    eq(typeof c.device, 'string', 'typeof device');
    eq(c.nickname, 'nickname', 'nickname');
    eq(c.userId, user1, 'userId');
    return c;
  });

  const alias2 = `bob-${rand()}@example.com`;
  const aliasesSet = await check('node: setAliases({hashing: false}) answers 204', async () => {
    const res = await pl.setAliases({ userId: user1, aliases: [alias2], hashing: false });
    eq(res.status, 204, 'status');
    return true;
  });

  await check('node: listAliases after setAliases shows only the new alias, with its plaintext', async () => {
    need(aliasesSet, 'setAliases');
    const values = await pl.listAliases(user1);
    eq(values?.length, 1, 'alias count (set replaces)');
    eq(values[0].alias, aliasHash(appId, alias2), 'alias (hash)');
    eq(values[0].plaintext, alias2, 'plaintext');
  });

  await check('browser: signinWithAlias works with the alias set by setAliases', async () => {
    need(aliasesSet, 'setAliases');
    const v = await pl.verifyToken(verifyTokenOf(await browser().client(apiKey, 'signinWithAlias', alias2), 'signinWithAlias'));
    eq(v?.userId, user1, 'verified userId');
  });

  const deleted = await check('node: deleteCredential(base64UrlToUint8Array(descriptor.id)) answers 2xx and empties the list', async () => {
    const c = need(listed, 'the listed credential');
    const res = await pl.deleteCredential(Converters.base64UrlToUint8Array(c.descriptor.id));
    assert([200, 204].includes(res.status), `status ${res.status}, expected 204`);
    eq((await pl.listCredentials(user1))?.length, 0, 'credentials left');
    return true;
  });

  // signinWithId would now get a stand-in credential id (passkeyd does not reveal which users
  // have passkeys), which the browser cannot answer; a discoverable sign-in offers the deleted
  // passkey itself, and the server must refuse it.
  await check('browser: after deleteCredential the passkey is refused (unknown_credential)', async () => {
    need(deleted, 'deleteCredential');
    serverError(await browser().client(apiKey, 'signinWithDiscoverable'), 400, ['unknown_credential'], 'signin after delete');
  });

  // ---- Node SDK: deleteUser, on a second user with a credential and an alias -----------
  const user2 = `user-${rand()}`;
  const alias3 = `carol-${rand()}@example.com`;
  const registered2 = await check('browser: a second user registers on a fresh authenticator', async () => {
    await browser().freshAuthenticator(); // at most 3 resident keys per virtual authenticator
    const { token } = await pl.createRegisterToken({ userId: user2, username: 'carol', aliases: [alias3] });
    const v = await pl.verifyToken(verifyTokenOf(await browser().client(apiKey, 'register', token), 'register'));
    eq(v?.userId, user2, 'verified userId');
    return true;
  });

  const userDeleted = await check('node: deleteUser answers 200 with an empty body', async () => {
    need(registered2, 'the second user');
    const res = await pl.deleteUser(user2);
    eq(res.status, 200, 'status');
    assert(res.data === '' || res.data === undefined || res.data === null, `body: ${JSON.stringify(res.data)}`);
    return true;
  });

  await check('node: after deleteUser the user has no credentials and no aliases', async () => {
    need(userDeleted, 'deleteUser');
    eq((await pl.listCredentials(user2))?.length, 0, 'credentials left');
    eq((await pl.listAliases(user2))?.length, 0, 'aliases left');
  });

  await check('browser: after deleteUser the passkey is refused (unknown_credential)', async () => {
    need(userDeleted, 'deleteUser');
    serverError(await browser().client(apiKey, 'signinWithDiscoverable'), 400, ['unknown_credential'], 'signin after deleteUser');
  });

  // ---- magic links: passkeyd writes mail to PASSKEYD_MAIL_FILE for this suite ------------
  const magicToken = await check('node: sendMagicLink to the admin address answers 2xx and mails a verify_ link', async () => {
    const res = await pl.sendMagicLink({ emailAddress: 'ops@example.com',
      urlTemplate: 'https://localhost/magic?token=$TOKEN', userId: user1, timeToLive: 600 });
    assert(res.status >= 200 && res.status < 300, `status ${res.status}`);
    const mail = readFileSync(need(process.env.PASSKEYD_MAIL_FILE, 'PASSKEYD_MAIL_FILE'), 'utf8');
    const links = [...mail.matchAll(/https:\/\/localhost\/magic\?token=(verify_[A-Za-z0-9_-]{43})/g)];
    assert(links.length > 0, 'no magic link in the mail file');
    match(mail, /Subject: Sign in to localhost/, 'subject');
    return links[links.length - 1][1];
  });
  await check('node: verifyToken(magic link token) gives type magic_link, and works once', async () => {
    const v = await pl.verifyToken(need(magicToken, 'a magic link token'));
    assert(v, 'verifyToken resolved null');
    eq(v.type, 'magic_link', 'type');
    eq(v.userId, user1, 'userId');
    eq(v.purpose, null, 'purpose');
    eq(Date.parse(v.expiresAt) - Date.parse(v.timestamp), 600_000, 'lifetime (ms)');
    eq(await pl.verifyToken(magicToken), null, 'second verifyToken');
  });
  await check('node: sendMagicLink with a template lacking $TOKEN throws ApiException 400 validation_error', async () => {
    const d = await apiException(pl.sendMagicLink({ emailAddress: 'ops@example.com',
      urlTemplate: 'https://localhost/magic', userId: user1 }), 'bad template');
    eq(d.status, 400, 'status');
    eq(d.errorCode, 'validation_error', 'errorCode');
  });

  // ---- raw HTTP: the preflight every browser call depends on --------------------------
  await check('http: CORS preflight OPTIONS /signin/begin answers 204 with the echoed headers', async () => {
    const res = await fetch(`${baseUrl}/signin/begin`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:1', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'apikey,client-version,content-type' },
    });
    eq(res.status, 204, 'status');
    eq(res.headers.get('access-control-allow-origin'), '*', 'access-control-allow-origin');
    match(res.headers.get('access-control-allow-headers') ?? '', /apikey/i, 'access-control-allow-headers');
  });
} finally {
  await h?.close();
}

process.exit(summary('node') > 0 ? 1 : 0);

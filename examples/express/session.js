// The session: passkeyd signs a JWT when the backend redeems a verify token at
// POST /signin/session. We keep it in an HttpOnly cookie and check it on every request
// against the app's public keys (JWKS) that passkeyd publishes, in one of two ways:
//
//   SESSION_CHECK=jose     (default) with jose: RS256 only, issuer passkeyd, audience the app.
//   SESSION_CHECK=passage  with the Passage Node SDK's passage.authenticateRequest(req), for
//                          apps moving from Passage (see start.js for how the SDK is started).
//
// Either way the check runs locally: the key set is fetched once and cached, so passkeyd is
// not called per request.

import { createRequire } from 'node:module';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';

/** How sessions are checked: "jose" or "passage". server.js refuses any other value. */
export const SESSION_CHECK = (process.env.SESSION_CHECK || 'jose').trim().toLowerCase();

// passage-node's authenticateRequest reads the cookie psg_auth_token and no other, so the
// Passage way needs that name.
export const COOKIE = SESSION_CHECK === 'passage' ? 'psg_auth_token' : 'harbor_session';

/** Reads cookies without a dependency: `a=1; b=2` → {a: '1', b: '2'}. */
export function readCookies(req) {
  const out = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

const isLocalhost = (host) => host === 'localhost' || host === '127.0.0.1' || host === '[::1]';

/** HttpOnly, SameSite=Lax, and Secure everywhere but on localhost (plain http in development). */
export function cookieOptions(req, expiresAt) {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure: !isLocalhost(req.hostname),
    path: '/',
    ...(expiresAt ? { expires: expiresAt } : {}),
  };
}

/** The session check SESSION_CHECK asks for: resolves to readSession(req). */
export async function sessionVerifier(options) {
  return SESSION_CHECK === 'passage' ? passageSessionVerifier(options) : joseSessionVerifier(options);
}

function joseSessionVerifier({ passkeydUrl, appId }) {
  // e.g. http://127.0.0.1:5701/v1/apps/harbor/.well-known/jwks.json
  const jwks = createRemoteJWKSet(new URL(`${passkeydUrl}/v1/apps/${encodeURIComponent(appId)}/.well-known/jwks.json`));

  /**
   * The signed-in user of this request, or null. Throws only when the key set cannot be
   * fetched (passkeyd unreachable before any key was cached), so that the caller can say so
   * instead of pretending the user signed out.
   */
  return async function readSession(req) {
    const token = readCookies(req)[COOKIE];
    if (!token) return null;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        algorithms: ['RS256'], // never accept "none" or an HMAC algorithm
        issuer: 'passkeyd',
        audience: appId,
      });
      return {
        userId: payload.sub,
        sessionId: payload.jti,
        expiresAt: new Date(payload.exp * 1000),
        issuedAt: new Date(payload.iat * 1000),
        kid: protectedHeader.kid,
        token,
      };
    } catch (e) {
      // A bad, expired or foreign token is simply "not signed in".
      if (e instanceof errors.JOSEError && !(e instanceof errors.JWKSTimeout)) return null;
      throw e;
    }
  };
}

// ---- the Passage way ------------------------------------------------------------------------

// passkeyd's preload, clients/passage-node/preload.cjs; start.js loads it with node --require.
const PRELOAD = 'clients/passage-node/preload.cjs';
const require = createRequire(import.meta.url);

/**
 * Whether passkeyd's preload runs in this process. Without it the SDK would fetch the key set
 * from auth.passage.id, which is gone.
 */
export const preloadLoaded = () =>
  Object.keys(require.cache).some((file) => file.replaceAll('\\', '/').endsWith(PRELOAD));

// What jose reports, inside the SDK's PassageError, when the key set could not be fetched at
// all (the SDK keeps only the message): a timeout, or a connection error from Node.
const NO_ANSWER = /JWKSTimeout|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|socket hang up/;

/** The first cookie of that name, read as passage-node reads it: trimmed, not URL-decoded. */
function firstCookie(req, name) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

async function passageSessionVerifier({ appId, apiSecret }) {
  // The unchanged SDK, loaded only in this mode and after the preload (server.js checks that
  // it runs): its fetch of the key set from auth.passage.id goes to PASSKEYD_URL instead. The
  // app id is passkeyd's, the API key the app's secret (the SDK insists on one, though
  // checking a JWT does not use it).
  const { Passage } = await import('@passageidentity/passage-node');
  const passage = new Passage({ appID: appId, apiKey: apiSecret });

  return async function readSession(req) {
    const token = firstCookie(req, COOKIE); // the token authenticateRequest checks
    if (!token) return null;
    let userId;
    try {
      // Verifies the JWT against the app's JWKS (signature, exp, nbf, and the audience when it
      // is a list, as passkeyd's is) and answers its sub, the user id.
      userId = await passage.authenticateRequest(req);
    } catch (e) {
      // A bad, expired or foreign token is simply "not signed in"; no key set at all is not.
      if (NO_ANSWER.test(String(e?.message))) throw e;
      return null;
    }
    // The SDK answers only the user id. The token has passed its check, so its other claims
    // (the session id for step-up, the times for the dashboard) can be read as they are.
    const payload = decodeJwt(token);
    return {
      userId,
      sessionId: payload.jti,
      expiresAt: new Date(payload.exp * 1000),
      issuedAt: new Date(payload.iat * 1000),
      kid: decodeProtectedHeader(token).kid,
      token,
    };
  };
}

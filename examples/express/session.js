// The session: passkeyd signs a JWT when the backend redeems a verify token at
// POST /signin/session. We keep it in an HttpOnly cookie and check it on every request with
// jose, against the app's public keys (JWKS) that passkeyd publishes. The check runs locally:
// jose fetches the key set once and caches it, so it does not call passkeyd per request.

import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

export const COOKIE = 'harbor_session';

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

export function sessionVerifier({ passkeydUrl, appId }) {
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

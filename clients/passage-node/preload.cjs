'use strict';
// Sends an unchanged @passageidentity/passage-node 2.x to passkeyd instead of Passage.
//
//   NODE_OPTIONS="--require /path/to/preload.cjs" PASSKEYD_URL=http://127.0.0.1:5701 node app.js
//
// The SDK has its hosts built in and no base-URL option: API calls go to
// https://api.passage.id/v1/… through node-fetch (which calls https.request), and the JWKS is
// read from https://auth.passage.id/v1/apps/<app>/.well-known/jwks.json by jose (which calls
// https.get). This file rewrites both hosts to PASSKEYD_URL and keeps the path, so
// https://api.passage.id/v1/apps/x/users becomes ${PASSKEYD_URL}/v1/apps/x/users.
// Global fetch is wrapped as well, for apps that pass `fetchApi: fetch` (passage-node ≥ 2.11.2).
// Only Node built-ins are used, and every other request is left alone.

const http = require('node:http');
const https = require('node:https');
const { syncBuiltinESMExports } = require('node:module');

const PASSAGE_HOSTS = new Set(['api.passage.id', 'auth.passage.id']);

// Fail at start-up rather than let the SDK talk to the real (shut down) Passage.
const base = (() => {
  const raw = process.env.PASSKEYD_URL;
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`passkeyd preload: PASSKEYD_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`passkeyd preload: PASSKEYD_URL must be http or https, got ${url.protocol}`);
  }
  return url;
})();
// A base path such as https://auth.example.com/passkeyd is kept in front of the SDK's path.
const basePath = base.pathname.replace(/\/+$/, '');

/** The passkeyd URL for a Passage URL, or null when the URL is not Passage's. */
function rewrite(url) {
  if (url.protocol !== 'https:' || !PASSAGE_HOSTS.has(url.hostname.toLowerCase())) return null;
  if (url.port !== '' && url.port !== '443') return null;
  const target = new URL(base.href);
  target.pathname = basePath + url.pathname;
  target.search = url.search;
  return target;
}

/**
 * Reads the URL out of the arguments of https.request/https.get, which take
 * (url[, options][, callback]) or (options[, callback]).
 */
function splitArgs(args) {
  let url = null;
  let options = {};
  let i = 0;
  if (typeof args[0] === 'string' || args[0] instanceof URL) {
    url = new URL(args[0]);
    i = 1;
  }
  if (args[i] && typeof args[i] === 'object') {
    options = args[i];
    i++;
  }
  const callback = typeof args[i] === 'function' ? args[i] : undefined;
  if (!url) {
    // The options form, e.g. node-fetch's url.parse() result plus method/headers/agent.
    const host = options.hostname || options.host || 'localhost';
    const port = options.port ? `:${options.port}` : '';
    url = new URL(`${options.protocol || 'https:'}//${host}${port}${options.path || '/'}`);
  }
  return { url, options, callback };
}

// Keep the originals: the wrappers call them, and http.* is not wrapped at all.
const originals = {
  https: { request: https.request, get: https.get },
  http: { request: http.request, get: http.get },
};

/** Wraps https.request or https.get (Node's https.get does not go through exports.request). */
function wrap(original, method) {
  return function passkeydRedirect(...args) {
    let parsed;
    try {
      parsed = splitArgs(args);
    } catch {
      return original.apply(this, args); // not a URL we understand: not Passage's either
    }
    const target = rewrite(parsed.url);
    if (!target) return original.apply(this, args);

    const options = { ...parsed.options };
    // url.parse() fields would contradict the new target; the new ones below replace them.
    for (const k of ['href', 'host', 'hostname', 'port', 'path', 'pathname', 'search', 'query', 'hash', 'servername']) {
      delete options[k];
    }
    // An https.Agent cannot carry a plain-http request.
    if (target.protocol === 'http:') delete options.agent;
    if (options.headers && !Array.isArray(options.headers)) {
      // Node derives Host from the new hostname; an explicit one would still say passage.id.
      options.headers = Object.fromEntries(
        Object.entries(options.headers).filter(([k]) => k.toLowerCase() !== 'host'),
      );
    }
    options.protocol = target.protocol;
    options.hostname = target.hostname.replace(/^\[|\]$/g, ''); // IPv6 literals without brackets
    options.port = target.port || (target.protocol === 'https:' ? 443 : 80);
    options.path = target.pathname + target.search;

    const mod = target.protocol === 'https:' ? originals.https : originals.http;
    return mod[method].call(this, options, parsed.callback);
  };
}

https.request = wrap(originals.https.request, 'request');
https.get = wrap(originals.https.get, 'get');

if (typeof globalThis.fetch === 'function') {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async function fetch(input, init) {
    const isRequest = typeof Request === 'function' && input instanceof Request;
    let url;
    try {
      url = new URL(isRequest ? input.url : String(input));
    } catch {
      return originalFetch(input, init);
    }
    const target = rewrite(url);
    if (!target) return originalFetch(input, init);
    if (!isRequest) return originalFetch(target, init);
    // A Request's URL is read-only: copy it to the new URL (a body is buffered, which is fine
    // for the SDK's small JSON bodies).
    const body = ['GET', 'HEAD'].includes(input.method) ? undefined : await input.arrayBuffer();
    const copy = new Request(target, {
      method: input.method, headers: input.headers, body, redirect: input.redirect, signal: input.signal,
    });
    return originalFetch(copy, init);
  };
}

// ES modules that import from 'node:https' see the wrapped functions too.
syncBuiltinESMExports();

// Sends an unchanged @passageidentity/passage-flex-js 1.x to passkeyd instead of Passage.
//
//   <script>window.PASSKEYD_URL = 'https://passkeyd.example.com';</script>
//   <script src="/redirect.js"></script>
//   ... then the app's bundle with passage-flex-js ...
//
// The SDK has https://auth.passage.id/v1 built in and no option to change it. It calls the
// global fetch, so this file wraps window.fetch: a request for https://auth.passage.id/<path>
// goes to ${PASSKEYD_URL}/<path> with the same path, query, method, headers and body.
// Every other request is passed on untouched. PASSKEYD_URL is read on each call, so it can be
// set before or after this file loads, but it must be set before the first SDK call. Without
// it, a Passage request fails instead of going to the (shut down) Passage servers.
(function () {
  'use strict';

  var PASSAGE_HOST = 'auth.passage.id';
  var originalFetch = window.fetch;
  if (typeof originalFetch !== 'function' || originalFetch.__passkeydRedirect) return;

  /** passkeyd's base URL, without a trailing slash; throws when PASSKEYD_URL is unusable. */
  function baseUrl() {
    var raw = window.PASSKEYD_URL;
    var url;
    try {
      url = new URL(String(raw));
    } catch (e) {
      throw new TypeError('passkeyd redirect: window.PASSKEYD_URL must be an http(s) URL, got ' + JSON.stringify(raw));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError('passkeyd redirect: window.PASSKEYD_URL must be http or https, got ' + url.protocol);
    }
    return url.origin + url.pathname.replace(/\/+$/, '');
  }

  /** The passkeyd URL for a Passage URL, or null when the URL is not Passage's. */
  function rewrite(href) {
    var url;
    try {
      url = new URL(href, window.location.href);
    } catch (e) {
      return null;
    }
    if (url.protocol !== 'https:' || url.hostname.toLowerCase() !== PASSAGE_HOST) return null;
    if (url.port !== '' && url.port !== '443') return null;
    return baseUrl() + url.pathname + url.search;
  }

  function passkeydFetch(input, init) {
    var isRequest = typeof Request === 'function' && input instanceof Request;
    var target;
    try {
      target = rewrite(isRequest ? input.url : String(input));
    } catch (e) {
      return Promise.reject(e); // PASSKEYD_URL is missing or wrong: do not call Passage
    }
    if (target === null) return originalFetch.apply(window, arguments);
    if (!isRequest) return originalFetch.call(window, target, init);
    // A Request's URL cannot change: copy it to the new URL. The body is read first, which
    // is fine for the SDK's small JSON bodies.
    var method = input.method.toUpperCase();
    var body = method === 'GET' || method === 'HEAD' ? Promise.resolve(undefined) : input.arrayBuffer();
    return body.then(function (buf) {
      var copy = new Request(target, {
        method: input.method,
        headers: input.headers,
        body: buf,
        mode: input.mode,
        credentials: input.credentials,
        cache: input.cache,
        redirect: input.redirect,
        referrerPolicy: input.referrerPolicy,
        integrity: input.integrity,
        keepalive: input.keepalive,
        signal: input.signal,
      });
      return originalFetch.call(window, copy, init);
    });
  }
  passkeydFetch.__passkeydRedirect = true;
  window.fetch = passkeydFetch;
})();

// Shared by every page: the passkeyd browser client, calls to our own API, friendly errors.

import config from '/config.js';

let client;

/**
 * The official browser SDK (@passwordlessdev/passwordless-client, loaded as
 * /vendor/passwordless.iife.js), pointed at passkeyd with the app's public key. One instance
 * per page: a new ceremony on it cancels the one in progress (autofill, for example).
 */
export function passkeys() {
  client ??= new window.Passwordless.Client({ apiUrl: config.apiUrl, apiKey: config.apiKey });
  return client;
}

/** Calls this app's backend. Resolves the JSON answer; rejects with {code, message}. */
export async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw { code: 'app_unreachable', message: "Harbor's server isn't answering. Check your connection and try again." };
  }
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw json.error ?? { code: 'http_' + res.status, message: 'Something went wrong on our side. Please try again.' };
  }
  return json;
}

const UNREACHABLE = {
  title: 'Passkey service unavailable',
  text: "We can't reach the passkey service right now. Please try again in a moment.",
};

const TITLES = {
  passkeyd_unreachable: UNREACHABLE.title,
  passkeyd_rejected_secret: 'Configuration problem',
  app_unreachable: 'Connection problem',
  email_taken: 'That account already exists',
  invalid_email: 'Check your e-mail address',
  last_passkey: 'Keep at least one passkey',
  step_up_failed: "Couldn't confirm it's you",
  step_up_required: 'Confirmation needed',
  signed_out: 'Signed out',
  rate_limited: 'Slow down a little',
};

/**
 * Turns an error into {title, text} for people. Takes either what the browser SDK returns
 * ({from: 'client'|'server', errorCode, title}) or what api() rejects with ({code, message}).
 * Answers null for errors that need no message (a ceremony we cancelled ourselves).
 * `quiet`: for background autofill, where a closed prompt is not worth a message.
 */
export function explain(error, { quiet = false } = {}) {
  if (!error) return null;
  if (error.code) return { title: TITLES[error.code] ?? 'Something went wrong', text: error.message };

  const message = String(error.title ?? error.message ?? '');
  if (error.from === 'client') {
    // Our own abort: another ceremony (the button) replaced the autofill one.
    if (/abort/i.test(message)) return null;
    // NotAllowedError: the person closed the prompt, it timed out, or verification failed.
    if (/timed out or was not allowed|NotAllowedError/i.test(message)) {
      return quiet ? null : {
        title: 'Passkey request cancelled',
        text: 'The passkey prompt was closed or timed out, so nothing happened. Try again when you are ready.',
      };
    }
    // InvalidStateError: this authenticator already holds a passkey for the account.
    if (/already registered|InvalidStateError/i.test(message)) {
      return { title: 'Already set up', text: 'This device already has a passkey for your account. Use another device or a security key.' };
    }
    if (/failed to fetch|networkerror|load failed/i.test(message)) return UNREACHABLE;
    if (/not supported/i.test(message)) {
      return { title: 'Passkeys not available', text: 'This browser cannot use passkeys. Try a recent Chrome, Edge, Safari or Firefox.' };
    }
    if (/relying party|not a valid domain|SecurityError/i.test(message)) {
      return { title: 'Wrong address', text: 'Passkeys need a host name. Open this site at http://localhost instead of an IP address.' };
    }
    return { title: 'Passkey error', text: message || 'The browser could not finish the passkey request.' };
  }

  switch (error.errorCode) {
    case 'unknown_credential':
      return {
        title: 'Unknown passkey',
        text: 'This passkey is not registered with Harbor. It may have been removed from your account. Try another passkey, or create an account.',
      };
    case 'origin_not_allowed':
    case 'rp_id_not_allowed':
      return { title: 'This site is not allowed yet', text: "passkeyd refused this page's origin. Add it to the app's allowedOrigins (see the README)." };
    case 'unauthorized':
      return { title: 'Configuration problem', text: 'passkeyd did not accept the public API key (PASSKEYD_API_KEY).' };
    case 'storage_unavailable':
      return UNREACHABLE;
    default:
      if (error.status === 429) return { title: TITLES.rate_limited, text: 'Too many attempts. Please wait a minute and try again.' };
      return { title: 'That did not work', text: message || 'passkeyd refused the request.' };
  }
}

const ICONS = {
  error: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="12" cy="12" r="10"/><path d="M12 8v5M12 16.5v.01"/></svg>',
  success: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="12" cy="12" r="10"/><path d="m8 12.5 2.5 2.5L16 9.5"/></svg>',
  info: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="12" cy="12" r="10"/><path d="M12 11v6M12 7.5v.01"/></svg>',
  warn: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"/><path d="M12 9v4M12 17v.01"/></svg>',
};

/** Shows an alert ({title, text}) in `box`; kind is error, success, info or warn. */
export function showAlert(box, message, kind = 'error') {
  if (!message) return;
  box.innerHTML = '';
  const alert = el('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' });
  alert.innerHTML = ICONS[kind];
  const body = el('div');
  if (message.title) body.append(el('strong', {}, message.title));
  body.append(el('p', {}, message.text ?? ''));
  alert.append(body);
  const close = el('button', { class: 'alert-close', type: 'button', 'aria-label': 'Dismiss' }, '×');
  close.addEventListener('click', () => alert.remove());
  alert.append(close);
  box.append(alert);
}

export const clearAlert = (box) => { box.innerHTML = ''; };

/** A tiny element builder that never parses strings as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** Puts a button into a busy state ("Waiting for your passkey…") and back. */
export function busy(button, label) {
  const original = button.innerHTML;
  button.disabled = true;
  button.innerHTML = '<span class="spinner" aria-hidden="true"></span>';
  button.append(label);
  return () => {
    button.disabled = false;
    button.innerHTML = original;
  };
}

/** One-shot messages carried across a page change (e.g. "Signed in with your passkey"). */
export const flash = {
  set: (message) => sessionStorage.setItem('harbor.flash', JSON.stringify(message)),
  take() {
    const raw = sessionStorage.getItem('harbor.flash');
    sessionStorage.removeItem('harbor.flash');
    return raw ? JSON.parse(raw) : null;
  },
};

/** A default name for a new passkey, like "Chrome on Mac". People can rename it later. */
export function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /iPhone|iPad/.test(ua) ? 'iPhone' : /Android/.test(ua) ? 'Android' : /Mac OS X/.test(ua) ? 'Mac'
    : /Windows/.test(ua) ? 'Windows' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : 'this device';
  return `${browser} on ${os}`;
}

/** Redeems a verify token for a session cookie, then goes to the dashboard. */
export async function finishSignIn(verifyToken, message) {
  await api('POST', '/api/session', { token: verifyToken });
  flash.set(message);
  location.assign('/dashboard');
}

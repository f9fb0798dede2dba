// A deliberately tiny check runner: one output line per check, never stops at a failure,
// and a last line run.sh can sum ("node: N passed, M failed").

import { randomBytes } from 'node:crypto';
import { withTimeout } from './harness.mjs';

let passed = 0;
let failed = 0;

const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim();

/** Thrown when an earlier check did not produce what this one needs. */
export class Missing extends Error {}

/** Runs one check; returns fn's value, or undefined when it failed. */
export async function check(name, fn, { timeoutMs = 45_000 } = {}) {
  try {
    const value = await withTimeout(Promise.resolve().then(fn), timeoutMs, 'check');
    passed++;
    console.log(`ok - ${name}`);
    return value;
  } catch (e) {
    failed++;
    const reason = e instanceof Missing ? `not run: ${e.message}` : e?.message || e;
    console.log(`not ok - ${name}: ${oneLine(reason)}`);
    if (process.env.COMPAT_VERBOSE && e?.stack) console.error(e.stack);
    return undefined;
  }
}

export function skip(name, reason) {
  console.log(`skip - ${name} (${reason})`);
}

export function summary(label) {
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  return failed;
}

// ---- assertions: each throws an Error whose message is the one-line reason -------------

const show = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
};

export function need(value, what) {
  if (value === undefined || value === null) throw new Missing(`${what} is missing (an earlier check failed)`);
  return value;
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function eq(actual, expected, label) {
  if (actual !== expected) throw new Error(`${label}: expected ${show(expected)}, got ${show(actual)}`);
}

export function match(actual, re, label) {
  if (typeof actual !== 'string' || !re.test(actual)) throw new Error(`${label}: expected ${re}, got ${show(actual)}`);
}

export function hasKeys(obj, keys, label) {
  assert(obj && typeof obj === 'object', `${label}: expected an object, got ${show(obj)}`);
  const missing = keys.filter((k) => !(k in obj));
  assert(missing.length === 0, `${label}: missing keys ${missing.join(', ')} in ${show(obj)}`);
}

// ---- encodings the SDKs depend on ------------------------------------------------------

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// RFC 3339 in UTC with a Z, as Java's Instant and the .NET SDK need.
export const UTC_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
// Standard base64 *with* padding (.NET byte[]): length a multiple of 4.
export const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const B64URL = /^[A-Za-z0-9_-]+$/;

export const b64urlToStd = (s) => Buffer.from(s, 'base64url').toString('base64');
export const stdToB64url = (s) => Buffer.from(s, 'base64').toString('base64url');

/** Lower-case random suffix: app ids must match ^[a-z][a-z0-9]{2,61}$. */
export const rand = (n = 6) => randomBytes(n).toString('hex');

// ---- passkeyd over plain HTTP ----------------------------------------------------------

/** Provisions an app through the management API, as the original's Admin Console does. */
export async function createApp(baseUrl, managementKey, appId) {
  const res = await fetch(`${baseUrl}/admin/apps/${appId}/create`, {
    method: 'POST',
    headers: { ManagementKey: managementKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ adminEmail: 'ops@example.com' }),
  });
  const text = await res.text();
  assert(res.status === 200, `POST /admin/apps/${appId}/create: expected 200, got ${res.status} ${text}`);
  return JSON.parse(text);
}

// Development convenience: when no passkeyd is configured, start one from this repository.
//
// It runs the release binary on a free loopback port with a SQLite file in .data/, creates the
// app "harbor" on first start (PASSKEYD_BOOTSTRAP_APP, which logs the app's keys once; we keep
// them in .data/harbor-keys.json), and allows this example's origin with the management key.
// None of this is needed in production: there you run passkeyd yourself and give the example
// PASSKEYD_URL, PASSKEYD_API_KEY and PASSKEYD_API_SECRET.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const BINARY = join(REPO_ROOT, 'target/release/passkeyd');
// HARBOR_DATA_DIR moves the database and keys elsewhere (the end-to-end test uses a temp dir).
const DATA_DIR = resolve(process.env.HARBOR_DATA_DIR || join(HERE, '.data'));
const KEYS_FILE = join(DATA_DIR, 'harbor-keys.json');
const LOG_FILE = join(DATA_DIR, 'passkeyd.log');
const APP_ID = 'harbor';

const say = (msg) => console.log(`[passkeyd] ${msg}`);
/** A path as short as it can be shown: relative when inside the working directory. */
const shown = (file) => {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
};

/** Builds the release binary when it is missing, with cargo's output on the terminal. */
function ensureBinary() {
  if (existsSync(BINARY)) return;
  say(`${shown(BINARY)} is missing.`);
  say('Building it now with `cargo build --release` in the repository root.');
  say('The first build takes a few minutes; later starts skip this step.');
  const built = spawnSync('cargo', ['build', '--release'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (built.error?.code === 'ENOENT') {
    throw new Error('cargo was not found. Install Rust from https://rustup.rs, or point the example at a running passkeyd (see README.md).');
  }
  if (built.status !== 0 || !existsSync(BINARY)) throw new Error('cargo build --release failed (see above).');
}

/** A port the kernel says is free right now. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readKeys() {
  try {
    return JSON.parse(readFileSync(KEYS_FILE, 'utf8'));
  } catch {
    return null;
  }
}

function saveKeys(keys) {
  writeFileSync(KEYS_FILE, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Starts passkeyd once on `port`. Resolves when /health/http answers; rejects when the process
 * exits first (for example because another process took the port).
 */
async function launch(port, managementKey, log) {
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(BINARY, ['serve'], {
    cwd: DATA_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PASSKEYD_LISTEN: `127.0.0.1:${port}`,
      PASSKEYD_DATABASE_URL: `sqlite://${join(DATA_DIR, 'passkeyd.db')}`,
      PASSKEYD_BOOTSTRAP_APP: APP_ID,
      PASSKEYD_MANAGEMENT_KEY: managementKey,
      PASSKEYD_LOG_FORMAT: 'json',
    },
  });

  // The bootstrap keys are logged once, on the start that creates the app: catch them as
  // they go by and save them before anything else can go wrong.
  const found = {};
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    log.write(`${line}\n`);
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    const f = entry.fields ?? {};
    if (String(f.message).startsWith('BOOTSTRAP KEY') && f.key && f.value) {
      found[f.key] = f.value;
      if (found.apiKey1 && found.apiSecret1) {
        saveKeys({ appId: APP_ID, apiKey: found.apiKey1, apiSecret: found.apiSecret1 });
      }
    }
  });
  child.stderr.on('data', (chunk) => log.write(chunk));

  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ended = await Promise.race([exited, sleep(150).then(() => null)]);
    if (ended) {
      const err = new Error(`passkeyd exited during start-up (code ${ended.code}); see ${shown(LOG_FILE)}`);
      err.exited = true;
      throw err;
    }
    try {
      if ((await fetch(`${baseUrl}/health/http`)).ok) return { child, baseUrl, exited };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('passkeyd did not answer /health/http within 30 s');
    }
  }
}

async function admin(baseUrl, managementKey, method, path, body) {
  const res = await fetch(`${baseUrl}/admin/apps/${APP_ID}${path}`, {
    method,
    headers: { ManagementKey: managementKey, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /admin/apps/${APP_ID}${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Starts passkeyd for the example and returns {baseUrl, publicUrl, apiKey, apiSecret, appId,
 * stop()}. `appOrigin` is the example's own origin, which passkeyd is told to accept.
 */
export async function startLocalPasskeyd({ appOrigin }) {
  ensureBinary();
  mkdirSync(DATA_DIR, { recursive: true });
  const log = createWriteStream(LOG_FILE, { flags: 'a' });
  // The management key lives only as long as this process; passkeyd does not store it.
  const managementKey = randomBytes(24).toString('hex');

  let started;
  for (let attempt = 1; !started; attempt++) {
    const port = await freePort();
    try {
      started = await launch(port, managementKey, log);
    } catch (e) {
      // Another process may have taken the port between our probe and passkeyd's bind.
      if (!e.exited || attempt >= 3) throw e;
    }
  }
  const { child, baseUrl, exited } = started;

  let keys = readKeys();
  if (!keys) {
    // The database already had the app but the keys file is gone: its secrets cannot be read
    // back, so make a new secret (and reuse a public key) with the management key.
    say(`${shown(KEYS_FILE)} is missing; creating new keys for the existing app`);
    const list = await admin(baseUrl, managementKey, 'GET', '/api-keys');
    const publicKey = list.find((k) => k.apiKey.includes(':public:') && !k.isLocked)?.apiKey;
    const { apiKey: secret } = await admin(baseUrl, managementKey, 'POST', '/secret-keys', {
      scopes: ['token_register', 'token_verify'],
    });
    keys = { appId: APP_ID, apiKey: publicKey, apiSecret: secret };
    saveKeys(keys);
  }

  // The origin policy: only pages on this example's origin may run ceremonies for the app.
  await admin(baseUrl, managementKey, 'POST', '/features', {
    allowedOrigins: [appOrigin],
    allowedRpIds: ['localhost'],
  });

  let stopping = false;
  /** Stops passkeyd and resolves once it has exited (it finishes requests in flight first). */
  const stop = () => {
    if (!stopping) {
      stopping = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }
    return exited;
  };
  exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`[passkeyd] exited unexpectedly (code ${code}, signal ${signal}); see ${shown(LOG_FILE)}`);
    process.exit(1);
  });
  // Whatever ends this process also ends passkeyd.
  process.once('exit', () => child.kill('SIGTERM'));

  say(`running at ${baseUrl} (SQLite in ${shown(join(DATA_DIR, 'passkeyd.db'))}, log in ${shown(LOG_FILE)})`);
  return {
    ...keys,
    baseUrl,
    // The browser must reach passkeyd by host name: "localhost" is same-site with the page.
    publicUrl: baseUrl.replace('//127.0.0.1:', '//localhost:'),
    stop,
  };
}

// `npm start`. By default (SESSION_CHECK=jose) this simply runs server.js.
//
// With SESSION_CHECK=passage the session is checked by the Passage Node SDK, which only talks
// to Passage's own hosts. passkeyd's preload (clients/passage-node/preload.cjs) sends those
// calls to PASSKEYD_URL, and it has to be loaded with `node --require`, before the SDK. It reads
// PASSKEYD_URL once, as it loads, and refuses to start without it. So the passkeyd's URL must
// be known before server.js starts. When none is configured, this file first starts the
// development passkeyd (local-passkeyd.js, on a port found at run time), then runs
//
//   node --require ../../clients/passage-node/preload.cjs server.js
//
// with PASSKEYD_URL and the app's keys in its environment, and stops passkeyd when it ends.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const PRELOAD = join(HERE, '../../clients/passage-node/preload.cjs');

if ((process.env.SESSION_CHECK || 'jose').trim().toLowerCase() !== 'passage') {
  await import('./server.js');
} else {
  const env = { ...process.env };
  let local = null;
  if (!env.PASSKEYD_URL && !env.PASSKEYD_API_KEY && !env.PASSKEYD_API_SECRET) {
    console.log('No PASSKEYD_URL configured: starting a local passkeyd for development.');
    const { startLocalPasskeyd } = await import('./local-passkeyd.js');
    try {
      // The same origin server.js serves on (see PORT there).
      local = await startLocalPasskeyd({ appOrigin: `http://localhost:${Number(env.PORT || 3000)}` });
    } catch (e) {
      console.error(`Cannot start: ${e.message}`);
      process.exit(1);
    }
    Object.assign(env, {
      PASSKEYD_URL: local.baseUrl,
      PASSKEYD_PUBLIC_URL: local.publicUrl,
      PASSKEYD_API_KEY: local.apiKey,
      PASSKEYD_API_SECRET: local.apiSecret,
    });
  }
  // server.js checks the rest (all three variables set, the preload loaded).
  const server = spawn(process.execPath, ['--require', PRELOAD, join(HERE, 'server.js')], { env, stdio: 'inherit' });
  // Whatever ends this process also ends the server (local-passkeyd.js does the same for passkeyd).
  process.once('exit', () => server.kill('SIGTERM'));
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      stopping = true;
      server.kill(signal);
      local?.stop(); // now, so that its exit is not taken for a crash
    });
  }
  server.once('exit', async (code, signal) => {
    await local?.stop();
    process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
  });
}
